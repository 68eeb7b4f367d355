//! Closes a retired meter once the crank has settled every reading it reported: what is left
//! on it repays its debt first (into the pool, for producers; a meter may hold coins and owe
//! when the grid recovers debt as a share of fundings), the rest goes to its owner, any debt
//! still owed is written off (producers were already paid without it), and the rent of the meter and of its directory entry goes back to whoever paid
//! it. The meter's id can then be registered again.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::{move_coins, pay_out_of_vault};
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, MeterClosed};
use crate::state::{DirectoryEntry, Grid, Meter, Resident};

#[derive(Accounts)]
pub struct CloseMeter<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        has_one = admin @ EnergyError::NotGridAdmin,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        constraint = !meter.active @ EnergyError::MeterStillActive,
        constraint = !meter.has_pending_readings() @ EnergyError::MeterHasPendingReadings,
        close = rent_payer,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(
        mut,
        seeds = [METER_INDEX_SEED, grid.key().as_ref(), &meter.index.to_le_bytes()],
        bump = meter_entry.bump,
        constraint = meter_entry.target == meter.key() @ EnergyError::WrongGrid,
        close = rent_payer,
    )]
    pub meter_entry: Box<Account<'info, DirectoryEntry>>,
    #[account(mut, has_one = coins @ EnergyError::WrongCoinAccount)]
    pub owner: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.pool @ EnergyError::WrongCoinAccount)]
    pub pool: Box<Account<'info, TokenAccount>>,
    /// CHECK: receives the rent; checked against the meter's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CloseMeter>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let meter = &mut accounts.meter;
    let debt_repaid_units = meter.repay_debt_from_balance();
    let refunded_units = meter.take_uncommitted();
    accounts.grid.debit_meters(debt_repaid_units)?;
    accounts.grid.carry_repaid_debt(debt_repaid_units)?;
    move_coins(
        &accounts.grid,
        &accounts.vault,
        &accounts.pool,
        debt_repaid_units,
    )?;
    accounts.pool.reload()?;
    accounts.grid.check_pool(accounts.pool.amount)?;
    accounts.owner.remove_meter()?;
    pay_out_of_vault(
        &mut accounts.grid,
        &mut accounts.vault,
        &accounts.coins,
        refunded_units,
    )?;
    emit(MeterClosed {
        meter: meter.key(),
        owner: accounts.owner.key(),
        refunded_units,
        debt_repaid_units,
        forgiven_debt_units: meter.debt_units,
        rent_payer: accounts.rent_payer.key(),
    });
    // The meter account closes: the grid and the owner keep the books.
    accounts.owner.invariant()?;
    accounts.grid.invariant()
}
