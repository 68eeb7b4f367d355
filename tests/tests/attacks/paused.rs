//! A paused grid refuses every coin movement and report until it is resumed.

use super::*;

#[tokio::test]
async fn paused_grid_refuses_reports_funding_fiat_and_settlement_until_unpaused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.set_paused(true).await.unwrap();
    assert!(g.grid_state().await.paused);

    let receipt = pda::receipt(&g.grid, "evt_paused");
    let meters = ["carlos-house", "danny-house", "angel-roof", "bennie-roof"];
    // A sale requested before the pause, and one locked for a payout.
    g.set_paused(false).await.unwrap();
    let requested = g.request_sale("carlos", K).await;
    let locked = g.lock_sale("carlos", K).await;
    g.set_paused(true).await.unwrap();
    g.refresh_blockhash().await;
    let sales = [
        g.sale_address("carlos", requested).await,
        g.sale_address("carlos", locked).await,
    ];
    let third_sale = g.sale_address("carlos", 2).await;
    let w = watch(&mut g, &[receipt, sales[0], sales[1], third_sale]).await;
    assert_fails_with(
        g.report("carlos-house", 1, KWH).await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.fund("carlos", "carlos-house", K).await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.add_fiat("carlos", 100, "evt_paused").await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.lock_withdrawal("carlos", requested, 10).await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.payout_paid("carlos", locked, "po_paused").await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.payout_failed("carlos", locked, "po_paused").await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.cancel_withdrawal("carlos", requested).await,
        EnergyError::GridPaused,
    );
    assert_fails_with(g.settle(0, &meters).await, EnergyError::GridPaused);
    // Settlement would pay the producers; collecting, withdrawing and registering wait too.
    let wallet = g.resident("carlos").wallet.insecure_clone();
    assert_fails_with(
        g.request_withdrawal("carlos", K).await,
        EnergyError::GridPaused,
    );
    let grid = g.grid;
    assert_fails_with(
        g.register_resident(&wallet, &grid, "carlos-2").await,
        EnergyError::GridPaused,
    );
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&receipt).await);
    let state: Grid = g.grid_state().await;
    assert!(state.paused);

    // Unpaused, the very same requests go through.
    g.set_paused(false).await.unwrap();
    g.refresh_blockhash().await;
    g.report("carlos-house", 1, KWH).await.unwrap();
    g.fund("carlos", "carlos-house", K).await.unwrap();
    g.add_fiat("carlos", 100, "evt_paused").await.unwrap();
    g.payout_paid("carlos", locked, "po_paused").await.unwrap();
    g.cancel_withdrawal("carlos", requested).await.unwrap();
    g.settle(0, &meters).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
    assert_eq!(g.meter_state("carlos-house").await.pending_wh(1), Some(KWH));
    let resident: Resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 0));
    // Bought 10 k, funded 1 k, sold 1 k.
    assert_eq!(g.coins("carlos").await, 10 * K - K + 10 * K - K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_pause_silences_nobody_and_silence_counts_again_from_the_resume() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.set_paused(true).await.unwrap();
    // Three epochs close while the pause refuses every report: nobody may be disconnected for
    // a silence the pause itself made.
    g.close_epoch_window(3).await;
    let house = g.meter("carlos-house").address;
    g.assert_refused(EnergyError::GridPaused, &[house], async |g| {
        g.disconnect_silent("carlos-house").await
    })
    .await;
    // Resumed in epoch 4: the silence counts from there.
    g.set_paused(false).await.unwrap();
    g.refresh_blockhash().await;
    g.assert_refused(EnergyError::MeterNotSilent, &[house], async |g| {
        g.disconnect_silent("carlos-house").await
    })
    .await;
    // Two closed epochs after the resume without a report: now it is silent.
    g.close_epoch_window(5).await;
    g.disconnect_silent("carlos-house").await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert!(meter.silent && !meter.connected);
}
