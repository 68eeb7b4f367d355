//! The utility won a dispute: the charge stands, and the coins its claw-back took are the
//! resident's again — repaying the debt it left first, the rest minted back, within the
//! oracle's mint budget. Once per dispute (`Receipt::restore_dispute`).

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::mint_coins;
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, DisputeWon};
use crate::state::{Grid, Receipt, Resident};

#[derive(Accounts)]
#[instruction(payment_id: String)]
pub struct RestoreDispute<'info> {
    pub oracle: Signer<'info>,
    #[account(
        mut,
        constraint = grid.is_oracle_now(&oracle.key()) @ EnergyError::NotGridOracle,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        seeds = [RECEIPT_SEED, grid.key().as_ref(), id_seed(&payment_id)],
        bump = receipt.bump,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = resident @ EnergyError::WrongSale,
    )]
    pub receipt: Box<Account<'info, Receipt>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = coins @ EnergyError::WrongCoinAccount,
    )]
    pub resident: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<RestoreDispute>, payment_id: String) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let units = accounts.receipt.restore_dispute()?;
    let debt_repaid_units = accounts.resident.repay_debt(units)?;
    let minted = units - debt_repaid_units;
    let grid = &mut accounts.grid;
    grid.roll_changes(now)?;
    grid.take_mint_budget(now, minted)?;
    mint_coins(grid, &accounts.mint, &accounts.coins, minted)?;
    emit(DisputeWon {
        resident: accounts.resident.key(),
        payment_id,
        units,
        debt_repaid_units,
    });
    grid.invariant()?;
    accounts.resident.invariant()
}
