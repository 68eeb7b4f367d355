//! One event per state change, named in the past tense, so services can follow a grid.

use anchor_lang::prelude::*;

use crate::state::{EpochParams, MeterAct, MeterKind, OracleLimits, PaymentRules};

/// The largest event logged from the stack; a larger one (none today) goes through the heap.
const EVENT_BUFFER: usize = 320;

/// Logs `event` as Anchor's `emit!` does: one `Program data: <base64>` line of its
/// discriminator and Borsh body. Unlike `emit!`, it serializes into a stack buffer, so an event
/// costs no heap: the settlement crank logs one per reading, and the SBF heap (32 KB) is never
/// freed within an instruction. On chain this is the `sol_log_data` syscall; compiled for the
/// host, Anchor's own path drops the bytes, so this hands them to the host's syscall stubs
/// (what `solana-program`'s `sol_log_data` does): a bank running the program natively can put
/// the event in the transaction's logs as a cluster would (`bank/src/logs.rs`).
pub fn emit<E: anchor_lang::Event>(event: E) {
    let mut buffer = [0u8; EVENT_BUFFER];
    let discriminator = E::DISCRIMINATOR;
    if discriminator.len() < EVENT_BUFFER {
        let (head, body) = buffer.split_at_mut(discriminator.len());
        head.copy_from_slice(discriminator);
        let capacity = body.len();
        let mut writer: &mut [u8] = body;
        if event.serialize(&mut writer).is_ok() {
            let written = discriminator.len() + capacity - writer.len();
            return log_data(&buffer[..written]);
        }
    }
    log_data(&event.data());
}

fn log_data(data: &[u8]) {
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::log::sol_log_data(&[data]);
    #[cfg(not(target_os = "solana"))]
    solana_sysvar::program_stubs::sol_log_data(&[data]);
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridInitialized {
    pub grid: Pubkey,
    pub name: String,
    pub admin: Pubkey,
    pub oracle: Pubkey,
    pub mint: Pubkey,
    pub params: EpochParams,
    pub coin_price_cents: u64,
    pub epoch_seconds: u32,
    pub genesis_ts: i64,
    pub notice_seconds: u32,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridUpdated {
    pub grid: Pubkey,
    pub old_params: EpochParams,
    pub new_params: EpochParams,
    /// First epoch the new parameters apply to.
    pub effective_epoch: u64,
    pub old_coin_price_cents: u64,
    pub new_coin_price_cents: u64,
    pub old_oracle: Pubkey,
    pub new_oracle: Pubkey,
    pub old_oracle_limits: OracleLimits,
    pub new_oracle_limits: OracleLimits,
    pub old_payment_rules: PaymentRules,
    pub new_payment_rules: PaymentRules,
    /// When the new price, oracle and limits apply (the proposal's time plus the notice).
    pub effective_ts: i64,
}

/// The admin's proposals whose notice ended were written into the grid.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridChangesApplied {
    pub grid: Pubkey,
    pub params: EpochParams,
    pub coin_price_cents: u64,
    pub oracle: Pubkey,
    pub oracle_limits: OracleLimits,
}

/// The admin withdrew every change still waiting for its notice.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridChangesCancelled {
    pub grid: Pubkey,
}

/// The admin offered its role to another wallet (`Pubkey::default()`: withdrew the offer).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminProposed {
    pub grid: Pubkey,
    pub admin: Pubkey,
    pub proposed_admin: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccepted {
    pub grid: Pubkey,
    pub old_admin: Pubkey,
    pub new_admin: Pubkey,
}

/// The admin proposed a change to a resident's meter without the owner's signature: it
/// applies at `effective_ts` unless the owner vetoes it.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterChangeProposed {
    pub meter: Pubkey,
    pub act: MeterAct,
    pub effective_ts: i64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterChangeVetoed {
    pub meter: Pubkey,
    pub act: MeterAct,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridPauseChanged {
    pub grid: Pubkey,
    pub old_paused: bool,
    pub new_paused: bool,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentRegistered {
    pub grid: Pubkey,
    pub resident: Pubkey,
    pub id: String,
    pub authority: Pubkey,
    pub coins: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRegistered {
    pub grid: Pubkey,
    pub meter: Pubkey,
    pub id: String,
    pub kind: MeterKind,
    pub owner: Pubkey,
    pub gateway: Pubkey,
    /// Its readings count from this epoch on (a new producer's after the grid's notice).
    pub earns_from_epoch: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterGatewayRotated {
    pub meter: Pubkey,
    pub old_gateway: Pubkey,
    pub new_gateway: Pubkey,
}

/// A meter retired: disconnected for good, its spare coins refunded to its owner.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterDeactivated {
    pub meter: Pubkey,
    pub owner: Pubkey,
    pub refunded_units: u64,
    /// Kept on the meter for its unsettled readings.
    pub committed_units: u64,
}

/// A retired meter's account closed once all its readings were settled.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterClosed {
    pub meter: Pubkey,
    pub owner: Pubkey,
    pub refunded_units: u64,
    /// What was left on the meter that repaid its debt, into the pool.
    pub debt_repaid_units: u64,
    /// Debt nobody will pay any more (producers were already paid without it).
    pub forgiven_debt_units: u64,
    pub rent_payer: Pubkey,
}

/// A consumer low on coins took the grid's emergency credit: it may run into debt by
/// `units` and stay connected, until its next funding.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyCreditTaken {
    pub meter: Pubkey,
    pub owner: Pubkey,
    pub units: u64,
    pub epoch: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterFunded {
    pub meter: Pubkey,
    pub funder: Pubkey,
    pub amount_units: u64,
    /// Part of the amount that paid off the meter's debt (it goes to the producers).
    pub debt_repaid_units: u64,
    pub old_balance_units: u64,
    pub new_balance_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConnected {
    pub meter: Pubkey,
    pub epoch: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterDisconnected {
    pub meter: Pubkey,
    pub epoch: u64,
    pub balance_units: u64,
    pub debt_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetersPaired {
    pub grid: Pubkey,
    pub import_meter: Pubkey,
    pub export_meter: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingReported {
    pub meter: Pubkey,
    pub epoch: u64,
    /// The cumulative register the gateway sent.
    pub register_wh: u64,
    /// The reading it made: the register's move since the last reading, over `hours` epochs
    /// (0 and 0 when `deferred`: the energy goes into the meter's next reading).
    pub wh: u64,
    pub hours: u32,
    pub deferred: bool,
    /// A new producer before its notice ended: the register only sets its starting point.
    pub before_earning: bool,
    pub connected: bool,
}

/// A consumer that stopped reporting was disconnected: silence is not free power.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterSilenced {
    pub meter: Pubkey,
    /// The last epoch it reported, if it ever did.
    pub last_reported_epoch: Option<u64>,
    pub silent_epochs: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterCapacityChanged {
    pub meter: Pubkey,
    pub old_capacity_w: u64,
    pub new_capacity_w: u64,
}

/// A meter was replaced (or its register reset): readings go on from the new register.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRegisterReplaced {
    pub meter: Pubkey,
    pub old_register_wh: u64,
    pub new_register_wh: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerCharged {
    pub meter: Pubkey,
    pub epoch: u64,
    pub wh: u64,
    pub billed_units: u64,
    pub charged_units: u64,
    pub unpaid_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerPaid {
    pub meter: Pubkey,
    pub epoch: u64,
    pub wh: u64,
    pub payout_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeCollected {
    pub grid: Pubkey,
    pub epoch: u64,
    pub fee_units: u64,
    pub carried_in_units: u64,
    pub distributable_units: u64,
    /// The pool beyond what the epoch's production is worth at its tariff: carried forward.
    pub withheld_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochSettled {
    pub grid: Pubkey,
    pub epoch: u64,
    pub consumed_wh: u64,
    pub produced_wh: u64,
    pub charged_units: u64,
    pub fee_units: u64,
    pub paid_units: u64,
    pub carried_in_units: u64,
    pub carried_out_units: u64,
    pub loss_ratio_permille: u32,
    pub outside_loss_band: bool,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochClosed {
    pub grid: Pubkey,
    pub epoch: u64,
    pub rent_payer: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsCollected {
    pub meter: Pubkey,
    pub resident: Pubkey,
    pub amount_units: u64,
    /// Of `amount_units`, what repaid the resident's debt (burned).
    pub debt_repaid_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleRequested {
    pub resident: Pubkey,
    pub sale: Pubkey,
    pub number: u32,
    pub units: u64,
    /// The payout account the dollars go to.
    pub destination: String,
    /// The least the resident accepts for the coins.
    pub min_cents: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleCancelled {
    pub resident: Pubkey,
    pub sale: Pubkey,
    pub returned_units: u64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLocked {
    pub resident: Pubkey,
    pub sale: Pubkey,
    pub units: u64,
    pub cents: u64,
    pub coin_price_cents: u64,
}

/// Dollars paid in: coins minted.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiatApplied {
    pub grid: Pubkey,
    pub resident: Pubkey,
    pub payment_id: String,
    pub amount_cents: u64,
    pub coin_units: u64,
    pub coin_price_cents: u64,
    /// Of `coin_units`, what repaid the resident's debt (not minted).
    pub debt_repaid_units: u64,
    /// Until when the coins are held from sale.
    pub held_until_ts: i64,
}

/// A sale's payout was paid: its coins burned.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalePaid {
    pub resident: Pubkey,
    pub sale: Pubkey,
    pub payout_id: String,
    pub cents: u64,
    pub burned_units: u64,
}

/// A sale's payout failed or was canceled: its coins returned, or, if it had been paid,
/// minted back.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalePayoutFailed {
    pub resident: Pubkey,
    pub sale: Pubkey,
    pub payout_id: String,
    pub cents: u64,
    pub returned_units: u64,
    /// True when the payout had been paid and its burned coins were minted back.
    pub reversed: bool,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptClosed {
    pub grid: Pubkey,
    pub payment_id: String,
    pub rent_payer: Pubkey,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleClosed {
    pub resident: Pubkey,
    pub sale: Pubkey,
    pub rent_payer: Pubkey,
}

/// The utility took fees out of the treasury into its own resident account.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreasuryCollected {
    pub grid: Pubkey,
    pub resident: Pubkey,
    pub amount_units: u64,
    pub treasury_left_units: u64,
}

/// The admin recorded which address lookup table lists a range of the grid's meters.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTableRecorded {
    pub grid: Pubkey,
    pub index: u32,
    pub table: Pubkey,
}

/// An empty resident closed its accounts; their rent went back to its wallet.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentClosed {
    pub grid: Pubkey,
    pub resident: Pubkey,
    pub id: String,
    pub authority: Pubkey,
}

/// A resident bound the account its sales are paid to (`effective_ts`: now for the first one,
/// after the grid's payout notice for a change), or withdrew a change.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAccountSet {
    pub resident: Pubkey,
    pub account: String,
    pub effective_ts: i64,
}

#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutAccountChangeCancelled {
    pub resident: Pubkey,
    pub account: String,
}

/// A refund or dispute of a purchase took coins back: from the resident's coins, from sales not
/// yet locked, and as debt for the rest.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseClawedBack {
    pub resident: Pubkey,
    pub payment_id: String,
    pub dispute: bool,
    pub total_cents: u64,
    pub units: u64,
    pub from_coins_units: u64,
    pub from_sales_units: u64,
    pub debt_units: u64,
}

/// A dispute the utility won: its coins given back (repaying the resident's debt first).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeWon {
    pub resident: Pubkey,
    pub payment_id: String,
    pub units: u64,
    pub debt_repaid_units: u64,
}
