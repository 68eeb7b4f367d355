//! Hourly settlement: the seed's worked example, remainders carried forward, and a crank
//! that reaches the same books whatever batches it sends.

use energy_utility::error::EnergyError;
use energy_utility::state::{EpochStatus, MeterKind};
use energy_utility_tests::*;

#[tokio::test]
async fn seed_worked_example_pays_producers_pro_rata() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;

    // 4.99 k × 3/5.5 and 4.99 k × 2.5/5.5, floored to base units; 1 unit carried.
    assert_eq!(g.meter_state("angel-roof").await.balance_units, 2_721_818);
    assert_eq!(g.meter_state("bennie-roof").await.balance_units, 2_268_181);
    assert_eq!(g.treasury().await, 10_000);
    assert_eq!(g.meter_state("carlos-house").await.balance_units, 7 * K);
    assert_eq!(g.meter_state("danny-house").await.balance_units, 8 * K);

    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.status, EpochStatus::Settled);
    assert_eq!(epoch.consumed_wh, 5_000);
    assert_eq!(epoch.produced_wh, 5_500);
    assert_eq!(epoch.charged_units, 5 * K);
    assert_eq!(epoch.fee_units, 10_000);
    assert_eq!(epoch.distributable_units, 4_990_000);
    assert_eq!(epoch.paid_units, 2_721_818 + 2_268_181);
    assert_eq!(epoch.carried_out_units, 1);
    assert_eq!(
        epoch.charged_units + epoch.carried_in_units,
        epoch.fee_units + epoch.paid_units + epoch.carried_out_units
    );
    assert_eq!(g.grid_state().await.carry_units, 1);
    assert_eq!(g.pool().await, 1);

    // Producers collect their earnings into their own coin accounts.
    g.collect("angel-roof").await.unwrap();
    g.collect("bennie-roof").await.unwrap();
    assert_eq!(g.coins("angel").await, 20 * K + 2_721_818);
    assert_eq!(g.coins("bennie").await, 20 * K + 2_268_181);
    assert_eq!(g.meter_state("angel-roof").await.balance_units, 0);
    g.assert_books_balance().await;
}

/// A community with uneven readings, so rounding leaves a remainder: four consumers, three
/// producers, all funded and reported for epoch 0, which is then closed for reports.
async fn reported_epoch() -> TestGrid {
    let mut g = TestGrid::start().await;
    let consumers = [("c1", 1_234), ("c2", 777), ("c3", 3_001), ("c4", 15)];
    let producers = [("p1", 1_111), ("p2", 2_222), ("p3", 1_703)];
    for (id, _) in consumers.iter().chain(&producers) {
        g.add_resident(id).await;
    }
    for (id, wh) in consumers {
        g.buy(id, 100).await;
        g.add_meter(id, MeterKind::Household, id).await;
        g.fund(id, id, 5 * K).await.unwrap();
        g.report(id, 0, wh).await.unwrap();
    }
    for (id, wh) in producers {
        g.add_meter(id, MeterKind::Producer, id).await;
        g.report(id, 0, wh).await.unwrap();
    }
    g.close_epoch_window(0).await;
    g
}

/// Everything settlement can change, to compare two runs.
async fn books(g: &mut TestGrid) -> Vec<u64> {
    let mut out = Vec::new();
    let ids: Vec<String> = g.meters.keys().cloned().collect();
    for id in &ids {
        let m = g.meter_state(id).await;
        out.extend([
            m.balance_units,
            m.debt_units,
            m.committed_units,
            m.lifetime_units,
        ]);
    }
    let e = g.epoch_state(0).await;
    out.extend([
        e.charged_units,
        e.fee_units,
        e.paid_units,
        e.carried_out_units,
        e.consumers_charged as u64,
        e.producers_paid as u64,
    ]);
    let grid = g.grid_state().await;
    out.extend([grid.carry_units, grid.meter_balances_units]);
    out.extend([g.treasury().await, g.pool().await, g.vault().await]);
    out
}

/// Sends `batches` in order, again and again, until the epoch is settled (a producer sent
/// before every consumer is charged is skipped and must come again).
async fn crank(g: &mut TestGrid, batches: &[Vec<&str>]) {
    for _round in 0..3 {
        for batch in batches {
            if g.epoch_state(0).await.status == EpochStatus::Settled {
                return;
            }
            g.refresh_blockhash().await;
            g.settle(0, batch).await.unwrap();
        }
    }
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
}

/// A small deterministic shuffle (xorshift), so every run tries the same orders.
fn shuffled<'a>(ids: &[&'a str], seed: u64) -> Vec<&'a str> {
    let mut state = seed | 1;
    let mut out = ids.to_vec();
    for i in (1..out.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.swap(i, (state % (i as u64 + 1)) as usize);
    }
    out
}

#[tokio::test]
async fn batches_in_any_order_and_size_reach_the_same_books() {
    let mut clean = reported_epoch().await;
    clean.settle_all(0).await;
    let expected = books(&mut clean).await;
    assert_eq!(clean.treasury().await, 10_000);
    clean.assert_books_balance().await;

    let all = ["c1", "c2", "c3", "c4", "p1", "p2", "p3"];
    let mut orders: Vec<Vec<Vec<&str>>> = vec![
        vec![all.iter().rev().copied().collect()],
        vec![vec!["p1", "p2", "p3"], vec!["c1", "c2"], vec!["c3", "c4"]],
        all.iter().map(|m| vec![*m]).collect(),
        vec![vec!["c4", "p3", "c1"], vec!["p1", "c2", "c3", "p2"]],
    ];
    for seed in 1..=4u64 {
        let order = shuffled(&all, seed * 7_919);
        let size = 1 + (seed as usize % 3);
        orders.push(order.chunks(size).map(<[&str]>::to_vec).collect());
    }
    for batches in orders {
        let mut g = reported_epoch().await;
        crank(&mut g, &batches).await;
        assert_eq!(books(&mut g).await, expected, "batches {batches:?}");
        g.assert_books_balance().await;
    }
}

#[tokio::test]
async fn crank_stopped_halfway_and_repeated_batches_pay_nothing_twice() {
    let mut clean = reported_epoch().await;
    clean.settle_all(0).await;
    let expected = books(&mut clean).await;

    let mut g = reported_epoch().await;
    g.settle(0, &["c1", "c2", "p1"]).await.unwrap();
    let halfway = books(&mut g).await;
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Charging);
    // The same batch again, and again in another order: nothing moves.
    g.refresh_blockhash().await;
    g.settle(0, &["c1", "c2", "p1"]).await.unwrap();
    g.settle(0, &["p1", "c2"]).await.unwrap();
    assert_eq!(books(&mut g).await, halfway);

    // Resume: the rest of the consumers, then every producer (p1 included).
    g.settle(0, &["c3", "c4"]).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Paying);
    g.settle(0, &["p1", "p2"]).await.unwrap();
    g.settle(0, &["p2", "p3", "c1"]).await.unwrap();
    assert_eq!(books(&mut g).await, expected);

    // Once settled, any further batch is refused and changes nothing.
    g.refresh_blockhash().await;
    assert_fails_with(g.settle(0, &["p3"]).await, EnergyError::EpochAlreadySettled);
    assert_eq!(books(&mut g).await, expected);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn pools_without_producers_and_remainders_are_carried_to_the_next_epoch() {
    let mut g = TestGrid::seed_community().await;
    // Epoch 0: only consumers report; after the fee, the whole pool is carried.
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    g.report("danny-house", 0, 2 * KWH).await.unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let first = g.epoch_state(0).await;
    assert_eq!(first.fee_units, 10_000);
    assert_eq!(first.paid_units, 0);
    assert_eq!(first.carried_out_units, 4_990_000);
    assert_eq!(g.grid_state().await.carry_units, 4_990_000);

    // Epoch 1: the worked example, plus the carried 4.99 k: 9.98 k after the fee. The
    // producers' 5.5 kWh are worth 5.5 k at the tariff, and that is all they share; the rest
    // is withheld and carried on to hours whose energy is worth more than they take in.
    g.enter_epoch(1).await;
    g.report_seed_example(1).await;
    g.close_epoch_window(1).await;
    g.settle_all(1).await;
    let second = g.epoch_state(1).await;
    assert_eq!(second.carried_in_units, 4_990_000);
    let after_fee = 5 * K + 4_990_000 - 10_000;
    let distributable = 5_500_000;
    assert_eq!(second.distributable_units, distributable);
    assert_eq!(second.withheld_units, after_fee - distributable);
    let angel = distributable * 3_000 / 5_500;
    let bennie = distributable * 2_500 / 5_500;
    assert_eq!((angel, bennie), (3 * K, 2_500_000), "1 k per kWh, exactly");
    assert_eq!(g.meter_state("angel-roof").await.balance_units, angel);
    assert_eq!(g.meter_state("bennie-roof").await.balance_units, bennie);
    assert_eq!(second.carried_out_units, after_fee - angel - bennie);
    assert_eq!(g.grid_state().await.carry_units, second.carried_out_units);
    assert_eq!(g.treasury().await, 20_000);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn closing_a_settled_epoch_returns_its_rent_in_full_to_the_first_reporter() {
    let mut g = TestGrid::seed_community().await;
    let relayer = solana_keypair::Keypair::new();
    let relayer_key = solana_signer::Signer::pubkey(&relayer);
    g.airdrop(&relayer_key, 1_000_000_000).await;
    let before = g.lamports(&relayer_key).await;

    // The relayer pays the epoch account's rent for the first report; the context payer
    // pays every transaction fee, so the relayer's lamports move only by rent.
    let gateway = g.meter("carlos-house").gateway.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let grid = g.grid;
    let report = energy_utility_sdk::instructions::report(
        &solana_signer::Signer::pubkey(&gateway),
        &relayer_key,
        &grid,
        &meter,
        0,
        3 * KWH,
    );
    g.send(&[report], &[&gateway, &relayer]).await.unwrap();
    let epoch_address = energy_utility_sdk::pda::epoch(&grid, 0);
    let rent = g.lamports(&epoch_address).await;
    assert!(rent > 0);
    assert_eq!(g.lamports(&relayer_key).await, before - rent);
    assert_eq!(g.epoch_state(0).await.rent_payer, relayer_key);

    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let close = energy_utility_sdk::instructions::close_epoch(&grid, 0, &relayer_key);
    g.send(&[close], &[]).await.unwrap();
    assert!(!g.exists(&epoch_address).await);
    assert_eq!(g.lamports(&relayer_key).await, before);
}

/// Readings that look like a day: consumers follow an evening peak, producers the sun.
fn hourly_wh(hour: u64, meter: usize, producer: bool) -> u64 {
    let phase = (hour + meter as u64 * 5) % 24;
    if producer {
        let sun = if (6..19).contains(&hour) {
            12 - (hour as i64 - 12).unsigned_abs()
        } else {
            0
        };
        sun * (400 + meter as u64 * 130)
    } else {
        300 + (phase * 97 + meter as u64 * 311) % 1_700
    }
}

#[tokio::test]
async fn a_day_of_hourly_settlements_keeps_every_coin_accounted_for() {
    let mut g = TestGrid::start().await;
    let producers = ["angel", "bennie", "eve"];
    let consumers = [
        ("carlos", MeterKind::Household),
        ("danny", MeterKind::Household),
        ("fay", MeterKind::Household),
        ("pole", MeterKind::Pole),
        ("stadium", MeterKind::Stadium),
    ];
    for id in producers {
        g.add_resident(id).await;
        g.add_meter(&format!("{id}-roof"), MeterKind::Producer, id)
            .await;
    }
    for (id, kind) in consumers {
        g.add_resident(id).await;
        g.buy(id, 3_000).await; // 300 k
        g.add_meter(&format!("{id}-meter"), kind, id).await;
        // The stadium gets less than a day's worth, so it runs dry and builds debt.
        let prepaid = if kind == MeterKind::Stadium {
            10 * K
        } else {
            200 * K
        };
        g.fund(id, &format!("{id}-meter"), prepaid).await.unwrap();
    }

    let (mut fees, mut paid, mut charged, mut unpaid) = (0, 0, 0, 0);
    for hour in 0..24u64 {
        g.enter_epoch(hour).await;
        for (i, id) in producers.iter().enumerate() {
            g.report(&format!("{id}-roof"), hour, hourly_wh(hour, i, true))
                .await
                .unwrap();
        }
        for (i, (id, _)) in consumers.iter().enumerate() {
            g.report(&format!("{id}-meter"), hour, hourly_wh(hour, i, false))
                .await
                .unwrap();
        }
        g.close_epoch_window(hour).await;
        g.settle_all(hour).await;
        let e = g.epoch_state(hour).await;
        assert_eq!(
            e.charged_units + e.carried_in_units,
            e.fee_units + e.paid_units + e.carried_out_units,
            "hour {hour} conserves"
        );
        assert_eq!(e.billed_units, e.charged_units + e.unpaid_units);
        fees += e.fee_units;
        paid += e.paid_units;
        charged += e.charged_units;
        unpaid += e.unpaid_units;
        let payer = e.rent_payer;
        let grid = g.grid;
        let close = energy_utility_sdk::instructions::close_epoch(&grid, hour, &payer);
        g.send(&[close], &[]).await.unwrap();
    }

    assert_eq!(g.treasury().await, fees);
    assert_eq!(fees, 24 * 10_000);
    let mut earned = 0;
    for id in producers {
        earned += g.meter_state(&format!("{id}-roof")).await.balance_units;
    }
    assert_eq!(earned, paid);
    let carry = g.grid_state().await.carry_units;
    assert_eq!(charged, fees + paid + carry);
    assert!(unpaid > 0, "the stadium ran dry");
    let stadium = g.meter_state("stadium-meter").await;
    assert_eq!(stadium.debt_units, unpaid);
    assert!(!stadium.connected);
    assert_eq!(stadium.balance_units, 0);
    for (id, kind) in consumers {
        if kind != MeterKind::Stadium {
            assert!(
                g.meter_state(&format!("{id}-meter")).await.connected,
                "{id}"
            );
        }
    }
    for hour in 0..24 {
        assert!(
            !g.exists(&energy_utility_sdk::pda::epoch(&g.grid, hour))
                .await
        );
    }
    g.assert_books_balance().await;
}

/// An epoch closes for reports by its own grace window, which a change of the grid's
/// parameters makes differ from the grid's current one: the crank can settle it from that
/// second on, not before (the test harness used to add the current grace, and settled too early).
#[tokio::test]
async fn an_epoch_settles_once_its_own_grace_window_has_passed_after_a_change() {
    use energy_utility::instructions::UpdateGridArgs;
    let mut g = TestGrid::seed_community().await;
    let meters = ["carlos-house", "danny-house", "angel-roof", "bennie-roof"];
    // From the next epoch on, late reports get 30 minutes instead of 10.
    let longer = UpdateGridArgs {
        grace_seconds: Some(1_800),
        ..Default::default()
    };
    g.update_grid(longer).await.unwrap();
    g.enter_epoch(1).await;
    g.report_seed_example(1).await;
    assert_eq!(g.epoch_state(1).await.params.grace_seconds, 1_800);
    let closes = g.reports_close_at(1).await;
    assert_eq!(closes, g.grid_state().await.epoch_end(1).unwrap() + 1_800);

    // A second before, the epoch is still open; from that second on it settles.
    g.set_time(closes - 1).await;
    assert_fails_with(g.settle(1, &meters).await, EnergyError::EpochStillOpen);
    g.close_epoch_window(1).await;
    g.settle(1, &meters).await.unwrap();
    assert_eq!(g.epoch_state(1).await.status, EpochStatus::Settled);
    g.assert_books_balance().await;
}
