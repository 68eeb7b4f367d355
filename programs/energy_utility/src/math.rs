//! Pure money and energy arithmetic: integers only, u128 intermediates, rounding named in
//! each function. Coins are counted in base units (1 k = 1,000,000), energy in watt-hours.

use anchor_lang::prelude::*;

use crate::constants::{UNITS_PER_COIN, WH_PER_KWH};
use crate::error::EnergyError;

/// Addition that fails with `MathOverflow` instead of wrapping: every running total of coins,
/// watt-hours and counts goes through it.
pub trait SafeAdd: Sized {
    fn safe_add(self, rhs: Self) -> Result<Self>;
}

macro_rules! impl_safe_add {
    ($($t:ty),*) => {$(
        impl SafeAdd for $t {
            fn safe_add(self, rhs: Self) -> Result<Self> {
                self.checked_add(rhs).ok_or_else(|| error!(EnergyError::MathOverflow))
            }
        }
    )*};
}
impl_safe_add!(u32, u64, i64);

/// Subtraction that fails with the error the caller names instead of wrapping: a balance that
/// would go below zero is a refusal (`InsufficientCoins`) or a broken book (`VaultShortfall`).
pub trait SafeSub: Sized {
    fn safe_sub(self, rhs: Self, error: EnergyError) -> Result<Self>;
}

macro_rules! impl_safe_sub {
    ($($t:ty),*) => {$(
        impl SafeSub for $t {
            fn safe_sub(self, rhs: Self, error: EnergyError) -> Result<Self> {
                self.checked_sub(rhs).ok_or_else(|| error!(error))
            }
        }
    )*};
}
impl_safe_sub!(u32, u64, i64);

/// Moves `units` from one running total to another, as one entry: both change or neither does.
/// `from` holding less is `shortfall`; `to` overflowing is `MathOverflow`.
pub fn move_units(from: &mut u64, to: &mut u64, units: u64, shortfall: EnergyError) -> Result<()> {
    let from_left = from.safe_sub(units, shortfall)?;
    *to = to.safe_add(units)?;
    *from = from_left;
    Ok(())
}

/// `a × b / d`, rounded down. `None` on overflow or division by zero.
pub fn mul_div_floor(a: u64, b: u64, d: u64) -> Option<u64> {
    if d == 0 {
        return None;
    }
    let q = (a as u128).checked_mul(b as u128)? / d as u128;
    u64::try_from(q).ok()
}

/// `a × b / d`, rounded up. `None` on overflow or division by zero.
pub fn mul_div_ceil(a: u64, b: u64, d: u64) -> Option<u64> {
    if d == 0 {
        return None;
    }
    let n = (a as u128).checked_mul(b as u128)?;
    let q = n.div_ceil(d as u128);
    u64::try_from(q).ok()
}

/// What a consumer owes for `wh` at `tariff_units_per_kwh`, rounded up to a whole base unit
/// so a reading never costs less than the energy it used.
pub fn consumption_cost_ceil(wh: u64, tariff_units_per_kwh: u64) -> Option<u64> {
    mul_div_ceil(wh, tariff_units_per_kwh, WH_PER_KWH)
}

/// A producer's share of `distributable_units`, pro rata to its `wh` among `total_wh`,
/// rounded down; the pennies the floors leave stay in the pool and are carried forward.
/// When producers reported nothing at all (night), nobody earns and the pool is carried.
pub fn producer_payout_floor(distributable_units: u64, wh: u64, total_wh: u64) -> Option<u64> {
    if wh > total_wh {
        return None;
    }
    if total_wh == 0 {
        return Some(0);
    }
    mul_div_floor(distributable_units, wh, total_wh)
}

/// The hourly fee actually taken: the configured fee, or all that is available if less.
pub fn fee_taken(available_units: u64, fee_units: u64) -> u64 {
    available_units.min(fee_units)
}

/// Coins bought with `cents` at `price_cents` per k, rounded down: the buyer never gets more
/// coins than they paid for.
pub fn coins_bought_floor(cents: u64, price_cents: u64) -> Option<u64> {
    mul_div_floor(cents, UNITS_PER_COIN, price_cents)
}

/// Coins burned for a payout of `cents` at `price_cents` per k, rounded up: the utility never
/// pays out dollars that were not burned as coins.
pub fn coins_sold_ceil(cents: u64, price_cents: u64) -> Option<u64> {
    mul_div_ceil(cents, UNITS_PER_COIN, price_cents)
}

/// Dollars a sale of `units` pays out at `price_cents` per k, rounded down: the utility never
/// pays out more than the coins it burns are worth. For the units `coins_sold_ceil(cents)`
/// locks, this is `cents` again (for any price up to $10,000 per k).
pub fn payout_cents_floor(units: u64, price_cents: u64) -> Option<u64> {
    mul_div_floor(units, price_cents, UNITS_PER_COIN)
}

/// Σproduced / Σconsumed in ‰, rounded down; `u32::MAX` when there was production and no
/// consumption, 0 when there was neither.
pub fn loss_ratio_permille(produced_wh: u64, consumed_wh: u64) -> u32 {
    if consumed_wh == 0 {
        return if produced_wh == 0 { 0 } else { u32::MAX };
    }
    mul_div_floor(produced_wh, 1_000, consumed_wh)
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(u32::MAX)
}

/// Outcome of settling one epoch's pool: what the whole batch sequence adds up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSplit {
    pub fee_units: u64,
    pub distributable_units: u64,
    pub payouts_units: Vec<u64>,
    pub carried_out_units: u64,
}

/// Splits an epoch's pool the way the settlement crank does, in one pass: the fee first,
/// then each producer's floor share, the rest carried forward. The on-chain crank applies the
/// same functions one reading at a time, so any batch order reaches this result.
pub fn split_pool(
    charged_units: u64,
    carried_in_units: u64,
    fee_units: u64,
    produced_wh: &[u64],
) -> Option<PoolSplit> {
    let available = charged_units.checked_add(carried_in_units)?;
    let fee = fee_taken(available, fee_units);
    let distributable = available - fee;
    let total_wh = produced_wh
        .iter()
        .try_fold(0u64, |sum, wh| sum.checked_add(*wh))?;
    let payouts = produced_wh
        .iter()
        .map(|wh| producer_payout_floor(distributable, *wh, total_wh))
        .collect::<Option<Vec<_>>>()?;
    let paid = payouts
        .iter()
        .try_fold(0u64, |sum, p| sum.checked_add(*p))?;
    Some(PoolSplit {
        fee_units: fee,
        distributable_units: distributable,
        payouts_units: payouts,
        carried_out_units: distributable.checked_sub(paid)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const K: u64 = UNITS_PER_COIN;

    #[test]
    fn seed_worked_example_splits_exactly() {
        // Consumers 3 and 2 kWh at 1 k/kWh, producers 3 and 2.5 kWh, fee 0.01 k.
        let charged =
            consumption_cost_ceil(3_000, K).unwrap() + consumption_cost_ceil(2_000, K).unwrap();
        assert_eq!(charged, 5 * K);
        let split = split_pool(charged, 0, 10_000, &[3_000, 2_500]).unwrap();
        assert_eq!(split.fee_units, 10_000);
        assert_eq!(split.distributable_units, 4_990_000);
        assert_eq!(split.payouts_units, vec![2_721_818, 2_268_181]);
        assert_eq!(split.carried_out_units, 1);
    }

    #[test]
    fn loss_ratio_is_produced_over_consumed_in_permille() {
        // The worked example: 5.5 kWh produced for 5 kWh consumed, 10 % lost in the wires.
        assert_eq!(loss_ratio_permille(5_500, 5_000), 1_100);
        assert_eq!(loss_ratio_permille(0, 0), 0);
        assert_eq!(loss_ratio_permille(1, 0), u32::MAX);
        assert_eq!(loss_ratio_permille(u64::MAX, 1), u32::MAX);
        assert_eq!(loss_ratio_permille(999, 1_000), 999);
    }

    #[test]
    fn cost_rounds_up_to_a_whole_unit() {
        assert_eq!(consumption_cost_ceil(1, 1_500), Some(2));
        assert_eq!(consumption_cost_ceil(0, K), Some(0));
        assert_eq!(consumption_cost_ceil(1_000, K), Some(K));
    }

    #[test]
    fn fiat_rounds_against_the_holder() {
        // $0.10 per k: 1 cent buys 0.1 k; 1 cent at $0.03 buys 0.333333 k, sells for 0.333334 k.
        assert_eq!(coins_bought_floor(100, 10), Some(10 * K));
        assert_eq!(coins_bought_floor(1, 3), Some(333_333));
        assert_eq!(coins_sold_ceil(1, 3), Some(333_334));
    }

    #[test]
    fn no_producers_carries_everything_after_the_fee() {
        let split = split_pool(5 * K, 7, 10_000, &[]).unwrap();
        assert_eq!(split.fee_units, 10_000);
        assert_eq!(split.carried_out_units, 5 * K + 7 - 10_000);
    }

    #[test]
    fn fee_never_exceeds_the_pool() {
        let split = split_pool(4_000, 0, 10_000, &[1_000]).unwrap();
        assert_eq!(split.fee_units, 4_000);
        assert_eq!(split.payouts_units, vec![0]);
        assert_eq!(split.carried_out_units, 0);
    }

    #[test]
    fn checked_sums_and_differences_name_their_error() {
        assert_eq!(u64::MAX.safe_add(0).unwrap(), u64::MAX);
        assert_eq!(
            u64::MAX.safe_add(1).unwrap_err(),
            EnergyError::MathOverflow.into()
        );
        assert_eq!(
            u32::MAX.safe_add(1).unwrap_err(),
            EnergyError::MathOverflow.into()
        );
        assert_eq!(5u64.safe_sub(5, EnergyError::VaultShortfall).unwrap(), 0);
        assert_eq!(
            5u64.safe_sub(6, EnergyError::VaultShortfall).unwrap_err(),
            EnergyError::VaultShortfall.into()
        );
        assert_eq!(
            0u32.safe_sub(1, EnergyError::ConservationViolated)
                .unwrap_err(),
            EnergyError::ConservationViolated.into()
        );
        assert_eq!(
            i64::MIN.safe_sub(1, EnergyError::MathOverflow).unwrap_err(),
            EnergyError::MathOverflow.into()
        );
    }

    #[test]
    fn moved_units_leave_one_total_for_the_other_or_neither_changes() {
        let (mut from, mut to) = (5u64, 1u64);
        move_units(&mut from, &mut to, 3, EnergyError::VaultShortfall).unwrap();
        assert_eq!((from, to), (2, 4));
        assert_eq!(
            move_units(&mut from, &mut to, 3, EnergyError::VaultShortfall).unwrap_err(),
            EnergyError::VaultShortfall.into()
        );
        assert_eq!((from, to), (2, 4));
        let mut full = u64::MAX;
        assert_eq!(
            move_units(&mut from, &mut full, 1, EnergyError::VaultShortfall).unwrap_err(),
            EnergyError::MathOverflow.into()
        );
        assert_eq!((from, full), (2, u64::MAX));
    }

    #[test]
    fn overflow_is_reported_not_wrapped() {
        assert_eq!(mul_div_floor(u64::MAX, u64::MAX, 1), None);
        assert_eq!(mul_div_floor(u64::MAX, u64::MAX, u64::MAX), Some(u64::MAX));
        assert_eq!(mul_div_floor(1, 1, 0), None);
        assert_eq!(producer_payout_floor(10, 5, 4), None);
        // Night: producers reported, but all zero.
        assert_eq!(producer_payout_floor(10, 0, 0), Some(0));
    }

    proptest! {
        #[test]
        fn settlement_conserves_every_unit_and_never_overpays(
            charged in 0u64..10_000_000_000_000,
            carried_in in 0u64..1_000_000,
            fee in 0u64..100_000_000,
            producers in proptest::collection::vec(
                prop_oneof![Just(0u64), 0u64..2_000_000], 0..200),
        ) {
            let split = split_pool(charged, carried_in, fee, &producers).unwrap();
            let paid: u64 = split.payouts_units.iter().sum();
            // Conservation, exact: what came in is what went out plus what is carried.
            prop_assert_eq!(charged + carried_in, split.fee_units + paid + split.carried_out_units);
            prop_assert!(split.fee_units <= fee);
            let total_wh: u64 = producers.iter().sum();
            if total_wh > 0 {
                // Each floor loses less than one unit, so the carry is below the producer count.
                prop_assert!(split.carried_out_units < producers.len().max(1) as u64);
                for (wh, payout) in producers.iter().zip(&split.payouts_units) {
                    // Never more than the exact pro-rata share: payout × Σwh ≤ distributable × wh.
                    prop_assert!(
                        (*payout as u128) * (total_wh as u128)
                            <= (split.distributable_units as u128) * (*wh as u128)
                    );
                    // And less than one unit short of it.
                    prop_assert!(
                        (*payout as u128 + 1) * (total_wh as u128)
                            > (split.distributable_units as u128) * (*wh as u128)
                    );
                }
            } else {
                prop_assert_eq!(split.carried_out_units, split.distributable_units);
            }
        }

        #[test]
        fn a_sale_of_the_units_locked_for_some_cents_pays_those_cents(
            cents in 1u64..100_000_000, price in 1u64..1_000_000,
        ) {
            let units = coins_sold_ceil(cents, price).unwrap();
            prop_assert_eq!(payout_cents_floor(units, price), Some(cents));
            // And the payout is never worth more than the coins burned.
            prop_assert!(
                (payout_cents_floor(units, price).unwrap() as u128) * (UNITS_PER_COIN as u128)
                    <= (units as u128) * (price as u128)
            );
        }

        #[test]
        fn buying_then_selling_never_creates_coins(cents in 1u64..100_000_000, price in 1u64..10_000) {
            let bought = coins_bought_floor(cents, price).unwrap();
            let sold = coins_sold_ceil(cents, price).unwrap();
            prop_assert!(bought <= sold);
            prop_assert!(sold - bought <= 1);
        }
    }
}
