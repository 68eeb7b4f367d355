//! The wallet the admin role was offered to accepts it, by its own signature (a multisig's
//! vault signs through the multisig), and becomes the grid's admin.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, AdminAccepted};
use crate::state::Grid;

#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(
        mut,
        constraint = grid.pending_admin == new_admin.key()
            && grid.pending_admin != Pubkey::default() @ EnergyError::NotPendingAdmin,
    )]
    pub grid: Box<Account<'info, Grid>>,
}

pub fn handler(ctx: Context<AcceptAdmin>) -> Result<()> {
    let grid = &mut ctx.accounts.grid;
    let old_admin = grid.admin;
    grid.admin = ctx.accounts.new_admin.key();
    grid.pending_admin = Pubkey::default();
    emit(AdminAccepted {
        grid: grid.key(),
        old_admin,
        new_admin: grid.admin,
    });
    grid.invariant()
}
