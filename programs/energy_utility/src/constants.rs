//! PDA seeds, units and protocol limits: the one place the program and its clients take them from.

use anchor_lang::prelude::*;

/// `[GRID_SEED, name]`: a community grid.
#[constant]
pub const GRID_SEED: &[u8] = b"grid";
/// `[MINT_SEED, grid]`: the grid's coin `k` mint; its mint authority is the grid PDA.
#[constant]
pub const MINT_SEED: &[u8] = b"mint";
/// `[VAULT_SEED, grid]`: backs every meter balance (consumer prepaid coins, producer earnings).
#[constant]
pub const VAULT_SEED: &[u8] = b"vault";
/// `[POOL_SEED, grid]`: the common pool consumers are charged into and producers are paid from.
#[constant]
pub const POOL_SEED: &[u8] = b"pool";
/// `[TREASURY_SEED, grid]`: the utility's fee account.
#[constant]
pub const TREASURY_SEED: &[u8] = b"treasury";
/// `[ESCROW_SEED, grid]`: coins residents set aside to sell for dollars.
#[constant]
pub const ESCROW_SEED: &[u8] = b"escrow";
/// `[RESIDENT_SEED, grid, resident_id]`: a resident.
#[constant]
pub const RESIDENT_SEED: &[u8] = b"resident";
/// `[COINS_SEED, resident]`: a resident's coin account.
#[constant]
pub const COINS_SEED: &[u8] = b"coins";
/// `[METER_SEED, grid, meter_id]`: a smart meter.
#[constant]
pub const METER_SEED: &[u8] = b"meter";
/// `[METER_INDEX_SEED, grid, index.to_le_bytes()]` (index: u32): the grid's n-th meter.
#[constant]
pub const METER_INDEX_SEED: &[u8] = b"meter-index";
/// `[RESIDENT_INDEX_SEED, grid, index.to_le_bytes()]` (index: u32): the grid's n-th resident.
#[constant]
pub const RESIDENT_INDEX_SEED: &[u8] = b"resident-index";
/// `[LOOKUP_TABLE_SEED, grid, index.to_le_bytes()]` (index: u32): which address lookup table
/// lists the grid's meters `index * 256 ..` (in registration order), for settlement in v0
/// transactions.
#[constant]
pub const LOOKUP_TABLE_SEED: &[u8] = b"lookup-table";
/// Meters listed by one address lookup table (the table program's limit).
#[constant]
pub const METERS_PER_LOOKUP_TABLE: u32 = 256;
/// The address lookup table program.
pub const LOOKUP_TABLE_PROGRAM: Pubkey = pubkey!("AddressLookupTab1e1111111111111111111111111");
/// `[EPOCH_SEED, grid, epoch.to_le_bytes()]`: one settlement period (an hour by default).
#[constant]
pub const EPOCH_SEED: &[u8] = b"epoch";
/// `[RECEIPT_SEED, grid, payment_id]`: proof that a fiat payment was applied once.
#[constant]
pub const RECEIPT_SEED: &[u8] = b"receipt";
/// `[SALE_SEED, resident, resident_index.to_le_bytes(), number.to_le_bytes()]` (both u32): one
/// sale of a resident's coins for dollars, from the resident's request to the payout's end. The
/// resident's registration index is in the seeds so that a closed resident's id, registered
/// again, never reaches an old sale's address.
#[constant]
pub const SALE_SEED: &[u8] = b"sale";

/// Coin `k` has 6 decimals: 1 k = 1,000,000 units.
#[constant]
pub const COIN_DECIMALS: u8 = 6;
pub const UNITS_PER_COIN: u64 = 1_000_000;
pub const WH_PER_KWH: u64 = 1_000;

/// Longest grid name, resident id, meter id and payment id, in bytes (one PDA seed each).
pub const MAX_ID_LEN: usize = 32;
/// Holidays a grid lists as friendly-credit days.
pub const MAX_HOLIDAYS: usize = 16;
/// Longest meter label, in bytes.
pub const MAX_LABEL_LEN: usize = 64;

/// Readings a meter can hold before the crank settles them. A report whose slot still holds an
/// unsettled reading is kept as the meter's latest register without a reading of its own: its
/// energy goes into the next reading that fits, so a late crank costs no kWh.
pub const READING_SLOTS: usize = 8;

/// Shortest epoch the program accepts, in seconds.
pub const MIN_EPOCH_SECONDS: u32 = 60;

/// Defaults from the design: 0.01 k hourly fee, 1 k per kWh, one-hour epochs, a
/// ten-minute grace window for late reports, at most 1 MWh per meter per hour, $0.10 per k.
pub const DEFAULT_FEE_UNITS: u64 = 10_000;
pub const DEFAULT_TARIFF_UNITS_PER_KWH: u64 = UNITS_PER_COIN;
pub const DEFAULT_EPOCH_SECONDS: u32 = 3_600;
pub const DEFAULT_GRACE_SECONDS: u32 = 600;
pub const DEFAULT_MAX_WH_PER_EPOCH: u64 = 1_000_000;
pub const DEFAULT_COIN_PRICE_CENTS: u64 = 10;
/// A consumer that has not reported for this many closed epochs is disconnected.
pub const DEFAULT_MAX_SILENT_EPOCHS: u32 = 2;
/// A reading covering up to this many epochs (or a week of hours) is billed at the dearest
/// hour among them exactly; a longer one at the dearest hour of the week.
pub const TARIFF_SCAN_EPOCHS: u64 = 168;
/// The loss band: an epoch whose producers report between 100 % and 130 % of what consumers
/// report is plausible (the wires heat up; they do not create energy); outside it is flagged.
pub const DEFAULT_LOSS_BAND_MIN_PERMILLE: u32 = 1_000;
pub const DEFAULT_LOSS_BAND_MAX_PERMILLE: u32 = 1_300;
/// The highest hourly fee a grid may ever charge unless its creator sets another cap: 0.1 k.
pub const DEFAULT_MAX_FEE_UNITS: u64 = 100_000;

/// The oracle's circuit breaker: at most 100,000 k ($10,000 at $0.10) minted per day.
pub const DEFAULT_MINT_LIMIT_UNITS: u64 = 100_000 * UNITS_PER_COIN;
pub const DEFAULT_MINT_WINDOW_SECONDS: u32 = 86_400;
/// Receipts (and ended sales) are kept 120 days: as long as a card holder may dispute a charge
/// (Stripe: up to 120 days), so a refund or a dispute always finds the purchase it takes back;
/// longer than a processor retries a webhook (3 days) or lets an operator resend one (30 days).
pub const DEFAULT_RECEIPT_RETENTION_SECONDS: u32 = 120 * 86_400;
/// Receipts are kept at least 4 days, whatever the admin sets.
pub const MIN_RECEIPT_RETENTION_SECONDS: u32 = 4 * 86_400;

/// What the admin alone changes about the grid's economics or a resident's meter takes effect
/// this long after it is proposed (visible on chain meanwhile, and vetoable by the meter's
/// owner): 72 hours unless the grid's creator sets another, fixed at creation.
#[constant]
pub const DEFAULT_NOTICE_SECONDS: u32 = 72 * 3_600;
/// The longest notice a grid may set: a year.
pub const MAX_NOTICE_SECONDS: u32 = 365 * 86_400;

/// An id as a PDA seed. Seeds are at most 32 bytes; a longer id is cut here so that deriving
/// its address cannot fail, and then refused by the instruction with `InvalidId`.
pub fn id_seed(id: &str) -> &[u8] {
    &id.as_bytes()[..id.len().min(MAX_ID_LEN)]
}

/// Coins bought by card fund meters at once but can be sold only this long after the purchase
/// (a stolen card's coins must not be cashed out before the charge can be disputed): 14 days.
#[constant]
pub const DEFAULT_CARD_HOLD_SECONDS: u32 = 14 * 86_400;
/// A resident's change of payout account takes effect this long after they sign it, during
/// which they see it and can cancel it: 48 hours.
#[constant]
pub const DEFAULT_PAYOUT_NOTICE_SECONDS: u32 = 48 * 3_600;
/// Purchases a resident's coins are held for at once; more merge into the latest.
pub const HOLD_SLOTS: usize = 4;
/// Longest processor account id (Stripe: `acct_` and 16 characters).
pub const MAX_PAYOUT_ACCOUNT_LEN: usize = 32;
