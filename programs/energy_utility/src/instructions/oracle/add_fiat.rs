//! The payment processor's webhook, through its oracle key: dollars paid in mint coins to a
//! resident, `floor(cents × 10⁶ / price)` units. Each payment id applies once: its receipt makes
//! a repeated delivery fail with `PaymentAlreadyProcessed`, for the grid's receipt retention;
//! a payment older than that is refused, so no delivery can outlive its receipt. Every mint
//! spends the oracle's mint budget: a leaked key cannot mint without limit.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::mint_coins;
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, FiatApplied};
use crate::math::{coins_bought_floor, SafeAdd};
use crate::state::{Grid, Payment, Receipt, Resident};

#[derive(Accounts)]
#[instruction(amount_cents: u64, payment_id: String)]
pub struct AddFiat<'info> {
    #[account(mut)]
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
    #[account(mut, address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
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
    pub fn validate(&self, amount_cents: u64, payment_id: &str) -> Result<()> {
        self.receipt.check_unused(payment_id)?;
        require!(amount_cents > 0, EnergyError::ZeroAmount);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(amount_cents, &payment_id))]
pub fn handler(
    ctx: Context<AddFiat>,
    amount_cents: u64,
    payment_id: String,
    event_ts: i64,
) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    let grid = &mut accounts.grid;
    grid.roll_changes(now)?;
    require!(
        grid.accepts_payment_at(event_ts, now),
        EnergyError::PaymentOutsideRetention
    );
    let price = grid.coin_price_cents;
    let coin_units = coins_bought_floor(amount_cents, price).ok_or(EnergyError::AmountTooLarge)?;
    require!(coin_units > 0, EnergyError::AmountBelowOneUnit);
    // A debt a refund or dispute left is repaid first: that part is not minted.
    let resident = &mut accounts.resident;
    let debt_repaid_units = resident.repay_debt(coin_units)?;
    let minted = coin_units - debt_repaid_units;
    grid.take_mint_budget(now, minted)?;
    mint_coins(grid, &accounts.mint, &accounts.coins, minted)?;
    // Bought by card: sellable only once the hold has passed.
    let held_until_ts = now.safe_add(grid.payment_rules.card_hold_seconds as i64)?;
    resident.hold(minted, held_until_ts, now)?;

    let payment = Payment {
        id: payment_id.clone(),
        amount_cents,
        event_ts,
    };
    accounts.receipt.set_inner(Receipt::new(
        grid.key(),
        accounts.resident.key(),
        payment,
        coin_units,
        now,
        accounts.oracle.key(),
        grid.oracle_limits.receipt_retention_seconds,
        ctx.bumps.receipt,
    ));
    emit(FiatApplied {
        grid: grid.key(),
        resident: accounts.resident.key(),
        payment_id,
        amount_cents,
        coin_units,
        coin_price_cents: price,
        debt_repaid_units,
        held_until_ts,
    });
    accounts.resident.invariant()?;
    grid.invariant()
}
