//! A smart meter: its kind and keys, its coin balance, and the readings awaiting settlement.

use anchor_lang::prelude::*;

use crate::constants::{MAX_ID_LEN, MAX_LABEL_LEN, READING_SLOTS};
use crate::error::EnergyError;
use crate::math::SafeAdd;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum MeterKind {
    /// A solar home's export meter: paid pro rata to what it produced.
    Producer,
    Household,
    /// A street-lighting pole.
    Pole,
    Stadium,
    Other,
}

impl MeterKind {
    pub fn is_producer(self) -> bool {
        self == MeterKind::Producer
    }
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum ReadingStatus {
    Empty,
    /// Reported, waiting for the crank.
    Pending,
    Settled,
}

/// One epoch's reading, kept on the meter so that settlement touches one account per reading.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct Reading {
    pub epoch: u64,
    pub wh: u64,
    pub status: ReadingStatus,
}

impl Reading {
    pub const EMPTY: Reading = Reading {
        epoch: 0,
        wh: 0,
        status: ReadingStatus::Empty,
    };
}

#[account]
#[derive(InitSpace)]
pub struct Meter {
    pub grid: Pubkey,
    #[max_len(MAX_ID_LEN)]
    pub id: String,
    pub kind: MeterKind,
    /// The resident who owns the meter and receives its producer earnings.
    pub owner: Pubkey,
    /// The device's own signing key: only it can report readings.
    pub gateway: Pubkey,
    #[max_len(MAX_LABEL_LEN)]
    pub label: String,
    /// Position on the community map, in millionths of a degree.
    pub latitude_micro: i32,
    pub longitude_micro: i32,
    pub active: bool,
    /// The connection decision: what the meter's relay should do. Consumers only; producers
    /// always stay connected.
    pub connected: bool,
    /// Consumers: prepaid coins. Producers: earnings not yet collected.
    pub balance_units: u64,
    /// Consumers: what reported but unsettled readings will cost.
    pub committed_units: u64,
    /// Consumers: what settlement could not charge; paid off first by the next funding.
    pub debt_units: u64,
    pub lifetime_wh: u64,
    /// Consumers: coins charged over the meter's life. Producers: coins earned.
    pub lifetime_units: u64,
    /// Coins funded into the meter over its life, by anyone.
    pub lifetime_funded_units: u64,
    pub last_reported_epoch: u64,
    pub has_reported: bool,
    pub readings: [Reading; READING_SLOTS],
    /// Registration order within the grid, for enumeration.
    pub index: u32,
    /// Who paid this account's rent (the admin who registered it); closing returns it.
    pub rent_payer: Pubkey,
    pub bump: u8,
}

impl Meter {
    pub fn is_consumer(&self) -> bool {
        !self.kind.is_producer()
    }

    fn slot(epoch: u64) -> usize {
        (epoch % READING_SLOTS as u64) as usize
    }

    /// Stores a reading; refuses a second one for the same epoch and never overwrites one
    /// that is not settled yet.
    pub fn record_reading(&mut self, epoch: u64, wh: u64, cost_units: u64) -> Result<()> {
        let slot = &mut self.readings[Self::slot(epoch)];
        if slot.status != ReadingStatus::Empty && slot.epoch == epoch {
            return err!(EnergyError::DuplicateReading);
        }
        require!(
            slot.status != ReadingStatus::Pending,
            EnergyError::SettlementBacklog
        );
        *slot = Reading {
            epoch,
            wh,
            status: ReadingStatus::Pending,
        };
        self.committed_units = self.committed_units.safe_add(cost_units)?;
        self.lifetime_wh = self.lifetime_wh.safe_add(wh)?;
        if !self.has_reported || epoch > self.last_reported_epoch {
            self.last_reported_epoch = epoch;
        }
        self.has_reported = true;
        Ok(())
    }

    /// The Wh of this meter's unsettled reading for `epoch`, if it has one.
    pub fn pending_wh(&self, epoch: u64) -> Option<u64> {
        let slot = &self.readings[Self::slot(epoch)];
        (slot.epoch == epoch && slot.status == ReadingStatus::Pending).then_some(slot.wh)
    }

    pub fn is_settled(&self, epoch: u64) -> bool {
        let slot = &self.readings[Self::slot(epoch)];
        slot.epoch == epoch && slot.status == ReadingStatus::Settled
    }

    fn mark_settled(&mut self, epoch: u64) {
        self.readings[Self::slot(epoch)].status = ReadingStatus::Settled;
    }

    /// Charges a consumer's reading: as much of `cost_units` as the balance covers, the
    /// rest becomes debt. Returns `(charged, unpaid)`.
    pub fn charge(&mut self, epoch: u64, cost_units: u64) -> Result<(u64, u64)> {
        let charged = cost_units.min(self.balance_units);
        let unpaid = cost_units - charged;
        self.balance_units -= charged;
        self.committed_units = self
            .committed_units
            .checked_sub(cost_units)
            .ok_or(EnergyError::ConservationViolated)?;
        self.debt_units = self.debt_units.safe_add(unpaid)?;
        self.lifetime_units = self.lifetime_units.safe_add(charged)?;
        self.mark_settled(epoch);
        Ok((charged, unpaid))
    }

    /// Credits a producer's payout to its balance, to be collected by its owner.
    pub fn credit_payout(&mut self, epoch: u64, payout_units: u64) -> Result<()> {
        self.balance_units = self.balance_units.safe_add(payout_units)?;
        self.lifetime_units = self.lifetime_units.safe_add(payout_units)?;
        self.mark_settled(epoch);
        Ok(())
    }

    /// Funding pays off debt first; the rest becomes prepaid balance. Returns the part that
    /// repaid debt.
    pub fn fund(&mut self, amount_units: u64) -> Result<u64> {
        let repaid = amount_units.min(self.debt_units);
        self.debt_units -= repaid;
        self.balance_units = self.balance_units.safe_add(amount_units - repaid)?;
        self.lifetime_funded_units = self.lifetime_funded_units.safe_add(amount_units)?;
        Ok(repaid)
    }

    /// Whether any reading still waits for the crank.
    pub fn has_pending_readings(&self) -> bool {
        self.readings
            .iter()
            .any(|r| r.status == ReadingStatus::Pending)
    }

    /// Takes the meter out of service: disconnected, and every coin its unsettled readings
    /// will not need leaves it. Returns those coins, for the owner.
    pub fn retire(&mut self) -> u64 {
        self.active = false;
        self.connected = false;
        self.take_refund()
    }

    /// Coins beyond what unsettled readings will cost (a consumer's prepaid rest, a
    /// producer's earnings), taken off the meter for its owner.
    pub fn take_refund(&mut self) -> u64 {
        // What is above the committed coins; nothing when the balance is below them (a
        // reading it cannot pay becomes debt when settled, not a negative refund).
        let refund = self.balance_units.saturating_sub(self.committed_units);
        self.balance_units -= refund;
        refund
    }

    /// A consumer may draw power while it owes nothing and its balance exceeds what its
    /// unsettled readings will cost. Producers are always connected. A retired meter never is.
    pub fn can_draw_power(&self) -> bool {
        self.active
            && (self.kind.is_producer()
                || (self.debt_units == 0 && self.balance_units > self.committed_units))
    }

    /// Re-decides the connection; returns `Some(new_state)` when it changed.
    pub fn decide_connection(&mut self) -> Option<bool> {
        let connected = self.can_draw_power();
        let changed = connected != self.connected;
        self.connected = connected;
        changed.then_some(connected)
    }
}
