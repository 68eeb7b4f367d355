//! Any resident moves coins from their own account to any consumer meter's prepaid balance.
//! A meter in debt repays the grid's share of the funding (all of it by default; that part
//! goes to the pool, for producers); a meter that can now draw power is reconnected. The
//! funding ends the meter's top-up cycle: an emergency credit taken is over.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::move_coins;
use crate::error::EnergyError;
use crate::events::{emit, MeterFunded};
use crate::state::{Grid, Meter, Resident};

#[derive(Accounts)]
pub struct Fund<'info> {
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
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        constraint = meter.is_consumer() @ EnergyError::NotConsumerMeter,
        constraint = meter.active @ EnergyError::MeterInactive,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.pool @ EnergyError::WrongCoinAccount)]
    pub pool: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl Fund<'_> {
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
pub fn handler(ctx: Context<Fund>, amount_units: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    let epoch = accounts.grid.epoch_at(now)?;
    let params = accounts.grid.params_for(epoch);
    let meter = &mut accounts.meter;
    let old_balance_units = meter.balance_units;
    let debt_repaid_units = meter.fund(amount_units, &params.credit)?;
    let deposited_units = amount_units - debt_repaid_units;

    let grid = &mut accounts.grid;
    grid.credit_meters(deposited_units)?;
    grid.carry_repaid_debt(debt_repaid_units)?;

    move_coins(grid, &accounts.coins, &accounts.vault, deposited_units)?;
    move_coins(grid, &accounts.coins, &accounts.pool, debt_repaid_units)?;
    accounts.vault.reload()?;
    accounts.pool.reload()?;
    grid.check_vault(accounts.vault.amount)?;
    grid.check_pool(accounts.pool.amount)?;
    // Coins bought by card fund meters at once: the held ones are spent first.
    accounts.coins.reload()?;
    accounts
        .resident
        .spend_held_first(accounts.coins.amount, now);

    emit(MeterFunded {
        meter: meter.key(),
        funder: accounts.resident.key(),
        amount_units,
        debt_repaid_units,
        old_balance_units,
        new_balance_units: meter.balance_units,
    });
    // Ending an emergency credit can leave a small funding short of the power: told as any
    // disconnection.
    crate::instructions::gateway::report::decide_and_tell(meter, epoch, params.is_friendly(now));
    grid.invariant()?;
    meter.invariant()
}
