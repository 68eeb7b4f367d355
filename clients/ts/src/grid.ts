// Listing a grid's residents and meters without `getProgramAccounts`: the grid counts them,
// and each has a directory entry at a known address (`meter-index`, `resident-index`) naming
// its account, so two rounds of `getMultipleAccounts` (100 addresses each) read them all, in
// registration order. A closed meter's entry is closed with it and skipped. The Rust SDK's
// `Client::meters` / `Client::residents` do the same.
import {
  type Address,
  type Decoder,
  type EncodedAccount,
  type GetAccountInfoApi,
  type GetMultipleAccountsApi,
  type Rpc,
  fetchEncodedAccounts,
} from '@solana/kit';
import {
  type Grid,
  type Meter,
  type Resident,
  fetchGrid,
  getDirectoryEntryDecoder,
  getMeterDecoder,
  getResidentDecoder,
} from './generated';
import { findMeterEntryPda, findResidentEntryPda } from './pda';

/** `getMultipleAccounts` takes at most this many addresses. */
const BATCH = 100;

export type Listed<T> = { address: Address; data: T };

async function fetchAll(rpc: Rpc<GetMultipleAccountsApi>, addresses: Address[]): Promise<EncodedAccount[]> {
  const accounts: EncodedAccount[] = [];
  for (let start = 0; start < addresses.length; start += BATCH) {
    const batch = await fetchEncodedAccounts(rpc, addresses.slice(start, start + BATCH));
    for (const account of batch) if (account.exists) accounts.push(account);
  }
  return accounts;
}

async function listed<T>(rpc: Rpc<GetMultipleAccountsApi>, entries: Address[], decoder: Decoder<T>): Promise<Listed<T>[]> {
  const entryDecoder = getDirectoryEntryDecoder();
  const targets = (await fetchAll(rpc, entries)).map((entry) => entryDecoder.decode(entry.data).target);
  return (await fetchAll(rpc, targets)).map((account) => ({ address: account.address, data: decoder.decode(account.data) }));
}

/** Every meter of the grid (`count` is the grid's `meterCount`), in registration order. */
export async function listMeters(rpc: Rpc<GetMultipleAccountsApi>, grid: Address, count: number): Promise<Listed<Meter>[]> {
  const entries = await Promise.all(Array.from({ length: count }, (_, index) => findMeterEntryPda({ grid, index })));
  return listed(rpc, entries.map(([address]) => address), getMeterDecoder());
}

/** Every resident of the grid (`count` is the grid's `residentCount`), in registration order. */
export async function listResidents(rpc: Rpc<GetMultipleAccountsApi>, grid: Address, count: number): Promise<Listed<Resident>[]> {
  const entries = await Promise.all(Array.from({ length: count }, (_, index) => findResidentEntryPda({ grid, index })));
  return listed(rpc, entries.map(([address]) => address), getResidentDecoder());
}

/** The grid and all its residents and meters. */
export async function fetchCommunity(
  rpc: Rpc<GetAccountInfoApi & GetMultipleAccountsApi>,
  grid: Address,
): Promise<{ grid: Grid; residents: Listed<Resident>[]; meters: Listed<Meter>[] }> {
  const { data } = await fetchGrid(rpc, grid);
  const [residents, meters] = await Promise.all([
    listResidents(rpc, grid, data.residentCount),
    listMeters(rpc, grid, data.meterCount),
  ]);
  return { grid: data, residents, meters };
}
