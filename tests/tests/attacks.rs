//! Refused instructions: every way a wrong signer, a forged or substituted account, a bad
//! amount, a bad time or a paused grid is turned away with its named error, leaving the
//! chain exactly as it was.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountMeta, Pubkey};
use energy_utility::error::EnergyError;
use energy_utility::instructions::{InitializeGridArgs, RegisterMeterArgs, UpdateGridArgs};
use energy_utility::state::{EpochParams, EpochStatus, Grid, MeterKind, Resident};
use energy_utility_sdk::{instructions as ix, pda};
use energy_utility_tests::*;
use solana_account::Account;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

// ---------------------------------------------------------------------------------------------
// Set-up

/// The community after epoch 0 is reported and settled: both producers have earnings.
async fn settled_community() -> TestGrid {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    g
}

/// A wallet that belongs to nobody in the grid, with SOL to pay for anything it tries.
async fn mallory(g: &mut TestGrid) -> Keypair {
    let mallory = Keypair::new();
    g.airdrop(&mallory.pubkey(), 5_000_000_000).await;
    mallory
}

/// A second grid in the same bank, with a resident and a household meter of its own.
struct OtherGrid {
    grid: Pubkey,
    resident: Pubkey,
    meter: Pubkey,
    gateway: Keypair,
}

async fn other_grid(g: &mut TestGrid) -> OtherGrid {
    let grid = g.add_grid("other").await;
    let wallet = mallory(g).await;
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .resident_count;
    g.send(
        &[ix::register_resident(
            &wallet.pubkey(),
            &grid,
            index,
            "olga",
        )],
        &[&wallet],
    )
    .await
    .expect("register resident in the other grid");
    let resident = pda::resident(&grid, "olga");
    let gateway = Keypair::new();
    let args = meter_args("olga-house", MeterKind::Household, &gateway.pubkey());
    let admin = g.admin.insecure_clone();
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .meter_count;
    g.send(
        &[ix::register_meter(
            &admin.pubkey(),
            &grid,
            &resident,
            index,
            args,
        )],
        &[&admin],
    )
    .await
    .expect("register meter in the other grid");
    OtherGrid {
        grid,
        resident,
        meter: pda::meter(&grid, "olga-house"),
        gateway,
    }
}

fn meter_args(id: &str, kind: MeterKind, gateway: &Pubkey) -> RegisterMeterArgs {
    RegisterMeterArgs {
        meter_id: id.to_string(),
        kind,
        gateway: *gateway,
        label: "street pole".to_string(),
        latitude_micro: 45_000_000,
        longitude_micro: -73_000_000,
    }
}

fn grid_args(name: &str, oracle: &Pubkey) -> InitializeGridArgs {
    InitializeGridArgs {
        name: name.to_string(),
        oracle: *oracle,
        params: EpochParams::default(),
        coin_price_cents: 10,
        epoch_seconds: 3_600,
    }
}

/// Replaces the one account `old` of an instruction built by the SDK with `new`.
fn swap_account(instruction: &mut Instruction, old: &Pubkey, new: &Pubkey) {
    let mut swapped = 0;
    for meta in instruction.accounts.iter_mut().filter(|m| m.pubkey == *old) {
        meta.pubkey = *new;
        swapped += 1;
    }
    assert_eq!(swapped, 1, "{old} appears once in the instruction");
}

// ---------------------------------------------------------------------------------------------
// Nothing changed

/// The raw accounts (lamports, owner, data) of everything a refused instruction could touch:
/// the grid and its coin accounts, every resident, wallet, coin account, meter and gateway,
/// the epochs around now, and `extra`.
struct Watch {
    addresses: Vec<Pubkey>,
    before: Vec<Option<Account>>,
}

async fn watch(g: &mut TestGrid, extra: &[Pubkey]) -> Watch {
    let grid = g.grid;
    let mut addresses = vec![
        grid,
        pda::mint(&grid),
        pda::vault(&grid),
        pda::pool(&grid),
        pda::treasury(&grid),
        pda::escrow(&grid),
    ];
    for actor in g.residents.values() {
        addresses.extend([actor.wallet.pubkey(), actor.resident, actor.coins]);
    }
    for meter in g.meters.values() {
        addresses.extend([meter.address, meter.gateway.pubkey()]);
    }
    let current = g.current_epoch().await;
    addresses.extend((current.saturating_sub(2)..=current + 2).map(|e| pda::epoch(&grid, e)));
    addresses.extend_from_slice(extra);
    let before = snapshot(g, &addresses).await;
    Watch { addresses, before }
}

async fn snapshot(g: &mut TestGrid, addresses: &[Pubkey]) -> Vec<Option<Account>> {
    let mut accounts = Vec::with_capacity(addresses.len());
    for address in addresses {
        accounts.push(
            g.ctx
                .banks_client
                .get_account(*address)
                .await
                .expect("get account"),
        );
    }
    accounts
}

#[track_caller]
fn assert_same(addresses: &[Pubkey], before: &[Option<Account>], after: &[Option<Account>]) {
    for ((address, before), after) in addresses.iter().zip(before).zip(after) {
        assert_eq!(before, after, "account {address} changed");
    }
}

async fn assert_unchanged(g: &mut TestGrid, watch: &Watch) {
    let after = snapshot(g, &watch.addresses).await;
    assert_same(&watch.addresses, &watch.before, &after);
}

// ---------------------------------------------------------------------------------------------
// Admin instructions need the grid's admin

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
    let grid = g.grid;
    let meter = g.meter("carlos-house").address;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::deactivate_meter(&mallory.pubkey(), &grid, &meter)],
            &[&mallory],
        )
        .await;
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

// ---------------------------------------------------------------------------------------------
// Reports

#[tokio::test]
async fn report_signed_by_another_gateway_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let meter = g.meter("carlos-house").address;
    // Bennie's roof gateway tries to report for Carlos's house.
    let impostor = g.meter("bennie-roof").gateway.insecure_clone();
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::report(
                &impostor.pubkey(),
                &payer,
                &grid,
                &meter,
                0,
                999_999,
            )],
            &[&impostor],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGateway);
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&pda::epoch(&grid, 0)).await);
}

#[tokio::test]
async fn report_signed_by_a_rotated_out_gateway_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let meter = g.meter("carlos-house").address;
    let admin = g.admin.insecure_clone();
    let new_gateway = Keypair::new();
    g.send(
        &[ix::rotate_gateway(
            &admin.pubkey(),
            &grid,
            &meter,
            &new_gateway.pubkey(),
        )],
        &[&admin],
    )
    .await
    .unwrap();
    let w = watch(&mut g, &[]).await;
    // The harness still holds the old gateway key.
    let result = g.report("carlos-house", 0, KWH).await;
    assert_fails_with(result, EnergyError::WrongGateway);
    assert_unchanged(&mut g, &w).await;

    let payer = g.ctx.payer.pubkey();
    g.send(
        &[ix::report(
            &new_gateway.pubkey(),
            &payer,
            &grid,
            &meter,
            0,
            KWH,
        )],
        &[&new_gateway],
    )
    .await
    .unwrap();
    assert_eq!(g.meter_state("carlos-house").await.pending_wh(0), Some(KWH));
}

#[tokio::test]
async fn report_for_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let w = watch(&mut g, &[other.meter, pda::epoch(&other.grid, 0)]).await;
    // The other grid's meter, signed by its own gateway, reports into this grid's epoch.
    let result = g
        .send(
            &[ix::report(
                &other.gateway.pubkey(),
                &payer,
                &grid,
                &other.meter,
                0,
                KWH,
            )],
            &[&other.gateway],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn report_naming_another_grid_with_this_grids_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let meter = g.meter("carlos-house").address;
    let gateway = g.meter("carlos-house").gateway.insecure_clone();
    // Grid account of the other grid, meter and epoch account of this one: the epoch's seeds
    // are checked (when it is opened) before the meter's grid.
    let mut instruction = ix::report(&gateway.pubkey(), &payer, &other.grid, &meter, 0, KWH);
    swap_account(
        &mut instruction,
        &pda::epoch(&other.grid, 0),
        &pda::epoch(&grid, 0),
    );
    let w = watch(&mut g, &[other.meter, pda::epoch(&other.grid, 0)]).await;
    let result = g.send(&[instruction], &[&gateway]).await;
    assert_fails_with(result, AnchorError::ConstraintSeeds);
    assert_unchanged(&mut g, &w).await;

    // With the other grid's epoch account the seeds hold, and the meter's grid does not.
    let result = g
        .send(
            &[ix::report(
                &gateway.pubkey(),
                &payer,
                &other.grid,
                &meter,
                0,
                KWH,
            )],
            &[&gateway],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn report_with_a_forged_epoch_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let payer = g.ctx.payer.pubkey();
    let meter = g.meter("carlos-house").address;
    let gateway = g.meter("carlos-house").gateway.insecure_clone();
    g.report("danny-house", 0, KWH).await.unwrap();

    // Claims epoch 1 but passes epoch 0's (existing) account.
    g.enter_epoch(1).await;
    let mut instruction = ix::report(&gateway.pubkey(), &payer, &grid, &meter, 1, KWH);
    swap_account(
        &mut instruction,
        &pda::epoch(&grid, 1),
        &pda::epoch(&grid, 0),
    );
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&gateway]).await;
    assert_fails_with(result, AnchorError::ConstraintSeeds);
    assert_unchanged(&mut g, &w).await;

    // Claims epoch 1 but passes epoch 2's (not yet existing) address.
    let mut instruction = ix::report(&gateway.pubkey(), &payer, &grid, &meter, 1, KWH);
    swap_account(
        &mut instruction,
        &pda::epoch(&grid, 1),
        &pda::epoch(&grid, 2),
    );
    let result = g.send(&[instruction], &[&gateway]).await;
    assert_fails_with(result, AnchorError::ConstraintSeeds);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn duplicate_report_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    let w = watch(&mut g, &[]).await;
    // A "correction" with another value.
    let result = g.report("carlos-house", 0, KWH).await;
    assert_fails_with(result, EnergyError::DuplicateReading);
    assert_unchanged(&mut g, &w).await;
    // The very same report again, in a new transaction.
    g.refresh_blockhash().await;
    let result = g.report("carlos-house", 0, 3 * KWH).await;
    assert_fails_with(result, EnergyError::DuplicateReading);
    assert_unchanged(&mut g, &w).await;

    let epoch = g.epoch_state(0).await;
    assert_eq!(epoch.consumer_readings, 1);
    assert_eq!(epoch.consumed_wh, 3 * KWH);
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(meter.pending_wh(0), Some(3 * KWH));
    assert_eq!(meter.committed_units, 3 * K);
}

#[tokio::test]
async fn report_for_a_future_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    assert_eq!(g.current_epoch().await, 0);
    let w = watch(&mut g, &[pda::epoch(&grid, u64::MAX)]).await;
    let result = g.report("carlos-house", 1, KWH).await;
    assert_fails_with(result, EnergyError::EpochNotStarted);
    assert_unchanged(&mut g, &w).await;
    let result = g.report("carlos-house", u64::MAX, KWH).await;
    assert_fails_with(result, EnergyError::EpochNotStarted);
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&pda::epoch(&grid, 1)).await);
}

#[tokio::test]
async fn report_after_the_grace_window_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid_state().await;
    let closes = grid.epoch_end(0).unwrap() + grid.params.grace_seconds as i64;
    // The last second of the grace window still takes a late report ...
    g.set_time(closes - 1).await;
    g.report("carlos-house", 0, KWH).await.unwrap();
    // ... the next one does not, whether the epoch account exists or not.
    g.set_time(closes).await;
    let w = watch(&mut g, &[]).await;
    let result = g.report("danny-house", 0, KWH).await;
    assert_fails_with(result, EnergyError::EpochClosedForReports);
    assert_unchanged(&mut g, &w).await;

    g.enter_epoch(3).await;
    let address = pda::epoch(&g.grid, 1);
    let w = watch(&mut g, &[]).await;
    let result = g.report("danny-house", 1, KWH).await;
    assert_fails_with(result, EnergyError::EpochClosedForReports);
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&address).await);
}

#[tokio::test]
async fn reading_over_the_per_epoch_limit_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let limit = g.grid_state().await.params.max_wh_per_epoch;
    assert_eq!(limit, 1_000_000);
    let w = watch(&mut g, &[]).await;
    let result = g.report("angel-roof", 0, limit + 1).await;
    assert_fails_with(result, EnergyError::ReadingOverLimit);
    assert_unchanged(&mut g, &w).await;
    let result = g.report("angel-roof", 0, u64::MAX).await;
    assert_fails_with(result, EnergyError::ReadingOverLimit);
    assert_unchanged(&mut g, &w).await;
    // The limit itself is accepted.
    g.report("angel-roof", 0, limit).await.unwrap();
}

#[tokio::test]
async fn report_into_a_ninth_unsettled_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    for epoch in 0..8 {
        g.enter_epoch(epoch).await;
        g.report("angel-roof", epoch, KWH).await.unwrap();
    }
    g.enter_epoch(8).await;
    let w = watch(&mut g, &[]).await;
    let result = g.report("angel-roof", 8, KWH).await;
    assert_fails_with(result, EnergyError::SettlementBacklog);
    assert_unchanged(&mut g, &w).await;
    // The unsettled reading of epoch 0 was not overwritten.
    assert_eq!(g.meter_state("angel-roof").await.pending_wh(0), Some(KWH));

    // Once the crank settles epoch 0, its slot is free again.
    g.settle(0, &["angel-roof"]).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
    g.report("angel-roof", 8, KWH).await.unwrap();
    assert_eq!(g.meter_state("angel-roof").await.pending_wh(8), Some(KWH));
}

#[tokio::test]
async fn report_for_a_deactivated_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let meter = g.meter("angel-roof").address;
    let admin = g.admin.insecure_clone();
    g.send(
        &[ix::deactivate_meter(&admin.pubkey(), &grid, &meter)],
        &[&admin],
    )
    .await
    .unwrap();
    let w = watch(&mut g, &[]).await;
    let result = g.report("angel-roof", 0, KWH).await;
    assert_fails_with(result, EnergyError::MeterInactive);
    assert_unchanged(&mut g, &w).await;
    // Deactivating it again is refused the same way.
    let result = g
        .send(
            &[ix::deactivate_meter(&admin.pubkey(), &grid, &meter)],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::MeterInactive);
    assert_unchanged(&mut g, &w).await;
}

// ---------------------------------------------------------------------------------------------
// Funding meters

#[tokio::test]
async fn fund_with_zero_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let w = watch(&mut g, &[]).await;
    let result = g.fund("carlos", "carlos-house", 0).await;
    assert_fails_with(result, EnergyError::ZeroAmount);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_more_than_the_funder_holds_is_refused() {
    let mut g = TestGrid::seed_community().await;
    assert_eq!(g.coins("carlos").await, 10 * K);
    let w = watch(&mut g, &[]).await;
    let result = g.fund("carlos", "carlos-house", 10 * K + 1).await;
    assert_fails_with(result, EnergyError::InsufficientCoins);
    assert_unchanged(&mut g, &w).await;
    let result = g.fund("carlos", "danny-house", u64::MAX).await;
    assert_fails_with(result, EnergyError::InsufficientCoins);
    assert_unchanged(&mut g, &w).await;
    // All of it is fine.
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    assert_eq!(g.coins("carlos").await, 0);
}

#[tokio::test]
async fn fund_signed_by_a_wallet_that_is_not_the_residents_authority_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    // Mallory tries to spend Carlos's coins on Danny's meter.
    let meter = g.meter("danny-house").address;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::fund(&mallory.pubkey(), &grid, &carlos, &meter, K)],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotResidentOwner);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_from_another_residents_coin_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let carlos_wallet = g.resident("carlos").wallet.insecure_clone();
    let angel_coins = g.resident("angel").coins;
    let meter = g.meter("carlos-house").address;
    // Carlos signs for himself, but names Angel's coin account as the source.
    let mut instruction = ix::fund(&carlos_wallet.pubkey(), &grid, &carlos, &meter, K);
    swap_account(&mut instruction, &pda::coins(&carlos), &angel_coins);
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&carlos_wallet]).await;
    assert_fails_with(result, EnergyError::WrongCoinAccount);
    assert_unchanged(&mut g, &w).await;
    assert_eq!(g.coins("angel").await, 20 * K);
}

#[tokio::test]
async fn fund_a_producer_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let w = watch(&mut g, &[]).await;
    let result = g.fund("angel", "angel-roof", K).await;
    assert_fails_with(result, EnergyError::NotConsumerMeter);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_a_deactivated_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let meter = g.meter("carlos-house").address;
    let admin = g.admin.insecure_clone();
    g.send(
        &[ix::deactivate_meter(&admin.pubkey(), &grid, &meter)],
        &[&admin],
    )
    .await
    .unwrap();
    let w = watch(&mut g, &[]).await;
    let result = g.fund("carlos", "carlos-house", K).await;
    assert_fails_with(result, EnergyError::MeterInactive);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let w = watch(&mut g, &[other.meter, pda::vault(&other.grid)]).await;
    let result = g
        .send(
            &[ix::fund(&wallet.pubkey(), &grid, &carlos, &other.meter, K)],
            &[&wallet],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_into_a_substituted_vault_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let danny_coins = g.resident("danny").coins;
    let w = watch(&mut g, &[pda::vault(&other.grid)]).await;
    // Coins "deposited" to the meter would land in Danny's account, in the treasury, or in
    // the other grid's vault.
    for substitute in [danny_coins, pda::treasury(&grid), pda::vault(&other.grid)] {
        let mut instruction = ix::fund(&wallet.pubkey(), &grid, &carlos, &meter, K);
        swap_account(&mut instruction, &pda::vault(&grid), &substitute);
        let result = g.send(&[instruction], &[&wallet]).await;
        assert_fails_with(result, EnergyError::WrongCoinAccount);
        assert_unchanged(&mut g, &w).await;
    }
}

#[tokio::test]
async fn fund_into_a_substituted_pool_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let danny_coins = g.resident("danny").coins;
    let mut instruction = ix::fund(&wallet.pubkey(), &grid, &carlos, &meter, K);
    swap_account(&mut instruction, &pda::pool(&grid), &danny_coins);
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&wallet]).await;
    assert_fails_with(result, EnergyError::WrongCoinAccount);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_with_the_pool_passed_as_the_vault_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let mut instruction = ix::fund(&wallet.pubkey(), &grid, &carlos, &meter, K);
    swap_account(&mut instruction, &pda::vault(&grid), &pda::pool(&grid));
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&wallet]).await;
    // The same account twice as two mutable fields: Anchor refuses before the program's
    // own `address` check.
    assert_fails_with(result, AnchorError::ConstraintDuplicateMutableAccount);
    assert_unchanged(&mut g, &w).await;
}

// ---------------------------------------------------------------------------------------------
// The fiat oracle

#[tokio::test]
async fn add_fiat_signed_by_a_non_oracle_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let receipt = pda::receipt(&grid, "evt_forged");
    let supply = g.supply().await;
    let w = watch(&mut g, &[receipt, mallory.pubkey()]).await;
    let result = g
        .send(
            &[ix::add_fiat(
                &mallory.pubkey(),
                &grid,
                &carlos,
                1_000_000,
                "evt_forged",
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridOracle);
    assert_unchanged(&mut g, &w).await;
    assert_eq!(g.supply().await, supply);
    assert!(!g.exists(&receipt).await);
}

#[tokio::test]
async fn add_fiat_from_another_grids_oracle_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Mallory runs her own grid and is its oracle; she names her grid and Carlos.
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
    let carlos = g.resident("carlos").resident;
    let receipt = pda::receipt(&her_grid, "evt_x");
    let w = watch(&mut g, &[receipt, pda::mint(&her_grid)]).await;
    let result = g
        .send(
            &[ix::add_fiat(
                &mallory.pubkey(),
                &her_grid,
                &carlos,
                100,
                "evt_x",
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn add_fiat_of_zero_cents_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let receipt = pda::receipt(&g.grid, "evt_zero");
    let w = watch(&mut g, &[receipt]).await;
    let result = g.add_fiat("carlos", 0, "evt_zero").await;
    assert_fails_with(result, EnergyError::ZeroAmount);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn add_fiat_that_overflows_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let w = watch(
        &mut g,
        &[
            pda::receipt(&grid, "evt_max"),
            pda::receipt(&grid, "evt_min"),
        ],
    )
    .await;
    // i64::MAX cents is 9.2e23 base units at 10 cents per k: more than a u64 holds.
    let result = g.add_fiat("carlos", i64::MAX, "evt_max").await;
    assert_fails_with(result, EnergyError::AmountTooLarge);
    assert_unchanged(&mut g, &w).await;
    // The same on the way out: i64::MIN cents cannot be converted to a burn.
    let result = g.add_fiat("carlos", i64::MIN, "evt_min").await;
    assert_fails_with(result, EnergyError::AmountTooLarge);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn add_fiat_below_one_base_unit_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let args = UpdateGridArgs {
        coin_price_cents: Some(2 * K),
        ..Default::default()
    };
    g.send(&[ix::update_grid(&admin.pubkey(), &grid, args)], &[&admin])
        .await
        .unwrap();
    let w = watch(&mut g, &[pda::receipt(&grid, "evt_cent")]).await;
    // At $20,000 per k, one cent buys half a base unit, which rounds down to nothing.
    let result = g.add_fiat("carlos", 1, "evt_cent").await;
    assert_fails_with(result, EnergyError::AmountBelowOneUnit);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn replayed_payment_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let supply = g.supply().await;
    g.add_fiat("carlos", 100, "evt_once").await.unwrap();
    assert_eq!(g.coins("carlos").await, 20 * K);
    assert_eq!(g.supply().await, supply + 10 * K);

    let receipt = pda::receipt(&grid, "evt_once");
    let w = watch(&mut g, &[receipt]).await;
    // The same delivery again, then the same id with another amount and another resident.
    g.refresh_blockhash().await;
    let result = g.add_fiat("carlos", 100, "evt_once").await;
    assert_fails_with(result, EnergyError::PaymentAlreadyProcessed);
    assert_unchanged(&mut g, &w).await;
    let result = g.add_fiat("carlos", 100_000, "evt_once").await;
    assert_fails_with(result, EnergyError::PaymentAlreadyProcessed);
    assert_unchanged(&mut g, &w).await;
    let result = g.add_fiat("danny", 100, "evt_once").await;
    assert_fails_with(result, EnergyError::PaymentAlreadyProcessed);
    assert_unchanged(&mut g, &w).await;

    assert_eq!(g.coins("carlos").await, 20 * K);
    assert_eq!(g.supply().await, supply + 10 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn payment_id_longer_than_32_bytes_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let long = "evt_".to_string() + &"x".repeat(29);
    assert_eq!(long.len(), 33);
    // Its receipt address is derived from the first 32 bytes; nothing may be created there.
    let receipt = pda::receipt(&grid, &long);
    let w = watch(&mut g, &[receipt]).await;
    let result = g.add_fiat("carlos", 100, &long).await;
    assert_fails_with(result, EnergyError::InvalidPaymentId);
    assert_unchanged(&mut g, &w).await;
    let result = g.add_fiat("carlos", 100, &"y".repeat(200)).await;
    assert_fails_with(result, EnergyError::InvalidPaymentId);
    assert_unchanged(&mut g, &w).await;
    // 32 bytes is fine.
    g.add_fiat("carlos", 100, &long[..32]).await.unwrap();
}

#[tokio::test]
async fn empty_payment_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let receipt = pda::receipt(&g.grid, "");
    let w = watch(&mut g, &[receipt]).await;
    let result = g.add_fiat("carlos", 100, "").await;
    assert_fails_with(result, EnergyError::InvalidPaymentId);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn burn_beyond_locked_coins_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let w = watch(&mut g, &[pda::receipt(&grid, "po_1")]).await;
    // Nothing locked: even one cent is too much, though Carlos holds 10 k.
    let result = g.add_fiat("carlos", -1, "po_1").await;
    assert_fails_with(result, EnergyError::BurnExceedsEscrow);
    assert_unchanged(&mut g, &w).await;

    // Escrowed but not locked for a payout: still nothing to burn.
    g.request_withdrawal("carlos", 5 * K).await.unwrap();
    let w = watch(&mut g, &[pda::receipt(&grid, "po_1")]).await;
    let result = g.add_fiat("carlos", -1, "po_1").await;
    assert_fails_with(result, EnergyError::BurnExceedsEscrow);
    assert_unchanged(&mut g, &w).await;

    g.lock_withdrawal("carlos", 50, "wd_1").await.unwrap();
    let w = watch(&mut g, &[pda::receipt(&grid, "po_2")]).await;
    // 5 k is 50 cents; 51 cents would burn 5.1 k.
    let result = g.add_fiat("carlos", -51, "po_2").await;
    assert_fails_with(result, EnergyError::BurnExceedsEscrow);
    assert_unchanged(&mut g, &w).await;
    // Danny has nothing locked and cannot be paid out of Carlos's coins.
    let result = g.add_fiat("danny", -10, "po_2").await;
    assert_fails_with(result, EnergyError::BurnExceedsEscrow);
    assert_unchanged(&mut g, &w).await;
    // Exactly the locked coins is fine.
    g.add_fiat("carlos", -50, "po_2").await.unwrap();
    let carlos = g.resident_state("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
    g.assert_books_balance().await;
}

#[tokio::test]
async fn lock_and_return_signed_by_a_non_oracle_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    g.request_withdrawal("carlos", 5 * K).await.unwrap();
    g.lock_withdrawal("carlos", 20, "wd_1").await.unwrap();
    let (lock, ret) = (pda::receipt(&grid, "wd_x"), pda::receipt(&grid, "po_x"));
    let w = watch(&mut g, &[carlos, lock, ret, mallory.pubkey()]).await;
    // Mallory would lock Carlos's escrow so that he cannot cancel it...
    let result = g
        .send(
            &[ix::lock_withdrawal(
                &mallory.pubkey(),
                &grid,
                &carlos,
                30,
                "wd_x",
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridOracle);
    assert_unchanged(&mut g, &w).await;
    // ...or return locked coins while the processor is paying him dollars for them.
    let result = g
        .send(
            &[ix::return_withdrawal(
                &mallory.pubkey(),
                &grid,
                &carlos,
                20,
                "po_x",
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridOracle);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn lock_and_return_beyond_what_is_there_or_for_another_grid_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let oracle = g.oracle.insecure_clone();
    g.request_withdrawal("carlos", 2 * K).await.unwrap();
    let carlos = g.resident("carlos").resident;
    let receipts = [pda::receipt(&grid, "wd_1"), pda::receipt(&grid, "po_1")];
    let w = watch(&mut g, &[carlos, receipts[0], receipts[1]]).await;
    assert_fails_with(
        g.lock_withdrawal("carlos", 21, "wd_1").await,
        EnergyError::LockExceedsEscrow,
    );
    assert_fails_with(
        g.lock_withdrawal("carlos", 0, "wd_1").await,
        EnergyError::ZeroAmount,
    );
    assert_fails_with(
        g.lock_withdrawal("carlos", 1, "").await,
        EnergyError::InvalidPaymentId,
    );
    assert_fails_with(
        g.return_withdrawal("carlos", 1, "po_1").await,
        EnergyError::ReturnExceedsLocked,
    );
    assert_unchanged(&mut g, &w).await;
    // Our oracle, the other grid's resident.
    let w = watch(&mut g, &[other.resident]).await;
    let result = g
        .send(
            &[ix::lock_withdrawal(
                &oracle.pubkey(),
                &grid,
                &other.resident,
                1,
                "wd_2",
            )],
            &[&oracle],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn cancel_withdrawal_with_nothing_escrowed_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::cancel_withdrawal(&wallet.pubkey(), &grid, &carlos)],
            &[&wallet],
        )
        .await;
    assert_fails_with(result, EnergyError::NothingEscrowed);
    assert_unchanged(&mut g, &w).await;
}

// ---------------------------------------------------------------------------------------------
// The settlement crank

#[tokio::test]
async fn settle_an_open_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    let grid = g.grid_state().await;
    let closes = grid.epoch_end(0).unwrap() + grid.params.grace_seconds as i64;
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

// ---------------------------------------------------------------------------------------------
// Collecting earnings

#[tokio::test]
async fn collect_earnings_to_a_resident_who_is_not_the_owner_is_refused() {
    let mut g = settled_community().await;
    let grid = g.grid;
    let meter = g.meter("angel-roof").address;
    let bennie = g.resident("bennie").resident;
    assert!(g.meter_state("angel-roof").await.balance_units > 0);
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(&[ix::collect_earnings(&grid, &meter, &bennie)], &[])
        .await;
    assert_fails_with(result, EnergyError::WrongMeterOwner);
    assert_unchanged(&mut g, &w).await;

    // Angel's resident account with Bennie's coin account is refused too.
    let angel = g.resident("angel").resident;
    let mut instruction = ix::collect_earnings(&grid, &meter, &angel);
    swap_account(&mut instruction, &pda::coins(&angel), &pda::coins(&bennie));
    let result = g.send(&[instruction], &[]).await;
    assert_fails_with(result, EnergyError::WrongCoinAccount);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn collect_earnings_with_nothing_earned_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let w = watch(&mut g, &[]).await;
    let result = g.collect("angel-roof").await;
    assert_fails_with(result, EnergyError::NothingToCollect);
    assert_unchanged(&mut g, &w).await;

    // Nor twice for the same earnings.
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    g.collect("angel-roof").await.unwrap();
    let w = watch(&mut g, &[]).await;
    g.refresh_blockhash().await;
    let result = g.collect("angel-roof").await;
    assert_fails_with(result, EnergyError::NothingToCollect);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn collect_earnings_on_a_consumer_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Carlos's house holds 10 k of prepaid coins: they are not earnings.
    assert_eq!(g.meter_state("carlos-house").await.balance_units, 10 * K);
    let w = watch(&mut g, &[]).await;
    let result = g.collect("carlos-house").await;
    assert_fails_with(result, EnergyError::NotProducerMeter);
    assert_unchanged(&mut g, &w).await;
}

// ---------------------------------------------------------------------------------------------
// Registration and grid parameters

#[tokio::test]
async fn register_resident_with_an_invalid_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let wallet = mallory(&mut g).await;
    let long = "a".repeat(33);
    for id in [
        "has space",
        "",
        long.as_str(),
        "slash/id",
        "émile",
        "tab\tid",
    ] {
        let address = pda::resident(&grid, id);
        let w = watch(&mut g, &[address, pda::coins(&address), wallet.pubkey()]).await;
        let index = g
            .account::<energy_utility::state::Grid>(&grid)
            .await
            .resident_count;
        let result = g
            .send(
                &[ix::register_resident(&wallet.pubkey(), &grid, index, id)],
                &[&wallet],
            )
            .await;
        assert_fails_with(result, EnergyError::InvalidId);
        assert_unchanged(&mut g, &w).await;
    }
    assert_eq!(g.grid_state().await.resident_count, 4);
}

#[tokio::test]
async fn register_meter_with_an_invalid_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let owner = g.resident("angel").resident;
    let long = "m".repeat(33);
    for id in ["pole 1", "", long.as_str()] {
        let args = meter_args(id, MeterKind::Pole, &Pubkey::new_unique());
        let w = watch(&mut g, &[pda::meter(&grid, id)]).await;
        let index = g
            .account::<energy_utility::state::Grid>(&grid)
            .await
            .meter_count;
        let result = g
            .send(
                &[ix::register_meter(
                    &admin.pubkey(),
                    &grid,
                    &owner,
                    index,
                    args,
                )],
                &[&admin],
            )
            .await;
        assert_fails_with(result, EnergyError::InvalidId);
        assert_unchanged(&mut g, &w).await;
    }
}

#[tokio::test]
async fn register_meter_with_a_label_over_64_bytes_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let owner = g.resident("angel").resident;
    let mut args = meter_args("pole-1", MeterKind::Pole, &Pubkey::new_unique());
    args.label = "x".repeat(65);
    let w = watch(&mut g, &[pda::meter(&grid, "pole-1")]).await;
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .meter_count;
    let result = g
        .send(
            &[ix::register_meter(
                &admin.pubkey(),
                &grid,
                &owner,
                index,
                args.clone(),
            )],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::LabelTooLong);
    assert_unchanged(&mut g, &w).await;
    // 64 bytes fit.
    args.label = "x".repeat(64);
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .meter_count;
    g.send(
        &[ix::register_meter(
            &admin.pubkey(),
            &grid,
            &owner,
            index,
            args,
        )],
        &[&admin],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn register_meter_off_the_map_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let owner = g.resident("angel").resident;
    for (lat, lon) in [(90_000_001, 0), (0, -180_000_001), (i32::MIN, 0)] {
        let mut args = meter_args("pole-1", MeterKind::Pole, &Pubkey::new_unique());
        args.latitude_micro = lat;
        args.longitude_micro = lon;
        let w = watch(&mut g, &[pda::meter(&grid, "pole-1")]).await;
        let index = g
            .account::<energy_utility::state::Grid>(&grid)
            .await
            .meter_count;
        let result = g
            .send(
                &[ix::register_meter(
                    &admin.pubkey(),
                    &grid,
                    &owner,
                    index,
                    args,
                )],
                &[&admin],
            )
            .await;
        assert_fails_with(result, EnergyError::InvalidPosition);
        assert_unchanged(&mut g, &w).await;
    }
}

#[tokio::test]
async fn register_meter_owned_by_a_resident_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let args = meter_args("pole-1", MeterKind::Pole, &Pubkey::new_unique());
    let w = watch(&mut g, &[pda::meter(&grid, "pole-1"), other.resident]).await;
    let index = g
        .account::<energy_utility::state::Grid>(&grid)
        .await
        .meter_count;
    let result = g
        .send(
            &[ix::register_meter(
                &admin.pubkey(),
                &grid,
                &other.resident,
                index,
                args,
            )],
            &[&admin],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

/// Tries to create a grid named `name` with `args` changed by `tweak`; nothing is created.
async fn refused_grid(tweak: impl FnOnce(&mut InitializeGridArgs), expected: EnergyError) {
    let mut g = TestGrid::start().await;
    let admin = g.admin.insecure_clone();
    let mut args = grid_args("bad-grid", &g.oracle.pubkey());
    tweak(&mut args);
    let grid = pda::grid(&args.name);
    let addresses = [
        grid,
        pda::mint(&grid),
        pda::vault(&grid),
        pda::pool(&grid),
        pda::treasury(&grid),
        pda::escrow(&grid),
        admin.pubkey(),
    ];
    let before = snapshot(&mut g, &addresses).await;
    let result = g
        .send(&[ix::initialize_grid(&admin.pubkey(), args)], &[&admin])
        .await;
    assert_fails_with(result, expected);
    let after = snapshot(&mut g, &addresses).await;
    assert_same(&addresses, &before, &after);
    assert!(!g.exists(&grid).await);
}

#[tokio::test]
async fn initialize_grid_with_an_epoch_under_60_seconds_is_refused() {
    refused_grid(
        |a| {
            a.epoch_seconds = 59;
            a.params.grace_seconds = 10;
        },
        EnergyError::InvalidEpochLength,
    )
    .await;
    refused_grid(|a| a.epoch_seconds = 0, EnergyError::InvalidEpochLength).await;
}

#[tokio::test]
async fn initialize_grid_with_a_grace_window_as_long_as_the_epoch_is_refused() {
    refused_grid(
        |a| a.params.grace_seconds = 3_600,
        EnergyError::InvalidGraceWindow,
    )
    .await;
    refused_grid(
        |a| a.params.grace_seconds = u32::MAX,
        EnergyError::InvalidGraceWindow,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_a_zero_tariff_is_refused() {
    refused_grid(
        |a| a.params.tariff_units_per_kwh = 0,
        EnergyError::InvalidTariff,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_a_zero_coin_price_is_refused() {
    refused_grid(|a| a.coin_price_cents = 0, EnergyError::InvalidCoinPrice).await;
}

#[tokio::test]
async fn initialize_grid_with_a_zero_meter_limit_is_refused() {
    refused_grid(
        |a| a.params.max_wh_per_epoch = 0,
        EnergyError::InvalidMeterLimit,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_whose_largest_bill_overflows_is_refused() {
    refused_grid(
        |a| {
            a.params.max_wh_per_epoch = u64::MAX;
            a.params.tariff_units_per_kwh = u64::MAX;
        },
        EnergyError::AmountTooLarge,
    )
    .await;
}

#[tokio::test]
async fn initialize_grid_with_an_invalid_name_is_refused() {
    refused_grid(|a| a.name = "green valley".into(), EnergyError::InvalidId).await;
    refused_grid(|a| a.name = "g".repeat(33), EnergyError::InvalidId).await;
}

#[tokio::test]
async fn update_grid_with_bad_parameters_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    let cases = [
        (
            UpdateGridArgs {
                tariff_units_per_kwh: Some(0),
                ..Default::default()
            },
            EnergyError::InvalidTariff,
        ),
        (
            UpdateGridArgs {
                grace_seconds: Some(3_600),
                ..Default::default()
            },
            EnergyError::InvalidGraceWindow,
        ),
        (
            UpdateGridArgs {
                coin_price_cents: Some(0),
                ..Default::default()
            },
            EnergyError::InvalidCoinPrice,
        ),
        (
            UpdateGridArgs {
                max_wh_per_epoch: Some(0),
                ..Default::default()
            },
            EnergyError::InvalidMeterLimit,
        ),
    ];
    let w = watch(&mut g, &[]).await;
    for (args, expected) in cases {
        let result = g
            .send(&[ix::update_grid(&admin.pubkey(), &grid, args)], &[&admin])
            .await;
        assert_fails_with(result, expected);
        assert_unchanged(&mut g, &w).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A paused grid

#[tokio::test]
async fn paused_grid_refuses_reports_funding_fiat_and_settlement_until_unpaused() {
    let mut g = TestGrid::seed_community().await;
    let grid_address = g.grid;
    let admin = g.admin.insecure_clone();
    g.report_seed_example(0).await;
    g.close_epoch_window(0).await;
    g.send(
        &[ix::set_paused(&admin.pubkey(), &grid_address, true)],
        &[&admin],
    )
    .await
    .unwrap();
    assert!(g.grid_state().await.paused);

    let receipt = pda::receipt(&grid_address, "evt_paused");
    let meters = ["carlos-house", "danny-house", "angel-roof", "bennie-roof"];
    let w = watch(&mut g, &[receipt]).await;
    assert_fails_with(
        g.report("carlos-house", 1, KWH).await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.fund("carlos", "carlos-house", K).await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.add_fiat("carlos", 100, "evt_paused").await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.lock_withdrawal("carlos", 1, "wd_paused").await,
        EnergyError::GridPaused,
    );
    assert_fails_with(
        g.return_withdrawal("carlos", 1, "po_paused").await,
        EnergyError::GridPaused,
    );
    assert_fails_with(g.settle(0, &meters).await, EnergyError::GridPaused);
    // Settlement would pay the producers; collecting, withdrawing and registering wait too.
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    assert_fails_with(
        g.send(
            &[ix::request_withdrawal(
                &wallet.pubkey(),
                &grid_address,
                &carlos,
                K,
            )],
            &[&wallet],
        )
        .await,
        EnergyError::GridPaused,
    );
    let index = g
        .account::<energy_utility::state::Grid>(&grid_address)
        .await
        .resident_count;
    assert_fails_with(
        g.send(
            &[ix::register_resident(
                &wallet.pubkey(),
                &grid_address,
                index,
                "carlos-2",
            )],
            &[&wallet],
        )
        .await,
        EnergyError::GridPaused,
    );
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&receipt).await);
    let state: Grid = g.grid_state().await;
    assert!(state.paused);

    // Unpaused, the very same requests go through.
    g.send(
        &[ix::set_paused(&admin.pubkey(), &grid_address, false)],
        &[&admin],
    )
    .await
    .unwrap();
    g.refresh_blockhash().await;
    g.report("carlos-house", 1, KWH).await.unwrap();
    g.fund("carlos", "carlos-house", K).await.unwrap();
    g.add_fiat("carlos", 100, "evt_paused").await.unwrap();
    g.settle(0, &meters).await.unwrap();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
    assert_eq!(g.meter_state("carlos-house").await.pending_wh(1), Some(KWH));
    let resident: Resident = g.resident_state("carlos").await;
    assert_eq!(resident.escrow_units, 0);
    assert_eq!(g.coins("carlos").await, 10 * K - K + 10 * K);
    g.assert_books_balance().await;
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn report_into_a_settled_and_closed_epoch_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    g.report("carlos-house", 0, KWH).await.unwrap();
    g.report("angel-roof", 0, KWH).await.unwrap();
    // During epoch 0 the admin lengthens the grace window from 600 s to 1800 s, from epoch 1.
    let longer_grace = UpdateGridArgs {
        grace_seconds: Some(1_800),
        ..Default::default()
    };
    g.send(
        &[ix::update_grid(&admin.pubkey(), &grid, longer_grace)],
        &[&admin],
    )
    .await
    .unwrap();
    // Epoch 0 closes after its own 600 s grace, is settled, and its account is closed.
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let payer = g.ctx.payer.pubkey();
    g.send(&[ix::close_epoch(&grid, 0, &payer)], &[])
        .await
        .unwrap();
    // Any later update rolls the pending parameters into the current ones.
    let price = UpdateGridArgs {
        coin_price_cents: Some(11),
        ..Default::default()
    };
    g.send(&[ix::update_grid(&admin.pubkey(), &grid, price)], &[&admin])
        .await
        .unwrap();

    // Danny never reported epoch 0; 100 s after it was settled, his report must be refused.
    let w = watch(&mut g, &[]).await;
    let result = g.report("danny-house", 0, 2 * KWH).await;
    assert_fails_with(result, EnergyError::EpochClosedForReports);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn parameters_changed_during_an_epoch_do_not_apply_to_its_late_first_report() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let admin = g.admin.insecure_clone();
    // During epoch 0 the tariff doubles, from epoch 1.
    let doubled = UpdateGridArgs {
        tariff_units_per_kwh: Some(2 * K),
        ..Default::default()
    };
    g.send(
        &[ix::update_grid(&admin.pubkey(), &grid, doubled)],
        &[&admin],
    )
    .await
    .unwrap();
    // In epoch 1, any update rolls the new tariff into the current parameters ...
    let end0 = g.grid_state().await.epoch_end(0).unwrap();
    g.set_time(end0 + 100).await;
    let price = UpdateGridArgs {
        coin_price_cents: Some(11),
        ..Default::default()
    };
    g.send(&[ix::update_grid(&admin.pubkey(), &grid, price)], &[&admin])
        .await
        .unwrap();
    // ... and epoch 0's first report, late but within its grace window, opens it.
    g.report("carlos-house", 0, KWH).await.unwrap();
    let epoch = g.epoch_state(0).await;
    assert_eq!(
        epoch.params.tariff_units_per_kwh, K,
        "epoch 0 keeps its tariff"
    );
    assert_eq!(epoch.billed_units, K);
}
