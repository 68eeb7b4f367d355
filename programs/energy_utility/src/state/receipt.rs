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
    /// Cents the processor refunded so far (cumulative, as its charge says).
    pub refunded_cents: u64,
    /// Cents under a dispute the utility has not won (0 once won).
    pub disputed_cents: u64,
    /// Coins taken back for refunds and disputes so far: the coins the refunded and disputed
    /// cents bought.
    pub clawed_units: u64,
    /// The charge's dispute was won (a charge is disputed once): a dispute delivered again, or
    /// late, takes nothing more.
    pub dispute_won: bool,
    pub bump: u8,
}

/// Why the processor took a purchase's dollars back.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clawback {
    /// Refunded to the card, in all or in part.
    Refund,
    /// Disputed by the card holder (taken back until the dispute is won).
    Dispute,
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
            refunded_cents: 0,
            disputed_cents: 0,
            clawed_units: 0,
            dispute_won: false,
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

    /// The coins `cents` of this purchase bought, rounded up (a refund of the whole purchase
    /// takes back all of them).
    pub fn units_for(&self, cents: u64) -> Result<u64> {
        if cents >= self.amount_cents {
            return Ok(self.coin_units);
        }
        crate::math::mul_div_ceil(self.coin_units, cents, self.amount_cents)
            .ok_or_else(|| error!(EnergyError::MathOverflow))
    }

    /// The processor refunded (or a card holder disputed) `total_cents` of this purchase so
    /// far: the totals are the processor's, so a repeated event changes nothing
    /// (`PaymentAlreadyProcessed`). Returns the coins to take back now.
    pub fn claw_back(&mut self, kind: Clawback, total_cents: u64) -> Result<u64> {
        require!(
            kind == Clawback::Refund || !self.dispute_won,
            EnergyError::PaymentAlreadyProcessed
        );
        let (refunded, disputed) = match kind {
            Clawback::Refund => (total_cents, self.disputed_cents),
            Clawback::Dispute => (self.refunded_cents, total_cents),
        };
        let seen = match kind {
            Clawback::Refund => self.refunded_cents,
            Clawback::Dispute => self.disputed_cents,
        };
        require!(total_cents > seen, EnergyError::PaymentAlreadyProcessed);
        require!(
            refunded.saturating_add(disputed) <= self.amount_cents,
            EnergyError::ClawbackBeyondPurchase
        );
        let target = self.units_for(refunded + disputed)?;
        let take = target.saturating_sub(self.clawed_units);
        self.refunded_cents = refunded;
        self.disputed_cents = disputed;
        self.clawed_units = self.clawed_units.max(target);
        Ok(take)
    }

    /// The utility won the dispute: the disputed cents are the resident's again. Returns the
    /// coins to give back. Once per charge, whichever of the dispute's events arrives first: a
    /// win recorded before its dispute leaves that dispute nothing to take.
    pub fn restore_dispute(&mut self) -> Result<u64> {
        require!(!self.dispute_won, EnergyError::PaymentAlreadyProcessed);
        self.dispute_won = true;
        self.disputed_cents = 0;
        let target = self.units_for(self.refunded_cents)?;
        let give = self.clawed_units.saturating_sub(target);
        self.clawed_units = target;
        Ok(give)
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

    #[test]
    fn refunds_and_disputes_take_back_what_their_cents_bought_once() {
        // $1.00 bought 10 k.
        let mut r = receipt();
        assert_eq!(r.claw_back(Clawback::Refund, 30).unwrap(), 3_000_000);
        // The same refund total again: nothing more.
        refused(
            r.claw_back(Clawback::Refund, 30),
            EnergyError::PaymentAlreadyProcessed,
        );
        // A second partial refund: the total is 50 cents, 2 k more.
        assert_eq!(r.claw_back(Clawback::Refund, 50).unwrap(), 2_000_000);
        // The rest disputed: the other 5 k.
        assert_eq!(r.claw_back(Clawback::Dispute, 50).unwrap(), 5_000_000);
        assert_eq!(r.clawed_units, 10_000_000);
        refused(
            r.claw_back(Clawback::Refund, 60),
            EnergyError::ClawbackBeyondPurchase,
        );
        // The dispute won: its 5 k come back, once; the dispute delivered again takes nothing.
        assert_eq!(r.restore_dispute().unwrap(), 5_000_000);
        refused(r.restore_dispute(), EnergyError::PaymentAlreadyProcessed);
        refused(
            r.claw_back(Clawback::Dispute, 50),
            EnergyError::PaymentAlreadyProcessed,
        );
        assert_eq!((r.clawed_units, r.disputed_cents), (5_000_000, 0));
        // Refunds still count.
        assert_eq!(r.claw_back(Clawback::Refund, 60).unwrap(), 1_000_000);
    }

    #[test]
    fn a_dispute_won_before_its_dispute_arrives_leaves_it_nothing_to_take() {
        // The processor does not order its events: "closed, won" may come first.
        let mut r = receipt();
        assert_eq!(r.restore_dispute().unwrap(), 0);
        refused(
            r.claw_back(Clawback::Dispute, 100),
            EnergyError::PaymentAlreadyProcessed,
        );
        assert_eq!((r.clawed_units, r.disputed_cents), (0, 0));
    }

    #[test]
    fn a_partial_refund_rounds_the_coins_it_takes_up() {
        let mut r = receipt();
        r.coin_units = 10;
        r.amount_cents = 3;
        assert_eq!(r.claw_back(Clawback::Refund, 1).unwrap(), 4);
        assert_eq!(r.claw_back(Clawback::Refund, 3).unwrap(), 6);
        assert_eq!(r.clawed_units, 10);
    }
}
