//! Meters report their cumulative register: hours nobody reported are billed (or paid) with the
//! next report, a silent consumer is disconnected, a register never goes back, no reading
//! exceeds the meter's capacity, a replaced meter keeps its history, an implausible epoch is
//! flagged, and a crank that falls far behind costs nobody a kWh.

use energy_utility::error::EnergyError;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{EpochParams, MeterKind};
use energy_utility_sdk::pda;
use energy_utility_tests::*;

/// Carlos's house (20 kW service) with 20 k prepaid, and Angel's 5 kW roof.
async fn street() -> TestGrid {
    let mut g = TestGrid::start().await;
    for id in ["angel", "carlos"] {
        g.add_resident(id).await;
        g.buy(id, 500).await;
    }
    g.add_meter_with("angel-roof", MeterKind::Producer, "angel", 5_000, 0)
        .await;
    g.add_meter_with("carlos-house", MeterKind::Household, "carlos", 20_000, 0)
        .await;
    g.fund("carlos", "carlos-house", 20 * K).await.unwrap();
    g
}

#[tokio::test]
async fn a_consumer_silent_for_three_hours_pays_for_all_of_them_and_is_dark_while_silent() {
    let mut g = street().await;
    // Epoch 0: 1 kWh.
    g.report_register("carlos-house", 0, KWH).await.unwrap();
    g.report_register("angel-roof", 0, 1_100).await.unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    assert_eq!(g.meter_state("carlos-house").await.balance_units, 19 * K);

    // The gateway is unplugged during epochs 1, 2 and 3 while the house draws 1 kWh an hour.
    // Once two closed epochs have passed without a report, the crank disconnects it.
    g.enter_epoch(2).await;
    g.close_epoch_window(2).await;
    assert_fails_with(
        g.disconnect_silent("angel-roof").await,
        EnergyError::MeterNotSilent,
    );
    g.disconnect_silent("carlos-house").await.unwrap();
    let dark = g.meter_state("carlos-house").await;
    assert!(dark.silent && !dark.connected, "silence is not free power");
    // Disconnecting it twice is refused, changing nothing.
    g.refresh_blockhash().await;
    assert_fails_with(
        g.disconnect_silent("carlos-house").await,
        EnergyError::MeterNotSilent,
    );

    // Back in epoch 4 its register says 5 kWh: the 4 kWh since epoch 0 are one reading over
    // epochs 1 to 4, billed now, and the house reconnects since its balance covers them.
    g.enter_epoch(4).await;
    g.report_register("carlos-house", 4, 5 * KWH).await.unwrap();
    g.report_register("angel-roof", 4, 5_500).await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.pending_wh(4), Some(4 * KWH));
    let reading = meter.readings[4];
    assert_eq!((reading.epoch, reading.hours), (4, 4));
    assert!(!meter.silent && meter.connected);
    assert_eq!(meter.committed_units, 4 * K);
    g.close_epoch_window(4).await;
    g.settle_all(4).await;
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(
        meter.lifetime_wh,
        5 * KWH,
        "every kWh the register counted is billed"
    );
    assert_eq!(meter.balance_units, 15 * K);
    // And the roof is paid for its 4.4 kWh of the same hours, minus the hour's fee.
    assert_eq!(g.epoch_state(4).await.paid_units, 4 * K - 10_000);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_silent_consumer_stays_dark_until_it_reports_and_can_pay() {
    let mut g = street().await;
    g.report_register("carlos-house", 0, KWH).await.unwrap();
    g.enter_epoch(3).await;
    g.disconnect_silent("carlos-house").await.unwrap();
    // A neighbour's funding does not switch a silent meter back on: only a report does.
    g.fund("angel", "carlos-house", 5 * K).await.unwrap();
    assert!(!g.meter_state("carlos-house").await.connected);
    // It reports 30 kWh for four hours: more than its 25 k covers, so it stays dark.
    g.report_register("carlos-house", 3, 31 * KWH)
        .await
        .unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert!(!meter.silent && !meter.connected);
    assert_eq!(meter.committed_units, 31 * K);
}

#[tokio::test]
async fn a_register_that_goes_backwards_is_refused_and_nothing_changes() {
    let mut g = street().await;
    g.report_register("carlos-house", 0, 5 * KWH).await.unwrap();
    g.enter_epoch(1).await;
    let w = watch(&mut g, &[]).await;
    assert_fails_with(
        g.report_register("carlos-house", 1, 5 * KWH - 1).await,
        EnergyError::RegisterWentBackwards,
    );
    assert_unchanged(&mut g, &w).await;
    // The same register again is a valid (zero) reading.
    g.report_register("carlos-house", 1, 5 * KWH).await.unwrap();
    assert_eq!(g.meter_state("carlos-house").await.pending_wh(1), Some(0));
}

#[tokio::test]
async fn reports_come_once_per_epoch_and_in_order() {
    let mut g = street().await;
    // A minute into epoch 1, while epoch 0 still takes late reports.
    let epoch_1 = g.grid_state().await.epoch_end(0).unwrap();
    g.set_time(epoch_1 + 60).await;
    // Epoch 1 first (the gateway's clock was right), then a late report for epoch 0.
    g.report_register("carlos-house", 1, KWH).await.unwrap();
    let w = watch(&mut g, &[]).await;
    assert_fails_with(
        g.report_register("carlos-house", 0, KWH).await,
        EnergyError::ReadingOutOfOrder,
    );
    g.refresh_blockhash().await;
    assert_fails_with(
        g.report_register("carlos-house", 1, 2 * KWH).await,
        EnergyError::DuplicateReading,
    );
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn a_producer_reporting_a_hundred_times_its_capacity_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Bennie's roof has a 3 kW inverter; it really made 2.5 kWh.
    g.set_meter_capacity("bennie-roof", 3_000).await.unwrap();
    let w = watch(&mut g, &[]).await;
    assert_fails_with(
        g.report("bennie-roof", 0, 250 * KWH).await,
        EnergyError::ReadingOverCapacity,
    );
    // Just over what 3 kW can deliver in an hour.
    assert_fails_with(
        g.report("bennie-roof", 0, 3_001).await,
        EnergyError::ReadingOverCapacity,
    );
    assert_unchanged(&mut g, &w).await;
    // The honest reading goes through, and the pool is shared as the design says.
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    assert_eq!(g.meter_state("angel-roof").await.balance_units, 2_721_818);
    assert_eq!(g.meter_state("bennie-roof").await.balance_units, 2_268_181);
}

#[tokio::test]
async fn capacity_counts_every_hour_a_reading_covers() {
    let mut g = street().await;
    // Angel's 5 kW roof is silent for epochs 0 to 2, then reports 20 kWh in epoch 3: what 5 kW
    // delivers in the 4 hours since it was installed, so it is accepted.
    g.enter_epoch(3).await;
    g.report_register("angel-roof", 3, 20 * KWH).await.unwrap();
    let roof = g.meter_state("angel-roof").await;
    assert_eq!((roof.readings[3].wh, roof.readings[3].hours), (20 * KWH, 4));
    // The next hour: 5 kWh and one Wh more is beyond 5 kW.
    g.enter_epoch(4).await;
    assert_fails_with(
        g.report_register("angel-roof", 4, 25 * KWH + 1).await,
        EnergyError::ReadingOverCapacity,
    );
    g.report_register("angel-roof", 4, 25 * KWH).await.unwrap();
}

#[tokio::test]
async fn a_replaced_meter_keeps_its_history_and_goes_on_from_its_new_register() {
    // The meter's register stood at 12,345 kWh when it was installed here.
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.buy("carlos", 500).await;
    g.add_meter_with(
        "carlos-house",
        MeterKind::Household,
        "carlos",
        20_000,
        12_345 * KWH,
    )
    .await;
    g.fund("carlos", "carlos-house", 20 * K).await.unwrap();
    g.report_register("carlos-house", 0, 12_347 * KWH)
        .await
        .unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    // The meter breaks and is replaced: the new one starts at 0.
    g.enter_epoch(1).await;
    assert_fails_with(
        g.report_register("carlos-house", 1, 0).await,
        EnergyError::RegisterWentBackwards,
    );
    g.replace_meter_register("carlos-house", 0).await.unwrap();
    g.report_register("carlos-house", 1, 3 * KWH).await.unwrap();
    let state = g.meter_state("carlos-house").await;
    assert_eq!(state.pending_wh(1), Some(3 * KWH));
    assert_eq!(
        state.lifetime_wh,
        5 * KWH,
        "the old meter's 2 kWh stay in its history"
    );
    assert_eq!(state.lifetime_units, 2 * K);
    assert!(state.is_settled(0));
    assert_eq!(state.last_register_wh, 3 * KWH);
}

#[tokio::test]
async fn an_epoch_outside_the_loss_band_is_flagged_and_a_plausible_one_is_not() {
    let mut g = TestGrid::seed_community().await;
    // The worked example: 5.5 kWh produced for 5 consumed, a ratio of 1.1.
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let plausible = g.epoch_state(0).await;
    assert_eq!(plausible.loss_ratio_permille, 1_100);
    assert!(!plausible.outside_loss_band);

    // Epoch 1: producers claim 9 kWh for 5 consumed (1.8): something is wrong.
    g.enter_epoch(1).await;
    for (meter, wh) in [
        ("carlos-house", 3 * KWH),
        ("danny-house", 2 * KWH),
        ("angel-roof", 5 * KWH),
        ("bennie-roof", 4 * KWH),
    ] {
        g.report(meter, 1, wh).await.unwrap();
    }
    g.close_epoch_window(1).await;
    g.settle_all(1).await;
    let flagged = g.epoch_state(1).await;
    assert_eq!(flagged.loss_ratio_permille, 1_800);
    assert!(flagged.outside_loss_band);

    // Epoch 2: consumers use more than producers made (0.8): flagged too.
    g.enter_epoch(2).await;
    for (meter, wh) in [
        ("carlos-house", 3 * KWH),
        ("danny-house", 2 * KWH),
        ("angel-roof", 2 * KWH),
        ("bennie-roof", 2 * KWH),
    ] {
        g.report(meter, 2, wh).await.unwrap();
    }
    g.close_epoch_window(2).await;
    g.settle_all(2).await;
    assert!(g.epoch_state(2).await.outside_loss_band);
}

#[tokio::test]
async fn the_loss_band_and_silence_are_grid_parameters() {
    let mut g = TestGrid::start_with(EpochParams {
        loss_band_min_permille: 900,
        loss_band_max_permille: 2_000,
        max_silent_epochs: 5,
        ..EpochParams::default()
    })
    .await;
    let params = g.grid_state().await.params;
    assert_eq!(
        (
            params.loss_band_min_permille,
            params.loss_band_max_permille,
            params.max_silent_epochs
        ),
        (900, 2_000, 5)
    );
    let result = g
        .update_grid(UpdateGridArgs {
            max_silent_epochs: Some(0),
            ..Default::default()
        })
        .await;
    assert_fails_with(result, EnergyError::InvalidReadingRules);
}

#[tokio::test]
async fn a_crank_thirty_epochs_late_costs_nobody_a_kwh_once_it_catches_up() {
    let mut g = street().await;
    g.fund("angel", "carlos-house", 20 * K).await.unwrap();
    // 31 hours of honest reports, 1 kWh used and 1.1 kWh produced each hour; nobody cranks.
    let mut register = (0, 0);
    for epoch in 0..31 {
        g.enter_epoch(epoch).await;
        register = (register.0 + KWH, register.1 + 1_100);
        g.report_register("carlos-house", epoch, register.0)
            .await
            .unwrap();
        g.report_register("angel-roof", epoch, register.1)
            .await
            .unwrap();
    }
    // Only eight readings fit each meter's ring; the other reports were kept as registers.
    let house = g.meter_state("carlos-house").await;
    assert_eq!(house.lifetime_wh, 8 * KWH);
    assert_eq!(house.last_register_wh, 31 * KWH);

    // The crank catches up on every epoch (the empty ones settle with no readings).
    g.enter_epoch(31).await;
    g.close_epoch_window(30).await;
    for epoch in 0..31 {
        g.settle_all(epoch).await;
    }
    // The next report carries everything since epoch 7's reading: 24 kWh over epochs 8 to 32.
    g.enter_epoch(32).await;
    g.report_register("carlos-house", 32, 32 * KWH)
        .await
        .unwrap();
    g.report_register("angel-roof", 32, 32 * 1_100)
        .await
        .unwrap();
    let house = g.meter_state("carlos-house").await;
    assert_eq!(house.pending_wh(32), Some(24 * KWH));
    assert_eq!(house.readings[0].hours, 25);
    g.close_epoch_window(32).await;
    g.settle_all(32).await;
    let house = g.meter_state("carlos-house").await;
    let roof = g.meter_state("angel-roof").await;
    assert_eq!(house.lifetime_wh, 32 * KWH, "every kWh used was billed");
    assert_eq!(
        roof.lifetime_wh,
        32 * 1_100,
        "every kWh produced was paid for"
    );
    assert_eq!(house.lifetime_units, 32 * K);
    // The empty epochs took no fee and kept nothing: all the coins reached the producer.
    let fees: u64 = g.treasury().await;
    assert_eq!(fees, 9 * 10_000, "one fee per epoch with readings");
    assert_eq!(
        roof.lifetime_units + fees + g.grid_state().await.carry_units,
        32 * K
    );
    // Every epoch that had a report, recorded or kept as a register, is settled and closable.
    for epoch in (0..=30).chain([32]) {
        assert_eq!(
            g.epoch_state(epoch).await.status,
            energy_utility::state::EpochStatus::Settled,
            "epoch {epoch}"
        );
    }
    assert!(!g.exists(&pda::epoch(&g.grid, 31)).await);
    g.assert_books_balance().await;
}

/// Carlos's house with its ring full: eight hourly readings of 1 kWh (8 k committed of its
/// 20 k) that nobody has settled, in epochs 0 to 7.
async fn street_with_a_full_ring() -> TestGrid {
    let mut g = street().await;
    for epoch in 0..8 {
        g.enter_epoch(epoch).await;
        g.report_register("carlos-house", epoch, (epoch + 1) * KWH)
            .await
            .unwrap();
    }
    assert_eq!(g.meter_state("carlos-house").await.committed_units, 8 * K);
    g
}

#[tokio::test]
async fn energy_kept_while_the_crank_is_behind_counts_against_the_prepaid_balance() {
    let mut g = street_with_a_full_ring().await;
    // Epochs 8 to 10: the house draws 5 kWh an hour; each report is kept as a register.
    for (epoch, register) in [(8, 13), (9, 18), (10, 23)] {
        g.enter_epoch(epoch).await;
        g.report_register("carlos-house", epoch, register * KWH)
            .await
            .unwrap();
    }
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.last_register_wh - meter.register_wh, 15 * KWH);
    assert_eq!(meter.deferred_units, 15 * K, "the kept 15 kWh at 1 k/kWh");
    // 8 k committed and 15 k kept are more than its 20 k: no more power on credit.
    assert!(!meter.connected, "a kept register is not free power");
    // Funding that covers it switches it back on.
    g.buy("carlos", 50).await;
    g.fund("carlos", "carlos-house", 4 * K).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);

    // Once the crank catches up, the next report bills the kept energy and nothing is kept.
    g.enter_epoch(11).await;
    g.close_epoch_window(10).await;
    for epoch in 0..11 {
        g.settle_all(epoch).await;
    }
    g.report_register("carlos-house", 11, 24 * KWH)
        .await
        .unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.deferred_units, 0);
    assert_eq!(meter.pending_wh(11), Some(16 * KWH));
    assert_eq!(meter.committed_units, 16 * K);
}

#[tokio::test]
async fn a_meter_with_kept_energy_is_neither_replaced_nor_retired_until_it_is_billed() {
    let mut g = street_with_a_full_ring().await;
    g.enter_epoch(8).await;
    g.report_register("carlos-house", 8, 11 * KWH)
        .await
        .unwrap();
    let house = g.meter("carlos-house").address;
    // Replacing the register now would erase the 2 kWh kept; retiring would refund them.
    g.assert_refused(EnergyError::MeterHasDeferredEnergy, &[house], async |g| {
        g.replace_meter_register("carlos-house", 0).await
    })
    .await;
    let carlos = g.resident("carlos").coins;
    g.assert_refused(
        EnergyError::MeterHasDeferredEnergy,
        &[house, carlos],
        async |g| g.deactivate_meter("carlos-house").await,
    )
    .await;
    // Settled and reported once more, the energy is a reading: now both are allowed.
    g.enter_epoch(9).await;
    g.close_epoch_window(8).await;
    for epoch in 0..9 {
        g.settle_all(epoch).await;
    }
    g.report_register("carlos-house", 9, 11 * KWH)
        .await
        .unwrap();
    assert_eq!(
        g.meter_state("carlos-house").await.pending_wh(9),
        Some(3 * KWH)
    );
    g.replace_meter_register("carlos-house", 0).await.unwrap();
    g.deactivate_meter("carlos-house").await.unwrap();
    assert_eq!(g.meter_state("carlos-house").await.lifetime_wh, 11 * KWH);
}
