//! A meter's gateway reports the meter's cumulative register and learns whether to stay
//! connected.
//!
//! The program turns the register into the epoch's reading: what it moved since the meter's
//! last reading, however many epochs that covers (a gateway that was unplugged pays, or is paid,
//! for every hour when it is back). One report per meter per epoch, in order, accepted during
//! the epoch and its grace window; a register never goes back, and never moves more than the
//! meter's capacity could deliver. The first report of an epoch opens its account (its payer
//! gets the rent back when the epoch is closed after settlement). The connection decision is
//! stored on the meter, returned as return data and emitted.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, MeterConnected, MeterDisconnected, ReadingReported};
use crate::state::{Epoch, EpochStatus, Grid, Meter, ReadingRules, Reported};

#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct Report<'info> {
    pub gateway: Signer<'info>,
    /// Pays the epoch account's rent if this is its first report; may be a relayer.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = gateway @ EnergyError::WrongGateway,
        constraint = meter.active @ EnergyError::MeterInactive,
        constraint = !meter.is_paired() @ EnergyError::ReportBothRegisters,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(
        init_if_needed,
        payer = payer,
        space = 8 + Epoch::INIT_SPACE,
        seeds = [EPOCH_SEED, grid.key().as_ref(), &epoch.to_le_bytes()],
        bump,
    )]
    pub epoch_account: Box<Account<'info, Epoch>>,
    pub system_program: Program<'info, System>,
}

impl Report<'_> {
    pub fn validate(&self, epoch: u64) -> Result<()> {
        validate_epoch(&self.grid, &self.epoch_account, epoch)
    }
}

/// Whether `epoch` takes reports now: it has started, its grace window is open, and its
/// account (when it exists) is still open.
pub(crate) fn validate_epoch(
    grid: &Grid,
    epoch_account: &Account<Epoch>,
    epoch: u64,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    require!(epoch <= grid.epoch_at(now)?, EnergyError::EpochNotStarted);
    let params = if epoch_account.is_new() {
        grid.params_for(epoch)
    } else {
        epoch_account.params
    };
    require!(
        grid.accepts_reports(epoch, now, params.grace_seconds)?,
        EnergyError::EpochClosedForReports
    );
    require!(
        epoch_account.is_new() || epoch_account.status == EpochStatus::Open,
        EnergyError::EpochClosedForReports
    );
    Ok(())
}

/// Opens the epoch's account at its first report, with its hour's tariff.
pub(crate) fn open_epoch(
    grid: &Account<Grid>,
    epoch_account: &mut Account<Epoch>,
    epoch: u64,
    payer: Pubkey,
    bump: u8,
) -> Result<()> {
    if epoch_account.is_new() {
        epoch_account.set_inner(Epoch::new(
            grid.key(),
            epoch,
            payer,
            grid.params_opening(epoch)?,
            bump,
        ));
    }
    Ok(())
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(ctx: Context<Report>, epoch: u64, register_wh: u64) -> Result<bool> {
    let accounts = &mut *ctx.accounts;
    open_epoch(
        &accounts.grid,
        &mut accounts.epoch_account,
        epoch,
        accounts.payer.key(),
        ctx.bumps.epoch_account,
    )?;
    take_register(
        &accounts.grid,
        &mut accounts.epoch_account,
        &mut accounts.meter,
        epoch,
        register_wh,
    )?;
    accounts.epoch_account.invariant()?;
    Ok(accounts.meter.connected)
}

/// Re-decides `meter`'s connection (`friendly`: the grid's friendly hours are on) and emits
/// the change, if any.
pub(crate) fn decide_and_tell(meter: &mut Account<Meter>, epoch: u64, friendly: bool) {
    match meter.decide_connection(friendly) {
        Some(true) => emit(MeterConnected {
            meter: meter.key(),
            epoch,
        }),
        Some(false) => emit(MeterDisconnected {
            meter: meter.key(),
            epoch,
            balance_units: meter.balance_units,
            debt_units: meter.debt_units,
        }),
        None => {}
    }
}

/// Turns one meter's register into the epoch's reading, decides its connection and tells it.
pub(crate) fn take_register(
    grid: &Account<Grid>,
    epoch_account: &mut Account<Epoch>,
    meter: &mut Account<Meter>,
    epoch: u64,
    register_wh: u64,
) -> Result<()> {
    let rules = ReadingRules {
        epoch_seconds: grid.epoch_seconds,
        max_wh_per_epoch: epoch_account.params.max_wh_per_epoch,
    };
    // A reading covering several epochs costs the highest tariff among them: catching up
    // after a tariff cut never costs less than reporting on time.
    let epoch_tariff = epoch_account.params.tariff_units_per_kwh;
    let tariff = |first, last| grid.highest_tariff(first, last).max(epoch_tariff);
    let reported = meter.report(epoch, register_wh, &rules, tariff)?;
    let (wh, hours) = match reported {
        Reported::Recorded {
            wh,
            hours,
            cost_units,
        } => {
            epoch_account.record_reading(meter.kind.is_producer(), wh, cost_units)?;
            (wh, hours)
        }
        Reported::Deferred | Reported::BeforeEarning => (0, 0),
    };

    // In the grid's friendly hours nobody is disconnected for lack of coins.
    let friendly = grid.is_friendly_at(Clock::get()?.unix_timestamp);
    decide_and_tell(meter, epoch, friendly);
    emit(ReadingReported {
        meter: meter.key(),
        epoch,
        register_wh,
        wh,
        hours,
        deferred: reported == Reported::Deferred,
        before_earning: reported == Reported::BeforeEarning,
        connected: meter.connected,
    });
    meter.invariant()
}
