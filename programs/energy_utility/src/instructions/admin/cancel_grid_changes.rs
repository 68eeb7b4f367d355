//! The admin withdraws every change to the grid's terms that has not taken effect yet.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, GridChangesCancelled};
use crate::state::{Grid, NO_PENDING_EPOCH};

#[derive(Accounts)]
pub struct CancelGridChanges<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
}

pub fn handler(ctx: Context<CancelGridChanges>) -> Result<()> {
    let grid = &mut ctx.accounts.grid;
    let now = Clock::get()?.unix_timestamp;
    grid.roll_changes(now)?;
    require!(
        grid.pending_from_epoch != NO_PENDING_EPOCH || grid.pending_change.is_some(),
        EnergyError::NoPendingChange
    );
    grid.cancel_changes(now)?;
    emit(GridChangesCancelled { grid: grid.key() });
    grid.invariant()
}
