//! One settlement period: the readings it received and, once cranked, where its coins went.

use anchor_lang::prelude::*;

use crate::error::EnergyError;
use crate::math::{SafeAdd, SafeSub};
use crate::state::EpochParams;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum EpochStatus {
    /// Taking reports (or closed and waiting for the crank).
    Open,
    /// The crank is charging consumers.
    Charging,
    /// All consumers are charged and the fee is taken; the crank is paying producers.
    Paying,
    /// Every reading is settled; totals are final.
    Settled,
}

#[account]
#[derive(InitSpace)]
pub struct Epoch {
    pub grid: Pubkey,
    pub index: u64,
    /// Who paid this account's rent (the first reporter); closing returns it to them.
    pub rent_payer: Pubkey,
    pub status: EpochStatus,
    /// The grid's parameters when the epoch opened.
    pub params: EpochParams,
    pub consumer_readings: u32,
    pub producer_readings: u32,
    pub consumers_charged: u32,
    pub producers_paid: u32,
    pub consumed_wh: u64,
    pub produced_wh: u64,
    /// What consumers owed at the tariff.
    pub billed_units: u64,
    /// What consumers' prepaid balances covered (moved into the pool).
    pub charged_units: u64,
    /// `billed - charged`: recorded as debt on the meters that ran dry.
    pub unpaid_units: u64,
    /// Taken from the grid's carry when producers started being paid.
    pub carried_in_units: u64,
    pub fee_units: u64,
    /// What producers share: `charged + carried_in - fee`, but never more than their energy
    /// is worth at the epoch's tariff.
    pub distributable_units: u64,
    /// The pool beyond what the epoch's production is worth at its tariff: carried forward,
    /// so no producer earns more per kWh than the tariff by reporting into an hour when
    /// nobody else produced.
    pub withheld_units: u64,
    pub paid_units: u64,
    /// Rounding remainder and what was withheld (or the whole pool without producers), back
    /// to the carry.
    pub carried_out_units: u64,
    /// Σproduced / Σconsumed in ‰, set when settled (`u32::MAX` when producers reported
    /// energy that no consumer did; 0 for an epoch without energy).
    pub loss_ratio_permille: u32,
    /// The ratio is outside the grid's loss band: a meter may be lying or broken.
    pub outside_loss_band: bool,
    pub bump: u8,
}

impl Epoch {
    /// Epoch `index` of `grid`, opened by its first report with the parameters in force for
    /// it: taking reports, its books empty.
    pub fn new(
        grid: Pubkey,
        index: u64,
        rent_payer: Pubkey,
        params: EpochParams,
        bump: u8,
    ) -> Self {
        Self {
            grid,
            index,
            rent_payer,
            status: EpochStatus::Open,
            params,
            consumer_readings: 0,
            producer_readings: 0,
            consumers_charged: 0,
            producers_paid: 0,
            consumed_wh: 0,
            produced_wh: 0,
            billed_units: 0,
            charged_units: 0,
            unpaid_units: 0,
            carried_in_units: 0,
            fee_units: 0,
            distributable_units: 0,
            withheld_units: 0,
            paid_units: 0,
            carried_out_units: 0,
            loss_ratio_permille: 0,
            outside_loss_band: false,
            bump,
        }
    }

    pub fn is_new(&self) -> bool {
        self.grid == Pubkey::default()
    }

    /// Adds a reported reading to the epoch's totals.
    pub fn record_reading(&mut self, is_producer: bool, wh: u64, cost_units: u64) -> Result<()> {
        if is_producer {
            self.producer_readings = self.producer_readings.safe_add(1)?;
            self.produced_wh = self.produced_wh.safe_add(wh)?;
        } else {
            self.consumer_readings = self.consumer_readings.safe_add(1)?;
            self.consumed_wh = self.consumed_wh.safe_add(wh)?;
            self.billed_units = self.billed_units.safe_add(cost_units)?;
        }
        Ok(())
    }

    pub fn record_charge(&mut self, charged_units: u64, unpaid_units: u64) -> Result<()> {
        self.consumers_charged = self.consumers_charged.safe_add(1)?;
        self.charged_units = self.charged_units.safe_add(charged_units)?;
        self.unpaid_units = self.unpaid_units.safe_add(unpaid_units)?;
        Ok(())
    }

    pub fn all_consumers_charged(&self) -> bool {
        self.consumers_charged == self.consumer_readings
    }

    /// Takes the fee from what consumers paid plus the carry; the rest is distributable, up
    /// to what the epoch's production is worth at its tariff, and the part above it is
    /// withheld for later epochs. An epoch without any reading (its reports were all deferred)
    /// takes no fee: it carries the carry through untouched.
    pub fn start_paying(&mut self, carried_in_units: u64) -> Result<()> {
        let available = self.charged_units.safe_add(carried_in_units)?;
        self.carried_in_units = carried_in_units;
        let fee = if self.consumer_readings == 0 && self.producer_readings == 0 {
            0
        } else {
            self.params.fee_units
        };
        let split = crate::math::pool_shares(
            available,
            fee,
            self.produced_wh,
            self.params.tariff_units_per_kwh,
        )
        .ok_or(EnergyError::MathOverflow)?;
        self.fee_units = split.fee_units;
        self.distributable_units = split.distributable_units;
        self.withheld_units = split.withheld_units;
        self.status = EpochStatus::Paying;
        Ok(())
    }

    pub fn record_payout(&mut self, payout_units: u64) -> Result<()> {
        self.producers_paid = self.producers_paid.safe_add(1)?;
        self.paid_units = self.paid_units.safe_add(payout_units)?;
        require!(
            self.paid_units <= self.distributable_units,
            EnergyError::ConservationViolated
        );
        Ok(())
    }

    pub fn all_producers_paid(&self) -> bool {
        self.producers_paid == self.producer_readings
    }

    /// Closes the books: whatever producers were not paid, and what was withheld, is carried
    /// forward.
    pub fn finish(&mut self) -> Result<u64> {
        self.carried_out_units = self
            .distributable_units
            .safe_sub(self.paid_units, EnergyError::ConservationViolated)?
            .safe_add(self.withheld_units)?;
        self.status = EpochStatus::Settled;
        self.loss_ratio_permille =
            crate::math::loss_ratio_permille(self.produced_wh, self.consumed_wh);
        self.outside_loss_band = (self.consumed_wh > 0 || self.produced_wh > 0)
            && !(self.params.loss_band_min_permille..=self.params.loss_band_max_permille)
                .contains(&self.loss_ratio_permille);
        self.invariant()?;
        Ok(self.carried_out_units)
    }

    /// Conservation, exact: charged + carried in = fee + payouts + carried out.
    pub fn invariant(&self) -> Result<()> {
        require!(
            self.consumers_charged <= self.consumer_readings
                && self.producers_paid <= self.producer_readings
                && self.paid_units <= self.distributable_units,
            EnergyError::ConservationViolated
        );
        require!(
            self.billed_units as u128 == self.charged_units as u128 + self.unpaid_units as u128
                || self.status == EpochStatus::Open
                || self.status == EpochStatus::Charging,
            EnergyError::ConservationViolated
        );
        if self.status == EpochStatus::Paying || self.status == EpochStatus::Settled {
            // The pool's split: what came in is the fee, the producers' share and what is
            // withheld; the share never pays more than the energy is worth.
            let came_in = self.charged_units as u128 + self.carried_in_units as u128;
            let split = self.fee_units as u128
                + self.distributable_units as u128
                + self.withheld_units as u128;
            let worth = self.produced_wh as u128 * self.params.tariff_units_per_kwh as u128
                / crate::constants::WH_PER_KWH as u128;
            require!(
                came_in == split && self.distributable_units as u128 <= worth,
                EnergyError::ConservationViolated
            );
        }
        if self.status == EpochStatus::Settled {
            let came_in = self.charged_units as u128 + self.carried_in_units as u128;
            let went_out =
                self.fee_units as u128 + self.paid_units as u128 + self.carried_out_units as u128;
            require!(came_in == went_out, EnergyError::ConservationViolated);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::refused;

    fn epoch() -> Epoch {
        let params = EpochParams::default();
        Epoch::new(Pubkey::new_unique(), 7, Pubkey::new_unique(), params, 255)
    }

    /// The worked example up to its last producer: 5 k charged, 0.01 k fee, one of two paid.
    fn paying() -> Epoch {
        let mut e = epoch();
        e.record_reading(false, 3_000, 3_000_000).unwrap();
        e.record_reading(false, 2_000, 2_000_000).unwrap();
        e.record_reading(true, 3_000, 0).unwrap();
        e.record_reading(true, 2_500, 0).unwrap();
        e.status = EpochStatus::Charging;
        e.record_charge(3_000_000, 0).unwrap();
        e.record_charge(2_000_000, 0).unwrap();
        e.start_paying(0).unwrap();
        e.record_payout(2_721_818).unwrap();
        e
    }

    #[test]
    fn a_new_epoch_takes_reports_with_empty_books() {
        let e = epoch();
        assert!(!e.is_new());
        assert_eq!(e.status, EpochStatus::Open);
        assert_eq!(
            (e.consumer_readings, e.billed_units, e.paid_units),
            (0, 0, 0)
        );
        e.invariant().unwrap();
    }

    #[test]
    fn the_worked_example_settles_and_conserves() {
        let mut e = paying();
        assert_eq!((e.fee_units, e.distributable_units), (10_000, 4_990_000));
        e.invariant().unwrap();
        e.record_payout(2_268_181).unwrap();
        assert!(e.all_producers_paid());
        assert_eq!(e.finish().unwrap(), 1);
        assert_eq!(e.status, EpochStatus::Settled);
        assert_eq!(e.loss_ratio_permille, 1_100);
        e.invariant().unwrap();
    }

    #[test]
    fn a_payout_beyond_the_distributable_breaks_conservation() {
        let mut e = paying();
        refused(
            e.record_payout(2_268_183),
            EnergyError::ConservationViolated,
        );
    }

    #[test]
    fn the_invariant_refuses_more_charged_or_paid_than_reported() {
        let mut e = paying();
        e.consumers_charged = 3;
        refused(e.invariant(), EnergyError::ConservationViolated);
        let mut e = paying();
        e.producers_paid = 3;
        refused(e.invariant(), EnergyError::ConservationViolated);
        let mut e = paying();
        e.paid_units = e.distributable_units + 1;
        refused(e.invariant(), EnergyError::ConservationViolated);
    }

    #[test]
    fn the_invariant_refuses_a_bill_not_split_into_charged_and_unpaid() {
        let mut e = paying();
        e.unpaid_units = 1;
        refused(e.invariant(), EnergyError::ConservationViolated);
        // While consumers are still being charged, the split is not complete yet.
        e.status = EpochStatus::Charging;
        e.invariant().unwrap();
        e.charged_units = u64::MAX;
        e.unpaid_units = u64::MAX;
        e.status = EpochStatus::Paying;
        refused(e.invariant(), EnergyError::ConservationViolated);
    }

    #[test]
    fn the_invariant_refuses_a_settled_epoch_that_lost_a_unit() {
        let mut e = paying();
        e.record_payout(2_268_181).unwrap();
        e.finish().unwrap();
        e.carried_out_units = 0;
        refused(e.invariant(), EnergyError::ConservationViolated);
    }
}
