// @energy-utility/client: the energy_utility program from TypeScript, on @solana/kit.
//
// - `./generated` (Codama, from idl/energy_utility.json): every instruction's builder
//   (`getFundInstruction`, `getReportInstructionAsync`, …), every account's decoder and fetcher
//   (`fetchMeter`, `decodeGrid`, …), the program's errors and the PDAs the IDL spells out.
// - `./pda`: the PDAs seeded by ids and counters (grid, resident, meter, directory entries,
//   receipts, sales).
// - `./amounts`: coins, kWh and dollars as decimal strings, integers inside.
// - `./grid`: a grid's residents and meters through its directory.
// - `./settle`: the crank: pending readings and settlement batches.
// - `./calendar`: the calendar's defaults (flat tariff, no friendly hours) and the
//   friendly-hours mask.
export * from './generated';
export * from './pda';
export * from './amounts';
export * from './grid';
export * from './settle';
export * from './calendar';
