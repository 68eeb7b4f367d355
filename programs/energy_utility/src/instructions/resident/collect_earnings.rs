//! Moves a producer meter's settled earnings into its owner's coin account. Permissionless:
//! the coins can only go to the owner, so a crank may sweep them too.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::move_coins;
use crate::error::EnergyError;
use crate::events::{emit, EarningsCollected};
use crate::state::{Grid, Meter, Resident};

#[derive(Accounts)]
pub struct CollectEarnings<'info> {
    #[account(mut, constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
        constraint = meter.kind.is_producer() @ EnergyError::NotProducerMeter,
        constraint = meter.balance_units > 0 @ EnergyError::NothingToCollect,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(has_one = coins @ EnergyError::WrongCoinAccount)]
    pub owner: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CollectEarnings>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let meter = &mut accounts.meter;
    let amount_units = meter.balance_units;
    meter.balance_units = 0;
    let grid = &mut accounts.grid;
    grid.meter_balances_units = grid
        .meter_balances_units
        .checked_sub(amount_units)
        .ok_or(EnergyError::VaultShortfall)?;
    move_coins(
        &accounts.token_program,
        grid,
        &accounts.vault,
        &accounts.coins,
        amount_units,
    )?;
    accounts.vault.reload()?;
    grid.check_backing(Some(accounts.vault.amount), None, None)?;
    emit(EarningsCollected {
        meter: meter.key(),
        resident: accounts.owner.key(),
        amount_units,
    });
    Ok(())
}
