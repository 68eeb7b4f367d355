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

#[tokio::test]
async fn an_empty_resident_closes_and_gets_its_rent_back() {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g.add_resident("zoe").await;
    let zoe = g.resident("zoe").resident;
    let wallet = g.resident("zoe").wallet.pubkey();
    let index = g.resident_state("zoe").await.index;
    let accounts = [zoe, pda::coins(&zoe), pda::resident_entry(&g.grid, index)];
    let mut rent = 0;
    for account in &accounts {
        rent += g.lamports(account).await;
    }

    // Coins in the account, a sale not yet closed, a meter owned: each keeps it open.
    g.buy("zoe", 100).await;
    g.assert_refused(EnergyError::ResidentNotEmpty, &accounts, async |g| {
        g.close_resident("zoe").await
    })
    .await;
    let sale = g.sell("zoe", 10 * K, "po_zoe").await;
    let sale_address = g.sale_address("zoe", sale).await;
    assert_eq!(g.coins("zoe").await, 0);
    g.refresh_blockhash().await;
    g.assert_refused(EnergyError::ResidentNotEmpty, &accounts, async |g| {
        g.close_resident("zoe").await
    })
    .await;
    g.assert_refused(EnergyError::ResidentNotEmpty, &[], async |g| {
        g.close_resident("carlos").await
    })
    .await;

    // Once the sale is closed after the retention, Zoe is empty: her accounts close and her
    // wallet gets their rent back (the context payer paid the fees).
    let retention = g.grid_state().await.oracle_limits.receipt_retention_seconds as i64;
    g.set_time(g.now + retention + 1).await;
    let (grid, rent_payer) = (g.grid, wallet);
    g.send(
        &[energy_utility_sdk::instructions::close_sale(
            &grid,
            &zoe,
            &sale_address,
            &rent_payer,
        )],
        &[],
    )
    .await
    .unwrap();
    let before = g.lamports(&wallet).await;
    g.close_resident("zoe").await.unwrap();
    for account in &accounts {
        assert!(!g.exists(account).await, "{account} closed");
    }
    assert_eq!(g.lamports(&wallet).await, before + rent);

    // Her id is free again; whoever takes it starts with sales at new addresses.
    let newcomer = Keypair::new();
    g.airdrop(&newcomer.pubkey(), 1_000_000_000).await;
    g.register_resident(&newcomer, &grid, "zoe").await.unwrap();
    let again = g.account::<energy_utility::state::Resident>(&zoe).await;
    assert_eq!((again.authority, again.sale_count), (newcomer.pubkey(), 0));
    assert_ne!(pda::sale(&zoe, again.index, 0), pda::sale(&zoe, index, 0));
    g.assert_books_balance().await;
}
