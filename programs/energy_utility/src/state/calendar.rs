//! The grid's calendar as its residents live it: a local time (a fixed offset from UTC),
//! weekdays and weekends, holidays. Time-of-use tariffs and friendly-credit hours are read
//! from it.
//!
//! The offset is fixed (no daylight saving rule on chain): a grid whose clocks change twice a
//! year moves its offset through `update_grid`, with the grid's notice like any other term.

use anchor_lang::prelude::*;

use crate::constants::MAX_HOLIDAYS;
use crate::error::EnergyError;

const DAY_SECONDS: i64 = 86_400;
const HOUR_SECONDS: i64 = 3_600;
/// The largest offset any time zone uses (UTC+14, UTC-12 with margin).
pub const MAX_UTC_OFFSET_SECONDS: i32 = 14 * 3_600;
/// A time-of-use hour may cost between 1‰ and 10× the base tariff.
pub const MAX_TOU_PERMILLE: u16 = 10_000;

/// A moment in the grid's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Local days since 1970-01-01.
    pub day: i64,
    /// 0..24.
    pub hour: u8,
    /// Saturday or Sunday.
    pub weekend: bool,
}

impl LocalTime {
    pub fn at(unix_ts: i64, utc_offset_seconds: i32) -> Self {
        let local = unix_ts.saturating_add(utc_offset_seconds as i64);
        let day = local.div_euclid(DAY_SECONDS);
        let hour = (local.rem_euclid(DAY_SECONDS) / HOUR_SECONDS) as u8;
        // 1970-01-01 was a Thursday: day 2 was a Saturday, day 3 a Sunday.
        let weekday = (day + 3).rem_euclid(7); // 0 = Monday .. 6 = Sunday
        Self {
            day,
            hour,
            weekend: weekday >= 5,
        }
    }

    /// The hour's index in a 48-hour week profile: weekday hours 0..24, weekend hours 24..48.
    pub fn profile_hour(&self) -> usize {
        self.hour as usize + if self.weekend { 24 } else { 0 }
    }
}

/// A tariff by hour of day, weekday and weekend, as ‰ of the base tariff
/// (`EpochParams::tariff_units_per_kwh`): 1000 everywhere is a flat tariff. An epoch costs
/// the hour its start falls in.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct TimeOfUse {
    pub weekday_permille: [u16; 24],
    pub weekend_permille: [u16; 24],
}

impl Default for TimeOfUse {
    fn default() -> Self {
        Self::FLAT
    }
}

impl TimeOfUse {
    pub const FLAT: TimeOfUse = TimeOfUse {
        weekday_permille: [1_000; 24],
        weekend_permille: [1_000; 24],
    };

    pub fn permille_at(&self, time: LocalTime) -> u16 {
        if time.weekend {
            self.weekend_permille[time.hour as usize]
        } else {
            self.weekday_permille[time.hour as usize]
        }
    }

    /// The dearest hour of the week.
    pub fn peak_permille(&self) -> u16 {
        self.weekday_permille
            .iter()
            .chain(self.weekend_permille.iter())
            .copied()
            .max()
            .unwrap_or(1_000)
    }

    pub fn validate(&self) -> Result<()> {
        require!(
            self.weekday_permille
                .iter()
                .chain(self.weekend_permille.iter())
                .all(|p| (1..=MAX_TOU_PERMILLE).contains(p)),
            EnergyError::InvalidTariff
        );
        Ok(())
    }
}

/// What protects a prepaid consumer who runs out of coins: hours when nobody is disconnected
/// for lack of coins (the energy used then becomes debt), an emergency credit a consumer may
/// take once per top-up cycle, and the share of each funding that repays debt.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct CreditRules {
    /// Friendly hours of the week: bit `h` is weekday hour `h` (local), bit `24 + h` weekend
    /// hour `h`. E.g. 18:00-08:00 on weekdays and all weekend.
    pub friendly_hours: u64,
    /// Local days (since 1970-01-01) friendly all day; 0 marks an unused entry.
    pub holidays: [u32; MAX_HOLIDAYS],
    /// Coins a consumer may run into debt by, once per top-up cycle, when its balance is low.
    /// 0: no emergency credit.
    pub emergency_credit_units: u64,
    /// The share of each funding that repays a meter's debt, in ‰ (1000: all of it first).
    pub debt_recovery_permille: u16,
}

impl Default for CreditRules {
    fn default() -> Self {
        Self {
            friendly_hours: 0,
            holidays: [0; MAX_HOLIDAYS],
            emergency_credit_units: 0,
            debt_recovery_permille: 1_000,
        }
    }
}

/// Every hour of the 48-hour profile.
const ALL_HOURS: u64 = (1 << 48) - 1;

impl CreditRules {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.friendly_hours & !ALL_HOURS == 0
                && (1..=1_000).contains(&self.debt_recovery_permille),
            EnergyError::InvalidCreditRules
        );
        Ok(())
    }

    /// Whether nobody is disconnected for lack of coins at `time`.
    pub fn is_friendly(&self, time: LocalTime) -> bool {
        let holiday = time.day > 0 && self.holidays.contains(&(time.day as u32));
        holiday || self.friendly_hours & (1 << time.profile_hour()) != 0
    }

    /// The part of a funding of `amount_units` that repays `debt_units`: the grid's share of
    /// it, rounded up, never more than the debt.
    pub fn debt_repayment(&self, amount_units: u64, debt_units: u64) -> u64 {
        let share = (amount_units as u128 * self.debt_recovery_permille as u128).div_ceil(1_000);
        (share.min(debt_units as u128)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_knows_weekends_hours_and_offsets() {
        // 2026-12-06 02:00 UTC is a Sunday.
        let sunday_2am = 1_796_522_400;
        let t = LocalTime::at(sunday_2am, 0);
        assert_eq!((t.hour, t.weekend), (2, true));
        assert_eq!(t.day, 20_793);
        // In UTC-3 it is still Saturday 23:00.
        let t = LocalTime::at(sunday_2am, -3 * 3_600);
        assert_eq!((t.hour, t.weekend, t.day), (23, true, 20_792));
        // Monday 2026-12-07 12:00 UTC.
        let t = LocalTime::at(sunday_2am + 34 * 3_600, 0);
        assert_eq!((t.hour, t.weekend), (12, false));
        assert_eq!(t.profile_hour(), 12);
        assert_eq!(LocalTime::at(sunday_2am, 0).profile_hour(), 26);
        // Before 1970 too.
        let t = LocalTime::at(-1, 0);
        assert_eq!((t.day, t.hour), (-1, 23));
    }

    #[test]
    fn friendly_hours_holidays_and_debt_share() {
        let mut rules = CreditRules {
            friendly_hours: (1 << 2) | (1 << 26),
            ..CreditRules::default()
        };
        let monday_2am = 1_796_522_400 + 24 * 3_600;
        assert!(rules.is_friendly(LocalTime::at(monday_2am, 0)));
        assert!(!rules.is_friendly(LocalTime::at(monday_2am + 3_600, 0)));
        rules.holidays[3] = LocalTime::at(monday_2am, 0).day as u32;
        assert!(rules.is_friendly(LocalTime::at(monday_2am + 3_600, 0)));
        rules.debt_recovery_permille = 250;
        assert_eq!(rules.debt_repayment(10_000_001, 5_000_000), 2_500_001);
        assert_eq!(rules.debt_repayment(10_000_000, 1_000), 1_000);
        assert_eq!(rules.debt_repayment(u64::MAX, u64::MAX), u64::MAX / 4 + 1);
        rules.validate().unwrap();
        rules.debt_recovery_permille = 0;
        assert!(rules.validate().is_err());
        rules.debt_recovery_permille = 1_000;
        rules.friendly_hours = 1 << 48;
        assert!(rules.validate().is_err());
    }
}
