//! Applies a change the admin proposed for a meter once the grid's notice has passed and its
//! owner has not vetoed it. Permissionless: the notice, not the caller, decides.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::error::EnergyError;
use crate::instructions::admin::change_meter::apply;
use crate::state::{Grid, Meter, Resident};

#[derive(Accounts)]
pub struct ApplyMeterChange<'info> {
    #[account(mut, constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
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

pub fn handler(ctx: Context<ApplyMeterChange>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let act = accounts.meter.take_due_change(now)?;
    accounts.meter.check_applicable(&act)?;
    apply(
        &mut accounts.grid,
        &mut accounts.meter,
        &accounts.owner,
        &accounts.coins,
        &mut accounts.vault,
        &act,
    )?;
    accounts.grid.invariant()?;
    accounts.meter.invariant()
}
