//! Admin instructions refuse anyone but the grid's admin.

use super::*;

#[tokio::test]
async fn register_meter_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let owner = g.resident("angel").resident;
    let args = meter_args("pole-1", MeterKind::Pole, &mallory.pubkey());
    let w = watch(&mut g, &[pda::meter(&grid, "pole-1")]).await;
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .meter_count;
    let result = g
        .send(
            &[ix::register_meter(
                &mallory.pubkey(),
                &grid,
                &owner,
                index,
                args,
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&pda::meter(&grid, "pole-1")).await);
}

#[tokio::test]
async fn update_grid_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let args = UpdateGridArgs {
        fee_units: Some(1_000 * K),
        coin_price_cents: Some(1),
        oracle: Some(mallory.pubkey()),
        ..Default::default()
    };
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::update_grid(&mallory.pubkey(), &grid, args)],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    assert_unchanged(&mut g, &w).await;
    let state = g.grid_state().await;
    assert_eq!(state.oracle, g.oracle.pubkey());
    assert_eq!(state.coin_price_cents, 10);
}

#[tokio::test]
async fn set_paused_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::set_paused(&mallory.pubkey(), &grid, true)],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    assert_unchanged(&mut g, &w).await;
    assert!(!g.grid_state().await.paused);
}

#[tokio::test]
async fn rotate_gateway_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let meter = g.meter("carlos-house").address;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::rotate_gateway(
                &mallory.pubkey(),
                &grid,
                &meter,
                &mallory.pubkey(),
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    assert_unchanged(&mut g, &w).await;
    let gateway = g.meter("carlos-house").gateway.pubkey();
    assert_eq!(g.meter_state("carlos-house").await.gateway, gateway);
}

#[tokio::test]
async fn deactivate_meter_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let instruction = g.deactivate_instruction(&mallory.pubkey(), "carlos-house");
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&mallory]).await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    assert_unchanged(&mut g, &w).await;
    assert!(g.meter_state("carlos-house").await.active);
}

#[tokio::test]
async fn admin_key_without_its_signature_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.pubkey();
    let mut instruction = ix::set_paused(&admin, &grid, true);
    instruction.accounts[0] = AccountMeta::new_readonly(admin, false);
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[]).await;
    assert_fails_with(result, AnchorError::AccountNotSigner);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn rotate_gateway_by_the_admin_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Mallory creates her own grid, so she is an admin, just not of this one.
    let mallory = mallory(&mut g).await;
    let her_grid = pda::grid("mallory-grid");
    g.send(
        &[ix::initialize_grid(
            &mallory.pubkey(),
            grid_args("mallory-grid", &mallory.pubkey()),
        )],
        &[&mallory],
    )
    .await
    .unwrap();
    let meter = g.meter("carlos-house").address;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::rotate_gateway(
                &mallory.pubkey(),
                &her_grid,
                &meter,
                &mallory.pubkey(),
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn collect_fees_by_a_non_admin_or_to_someone_elses_account_is_refused() {
    let mut g = settled_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let carlos = g.resident("carlos").resident;
    assert_eq!(g.treasury().await, 10_000);
    let w = watch(&mut g, &[mallory.pubkey()]).await;
    // Mallory takes the fees into Carlos's account (she has none of her own here).
    let result = g
        .send(
            &[ix::collect_fees(&mallory.pubkey(), &grid, &carlos, 0)],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    // The admin, into a resident account that is not the utility's own.
    let result = g
        .send(
            &[ix::collect_fees(&admin.pubkey(), &grid, &carlos, 0)],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::NotResidentOwner);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn collect_fees_beyond_the_treasury_or_from_an_empty_one_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let utility = register_utility(&mut g).await;
    let w = watch(&mut g, &[utility]).await;
    let result = g
        .send(
            &[ix::collect_fees(&admin.pubkey(), &grid, &utility, 0)],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::NothingToCollect);
    assert_unchanged(&mut g, &w).await;

    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let w = watch(&mut g, &[utility]).await;
    let result = g
        .send(
            &[ix::collect_fees(&admin.pubkey(), &grid, &utility, 10_001)],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::InsufficientCoins);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn closing_an_active_meter_or_one_with_unsettled_readings_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let meter = g.meter("carlos-house").address;
    let index = g.meter_state("carlos-house").await.index;
    let entry = pda::meter_entry(&g.grid, index);
    g.report("carlos-house", 0, KWH).await.unwrap();
    let w = watch(&mut g, &[entry]).await;
    assert_fails_with(
        g.close_meter("carlos-house").await,
        EnergyError::MeterStillActive,
    );
    assert_unchanged(&mut g, &w).await;
    g.deactivate_meter("carlos-house").await.unwrap();
    let w = watch(&mut g, &[entry]).await;
    assert_fails_with(
        g.close_meter("carlos-house").await,
        EnergyError::MeterHasPendingReadings,
    );
    assert_unchanged(&mut g, &w).await;
    assert!(g.exists(&meter).await);
}

#[tokio::test]
async fn closing_a_meter_by_a_non_admin_or_paying_its_rent_elsewhere_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    g.deactivate_meter("danny-house").await.unwrap();
    let state = g.meter_state("danny-house").await;
    let meter = g.meter("danny-house").address;
    let danny = g.resident("danny").resident;
    let entry = pda::meter_entry(&grid, state.index);
    let w = watch(&mut g, &[entry, mallory.pubkey()]).await;
    let result = g
        .send(
            &[ix::close_meter(
                &mallory.pubkey(),
                &grid,
                &meter,
                state.index,
                &danny,
                &state.rent_payer,
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridAdmin);
    let result = g
        .send(
            &[ix::close_meter(
                &admin.pubkey(),
                &grid,
                &meter,
                state.index,
                &danny,
                &mallory.pubkey(),
            )],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongRentPayer);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn meter_capacity_and_register_changed_by_a_non_admin_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let meter = g.meter("bennie-roof").address;
    let w = watch(&mut g, &[mallory.pubkey()]).await;
    // Bennie's roof would claim a bigger inverter, or a register rolled back to bill again.
    for instruction in [
        ix::set_meter_capacity(&mallory.pubkey(), &grid, &meter, 1_000_000_000),
        ix::replace_meter_register(&mallory.pubkey(), &grid, &meter, 0),
    ] {
        let result = g.send(&[instruction], &[&mallory]).await;
        assert_fails_with(result, EnergyError::NotGridAdmin);
    }
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn a_zero_capacity_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let admin = g.admin.insecure_clone();
    let grid = g.grid;
    let meter = g.meter("bennie-roof").address;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::set_meter_capacity(&admin.pubkey(), &grid, &meter, 0)],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::InvalidCapacity);
    assert_unchanged(&mut g, &w).await;
}
