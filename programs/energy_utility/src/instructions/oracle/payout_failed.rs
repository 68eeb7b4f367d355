//! The processor reports a sale's payout failed or canceled. Still locked: the coins go back
//! from the escrow to the resident. Already paid (a bank returned the money afterwards): the
//! burned units are minted back to the resident, once, within the oracle's mint budget. Either
//! way the units are the ones the lock recorded, whatever the price is now.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::{mint_coins, release_escrow};
use crate::error::EnergyError;
use crate::events::{emit, SalePayoutFailed};
use crate::state::{Grid, PayoutFailure, Resident, Sale};

#[derive(Accounts)]
pub struct PayoutFailed<'info> {
    pub oracle: Signer<'info>,
    #[account(
        mut,
        constraint = grid.is_oracle_now(&oracle.key()) @ EnergyError::NotGridOracle,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = coins @ EnergyError::WrongCoinAccount,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = resident @ EnergyError::WrongSale,
    )]
    pub sale: Box<Account<'info, Sale>>,
    #[account(mut, address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(mut, address = grid.escrow @ EnergyError::WrongCoinAccount)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<PayoutFailed>, payout_id: String) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    accounts.grid.roll_changes(now)?;
    let sale = &mut accounts.sale;
    let failure = sale.record_failed(&payout_id, now)?;
    let units = sale.units;
    let grid = &mut accounts.grid;
    match failure {
        PayoutFailure::Returned => {
            accounts.resident.unlock(units)?;
            release_escrow(grid, &mut accounts.escrow, &accounts.coins, units)?;
        }
        PayoutFailure::Reversed => {
            grid.take_mint_budget(now, units)?;
            mint_coins(grid, &accounts.mint, &accounts.coins, units)?;
        }
    }
    emit(SalePayoutFailed {
        resident: accounts.resident.key(),
        sale: sale.key(),
        payout_id,
        cents: sale.cents,
        returned_units: units,
        reversed: failure == PayoutFailure::Reversed,
    });
    grid.invariant()?;
    accounts.resident.invariant()?;
    sale.invariant()
}
