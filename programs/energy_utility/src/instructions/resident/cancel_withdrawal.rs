//! A resident takes back every coin they set aside for withdrawal.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::release_escrow;
use crate::error::EnergyError;
use crate::events::WithdrawalCancelled;
use crate::state::{Grid, Resident};

#[derive(Accounts)]
pub struct CancelWithdrawal<'info> {
    pub authority: Signer<'info>,
    #[account(mut, constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = authority @ EnergyError::NotResidentOwner,
        has_one = coins @ EnergyError::WrongCoinAccount,
        constraint = resident.escrow_units > 0 @ EnergyError::NothingEscrowed,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.escrow @ EnergyError::WrongCoinAccount)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CancelWithdrawal>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let resident = &mut accounts.resident;
    let returned_units = resident.escrow_units;
    resident.escrow_units = 0;
    release_escrow(
        &accounts.token_program,
        &mut accounts.grid,
        &mut accounts.escrow,
        &accounts.coins,
        returned_units,
    )?;
    emit!(WithdrawalCancelled {
        resident: resident.key(),
        returned_units,
    });
    Ok(())
}
