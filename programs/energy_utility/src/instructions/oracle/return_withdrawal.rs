//! A payout failed: the oracle returns the coins locked for it to the resident's account.
//! Applied once per `payment_id` (the payout's id), like `add_fiat`, so a payout ends either
//! paid (coins burned) or returned, never both.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::release_escrow;
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::WithdrawalReturned;
use crate::math::coins_sold_ceil;
use crate::state::{FiatKind, Grid, Receipt, Resident};

#[derive(Accounts)]
#[instruction(amount_cents: u64, payment_id: String)]
pub struct ReturnWithdrawal<'info> {
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

impl ReturnWithdrawal<'_> {
    pub fn validate(&self, amount_cents: u64, payment_id: &str) -> Result<()> {
        self.receipt.check_unused(payment_id)?;
        require!(amount_cents > 0, EnergyError::ZeroAmount);
        require!(
            i64::try_from(amount_cents).is_ok(),
            EnergyError::AmountTooLarge
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(amount_cents, &payment_id))]
pub fn handler(
    ctx: Context<ReturnWithdrawal>,
    amount_cents: u64,
    payment_id: String,
) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let grid = &mut accounts.grid;
    let units =
        coins_sold_ceil(amount_cents, grid.coin_price_cents).ok_or(EnergyError::AmountTooLarge)?;
    let resident = &mut accounts.resident;
    require!(
        units <= resident.locked_units,
        EnergyError::ReturnExceedsLocked
    );
    resident.locked_units -= units;
    release_escrow(
        &accounts.token_program,
        grid,
        &mut accounts.escrow,
        &accounts.coins,
        units,
    )?;

    accounts.receipt.set_inner(Receipt {
        grid: grid.key(),
        resident: resident.key(),
        payment_id: payment_id.clone(),
        kind: FiatKind::Returned,
        amount_cents: -(amount_cents as i64),
        coin_units: units,
        applied_ts: Clock::get()?.unix_timestamp,
        bump: ctx.bumps.receipt,
    });
    emit!(WithdrawalReturned {
        resident: resident.key(),
        payment_id,
        amount_cents,
        returned_units: units,
        new_locked_units: resident.locked_units,
    });
    Ok(())
}
