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
