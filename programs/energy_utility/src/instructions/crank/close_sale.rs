//! Closes an ended sale (paid, returned or reversed) once the receipt retention has passed since
//! it ended (the longer of the one it was requested under and the grid's now, so a payout that
//! can still be reversed keeps its sale), returning its rent to the resident's wallet that paid
//! it. Permissionless. Sale numbers only grow, and a resident registered again under a closed
//! one's id has sales at other addresses, so a closed sale's address is never used again.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, SaleClosed};
use crate::state::{Grid, Resident, Sale};

#[derive(Accounts)]
pub struct CloseSale<'info> {
    pub grid: Box<Account<'info, Grid>>,
    #[account(mut, has_one = grid @ EnergyError::WrongGrid)]
    pub resident: Box<Account<'info, Resident>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = resident @ EnergyError::WrongSale,
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
    let sale = &ctx.accounts.sale;
    let retention = ctx.accounts.grid.retention_for(sale.retention_seconds, now);
    require!(sale.closable_at(now, retention), EnergyError::SaleStillOpen);
    ctx.accounts.resident.close_sale()?;
    emit(SaleClosed {
        resident: sale.resident,
        sale: sale.key(),
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    ctx.accounts.resident.invariant()
}
