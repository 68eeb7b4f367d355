//! The processor took a purchase's dollars back — refunded them to the card, or the card holder
//! disputed the charge — and the coins they bought go too: from the resident's coins first,
//! then from the resident's sales not yet locked for a payout (passed as remaining accounts),
//! and what is missing becomes the resident's debt, which blocks selling and is repaid first
//! from later purchases and earnings. The processor's running totals make each event apply
//! once (`Receipt::claw_back`), whatever order and however often they arrive.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::{burn_coins, burn_escrowed};
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, PurchaseClawedBack};
use crate::state::{Clawback, Grid, Receipt, Resident, Sale};

#[derive(Accounts)]
#[instruction(payment_id: String)]
pub struct ClawBack<'info> {
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
    #[account(mut, address = grid.escrow @ EnergyError::WrongCoinAccount)]
    pub escrow: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.mint @ EnergyError::WrongCoinAccount)]
    pub mint: Box<Account<'info, Mint>>,
    pub token_program: Program<'info, Token>,
}

pub fn handler<'info>(
    ctx: Context<'info, ClawBack<'info>>,
    payment_id: String,
    kind: Clawback,
    total_cents: u64,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let program_id = ctx.program_id;
    let remaining = ctx.remaining_accounts;
    let accounts = &mut *ctx.accounts;
    let units = accounts.receipt.claw_back(kind, total_cents)?;

    // The resident's coins first.
    let from_coins_units = units.min(accounts.coins.amount);
    burn_coins(
        &accounts.grid,
        &accounts.mint,
        &accounts.coins,
        from_coins_units,
    )?;
    let mut rest = units - from_coins_units;

    // Then the sales the resident signed and may still cancel, in the order given.
    let resident_key = accounts.resident.key();
    let grid_key = accounts.grid.key();
    let mut from_sales_units = 0;
    for info in remaining {
        if rest == 0 {
            break;
        }
        require!(info.is_writable, EnergyError::WrongSale);
        require_keys_eq!(*info.owner, *program_id, EnergyError::WrongSale);
        let mut sale =
            Account::<Sale>::try_from(info).map_err(|_| error!(EnergyError::WrongSale))?;
        require!(
            sale.grid == grid_key && sale.resident == resident_key,
            EnergyError::WrongSale
        );
        let taken = sale.claw_back(rest, now)?;
        accounts.resident.release_escrow(taken)?;
        burn_escrowed(
            &mut accounts.grid,
            &accounts.mint,
            &mut accounts.escrow,
            taken,
        )?;
        sale.invariant()?;
        sale.exit(program_id)?;
        from_sales_units += taken;
        rest -= taken;
    }

    // What is missing is owed.
    accounts.resident.owe(rest)?;
    accounts.coins.reload()?;
    accounts
        .resident
        .spend_held_first(accounts.coins.amount, now);
    emit(PurchaseClawedBack {
        resident: resident_key,
        payment_id,
        dispute: kind == Clawback::Dispute,
        total_cents,
        units,
        from_coins_units,
        from_sales_units,
        debt_units: rest,
    });
    accounts.grid.invariant()?;
    accounts.resident.invariant()
}
