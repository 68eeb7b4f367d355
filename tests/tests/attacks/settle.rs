//! The settlement crank refuses open or settled epochs, forged epochs and bad batches.

use super::*;

#[tokio::test]
async fn settle_an_open_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    let closes = g.reports_close_at(0).await;
    let meters = ["carlos-house", "danny-house", "angel-roof", "bennie-roof"];
    // During the epoch ...
    let w = watch(&mut g, &[]).await;
    let result = g.settle(0, &meters).await;
    assert_fails_with(result, EnergyError::EpochStillOpen);
    assert_unchanged(&mut g, &w).await;
    // ... and in the last second of its grace window.
    g.set_time(closes - 1).await;
    let result = g.settle(0, &meters).await;
    assert_fails_with(result, EnergyError::EpochStillOpen);
    assert_unchanged(&mut g, &w).await;
    g.set_time(closes).await;
    g.settle(0, &meters).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
}

#[tokio::test]
async fn settle_an_already_settled_epoch_is_refused() {
    let mut g = settled_community().await;
    let w = watch(&mut g, &[]).await;
    g.refresh_blockhash().await;
    let result = g
        .settle(
            0,
            &["carlos-house", "danny-house", "angel-roof", "bennie-roof"],
        )
        .await;
    assert_fails_with(result, EnergyError::EpochAlreadySettled);
    assert_unchanged(&mut g, &w).await;
    let result = g.settle(0, &[]).await;
    assert_fails_with(result, EnergyError::EpochAlreadySettled);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn settle_batch_with_the_same_meter_twice_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let w = watch(&mut g, &[]).await;
    let result = g
        .settle(0, &["carlos-house", "angel-roof", "carlos-house"])
        .await;
    assert_fails_with(result, EnergyError::DuplicateMeterInBatch);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn settle_batch_with_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    g.report_seed_example(0).await;
    // The other grid's meter has a reading for its own epoch 0.
    g.send(
        &[ix::report(
            &other.gateway.pubkey(),
            &payer,
            &other.grid,
            &other.meter,
            0,
            KWH,
        )],
        &[&other.gateway],
    )
    .await
    .unwrap();
    g.close_epoch_window(0).await;
    let carlos = g.meter("carlos-house").address;
    let w = watch(&mut g, &[other.meter, pda::epoch(&other.grid, 0)]).await;
    let result = g
        .send(&[ix::settle(&grid, 0, &[carlos, other.meter])], &[])
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn settle_batch_with_accounts_that_are_not_meters_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let grid = g.grid;
    let carlos = g.meter("carlos-house").address;
    let w = watch(&mut g, &[]).await;
    // The grid itself, a resident, the epoch account (program accounts of other types), a
    // coin account (a token account) and a wallet (a system account).
    let impostors = [
        grid,
        g.resident("danny").resident,
        pda::epoch(&grid, 0),
        g.resident("danny").coins,
        g.resident("danny").wallet.pubkey(),
    ];
    for impostor in impostors {
        let result = g
            .send(&[ix::settle(&grid, 0, &[carlos, impostor])], &[])
            .await;
        assert_fails_with(result, EnergyError::NotAMeter);
        assert_unchanged(&mut g, &w).await;
    }
}

#[tokio::test]
async fn settle_batch_with_a_read_only_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let grid = g.grid;
    let carlos = g.meter("carlos-house").address;
    let danny = g.meter("danny-house").address;
    let mut instruction = ix::settle(&grid, 0, &[carlos, danny]);
    instruction.accounts.last_mut().unwrap().is_writable = false;
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[]).await;
    assert_fails_with(result, EnergyError::MeterNotWritable);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn settle_batch_with_a_meter_without_a_reading_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    g.report("angel-roof", 0, 3 * KWH).await.unwrap();
    g.close_epoch_window(0).await;
    let w = watch(&mut g, &[]).await;
    let result = g.settle(0, &["carlos-house", "danny-house"]).await;
    assert_fails_with(result, EnergyError::MeterHasNoReading);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn settle_with_a_forged_epoch_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    g.send(
        &[ix::report(
            &other.gateway.pubkey(),
            &payer,
            &other.grid,
            &other.meter,
            0,
            KWH,
        )],
        &[&other.gateway],
    )
    .await
    .unwrap();
    g.enter_epoch(1).await;
    g.report("carlos-house", 1, KWH).await.unwrap();
    let carlos = g.meter("carlos-house").address;
    let w = watch(&mut g, &[pda::epoch(&other.grid, 0)]).await;
    // Settle epoch 0 with epoch 1's account, and with the other grid's epoch 0.
    for forged in [pda::epoch(&grid, 1), pda::epoch(&other.grid, 0)] {
        let mut instruction = ix::settle(&grid, 0, &[carlos]);
        swap_account(&mut instruction, &pda::epoch(&grid, 0), &forged);
        let result = g.send(&[instruction], &[]).await;
        assert_fails_with(result, AnchorError::ConstraintSeeds);
        assert_unchanged(&mut g, &w).await;
    }
}

#[tokio::test]
async fn close_epoch_of_an_unsettled_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[ix::close_epoch(&grid, 0, &payer)], &[]).await;
    assert_fails_with(result, EnergyError::EpochNotSettled);
    assert_unchanged(&mut g, &w).await;

    // Half settled (consumers charged, producers not paid) is still not settled.
    g.settle(0, &["carlos-house", "danny-house"]).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Paying);
    let w = watch(&mut g, &[]).await;
    g.refresh_blockhash().await;
    let result = g.send(&[ix::close_epoch(&grid, 0, &payer)], &[]).await;
    assert_fails_with(result, EnergyError::EpochNotSettled);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn close_epoch_with_a_wrong_rent_payer_is_refused() {
    let mut g = settled_community().await;
    let grid = g.grid;
    let thief = g.resident("angel").wallet.pubkey();
    let address = pda::epoch(&grid, 0);
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[ix::close_epoch(&grid, 0, &thief)], &[]).await;
    assert_fails_with(result, EnergyError::WrongRentPayer);
    assert_unchanged(&mut g, &w).await;

    // The payer who opened the epoch gets the rent back.
    let rent = g.lamports(&address).await;
    let payer = g.ctx.payer.pubkey();
    let before = g.lamports(&payer).await;
    g.send(&[ix::close_epoch(&grid, 0, &payer)], &[])
        .await
        .unwrap();
    assert!(!g.exists(&address).await);
    assert_eq!(g.lamports(&payer).await, before + rent - 5_000);
}
