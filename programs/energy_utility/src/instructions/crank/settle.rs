//! The permissionless settlement crank. Each call takes a batch of the epoch's meters as
//! remaining accounts (writable, any order) and settles what it can:
//!
//! 1. consumers are charged the tariff for their reading, as far as their prepaid balance
//!    goes; the rest becomes debt and disconnects them;
//! 2. once every consumer is charged, the utility fee leaves the pool, once;
//! 3. then producers are credited `distributable × wh / Σwh`, rounded down.
//!
//! Each reading is marked settled on its meter as it is applied, so a repeated, partial or
//! reordered batch never charges or pays twice. Coins move with at most three transfers per
//! call, whatever the batch size. The last reading closes the books: the rounding remainder
//! is carried to the next epoch and conservation is checked exactly.
//!
//! The batch streams: each meter is loaded, applied and written back before the next, so the
//! heap (32 KB on SBF, never freed) holds no vector of meters; a meter's load costs only its id
//! and label strings, and events are logged from the stack (`events::emit`). The paying pass
//! skips consumers by their kind byte, unread; producers are loaded twice in the call that
//! finishes charging (checked in the first pass, paid in the second).

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::move_coins;
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{
    emit, ConsumerCharged, EpochSettled, FeeCollected, MeterDisconnected, ProducerPaid,
};
use crate::math::{consumption_cost_ceil, producer_payout_floor, SafeAdd};
use crate::state::{Epoch, EpochStatus, Grid, Meter};

#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct Settle<'info> {
    #[account(mut, constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        seeds = [EPOCH_SEED, grid.key().as_ref(), &epoch.to_le_bytes()],
        bump = epoch_account.bump,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = epoch_account.status != EpochStatus::Settled @ EnergyError::EpochAlreadySettled,
    )]
    pub epoch_account: Box<Account<'info, Epoch>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.pool @ EnergyError::WrongCoinAccount)]
    pub pool: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.treasury @ EnergyError::WrongCoinAccount)]
    pub treasury: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl Settle<'_> {
    pub fn validate(&self, epoch: u64) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let grace = self.epoch_account.params.grace_seconds;
        require!(
            !self.grid.accepts_reports(epoch, now, grace)?,
            EnergyError::EpochStillOpen
        );
        Ok(())
    }
}

/// Coins one call moves, applied with one transfer each at the end.
#[derive(Default)]
struct BatchTotals {
    charged_units: u64,
    fee_units: u64,
    paid_units: u64,
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler<'info>(ctx: Context<'info, Settle<'info>>, epoch: u64) -> Result<()> {
    let remaining = ctx.remaining_accounts;
    check_batch(ctx.program_id, remaining)?;
    let accounts = &mut *ctx.accounts;
    let grid_key = accounts.grid.key();
    let grid = &mut accounts.grid;
    let epoch_account = &mut accounts.epoch_account;
    let mut totals = BatchTotals::default();

    if epoch_account.status == EpochStatus::Open {
        epoch_account.status = EpochStatus::Charging;
    }
    let charging = epoch_account.status == EpochStatus::Charging;
    // Every meter of the batch is checked here; consumers are charged while charging.
    for info in remaining {
        let mut meter = load_meter(info, &grid_key, epoch)?;
        if charging && meter.is_consumer() {
            charge_consumer(&mut meter, grid, epoch_account, &mut totals)?;
            meter.exit(ctx.program_id)?;
        }
    }
    if charging && epoch_account.all_consumers_charged() {
        totals.fee_units = start_paying(grid, epoch_account)?;
    }
    if epoch_account.status == EpochStatus::Paying {
        for info in remaining {
            // Consumers were checked in the first pass (or a call before): skip them unread.
            let kind = Meter::peek_kind(&info.try_borrow_data()?);
            if kind.is_some_and(|k| !k.is_producer()) {
                continue;
            }
            let mut meter = load_meter(info, &grid_key, epoch)?;
            if meter.kind.is_producer() {
                pay_producer(&mut meter, grid, epoch_account, &mut totals)?;
                meter.exit(ctx.program_id)?;
            }
        }
        if epoch_account.all_producers_paid() {
            finish(grid, epoch_account)?;
        }
    }

    let tp = &accounts.token_program;
    move_coins(
        tp,
        grid,
        &accounts.vault,
        &accounts.pool,
        totals.charged_units,
    )?;
    move_coins(
        tp,
        grid,
        &accounts.pool,
        &accounts.treasury,
        totals.fee_units,
    )?;
    move_coins(tp, grid, &accounts.pool, &accounts.vault, totals.paid_units)?;
    accounts.vault.reload()?;
    accounts.pool.reload()?;
    grid.check_backing(
        Some(accounts.vault.amount),
        Some(accounts.pool.amount),
        None,
    )?;
    epoch_account.invariant()
}

/// The batch's accounts before any is read: writable, this program's, each once.
fn check_batch(program_id: &Pubkey, remaining: &[AccountInfo]) -> Result<()> {
    for (i, info) in remaining.iter().enumerate() {
        require!(info.is_writable, EnergyError::MeterNotWritable);
        require!(
            remaining[..i].iter().all(|seen| seen.key != info.key),
            EnergyError::DuplicateMeterInBatch
        );
        require_keys_eq!(*info.owner, *program_id, EnergyError::NotAMeter);
    }
    Ok(())
}

/// One meter of the batch: of this grid, with a reading for the epoch (settled already is
/// fine: it is skipped).
fn load_meter<'info>(
    info: &'info AccountInfo<'info>,
    grid: &Pubkey,
    epoch: u64,
) -> Result<Account<'info, Meter>> {
    let meter = Account::<Meter>::try_from(info).map_err(|_| error!(EnergyError::NotAMeter))?;
    require_keys_eq!(meter.grid, *grid, EnergyError::WrongGrid);
    require!(
        meter.pending_wh(epoch).is_some() || meter.is_settled(epoch),
        EnergyError::MeterHasNoReading
    );
    Ok(meter)
}

fn charge_consumer(
    meter: &mut Account<Meter>,
    grid: &mut Grid,
    epoch_account: &mut Epoch,
    totals: &mut BatchTotals,
) -> Result<()> {
    let epoch = epoch_account.index;
    let Some(wh) = meter.pending_wh(epoch) else {
        return Ok(());
    };
    let billed_units = consumption_cost_ceil(wh, epoch_account.params.tariff_units_per_kwh)
        .ok_or(EnergyError::MathOverflow)?;
    let (charged_units, unpaid_units) = meter.charge(epoch, billed_units)?;
    epoch_account.record_charge(charged_units, unpaid_units)?;
    grid.meter_balances_units = grid
        .meter_balances_units
        .checked_sub(charged_units)
        .ok_or(EnergyError::VaultShortfall)?;
    grid.pool_in_flight_units = grid.pool_in_flight_units.safe_add(charged_units)?;
    totals.charged_units = totals.charged_units.safe_add(charged_units)?;
    emit(ConsumerCharged {
        meter: meter.key(),
        epoch,
        wh,
        billed_units,
        charged_units,
        unpaid_units,
    });
    if meter.decide_connection() == Some(false) {
        emit(MeterDisconnected {
            meter: meter.key(),
            epoch,
            balance_units: meter.balance_units,
            debt_units: meter.debt_units,
        });
    }
    Ok(())
}

/// Every consumer is charged: take the grid's carry into this epoch and the fee out of it.
fn start_paying(grid: &mut Grid, epoch_account: &mut Epoch) -> Result<u64> {
    let carried_in_units = grid.carry_units;
    grid.carry_units = 0;
    epoch_account.start_paying(carried_in_units)?;
    grid.pool_in_flight_units = grid
        .pool_in_flight_units
        .safe_add(carried_in_units)?
        .checked_sub(epoch_account.fee_units)
        .ok_or(EnergyError::ConservationViolated)?;
    emit(FeeCollected {
        grid: epoch_account.grid,
        epoch: epoch_account.index,
        fee_units: epoch_account.fee_units,
        carried_in_units,
        distributable_units: epoch_account.distributable_units,
    });
    Ok(epoch_account.fee_units)
}

fn pay_producer(
    meter: &mut Account<Meter>,
    grid: &mut Grid,
    epoch_account: &mut Epoch,
    totals: &mut BatchTotals,
) -> Result<()> {
    let epoch = epoch_account.index;
    let Some(wh) = meter.pending_wh(epoch) else {
        return Ok(());
    };
    let payout_units = producer_payout_floor(
        epoch_account.distributable_units,
        wh,
        epoch_account.produced_wh,
    )
    .ok_or(EnergyError::MathOverflow)?;
    meter.credit_payout(epoch, payout_units)?;
    epoch_account.record_payout(payout_units)?;
    grid.pool_in_flight_units = grid
        .pool_in_flight_units
        .checked_sub(payout_units)
        .ok_or(EnergyError::ConservationViolated)?;
    grid.meter_balances_units = grid.meter_balances_units.safe_add(payout_units)?;
    totals.paid_units = totals.paid_units.safe_add(payout_units)?;
    emit(ProducerPaid {
        meter: meter.key(),
        epoch,
        wh,
        payout_units,
    });
    Ok(())
}

/// Every reading is settled: carry the remainder forward and check conservation.
fn finish(grid: &mut Grid, epoch_account: &mut Epoch) -> Result<()> {
    let carried_out_units = epoch_account.finish()?;
    grid.pool_in_flight_units = grid
        .pool_in_flight_units
        .checked_sub(carried_out_units)
        .ok_or(EnergyError::ConservationViolated)?;
    grid.carry_units = grid.carry_units.safe_add(carried_out_units)?;
    emit(EpochSettled {
        grid: epoch_account.grid,
        epoch: epoch_account.index,
        consumed_wh: epoch_account.consumed_wh,
        produced_wh: epoch_account.produced_wh,
        charged_units: epoch_account.charged_units,
        fee_units: epoch_account.fee_units,
        paid_units: epoch_account.paid_units,
        carried_in_units: epoch_account.carried_in_units,
        carried_out_units,
        loss_ratio_permille: epoch_account.loss_ratio_permille,
        outside_loss_band: epoch_account.outside_loss_band,
    });
    Ok(())
}
