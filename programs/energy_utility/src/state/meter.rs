//! A smart meter: its kind and keys, its coin balance, and the readings awaiting settlement.

use anchor_lang::prelude::*;

use crate::constants::{MAX_ID_LEN, MAX_LABEL_LEN, READING_SLOTS};
use crate::error::EnergyError;
use crate::math::{consumption_cost_ceil, mul_div_floor, SafeAdd, SafeSub};
use crate::state::{CreditRules, PendingMeterChange};

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

/// One epoch's reading, kept on the meter so that settlement touches one account per reading:
/// the energy the register moved since the meter's previous reading, over `hours` epochs (more
/// than one when the meter was silent, or its ring was full, in between).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct Reading {
    pub epoch: u64,
    pub wh: u64,
    pub hours: u32,
    pub status: ReadingStatus,
    /// Consumers: what the reading costs, at the highest tariff of the epochs it covers (so a
    /// reading caught up after a tariff cut costs what it would have on time, or more).
    pub cost_units: u64,
}

impl Reading {
    pub const EMPTY: Reading = Reading {
        epoch: 0,
        wh: 0,
        hours: 0,
        status: ReadingStatus::Empty,
        cost_units: 0,
    };
}

/// What a report of the register did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reported {
    /// A reading for the epoch: `wh` over `hours` epochs, costing a consumer `cost_units`.
    Recorded {
        wh: u64,
        hours: u32,
        cost_units: u64,
    },
    /// The meter's ring still holds an unsettled reading in this epoch's slot (the crank is
    /// eight epochs behind): the register is kept and its energy goes into the next reading.
    Deferred,
    /// A new producer before the grid's notice has passed: the register is its starting
    /// point, and it earns from the next report on or after `earns_from_epoch`.
    BeforeEarning,
}

/// The limits a register report is checked against, from the grid and the epoch.
#[derive(Clone, Copy, Debug)]
pub struct ReadingRules {
    pub epoch_seconds: u32,
    pub max_wh_per_epoch: u64,
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
    /// Consumers: what settlement could not charge (a balance run dry, friendly hours,
    /// emergency credit); repaid by the grid's share of each funding.
    pub debt_units: u64,
    /// Consumers: what the energy of kept registers (reported while the ring was full, beyond
    /// `register_wh`) will cost at the tariff it was reported at; it becomes a reading once the
    /// crank catches up. It counts against the balance like `committed_units`.
    pub deferred_units: u64,
    pub lifetime_wh: u64,
    /// Consumers: coins charged over the meter's life. Producers: coins earned.
    pub lifetime_units: u64,
    /// Coins funded into the meter over its life, by anyone.
    pub lifetime_funded_units: u64,
    /// The last epoch the meter reported (recorded or deferred); silence counts from it.
    pub last_reported_epoch: u64,
    pub has_reported: bool,
    pub readings: [Reading; READING_SLOTS],
    /// The meter's nameplate power (a house's service, a pole's lamp, a roof's inverter): a
    /// reading can never exceed it over the hours the reading covers.
    pub capacity_w: u64,
    /// The cumulative register (Wh: import for consumers, export for producers) at the last
    /// recorded reading: the next reading is measured from it.
    pub register_wh: u64,
    /// The last register reported (beyond `register_wh` when a report was deferred).
    pub last_register_wh: u64,
    /// The first epoch the next reading covers.
    pub next_reading_epoch: u64,
    /// Consumers: disconnected because the meter went silent; cleared by its next report.
    pub silent: bool,
    /// Registration order within the grid, for enumeration.
    pub index: u32,
    /// Who paid this account's rent (the admin who registered it); closing returns it.
    pub rent_payer: Pubkey,
    /// Readings count (and producers earn) from this epoch on: a new producer waits for the
    /// grid's notice, so residents see it coming before it shares their pool.
    pub earns_from_epoch: u64,
    /// What the admin alone proposed for this meter, waiting for the grid's notice; the
    /// owner may veto it meanwhile.
    pub pending_change: Option<PendingMeterChange>,
    /// A prosumer's other register: a bidirectional meter behind one gateway is two meter
    /// accounts, its import (a consumer) and its export (a producer), paired with
    /// `pair_meters`. Their registers are then reported together (`report_prosumer`), never
    /// one without the other. `Pubkey::default()` when unpaired.
    pub partner: Pubkey,
    /// Consumers: the emergency credit taken this top-up cycle (the debt the meter may run
    /// into and stay connected); 0 when none. The next funding ends the cycle.
    pub emergency_units: u64,
    pub bump: u8,
}

impl Meter {
    /// A meter account's kind read straight from its data (after the discriminator, the grid
    /// and the id), without decoding it: the settlement crank skips consumers this way in its
    /// paying pass. `None` when the data is too short to tell.
    pub fn peek_kind(data: &[u8]) -> Option<MeterKind> {
        let id_len_at = 8 + 32;
        let id_len = u32::from_le_bytes(data.get(id_len_at..id_len_at + 4)?.try_into().ok()?);
        let kind_at = id_len_at + 4 + usize::try_from(id_len).ok()?;
        MeterKind::try_from_slice(data.get(kind_at..kind_at + 1)?).ok()
    }

    pub fn is_consumer(&self) -> bool {
        !self.kind.is_producer()
    }

    /// One side of a prosumer's bidirectional meter.
    pub fn is_paired(&self) -> bool {
        self.partner != Pubkey::default()
    }

    fn slot(epoch: u64) -> usize {
        (epoch % READING_SLOTS as u64) as usize
    }

    /// Takes the meter's cumulative register for `epoch`. The reading is what the register
    /// moved since the last recorded reading, over every epoch since then: hours nobody
    /// reported are billed (or paid) now, never lost, at the highest tariff among them
    /// (`tariff(first, last)`). One report per epoch, in order; a register never goes back;
    /// the energy never exceeds the meter's capacity (nor the grid's per-epoch limit) over
    /// those hours.
    pub fn report(
        &mut self,
        epoch: u64,
        register_wh: u64,
        rules: &ReadingRules,
        tariff: impl Fn(u64, u64) -> u64,
    ) -> Result<Reported> {
        let recorded = &self.readings[Self::slot(epoch)];
        require!(
            recorded.status == ReadingStatus::Empty || recorded.epoch != epoch,
            EnergyError::DuplicateReading
        );
        if self.has_reported {
            require!(
                epoch != self.last_reported_epoch,
                EnergyError::DuplicateReading
            );
            require!(
                epoch > self.last_reported_epoch,
                EnergyError::ReadingOutOfOrder
            );
        }
        require!(
            epoch >= self.next_reading_epoch,
            EnergyError::ReadingOutOfOrder
        );
        require!(
            register_wh >= self.last_register_wh,
            EnergyError::RegisterWentBackwards
        );
        let wh = register_wh.safe_sub(self.register_wh, EnergyError::RegisterWentBackwards)?;
        // A new producer's readings count from its first earning epoch: the hours before are
        // not its to be paid for.
        let first = self.next_reading_epoch.max(self.earns_from_epoch);
        let before_earning = epoch < self.earns_from_epoch;
        let hours = epoch.saturating_sub(first) + 1;
        let seconds = hours
            .checked_mul(rules.epoch_seconds as u64)
            .ok_or(EnergyError::MathOverflow)?;
        // The grid's outer bound first, then the meter's own nameplate.
        let limit_wh = rules
            .max_wh_per_epoch
            .checked_mul(hours)
            .ok_or(EnergyError::MathOverflow)?;
        let capacity_wh =
            mul_div_floor(self.capacity_w, seconds, 3_600).ok_or(EnergyError::MathOverflow)?;
        // A new producer whose gateway kept quiet through the notice reports, in its first
        // earning epochs, energy partly made before them: more than its earning hours could
        // deliver is not a reading but its starting point.
        let starts_late =
            self.next_reading_epoch < self.earns_from_epoch && (wh > limit_wh || wh > capacity_wh);
        if !before_earning && !starts_late {
            require!(wh <= limit_wh, EnergyError::ReadingOverLimit);
            require!(wh <= capacity_wh, EnergyError::ReadingOverCapacity);
        }
        let hours = u32::try_from(hours).map_err(|_| error!(EnergyError::MathOverflow))?;

        self.has_reported = true;
        self.last_reported_epoch = epoch;
        self.last_register_wh = register_wh;
        self.silent = false;
        if before_earning || starts_late {
            self.register_wh = register_wh;
            self.next_reading_epoch = epoch + 1;
            return Ok(Reported::BeforeEarning);
        }
        let cost_units = if self.kind.is_producer() {
            0
        } else {
            consumption_cost_ceil(wh, tariff(self.next_reading_epoch, epoch))
                .ok_or(EnergyError::MathOverflow)?
        };
        let slot = &mut self.readings[Self::slot(epoch)];
        if slot.status == ReadingStatus::Pending {
            // Kept for the next reading; until then its cost holds the balance like a
            // reading's would.
            self.deferred_units = cost_units;
            return Ok(Reported::Deferred);
        }
        *slot = Reading {
            epoch,
            wh,
            hours,
            status: ReadingStatus::Pending,
            cost_units,
        };
        self.deferred_units = 0;
        self.committed_units = self.committed_units.safe_add(cost_units)?;
        self.lifetime_wh = self.lifetime_wh.safe_add(wh)?;
        self.register_wh = register_wh;
        self.next_reading_epoch = epoch + 1;
        Ok(Reported::Recorded {
            wh,
            hours,
            cost_units,
        })
    }

    /// Whether the meter holds a register beyond its last reading (reported while its ring
    /// was full): energy not billed or paid yet, which no register change may drop.
    pub fn has_deferred_energy(&self) -> bool {
        self.last_register_wh > self.register_wh
    }

    /// A new physical meter (or a reset register) starts from `register_wh`; the meter's
    /// history, balance and readings stay. Refused while energy waits to become a reading.
    pub fn replace_register(&mut self, register_wh: u64) -> Result<()> {
        require!(
            !self.has_deferred_energy(),
            EnergyError::MeterHasDeferredEnergy
        );
        self.register_wh = register_wh;
        self.last_register_wh = register_wh;
        Ok(())
    }

    /// Closed epochs in a row without a report, given the last closed epoch; silence counts
    /// from `counts_from_epoch` at the earliest (the grid's last resume).
    pub fn silent_epochs(&self, last_closed_epoch: u64, counts_from_epoch: u64) -> u64 {
        let first_unreported = if self.has_reported {
            self.last_reported_epoch + 1
        } else {
            self.next_reading_epoch
        };
        (last_closed_epoch + 1).saturating_sub(first_unreported.max(counts_from_epoch))
    }

    /// A consumer silent for `max_silent_epochs` closed epochs is disconnected until it
    /// reports again: silence must never mean free power.
    pub fn silence(
        &mut self,
        last_closed_epoch: u64,
        counts_from_epoch: u64,
        max_silent_epochs: u32,
    ) -> Result<()> {
        require!(
            self.is_consumer()
                && !self.silent
                && self.silent_epochs(last_closed_epoch, counts_from_epoch)
                    >= max_silent_epochs as u64,
            EnergyError::MeterNotSilent
        );
        self.silent = true;
        self.connected = false;
        Ok(())
    }

    /// This meter's unsettled reading for `epoch`, if it has one.
    pub fn pending_reading(&self, epoch: u64) -> Option<Reading> {
        let slot = self.readings[Self::slot(epoch)];
        (slot.epoch == epoch && slot.status == ReadingStatus::Pending).then_some(slot)
    }

    /// The Wh of this meter's unsettled reading for `epoch`, if it has one.
    pub fn pending_wh(&self, epoch: u64) -> Option<u64> {
        self.pending_reading(epoch).map(|r| r.wh)
    }

    pub fn is_settled(&self, epoch: u64) -> bool {
        let slot = &self.readings[Self::slot(epoch)];
        slot.epoch == epoch && slot.status == ReadingStatus::Settled
    }

    fn mark_settled(&mut self, epoch: u64) {
        self.readings[Self::slot(epoch)].status = ReadingStatus::Settled;
    }

    /// Charges a consumer's reading: as much of `cost_units` (what the reading committed) as
    /// the balance covers, the rest becomes debt. Returns `(charged, unpaid)`.
    pub fn charge(&mut self, epoch: u64, cost_units: u64) -> Result<(u64, u64)> {
        let charged = cost_units.min(self.balance_units);
        let unpaid = cost_units - charged;
        self.balance_units -= charged;
        self.committed_units = self
            .committed_units
            .safe_sub(cost_units, EnergyError::ConservationViolated)?;
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

    /// A funding repays the grid's share of it towards the debt (`rules.debt_recovery_permille`;
    /// all of it by default); the rest becomes prepaid balance. It ends the top-up cycle: an
    /// emergency credit taken is over (its debt stays, to be repaid like any other). Returns
    /// the part that repaid debt.
    pub fn fund(&mut self, amount_units: u64, rules: &CreditRules) -> Result<u64> {
        let repaid = rules.debt_repayment(amount_units, self.debt_units);
        self.debt_units -= repaid;
        self.balance_units = self.balance_units.safe_add(amount_units - repaid)?;
        self.lifetime_funded_units = self.lifetime_funded_units.safe_add(amount_units)?;
        self.emergency_units = 0;
        Ok(repaid)
    }

    /// Coins free to draw power with: the balance beyond what unsettled readings and kept
    /// registers will cost (negative when they cost more).
    pub fn free_units(&self) -> i128 {
        self.balance_units as i128 - self.committed_units as i128 - self.deferred_units as i128
    }

    /// A consumer whose free coins are below the grid's emergency credit takes it, once per
    /// top-up cycle: it may then run into debt by that much and stay connected.
    pub fn take_emergency_credit(&mut self, units: u64) -> Result<()> {
        require!(self.is_consumer(), EnergyError::NotConsumerMeter);
        require!(self.active, EnergyError::MeterInactive);
        require!(units > 0, EnergyError::NoEmergencyCredit);
        require!(self.emergency_units == 0, EnergyError::EmergencyCreditTaken);
        require!(
            self.free_units() < units as i128,
            EnergyError::EmergencyCreditNotNeeded
        );
        self.emergency_units = units;
        Ok(())
    }

    /// Repays what it can of the debt from the balance beyond the committed coins (a meter
    /// leaving the grid pays what it owes before its owner is refunded). Returns the repaid
    /// part, for the pool.
    pub fn repay_debt_from_balance(&mut self) -> u64 {
        let free = self.balance_units.saturating_sub(self.committed_units);
        let repaid = free.min(self.debt_units);
        self.balance_units -= repaid;
        self.debt_units -= repaid;
        repaid
    }

    /// Whether any reading still waits for the crank.
    pub fn has_pending_readings(&self) -> bool {
        self.readings
            .iter()
            .any(|r| r.status == ReadingStatus::Pending)
    }

    /// Takes the meter out of service: disconnected, and every coin its unsettled readings
    /// will not need leaves it. Returns those coins, for the owner. Refused while energy waits
    /// to become a reading (retired, the meter could never report it).
    pub fn retire(&mut self) -> Result<u64> {
        require!(self.active, EnergyError::MeterInactive);
        require!(
            !self.has_deferred_energy(),
            EnergyError::MeterHasDeferredEnergy
        );
        self.active = false;
        self.connected = false;
        Ok(self.take_uncommitted())
    }

    /// Coins beyond what unsettled readings will cost and what the meter owes (a consumer's
    /// prepaid rest, a producer's earnings), taken off the meter for its owner: coins that
    /// would repay a debt stay (closing the meter repays it from them).
    pub fn take_uncommitted(&mut self) -> u64 {
        // What is above the committed coins and the debt; nothing when the balance is below
        // them (a reading it cannot pay becomes debt when settled, not a negative refund).
        let refund = self
            .balance_units
            .saturating_sub(self.committed_units)
            .saturating_sub(self.debt_units);
        self.balance_units -= refund;
        refund
    }

    /// A consumer may draw power while its balance exceeds what its unsettled readings and
    /// kept registers will cost; with an emergency credit taken, while that credit exceeds
    /// those and its debt together. A debt alone does not hold the power off: it is repaid
    /// by the grid's share of each funding (all of a funding by default, so a meter in debt
    /// has no balance). Producers are always connected. A retired or silent meter never is.
    pub fn can_draw_power(&self) -> bool {
        if !self.active {
            return false;
        }
        if self.kind.is_producer() {
            return true;
        }
        !self.silent && self.headroom_units() > 0
    }

    /// What a consumer can still draw on: its free coins, and with an emergency credit taken,
    /// what is left of that credit beyond its debt.
    pub fn headroom_units(&self) -> i128 {
        let free = self.free_units();
        if self.emergency_units > 0 {
            free + self.emergency_units as i128 - self.debt_units as i128
        } else {
            free
        }
    }

    /// Re-decides the connection; returns `Some(new_state)` when it changed. In the grid's
    /// friendly hours (`friendly`) a connected consumer stays connected whatever its coins:
    /// what it uses then becomes debt.
    pub fn decide_connection(&mut self, friendly: bool) -> Option<bool> {
        let connected =
            self.can_draw_power() || (friendly && self.connected && self.active && !self.silent);
        let changed = connected != self.connected;
        self.connected = connected;
        changed.then_some(connected)
    }

    /// What holds after every instruction that changes a meter: a producer owes nothing and
    /// takes no emergency credit; the register never goes back; a retired meter is never
    /// connected. (A meter in debt may hold prepaid coins when the grid recovers debt as a
    /// share of each funding.)
    pub fn invariant(&self) -> Result<()> {
        require!(
            self.is_consumer()
                || (self.committed_units == 0 && self.debt_units == 0 && self.emergency_units == 0),
            EnergyError::ConservationViolated
        );
        require!(
            self.register_wh <= self.last_register_wh,
            EnergyError::RegisterWentBackwards
        );
        require!(self.active || !self.connected, EnergyError::MeterInactive);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::refused;

    fn meter(id: &str, kind: MeterKind) -> Meter {
        Meter {
            grid: Pubkey::new_unique(),
            id: id.to_string(),
            kind,
            owner: Pubkey::new_unique(),
            gateway: Pubkey::new_unique(),
            label: "a label".into(),
            latitude_micro: 1,
            longitude_micro: 2,
            active: true,
            connected: true,
            balance_units: 3,
            committed_units: 0,
            debt_units: 0,
            deferred_units: 0,
            lifetime_wh: 0,
            lifetime_units: 0,
            lifetime_funded_units: 0,
            last_reported_epoch: 0,
            has_reported: false,
            readings: [Reading::EMPTY; READING_SLOTS],
            capacity_w: 1,
            register_wh: 0,
            last_register_wh: 0,
            next_reading_epoch: 0,
            silent: false,
            index: 0,
            rent_payer: Pubkey::new_unique(),
            earns_from_epoch: 0,
            pending_change: None,
            partner: Pubkey::default(),
            emergency_units: 0,
            bump: 255,
        }
    }

    #[test]
    fn the_kind_is_read_from_the_account_data_whatever_the_ids_length() {
        for id in ["a", "house-12", &"x".repeat(MAX_ID_LEN)] {
            for kind in [MeterKind::Producer, MeterKind::Household, MeterKind::Pole] {
                let mut data = Vec::new();
                meter(id, kind).try_serialize(&mut data).unwrap();
                assert_eq!(Meter::peek_kind(&data), Some(kind), "{id}");
            }
        }
        assert_eq!(Meter::peek_kind(&[0u8; 20]), None);
    }

    const RULES: ReadingRules = ReadingRules {
        epoch_seconds: 3_600,
        max_wh_per_epoch: 1_000_000,
    };

    /// One tariff for every epoch: 1 k per kWh.
    fn flat(_first: u64, _last: u64) -> u64 {
        1_000_000
    }

    #[test]
    fn a_consumer_keeps_its_books_through_report_charge_funding_and_retirement() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.capacity_w = 10_000;
        m.balance_units = 1_000_000;
        m.report(0, 3_000, &RULES, flat).unwrap();
        assert_eq!(m.committed_units, 3_000_000);
        m.invariant().unwrap();
        // The balance covers a third: the rest is debt, and the balance is gone.
        assert_eq!(m.charge(0, 3_000_000).unwrap(), (1_000_000, 2_000_000));
        assert_eq!(
            (m.balance_units, m.debt_units, m.committed_units),
            (0, 2_000_000, 0)
        );
        m.invariant().unwrap();
        // Funding repays the debt first.
        assert_eq!(
            m.fund(2_500_000, &CreditRules::default()).unwrap(),
            2_000_000
        );
        assert_eq!((m.balance_units, m.debt_units), (500_000, 0));
        m.invariant().unwrap();
        m.report(1, 3_200, &RULES, flat).unwrap();
        assert_eq!(m.retire().unwrap(), 300_000);
        assert_eq!((m.balance_units, m.committed_units), (200_000, 200_000));
        assert!(!m.active && !m.connected);
        m.invariant().unwrap();
    }

    #[test]
    fn friendly_hours_keep_a_dry_meter_on_and_its_energy_becomes_debt() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.balance_units = 100;
        m.committed_units = 300;
        // Out of coins at noon: off.
        let mut noon = m.clone();
        assert_eq!(noon.decide_connection(false), Some(false));
        // At 2 a.m. on a Sunday (friendly): stays on; the charge leaves debt.
        assert_eq!(m.decide_connection(true), None);
        assert!(m.connected);
        assert_eq!(m.charge(0, 300).unwrap(), (100, 200));
        assert_eq!(m.decide_connection(true), None);
        // Friendly hours never switch a meter back on that was off, nor a silent one.
        noon.charge(0, 300).unwrap();
        assert_eq!((noon.balance_units, noon.debt_units), (0, 200));
        assert_eq!(noon.decide_connection(true), None);
        assert!(!noon.connected);
        m.silent = true;
        assert_eq!(m.decide_connection(true), Some(false));
        m.invariant().unwrap();
    }

    #[test]
    fn debt_is_recovered_as_the_grids_share_of_each_funding() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.balance_units = 0;
        m.debt_units = 5_000_000;
        m.connected = false;
        let quarter = CreditRules {
            debt_recovery_permille: 250,
            ..CreditRules::default()
        };
        assert_eq!(m.fund(10_000_000, &quarter).unwrap(), 2_500_000);
        assert_eq!((m.balance_units, m.debt_units), (7_500_000, 2_500_000));
        // In debt, with coins of its own: connected (the debt is repaid by fundings).
        assert_eq!(m.decide_connection(false), Some(true));
        m.invariant().unwrap();
        // Leaving the grid, the meter pays its debt before its owner gets the rest.
        assert_eq!(m.take_uncommitted(), 5_000_000);
        assert_eq!(m.repay_debt_from_balance(), 2_500_000);
        assert_eq!((m.balance_units, m.debt_units), (0, 0));
        // The whole funding by default.
        m.debt_units = 3;
        assert_eq!(m.fund(10, &CreditRules::default()).unwrap(), 3);
        assert_eq!(m.balance_units, 7);
    }

    #[test]
    fn emergency_credit_once_per_top_up_cycle() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.balance_units = 100;
        m.committed_units = 100;
        assert_eq!(m.decide_connection(false), Some(false));
        refused(m.take_emergency_credit(0), EnergyError::NoEmergencyCredit);
        m.take_emergency_credit(2_000).unwrap();
        assert_eq!(m.decide_connection(false), Some(true));
        refused(
            m.take_emergency_credit(2_000),
            EnergyError::EmergencyCreditTaken,
        );
        // Runs into debt up to the credit, then off.
        assert_eq!(m.charge(0, 100).unwrap(), (100, 0));
        m.committed_units = 1_999;
        assert_eq!(m.decide_connection(false), None);
        m.committed_units = 2_000;
        assert_eq!(m.decide_connection(false), Some(false));
        // A funding ends the cycle (the credit's debt stays to be repaid).
        m.committed_units = 0;
        m.debt_units = 2_000;
        assert_eq!(m.fund(1_000, &CreditRules::default()).unwrap(), 1_000);
        assert_eq!(m.emergency_units, 0);
        // Taken again, it caps the debt as a whole: 1,000 owed leaves 1,000 to draw.
        m.take_emergency_credit(2_000).unwrap();
        m.committed_units = 999;
        assert!(m.can_draw_power());
        m.committed_units = 1_000;
        assert!(!m.can_draw_power());
        // Not needed while the free coins reach the credit; never for a producer.
        let mut rich = meter("rich-house", MeterKind::Household);
        rich.balance_units = 2_000;
        refused(
            rich.take_emergency_credit(2_000),
            EnergyError::EmergencyCreditNotNeeded,
        );
        refused(
            meter("angel-roof", MeterKind::Producer).take_emergency_credit(1),
            EnergyError::NotConsumerMeter,
        );
    }

    #[test]
    fn a_producer_gives_up_its_whole_balance() {
        let mut m = meter("angel-roof", MeterKind::Producer);
        m.credit_payout(0, 7).unwrap();
        assert_eq!(m.take_uncommitted(), 10);
        assert_eq!(m.balance_units, 0);
        m.invariant().unwrap();
    }

    #[test]
    fn a_charge_beyond_the_committed_coins_breaks_conservation() {
        let mut m = meter("carlos-house", MeterKind::Household);
        refused(m.charge(0, 1), EnergyError::ConservationViolated);
    }

    #[test]
    fn payouts_and_fundings_beyond_u64_overflow() {
        let mut m = meter("angel-roof", MeterKind::Producer);
        m.balance_units = u64::MAX;
        refused(m.credit_payout(0, 1), EnergyError::MathOverflow);
        let mut m = meter("carlos-house", MeterKind::Household);
        m.balance_units = u64::MAX;
        refused(
            m.fund(1, &CreditRules::default()),
            EnergyError::MathOverflow,
        );
    }

    #[test]
    fn the_invariant_refuses_a_producer_that_owes() {
        let mut m = meter("angel-roof", MeterKind::Producer);
        m.invariant().unwrap();
        m.committed_units = 1;
        refused(m.invariant(), EnergyError::ConservationViolated);
        m.committed_units = 0;
        m.debt_units = 1;
        m.balance_units = 0;
        refused(m.invariant(), EnergyError::ConservationViolated);
    }

    #[test]
    fn the_invariant_refuses_a_producer_in_debt_or_on_emergency_credit() {
        let mut m = meter("angel-roof", MeterKind::Producer);
        m.debt_units = 1;
        refused(m.invariant(), EnergyError::ConservationViolated);
        m.debt_units = 0;
        m.emergency_units = 1;
        refused(m.invariant(), EnergyError::ConservationViolated);
        m.emergency_units = 0;
        m.invariant().unwrap();
        // A consumer may owe beside prepaid coins (debt recovered as a share of fundings).
        let mut m = meter("carlos-house", MeterKind::Household);
        m.debt_units = 1;
        m.invariant().unwrap();
    }

    #[test]
    fn the_invariant_refuses_a_register_ahead_of_the_last_reported() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.register_wh = 2;
        m.last_register_wh = 1;
        refused(m.invariant(), EnergyError::RegisterWentBackwards);
    }

    #[test]
    fn the_invariant_refuses_a_retired_meter_left_connected() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.active = false;
        refused(m.invariant(), EnergyError::MeterInactive);
        m.connected = false;
        m.invariant().unwrap();
    }

    #[test]
    fn a_catch_up_costs_the_highest_tariff_of_the_hours_it_covers() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.capacity_w = 10_000;
        // Silent in epochs 0 and 1 (tariff 2 k), back in epoch 2 (tariff 1 k).
        let tariff = |first: u64, _last: u64| if first <= 1 { 2_000_000 } else { 1_000_000 };
        m.report(2, 3_000, &RULES, tariff).unwrap();
        assert_eq!(m.pending_reading(2).unwrap().cost_units, 6_000_000);
        assert_eq!(m.committed_units, 6_000_000);
    }

    #[test]
    fn a_kept_register_holds_the_balance_and_blocks_retirement_and_replacement() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.capacity_w = 10_000;
        m.balance_units = 5_000_000;
        for epoch in 0..READING_SLOTS as u64 {
            m.report(epoch, (epoch + 1) * 100, &RULES, flat).unwrap();
        }
        assert_eq!(m.committed_units, 800_000);
        // The ring is full: epoch 8's report is kept, and its 4.2 kWh hold the balance.
        assert_eq!(
            m.report(8, 5_000, &RULES, flat).unwrap(),
            Reported::Deferred
        );
        assert_eq!(m.deferred_units, 4_200_000);
        assert!(
            !m.can_draw_power(),
            "5 k cannot cover 0.8 k committed and 4.2 k kept"
        );
        refused(m.retire(), EnergyError::MeterHasDeferredEnergy);
        refused(m.replace_register(0), EnergyError::MeterHasDeferredEnergy);
        assert!(m.active);
        m.invariant().unwrap();
    }

    #[test]
    fn a_new_producer_reports_its_starting_register_until_it_earns() {
        let mut m = meter("mike-roof", MeterKind::Producer);
        m.capacity_w = 5_000;
        m.earns_from_epoch = 3;
        assert_eq!(
            m.report(1, 4_000, &RULES, flat).unwrap(),
            Reported::BeforeEarning
        );
        assert_eq!((m.register_wh, m.next_reading_epoch), (4_000, 2));
        assert!(m.readings.iter().all(|r| r.status == ReadingStatus::Empty));
        // From epoch 3 its readings count, from the register it had before, over the hours
        // since it earns.
        let reported = m.report(3, 6_000, &RULES, flat).unwrap();
        assert!(matches!(
            reported,
            Reported::Recorded {
                wh: 2_000,
                hours: 1,
                ..
            }
        ));
    }

    #[test]
    fn a_producer_silent_through_its_notice_is_paid_only_what_its_earning_hours_could_make() {
        let mut m = meter("mike-roof", MeterKind::Producer);
        m.capacity_w = 5_000;
        m.earns_from_epoch = 72;
        // Registered in epoch 0, silent until epoch 72: 4 kWh fit one hour of a 5 kW roof.
        let reported = m.report(72, 4_000, &RULES, flat).unwrap();
        assert!(matches!(
            reported,
            Reported::Recorded {
                wh: 4_000,
                hours: 1,
                ..
            }
        ));
        // Silent through the notice with 300 kWh on its register: made before it earned, so
        // that is where it starts, paid nothing for it.
        let mut m = meter("mike-roof", MeterKind::Producer);
        m.capacity_w = 5_000;
        m.earns_from_epoch = 72;
        assert_eq!(
            m.report(73, 300_000, &RULES, flat).unwrap(),
            Reported::BeforeEarning
        );
        assert_eq!((m.register_wh, m.next_reading_epoch), (300_000, 74));
        // From there on, readings as usual; too much is refused as ever.
        assert!(matches!(
            m.report(74, 304_000, &RULES, flat).unwrap(),
            Reported::Recorded {
                wh: 4_000,
                hours: 1,
                ..
            }
        ));
        refused(
            m.report(75, 310_000, &RULES, flat),
            EnergyError::ReadingOverCapacity,
        );
    }

    #[test]
    fn silence_counts_from_the_grids_last_resume() {
        let mut m = meter("carlos-house", MeterKind::Household);
        m.capacity_w = 10_000;
        m.report(0, 100, &RULES, flat).unwrap();
        assert_eq!(m.silent_epochs(5, 0), 5);
        assert_eq!(m.silent_epochs(5, 4), 2);
        refused(m.silence(5, 5, 2), EnergyError::MeterNotSilent);
        m.silence(5, 4, 2).unwrap();
        assert!(m.silent && !m.connected);
    }
}
