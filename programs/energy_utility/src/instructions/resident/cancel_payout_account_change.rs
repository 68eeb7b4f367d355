//! A resident withdraws a change of payout account before its notice ends: the account in force
//! stays.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, PayoutAccountChangeCancelled};
use crate::state::{Grid, Resident};

#[derive(Accounts)]
pub struct CancelPayoutAccountChange<'info> {
    pub authority: Signer<'info>,
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = authority @ EnergyError::NotResidentOwner,
    )]
    pub resident: Box<Account<'info, Resident>>,
}

pub fn handler(ctx: Context<CancelPayoutAccountChange>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let resident = &mut ctx.accounts.resident;
    let account = resident.cancel_payout_change(now)?;
    emit(PayoutAccountChangeCancelled {
        resident: resident.key(),
        account,
    });
    resident.invariant()
}
