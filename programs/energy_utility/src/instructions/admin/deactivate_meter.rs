//! Retires a meter: it can no longer report or be funded, its relay is told to disconnect, and
//! every coin its unsettled readings will not need goes back to its owner's account at once (a
//! consumer's prepaid rest, a producer's earnings). Readings it already reported still settle;
//! `close_meter` returns whatever is left, and the rent, once they have.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::pay_out_of_vault;
use crate::error::EnergyError;
use crate::events::{emit, MeterDeactivated};
use crate::state::{Grid, Meter, Resident};

#[derive(Accounts)]
pub struct DeactivateMeter<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        has_one = admin @ EnergyError::NotGridAdmin,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
        constraint = meter.active @ EnergyError::MeterInactive,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(has_one = coins @ EnergyError::WrongCoinAccount)]
    pub owner: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<DeactivateMeter>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let meter = &mut accounts.meter;
    let refunded_units = meter.retire();
    pay_out_of_vault(
        &mut accounts.grid,
        &mut accounts.vault,
        &accounts.coins,
        refunded_units,
    )?;
    emit(MeterDeactivated {
        meter: meter.key(),
        owner: accounts.owner.key(),
        refunded_units,
        committed_units: meter.committed_units,
    });
    accounts.grid.invariant()?;
    meter.invariant()
}
