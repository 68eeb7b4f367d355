//! One sale of a resident's coins for dollars: requested and signed by the resident (coins set
//! aside, a payout destination committed), locked by the oracle for a payout of the dollars the
//! coins are worth at that moment, then ended by the payout: paid (coins burned), failed or
//! canceled (coins returned), or reversed after it was paid (coins given back). Each step
//! happens once; the recorded units and cents, not today's price, decide every later step.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;
use crate::state::validate_payment_id;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum SaleStatus {
    /// Set aside by the resident; they may still cancel it.
    Requested,
    /// Locked by the oracle for a payout of `cents`; the resident can no longer cancel.
    Locked,
    /// The payout was paid: the coins are burned. A later failure reverses it.
    Paid,
    /// The payout failed or was canceled: the coins went back to the resident.
    Returned,
    /// The payout failed after it was paid: the burned coins were given back.
    Reversed,
    /// A refund or a dispute of the coins' purchase took them back before the sale was locked.
    ClawedBack,
}

/// What a payout failure did to a sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutFailure {
    /// The coins were still locked: they go back from the escrow.
    Returned,
    /// The coins were already burned: the same units are minted back.
    Reversed,
}

#[account]
#[derive(InitSpace)]
pub struct Sale {
    pub grid: Pubkey,
    pub resident: Pubkey,
    /// The resident's n-th sale (the PDA's seed).
    pub number: u32,
    /// Who paid this account's rent (the resident's wallet); closing returns it.
    pub rent_payer: Pubkey,
    pub status: SaleStatus,
    /// Where the dollars go: the processor account the resident had bound when they signed
    /// the sale (Stripe: their Connect account, paid by transfer).
    #[max_len(crate::constants::MAX_PAYOUT_ACCOUNT_LEN)]
    pub destination: String,
    /// The coins sold.
    pub units: u64,
    /// The least the resident accepts for them, as they signed it: a lock for less is refused.
    pub min_cents: u64,
    /// Set when locked: the dollars the payout pays, and the coin price they were computed at.
    pub cents: u64,
    pub coin_price_cents: u64,
    /// Set by the payout's first outcome: the processor's payout id.
    #[max_len(MAX_ID_LEN)]
    pub payout_id: String,
    pub requested_ts: i64,
    pub locked_ts: i64,
    /// When the payout ended (paid, returned or reversed).
    pub ended_ts: i64,
    /// The grid's receipt retention when the sale was requested: the sale is kept at least
    /// that long after it ends, whatever the retention becomes.
    pub retention_seconds: u32,
    pub bump: u8,
}

impl Sale {
    pub fn lock(&mut self, cents: u64, price: u64, now: i64) -> Result<()> {
        require!(
            self.status == SaleStatus::Requested,
            EnergyError::SaleNotRequested
        );
        let worth = crate::math::payout_cents_floor(self.units, price)
            .ok_or(EnergyError::AmountTooLarge)?;
        require!(worth > 0, EnergyError::AmountBelowOneCent);
        require!(cents == worth, EnergyError::QuoteMismatch);
        require!(cents >= self.min_cents, EnergyError::PriceFellSinceSale);
        self.status = SaleStatus::Locked;
        self.cents = cents;
        self.coin_price_cents = price;
        self.locked_ts = now;
        Ok(())
    }

    /// The payout serving this sale is `payout_id`: the first outcome names it, later ones
    /// must repeat it.
    fn bind_payout(&mut self, payout_id: &str) -> Result<()> {
        validate_payment_id(payout_id)?;
        if self.payout_id.is_empty() {
            self.payout_id = payout_id.to_string();
        }
        require!(self.payout_id == payout_id, EnergyError::WrongPayout);
        Ok(())
    }

    /// The payout was paid: its coins are to be burned.
    pub fn record_paid(&mut self, payout_id: &str, now: i64) -> Result<()> {
        match self.status {
            SaleStatus::Requested | SaleStatus::ClawedBack => {
                return err!(EnergyError::SaleNotLocked)
            }
            SaleStatus::Paid => {
                self.bind_payout(payout_id)?;
                return err!(EnergyError::PaymentAlreadyProcessed);
            }
            SaleStatus::Returned | SaleStatus::Reversed => {
                self.bind_payout(payout_id)?;
                return err!(EnergyError::PayoutAlreadyFailed);
            }
            SaleStatus::Locked => {}
        }
        self.bind_payout(payout_id)?;
        self.status = SaleStatus::Paid;
        self.ended_ts = now;
        Ok(())
    }

    /// The payout failed or was canceled, before or after it was paid.
    pub fn record_failed(&mut self, payout_id: &str, now: i64) -> Result<PayoutFailure> {
        let failure = match self.status {
            SaleStatus::Requested | SaleStatus::ClawedBack => {
                return err!(EnergyError::SaleNotLocked)
            }
            SaleStatus::Returned | SaleStatus::Reversed => {
                self.bind_payout(payout_id)?;
                return err!(EnergyError::PaymentAlreadyProcessed);
            }
            SaleStatus::Locked => PayoutFailure::Returned,
            SaleStatus::Paid => PayoutFailure::Reversed,
        };
        self.bind_payout(payout_id)?;
        self.status = match failure {
            PayoutFailure::Returned => SaleStatus::Returned,
            PayoutFailure::Reversed => SaleStatus::Reversed,
        };
        self.ended_ts = now;
        Ok(failure)
    }

    /// A refund or dispute takes up to `units` of this requested sale's coins back; returns
    /// the units taken. A sale taken whole ends (`ClawedBack`); the least accepted shrinks with
    /// the coins.
    pub fn claw_back(&mut self, units: u64, now: i64) -> Result<u64> {
        require!(
            self.status == SaleStatus::Requested,
            EnergyError::SaleNotRequested
        );
        let taken = units.min(self.units);
        let left = self.units - taken;
        self.min_cents = crate::math::mul_div_floor(self.min_cents, left, self.units)
            .ok_or(EnergyError::MathOverflow)?;
        self.units = left;
        if left == 0 {
            self.status = SaleStatus::ClawedBack;
            self.ended_ts = now;
        }
        Ok(taken)
    }

    /// A sale holds coins, and once locked it keeps the dollars and the price its payout was
    /// computed at.
    pub fn invariant(&self) -> Result<()> {
        require!(
            self.units > 0 || self.status == SaleStatus::ClawedBack,
            EnergyError::ZeroAmount
        );
        let never_locked = matches!(self.status, SaleStatus::Requested | SaleStatus::ClawedBack);
        require!(
            never_locked || (self.cents > 0 && self.coin_price_cents > 0),
            EnergyError::AmountBelowOneCent
        );
        Ok(())
    }

    /// An ended sale may be closed once late events about it would be refused anyway:
    /// `retention_seconds` after it ended (the longer of its own and the grid's retention).
    pub fn closable_at(&self, now: i64, retention_seconds: u32) -> bool {
        let ended = matches!(
            self.status,
            SaleStatus::Paid | SaleStatus::Returned | SaleStatus::Reversed | SaleStatus::ClawedBack
        );
        ended
            && self
                .ended_ts
                .checked_add(retention_seconds as i64)
                .is_some_and(|end| now > end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::refused;

    fn requested(units: u64) -> Sale {
        Sale {
            grid: Pubkey::new_unique(),
            resident: Pubkey::new_unique(),
            number: 0,
            rent_payer: Pubkey::new_unique(),
            status: SaleStatus::Requested,
            destination: "acct_1".into(),
            units,
            min_cents: 0,
            cents: 0,
            coin_price_cents: 0,
            payout_id: String::new(),
            requested_ts: 1,
            locked_ts: 0,
            ended_ts: 0,
            retention_seconds: 4 * 86_400,
            bump: 255,
        }
    }

    #[test]
    fn a_sale_is_locked_at_its_worth_then_paid_once() {
        let mut sale = requested(2_000_000);
        sale.invariant().unwrap();
        sale.lock(20, 10, 2).unwrap();
        sale.invariant().unwrap();
        sale.record_paid("po_1", 3).unwrap();
        sale.invariant().unwrap();
        refused(
            sale.record_paid("po_1", 4),
            EnergyError::PaymentAlreadyProcessed,
        );
        refused(sale.record_failed("po_2", 4), EnergyError::WrongPayout);
    }

    #[test]
    fn a_payout_id_must_be_1_to_32_bytes() {
        let mut sale = requested(2_000_000);
        sale.lock(20, 10, 2).unwrap();
        refused(sale.record_paid("", 3), EnergyError::InvalidPaymentId);
        refused(
            sale.record_failed(&"x".repeat(MAX_ID_LEN + 1), 3),
            EnergyError::InvalidPaymentId,
        );
        assert_eq!(sale.status, SaleStatus::Locked);
    }

    #[test]
    fn the_invariant_refuses_a_sale_of_nothing() {
        refused(requested(0).invariant(), EnergyError::ZeroAmount);
    }

    #[test]
    fn the_invariant_refuses_a_locked_sale_without_its_quote() {
        let mut sale = requested(2_000_000);
        sale.status = SaleStatus::Locked;
        refused(sale.invariant(), EnergyError::AmountBelowOneCent);
        sale.cents = 20;
        refused(sale.invariant(), EnergyError::AmountBelowOneCent);
        sale.coin_price_cents = 10;
        sale.invariant().unwrap();
    }

    #[test]
    fn a_lock_below_the_least_the_resident_accepted_is_refused() {
        let mut sale = requested(2_000_000);
        sale.min_cents = 20;
        // The price fell from $0.10 to $0.05: 2 k are worth $0.10, less than the $0.20 accepted.
        refused(sale.lock(10, 5, 2), EnergyError::PriceFellSinceSale);
        assert_eq!(sale.status, SaleStatus::Requested);
        // At $0.12 they are worth $0.24: more than accepted, locked.
        sale.lock(24, 12, 2).unwrap();
        assert_eq!((sale.cents, sale.coin_price_cents), (24, 12));
    }
}
