//! Records which address lookup table lists the grid's meters `index * 256 ..` (admin). The
//! admin (through the SDK's `Client::sync_lookup_tables`) creates and extends the tables with
//! the meters in registration order; the crank then settles in v0 transactions naming each
//! meter by a one-byte index. A table only compresses addresses: `settle` checks every meter
//! it yields, so a wrong table can make a settlement transaction fail, never settle wrongly.

use anchor_lang::prelude::*;

use crate::constants::{LOOKUP_TABLE_PROGRAM, LOOKUP_TABLE_SEED, METERS_PER_LOOKUP_TABLE};
use crate::error::EnergyError;
use crate::events::{emit, LookupTableRecorded};
use crate::state::{Grid, LookupTableEntry};

#[derive(Accounts)]
#[instruction(index: u32)]
pub struct RecordLookupTable<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(has_one = admin @ EnergyError::NotGridAdmin)]
    pub grid: Box<Account<'info, Grid>>,
    /// CHECK: only its owner is checked: an address lookup table.
    #[account(owner = LOOKUP_TABLE_PROGRAM @ EnergyError::NotALookupTable)]
    pub table: UncheckedAccount<'info>,
    #[account(
        init_if_needed,
        payer = admin,
        space = 8 + LookupTableEntry::INIT_SPACE,
        seeds = [LOOKUP_TABLE_SEED, grid.key().as_ref(), &index.to_le_bytes()],
        bump,
    )]
    pub entry: Box<Account<'info, LookupTableEntry>>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<RecordLookupTable>, index: u32) -> Result<()> {
    let first_meter = u64::from(index) * u64::from(METERS_PER_LOOKUP_TABLE);
    require!(
        first_meter < u64::from(ctx.accounts.grid.meter_count),
        EnergyError::LookupTableBeyondMeters
    );
    let grid = ctx.accounts.grid.key();
    let table = ctx.accounts.table.key();
    let entry = &mut ctx.accounts.entry;
    entry.grid = grid;
    entry.table = table;
    entry.index = index;
    entry.bump = ctx.bumps.entry;
    emit(LookupTableRecorded { grid, index, table });
    Ok(())
}
