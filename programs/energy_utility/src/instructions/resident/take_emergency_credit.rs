//! A meter's owner, low on coins, takes the grid's emergency credit: the meter may run into
//! debt by that much and stay connected, until its next funding ends the top-up cycle. Once per
//! cycle; only while the meter's free coins are below the credit. The debt it runs up is repaid
//! like any other, by the grid's share of each funding. Allowed while the grid is paused: it
//! only keeps the lights on.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, EmergencyCreditTaken};
use crate::state::{Grid, Meter, Resident};

#[derive(Accounts)]
pub struct TakeEmergencyCredit<'info> {
    pub authority: Signer<'info>,
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(has_one = authority @ EnergyError::NotResidentOwner)]
    pub owner: Box<Account<'info, Resident>>,
}

pub fn handler(ctx: Context<TakeEmergencyCredit>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let grid = &ctx.accounts.grid;
    let epoch = grid.epoch_at(now)?;
    let params = grid.params_for(epoch);
    let meter = &mut ctx.accounts.meter;
    meter.take_emergency_credit(params.credit.emergency_credit_units)?;
    emit(EmergencyCreditTaken {
        meter: meter.key(),
        owner: ctx.accounts.owner.key(),
        units: meter.emergency_units,
        epoch,
    });
    crate::instructions::gateway::report::decide_and_tell(meter, epoch, params.is_friendly(now));
    meter.invariant()
}
