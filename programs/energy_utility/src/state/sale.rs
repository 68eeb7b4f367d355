//! One sale of a resident's coins for dollars: requested and signed by the resident (coins set
//! aside, a payout destination committed), locked by the oracle for a payout of the dollars the
//! coins are worth at that moment, then ended by the payout: paid (coins burned), failed or
//! canceled (coins returned), or reversed after it was paid (coins given back). Each step
//! happens once; the recorded units and cents, not today's price, decide every later step.

use anchor_lang::prelude::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;

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
    /// SHA-256 of where the dollars go (the processor's destination id), as the resident signed it.
    pub destination_hash: [u8; 32],
    /// The coins sold.
    pub units: u64,
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
    pub bump: u8,
}

impl Sale {
    pub fn lock(
        &mut self,
        destination_hash: &[u8; 32],
        cents: u64,
        price: u64,
        now: i64,
    ) -> Result<()> {
        require!(
            self.status == SaleStatus::Requested,
            EnergyError::SaleNotRequested
        );
        require!(
            *destination_hash == self.destination_hash,
            EnergyError::WrongPayoutDestination
        );
        let worth = crate::math::payout_cents_floor(self.units, price)
            .ok_or(EnergyError::AmountTooLarge)?;
        require!(worth > 0, EnergyError::AmountBelowOneCent);
        require!(cents == worth, EnergyError::QuoteMismatch);
        self.status = SaleStatus::Locked;
        self.cents = cents;
        self.coin_price_cents = price;
        self.locked_ts = now;
        Ok(())
    }

    /// The payout serving this sale is `payout_id`: the first outcome names it, later ones
    /// must repeat it.
    fn bind_payout(&mut self, payout_id: &str) -> Result<()> {
        require!(
            !payout_id.is_empty() && payout_id.len() <= MAX_ID_LEN,
            EnergyError::InvalidPaymentId
        );
        if self.payout_id.is_empty() {
            self.payout_id = payout_id.to_string();
        }
        require!(self.payout_id == payout_id, EnergyError::WrongPayout);
        Ok(())
    }

    /// The payout was paid: its coins are to be burned.
    pub fn record_paid(&mut self, payout_id: &str, now: i64) -> Result<()> {
        match self.status {
            SaleStatus::Requested => return err!(EnergyError::SaleNotLocked),
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
            SaleStatus::Requested => return err!(EnergyError::SaleNotLocked),
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

    /// An ended sale may be closed once late events about it would be refused anyway.
    pub fn closable_at(&self, now: i64, retention_seconds: u32) -> bool {
        let ended = matches!(
            self.status,
            SaleStatus::Paid | SaleStatus::Returned | SaleStatus::Reversed
        );
        ended
            && self
                .ended_ts
                .checked_add(retention_seconds as i64)
                .is_some_and(|end| now > end)
    }
}
