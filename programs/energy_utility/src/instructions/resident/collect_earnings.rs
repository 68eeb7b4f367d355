//! Moves a producer meter's settled earnings into its owner's coin account. Permissionless:
//! the coins can only go to the owner, so a crank may sweep them too. An owner who owes coins a
//! refund or dispute took back repays that debt from them first (those coins are burned).

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::{burn_out_of_vault, pay_out_of_vault};
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
    #[account(mut, has_one = coins @ EnergyError::WrongCoinAccount)]
    pub owner: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CollectEarnings>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let meter = &mut accounts.meter;
    // The whole balance: a producer's readings never commit coins.
    let amount_units = meter.take_uncommitted();
    let debt_repaid_units = accounts.owner.repay_debt(amount_units)?;
    burn_out_of_vault(
        &mut accounts.grid,
        &accounts.mint,
        &mut accounts.vault,
        debt_repaid_units,
    )?;
    pay_out_of_vault(
        &mut accounts.grid,
        &mut accounts.vault,
        &accounts.coins,
        amount_units - debt_repaid_units,
    )?;
    emit(EarningsCollected {
        meter: meter.key(),
        resident: accounts.owner.key(),
        amount_units,
        debt_repaid_units,
    });
    accounts.grid.invariant()?;
    accounts.owner.invariant()?;
    meter.invariant()
}
