// Program-derived addresses, from the seeds the program declares
// (`programs/energy_utility/src/constants.rs`; the Rust SDK's `sdk/src/pda.rs`). Codama
// generates the ones the IDL spells out (`src/generated/pdas/`); the ones seeded by an id or
// a counter are here, in the same shape.
import {
  type Address,
  getAddressEncoder,
  getProgramDerivedAddress,
  getU32Encoder,
  type ProgramDerivedAddress,
  type ReadonlyUint8Array,
} from '@solana/kit';
import { ENERGY_UTILITY_PROGRAM_ADDRESS } from './generated';

export {
  findCoinsPda,
  findEpochAccountPda,
  findEscrowPda,
  findMintPda,
  findPoolPda,
  findTreasuryPda,
  findVaultPda,
} from './generated';

/** Ids longer than this are cut to it in seeds (the program's `id_seed`). */
export const MAX_ID_LEN = 32;

const utf8 = new TextEncoder();
const address = getAddressEncoder();
const u32 = getU32Encoder();

/** An id as the program uses it in seeds: its UTF-8 bytes, at most `MAX_ID_LEN` of them. */
export function idSeed(id: string): Uint8Array {
  return utf8.encode(id).subarray(0, MAX_ID_LEN);
}

function find(seeds: ReadonlyUint8Array[]): Promise<ProgramDerivedAddress> {
  return getProgramDerivedAddress({ programAddress: ENERGY_UTILITY_PROGRAM_ADDRESS, seeds });
}

/** A community grid, by name. */
export const findGridPda = ({ name }: { name: string }) => find([utf8.encode('grid'), idSeed(name)]);
/** A resident of `grid`, by id. */
export const findResidentPda = ({ grid, residentId }: { grid: Address; residentId: string }) =>
  find([utf8.encode('resident'), address.encode(grid), idSeed(residentId)]);
/** A meter of `grid`, by id. */
export const findMeterPda = ({ grid, meterId }: { grid: Address; meterId: string }) =>
  find([utf8.encode('meter'), address.encode(grid), idSeed(meterId)]);
/** The grid's `index`-th meter directory entry. */
export const findMeterEntryPda = ({ grid, index }: { grid: Address; index: number }) =>
  find([utf8.encode('meter-index'), address.encode(grid), u32.encode(index)]);
/** The grid's `index`-th resident directory entry. */
export const findResidentEntryPda = ({ grid, index }: { grid: Address; index: number }) =>
  find([utf8.encode('resident-index'), address.encode(grid), u32.encode(index)]);
/** The record of a payment the oracle applied, by the processor's payment id. */
export const findReceiptPda = ({ grid, paymentId }: { grid: Address; paymentId: string }) =>
  find([utf8.encode('receipt'), address.encode(grid), idSeed(paymentId)]);
/**
 * The `number`-th sale of coins for dollars of the resident registered at `resident` with
 * directory index `residentIndex` (`Resident.index`: a resident's id registered again after it
 * closed never reaches an old sale).
 */
export const findSalePda = ({
  resident,
  residentIndex,
  number,
}: {
  resident: Address;
  residentIndex: number;
  number: number;
}) => find([utf8.encode('sale'), address.encode(resident), u32.encode(residentIndex), u32.encode(number)]);
