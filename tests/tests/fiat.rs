//! The fiat on-ramp and off-ramp: the oracle mints coins for dollars paid in (rounded down)
//! exactly once per payment id; for dollars paid out it locks escrowed coins before the payout
//! and burns them when it is paid (rounded up) or returns them when it fails; every payment is
//! priced at the grid's current coin price.

use energy_utility::error::EnergyError;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{FiatKind, Receipt, Resident};
use energy_utility_sdk::{instructions as ix, pda};
use energy_utility_tests::*;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

async fn residents(ids: &[&str]) -> TestGrid {
    let mut g = TestGrid::start().await;
    for id in ids {
        g.add_resident(id).await;
    }
    g
}

async fn receipt(g: &mut TestGrid, payment_id: &str) -> Receipt {
    let address = pda::receipt(&g.grid, payment_id);
    g.account(&address).await
}

async fn set_price(g: &mut TestGrid, cents: u64) {
    let admin = g.admin.insecure_clone();
    let grid = g.grid;
    let args = UpdateGridArgs {
        coin_price_cents: Some(cents),
        ..Default::default()
    };
    g.send(&[ix::update_grid(&admin.pubkey(), &grid, args)], &[&admin])
        .await
        .expect("update price");
    assert_eq!(g.grid_state().await.coin_price_cents, cents);
}

async fn cancel_withdrawal(g: &mut TestGrid, resident: &str) -> Result<(), BanksClientError> {
    let actor = g.resident(resident);
    let wallet = actor.wallet.insecure_clone();
    let address = actor.resident;
    let grid = g.grid;
    g.send(
        &[ix::cancel_withdrawal(&wallet.pubkey(), &grid, &address)],
        &[&wallet],
    )
    .await
}

#[tokio::test]
async fn buying_mints_cents_over_price_rounded_down_and_records_a_receipt() {
    let mut g = residents(&["angel", "bennie"]).await;
    let grid = g.grid;
    let angel = g.resident("angel").resident;

    // $1.23 at $0.10 per k is 12.3 k.
    g.add_fiat("angel", 123, "evt_1").await.unwrap();
    assert_eq!(g.coins("angel").await, 12_300_000);
    assert_eq!(g.supply().await, 12_300_000);
    let r = receipt(&mut g, "evt_1").await;
    assert_eq!(r.grid, grid);
    assert_eq!(r.resident, angel);
    assert_eq!(r.payment_id, "evt_1");
    assert_eq!(r.amount_cents, 123);
    assert_eq!(r.coin_units, 12_300_000);
    assert_eq!(r.applied_ts, g.now);

    // At $0.03 per k, one dollar is 33.333333... k: the fraction of a base unit stays unminted.
    set_price(&mut g, 3).await;
    g.add_fiat("bennie", 100, "evt_2").await.unwrap();
    assert_eq!(g.coins("bennie").await, 33_333_333);
    let r = receipt(&mut g, "evt_2").await;
    assert_eq!(r.amount_cents, 100);
    assert_eq!(r.coin_units, 33_333_333);
    // One cent buys 0.333333 k.
    g.add_fiat("bennie", 1, "evt_3").await.unwrap();
    assert_eq!(g.coins("bennie").await, 33_333_333 + 333_333);
    assert_eq!(receipt(&mut g, "evt_3").await.coin_units, 333_333);

    assert_eq!(g.supply().await, 12_300_000 + 33_333_333 + 333_333);
    assert_eq!(g.coins("angel").await, 12_300_000);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn the_same_payment_delivered_ten_times_mints_once() {
    let mut g = residents(&["angel"]).await;
    g.add_fiat("angel", 500, "evt_webhook").await.unwrap();
    let first = receipt(&mut g, "evt_webhook").await;
    for delivery in 2..=10 {
        // The processor retries the identical webhook; only the blockhash differs.
        g.refresh_blockhash().await;
        let result = g.add_fiat("angel", 500, "evt_webhook").await;
        assert_fails_with(result, EnergyError::PaymentAlreadyProcessed);
        assert_eq!(g.coins("angel").await, 50 * K, "after delivery {delivery}");
        assert_eq!(g.supply().await, 50 * K, "after delivery {delivery}");
    }
    let last = receipt(&mut g, "evt_webhook").await;
    assert_eq!(last.applied_ts, first.applied_ts);
    assert_eq!(last.coin_units, 50 * K);
    assert_eq!(last.amount_cents, 500);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn selling_burns_locked_coins_rounded_up_and_leaves_the_rest_escrowed() {
    let mut g = residents(&["carlos", "danny"]).await;
    g.buy("carlos", 200).await;
    g.buy("danny", 100).await;
    assert_eq!(g.supply().await, 30 * K);

    // Carlos sets 5 k aside to sell.
    g.request_withdrawal("carlos", 5 * K).await.unwrap();
    assert_eq!(g.coins("carlos").await, 15 * K);
    assert_eq!(g.resident_state("carlos").await.escrow_units, 5 * K);
    assert_eq!(g.escrow().await, 5 * K);
    assert_eq!(g.grid_state().await.escrow_units, 5 * K);
    assert_eq!(g.supply().await, 30 * K);

    // The utility is about to pay him $0.25: 2.5 k are locked for that payout.
    g.lock_withdrawal("carlos", 25, "wd_1").await.unwrap();
    let carlos = g.resident_state("carlos").await;
    assert_eq!(carlos.escrow_units, 2_500_000);
    assert_eq!(carlos.locked_units, 2_500_000);
    assert_eq!(g.escrow().await, 5 * K, "locking moves no coin");
    let lock = receipt(&mut g, "wd_1").await;
    assert_eq!(lock.kind, FiatKind::Locked);
    assert_eq!((lock.amount_cents, lock.coin_units), (-25, 2_500_000));

    // The processor paid: the locked 2.5 k are burned.
    g.add_fiat("carlos", -25, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 30 * K - 2_500_000);
    assert_eq!(g.escrow().await, 2_500_000);
    let carlos = g.resident_state("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (2_500_000, 0));
    assert_eq!(g.grid_state().await.escrow_units, 2_500_000);
    assert_eq!(
        g.coins("carlos").await,
        15 * K,
        "his own account is untouched"
    );
    let r = receipt(&mut g, "po_1").await;
    assert_eq!(r.kind, FiatKind::Sold);
    assert_eq!(r.amount_cents, -25);
    assert_eq!(r.coin_units, 2_500_000);

    // At $0.03 per k, one cent is 0.333333... k: 0.333334 k is locked and burned, never less.
    set_price(&mut g, 3).await;
    g.lock_withdrawal("carlos", 1, "wd_2").await.unwrap();
    assert_eq!(receipt(&mut g, "wd_2").await.coin_units, 333_334);
    g.add_fiat("carlos", -1, "po_2").await.unwrap();
    assert_eq!(receipt(&mut g, "po_2").await.coin_units, 333_334);
    assert_eq!(g.supply().await, 30 * K - 2_500_000 - 333_334);
    assert_eq!(g.escrow().await, 2_500_000 - 333_334);
    assert_eq!(
        g.resident_state("carlos").await.escrow_units,
        2_500_000 - 333_334
    );

    // Danny's coins were never in play.
    assert_eq!(g.coins("danny").await, 10 * K);
    assert_eq!(g.resident_state("danny").await.escrow_units, 0);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_failed_payout_returns_its_locked_coins_and_ends_that_payout() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    g.request_withdrawal("carlos", 5 * K).await.unwrap();
    g.lock_withdrawal("carlos", 30, "wd_1").await.unwrap();
    assert_eq!(g.resident_state("carlos").await.locked_units, 3 * K);

    // The bank refused the payout: its 3 k go back to Carlos's own account, not to escrow.
    g.return_withdrawal("carlos", 30, "po_1").await.unwrap();
    let carlos = g.resident_state("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (2 * K, 0));
    assert_eq!(g.coins("carlos").await, 18 * K);
    assert_eq!(g.escrow().await, 2 * K);
    assert_eq!(g.supply().await, 20 * K, "nothing burned");
    let r = receipt(&mut g, "po_1").await;
    assert_eq!(r.kind, FiatKind::Returned);
    assert_eq!((r.amount_cents, r.coin_units), (-30, 3 * K));

    // The payout is over: a late "paid" for the same payout id cannot burn anything.
    g.refresh_blockhash().await;
    assert_fails_with(
        g.add_fiat("carlos", -30, "po_1").await,
        EnergyError::PaymentAlreadyProcessed,
    );
    assert_fails_with(
        g.return_withdrawal("carlos", 30, "po_1").await,
        EnergyError::PaymentAlreadyProcessed,
    );
    // Nothing more is locked: neither a burn nor a return can reach the escrowed 2 k.
    assert_fails_with(
        g.add_fiat("carlos", -1, "po_2").await,
        EnergyError::BurnExceedsEscrow,
    );
    assert_fails_with(
        g.return_withdrawal("carlos", 1, "po_2").await,
        EnergyError::ReturnExceedsLocked,
    );
    assert_eq!(g.coins("carlos").await, 18 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn locked_coins_cannot_be_cancelled_so_a_payout_is_never_paid_for_nothing() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    g.request_withdrawal("carlos", 5 * K).await.unwrap();
    g.lock_withdrawal("carlos", 40, "wd_1").await.unwrap();

    // While the $0.40 payout is in flight Carlos cancels: he gets back only the unlocked 1 k.
    cancel_withdrawal(&mut g, "carlos").await.unwrap();
    let carlos = g.resident_state("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 4 * K));
    assert_eq!(g.coins("carlos").await, 16 * K);

    // The payout is paid and its 4 k are still there to burn.
    g.add_fiat("carlos", -40, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 16 * K);
    assert_eq!(g.escrow().await, 0);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_lock_is_applied_once_and_never_beyond_the_escrow() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    g.request_withdrawal("carlos", 5 * K).await.unwrap();
    // 5 k is 50 cents; 51 cents would need 5.1 k.
    assert_fails_with(
        g.lock_withdrawal("carlos", 51, "wd_1").await,
        EnergyError::LockExceedsEscrow,
    );
    g.lock_withdrawal("carlos", 20, "wd_1").await.unwrap();
    // The service retried after a crash: the same reference locks nothing more.
    g.refresh_blockhash().await;
    assert_fails_with(
        g.lock_withdrawal("carlos", 20, "wd_1").await,
        EnergyError::PaymentAlreadyProcessed,
    );
    let carlos = g.resident_state("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (3 * K, 2 * K));
    g.assert_books_balance().await;
}

#[tokio::test]
async fn cancel_withdrawal_returns_every_escrowed_coin() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    g.request_withdrawal("carlos", 3 * K).await.unwrap();
    g.request_withdrawal("carlos", 2 * K).await.unwrap();
    assert_eq!(g.resident_state("carlos").await.escrow_units, 5 * K);
    assert_eq!(g.coins("carlos").await, 15 * K);

    // $0.10 of it is sold, then he changes his mind about the rest.
    g.lock_withdrawal("carlos", 10, "wd_1").await.unwrap();
    g.add_fiat("carlos", -10, "po_1").await.unwrap();
    assert_eq!(g.escrow().await, 4 * K);
    cancel_withdrawal(&mut g, "carlos").await.unwrap();
    let resident: Resident = g.resident_state("carlos").await;
    assert_eq!(resident.escrow_units, 0);
    assert_eq!(g.escrow().await, 0);
    assert_eq!(g.grid_state().await.escrow_units, 0);
    assert_eq!(g.coins("carlos").await, 19 * K);
    assert_eq!(g.supply().await, 19 * K);

    // Nothing is left to cancel, and nothing left to burn.
    g.refresh_blockhash().await;
    assert_fails_with(
        cancel_withdrawal(&mut g, "carlos").await,
        EnergyError::NothingEscrowed,
    );
    assert_fails_with(
        g.add_fiat("carlos", -10, "po_2").await,
        EnergyError::BurnExceedsEscrow,
    );
    assert_eq!(g.coins("carlos").await, 19 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_price_change_applies_to_the_next_purchase() {
    let mut g = residents(&["angel"]).await;
    g.add_fiat("angel", 100, "evt_1").await.unwrap();
    assert_eq!(g.coins("angel").await, 10 * K);

    // The coin now costs $0.20: the same dollar buys half as much, from the next payment on.
    set_price(&mut g, 20).await;
    g.add_fiat("angel", 100, "evt_2").await.unwrap();
    assert_eq!(g.coins("angel").await, 15 * K);
    assert_eq!(receipt(&mut g, "evt_2").await.coin_units, 5 * K);
    // The earlier receipt keeps the price it was applied at.
    assert_eq!(receipt(&mut g, "evt_1").await.coin_units, 10 * K);

    // And sales are priced the same way: $0.20 burns 1 k.
    g.request_withdrawal("angel", 2 * K).await.unwrap();
    g.lock_withdrawal("angel", 20, "wd_1").await.unwrap();
    assert_eq!(receipt(&mut g, "wd_1").await.coin_units, K);
    g.add_fiat("angel", -20, "po_1").await.unwrap();
    assert_eq!(receipt(&mut g, "po_1").await.coin_units, K);
    assert_eq!(g.resident_state("angel").await.escrow_units, K);
    assert_eq!(g.supply().await, 14 * K);
    g.assert_books_balance().await;
}
