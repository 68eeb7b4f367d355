//! Applies the grid's terms the admin proposed once their notice has passed (the price, the
//! oracle, its limits; epoch parameters apply by themselves from their epoch). Permissionless:
//! the instructions that use these terms read them as of their own time anyway; this writes
//! them down for everyone else.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, GridChangesApplied};
use crate::state::Grid;

#[derive(Accounts)]
pub struct ApplyGridChanges<'info> {
    #[account(mut)]
    pub grid: Box<Account<'info, Grid>>,
}

pub fn handler(ctx: Context<ApplyGridChanges>) -> Result<()> {
    let grid = &mut ctx.accounts.grid;
    let now = Clock::get()?.unix_timestamp;
    require!(grid.roll_changes(now)?, EnergyError::NoPendingChange);
    emit(GridChangesApplied {
        grid: grid.key(),
        params: grid.params,
        coin_price_cents: grid.coin_price_cents,
        oracle: grid.oracle,
        oracle_limits: grid.oracle_limits,
    });
    grid.invariant()
}
