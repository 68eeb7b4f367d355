//! The utility's admin key alone: it must not bill or pay a resident's meter differently, let a
//! producer of its own share the pool, or change the grid's economics without notice. Each such
//! act waits for the grid's notice (72 hours here, as by default), visible on chain; the meter's
//! owner can veto what concerns their meter; with the owner's signature it applies at once.
//! Pausing stays immediate, and the admin role moves in two steps.

use super::*;
use anchor_lang::prelude::Pubkey;

/// The design's community on a grid with the default 72 hours' notice.
async fn noticed_community() -> TestGrid {
    TestGrid::seed_community_with_notice(NOTICE).await
}

const NOTICE: u32 = energy_utility::constants::DEFAULT_NOTICE_SECONDS;

/// A meter's account data, to compare two states whole.
fn bytes(meter: &Meter) -> Vec<u8> {
    let mut data = Vec::new();
    anchor_lang::AccountSerialize::try_serialize(meter, &mut data).unwrap();
    data
}

#[tokio::test]
async fn the_admin_alone_cannot_rotate_a_residents_gateway_and_bill_the_house() {
    let mut g = noticed_community().await;
    let carlos_gateway = g.meter("carlos-house").gateway.pubkey();
    let before = g.meter_state("carlos-house").await.balance_units;
    // The admin points carlos-house at its own key and reports 20 kWh on it.
    let admin = g.admin.insecure_clone();
    g.rotate_gateway("carlos-house", &admin.pubkey())
        .await
        .unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(
        meter.gateway, carlos_gateway,
        "the rotation waits for the notice: carlos's own gateway still reports"
    );
    let change = meter.pending_change.expect("visible on the meter");
    assert_eq!(change.effective_ts, g.now + NOTICE as i64);
    let house = g.meter("carlos-house").address;
    let payer = g.ctx.payer.pubkey();
    let (grid, epoch) = (g.grid, g.current_epoch().await);
    let report = energy_utility_sdk::instructions::report(
        &admin.pubkey(),
        &payer,
        &grid,
        &house,
        epoch,
        20 * KWH,
    );
    g.assert_send_refused(&[report], &[&admin], EnergyError::WrongGateway, &[])
        .await;
    assert_eq!(g.meter_state("carlos-house").await.balance_units, before);
    // Carlos sees it and vetoes it: his gateway stays, and nothing is left to apply.
    g.veto_meter_change("carlos-house").await.unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!(
        (meter.gateway, meter.pending_change),
        (carlos_gateway, None)
    );
    g.set_time(change.effective_ts).await;
    g.assert_refused(EnergyError::NoPendingChange, &[house], async |g| {
        g.apply_meter_change("carlos-house").await
    })
    .await;
}

/// Whether a meter shows a change applied.
type Applied = fn(&Meter) -> bool;

#[tokio::test]
async fn each_meter_change_without_the_owner_waits_for_the_notice_then_applies() {
    let gateway = Keypair::new().pubkey();
    let acts: [(MeterAct, Applied); 4] = [
        (MeterAct::RotateGateway { gateway }, |m| {
            m.gateway != Pubkey::default() && m.capacity_w > 0 && m.active
        }),
        (MeterAct::SetCapacity { capacity_w: 7_000 }, |m| {
            m.capacity_w == 7_000
        }),
        (MeterAct::ReplaceRegister { register_wh: 0 }, |m| {
            m.last_register_wh == 0
        }),
        (MeterAct::Deactivate, |m| !m.active),
    ];
    for (act, applied) in acts {
        let mut g = noticed_community().await;
        let house = g.meter("carlos-house").address;
        let coins = g.resident("carlos").coins;
        // The house reports 1 kWh first, so a register restarted at 0 is a real change.
        let epoch = g.current_epoch().await;
        g.report("carlos-house", epoch, KWH).await.unwrap();
        let before = g.meter_state("carlos-house").await;
        g.change_meter("carlos-house", act, false).await.unwrap();
        let proposed = g.meter_state("carlos-house").await;
        assert_eq!(proposed.pending_change.map(|c| c.act), Some(act));
        // Nothing but the proposal changed on the meter, and applying it early is refused.
        let unchanged = Meter {
            pending_change: None,
            ..proposed.clone()
        };
        assert_eq!(bytes(&unchanged), bytes(&before), "{act:?}");
        let due = proposed.pending_change.unwrap().effective_ts;
        assert_eq!(due, g.now + NOTICE as i64);
        g.set_time(due - 1).await;
        g.assert_refused(EnergyError::ChangeNotDue, &[house, coins], async |g| {
            g.apply_meter_change("carlos-house").await
        })
        .await;
        // Once the notice has passed, anyone applies it.
        g.set_time(due).await;
        let coins_before = g.coins("carlos").await;
        g.apply_meter_change("carlos-house").await.unwrap();
        let after = g.meter_state("carlos-house").await;
        assert!(applied(&after), "{act:?} applied");
        assert_eq!(after.pending_change, None);
        if let MeterAct::RotateGateway { gateway } = act {
            assert_eq!(after.gateway, gateway);
        }
        if act == MeterAct::Deactivate {
            // Retired: what its unsettled reading does not need went to Carlos.
            let refund = before.balance_units - before.committed_units;
            assert_eq!(g.coins("carlos").await, coins_before + refund);
        }
        g.assert_books_balance().await;
    }
}

#[tokio::test]
async fn with_the_owners_signature_a_meter_change_applies_at_once() {
    let mut g = noticed_community().await;
    let gateway = Keypair::new().pubkey();
    g.change_meter("carlos-house", MeterAct::RotateGateway { gateway }, true)
        .await
        .unwrap();
    let meter = g.meter_state("carlos-house").await;
    assert_eq!((meter.gateway, meter.pending_change), (gateway, None));
    let coins = g.coins("carlos").await;
    let prepaid = meter.balance_units;
    g.change_meter("carlos-house", MeterAct::Deactivate, true)
        .await
        .unwrap();
    assert!(!g.meter_state("carlos-house").await.active);
    assert_eq!(g.coins("carlos").await, coins + prepaid);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn someone_elses_signature_does_not_count_as_the_owners_nor_veto() {
    let mut g = noticed_community().await;
    let house = g.meter("carlos-house").address;
    let admin = g.admin.insecure_clone();
    let danny = g.resident("danny").wallet.insecure_clone();
    let instruction = g.change_meter_instruction(
        &admin.pubkey(),
        "carlos-house",
        MeterAct::Deactivate,
        Some(&danny),
    );
    g.assert_send_refused(
        &[instruction],
        &[&admin, &danny],
        EnergyError::NotResidentOwner,
        &[house],
    )
    .await;
    g.set_meter_capacity("carlos-house", 1).await.unwrap();
    // Danny vetoing a change to Carlos's meter: refused, the change stays.
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let veto = energy_utility_sdk::instructions::veto_meter_change(
        &danny.pubkey(),
        &grid,
        &house,
        &carlos,
    );
    g.assert_send_refused(&[veto], &[&danny], EnergyError::NotResidentOwner, &[house])
        .await;
    assert!(g.meter_state("carlos-house").await.pending_change.is_some());
}

#[tokio::test]
async fn the_grids_economics_change_only_after_the_notice_and_pausing_does_not_wait() {
    let mut g = noticed_community().await;
    let before = g.grid_state().await;
    let mallorys_oracle = Keypair::new().pubkey();
    let args = UpdateGridArgs {
        fee_units: Some(50_000),
        tariff_units_per_kwh: Some(2 * K),
        max_silent_epochs: Some(1),
        loss_band_min_permille: Some(500),
        coin_price_cents: Some(20),
        oracle: Some(mallorys_oracle),
        mint_limit_units: Some(before.oracle_limits.mint_limit_units * 10),
        receipt_retention_seconds: Some(90 * 86_400),
        ..Default::default()
    };
    g.update_grid(args).await.unwrap();
    let grid = g.grid_state().await;
    let current = grid.epoch_at(g.now).unwrap();
    // Nothing in force changed: this epoch and every epoch within the notice keep today's
    // parameters, and the price, oracle and limits are today's.
    let first = grid.first_epoch_after_notice(g.now).unwrap();
    assert!(first * 3_600 >= (g.now - grid.genesis_ts) as u64 + NOTICE as u64);
    for epoch in [current, current + 1, first - 1] {
        assert_eq!(grid.params_for(epoch), before.params, "epoch {epoch}");
    }
    assert_eq!(grid.params_for(first).tariff_units_per_kwh, 2 * K);
    assert_eq!(
        (grid.coin_price_cents, grid.oracle, grid.oracle_limits),
        (before.coin_price_cents, before.oracle, before.oracle_limits)
    );
    // The new oracle key cannot mint during the notice; the old one still can.
    let due = grid.pending_change.unwrap().effective_ts;
    assert_eq!(due, g.now + NOTICE as i64);
    g.set_time(due - 1).await;
    g.buy("carlos", 100).await;
    // Pausing does not wait.
    g.set_paused(true).await.unwrap();
    assert!(g.grid_state().await.paused);
    g.set_paused(false).await.unwrap();
    // Once the notice has passed, the terms are written down (by anyone) and in force.
    g.set_time(due).await;
    g.apply_grid_changes().await.unwrap();
    let grid = g.grid_state().await;
    assert_eq!(
        (grid.coin_price_cents, grid.oracle, grid.pending_change),
        (20, mallorys_oracle, None)
    );
    assert_eq!(grid.oracle_limits.receipt_retention_seconds, 90 * 86_400);
}

#[tokio::test]
async fn a_tighter_mint_limit_applies_at_once_and_the_admin_can_withdraw_what_waits() {
    let mut g = noticed_community().await;
    let limit = g.grid_state().await.oracle_limits.mint_limit_units;
    let tighter = UpdateGridArgs {
        mint_limit_units: Some(limit / 10),
        ..Default::default()
    };
    g.update_grid(tighter).await.unwrap();
    let grid = g.grid_state().await;
    assert_eq!(
        (grid.oracle_limits.mint_limit_units, grid.pending_change),
        (limit / 10, None)
    );
    let cut = UpdateGridArgs {
        tariff_units_per_kwh: Some(K / 2),
        coin_price_cents: Some(5),
        ..Default::default()
    };
    g.update_grid(cut).await.unwrap();
    g.cancel_grid_changes().await.unwrap();
    let grid = g.grid_state().await;
    assert_eq!(grid.pending_change, None);
    assert_eq!(
        grid.pending_from_epoch,
        energy_utility::state::NO_PENDING_EPOCH
    );
    g.refresh_blockhash().await;
    let address = g.grid;
    g.assert_refused(EnergyError::NoPendingChange, &[address], async |g| {
        g.cancel_grid_changes().await
    })
    .await;
}

#[tokio::test]
async fn a_new_producer_of_the_admin_shares_the_pool_only_after_the_notice() {
    let mut g = noticed_community().await;
    g.add_utility().await;
    g.buy("utility", 100).await;
    g.add_meter("utility-roof", MeterKind::Producer, "utility")
        .await;
    let earns = g.meter_state("utility-roof").await.earns_from_epoch;
    let now_epoch = g.current_epoch().await;
    assert!(
        earns > now_epoch + 71,
        "earns from epoch {earns}, now {now_epoch}"
    );
    // The admin's roof reports 50 kWh in the community's hour: nothing of the pool is its.
    g.report_seed_example(now_epoch).await;
    g.report("utility-roof", now_epoch, 50 * KWH).await.unwrap();
    let roof = g.meter_state("utility-roof").await;
    assert_eq!(
        roof.pending_wh(now_epoch),
        None,
        "its register only sets where it starts"
    );
    assert_eq!(roof.register_wh, 50 * KWH);
    g.close_epoch_window(now_epoch).await;
    g.settle_all(now_epoch).await;
    assert_eq!(g.meter_state("utility-roof").await.balance_units, 0);
    assert_eq!(g.meter_state("angel-roof").await.lifetime_units, 2_721_818);
    // From its first earning epoch on, its readings count from the register it last set.
    g.enter_epoch(earns).await;
    g.report("utility-roof", earns, 2 * KWH).await.unwrap();
    assert_eq!(
        g.meter_state("utility-roof").await.pending_wh(earns),
        Some(2 * KWH)
    );
}

#[tokio::test]
async fn the_admin_role_moves_in_two_steps() {
    let mut g = noticed_community().await;
    let multisig = Keypair::new();
    g.airdrop(&multisig.pubkey(), 1_000_000_000).await;
    g.propose_admin(&multisig.pubkey()).await.unwrap();
    let grid = g.grid_state().await;
    assert_eq!(
        (grid.admin, grid.pending_admin),
        (g.admin.pubkey(), multisig.pubkey())
    );
    // Someone else cannot take the offer.
    let mallory = Keypair::new();
    g.airdrop(&mallory.pubkey(), 1_000_000_000).await;
    let address = g.grid;
    let take = energy_utility_sdk::instructions::accept_admin(&mallory.pubkey(), &address);
    g.assert_send_refused(
        &[take],
        &[&mallory],
        EnergyError::NotPendingAdmin,
        &[address],
    )
    .await;
    let accept = energy_utility_sdk::instructions::accept_admin(&multisig.pubkey(), &address);
    g.send(&[accept], &[&multisig]).await.unwrap();
    let grid = g.grid_state().await;
    assert_eq!(
        (grid.admin, grid.pending_admin),
        (multisig.pubkey(), Default::default())
    );
    // The old key is no admin any more.
    g.assert_refused(EnergyError::NotGridAdmin, &[address], async |g| {
        g.set_paused(true).await
    })
    .await;
}
