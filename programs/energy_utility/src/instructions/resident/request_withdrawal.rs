//! A resident sells coins for dollars: they sign which coins and the least they accept for them;
//! the dollars go to the payout account the resident bound (never to one a link names). The
//! coins move to the grid's escrow and a sale account records the request; only a payout of
//! at least that much to that account can take them, and until the oracle locks them for one,
//! the resident may cancel. Coins bought by card are sold only once their hold has passed, and
//! nothing while the resident owes coins a refund or dispute took back.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::hold_in_escrow;
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, SaleRequested};
use crate::math::payout_cents_floor;
use crate::state::{Grid, Resident, Sale, SaleStatus};

#[derive(Accounts)]
pub struct RequestWithdrawal<'info> {
    /// The resident's wallet: signs the sale.
    pub authority: Signer<'info>,
    /// Pays the sale account's rent (the wallet, or a utility sponsoring it), returned when the
    /// sale is cancelled or closed.
    #[account(mut)]
    pub payer: Signer<'info>,
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
        init,
        payer = payer,
        space = 8 + Sale::INIT_SPACE,
        seeds = [
            SALE_SEED,
            resident.key().as_ref(),
            &resident.index.to_le_bytes(),
            &resident.sale_count.to_le_bytes(),
        ],
        bump,
    )]
    pub sale: Box<Account<'info, Sale>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl RequestWithdrawal<'_> {
    pub fn validate(&self, amount_units: u64, min_cents: u64) -> Result<()> {
        require!(amount_units > 0, EnergyError::ZeroAmount);
        // A floor the coins cannot reach today would leave the sale waiting for a price rise.
        let now = Clock::get()?.unix_timestamp;
        let worth = payout_cents_floor(amount_units, self.grid.coin_price_at(now))
            .ok_or(EnergyError::AmountTooLarge)?;
        require!(min_cents <= worth, EnergyError::MinimumAboveWorth);
        require!(self.resident.debt_units == 0, EnergyError::ResidentInDebt);
        require!(
            self.coins.amount >= amount_units,
            EnergyError::InsufficientCoins
        );
        self.resident
            .check_sellable(amount_units, self.coins.amount, now)?;
        require!(
            self.resident.payout_account_at(now).is_some(),
            EnergyError::MissingPayoutDestination
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(amount_units, min_cents))]
pub fn handler(ctx: Context<RequestWithdrawal>, amount_units: u64, min_cents: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    let resident = &mut accounts.resident;
    let destination = resident
        .payout_account_at(now)
        .ok_or(EnergyError::MissingPayoutDestination)?
        .to_string();
    let number = resident.set_aside(amount_units)?;
    let grid = &mut accounts.grid;
    accounts.sale.set_inner(Sale {
        grid: grid.key(),
        resident: resident.key(),
        number,
        rent_payer: accounts.payer.key(),
        status: SaleStatus::Requested,
        destination: destination.clone(),
        units: amount_units,
        min_cents,
        cents: 0,
        coin_price_cents: 0,
        payout_id: String::new(),
        requested_ts: now,
        locked_ts: 0,
        ended_ts: 0,
        retention_seconds: grid.oracle_limits_at(now).receipt_retention_seconds,
        bump: ctx.bumps.sale,
    });
    hold_in_escrow(grid, &accounts.coins, &mut accounts.escrow, amount_units)?;
    emit(SaleRequested {
        resident: resident.key(),
        sale: accounts.sale.key(),
        number,
        units: amount_units,
        destination,
        min_cents,
    });
    grid.invariant()?;
    resident.invariant()?;
    accounts.sale.invariant()
}
