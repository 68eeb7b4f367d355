//! Closes an ended sale (paid, returned or reversed) once the grid's receipt retention has
//! passed since it ended, returning its rent to the resident's wallet that paid it.
//! Permissionless. Sale numbers only grow, so a closed sale's address is never used again.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, SaleClosed};
use crate::state::{Grid, Sale};

#[derive(Accounts)]
pub struct CloseSale<'info> {
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        close = rent_payer,
    )]
    pub sale: Box<Account<'info, Sale>>,
    /// CHECK: receives the rent; checked against the sale's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<CloseSale>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let retention = ctx.accounts.grid.oracle_limits.receipt_retention_seconds;
    let sale = &ctx.accounts.sale;
    require!(sale.closable_at(now, retention), EnergyError::SaleStillOpen);
    emit(SaleClosed {
        resident: sale.resident,
        sale: sale.key(),
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    Ok(())
}
