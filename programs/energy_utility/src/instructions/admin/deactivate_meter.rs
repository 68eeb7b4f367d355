//! Takes a meter out of service: it can no longer report or be funded. Readings it already
//! reported still settle, and a producer's earnings can still be collected.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::MeterDeactivated;
use crate::state::{Grid, Meter};

#[derive(Accounts)]
pub struct DeactivateMeter<'info> {
    pub admin: Signer<'info>,
    #[account(has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Account<'info, Grid>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = meter.active @ EnergyError::MeterInactive,
    )]
    pub meter: Account<'info, Meter>,
}

pub fn handler(ctx: Context<DeactivateMeter>) -> Result<()> {
    let meter = &mut ctx.accounts.meter;
    meter.active = false;
    meter.connected = false;
    emit!(MeterDeactivated { meter: meter.key() });
    Ok(())
}
