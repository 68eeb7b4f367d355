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

/// What `wh` of energy is worth at `tariff_units_per_kwh`, rounded down: the most an epoch may
/// pay its producers for it.
pub fn energy_worth_floor(wh: u64, tariff_units_per_kwh: u64) -> Option<u64> {
    mul_div_floor(wh, tariff_units_per_kwh, WH_PER_KWH)
}

/// How an epoch's pool splits before producers are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolShares {
    pub fee_units: u64,
    /// What the producers share, pro rata to their energy.
    pub distributable_units: u64,
    /// The pool beyond what the producers' energy is worth at the tariff: carried forward.
    pub withheld_units: u64,
}

/// Splits `available_units` (what consumers paid plus the carry): the fee first, then the
/// producers' share, which never exceeds what `produced_wh` is worth at the tariff — an hour
/// when one producer alone reports a watt-hour pays it a watt-hour's worth, not the hour's
/// pool — and the rest is withheld for epochs whose energy is worth more than they took in.
pub fn pool_shares(
    available_units: u64,
    fee_units: u64,
    produced_wh: u64,
    tariff_units_per_kwh: u64,
) -> Option<PoolShares> {
    let fee = fee_taken(available_units, fee_units);
    let after_fee = available_units - fee;
    let distributable = after_fee.min(energy_worth_floor(produced_wh, tariff_units_per_kwh)?);
    Some(PoolShares {
        fee_units: fee,
        distributable_units: distributable,
        withheld_units: after_fee - distributable,
    })
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
    pub withheld_units: u64,
    pub payouts_units: Vec<u64>,
    pub carried_out_units: u64,
}

/// Splits an epoch's pool the way the settlement crank does, in one pass: the fee first,
/// then each producer's floor share of what the energy is worth at most, the rest carried
/// forward. The on-chain crank applies the same functions one reading at a time, so any batch
/// order reaches this result.
pub fn split_pool(
    charged_units: u64,
    carried_in_units: u64,
    fee_units: u64,
    tariff_units_per_kwh: u64,
    produced_wh: &[u64],
) -> Option<PoolSplit> {
    let available = charged_units.checked_add(carried_in_units)?;
    let total_wh = produced_wh
        .iter()
        .try_fold(0u64, |sum, wh| sum.checked_add(*wh))?;
    let shares = pool_shares(available, fee_units, total_wh, tariff_units_per_kwh)?;
    let payouts = produced_wh
        .iter()
        .map(|wh| producer_payout_floor(shares.distributable_units, *wh, total_wh))
        .collect::<Option<Vec<_>>>()?;
    let paid = payouts
        .iter()
        .try_fold(0u64, |sum, p| sum.checked_add(*p))?;
    Some(PoolSplit {
        fee_units: shares.fee_units,
        distributable_units: shares.distributable_units,
        withheld_units: shares.withheld_units,
        payouts_units: payouts,
        carried_out_units: shares
            .distributable_units
            .checked_sub(paid)?
            .checked_add(shares.withheld_units)?,
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
        let split = split_pool(charged, 0, 10_000, K, &[3_000, 2_500]).unwrap();
        assert_eq!(split.fee_units, 10_000);
        assert_eq!(split.distributable_units, 4_990_000);
        assert_eq!(
            split.withheld_units, 0,
            "5.5 kWh are worth more than the pool"
        );
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
        let split = split_pool(5 * K, 7, 10_000, K, &[]).unwrap();
        assert_eq!(split.fee_units, 10_000);
        assert_eq!(split.carried_out_units, 5 * K + 7 - 10_000);
    }

    #[test]
    fn fee_never_exceeds_the_pool() {
        let split = split_pool(4_000, 0, 10_000, K, &[1_000]).unwrap();
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

    #[test]
    fn a_lone_producers_watt_hour_in_a_dark_hour_earns_its_worth_and_the_rest_is_carried() {
        // 2 k charged, 0.01 k fee; one producer reports 1 Wh.
        let split = split_pool(2 * K, 0, 10_000, K, &[1]).unwrap();
        assert_eq!(split.payouts_units, vec![1_000]);
        assert_eq!(split.withheld_units, 2 * K - 10_000 - 1_000);
        assert_eq!(split.carried_out_units, split.withheld_units);
    }

    /// Epochs settled one after the other as the chain does: each epoch's consumers paid
    /// `charged[e]`, its producers produced `produced[e][p]` Wh; the carry goes from one to
    /// the next. Returns each producer's earnings and the carry after every epoch, and checks
    /// that every unit charged went to a fee, a producer or the carry.
    fn settle_epochs(
        charged: &[u64],
        produced: &[Vec<u64>],
        fee: u64,
        tariff: u64,
        carry: u64,
    ) -> (Vec<u64>, Vec<u64>) {
        let producers = produced.first().map_or(0, Vec::len);
        let mut earned = vec![0u64; producers];
        let (start, mut carry, mut fees) = (carry, carry, 0);
        let mut carries = Vec::new();
        for (c, wh) in charged.iter().zip(produced) {
            let split = split_pool(*c, carry, fee, tariff, wh).unwrap();
            for (e, p) in earned.iter_mut().zip(&split.payouts_units) {
                *e += p;
            }
            fees += split.fee_units;
            carry = split.carried_out_units;
            carries.push(carry);
        }
        let came_in = start + charged.iter().sum::<u64>();
        assert_eq!(came_in, fees + earned.iter().sum::<u64>() + carry);
        (earned, carries)
    }

    /// A day of `hours` epochs: what consumers paid (0 to 5 kWh an hour at the tariff), and
    /// what each of `producers` produced, from random day/night patterns (a solar roof is 0
    /// at night, some hours nobody produces). Drawn from `seed` so a failure repeats.
    fn day(seed: u64, hours: usize, producers: usize, tariff: u64) -> (Vec<u64>, Vec<Vec<u64>>) {
        let mut state = seed | 1;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let mut charged = Vec::new();
        let mut produced = Vec::new();
        for hour in 0..hours {
            let used_wh = next(5_000);
            charged.push(consumption_cost_ceil(used_wh, tariff).unwrap());
            let daylight = (6..18).contains(&(hour % 24));
            produced.push(
                (0..producers)
                    .map(|p| {
                        // Producer 0 and half the others are solar; the rest run at night too.
                        let solar = p % 2 == 0;
                        if (solar && !daylight) || next(6) == 0 {
                            0
                        } else {
                            next(4_000)
                        }
                    })
                    .collect(),
            );
        }
        (charged, produced)
    }

    proptest! {
        #[test]
        fn a_producer_moving_energy_to_a_later_hour_gains_at_most_its_worth_at_the_tariff(
            seed in any::<u64>(),
            hours in 2usize..48,
            producers in 2usize..5,
            from_frac in 0.0f64..1.0, to_frac in 0.0f64..1.0, moved_frac in 0.0f64..=1.0,
        ) {
            let (fee, tariff) = (10_000, K);
            let (charged, produced) = day(seed, hours, producers, tariff);
            // Producer 0 reports `moved` Wh of hour `from` only in hour `to` (kept back on
            // its register meanwhile: a later hour, never an earlier one).
            let from = (from_frac * (hours - 1) as f64) as usize;
            let to = from + 1 + (to_frac * (hours - from - 1) as f64) as usize;
            let moved = (moved_frac * produced[from][0] as f64) as u64;
            let mut shifted = produced.clone();
            shifted[from][0] -= moved;
            shifted[to][0] += moved;
            let (on_time, _) = settle_epochs(&charged, &produced, fee, tariff, 0);
            let (late, _) = settle_epochs(&charged, &shifted, fee, tariff, 0);
            let worth = energy_worth_floor(moved, tariff).unwrap();
            // Rounding: each epoch's floors may fall a unit differently either way.
            let rounding = hours as u64;
            prop_assert!(
                late[0] <= on_time[0] + worth + rounding,
                "moving {} Wh from hour {} to {}: {} units late, {} on time",
                moved, from, to, late[0], on_time[0]
            );
        }

        #[test]
        fn the_carry_drains_in_a_grid_whose_wires_lose_five_to_twenty_percent(
            seed in any::<u64>(),
            producers in 1usize..6,
            loss_permille in 1_050u64..=1_200,
            start_carry in 0u64..2_000_000,
        ) {
            let (fee, tariff) = (10_000, K);
            let (charged, pattern) = day(seed, 96, producers, tariff);
            // Every hour the producers deliver what consumers used plus the losses, shared as
            // the day's pattern says (whoever has sun or a battery).
            let produced: Vec<Vec<u64>> = charged
                .iter()
                .zip(&pattern)
                .map(|(c, weights)| {
                    let used_wh = c * WH_PER_KWH / tariff;
                    let delivered = used_wh * loss_permille / 1_000;
                    let mut weights = weights.clone();
                    if weights.iter().all(|w| *w == 0) {
                        weights[0] = 1;
                    }
                    let sum: u64 = weights.iter().sum();
                    let mut shares: Vec<u64> =
                        weights.iter().map(|w| delivered * w / sum).collect();
                    shares[0] += delivered - shares.iter().sum::<u64>();
                    shares
                })
                .collect();
            let (_, carries) = settle_epochs(&charged, &produced, fee, tariff, start_carry);
            let rounding = producers as u64;
            let mut carry_in = start_carry;
            for carry_out in &carries {
                // It never grows beyond the floors' remainders...
                prop_assert!(*carry_out <= carry_in.max(rounding));
                carry_in = *carry_out;
            }
            // ...and each hour's fee (less a floor's remainder) at least drains it.
            let drained_by = start_carry.saturating_sub(96 * (fee - rounding));
            prop_assert!(carry_in <= drained_by.max(rounding));
        }
    }

    proptest! {
        #[test]
        fn settlement_conserves_every_unit_and_never_overpays(
            charged in 0u64..10_000_000_000_000,
            carried_in in 0u64..1_000_000,
            fee in 0u64..100_000_000,
            tariff in 1u64..10_000_000,
            producers in proptest::collection::vec(
                prop_oneof![Just(0u64), 0u64..2_000_000], 0..200),
        ) {
            let split = split_pool(charged, carried_in, fee, tariff, &producers).unwrap();
            let paid: u64 = split.payouts_units.iter().sum();
            // Conservation, exact: what came in is what went out plus what is carried.
            prop_assert_eq!(charged + carried_in, split.fee_units + paid + split.carried_out_units);
            prop_assert!(split.fee_units <= fee);
            let total_wh: u64 = producers.iter().sum();
            // Producers never share more than their energy is worth at the tariff.
            prop_assert!(
                split.distributable_units as u128 * WH_PER_KWH as u128
                    <= total_wh as u128 * tariff as u128
            );
            if total_wh > 0 {
                // Each floor loses less than one unit, so beyond what was withheld the carry is
                // below the producer count.
                prop_assert!(
                    split.carried_out_units - split.withheld_units < producers.len().max(1) as u64
                );
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
                prop_assert_eq!(split.distributable_units, 0);
                prop_assert_eq!(split.carried_out_units, split.withheld_units);
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
