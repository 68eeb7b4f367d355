//! The payment processor's webhook, through its oracle key: dollars paid in mint coins to a
//! resident; a payout paid burns the coins locked for it (`lock_withdrawal`). Each payment id
//! is applied once: its receipt account makes a repeated delivery fail with
//! `PaymentAlreadyProcessed`.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::{burn_coins, mint_coins};
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::FiatApplied;
use crate::math::{coins_bought_floor, coins_sold_ceil};
use crate::state::{FiatKind, Grid, Receipt, Resident};

#[derive(Accounts)]
#[instruction(amount_cents: i64, payment_id: String)]
pub struct AddFiat<'info> {
    #[account(mut)]
    pub oracle: Signer<'info>,
    #[account(
        mut,
        has_one = oracle @ EnergyError::NotGridOracle,
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
    #[account(mut, address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(mut, address = grid.escrow @ EnergyError::WrongCoinAccount)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    #[account(
        init_if_needed,
        payer = oracle,
        space = 8 + Receipt::INIT_SPACE,
        seeds = [RECEIPT_SEED, grid.key().as_ref(), id_seed(&payment_id)],
        bump,
    )]
    pub receipt: Box<Account<'info, Receipt>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl AddFiat<'_> {
    pub fn validate(&self, amount_cents: i64, payment_id: &str) -> Result<()> {
        self.receipt.check_unused(payment_id)?;
        require!(amount_cents != 0, EnergyError::ZeroAmount);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(amount_cents, &payment_id))]
pub fn handler(ctx: Context<AddFiat>, amount_cents: i64, payment_id: String) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let grid = &mut accounts.grid;
    let price = grid.coin_price_cents;
    let cents = amount_cents.unsigned_abs();
    let coin_units = if amount_cents > 0 {
        let units = coins_bought_floor(cents, price).ok_or(EnergyError::AmountTooLarge)?;
        require!(units > 0, EnergyError::AmountBelowOneUnit);
        mint_coins(
            &accounts.token_program,
            grid,
            &accounts.mint,
            &accounts.coins,
            units,
        )?;
        units
    } else {
        let units = coins_sold_ceil(cents, price).ok_or(EnergyError::AmountTooLarge)?;
        let resident = &mut accounts.resident;
        require!(
            units <= resident.locked_units,
            EnergyError::BurnExceedsEscrow
        );
        resident.locked_units -= units;
        grid.escrow_units = grid
            .escrow_units
            .checked_sub(units)
            .ok_or(EnergyError::VaultShortfall)?;
        burn_coins(
            &accounts.token_program,
            grid,
            &accounts.mint,
            &accounts.escrow,
            units,
        )?;
        accounts.escrow.reload()?;
        grid.check_backing(None, None, Some(accounts.escrow.amount))?;
        units
    };

    let applied_ts = Clock::get()?.unix_timestamp;
    accounts.receipt.set_inner(Receipt {
        grid: grid.key(),
        resident: accounts.resident.key(),
        payment_id: payment_id.clone(),
        kind: if amount_cents > 0 {
            FiatKind::Bought
        } else {
            FiatKind::Sold
        },
        amount_cents,
        coin_units,
        applied_ts,
        bump: ctx.bumps.receipt,
    });
    emit!(FiatApplied {
        grid: grid.key(),
        resident: accounts.resident.key(),
        payment_id,
        amount_cents,
        coin_units,
        coin_price_cents: price,
    });
    Ok(())
}
