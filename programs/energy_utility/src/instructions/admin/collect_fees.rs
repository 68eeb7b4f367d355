//! The utility takes its fees: coins move from the grid's treasury to a resident account of
//! the admin's own wallet, from where it sells them for dollars like any producer. Without this
//! the treasury could only ever grow.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::move_coins;
use crate::error::EnergyError;
use crate::events::{emit, TreasuryCollected};
use crate::state::{Grid, Resident};

#[derive(Accounts)]
pub struct CollectFees<'info> {
    pub admin: Signer<'info>,
    #[account(
        has_one = admin @ EnergyError::NotGridAdmin,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    /// The utility's own resident account: registered by the admin's wallet.
    #[account(
        has_one = grid @ EnergyError::WrongGrid,
        has_one = coins @ EnergyError::WrongCoinAccount,
        constraint = resident.authority == admin.key() @ EnergyError::NotResidentOwner,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.treasury @ EnergyError::WrongCoinAccount)]
    pub treasury: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

/// `amount_units` 0 takes everything in the treasury.
pub fn handler(ctx: Context<CollectFees>, amount_units: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let available = accounts.treasury.amount;
    require!(available > 0, EnergyError::NothingToCollect);
    let amount_units = if amount_units == 0 {
        available
    } else {
        amount_units
    };
    require!(amount_units <= available, EnergyError::InsufficientCoins);
    move_coins(
        &accounts.grid,
        &accounts.treasury,
        &accounts.coins,
        amount_units,
    )?;
    emit(TreasuryCollected {
        grid: accounts.grid.key(),
        resident: accounts.resident.key(),
        amount_units,
        treasury_left_units: available - amount_units,
    });
    Ok(())
}
