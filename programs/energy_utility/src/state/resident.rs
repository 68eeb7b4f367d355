//! A resident: a wallet registered under a human-readable id, with its coin account and the
//! books of its sales.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;
use crate::math::{SafeAdd, SafeSub};

#[account]
#[derive(InitSpace)]
pub struct Resident {
    pub grid: Pubkey,
    /// The wallet that signs for this resident.
    pub authority: Pubkey,
    #[max_len(MAX_ID_LEN)]
    pub id: String,
    /// The resident's coin account (owned by the grid PDA, moved only by the program).
    pub coins: Pubkey,
    /// Coins of sales the resident requested and may still cancel (Σ `Requested` sales).
    pub escrow_units: u64,
    /// Coins of sales locked for a payout in flight (Σ `Locked` sales): burned when the payout
    /// is paid, returned when it fails or is canceled.
    pub locked_units: u64,
    /// Registration order within the grid, for enumeration.
    pub index: u32,
    /// Sales requested so far: the next sale's number.
    pub sale_count: u32,
    pub bump: u8,
}

impl Resident {
    /// Books a new sale of `units`: set aside, cancellable. Returns the sale's number.
    pub fn set_aside(&mut self, units: u64) -> Result<u32> {
        self.escrow_units = self.escrow_units.safe_add(units)?;
        let number = self.sale_count;
        self.sale_count = number.safe_add(1)?;
        Ok(number)
    }

    /// A requested sale cancelled: its coins go back to the resident.
    pub fn cancel(&mut self, units: u64) -> Result<()> {
        self.escrow_units = self
            .escrow_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        Ok(())
    }

    /// A requested sale locked for a payout: no longer cancellable.
    pub fn lock(&mut self, units: u64) -> Result<()> {
        self.cancel(units)?;
        self.locked_units = self.locked_units.safe_add(units)?;
        Ok(())
    }

    /// A locked sale's payout ended (paid: burned; failed: returned).
    pub fn unlock(&mut self, units: u64) -> Result<()> {
        self.locked_units = self
            .locked_units
            .safe_sub(units, EnergyError::VaultShortfall)?;
        Ok(())
    }
}
