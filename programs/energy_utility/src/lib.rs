//! Decentralized energy utility: a community grid's prepaid metering, hourly settlement and
//! fiat on-ramp, enforced on chain so that no resident needs to trust another.

use anchor_lang::prelude::*;

pub mod coins;
pub mod constants;
pub mod error;
pub mod events;
pub mod instructions;
pub mod math;
pub mod state;

use instructions::*;
use state::{Clawback, MeterAct};

declare_id!("3TfETuz85mNaxJW3PrA6468xvwzxauwfDq4XK985NQZx");

#[program]
pub mod energy_utility {
    use super::*;

    // Admin: the utility that runs the grid.

    pub fn initialize_grid(ctx: Context<InitializeGrid>, args: InitializeGridArgs) -> Result<()> {
        instructions::admin::initialize_grid::handler(ctx, args)
    }

    pub fn update_grid(ctx: Context<UpdateGrid>, args: UpdateGridArgs) -> Result<()> {
        instructions::admin::update_grid::handler(ctx, args)
    }

    pub fn set_paused(ctx: Context<SetPaused>, paused: bool) -> Result<()> {
        instructions::admin::set_paused::handler(ctx, paused)
    }

    pub fn register_meter(ctx: Context<RegisterMeter>, args: RegisterMeterArgs) -> Result<()> {
        instructions::admin::register_meter::handler(ctx, args)
    }

    pub fn cancel_grid_changes(ctx: Context<CancelGridChanges>) -> Result<()> {
        instructions::admin::cancel_grid_changes::handler(ctx)
    }

    pub fn propose_admin(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
        instructions::admin::propose_admin::handler(ctx, new_admin)
    }

    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        instructions::admin::accept_admin::handler(ctx)
    }

    /// Rotate a meter's gateway, replace its register, set its capacity or retire it: at once
    /// with its owner's signature, after the grid's notice without.
    pub fn pair_meters(ctx: Context<PairMeters>) -> Result<()> {
        instructions::admin::pair_meters::handler(ctx)
    }

    pub fn change_meter(ctx: Context<ChangeMeter>, act: MeterAct) -> Result<()> {
        instructions::admin::change_meter::handler(ctx, act)
    }

    pub fn record_lookup_table(ctx: Context<RecordLookupTable>, index: u32) -> Result<()> {
        instructions::admin::record_lookup_table::handler(ctx, index)
    }

    pub fn close_meter(ctx: Context<CloseMeter>) -> Result<()> {
        instructions::admin::close_meter::handler(ctx)
    }

    pub fn collect_fees(ctx: Context<CollectFees>, amount_units: u64) -> Result<()> {
        instructions::admin::collect_fees::handler(ctx, amount_units)
    }

    // Residents.

    pub fn register_resident(ctx: Context<RegisterResident>, resident_id: String) -> Result<()> {
        instructions::resident::register_resident::handler(ctx, resident_id)
    }

    pub fn fund(ctx: Context<Fund>, amount_units: u64) -> Result<()> {
        instructions::resident::fund::handler(ctx, amount_units)
    }

    pub fn collect_earnings(ctx: Context<CollectEarnings>) -> Result<()> {
        instructions::resident::collect_earnings::handler(ctx)
    }

    pub fn request_withdrawal(
        ctx: Context<RequestWithdrawal>,
        amount_units: u64,
        min_cents: u64,
    ) -> Result<()> {
        instructions::resident::request_withdrawal::handler(ctx, amount_units, min_cents)
    }

    pub fn set_payout_account(ctx: Context<SetPayoutAccount>, account: String) -> Result<()> {
        instructions::resident::set_payout_account::handler(ctx, account)
    }

    pub fn cancel_payout_account_change(ctx: Context<CancelPayoutAccountChange>) -> Result<()> {
        instructions::resident::cancel_payout_account_change::handler(ctx)
    }

    pub fn cancel_withdrawal(ctx: Context<CancelWithdrawal>) -> Result<()> {
        instructions::resident::cancel_withdrawal::handler(ctx)
    }

    pub fn take_emergency_credit(ctx: Context<TakeEmergencyCredit>) -> Result<()> {
        instructions::resident::take_emergency_credit::handler(ctx)
    }

    pub fn veto_meter_change(ctx: Context<VetoMeterChange>) -> Result<()> {
        instructions::resident::veto_meter_change::handler(ctx)
    }

    pub fn close_resident(ctx: Context<CloseResident>) -> Result<()> {
        instructions::resident::close_resident::handler(ctx)
    }

    // Meter gateways: the cumulative register. Returns whether the meter stays connected.

    pub fn report(ctx: Context<Report>, epoch: u64, register_wh: u64) -> Result<bool> {
        instructions::gateway::report::handler(ctx, epoch, register_wh)
    }

    pub fn report_prosumer(
        ctx: Context<ReportProsumer>,
        epoch: u64,
        import_wh: u64,
        export_wh: u64,
    ) -> Result<bool> {
        instructions::gateway::report_prosumer::handler(ctx, epoch, import_wh, export_wh)
    }

    // The permissionless crank.

    pub fn settle<'info>(ctx: Context<'info, Settle<'info>>, epoch: u64) -> Result<()> {
        instructions::crank::settle::handler(ctx, epoch)
    }

    pub fn close_epoch(ctx: Context<CloseEpoch>, epoch: u64) -> Result<()> {
        instructions::crank::close_epoch::handler(ctx, epoch)
    }

    pub fn disconnect_silent(ctx: Context<DisconnectSilent>) -> Result<()> {
        instructions::crank::disconnect_silent::handler(ctx)
    }

    pub fn apply_grid_changes(ctx: Context<ApplyGridChanges>) -> Result<()> {
        instructions::crank::apply_grid_changes::handler(ctx)
    }

    pub fn apply_meter_change(ctx: Context<ApplyMeterChange>) -> Result<()> {
        instructions::crank::apply_meter_change::handler(ctx)
    }

    pub fn close_receipt(ctx: Context<CloseReceipt>, payment_id: String) -> Result<()> {
        instructions::crank::close_receipt::handler(ctx, payment_id)
    }

    pub fn close_sale(ctx: Context<CloseSale>) -> Result<()> {
        instructions::crank::close_sale::handler(ctx)
    }

    // The payment processor's oracle.

    pub fn add_fiat(
        ctx: Context<AddFiat>,
        amount_cents: u64,
        payment_id: String,
        event_ts: i64,
    ) -> Result<()> {
        instructions::oracle::add_fiat::handler(ctx, amount_cents, payment_id, event_ts)
    }

    pub fn lock_withdrawal(ctx: Context<LockWithdrawal>, amount_cents: u64) -> Result<()> {
        instructions::oracle::lock_withdrawal::handler(ctx, amount_cents)
    }

    /// A refund (or dispute) of a purchase, as the processor's running total: takes back the
    /// coins those cents bought.
    pub fn claw_back<'info>(
        ctx: Context<'info, ClawBack<'info>>,
        payment_id: String,
        kind: Clawback,
        total_cents: u64,
    ) -> Result<()> {
        instructions::oracle::claw_back::handler(ctx, payment_id, kind, total_cents)
    }

    pub fn restore_dispute(ctx: Context<RestoreDispute>, payment_id: String) -> Result<()> {
        instructions::oracle::restore_dispute::handler(ctx, payment_id)
    }

    pub fn payout_paid(ctx: Context<PayoutPaid>, payout_id: String) -> Result<()> {
        instructions::oracle::payout_paid::handler(ctx, payout_id)
    }

    pub fn payout_failed(ctx: Context<PayoutFailed>, payout_id: String) -> Result<()> {
        instructions::oracle::payout_failed::handler(ctx, payout_id)
    }
}
