//! Changes a meter's nameplate capacity (a bigger inverter, a new service): the most its
//! readings may carry per hour.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, MeterCapacityChanged};
use crate::state::{Grid, Meter};

#[derive(Accounts)]
pub struct SetMeterCapacity<'info> {
    pub admin: Signer<'info>,
    #[account(has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(mut, has_one = grid @ EnergyError::WrongGrid)]
    pub meter: Box<Account<'info, Meter>>,
}

pub fn handler(ctx: Context<SetMeterCapacity>, capacity_w: u64) -> Result<()> {
    require!(capacity_w > 0, EnergyError::InvalidCapacity);
    let meter = &mut ctx.accounts.meter;
    let old_capacity_w = meter.capacity_w;
    meter.capacity_w = capacity_w;
    emit(MeterCapacityChanged {
        meter: meter.key(),
        old_capacity_w,
        new_capacity_w: capacity_w,
    });
    meter.invariant()
}
