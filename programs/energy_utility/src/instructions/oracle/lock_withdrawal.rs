//! Before it asks the processor to pay a resident, the oracle locks the sale for the dollars its
//! coins are worth now, `floor(units × price / 10⁶)` cents, to be paid to the account the sale
//! names (the one the resident had bound when signing). From then on the
//! resident cannot cancel, and the payout's outcome burns or returns exactly these units
//! whatever the price becomes. A sale is locked once, and never for less than the least the
//! resident accepted when signing it.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, SaleLocked};
use crate::state::{Grid, Resident, Sale};

#[derive(Accounts)]
pub struct LockWithdrawal<'info> {
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
}

pub fn handler(ctx: Context<LockWithdrawal>, amount_cents: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let now = Clock::get()?.unix_timestamp;
    accounts.grid.roll_changes(now)?;
    let price = accounts.grid.coin_price_cents;
    let sale = &mut accounts.sale;
    sale.lock(amount_cents, price, now)?;
    accounts.resident.lock(sale.units)?;
    emit(SaleLocked {
        resident: accounts.resident.key(),
        sale: sale.key(),
        units: sale.units,
        cents: sale.cents,
        coin_price_cents: price,
    });
    accounts.grid.invariant()?;
    accounts.resident.invariant()?;
    sale.invariant()
}
