//! Closes a purchase's receipt once the receipt retention has passed since the payment (the
//! longer of the one it was made under and the grid's now): by then any delivery of it is
//! refused as too old, so the receipt has nothing left to guard, and its rent goes back, in
//! full, to the oracle that paid it. The grid remembers the latest payment time it closed, and
//! refuses any payment dated at or before it, whatever the retention becomes. Permissionless.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, ReceiptClosed};
use crate::state::{Grid, Receipt};

#[derive(Accounts)]
#[instruction(payment_id: String)]
pub struct CloseReceipt<'info> {
    #[account(mut)]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        seeds = [RECEIPT_SEED, grid.key().as_ref(), id_seed(&payment_id)],
        bump = receipt.bump,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        close = rent_payer,
    )]
    pub receipt: Box<Account<'info, Receipt>>,
    /// CHECK: receives the rent; checked against the receipt's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<CloseReceipt>, payment_id: String) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let receipt = &ctx.accounts.receipt;
    let retention = ctx
        .accounts
        .grid
        .retention_for(receipt.retention_seconds, now);
    // A purchase under dispute keeps its receipt: a dispute won gives its coins back.
    require!(
        receipt.closable_at(now, retention) && receipt.disputed_cents == 0,
        EnergyError::ReceiptStillRetained
    );
    let event_ts = receipt.event_ts;
    ctx.accounts.grid.record_closed_receipt(event_ts);
    emit(ReceiptClosed {
        grid: ctx.accounts.grid.key(),
        payment_id,
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    ctx.accounts.grid.invariant()
}
