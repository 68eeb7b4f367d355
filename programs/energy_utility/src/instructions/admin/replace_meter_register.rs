//! A meter was swapped for a new one (or its register reset): the utility records the new
//! register, and the meter's readings go on from it. Its history, balance, unsettled readings
//! and gateway stay (`rotate_gateway` changes the key if the device changed too). Energy the
//! old register counted after its last report is not billed: report it first.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, MeterRegisterReplaced};
use crate::state::{Grid, Meter};

#[derive(Accounts)]
pub struct ReplaceMeterRegister<'info> {
    pub admin: Signer<'info>,
    #[account(has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = meter.active @ EnergyError::MeterInactive,
    )]
    pub meter: Box<Account<'info, Meter>>,
}

pub fn handler(ctx: Context<ReplaceMeterRegister>, register_wh: u64) -> Result<()> {
    let meter = &mut ctx.accounts.meter;
    let old_register_wh = meter.last_register_wh;
    meter.replace_register(register_wh);
    emit(MeterRegisterReplaced {
        meter: meter.key(),
        old_register_wh,
        new_register_wh: register_wh,
    });
    meter.invariant()
}
