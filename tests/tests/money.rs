//! Money that nobody can steal or strand: a payout that fails after it was paid gives the
//! coins back once; a lock's units, not today's price, decide the burn; the utility collects
//! its fees; a retired meter refunds its coins; receipts and ended sales give their rent back
//! after the retention window; the oracle mints within a rolling budget; the fee has a cap.

use energy_utility::error::EnergyError;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{EpochParams, MeterKind, SaleStatus};
use energy_utility_sdk::{instructions as ix, pda};
use energy_utility_tests::*;
use solana_signer::Signer;

/// Carlos with 20 k, one sale of 10 k ($1.00) locked for a payout to his bank account.
async fn locked_sale() -> (TestGrid, u32) {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.buy("carlos", 200).await;
    let number = g.lock_sale("carlos", 10 * K).await;
    (g, number)
}

#[tokio::test]
async fn a_payout_that_fails_after_it_was_paid_gives_the_coins_back_once() {
    let (mut g, number) = locked_sale().await;
    g.payout_paid("carlos", number, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 10 * K);
    assert_eq!(g.coins("carlos").await, 10 * K);

    // Days later the bank returns the money: the processor says the payout failed.
    g.set_time(START_TS + 3 * 86_400).await;
    g.payout_failed("carlos", number, "po_1").await.unwrap();
    assert_eq!(g.coins("carlos").await, 20 * K, "the 10 k are minted back");
    assert_eq!(g.supply().await, 20 * K);
    let sale = g.sale_state("carlos", number).await;
    assert_eq!(sale.status, SaleStatus::Reversed);
    assert_eq!(sale.ended_ts, START_TS + 3 * 86_400);

    // The processor redelivers the failure nine more times: nothing more comes back.
    for _ in 0..9 {
        g.refresh_blockhash().await;
        assert_fails_with(
            g.payout_failed("carlos", number, "po_1").await,
            EnergyError::PaymentAlreadyProcessed,
        );
        assert_fails_with(
            g.payout_paid("carlos", number, "po_1").await,
            EnergyError::PayoutAlreadyFailed,
        );
    }
    assert_eq!(g.coins("carlos").await, 20 * K);
    assert_eq!(g.supply().await, 20 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_price_change_between_lock_and_payout_burns_or_returns_exactly_the_locked_units() {
    // Paid: $1.00 locked at $0.10 (10 k); the price halves; the payout burns 10 k, not 20 k.
    let (mut g, number) = locked_sale().await;
    g.update_grid(UpdateGridArgs {
        coin_price_cents: Some(5),
        ..Default::default()
    })
    .await
    .unwrap();
    g.payout_paid("carlos", number, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 10 * K);
    assert_eq!(g.coins("carlos").await, 10 * K);
    let sale = g.sale_state("carlos", number).await;
    assert_eq!((sale.cents, sale.coin_price_cents), (100, 10));
    g.assert_books_balance().await;

    // Failed: a 1-cent sale locked at $0.10 (0.1 k); the price goes to $0.03; the payout
    // fails and exactly 0.1 k come back (today 1 cent would be 0.333334 k).
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.buy("carlos", 100).await;
    let number = g.lock_sale("carlos", 100_000).await;
    g.update_grid(UpdateGridArgs {
        coin_price_cents: Some(3),
        ..Default::default()
    })
    .await
    .unwrap();
    g.payout_failed("carlos", number, "po_2").await.unwrap();
    assert_eq!(g.coins("carlos").await, 10 * K);
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 0));
    g.assert_books_balance().await;
}

#[tokio::test]
async fn the_utility_collects_its_fees_and_sells_them_like_anyone() {
    let mut g = TestGrid::seed_community().await;
    for epoch in 0..3 {
        g.enter_epoch(epoch).await;
        g.report_seed_example(epoch).await;
        g.close_epoch_window(epoch).await;
        g.settle_all(epoch).await;
    }
    assert_eq!(g.treasury().await, 30_000, "0.01 k an hour for three hours");

    // The utility registers its own resident account with the admin wallet.
    g.add_utility().await;

    // Part, then the rest.
    g.collect_fees("utility", 10_000).await.unwrap();
    assert_eq!(
        (g.treasury().await, g.coins("utility").await),
        (20_000, 10_000)
    );
    g.collect_fees("utility", 0).await.unwrap();
    assert_eq!((g.treasury().await, g.coins("utility").await), (0, 30_000));
    g.assert_books_balance().await;

    // And sold for dollars: 0.03 k is worth $0.003, so it waits for more; 0.1 k is a cent.
    for (id, meter) in [("carlos", "carlos-house"), ("danny", "danny-house")] {
        g.buy(id, 1_000).await;
        g.fund(id, meter, 100 * K).await.unwrap();
    }
    for epoch in 3..10 {
        g.enter_epoch(epoch).await;
        g.report_seed_example(epoch).await;
        g.close_epoch_window(epoch).await;
        g.settle_all(epoch).await;
    }
    g.collect_fees("utility", 0).await.unwrap();
    assert_eq!(g.coins("utility").await, 100_000);
    let supply = g.supply().await;
    let number = g.sell("utility", 100_000, "po_fees").await;
    assert_eq!(g.sale_state("utility", number).await.cents, 1);
    assert_eq!(g.supply().await, supply - 100_000);
    assert_eq!(g.coins("utility").await, 0);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_retired_meter_refunds_its_coins_and_closing_it_returns_the_rest_and_the_rent() {
    let mut g = TestGrid::seed_community().await;
    g.report_seed_example(0).await;
    // Carlos's house has 10 k prepaid; its 3 kWh reading (3 k) still waits for the crank.
    let before = g.coins("carlos").await;
    g.deactivate_meter("carlos-house").await.unwrap();
    assert_eq!(
        g.coins("carlos").await,
        before + 7 * K,
        "all but the 3 k it owes"
    );
    let meter = g.meter_state("carlos-house").await;
    assert!(!meter.active && !meter.connected);
    assert_eq!((meter.balance_units, meter.committed_units), (3 * K, 3 * K));
    g.assert_books_balance().await;

    // The crank settles the reading it already reported: charged in full, nothing lost.
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    assert_eq!(g.meter_state("carlos-house").await.balance_units, 0);
    assert_eq!(g.epoch_state(0).await.charged_units, 5 * K);

    // A producer retires too: its earnings go to its owner at once.
    let angel = g.coins("angel").await;
    g.deactivate_meter("angel-roof").await.unwrap();
    assert_eq!(g.coins("angel").await, angel + 2_721_818);

    // Closing returns the meter's and its directory entry's rent to the admin who paid it.
    let admin = g.admin.pubkey();
    let address = g.meter("carlos-house").address;
    let entry = pda::meter_entry(&g.grid, meter.index);
    let rent = g.lamports(&address).await + g.lamports(&entry).await;
    let admin_before = g.lamports(&admin).await;
    g.close_meter("carlos-house").await.unwrap();
    assert!(!g.exists(&address).await && !g.exists(&entry).await);
    // The admin signed and the context payer paid the fee: the admin gets exactly the rent.
    assert_eq!(g.lamports(&admin).await, admin_before + rent);
    g.meters.remove("carlos-house");
    g.assert_books_balance().await;
}

#[tokio::test]
async fn receipts_and_ended_sales_return_their_rent_after_the_retention_and_old_payments_stay_refused(
) {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    let grid = g.grid;
    let oracle = g.oracle.pubkey();
    let wallet = g.resident("carlos").wallet.pubkey();
    let carlos = g.resident("carlos").resident;
    let retention = g.grid_state().await.oracle_limits.receipt_retention_seconds as i64;
    g.add_fiat("carlos", 100, "evt_1").await.unwrap();
    let number = g.sell("carlos", 2 * K, "po_1").await;
    let receipt = pda::receipt(&grid, "evt_1");
    let sale = g.sale_address("carlos", number).await;
    let receipt_rent = g.lamports(&receipt).await;
    let sale_rent = g.lamports(&sale).await;

    g.set_time(START_TS + retention + 1).await;
    let (oracle_before, wallet_before) = (g.lamports(&oracle).await, g.lamports(&wallet).await);
    g.send(&[ix::close_receipt(&grid, "evt_1", &oracle)], &[])
        .await
        .unwrap();
    g.send(&[ix::close_sale(&grid, &carlos, &sale, &wallet)], &[])
        .await
        .unwrap();
    assert!(!g.exists(&receipt).await && !g.exists(&sale).await);
    assert_eq!(g.lamports(&oracle).await, oracle_before + receipt_rent);
    assert_eq!(g.lamports(&wallet).await, wallet_before + sale_rent);

    // The old payment delivered again cannot mint a second time: it is now too old.
    let supply = g.supply().await;
    assert_fails_with(
        g.add_fiat_at("carlos", 100, "evt_1", START_TS).await,
        EnergyError::PaymentOutsideRetention,
    );
    // And the closed sale's number is never handed out again.
    let next = g.request_withdrawal("carlos", K).await.unwrap();
    assert_eq!(next, number + 1);
    assert_eq!(g.supply().await, supply);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_payment_whose_receipt_was_closed_stays_refused_when_the_retention_is_raised() {
    const DAY: i64 = 86_400;
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    let (grid, oracle) = (g.grid, g.oracle.pubkey());
    let retention = |days: i64| UpdateGridArgs {
        receipt_retention_seconds: Some((days * DAY) as u32),
        ..Default::default()
    };
    g.update_grid(retention(4)).await.unwrap();
    g.add_fiat("carlos", 100, "evt_1").await.unwrap();
    // Five days on, the payment service's sweep closes the receipt; then the admin raises the
    // retention to 35 days, and an operator resends the event from the processor's dashboard.
    g.set_time(START_TS + 5 * DAY).await;
    g.send(&[ix::close_receipt(&grid, "evt_1", &oracle)], &[])
        .await
        .unwrap();
    g.update_grid(retention(35)).await.unwrap();
    let supply = g.supply().await;
    let receipt = pda::receipt(&grid, "evt_1");
    g.assert_refused(
        EnergyError::PaymentOutsideRetention,
        &[receipt],
        async |g| g.add_fiat_at("carlos", 100, "evt_1", START_TS).await,
    )
    .await;
    // Nor any other payment from before the closed one.
    g.assert_refused(
        EnergyError::PaymentOutsideRetention,
        &[pda::receipt(&grid, "evt_0")],
        async |g| g.add_fiat_at("carlos", 100, "evt_0", START_TS - DAY).await,
    )
    .await;
    assert_eq!(g.supply().await, supply, "nothing minted twice");
    assert!(!g.exists(&receipt).await);
    // Payments after it apply as ever.
    g.add_fiat_at("carlos", 100, "evt_2", START_TS + 1)
        .await
        .unwrap();
    g.add_fiat("carlos", 100, "evt_3").await.unwrap();
    assert_eq!(g.supply().await, supply + 20 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn the_oracle_mints_within_its_rolling_budget_and_again_as_the_window_frees() {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    // 100 k per hour.
    g.update_grid(UpdateGridArgs {
        mint_limit_units: Some(100 * K),
        mint_window_seconds: Some(3_600),
        ..Default::default()
    })
    .await
    .unwrap();
    g.add_fiat("carlos", 600, "evt_1").await.unwrap(); // 60 k
    assert_eq!(g.grid_state().await.mint_budget_at(g.now), 40 * K);
    // $5 more would be 50 k: refused, nothing minted.
    assert_fails_with(
        g.add_fiat("carlos", 500, "evt_2").await,
        EnergyError::MintLimitExceeded,
    );
    assert_eq!(g.coins("carlos").await, 60 * K);
    assert!(!g.exists(&pda::receipt(&g.grid, "evt_2")).await);
    // A quarter of an hour later, 25 k more are free: the processor's retry mints it.
    g.set_time(START_TS + 900).await;
    assert_eq!(g.grid_state().await.mint_budget_at(g.now), 65 * K);
    g.add_fiat("carlos", 500, "evt_2").await.unwrap();
    assert_eq!(g.coins("carlos").await, 110 * K);
    // After a whole window the budget is full again, and never more than full.
    g.set_time(START_TS + 900 + 7_200).await;
    assert_eq!(g.grid_state().await.mint_budget_at(g.now), 100 * K);
    g.add_fiat("carlos", 1_000, "evt_3").await.unwrap();
    assert_fails_with(
        g.add_fiat("carlos", 1, "evt_4").await,
        EnergyError::MintLimitExceeded,
    );
    // A payout reversed after it was paid mints too, within the same budget.
    let number = g.lock_sale("carlos", 10 * K).await;
    g.payout_paid("carlos", number, "po_1").await.unwrap();
    assert_fails_with(
        g.payout_failed("carlos", number, "po_1").await,
        EnergyError::MintLimitExceeded,
    );
    g.set_time(g.now + 360).await;
    g.payout_failed("carlos", number, "po_1").await.unwrap();
    g.assert_books_balance().await;
}

#[tokio::test]
async fn the_fee_cap_is_fixed_at_creation_and_bounds_every_update() {
    let mut g = TestGrid::start_with(EpochParams {
        fee_units: 50_000,
        ..EpochParams::default()
    })
    .await;
    assert_eq!(g.grid_state().await.max_fee_units, 100_000);
    // Up to the cap is fine, from the next epoch.
    g.update_grid(UpdateGridArgs {
        fee_units: Some(100_000),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(g.grid_state().await.pending_params.fee_units, 100_000);
    // One unit more is refused, and nothing changes.
    let before = g.grid_state().await;
    let result = g
        .update_grid(UpdateGridArgs {
            fee_units: Some(100_001),
            ..Default::default()
        })
        .await;
    assert_fails_with(result, EnergyError::FeeAboveCap);
    let after = g.grid_state().await;
    assert_eq!(before.pending_params, after.pending_params);
    assert_eq!(before.max_fee_units, after.max_fee_units);
}

#[tokio::test]
async fn a_household_meter_never_reconnects_once_retired() {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.buy("carlos", 100).await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g.fund("carlos", "carlos-house", 5 * K).await.unwrap();
    assert!(g.meter_state("carlos-house").await.connected);
    g.deactivate_meter("carlos-house").await.unwrap();
    assert_eq!(g.coins("carlos").await, 10 * K);
    assert_fails_with(
        g.fund("carlos", "carlos-house", K).await,
        EnergyError::MeterInactive,
    );
    let meter = g.meter_state("carlos-house").await;
    assert!(!meter.connected && meter.balance_units == 0);
    g.assert_books_balance().await;
}
