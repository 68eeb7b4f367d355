//! Prosumers: a home with a rooftop array and a household load behind one bidirectional
//! meter. Its import is charged as a consumer's and its export paid as a producer's, in the
//! same settlement, beside producers and consumers, to the unit; its two registers are
//! reported together or not at all; and pairing is refused for anything that is not one
//! owner's import and export behind one gateway, with nothing changed.

use anchor_lang::prelude::Pubkey;
use energy_utility::error::EnergyError;
use energy_utility::state::MeterKind;
use energy_utility_sdk::instructions as ix;
use energy_utility_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// The design's community and Eve, whose home both draws and feeds: 20 k bought, 10 k
/// prepaid into its import side.
async fn community_with_a_prosumer() -> TestGrid {
    let mut g = TestGrid::seed_community().await;
    g.add_resident("eve").await;
    g.buy("eve", 200).await;
    g.add_prosumer("eve-home", "eve", DEFAULT_TEST_CAPACITY_W)
        .await;
    g.fund("eve", "eve-home-import", 10 * K).await.unwrap();
    g
}

#[tokio::test]
async fn a_prosumer_is_charged_its_import_and_paid_its_export_in_the_same_settlement() {
    let mut g = community_with_a_prosumer().await;
    // The seed's example, and Eve's home drawing 1 kWh and feeding 2 kWh in the same hour.
    g.report_seed_example(0).await;
    g.report_prosumer("eve-home", 0, KWH, 2 * KWH)
        .await
        .unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;

    // Consumers: 3 + 2 + 1 kWh at 1 k/kWh = 6 k; the fee 0.01 k; 5.99 k shared by 7.5 kWh
    // produced (worth 7.5 k, more than the pool): 3, 2.5 and 2 kWh, floored to base units.
    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.consumed_wh, 6_000);
    assert_eq!(epoch.produced_wh, 7_500);
    assert_eq!(epoch.charged_units, 6 * K);
    assert_eq!(epoch.fee_units, 10_000);
    assert_eq!(epoch.distributable_units, 5_990_000);
    assert_eq!(g.meter_state("angel-roof").await.balance_units, 2_396_000);
    assert_eq!(g.meter_state("bennie-roof").await.balance_units, 1_996_666);
    assert_eq!(
        g.meter_state("eve-home-export").await.balance_units,
        1_597_333
    );
    assert_eq!(epoch.paid_units, 2_396_000 + 1_996_666 + 1_597_333);
    assert_eq!(epoch.carried_out_units, 1);
    // What consumers paid = fee + producer payouts + carried.
    assert_eq!(
        epoch.charged_units + epoch.carried_in_units,
        epoch.fee_units + epoch.paid_units + epoch.carried_out_units
    );
    // Eve's import side paid for its kWh like any house; her export earned like any roof.
    assert_eq!(g.meter_state("eve-home-import").await.balance_units, 9 * K);
    assert_eq!(g.meter_state("carlos-house").await.balance_units, 7 * K);
    assert_eq!(g.meter_state("danny-house").await.balance_units, 8 * K);
    g.collect("eve-home-export").await.unwrap();
    assert_eq!(g.coins("eve").await, 10 * K + 1_597_333);
    g.assert_books_balance().await;

    // Next hour: the home feeds more than it draws, and a silent hour is caught up later.
    g.enter_epoch(1).await;
    g.report_prosumer("eve-home", 1, 500, 4 * KWH)
        .await
        .unwrap();
    g.close_epoch_window(1).await;
    g.settle_all(1).await;
    let import = g.meter_state("eve-home-import").await;
    assert_eq!(import.balance_units, 9 * K - 500_000);
    assert_eq!(import.partner, g.meter("eve-home-export").address);
    let export = g.meter_state("eve-home-export").await;
    assert_eq!(export.partner, g.meter("eve-home-import").address);
    assert_eq!(export.lifetime_wh, 6 * KWH);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn one_register_of_a_prosumer_alone_is_refused_and_changes_nothing() {
    let mut g = community_with_a_prosumer().await;
    // Its export alone (keeping the import, which costs, unreported) or its import alone.
    for side in ["eve-home-export", "eve-home-import"] {
        g.assert_refused(EnergyError::ReportBothRegisters, &[], async |g| {
            g.report(side, 0, KWH).await
        })
        .await;
    }
}

#[tokio::test]
async fn a_prosumer_report_is_taken_whole_or_not_at_all() {
    let mut g = TestGrid::seed_community().await;
    g.add_resident("eve").await;
    g.add_prosumer("eve-home", "eve", 1_000).await;
    // The import is within the 1 kW capacity; the export is ten times it: neither is taken.
    let instruction = g.report_prosumer_instruction("eve-home", 0, 900, 10_000);
    let gateway = g.meter("eve-home-import").gateway.insecure_clone();
    g.assert_send_refused(
        &[instruction],
        &[&gateway],
        EnergyError::ReadingOverCapacity,
        &[],
    )
    .await;
    g.report_prosumer("eve-home", 0, 900, 800).await.unwrap();
    assert_eq!(g.meter_state("eve-home-import").await.last_register_wh, 900);
    assert_eq!(g.meter_state("eve-home-export").await.last_register_wh, 800);
}

#[tokio::test]
async fn a_prosumer_report_for_meters_that_are_not_one_pair_is_refused() {
    let mut g = community_with_a_prosumer().await;
    g.add_resident("fay").await;
    g.add_prosumer("fay-home", "fay", DEFAULT_TEST_CAPACITY_W)
        .await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let gateway = g.meter("eve-home-import").gateway.insecure_clone();
    // Eve's import with Fay's export (Eve's gateway signs): not one meter.
    let fay_export = g.meter("fay-home-export").address;
    let eve_import = g.meter("eve-home-import").address;
    let mixed = ix::report_prosumer(
        &gateway.pubkey(),
        &payer,
        &grid,
        &ix::ProsumerMeters {
            import: eve_import,
            export: fay_export,
        },
        0,
        KWH,
        KWH,
    );
    g.assert_send_refused(&[mixed], &[&gateway], EnergyError::NotAProsumerPair, &[])
        .await;
    // Sides swapped: the export side named as the import.
    let eve_export = g.meter("eve-home-export").address;
    let swapped = ix::report_prosumer(
        &gateway.pubkey(),
        &payer,
        &grid,
        &ix::ProsumerMeters {
            import: eve_export,
            export: eve_import,
        },
        0,
        KWH,
        KWH,
    );
    g.assert_send_refused(&[swapped], &[&gateway], EnergyError::NotAProsumerPair, &[])
        .await;
    // Two unpaired meters of one gateway.
    let carlos = g.meter("carlos-house").address;
    let carlos_gateway = g.meter("carlos-house").gateway.insecure_clone();
    let angel = g.meter("angel-roof").address;
    let unpaired = ix::report_prosumer(
        &carlos_gateway.pubkey(),
        &payer,
        &grid,
        &ix::ProsumerMeters {
            import: carlos,
            export: angel,
        },
        0,
        KWH,
        KWH,
    );
    g.assert_send_refused(
        &[unpaired],
        &[&carlos_gateway],
        EnergyError::NotAProsumerPair,
        &[],
    )
    .await;
}

/// Registers `id` for `owner` with `gateway`'s key.
async fn meter_with_gateway(
    g: &mut TestGrid,
    id: &str,
    kind: MeterKind,
    owner: &str,
    gateway: &Keypair,
) -> Pubkey {
    let args = meter_args(id, kind, &gateway.pubkey(), id);
    g.add_meter_from_args(owner, gateway.insecure_clone(), args)
        .await
}

#[tokio::test]
async fn pairing_anything_but_one_owners_import_and_export_behind_one_gateway_is_refused() {
    let mut g = community_with_a_prosumer().await;
    g.add_resident("fay").await;
    let gateway = Keypair::new();
    meter_with_gateway(&mut g, "fay-load", MeterKind::Household, "fay", &gateway).await;
    meter_with_gateway(&mut g, "fay-pump", MeterKind::Household, "fay", &gateway).await;
    meter_with_gateway(&mut g, "fay-roof", MeterKind::Producer, "fay", &gateway).await;
    meter_with_gateway(
        &mut g,
        "fay-shed",
        MeterKind::Producer,
        "fay",
        &Keypair::new(),
    )
    .await;
    meter_with_gateway(&mut g, "eve-roof", MeterKind::Producer, "eve", &gateway).await;

    // Two consumers; an export named as the import; different gateways; different owners.
    for (import, export) in [
        ("fay-load", "fay-pump"),
        ("fay-roof", "fay-load"),
        ("fay-load", "fay-shed"),
        ("fay-load", "eve-roof"),
    ] {
        g.assert_refused(EnergyError::NotAProsumerPair, &[], async |g| {
            g.pair_meters(import, export).await
        })
        .await;
    }
    // A side already paired, with another export of the same owner and gateway.
    let eve_gateway = g.meter("eve-home-import").gateway.insecure_clone();
    meter_with_gateway(&mut g, "eve-shed", MeterKind::Producer, "eve", &eve_gateway).await;
    g.assert_refused(EnergyError::MeterAlreadyPaired, &[], async |g| {
        g.pair_meters("eve-home-import", "eve-shed").await
    })
    .await;
    // Someone other than the admin.
    let stranger = Keypair::new();
    g.airdrop(&stranger.pubkey(), 1_000_000_000).await;
    let instruction = ix::pair_meters(
        &stranger.pubkey(),
        &g.grid,
        &g.meter("fay-load").address,
        &g.meter("fay-roof").address,
    );
    g.assert_send_refused(&[instruction], &[&stranger], EnergyError::NotGridAdmin, &[])
        .await;
    // The admin pairs the right two.
    g.pair_meters("fay-load", "fay-roof").await.unwrap();
}
