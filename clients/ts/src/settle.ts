// Settling an epoch (a permissionless crank): the meters with a pending reading for it, in
// batches that fit a transaction — consumers first (they fill the pool), then producers (paid
// from it). As the Rust SDK's `settlement.rs`; any order converges, since the program skips
// producers until every consumer is charged, and settling twice pays nothing twice.
import { type Address, AccountRole } from '@solana/kit';
import { type Meter, MeterKind, ReadingStatus, getSettleInstruction } from './generated';
import { findEpochAccountPda, findPoolPda, findTreasuryPda, findVaultPda } from './pda';

/** Meters per settlement transaction: one more does not fit a legacy transaction's 1,232 bytes. */
export const MAX_METERS_PER_SETTLE = 24;
/** Compute units of a settlement call before its meters, and per meter, with margin: the Rust
 * SDK's `settlement::settle_compute_units`, where the derivation is written down. */
export const SETTLE_BASE_UNITS = 50_000;
export const SETTLE_UNITS_PER_METER = 16_000;
/** The most one transaction may ask for. */
export const SETTLE_COMPUTE_UNITS = 1_400_000;

/** The compute-unit limit for a settlement call over `meters` meters (priority fees are paid on
 * it, so it follows the batch instead of asking the maximum). */
export function settleComputeUnits(meters: number): number {
  return Math.min(SETTLE_BASE_UNITS + SETTLE_UNITS_PER_METER * meters, SETTLE_COMPUTE_UNITS);
}

/** The meter's pending (reported, not yet settled) watt-hours for `epoch`, or null. */
export function pendingWh(meter: Meter, epoch: bigint): bigint | null {
  const reading = meter.readings.find((r) => r.epoch === epoch && r.status === ReadingStatus.Pending);
  return reading ? reading.wh : null;
}

/** The batches of meter addresses that settle `epoch`: consumers, then producers. */
export function planSettleBatches(meters: { address: Address; data: Meter }[], epoch: bigint): Address[][] {
  const pending = meters.filter((m) => pendingWh(m.data, epoch) !== null);
  const ordered = [
    ...pending.filter((m) => m.data.kind !== MeterKind.Producer),
    ...pending.filter((m) => m.data.kind === MeterKind.Producer),
  ].map((m) => m.address);
  if (ordered.length === 0) return [[]];
  const batches: Address[][] = [];
  for (let i = 0; i < ordered.length; i += MAX_METERS_PER_SETTLE) batches.push(ordered.slice(i, i + MAX_METERS_PER_SETTLE));
  return batches;
}

/** `settle` for `epoch` over `meters` (each writable, after the instruction's own accounts). */
export async function getSettleMetersInstruction({ grid, epoch, meters }: { grid: Address; epoch: bigint; meters: Address[] }) {
  const [[epochAccount], [vault], [pool], [treasury]] = await Promise.all([
    findEpochAccountPda({ grid, epoch }),
    findVaultPda({ grid }),
    findPoolPda({ grid }),
    findTreasuryPda({ grid }),
  ]);
  const instruction = getSettleInstruction({ grid, epochAccount, vault, pool, treasury, epoch });
  return {
    ...instruction,
    accounts: [...instruction.accounts, ...meters.map((address) => ({ address, role: AccountRole.WRITABLE }))],
  };
}
