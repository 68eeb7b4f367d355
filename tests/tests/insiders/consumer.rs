//! A consumer that times its reports around a tariff change: catching up never costs less
//! than reporting on time.

use super::*;

#[tokio::test]
async fn a_consumer_silent_through_a_tariff_cut_pays_the_tariff_of_the_hours_it_used() {
    let mut g = TestGrid::start().await;
    for id in ["angel", "carlos"] {
        g.add_resident(id).await;
        g.buy(id, 500).await;
    }
    g.add_meter_with("angel-roof", MeterKind::Producer, "angel", 5_000, 0)
        .await;
    g.add_meter_with("carlos-house", MeterKind::Household, "carlos", 20_000, 0)
        .await;
    g.fund("carlos", "carlos-house", 30 * K).await.unwrap();
    // Hour 0 on time. In hour 1 the admin announces half the tariff from hour 2 on.
    g.report_register("carlos-house", 0, KWH).await.unwrap();
    g.report_register("angel-roof", 0, 1_100).await.unwrap();
    g.enter_epoch(1).await;
    let half = UpdateGridArgs {
        tariff_units_per_kwh: Some(K / 2),
        ..Default::default()
    };
    g.update_grid(half).await.unwrap();
    // Carlos's gateway keeps quiet through hour 1 (4 kWh at the full tariff) and reports in
    // hour 2, when energy is cheap: its reading covers both hours, 5 kWh.
    g.enter_epoch(2).await;
    g.report_register("carlos-house", 2, 6 * KWH).await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.pending_wh(2), Some(5 * KWH));
    // On time it would have paid at least 4 k for hour 1 and 0.5 k for hour 2; caught up it
    // pays the highest tariff of the hours it covers: 5 k.
    assert_eq!(
        meter.committed_units,
        K + 5 * K,
        "hour 0 at 1 k, the catch-up at 1 k/kWh"
    );
}
