//! Proof that one payment processor purchase was applied: a repeated webhook finds it and
//! stops. Kept for the grid's receipt retention, then closable, its rent back to its payer.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;

#[account]
#[derive(InitSpace)]
pub struct Receipt {
    pub grid: Pubkey,
    pub resident: Pubkey,
    #[max_len(MAX_ID_LEN)]
    pub payment_id: String,
    /// Dollars paid in, in cents.
    pub amount_cents: u64,
    pub coin_units: u64,
    /// When the processor says the payment happened (the event's time).
    pub event_ts: i64,
    pub applied_ts: i64,
    /// Who paid the rent (the oracle); closing returns it.
    pub rent_payer: Pubkey,
    pub bump: u8,
}

impl Receipt {
    /// The id names a receipt (1 to 32 bytes) that was never written: the first delivery of a
    /// payment passes, every later one fails with `PaymentAlreadyProcessed`.
    pub fn check_unused(&self, payment_id: &str) -> Result<()> {
        require!(
            !payment_id.is_empty() && payment_id.len() <= MAX_ID_LEN,
            EnergyError::InvalidPaymentId
        );
        require!(
            self.grid == Pubkey::default(),
            EnergyError::PaymentAlreadyProcessed
        );
        Ok(())
    }

    /// Once a delivery of this payment would be refused as too old, the receipt can go.
    pub fn closable_at(&self, now: i64, retention_seconds: u32) -> bool {
        self.event_ts
            .checked_add(retention_seconds as i64)
            .is_some_and(|end| now > end)
    }
}
