//! Proof that one payment processor purchase was applied: a repeated webhook finds it and
//! stops. Kept for the grid's receipt retention, then closable, its rent back to its payer.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;
use crate::state::validate_payment_id;

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
    /// The grid's receipt retention when the payment applied: the receipt is kept at least
    /// that long, whatever the retention becomes.
    pub retention_seconds: u32,
    pub bump: u8,
}

/// A purchase as the payment processor's webhook reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub amount_cents: u64,
    /// When the processor says the payment happened.
    pub event_ts: i64,
}

impl Receipt {
    /// The receipt of `payment`, applied at `applied_ts` as `coin_units` minted to `resident`,
    /// under a retention of `retention_seconds`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        grid: Pubkey,
        resident: Pubkey,
        payment: Payment,
        coin_units: u64,
        applied_ts: i64,
        rent_payer: Pubkey,
        retention_seconds: u32,
        bump: u8,
    ) -> Self {
        Self {
            grid,
            resident,
            payment_id: payment.id,
            amount_cents: payment.amount_cents,
            coin_units,
            event_ts: payment.event_ts,
            applied_ts,
            rent_payer,
            retention_seconds,
            bump,
        }
    }

    /// The id names a receipt (1 to 32 bytes) that was never written: the first delivery of a
    /// payment passes, every later one fails with `PaymentAlreadyProcessed`.
    pub fn check_unused(&self, payment_id: &str) -> Result<()> {
        validate_payment_id(payment_id)?;
        require!(
            self.grid == Pubkey::default(),
            EnergyError::PaymentAlreadyProcessed
        );
        Ok(())
    }

    /// Once a delivery of this payment would be refused as too old, the receipt can go:
    /// `retention_seconds` after the payment (the longer of its own and the grid's retention).
    pub fn closable_at(&self, now: i64, retention_seconds: u32) -> bool {
        self.event_ts
            .checked_add(retention_seconds as i64)
            .is_some_and(|end| now > end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::refused;

    fn payment(id: &str) -> Payment {
        Payment {
            id: id.to_string(),
            amount_cents: 100,
            event_ts: 1_000,
        }
    }

    fn receipt() -> Receipt {
        Receipt::new(
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            payment("evt_1"),
            10_000_000,
            1_005,
            Pubkey::new_unique(),
            4 * 86_400,
            254,
        )
    }

    fn unwritten() -> Receipt {
        Receipt::try_deserialize_unchecked(&mut &[0u8; 8 + Receipt::INIT_SPACE][..]).unwrap()
    }

    #[test]
    fn a_new_receipt_records_the_payment_and_its_coins() {
        let r = receipt();
        assert_eq!(r.payment_id, "evt_1");
        assert_eq!((r.amount_cents, r.coin_units), (100, 10_000_000));
        assert_eq!((r.event_ts, r.applied_ts, r.bump), (1_000, 1_005, 254));
    }

    #[test]
    fn an_unwritten_receipt_takes_its_first_payment() {
        unwritten().check_unused("evt_1").unwrap();
        unwritten().check_unused(&"x".repeat(MAX_ID_LEN)).unwrap();
    }

    #[test]
    fn a_written_receipt_refuses_the_payment_again() {
        refused(
            receipt().check_unused("evt_1"),
            EnergyError::PaymentAlreadyProcessed,
        );
    }

    #[test]
    fn a_payment_id_must_be_1_to_32_bytes() {
        for id in [String::new(), "x".repeat(MAX_ID_LEN + 1)] {
            refused(unwritten().check_unused(&id), EnergyError::InvalidPaymentId);
        }
    }

    #[test]
    fn a_receipt_is_closable_only_after_its_retention() {
        let r = receipt();
        assert!(!r.closable_at(1_000 + 100, 100));
        assert!(r.closable_at(1_000 + 101, 100));
    }
}
