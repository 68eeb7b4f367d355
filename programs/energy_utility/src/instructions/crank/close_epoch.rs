//! Closes a settled epoch's account and returns its rent, in full, to whoever paid it.
//! Permissionless: the crank decides how many settled epochs to keep readable.

use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, EpochClosed};
use crate::state::{Epoch, EpochStatus, Grid};

#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct CloseEpoch<'info> {
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        seeds = [EPOCH_SEED, grid.key().as_ref(), &epoch.to_le_bytes()],
        bump = epoch_account.bump,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        constraint = epoch_account.status == EpochStatus::Settled @ EnergyError::EpochNotSettled,
        close = rent_payer,
    )]
    pub epoch_account: Box<Account<'info, Epoch>>,
    /// CHECK: receives the rent; checked against the epoch's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
}

pub fn handler(ctx: Context<CloseEpoch>, epoch: u64) -> Result<()> {
    emit(EpochClosed {
        grid: ctx.accounts.grid.key(),
        epoch,
        rent_payer: ctx.accounts.rent_payer.key(),
    });
    Ok(())
}
