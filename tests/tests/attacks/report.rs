//! Reports refuse a wrong gateway, a wrong grid or epoch, a duplicate, a bad time or an impossible reading.

use super::*;

/// A report of 1 kWh for Carlos's house in `epoch`, naming `grid`, built for `gateway`'s key.
fn carlos_report(g: &TestGrid, gateway: &Keypair, grid: &Pubkey, epoch: u64) -> Instruction {
    let payer = g.ctx.payer.pubkey();
    let meter = g.meter("carlos-house").address;
    ix::report(&gateway.pubkey(), &payer, grid, &meter, epoch, KWH)
}

#[tokio::test]
async fn report_signed_by_another_gateway_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let meter = g.meter("carlos-house").address;
    // Bennie's roof gateway tries to report for Carlos's house.
    let impostor = g.meter("bennie-roof").gateway.insecure_clone();
    let instruction = ix::report(&impostor.pubkey(), &payer, &grid, &meter, 0, 999_999);
    g.assert_send_refused(&[instruction], &[&impostor], EnergyError::WrongGateway, &[])
        .await;
    assert!(!g.exists(&pda::epoch(&grid, 0)).await);
}

#[tokio::test]
async fn report_signed_by_a_rotated_out_gateway_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let new_gateway = Keypair::new();
    g.rotate_gateway("carlos-house", &new_gateway.pubkey())
        .await
        .unwrap();
    // The harness still holds the old gateway key.
    g.assert_refused(EnergyError::WrongGateway, &[], async |g| {
        g.report("carlos-house", 0, KWH).await
    })
    .await;

    let instruction = carlos_report(&g, &new_gateway, &g.grid, 0);
    g.send(&[instruction], &[&new_gateway]).await.unwrap();
    assert_eq!(g.meter_state("carlos-house").await.pending_wh(0), Some(KWH));
}

#[tokio::test]
async fn report_for_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let payer = g.ctx.payer.pubkey();
    let watched = [other.meter, pda::epoch(&other.grid, 0)];
    // The other grid's meter, signed by its own gateway, reports into this grid's epoch.
    let instruction = ix::report(
        &other.gateway.pubkey(),
        &payer,
        &g.grid,
        &other.meter,
        0,
        KWH,
    );
    g.assert_send_refused(
        &[instruction],
        &[&other.gateway],
        EnergyError::WrongGrid,
        &watched,
    )
    .await;
}

#[tokio::test]
async fn report_naming_another_grid_with_this_grids_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let gateway = g.meter("carlos-house").gateway.insecure_clone();
    let watched = [other.meter, pda::epoch(&other.grid, 0)];
    // Grid account of the other grid, meter and epoch account of this one: the epoch's seeds
    // are checked (when it is opened) before the meter's grid.
    let mut instruction = carlos_report(&g, &gateway, &other.grid, 0);
    swap_account(
        &mut instruction,
        &pda::epoch(&other.grid, 0),
        &pda::epoch(&grid, 0),
    );
    let expected = AnchorError::ConstraintSeeds;
    g.assert_send_refused(&[instruction], &[&gateway], expected, &watched)
        .await;

    // With the other grid's epoch account the seeds hold, and the meter's grid does not.
    let instruction = carlos_report(&g, &gateway, &other.grid, 0);
    g.assert_send_refused(
        &[instruction],
        &[&gateway],
        EnergyError::WrongGrid,
        &watched,
    )
    .await;
}

#[tokio::test]
async fn report_with_a_forged_epoch_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let gateway = g.meter("carlos-house").gateway.insecure_clone();
    g.report("danny-house", 0, KWH).await.unwrap();

    // Claims epoch 1 but passes epoch 0's (existing) account, or epoch 2's (not yet
    // existing) address.
    g.enter_epoch(1).await;
    for forged in [0, 2] {
        let mut instruction = carlos_report(&g, &gateway, &grid, 1);
        swap_account(
            &mut instruction,
            &pda::epoch(&grid, 1),
            &pda::epoch(&grid, forged),
        );
        let expected = AnchorError::ConstraintSeeds;
        g.assert_send_refused(&[instruction], &[&gateway], expected, &[])
            .await;
    }
}

#[tokio::test]
async fn duplicate_report_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    // A "correction" with another value.
    g.assert_refused(EnergyError::DuplicateReading, &[], async |g| {
        g.report("carlos-house", 0, KWH).await
    })
    .await;
    // The very same report again, in a new transaction.
    g.refresh_blockhash().await;
    g.assert_refused(EnergyError::DuplicateReading, &[], async |g| {
        g.report("carlos-house", 0, 3 * KWH).await
    })
    .await;

    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.consumer_readings, 1);
    assert_eq!(epoch.consumed_wh, 3 * KWH);
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.pending_wh(0), Some(3 * KWH));
    assert_eq!(meter.committed_units, 3 * K);
}

#[tokio::test]
async fn report_for_a_future_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    assert_eq!(g.current_epoch().await, 0);
    for epoch in [1, u64::MAX] {
        let watched = [pda::epoch(&grid, u64::MAX)];
        g.assert_refused(EnergyError::EpochNotStarted, &watched, async |g| {
            g.report("carlos-house", epoch, KWH).await
        })
        .await;
    }
    assert!(!g.exists(&pda::epoch(&grid, 1)).await);
}

#[tokio::test]
async fn report_after_the_grace_window_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let closes = g.reports_close_at(0).await;
    // The last second of the grace window still takes a late report ...
    g.set_time(closes - 1).await;
    g.report("carlos-house", 0, KWH).await.unwrap();
    // ... the next one does not, whether the epoch account exists or not.
    g.set_time(closes).await;
    g.assert_refused(EnergyError::EpochClosedForReports, &[], async |g| {
        g.report("danny-house", 0, KWH).await
    })
    .await;

    g.enter_epoch(3).await;
    let address = pda::epoch(&g.grid, 1);
    g.assert_refused(EnergyError::EpochClosedForReports, &[], async |g| {
        g.report("danny-house", 1, KWH).await
    })
    .await;
    assert!(!g.exists(&address).await);
}

#[tokio::test]
async fn reading_over_the_per_epoch_limit_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let limit = g.grid_state().await.params.max_wh_per_epoch;
    assert_eq!(limit, 1_000_000);
    for wh in [limit + 1, u64::MAX] {
        g.assert_refused(EnergyError::ReadingOverLimit, &[], async |g| {
            g.report("angel-roof", 0, wh).await
        })
        .await;
    }
    // The limit itself is accepted.
    g.report("angel-roof", 0, limit).await.unwrap();
}

#[tokio::test]
async fn report_into_a_ninth_unsettled_epoch_never_overwrites_and_its_energy_comes_later() {
    let mut g = TestGrid::seed_community().await;
    for epoch in 0..8 {
        g.enter_epoch(epoch).await;
        g.report("angel-roof", epoch, KWH).await.unwrap();
    }
    g.enter_epoch(8).await;
    // The ring is full: the register is taken, but no reading is made for epoch 8.
    g.report("angel-roof", 8, KWH).await.unwrap();
    let meter = g.meter_state("angel-roof").await;
    assert_eq!(
        meter.pending_wh(0),
        Some(KWH),
        "epoch 0's reading is not overwritten"
    );
    assert_eq!(meter.pending_wh(8), None);
    assert_eq!(
        (meter.last_register_wh, meter.register_wh),
        (9 * KWH, 8 * KWH)
    );
    assert_eq!(meter.lifetime_wh, 8 * KWH);

    // Once the crank catches up, the next report carries epoch 8's energy too.
    for epoch in 0..8 {
        g.settle(epoch, &["angel-roof"]).await.unwrap();
        assert_eq!(g.epoch_state(epoch).await.status, EpochStatus::Settled);
    }
    g.enter_epoch(9).await;
    g.report("angel-roof", 9, KWH).await.unwrap();
    let meter = g.meter_state("angel-roof").await;
    assert_eq!(meter.pending_wh(9), Some(2 * KWH));
    assert_eq!(meter.readings[1].hours, 2);
    assert_eq!(meter.lifetime_wh, 10 * KWH);
}

#[tokio::test]
async fn report_for_a_deactivated_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.deactivate_meter("angel-roof").await.unwrap();
    g.assert_refused(EnergyError::MeterInactive, &[], async |g| {
        g.report("angel-roof", 0, KWH).await
    })
    .await;
    // Deactivating it again is refused the same way.
    g.refresh_blockhash().await;
    g.assert_refused(EnergyError::MeterInactive, &[], async |g| {
        g.deactivate_meter("angel-roof").await
    })
    .await;
}

#[tokio::test]
async fn report_into_a_settled_and_closed_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    g.report("carlos-house", 0, KWH).await.unwrap();
    g.report("angel-roof", 0, KWH).await.unwrap();
    // During epoch 0 the admin lengthens the grace window from 600 s to 1800 s, from epoch 1.
    let longer_grace = UpdateGridArgs {
        grace_seconds: Some(1_800),
        ..Default::default()
    };
    g.update_grid(longer_grace).await.unwrap();
    // Epoch 0 closes after its own 600 s grace, is settled, and its account is closed.
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let payer = g.ctx.payer.pubkey();
    g.send(&[ix::close_epoch(&grid, 0, &payer)], &[])
        .await
        .unwrap();
    // Any later update rolls the pending parameters into the current ones.
    let price = UpdateGridArgs {
        coin_price_cents: Some(11),
        ..Default::default()
    };
    g.update_grid(price).await.unwrap();

    // Danny never reported epoch 0; 100 s after it was settled, his report must be refused.
    g.assert_refused(EnergyError::EpochClosedForReports, &[], async |g| {
        g.report("danny-house", 0, 2 * KWH).await
    })
    .await;
}

#[tokio::test]
async fn parameters_changed_during_an_epoch_do_not_apply_to_its_late_first_report() {
    let mut g = TestGrid::seed_community().await;
    // During epoch 0 the tariff doubles, from epoch 1.
    let doubled = UpdateGridArgs {
        tariff_units_per_kwh: Some(2 * K),
        ..Default::default()
    };
    g.update_grid(doubled).await.unwrap();
    // In epoch 1, any update rolls the new tariff into the current parameters ...
    let end0 = g.grid_state().await.epoch_end(0).unwrap();
    g.set_time(end0 + 100).await;
    let price = UpdateGridArgs {
        coin_price_cents: Some(11),
        ..Default::default()
    };
    g.update_grid(price).await.unwrap();
    // ... and epoch 0's first report, late but within its grace window, opens it.
    g.report("carlos-house", 0, KWH).await.unwrap();
    let epoch = g.epoch_state(0).await;
    assert_eq!(
        epoch.params.tariff_units_per_kwh, K,
        "epoch 0 keeps its tariff"
    );
    assert_eq!(epoch.billed_units, K);
}
