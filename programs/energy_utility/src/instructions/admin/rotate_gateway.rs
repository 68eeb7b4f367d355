//! Replaces a meter's gateway key (a new device, or a compromised one).

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, MeterGatewayRotated};
use crate::state::{Grid, Meter};

#[derive(Accounts)]
pub struct RotateGateway<'info> {
    pub admin: Signer<'info>,
    #[account(has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(mut, has_one = grid @ EnergyError::WrongGrid)]
    pub meter: Box<Account<'info, Meter>>,
}

pub fn handler(ctx: Context<RotateGateway>, new_gateway: Pubkey) -> Result<()> {
    let meter = &mut ctx.accounts.meter;
    let old_gateway = meter.gateway;
    meter.gateway = new_gateway;
    emit(MeterGatewayRotated {
        meter: meter.key(),
        old_gateway,
        new_gateway,
    });
    meter.invariant()
}
