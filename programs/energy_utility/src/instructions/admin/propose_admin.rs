//! The admin offers its role to another wallet — a multisig's vault, say. Nothing changes until
//! that wallet accepts (`accept_admin`), so a mistyped key cannot lock the grid out; offering
//! `Pubkey::default()` withdraws the offer.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, AdminProposed};
use crate::state::Grid;

#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
}

pub fn handler(ctx: Context<ProposeAdmin>, new_admin: Pubkey) -> Result<()> {
    let grid = &mut ctx.accounts.grid;
    grid.pending_admin = new_admin;
    emit(AdminProposed {
        grid: grid.key(),
        admin: grid.admin,
        proposed_admin: new_admin,
    });
    grid.invariant()
}
