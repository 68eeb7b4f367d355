//! A grid's directories: entry n points at the n-th registered meter or resident, so clients
//! can list a grid's members from its counters without `getProgramAccounts`.

use anchor_lang::prelude::*;

#[account]
#[derive(InitSpace)]
pub struct DirectoryEntry {
    pub grid: Pubkey,
    /// The meter or resident account this entry lists.
    pub target: Pubkey,
    pub bump: u8,
}

/// Entry `index` of the grid's lookup tables: the address lookup table that lists the grid's
/// meters `index * METERS_PER_LOOKUP_TABLE ..`, in registration order. Settlement transactions
/// name their meters through it (one byte each instead of 32). The table only compresses
/// addresses: every meter it yields is checked by `settle` like any other.
#[account]
#[derive(InitSpace)]
pub struct LookupTableEntry {
    pub grid: Pubkey,
    pub table: Pubkey,
    pub index: u32,
    pub bump: u8,
}
