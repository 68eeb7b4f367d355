//! Hourly settlement: the seed's worked example, remainders carried forward, and a crank
//! that reaches the same books whatever batches it sends.

use energy_utility::error::EnergyError;
use energy_utility::state::{EpochStatus, MeterKind};
use energy_utility_tests::*;

/// Angel and Bennie produce; Carlos and Danny consume. Everyone has bought 20 k, and the
/// consumers have prepaid 10 k each.
async fn seed_community() -> TestGrid {
    let mut g = TestGrid::start().await;
    for id in ["angel", "bennie", "carlos", "danny"] {
        g.add_resident(id).await;
        g.buy(id, 200).await; // $2.00 at $0.10 per k
    }
    g.add_meter("angel-roof", MeterKind::Producer, "angel").await;
    g.add_meter("bennie-roof", MeterKind::Producer, "bennie").await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos").await;
    g.add_meter("danny-house", MeterKind::Household, "danny").await;
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    g.fund("danny", "danny-house", 10 * K).await.unwrap();
    g
}

async fn report_seed_example(g: &mut TestGrid, epoch: u64) {
    g.report("carlos-house", epoch, 3 * KWH).await.unwrap();
    g.report("danny-house", epoch, 2 * KWH).await.unwrap();
    g.report("angel-roof", epoch, 3 * KWH).await.unwrap();
    g.report("bennie-roof", epoch, 2_500).await.unwrap();
}

#[tokio::test]
async fn seed_worked_example_pays_producers_pro_rata() {
    let mut g = seed_community().await;
    report_seed_example(&mut g, 0).await;
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
