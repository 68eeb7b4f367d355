//! A resident sets coins aside to sell for dollars; the oracle can burn only these.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::move_coins;
use crate::error::EnergyError;
use crate::events::WithdrawalRequested;
use crate::math::SafeAdd;
use crate::state::{Grid, Resident};

#[derive(Accounts)]
pub struct RequestWithdrawal<'info> {
    pub authority: Signer<'info>,
    #[account(mut, constraint = !grid.paused @ EnergyError::GridPaused)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = authority @ EnergyError::NotResidentOwner,
        has_one = coins @ EnergyError::WrongCoinAccount,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.escrow @ EnergyError::WrongCoinAccount)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl RequestWithdrawal<'_> {
    pub fn validate(&self, amount_units: u64) -> Result<()> {
        require!(amount_units > 0, EnergyError::ZeroAmount);
        require!(
            self.coins.amount >= amount_units,
            EnergyError::InsufficientCoins
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(amount_units))]
pub fn handler(ctx: Context<RequestWithdrawal>, amount_units: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let resident = &mut accounts.resident;
    let old_escrow_units = resident.escrow_units;
    resident.escrow_units = old_escrow_units.safe_add(amount_units)?;
    let grid = &mut accounts.grid;
    grid.escrow_units = grid.escrow_units.safe_add(amount_units)?;
    move_coins(
        &accounts.token_program,
        grid,
        &accounts.coins,
        &accounts.escrow,
        amount_units,
    )?;
    accounts.escrow.reload()?;
    grid.check_backing(None, None, Some(accounts.escrow.amount))?;
    emit!(WithdrawalRequested {
        resident: resident.key(),
        amount_units,
        old_escrow_units,
        new_escrow_units: resident.escrow_units,
    });
    Ok(())
}
