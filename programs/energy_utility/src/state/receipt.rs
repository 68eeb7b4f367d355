//! Proof that one payment processor event was applied: a repeated webhook finds it and stops.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;

#[account]
#[derive(InitSpace)]
pub struct Receipt {
    pub grid: Pubkey,
    pub resident: Pubkey,
    #[max_len(MAX_ID_LEN)]
    pub payment_id: String,
    pub amount_cents: i64,
    pub coin_units: u64,
    pub applied_ts: i64,
    pub bump: u8,
}
