//! The processor paid a sale's payout: the coins locked for it are burned, exactly the units
//! the lock recorded. Once per sale; a `paid` arriving after the payout failed changes nothing
//! (`PayoutAlreadyFailed`): the failure is the processor's last word.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::coins::burn_escrowed;
use crate::error::EnergyError;
use crate::events::{emit, SalePaid};
use crate::state::{Grid, Resident, Sale};

#[derive(Accounts)]
pub struct PayoutPaid<'info> {
    pub oracle: Signer<'info>,
    #[account(
        mut,
        constraint = grid.is_oracle_now(&oracle.key()) @ EnergyError::NotGridOracle,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(mut, has_one = grid @ EnergyError::WrongGrid)]
    pub resident: Box<Account<'info, Resident>>,
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

pub fn handler(ctx: Context<PayoutPaid>, payout_id: String) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    accounts.grid.roll_changes(now)?;
    let sale = &mut accounts.sale;
    sale.record_paid(&payout_id, now)?;
    accounts.resident.unlock(sale.units)?;
    let grid = &mut accounts.grid;
    burn_escrowed(grid, &accounts.mint, &mut accounts.escrow, sale.units)?;
    emit(SalePaid {
        resident: accounts.resident.key(),
        sale: sale.key(),
        payout_id,
        cents: sale.cents,
        burned_units: sale.units,
    });
    grid.invariant()?;
    accounts.resident.invariant()?;
    sale.invariant()
}
