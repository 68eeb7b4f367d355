//! Closes a retired meter once the crank has settled every reading it reported: what is left
//! on it goes to its owner, any debt it ran up is written off (producers were already paid
//! without it), and the rent of the meter and of its directory entry goes back to whoever paid
//! it. The meter's id can then be registered again.

use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::coins::pay_out_of_vault;
use crate::constants::*;
use crate::error::EnergyError;
use crate::events::{emit, MeterClosed};
use crate::state::{DirectoryEntry, Grid, Meter, Resident};

#[derive(Accounts)]
pub struct CloseMeter<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        has_one = admin @ EnergyError::NotGridAdmin,
        constraint = !grid.paused @ EnergyError::GridPaused,
    )]
    pub grid: Box<Account<'info, Grid>>,
    #[account(
        mut,
        has_one = grid @ EnergyError::WrongGrid,
        has_one = owner @ EnergyError::WrongMeterOwner,
        has_one = rent_payer @ EnergyError::WrongRentPayer,
        constraint = !meter.active @ EnergyError::MeterStillActive,
        constraint = !meter.has_pending_readings() @ EnergyError::MeterHasPendingReadings,
        close = rent_payer,
    )]
    pub meter: Box<Account<'info, Meter>>,
    #[account(
        mut,
        seeds = [METER_INDEX_SEED, grid.key().as_ref(), &meter.index.to_le_bytes()],
        bump = meter_entry.bump,
        constraint = meter_entry.target == meter.key() @ EnergyError::WrongGrid,
        close = rent_payer,
    )]
    pub meter_entry: Box<Account<'info, DirectoryEntry>>,
    #[account(mut, has_one = coins @ EnergyError::WrongCoinAccount)]
    pub owner: Box<Account<'info, Resident>>,
    #[account(mut)]
    pub coins: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = grid.vault @ EnergyError::WrongCoinAccount)]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// CHECK: receives the rent; checked against the meter's recorded payer by `has_one`.
    #[account(mut)]
    pub rent_payer: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

pub fn handler(ctx: Context<CloseMeter>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let meter = &mut accounts.meter;
    let refunded_units = meter.take_uncommitted();
    accounts.owner.remove_meter()?;
    pay_out_of_vault(
        &mut accounts.grid,
        &mut accounts.vault,
        &accounts.coins,
        refunded_units,
    )?;
    emit(MeterClosed {
        meter: meter.key(),
        owner: accounts.owner.key(),
        refunded_units,
        forgiven_debt_units: meter.debt_units,
        rent_payer: accounts.rent_payer.key(),
    });
    // The meter account closes: the grid and the owner keep the books.
    accounts.owner.invariant()?;
    accounts.grid.invariant()
}
