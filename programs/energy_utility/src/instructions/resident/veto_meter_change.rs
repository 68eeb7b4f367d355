//! A meter's owner turns down a change the admin proposed for it alone, before its notice
//! ends. Allowed while the grid is paused: a veto only protects.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, MeterChangeVetoed};
use crate::state::{Grid, Meter, Resident};

#[derive(Accounts)]
pub struct VetoMeterChange<'info> {
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

pub fn handler(ctx: Context<VetoMeterChange>) -> Result<()> {
    let meter = &mut ctx.accounts.meter;
    let act = meter.veto_change()?;
    emit(MeterChangeVetoed {
        meter: meter.key(),
        act,
    });
    meter.invariant()
}
