//! Prepaid electricity: consumers draw power only while funded, anyone can fund any
//! consumer meter, and a meter that runs dry is disconnected until someone funds it again.

use energy_utility::error::EnergyError;
use energy_utility::state::MeterKind;
use energy_utility_tests::*;

async fn street() -> TestGrid {
    let mut g = TestGrid::start().await;
    for id in ["angel", "bennie", "carlos", "danny"] {
        g.add_resident(id).await;
        g.buy(id, 100).await; // 10 k each
    }
    g.add_meter("angel-roof", MeterKind::Producer, "angel")
        .await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g.add_meter("pole-7", MeterKind::Pole, "angel").await;
    g
}

#[tokio::test]
async fn an_unfunded_consumer_starts_disconnected_and_producers_connected() {
    let mut g = street().await;
    assert!(!g.meter_state("carlos-house").await.connected);
    assert!(g.meter_state("angel-roof").await.connected);
    g.report("carlos-house", 0, 500).await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert!(!meter.connected);
    assert_eq!(meter.committed_units, K / 2);
}

#[tokio::test]
async fn consumer_that_runs_dry_is_disconnected_and_reconnected_by_a_neighbours_funding() {
    let mut g = street().await;
    g.fund("carlos", "carlos-house", 2 * K).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);

    // Hour 0: 1.5 kWh of a 2 k balance — still connected.
    g.report("carlos-house", 0, 1_500).await.unwrap();
    g.report("angel-roof", 0, 2 * KWH).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    assert_eq!(g.meter_state("carlos-house").await.balance_units, K / 2);

    // Hour 1: 1 kWh against 0.5 k left — the report itself says disconnect.
    g.enter_epoch(1).await;
    g.report("carlos-house", 1, KWH).await.unwrap();
    g.report("angel-roof", 1, 2 * KWH).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);
    g.close_epoch_window(1).await;
    g.settle_all(1).await;
    let dry = g.meter_state("carlos-house").await;
    assert_eq!(dry.balance_units, 0);
    assert_eq!(dry.debt_units, K / 2);
    assert!(!dry.connected);
    assert_eq!(g.epoch_state(1).await.unpaid_units, K / 2);

    // Danny, a neighbour, funds Carlos's house: the debt is paid off first (it goes to the
    // pool for producers) and the rest is prepaid; the meter reconnects.
    g.fund("danny", "carlos-house", 3 * K).await.unwrap();
    let funded = g.meter_state("carlos-house").await;
    assert_eq!(funded.debt_units, 0);
    assert_eq!(funded.balance_units, 3 * K - K / 2);
    assert!(funded.connected);
    assert_eq!(funded.lifetime_funded_units, 5 * K);
    assert_eq!(g.coins("danny").await, 7 * K);
    let carried_by_hour_1 = g.epoch_state(1).await.carried_out_units;
    assert_eq!(g.grid_state().await.carry_units, K / 2 + carried_by_hour_1);

    // The repaid half-coin reaches the producer with the next settled epoch.
    g.enter_epoch(2).await;
    g.report("carlos-house", 2, 0).await.unwrap();
    g.report("angel-roof", 2, KWH).await.unwrap();
    g.close_epoch_window(2).await;
    g.settle_all(2).await;
    let third = g.epoch_state(2).await;
    assert_eq!(third.carried_in_units, K / 2 + carried_by_hour_1);
    assert_eq!(third.paid_units, third.distributable_units);
    assert!(g.meter_state("carlos-house").await.connected);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_lighting_pole_funded_by_two_residents_lights_until_their_coins_run_out() {
    let mut g = street().await;
    g.fund("bennie", "pole-7", 3 * K).await.unwrap();
    g.fund("danny", "pole-7", 2 * K).await.unwrap();
    let pole = g.meter_state("pole-7").await;
    assert_eq!(pole.balance_units, 5 * K);
    assert_eq!(pole.lifetime_funded_units, 5 * K);
    assert!(pole.connected);
    assert_eq!(g.coins("bennie").await, 7 * K);
    assert_eq!(g.coins("danny").await, 8 * K);
    // The pole's owner paid nothing.
    assert_eq!(g.coins("angel").await, 10 * K);

    g.report("pole-7", 0, 4 * KWH).await.unwrap();
    assert!(g.meter_state("pole-7").await.connected);
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    assert_eq!(g.meter_state("pole-7").await.balance_units, K);

    g.enter_epoch(1).await;
    g.report("pole-7", 1, 2 * KWH).await.unwrap();
    assert!(!g.meter_state("pole-7").await.connected);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn the_decision_counts_readings_not_yet_settled() {
    let mut g = street().await;
    g.fund("carlos", "carlos-house", 5 * K).await.unwrap();
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);
    // Hour 0 is not settled yet; 3 k + 2 k committed leaves nothing for hour 2.
    g.enter_epoch(1).await;
    g.report("carlos-house", 1, 2 * KWH).await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.committed_units, 5 * K);
    assert_eq!(meter.balance_units, 5 * K);
    assert!(!meter.connected);
    // A top-up while readings are pending reconnects at once.
    g.fund("carlos", "carlos-house", K).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);
}

#[tokio::test]
async fn a_late_report_within_the_grace_window_is_accepted_once() {
    let mut g = street().await;
    g.fund("carlos", "carlos-house", 5 * K).await.unwrap();
    let grid = g.grid_state().await;
    // Five minutes into hour 1, hour 0's reading is still welcome.
    g.set_time(grid.epoch_end(0).unwrap() + 300).await;
    g.report("carlos-house", 0, KWH).await.unwrap();
    g.report("carlos-house", 1, KWH).await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.pending_wh(0), Some(KWH));
    assert_eq!(meter.pending_wh(1), Some(KWH));
    assert_eq!(meter.lifetime_wh, 2 * KWH);
    g.refresh_blockhash().await;
    assert_fails_with(
        g.report("carlos-house", 0, 2 * KWH).await,
        EnergyError::DuplicateReading,
    );
    assert_eq!(g.meter_state("carlos-house").await.lifetime_wh, 2 * KWH);
}
