//! A resident: a wallet registered under a human-readable id, with its coin account.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;

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
    /// Coins set aside in the grid's escrow to be sold for dollars; the resident may take
    /// them back (`cancel_withdrawal`) until the oracle locks them for a payout.
    pub escrow_units: u64,
    /// Escrowed coins the oracle locked for payouts in flight: each payout burns its coins
    /// when paid (`add_fiat` with a negative amount) or returns them when it fails.
    pub locked_units: u64,
    /// Registration order within the grid, for enumeration.
    pub index: u32,
    pub bump: u8,
}
