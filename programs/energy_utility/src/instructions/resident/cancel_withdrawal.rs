//! A resident takes back a sale the oracle has not locked for a payout yet: the coins return
//! to their account and the sale account's rent to whoever paid it (their wallet, or the
//! utility that sponsored the sale).

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::release_escrow;
use crate::error::EnergyError;
use crate::events::{emit, SaleCancelled};
use crate::state::{Grid, Resident, Sale, SaleStatus};

#[derive(Accounts)]
pub struct CancelWithdrawal<'info> {
    #[account(mut)]
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
    #[account(
        mut,
        has_one = resident @ EnergyError::WrongSale,
        constraint = sale.status == SaleStatus::Requested @ EnergyError::SaleNotRequested,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        close = rent_payer,
    )]
    pub sale: Box<Account<'info, Sale>>,
    /// CHECK: receives the rent; checked against the sale's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CancelWithdrawal>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let returned_units = accounts.sale.units;
    accounts.resident.cancel(returned_units)?;
    let grid = &mut accounts.grid;
    release_escrow(grid, &mut accounts.escrow, &accounts.coins, returned_units)?;
    emit(SaleCancelled {
        resident: accounts.resident.key(),
        sale: accounts.sale.key(),
        returned_units,
    });
    // The sale account closes: the grid and the resident keep the books.
    grid.invariant()?;
    accounts.resident.invariant()
}
