//! The permissionless settlement crank. Each call takes a batch of the epoch's meters as
//! remaining accounts (writable, any order) and settles what it can:
//!
//! 1. consumers are charged what their reading cost when reported, as far as their prepaid
//!    balance goes; the rest becomes debt and disconnects them;
//! 2. once every consumer is charged, the utility fee leaves the pool, once, and the pool
//!    beyond what the epoch's production is worth at its tariff is withheld for later epochs;
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
use crate::math::{producer_payout_floor, SafeAdd};
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

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler<'info>(ctx: Context<'info, Settle<'info>>, epoch: u64) -> Result<()> {
    let remaining = ctx.remaining_accounts;
    check_batch(ctx.program_id, remaining)?;
    let accounts = &mut *ctx.accounts;
    let grid_key = accounts.grid.key();
    let friendly = accounts.grid.is_friendly_at(Clock::get()?.unix_timestamp);
    let mut batch = Batch {
        grid: &mut accounts.grid,
        epoch: &mut accounts.epoch_account,
        charged_units: 0,
        fee_units: 0,
        paid_units: 0,
        friendly,
    };

    if batch.epoch.status == EpochStatus::Open {
        batch.epoch.status = EpochStatus::Charging;
    }
    let charging = batch.epoch.status == EpochStatus::Charging;
    // Every meter of the batch is checked here; consumers are charged while charging.
    for info in remaining {
        let mut meter = load_meter(info, &grid_key, epoch)?;
        if charging && meter.is_consumer() {
            batch.charge_consumer(&mut meter)?;
            meter.invariant()?;
            meter.exit(ctx.program_id)?;
        }
    }
    if charging && batch.epoch.all_consumers_charged() {
        batch.start_paying()?;
    }
    if batch.epoch.status == EpochStatus::Paying {
        for info in remaining {
            // Consumers were checked in the first pass (or a call before): skip them unread.
            let kind = Meter::peek_kind(&info.try_borrow_data()?);
            if kind.is_some_and(|k| !k.is_producer()) {
                continue;
            }
            let mut meter = load_meter(info, &grid_key, epoch)?;
            if meter.kind.is_producer() {
                batch.pay_producer(&mut meter)?;
                meter.invariant()?;
                meter.exit(ctx.program_id)?;
            }
        }
        if batch.epoch.all_producers_paid() {
            batch.finish()?;
        }
    }

    let Batch {
        charged_units,
        fee_units,
        paid_units,
        ..
    } = batch;
    let grid = &accounts.grid;
    move_coins(grid, &accounts.vault, &accounts.pool, charged_units)?;
    move_coins(grid, &accounts.pool, &accounts.treasury, fee_units)?;
    move_coins(grid, &accounts.pool, &accounts.vault, paid_units)?;
    accounts.vault.reload()?;
    accounts.pool.reload()?;
    grid.check_vault(accounts.vault.amount)?;
    grid.check_pool(accounts.pool.amount)?;
    grid.invariant()?;
    accounts.epoch_account.invariant()
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

/// One call's settlement: the grid's and the epoch's books as each reading is applied, and the
/// coins the call moves, with one transfer each at the end.
struct Batch<'a> {
    grid: &'a mut Grid,
    epoch: &'a mut Epoch,
    charged_units: u64,
    fee_units: u64,
    paid_units: u64,
    /// The grid's friendly hours: nobody is disconnected for lack of coins now.
    friendly: bool,
}

impl Batch<'_> {
    fn charge_consumer(&mut self, meter: &mut Account<Meter>) -> Result<()> {
        let epoch = self.epoch.index;
        let Some(reading) = meter.pending_reading(epoch) else {
            return Ok(());
        };
        let (wh, billed_units) = (reading.wh, reading.cost_units);
        let (charged_units, unpaid_units) = meter.charge(epoch, billed_units)?;
        self.epoch.record_charge(charged_units, unpaid_units)?;
        self.grid.charge_into_pool(charged_units)?;
        self.charged_units = self.charged_units.safe_add(charged_units)?;
        emit(ConsumerCharged {
            meter: meter.key(),
            epoch,
            wh,
            billed_units,
            charged_units,
            unpaid_units,
        });
        if meter.decide_connection(self.friendly) == Some(false) {
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
    fn start_paying(&mut self) -> Result<()> {
        let carried_in_units = self.grid.take_carry()?;
        self.epoch.start_paying(carried_in_units)?;
        self.grid.take_fee(self.epoch.fee_units)?;
        self.fee_units = self.epoch.fee_units;
        emit(FeeCollected {
            grid: self.epoch.grid,
            epoch: self.epoch.index,
            fee_units: self.epoch.fee_units,
            carried_in_units,
            distributable_units: self.epoch.distributable_units,
            withheld_units: self.epoch.withheld_units,
        });
        Ok(())
    }

    fn pay_producer(&mut self, meter: &mut Account<Meter>) -> Result<()> {
        let epoch = self.epoch.index;
        let Some(wh) = meter.pending_wh(epoch) else {
            return Ok(());
        };
        let payout_units =
            producer_payout_floor(self.epoch.distributable_units, wh, self.epoch.produced_wh)
                .ok_or(EnergyError::MathOverflow)?;
        meter.credit_payout(epoch, payout_units)?;
        self.epoch.record_payout(payout_units)?;
        self.grid.pay_from_pool(payout_units)?;
        self.paid_units = self.paid_units.safe_add(payout_units)?;
        emit(ProducerPaid {
            meter: meter.key(),
            epoch,
            wh,
            payout_units,
        });
        Ok(())
    }

    /// Every reading is settled: carry the remainder forward and check conservation.
    fn finish(&mut self) -> Result<()> {
        let epoch = &mut *self.epoch;
        let carried_out_units = epoch.finish()?;
        self.grid.carry_forward(carried_out_units)?;
        emit(EpochSettled {
            grid: epoch.grid,
            epoch: epoch.index,
            consumed_wh: epoch.consumed_wh,
            produced_wh: epoch.produced_wh,
            charged_units: epoch.charged_units,
            fee_units: epoch.fee_units,
            paid_units: epoch.paid_units,
            carried_in_units: epoch.carried_in_units,
            carried_out_units,
            loss_ratio_permille: epoch.loss_ratio_permille,
            outside_loss_band: epoch.outside_loss_band,
        });
        Ok(())
    }
}
