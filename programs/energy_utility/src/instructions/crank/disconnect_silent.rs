//! Disconnects a consumer meter that stopped reporting: after the grid's `max_silent_epochs`
//! closed epochs without a report it is decided disconnected, until it reports again (its next
//! reading covers the silent hours) and its balance covers what that costs. Permissionless: the
//! crank sends it for every silent meter it finds. An epoch is closed once its own grace has
//! passed; the epochs of a pause (which refuses every report) are nobody's silence, and while
//! paused nobody is disconnected this way.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, MeterSilenced};
use crate::state::{Grid, Meter};

#[derive(Accounts)]
pub struct DisconnectSilent<'info> {
    #[account(constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = meter.active @ EnergyError::MeterInactive,
    )]
    pub meter: Box<Account<'info, Meter>>,
}

pub fn handler(ctx: Context<DisconnectSilent>) -> Result<()> {
    let grid = &ctx.accounts.grid;
    let now = Clock::get()?.unix_timestamp;
    let current = grid.epoch_at(now)?;
    let params = grid.params_for(current);
    let last_closed = grid
        .last_closed_epoch(now)
        .ok_or(EnergyError::MeterNotSilent)?;
    let meter = &mut ctx.accounts.meter;
    let counts_from = grid.silence_from_epoch;
    let silent_epochs = meter.silent_epochs(last_closed, counts_from);
    meter.silence(last_closed, counts_from, params.max_silent_epochs)?;
    emit(MeterSilenced {
        meter: meter.key(),
        last_reported_epoch: meter.has_reported.then_some(meter.last_reported_epoch),
        silent_epochs,
    });
    meter.invariant()
}
