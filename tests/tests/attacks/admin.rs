//! Admin instructions refuse anyone but the grid's admin.

use super::*;

#[tokio::test]
async fn register_meter_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let owner = g.resident("angel").resident;
    let args = street_meter("pole-1", MeterKind::Pole, &mallory.pubkey());
    let meter = pda::meter(&grid, "pole-1");
    g.assert_refused(EnergyError::NotGridAdmin, &[meter], async |g| {
        g.register_meter(&mallory, &grid, &owner, args).await
    })
    .await;
    assert!(!g.exists(&meter).await);
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
    let instruction = ix::update_grid(&mallory.pubkey(), &grid, args);
    g.assert_send_refused(&[instruction], &[&mallory], EnergyError::NotGridAdmin, &[])
        .await;
    let state = g.grid_state().await;
    assert_eq!(state.oracle, g.oracle.pubkey());
    assert_eq!(state.coin_price_cents, 10);
}

#[tokio::test]
async fn set_paused_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let instruction = ix::set_paused(&mallory.pubkey(), &g.grid, true);
    g.assert_send_refused(&[instruction], &[&mallory], EnergyError::NotGridAdmin, &[])
        .await;
    assert!(!g.grid_state().await.paused);
}

#[tokio::test]
async fn rotate_gateway_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let gateway = mallory.pubkey();
    let act = MeterAct::RotateGateway { gateway };
    let instruction = g.change_meter_instruction(&mallory.pubkey(), "carlos-house", act, None);
    g.assert_send_refused(&[instruction], &[&mallory], EnergyError::NotGridAdmin, &[])
        .await;
    let gateway = g.meter("carlos-house").gateway.pubkey();
    assert_eq!(g.meter_state("carlos-house").await.gateway, gateway);
}

#[tokio::test]
async fn deactivate_meter_by_a_non_admin_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let instruction = g.deactivate_instruction(&mallory.pubkey(), "carlos-house");
    g.assert_send_refused(&[instruction], &[&mallory], EnergyError::NotGridAdmin, &[])
        .await;
    assert!(g.meter_state("carlos-house").await.active);
}

#[tokio::test]
async fn admin_key_without_its_signature_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let admin = g.admin.pubkey();
    let mut instruction = ix::set_paused(&admin, &g.grid, true);
    instruction.accounts[0] = AccountMeta::new_readonly(admin, false);
    g.assert_send_refused(&[instruction], &[], AnchorError::AccountNotSigner, &[])
        .await;
}

#[tokio::test]
async fn rotate_gateway_by_the_admin_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let (mallory, her_grid) = mallorys_grid(&mut g).await;
    let gateway = mallory.pubkey();
    let act = MeterAct::RotateGateway { gateway };
    let mut instruction = g.change_meter_instruction(&mallory.pubkey(), "carlos-house", act, None);
    let grid = g.grid;
    swap_account(&mut instruction, &grid, &her_grid);
    g.assert_send_refused(&[instruction], &[&mallory], EnergyError::WrongGrid, &[])
        .await;
}

#[tokio::test]
async fn collect_fees_by_a_non_admin_or_to_someone_elses_account_is_refused() {
    let mut g = settled_community().await;
    let mallory = mallory(&mut g).await;
    let carlos = g.resident("carlos").resident;
    assert_eq!(g.treasury().await, 10_000);
    let watched = [mallory.pubkey()];
    // Mallory takes the fees into Carlos's account (she has none of her own here).
    let instruction = ix::collect_fees(&mallory.pubkey(), &g.grid, &carlos, 0);
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotGridAdmin,
        &watched,
    )
    .await;
    // The admin, into a resident account that is not the utility's own.
    g.assert_refused(EnergyError::NotResidentOwner, &watched, async |g| {
        g.collect_fees("carlos", 0).await
    })
    .await;
}

#[tokio::test]
async fn collect_fees_beyond_the_treasury_or_from_an_empty_one_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let utility = g.add_utility().await;
    g.assert_refused(EnergyError::NothingToCollect, &[utility], async |g| {
        g.collect_fees("utility", 0).await
    })
    .await;

    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    g.assert_refused(EnergyError::InsufficientCoins, &[utility], async |g| {
        g.collect_fees("utility", 10_001).await
    })
    .await;
}

#[tokio::test]
async fn closing_an_active_meter_or_one_with_unsettled_readings_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let meter = g.meter("carlos-house").address;
    let index = g.meter_state("carlos-house").await.index;
    let entry = pda::meter_entry(&g.grid, index);
    g.report("carlos-house", 0, KWH).await.unwrap();
    g.assert_refused(EnergyError::MeterStillActive, &[entry], async |g| {
        g.close_meter("carlos-house").await
    })
    .await;
    g.deactivate_meter("carlos-house").await.unwrap();
    g.assert_refused(EnergyError::MeterHasPendingReadings, &[entry], async |g| {
        g.close_meter("carlos-house").await
    })
    .await;
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
    let watched = [pda::meter_entry(&grid, state.index), mallory.pubkey()];
    let close = |signer: &Keypair, rent_payer: &Pubkey| {
        ix::close_meter(
            &signer.pubkey(),
            &grid,
            &meter,
            state.index,
            &danny,
            rent_payer,
        )
    };
    for (instruction, signer, expected) in [
        (
            close(&mallory, &state.rent_payer),
            &mallory,
            EnergyError::NotGridAdmin,
        ),
        (
            close(&admin, &mallory.pubkey()),
            &admin,
            EnergyError::WrongRentPayer,
        ),
    ] {
        g.assert_send_refused(&[instruction], &[signer], expected, &watched)
            .await;
    }
}

#[tokio::test]
async fn meter_capacity_and_register_changed_by_a_non_admin_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    // Bennie's roof would claim a bigger inverter, or a register rolled back to bill again.
    let acts = [
        MeterAct::SetCapacity {
            capacity_w: 1_000_000_000,
        },
        MeterAct::ReplaceRegister { register_wh: 0 },
    ];
    for act in acts {
        let instruction = g.change_meter_instruction(&mallory.pubkey(), "bennie-roof", act, None);
        let watched = [mallory.pubkey()];
        g.assert_send_refused(
            &[instruction],
            &[&mallory],
            EnergyError::NotGridAdmin,
            &watched,
        )
        .await;
    }
}

#[tokio::test]
async fn a_zero_capacity_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.assert_refused(EnergyError::InvalidCapacity, &[], async |g| {
        g.set_meter_capacity("bennie-roof", 0).await
    })
    .await;
}
