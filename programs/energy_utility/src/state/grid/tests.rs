//! The grid's ledger moves and invariant: each refusal returns its named error and changes nothing.

use super::*;
use crate::state::tests::refused;
use crate::state::MAX_TOU_PERMILLE;

fn grid() -> Grid {
    let params = EpochParams::default();
    let limits = OracleLimits::default();
    Grid {
        name: "village".into(),
        admin: Pubkey::new_unique(),
        oracle: Pubkey::new_unique(),
        mint: Pubkey::new_unique(),
        vault: Pubkey::new_unique(),
        pool: Pubkey::new_unique(),
        treasury: Pubkey::new_unique(),
        escrow: Pubkey::new_unique(),
        genesis_ts: 0,
        epoch_seconds: DEFAULT_EPOCH_SECONDS,
        params,
        params_from_epoch: 0,
        prior_params: params,
        pending_params: params,
        pending_from_epoch: NO_PENDING_EPOCH,
        coin_price_cents: DEFAULT_COIN_PRICE_CENTS,
        paused: false,
        resident_count: 0,
        meter_count: 0,
        meter_balances_units: 0,
        carry_units: 0,
        pool_in_flight_units: 0,
        escrow_units: 0,
        max_fee_units: DEFAULT_MAX_FEE_UNITS,
        oracle_limits: limits,
        mint_budget_scaled: limits.full_budget_scaled(),
        mint_budget_ts: 0,
        receipts_closed_through_ts: i64::MIN,
        silence_from_epoch: 0,
        notice_seconds: 0,
        pending_change: None,
        pending_admin: Pubkey::default(),
        prior_from_epoch: 0,
        older_peak_tariff_units_per_kwh: 0,
        payment_rules: PaymentRules::default(),
        bump: 255,
    }
}

/// (meter balances, carry, pool in flight, escrow)
fn books(g: &Grid) -> (u64, u64, u64, u64) {
    (
        g.meter_balances_units,
        g.carry_units,
        g.pool_in_flight_units,
        g.escrow_units,
    )
}

#[test]
fn residents_and_meters_are_numbered_in_registration_order() {
    let mut g = grid();
    assert_eq!(g.add_resident().unwrap(), 0);
    assert_eq!(g.add_resident().unwrap(), 1);
    assert_eq!(g.add_meter().unwrap(), 0);
    assert_eq!((g.resident_count, g.meter_count), (2, 1));
    g.resident_count = u32::MAX;
    g.meter_count = u32::MAX;
    refused(g.add_resident(), EnergyError::MathOverflow);
    refused(g.add_meter(), EnergyError::MathOverflow);
}

#[test]
fn an_epoch_moves_coins_through_the_books_and_conserves_them() {
    let mut g = grid();
    g.credit_meters(10).unwrap(); // funded
    g.carry_repaid_debt(3).unwrap(); // a debt repaid, into the pool
    g.charge_into_pool(6).unwrap(); // a consumer charged
    assert_eq!(books(&g), (4, 3, 6, 0));
    assert_eq!(g.take_carry().unwrap(), 3);
    g.take_fee(1).unwrap();
    g.pay_from_pool(7).unwrap();
    g.carry_forward(1).unwrap();
    assert_eq!(books(&g), (11, 1, 0, 0));
    g.debit_meters(11).unwrap(); // collected or refunded
    assert_eq!(books(&g), (0, 1, 0, 0));
    g.invariant().unwrap();
}

#[test]
fn coins_leaving_meter_balances_they_do_not_hold_are_a_vault_shortfall() {
    let mut g = grid();
    g.credit_meters(5).unwrap();
    refused(g.debit_meters(6), EnergyError::VaultShortfall);
    refused(g.charge_into_pool(6), EnergyError::VaultShortfall);
    assert_eq!(books(&g), (5, 0, 0, 0));
}

#[test]
fn paying_more_than_the_pool_owes_breaks_conservation() {
    let mut g = grid();
    g.credit_meters(5).unwrap();
    g.charge_into_pool(5).unwrap();
    refused(g.take_fee(6), EnergyError::ConservationViolated);
    refused(g.pay_from_pool(6), EnergyError::ConservationViolated);
    refused(g.carry_forward(6), EnergyError::ConservationViolated);
    assert_eq!(books(&g), (0, 0, 5, 0));
}

#[test]
fn book_totals_beyond_u64_overflow() {
    let mut g = grid();
    g.credit_meters(u64::MAX).unwrap();
    refused(g.credit_meters(1), EnergyError::MathOverflow);
    g.carry_repaid_debt(u64::MAX).unwrap();
    refused(g.carry_repaid_debt(1), EnergyError::MathOverflow);
    g.hold_in_escrow(u64::MAX).unwrap();
    refused(g.hold_in_escrow(1), EnergyError::MathOverflow);

    let mut g = grid();
    g.pool_in_flight_units = u64::MAX;
    g.meter_balances_units = 1;
    refused(g.charge_into_pool(1), EnergyError::MathOverflow);
    g.carry_units = 1;
    refused(g.take_carry(), EnergyError::MathOverflow);
    assert_eq!(books(&g), (1, 1, u64::MAX, 0));

    let mut g = grid();
    g.meter_balances_units = u64::MAX;
    g.pool_in_flight_units = 1;
    refused(g.pay_from_pool(1), EnergyError::MathOverflow);
    g.carry_units = u64::MAX;
    refused(g.carry_forward(1), EnergyError::MathOverflow);
    assert_eq!(books(&g), (u64::MAX, u64::MAX, 1, 0));
}

#[test]
fn the_escrow_releases_only_what_it_holds() {
    let mut g = grid();
    g.hold_in_escrow(4).unwrap();
    g.release_from_escrow(3).unwrap();
    refused(g.release_from_escrow(2), EnergyError::VaultShortfall);
    assert_eq!(g.escrow_units, 1);
}

#[test]
fn each_token_account_backs_its_book() {
    let mut g = grid();
    g.credit_meters(5).unwrap();
    g.carry_repaid_debt(2).unwrap();
    g.charge_into_pool(1).unwrap();
    g.hold_in_escrow(7).unwrap();
    // Coins sent to a grid account from outside are more than enough, never too much.
    g.check_vault(4).unwrap();
    g.check_vault(5).unwrap();
    refused(g.check_vault(3), EnergyError::VaultShortfall);
    g.check_pool(3).unwrap();
    g.check_pool(9).unwrap();
    refused(g.check_pool(2), EnergyError::VaultShortfall);
    g.check_escrow(7).unwrap();
    refused(g.check_escrow(6), EnergyError::VaultShortfall);
}

#[test]
fn the_invariant_refuses_pool_debts_beyond_u64() {
    let mut g = grid();
    g.carry_units = u64::MAX;
    g.pool_in_flight_units = 1;
    refused(g.invariant(), EnergyError::MathOverflow);
    refused(g.check_pool(u64::MAX), EnergyError::MathOverflow);
}

#[test]
fn the_invariant_refuses_a_mint_budget_above_the_limit() {
    let mut g = grid();
    g.invariant().unwrap();
    g.mint_budget_scaled += 1;
    refused(g.invariant(), EnergyError::MintLimitExceeded);
}

#[test]
fn the_invariant_refuses_a_fee_above_the_cap_in_force_before_or_waiting() {
    for field in 0..3 {
        let mut g = grid();
        let params = [&mut g.prior_params, &mut g.params, &mut g.pending_params];
        params.into_iter().nth(field).unwrap().fee_units = DEFAULT_MAX_FEE_UNITS + 1;
        refused(g.invariant(), EnergyError::FeeAboveCap);
    }
}

/// `g`'s terms with the price, oracle and limits given.
fn terms(g: &Grid, coin_price_cents: u64, oracle: Pubkey, oracle_limits: OracleLimits) -> Terms {
    Terms {
        coin_price_cents,
        oracle,
        oracle_limits,
        payment_rules: g.payment_rules,
    }
}

/// A grid with 72 hours' notice, at `now` = 10 hours after genesis.
fn noticed() -> Grid {
    Grid {
        notice_seconds: 72 * 3_600,
        ..grid()
    }
}

#[test]
fn a_change_applies_from_the_first_epoch_after_the_notice_and_never_to_the_current_one() {
    let now = 10 * 3_600 + 1_234;
    assert_eq!(noticed().first_epoch_after_notice(now).unwrap(), 83);
    // Exactly on an epoch boundary, that epoch is the first.
    assert_eq!(noticed().first_epoch_after_notice(10 * 3_600).unwrap(), 82);
    // Without notice: the next epoch, as the epoch in progress keeps its terms.
    assert_eq!(grid().first_epoch_after_notice(now).unwrap(), 11);
    assert_eq!(grid().first_epoch_after_notice(10 * 3_600).unwrap(), 11);
}

#[test]
fn a_proposed_price_and_oracle_apply_only_once_the_notice_has_passed() {
    let mut g = noticed();
    let now = 10 * 3_600;
    let oracle = Pubkey::new_unique();
    g.propose_terms(terms(&g, 5, oracle, g.oracle_limits), now)
        .unwrap();
    assert_eq!((g.coin_price_cents, g.coin_price_at(now)), (10, 10));
    let due = now + 72 * 3_600;
    assert_eq!(g.coin_price_at(due - 1), 10);
    assert_eq!((g.coin_price_at(due), g.oracle_at(due)), (5, oracle));
    assert!(g.roll_changes(due).unwrap());
    assert_eq!(
        (g.coin_price_cents, g.oracle, g.pending_change),
        (5, oracle, None)
    );
    g.invariant().unwrap();
}

#[test]
fn tightening_the_mint_limit_applies_at_once_and_loosening_waits() {
    let mut g = noticed();
    let now = 10 * 3_600;
    let (price, oracle) = (g.coin_price_cents, g.oracle);
    let tighter = OracleLimits {
        mint_limit_units: g.oracle_limits.mint_limit_units / 2,
        ..g.oracle_limits
    };
    g.propose_terms(terms(&g, price, oracle, tighter), now)
        .unwrap();
    assert_eq!((g.oracle_limits, g.pending_change), (tighter, None));
    let looser = OracleLimits {
        mint_limit_units: tighter.mint_limit_units * 4,
        ..tighter
    };
    g.propose_terms(terms(&g, price, oracle, looser), now)
        .unwrap();
    assert_eq!(g.oracle_limits, tighter);
    assert_eq!(g.oracle_limits_at(now + 72 * 3_600), looser);
    g.propose_terms(terms(&g, price, oracle, tighter), now)
        .unwrap();
    // A smaller limit over a shorter window can still be a faster rate: it waits; a smaller
    // limit at no faster a rate does not.
    let faster = OracleLimits {
        mint_limit_units: tighter.mint_limit_units / 2,
        mint_window_seconds: tighter.mint_window_seconds / 4,
        ..tighter
    };
    g.propose_terms(terms(&g, price, oracle, faster), now)
        .unwrap();
    assert_eq!(g.oracle_limits, tighter);
    let slower = OracleLimits {
        mint_limit_units: tighter.mint_limit_units / 2,
        mint_window_seconds: tighter.mint_window_seconds / 2,
        ..tighter
    };
    g.propose_terms(terms(&g, price, oracle, slower), now)
        .unwrap();
    assert_eq!((g.oracle_limits, g.pending_change), (slower, None));
    // A longer retention waits too: a receipt kept longer changes what may be minted.
    let mut g = noticed();
    let oracle = g.oracle;
    let longer = OracleLimits {
        receipt_retention_seconds: g.oracle_limits.receipt_retention_seconds + 1,
        ..g.oracle_limits
    };
    g.propose_terms(terms(&g, price, oracle, longer), now)
        .unwrap();
    assert_ne!(g.oracle_limits, longer);
    // Proposing the terms in force withdraws what waits.
    let limits = g.oracle_limits;
    g.propose_terms(terms(&g, price, oracle, limits), now)
        .unwrap();
    assert_eq!(g.pending_change, None);
}

#[test]
fn a_reading_over_epochs_of_several_tariffs_pays_the_highest() {
    let mut g = grid();
    let tariff = |t: u64| EpochParams {
        tariff_units_per_kwh: t,
        ..EpochParams::default()
    };
    // Tariff 3 from epoch 0, 1 from epoch 5, 2 from epoch 9, 4 pending from epoch 12.
    for (from, t) in [(5, 1), (9, 2), (12, 4)] {
        g.pending_params = tariff(t);
        g.pending_from_epoch = from;
        g.roll_params(from);
    }
    g.pending_params = tariff(4);
    g.pending_from_epoch = 12;
    g.params = tariff(2);
    g.params_from_epoch = 9;
    g.prior_params = tariff(1);
    g.prior_from_epoch = 5;
    g.older_peak_tariff_units_per_kwh = 3;
    assert_eq!(g.highest_tariff(6, 8), 1);
    assert_eq!(g.highest_tariff(6, 9), 2);
    assert_eq!(g.highest_tariff(10, 11), 2);
    assert_eq!(g.highest_tariff(11, 12), 4);
    assert_eq!(
        g.highest_tariff(4, 6),
        3,
        "before the sets it keeps: the highest of them"
    );
    g.invariant().unwrap();
}

#[test]
fn a_payment_dated_at_or_before_a_closed_receipt_is_refused_whatever_the_retention() {
    let mut g = grid();
    let now = 100 * 86_400;
    assert!(g.accepts_payment_at(now - 10 * 86_400, now));
    g.record_closed_receipt(now - 10 * 86_400);
    assert!(!g.accepts_payment_at(now - 10 * 86_400, now));
    assert!(!g.accepts_payment_at(now - 11 * 86_400, now));
    assert!(g.accepts_payment_at(now - 10 * 86_400 + 1, now));
}

#[test]
fn resuming_a_paused_grid_restarts_the_silence_count() {
    let mut g = grid();
    g.set_paused(true, 2 * 3_600).unwrap();
    assert_eq!(g.silence_from_epoch, 0);
    g.set_paused(false, 5 * 3_600 + 10).unwrap();
    assert_eq!((g.paused, g.silence_from_epoch), (false, 5));
}

#[test]
fn the_last_closed_epoch_uses_that_epochs_own_grace() {
    let mut g = grid();
    // Epoch 4 kept a 600 s grace; from epoch 5 the grace is 1,800 s.
    g.pending_params = EpochParams {
        grace_seconds: 1_800,
        ..g.params
    };
    g.pending_from_epoch = 5;
    let now = 5 * 3_600 + 700;
    assert_eq!(g.last_closed_epoch(now), Some(4));
    assert_eq!(g.last_closed_epoch(5 * 3_600 + 500), Some(3));
}

/// Weekday evenings 17:00-21:00 at 2×, nights 00:00-06:00 at ½, weekends flat.
fn peak_evenings() -> TimeOfUse {
    let mut tou = TimeOfUse::FLAT;
    for h in 17..21 {
        tou.weekday_permille[h] = 2_000;
    }
    for h in 0..6 {
        tou.weekday_permille[h] = 500;
    }
    tou
}

#[test]
fn each_epoch_opens_at_its_hours_tariff() {
    let mut g = grid();
    // Genesis on Monday 2026-12-07 00:00 UTC; the grid keeps UTC+2.
    g.genesis_ts = 1_796_601_600;
    g.params.time_of_use = peak_evenings();
    g.params.utc_offset_seconds = 2 * 3_600;
    g.params.validate(g.epoch_seconds, g.max_fee_units).unwrap();
    let base = g.params.tariff_units_per_kwh;
    // Epoch 15 starts at 15:00 UTC, 17:00 local: the evening peak.
    assert_eq!(g.params_opening(15).unwrap().tariff_units_per_kwh, 2 * base);
    assert_eq!(g.params_opening(14).unwrap().tariff_units_per_kwh, base);
    // 22:00 UTC Sunday is 00:00 local Monday; 04:00 UTC Monday is 06:00 local.
    assert_eq!(g.params_opening(0).unwrap().tariff_units_per_kwh, base / 2);
    assert_eq!(g.params_opening(3).unwrap().tariff_units_per_kwh, base / 2);
    assert_eq!(g.params_opening(4).unwrap().tariff_units_per_kwh, base);
    // Saturday 17:00 local: weekends are flat.
    assert_eq!(
        g.params_opening(5 * 24 + 15).unwrap().tariff_units_per_kwh,
        base
    );
    // A reading over 14:00..16:00 UTC pays the peak; over the night, half; over more than
    // a week, the week's dearest hour.
    assert_eq!(g.highest_tariff(12, 14), base);
    assert_eq!(g.highest_tariff(12, 16), 2 * base);
    assert_eq!(g.highest_tariff(0, 3), base / 2);
    assert_eq!(g.highest_tariff(0, 400), 2 * base);
    // Epochs of 15 minutes: each hour counts once, at the hour the epoch starts in.
    g.epoch_seconds = 900;
    assert_eq!(g.highest_tariff(0, 15), base / 2);
    assert_eq!(g.highest_tariff(0, 16), base);
    assert_eq!(g.highest_tariff(0, 200 * 4), 2 * base);
}

#[test]
fn time_of_use_and_credit_rules_are_validated() {
    let g = grid();
    let mut p = EpochParams::default();
    p.time_of_use.weekend_permille[3] = 0;
    assert_eq!(
        p.validate(g.epoch_seconds, g.max_fee_units).unwrap_err(),
        error!(EnergyError::InvalidTariff)
    );
    p.time_of_use.weekend_permille[3] = MAX_TOU_PERMILLE + 1;
    assert!(p.validate(g.epoch_seconds, g.max_fee_units).is_err());
    p.time_of_use = TimeOfUse::FLAT;
    p.utc_offset_seconds = 15 * 3_600;
    assert_eq!(
        p.validate(g.epoch_seconds, g.max_fee_units).unwrap_err(),
        error!(EnergyError::InvalidCreditRules)
    );
    p.utc_offset_seconds = -14 * 3_600;
    p.validate(g.epoch_seconds, g.max_fee_units).unwrap();
    // The dearest hour's bill must fit.
    p.tariff_units_per_kwh = (u64::MAX as u128 * 1_000 / p.max_wh_per_epoch as u128) as u64;
    p.validate(g.epoch_seconds, g.max_fee_units).unwrap();
    p.time_of_use.weekday_permille[9] = 2_000;
    assert_eq!(
        p.validate(g.epoch_seconds, g.max_fee_units).unwrap_err(),
        error!(EnergyError::AmountTooLarge)
    );
}

#[test]
fn friendly_hours_follow_the_grids_local_time() {
    let mut g = grid();
    g.genesis_ts = 1_796_601_600; // Monday 00:00 UTC
                                  // 18:00-08:00 on weekdays, all weekend, local time UTC-5.
    let mut mask = 0u64;
    for h in (0..8).chain(18..24) {
        mask |= 1 << h;
    }
    mask |= ((1u64 << 24) - 1) << 24;
    g.params.credit.friendly_hours = mask;
    g.params.utc_offset_seconds = -5 * 3_600;
    let monday = g.genesis_ts;
    // Monday 00:00 UTC is Sunday 19:00 local: friendly.
    assert!(g.is_friendly_at(monday));
    // Monday 13:00 UTC is 08:00 local: not.
    assert!(!g.is_friendly_at(monday + 13 * 3_600));
    assert!(g.is_friendly_at(monday + 12 * 3_600));
    // Tuesday 23:00 UTC is 18:00 local: friendly.
    assert!(g.is_friendly_at(monday + 47 * 3_600));
    // A holiday: all of Wednesday local.
    g.params.credit.holidays[0] = LocalTime::at(monday + 60 * 3_600, -5 * 3_600).day as u32;
    assert!(g.is_friendly_at(monday + 60 * 3_600));
    // Before genesis nothing is friendly (no epoch).
    assert!(!g.is_friendly_at(monday - 1));
}
