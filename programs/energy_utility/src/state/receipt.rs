//! Proof that one payment processor event (or one payout lock) was applied: a repeated
//! webhook finds it and stops.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;

/// What a processor event did on chain.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum FiatKind {
    /// Dollars paid in: coins minted to the resident.
    Bought,
    /// A payout paid: its locked coins burned.
    Sold,
    /// Escrowed coins locked for a payout about to be created.
    Locked,
    /// A failed payout: its locked coins returned to the resident.
    Returned,
}

#[account]
#[derive(InitSpace)]
pub struct Receipt {
    pub grid: Pubkey,
    pub resident: Pubkey,
    #[max_len(MAX_ID_LEN)]
    pub payment_id: String,
    pub kind: FiatKind,
    /// Positive for dollars paid in, negative for dollars paid out (`Sold`, `Locked`,
    /// `Returned` carry the payout's amount as a negative number).
    pub amount_cents: i64,
    pub coin_units: u64,
    pub applied_ts: i64,
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
}
