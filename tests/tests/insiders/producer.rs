//! A producer that shifts energy between hours: reported late, it must not earn more than it
//! would have on time beyond what the shifted energy is worth at the tariff.

use super::*;

/// Three hours of a street with one consumer and two roofs (registers in kWh at the end of
/// each hour: Carlos 3, 5, 6; Angel 2, 2, 3; Mike 1.5, 1.5, 2.5). Nobody produces in hour 1
/// (night). With `shift`, Mike reports 1 Wh short in hour 0 and catches it up in hour 1, when
/// he is the only producer. Returns what Mike and Angel earned and the grid's carry.
async fn three_hours(shift: bool) -> (u64, u64, u64) {
    let mut g = TestGrid::start().await;
    for id in ["angel", "mike", "carlos"] {
        g.add_resident(id).await;
    }
    g.buy("carlos", 500).await;
    g.add_meter_with("angel-roof", MeterKind::Producer, "angel", 5_000, 0)
        .await;
    g.add_meter_with("mike-roof", MeterKind::Producer, "mike", 5_000, 0)
        .await;
    g.add_meter_with("carlos-house", MeterKind::Household, "carlos", 20_000, 0)
        .await;
    g.fund("carlos", "carlos-house", 20 * K).await.unwrap();
    let mike = |epoch: u64| match (shift, epoch) {
        (true, 0) => 1_499,
        (_, 0) | (_, 1) => 1_500,
        _ => 2_500,
    };
    for (epoch, carlos, angel) in [(0, 3_000, 2_000), (1, 5_000, 2_000), (2, 6_000, 3_000)] {
        g.enter_epoch(epoch).await;
        g.report_register("carlos-house", epoch, carlos)
            .await
            .unwrap();
        g.report_register("angel-roof", epoch, angel).await.unwrap();
        g.report_register("mike-roof", epoch, mike(epoch))
            .await
            .unwrap();
        g.close_epoch_window(epoch).await;
        g.settle_all(epoch).await;
    }
    g.assert_books_balance().await;
    let earned = |m: energy_utility::state::Meter| m.lifetime_units;
    let mike = earned(g.meter_state("mike-roof").await);
    let angel = earned(g.meter_state("angel-roof").await);
    (mike, angel, g.grid_state().await.carry_units)
}

#[tokio::test]
async fn a_producer_reporting_one_wh_late_into_a_dark_hour_does_not_take_its_pool() {
    let (honest_mike, honest_angel, honest_carry) = three_hours(false).await;
    let (shifted_mike, shifted_angel, shifted_carry) = three_hours(true).await;
    // The 1 Wh Mike moved is worth 1,000 units (0.001 k) at the tariff of 1 k per kWh: the
    // most moving it may gain him. Before, he took the dark hour's whole pool: 3.765941 k
    // against 2.771428 k on time.
    let moved_worth = 1_000;
    assert!(
        shifted_mike <= honest_mike + moved_worth,
        "Mike earned {shifted_mike} units shifting 1 Wh, {honest_mike} on time"
    );
    // What Mike gains (at most the Wh's worth), Angel and the carry lose; nothing is created.
    assert_eq!(
        shifted_mike + shifted_angel + shifted_carry,
        honest_mike + honest_angel + honest_carry
    );
}
