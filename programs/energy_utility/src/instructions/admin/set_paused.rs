//! Pauses or resumes a grid: while paused, no coins move and no readings are taken. Pausing
//! needs no notice: it protects everyone. Silence counts again from the epoch it resumes in.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, GridPauseChanged};
use crate::state::Grid;

#[derive(Accounts)]
pub struct SetPaused<'info> {
    pub admin: Signer<'info>,
    #[account(mut, has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
}

pub fn handler(ctx: Context<SetPaused>, paused: bool) -> Result<()> {
    let grid = &mut ctx.accounts.grid;
    let old_paused = grid.paused;
    grid.set_paused(paused, Clock::get()?.unix_timestamp)?;
    emit(GridPauseChanged {
        grid: grid.key(),
        old_paused,
        new_paused: paused,
    });
    grid.invariant()
}
