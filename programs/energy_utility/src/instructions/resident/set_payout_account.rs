//! A resident binds the processor account its sales are paid to (Stripe: the Connect account it
//! onboarded), by its own signature. The first binding applies at once; a change applies only
//! after the grid's payout notice (48 hours by default), during which the resident sees it and
//! can cancel it: a stolen session or a phishing link cannot redirect the next payout at once.
//! Binding the account in force again withdraws a change that waits.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::events::{emit, PayoutAccountSet};
use crate::state::{Grid, PayoutBinding, Resident};

#[derive(Accounts)]
pub struct SetPayoutAccount<'info> {
    pub authority: Signer<'info>,
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = authority @ EnergyError::NotResidentOwner,
    )]
    pub resident: Box<Account<'info, Resident>>,
}

pub fn handler(ctx: Context<SetPayoutAccount>, account: String) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let notice = ctx
        .accounts
        .grid
        .payment_rules_at(now)
        .payout_notice_seconds;
    let resident = &mut ctx.accounts.resident;
    let effective_ts = match resident.bind_payout_account(&account, now, notice)? {
        PayoutBinding::Bound | PayoutBinding::Withdrawn => now,
        PayoutBinding::Pending(at) => at,
    };
    emit(PayoutAccountSet {
        resident: resident.key(),
        account,
        effective_ts,
    });
    resident.invariant()
}
