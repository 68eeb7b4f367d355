//! The settlement crank refuses open or settled epochs, forged epochs and bad batches.

use super::*;

const SEED_METERS: [&str; 4] = ["carlos-house", "danny-house", "angel-roof", "bennie-roof"];

#[tokio::test]
async fn settle_an_open_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    let closes = g.reports_close_at(0).await;
    // During the epoch ...
    g.assert_refused(EnergyError::EpochStillOpen, &[], async |g| {
        g.settle(0, &SEED_METERS).await
    })
    .await;
    // ... and in the last second of its grace window.
    g.set_time(closes - 1).await;
    g.assert_refused(EnergyError::EpochStillOpen, &[], async |g| {
        g.settle(0, &SEED_METERS).await
    })
    .await;
    g.set_time(closes).await;
    g.settle(0, &SEED_METERS).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
}

#[tokio::test]
async fn settle_an_already_settled_epoch_is_refused() {
    let mut g = settled_community().await;
    g.refresh_blockhash().await;
    for meters in [&SEED_METERS[..], &[]] {
        g.assert_refused(EnergyError::EpochAlreadySettled, &[], async |g| {
            g.settle(0, meters).await
        })
        .await;
    }
}

#[tokio::test]
async fn settle_batch_with_the_same_meter_twice_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.assert_refused(EnergyError::DuplicateMeterInBatch, &[], async |g| {
        g.settle(0, &["carlos-house", "angel-roof", "carlos-house"])
            .await
    })
    .await;
}

#[tokio::test]
async fn settle_batch_with_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    g.report_seed_example(0).await;
    // The other grid's meter has a reading for its own epoch 0.
    other.report(&mut g, 0, KWH).await;
    g.close_epoch_window(0).await;
    let carlos = g.meter("carlos-house").address;
    let instruction = ix::settle(&g.grid, 0, &[carlos, other.meter]);
    let watched = [other.meter, pda::epoch(&other.grid, 0)];
    g.assert_send_refused(&[instruction], &[], EnergyError::WrongGrid, &watched)
        .await;
}

#[tokio::test]
async fn settle_batch_with_accounts_that_are_not_meters_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let grid = g.grid;
    let carlos = g.meter("carlos-house").address;
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
        let instruction = ix::settle(&grid, 0, &[carlos, impostor]);
        g.assert_send_refused(&[instruction], &[], EnergyError::NotAMeter, &[])
            .await;
    }
}

#[tokio::test]
async fn settle_batch_with_a_read_only_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let carlos = g.meter("carlos-house").address;
    let danny = g.meter("danny-house").address;
    let mut instruction = ix::settle(&g.grid, 0, &[carlos, danny]);
    instruction.accounts.last_mut().unwrap().is_writable = false;
    g.assert_send_refused(&[instruction], &[], EnergyError::MeterNotWritable, &[])
        .await;
}

#[tokio::test]
async fn settle_batch_with_a_meter_without_a_reading_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    g.report("angel-roof", 0, 3 * KWH).await.unwrap();
    g.close_epoch_window(0).await;
    g.assert_refused(EnergyError::MeterHasNoReading, &[], async |g| {
        g.settle(0, &["carlos-house", "danny-house"]).await
    })
    .await;
}

#[tokio::test]
async fn settle_with_a_forged_epoch_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    other.report(&mut g, 0, KWH).await;
    g.enter_epoch(1).await;
    g.report("carlos-house", 1, KWH).await.unwrap();
    let carlos = g.meter("carlos-house").address;
    let watched = [pda::epoch(&other.grid, 0)];
    // Settle epoch 0 with epoch 1's account, and with the other grid's epoch 0.
    for forged in [pda::epoch(&grid, 1), pda::epoch(&other.grid, 0)] {
        let mut instruction = ix::settle(&grid, 0, &[carlos]);
        swap_account(&mut instruction, &pda::epoch(&grid, 0), &forged);
        g.assert_send_refused(&[instruction], &[], AnchorError::ConstraintSeeds, &watched)
            .await;
    }
}

#[tokio::test]
async fn close_epoch_of_an_unsettled_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let close = ix::close_epoch(&grid, 0, &payer);
    g.assert_send_refused(
        std::slice::from_ref(&close),
        &[],
        EnergyError::EpochNotSettled,
        &[],
    )
    .await;

    // Half settled (consumers charged, producers not paid) is still not settled.
    g.settle(0, &["carlos-house", "danny-house"]).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Paying);
    g.refresh_blockhash().await;
    g.assert_send_refused(&[close], &[], EnergyError::EpochNotSettled, &[])
        .await;
}

#[tokio::test]
async fn close_epoch_with_a_wrong_rent_payer_is_refused() {
    let mut g = settled_community().await;
    let grid = g.grid;
    let thief = g.resident("angel").wallet.pubkey();
    let address = pda::epoch(&grid, 0);
    let instruction = ix::close_epoch(&grid, 0, &thief);
    g.assert_send_refused(&[instruction], &[], EnergyError::WrongRentPayer, &[])
        .await;

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
