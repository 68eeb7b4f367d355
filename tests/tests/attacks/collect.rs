//! Collecting earnings goes only to the meter's owner, and only when there are earnings.

use super::*;

#[tokio::test]
async fn collect_earnings_to_a_resident_who_is_not_the_owner_is_refused() {
    let mut g = settled_community().await;
    let grid = g.grid;
    let meter = g.meter("angel-roof").address;
    let bennie = g.resident("bennie").resident;
    assert!(g.meter_state("angel-roof").await.balance_units > 0);
    let instruction = ix::collect_earnings(&grid, &meter, &bennie);
    g.assert_send_refused(&[instruction], &[], EnergyError::WrongMeterOwner, &[])
        .await;

    // Angel's resident account with Bennie's coin account is refused too.
    let angel = g.resident("angel").resident;
    let mut instruction = ix::collect_earnings(&grid, &meter, &angel);
    swap_account(&mut instruction, &pda::coins(&angel), &pda::coins(&bennie));
    g.assert_send_refused(&[instruction], &[], EnergyError::WrongCoinAccount, &[])
        .await;
}

#[tokio::test]
async fn collect_earnings_with_nothing_earned_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.assert_refused(EnergyError::NothingToCollect, &[], async |g| {
        g.collect("angel-roof").await
    })
    .await;

    // Nor twice for the same earnings.
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    g.collect("angel-roof").await.unwrap();
    g.refresh_blockhash().await;
    g.assert_refused(EnergyError::NothingToCollect, &[], async |g| {
        g.collect("angel-roof").await
    })
    .await;
}

#[tokio::test]
async fn collect_earnings_on_a_consumer_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Carlos's house holds 10 k of prepaid coins: they are not earnings.
    assert_eq!(g.meter_state("carlos-house").await.balance_units, 10 * K);
    g.assert_refused(EnergyError::NotProducerMeter, &[], async |g| {
        g.collect("carlos-house").await
    })
    .await;
}
