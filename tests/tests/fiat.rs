//! The fiat on-ramp and off-ramp: the oracle mints coins for dollars paid in (rounded down)
//! exactly once per payment id; a sale is the resident's signed request, locked by the oracle
//! for what its coins are worth (rounded down to the cent) and then burned when the payout is
//! paid or returned when it fails.

use energy_utility::error::EnergyError;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{Receipt, SaleStatus};
use energy_utility_sdk::{fiat, pda};
use energy_utility_tests::*;
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
    let args = UpdateGridArgs {
        coin_price_cents: Some(cents),
        ..Default::default()
    };
    g.update_grid(args).await.expect("update price");
    assert_eq!(g.grid_state().await.coin_price_cents, cents);
}

#[tokio::test]
async fn buying_mints_cents_over_price_rounded_down_and_records_a_receipt() {
    let mut g = residents(&["angel", "bennie"]).await;
    let grid = g.grid;
    let angel = g.resident("angel").resident;
    let oracle = g.oracle.pubkey();

    // $1.23 at $0.10 per k is 12.3 k.
    g.add_fiat_at("angel", 123, "evt_1", START_TS - 30)
        .await
        .unwrap();
    assert_eq!(g.coins("angel").await, 12_300_000);
    assert_eq!(g.supply().await, 12_300_000);
    let r = receipt(&mut g, "evt_1").await;
    assert_eq!(r.grid, grid);
    assert_eq!(r.resident, angel);
    assert_eq!(r.payment_id, "evt_1");
    assert_eq!(r.amount_cents, 123);
    assert_eq!(r.coin_units, 12_300_000);
    assert_eq!(r.event_ts, START_TS - 30);
    assert_eq!(r.applied_ts, g.now);
    assert_eq!(r.rent_payer, oracle);

    // At $0.03 per k, one dollar is 33.333333... k: the fraction of a base unit stays unminted.
    set_price(&mut g, 3).await;
    g.add_fiat("bennie", 100, "evt_2").await.unwrap();
    assert_eq!(g.coins("bennie").await, 33_333_333);
    assert_eq!(receipt(&mut g, "evt_2").await.coin_units, 33_333_333);
    // One cent buys 0.333333 k.
    g.add_fiat("bennie", 1, "evt_3").await.unwrap();
    assert_eq!(g.coins("bennie").await, 33_333_333 + 333_333);
    assert_eq!(receipt(&mut g, "evt_3").await.coin_units, 333_333);

    assert_eq!(g.supply().await, 12_300_000 + 33_333_333 + 333_333);
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
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_sale_sets_coins_aside_locks_them_for_their_worth_and_burns_them_when_paid() {
    let mut g = residents(&["carlos", "danny"]).await;
    g.buy("carlos", 200).await;
    g.buy("danny", 100).await;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.pubkey();
    let wallet_lamports = g.lamports(&wallet).await;

    // Carlos sells 5 k to his bank account: they move to the escrow; a sale account records it.
    let number = g.request_withdrawal("carlos", 5 * K).await.unwrap();
    assert_eq!(number, 0);
    assert_eq!(g.coins("carlos").await, 15 * K);
    assert_eq!(g.escrow().await, 5 * K);
    let sale = g.sale_state("carlos", 0).await;
    assert_eq!(sale.status, SaleStatus::Requested);
    assert_eq!(sale.units, 5 * K);
    assert_eq!(sale.resident, carlos);
    assert_eq!(sale.rent_payer, wallet);
    assert_eq!(sale.destination, test_payout_account("carlos"));
    assert!(
        g.lamports(&wallet).await < wallet_lamports,
        "he pays its rent"
    );
    let resident = g.resident_state("carlos").await;
    assert_eq!(
        (
            resident.escrow_units,
            resident.locked_units,
            resident.sale_count
        ),
        (5 * K, 0, 1)
    );

    // The oracle locks it for the $0.50 the coins are worth, to the destination he chose.
    g.lock_withdrawal("carlos", 0, 50).await.unwrap();
    let sale = g.sale_state("carlos", 0).await;
    assert_eq!(sale.status, SaleStatus::Locked);
    assert_eq!((sale.cents, sale.coin_price_cents), (50, 10));
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 5 * K));
    assert_eq!(g.escrow().await, 5 * K, "locking moves no coin");

    // The processor paid: the 5 k are burned.
    g.payout_paid("carlos", 0, "po_1").await.unwrap();
    let sale = g.sale_state("carlos", 0).await;
    assert_eq!(sale.status, SaleStatus::Paid);
    assert_eq!(sale.payout_id, "po_1");
    assert_eq!(sale.ended_ts, g.now);
    assert_eq!(g.supply().await, 25 * K);
    assert_eq!(g.escrow().await, 0);
    assert_eq!(g.grid_state().await.escrow_units, 0);
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 0));
    assert_eq!(g.coins("carlos").await, 15 * K);
    assert_eq!(
        g.coins("danny").await,
        10 * K,
        "Danny's coins were never in play"
    );
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_sale_worth_a_fraction_of_a_cent_more_pays_the_whole_cents_only() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    // At $0.03 per k, 0.333334 k is worth 1.000002 cents: the payout is 1 cent, all burned.
    set_price(&mut g, 3).await;
    let units = fiat::quote_sell_units(1, 3).unwrap();
    assert_eq!(units, 333_334);
    let number = g.request_withdrawal("carlos", units).await.unwrap();
    assert_eq!(fiat::quote_payout_cents(units, 3), Some(1));
    g.lock_withdrawal("carlos", number, 1).await.unwrap();
    g.payout_paid("carlos", number, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 20 * K - 333_334);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_failed_payout_returns_its_locked_coins_and_ends_that_sale() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    let number = g.request_withdrawal("carlos", 3 * K).await.unwrap();
    g.lock_withdrawal("carlos", number, 30).await.unwrap();

    // The bank refused the payout: its 3 k go back to Carlos's own account.
    g.payout_failed("carlos", number, "po_1").await.unwrap();
    let sale = g.sale_state("carlos", number).await;
    assert_eq!(sale.status, SaleStatus::Returned);
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 0));
    assert_eq!(g.coins("carlos").await, 20 * K);
    assert_eq!(g.escrow().await, 0);
    assert_eq!(g.supply().await, 20 * K, "nothing burned");

    // The payout is over: a late "paid" burns nothing; the failure again returns nothing more.
    g.refresh_blockhash().await;
    assert_fails_with(
        g.payout_paid("carlos", number, "po_1").await,
        EnergyError::PayoutAlreadyFailed,
    );
    assert_fails_with(
        g.payout_failed("carlos", number, "po_1").await,
        EnergyError::PaymentAlreadyProcessed,
    );
    assert_eq!(g.coins("carlos").await, 20 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_requested_sale_can_be_cancelled_with_its_rent_but_a_locked_one_cannot() {
    let mut g = residents(&["carlos"]).await;
    g.buy("carlos", 200).await;
    let wallet = g.resident("carlos").wallet.pubkey();
    let before = g.lamports(&wallet).await;
    let kept = g.request_sale("carlos", 3 * K).await;
    let locked = g.lock_sale("carlos", 4 * K).await;
    assert_eq!(g.coins("carlos").await, 13 * K);

    // He changes his mind about the first: the coins and the rent come back, the sale is gone.
    let kept_sale = g.sale_address("carlos", kept).await;
    let rent = g.lamports(&kept_sale).await;
    let mid = g.lamports(&wallet).await;
    g.cancel_withdrawal("carlos", kept).await.unwrap();
    assert!(!g.exists(&kept_sale).await);
    assert_eq!(g.lamports(&wallet).await, mid + rent);
    assert!(
        g.lamports(&wallet).await < before,
        "only the fees are spent"
    );
    assert_eq!(g.coins("carlos").await, 16 * K);
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 4 * K));

    // The locked one is being paid: its 4 k stay for the payout, which burns them.
    g.refresh_blockhash().await;
    assert_fails_with(
        g.cancel_withdrawal("carlos", locked).await,
        EnergyError::SaleNotRequested,
    );
    g.payout_paid("carlos", locked, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 16 * K);
    assert_eq!(g.escrow().await, 0);
    // A new sale gets the next number; a cancelled number is never reused.
    let next = g.request_withdrawal("carlos", K).await.unwrap();
    assert_eq!(next, 2);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_price_change_applies_to_the_next_purchase_and_the_next_lock() {
    let mut g = residents(&["angel"]).await;
    g.add_fiat("angel", 100, "evt_1").await.unwrap();
    assert_eq!(g.coins("angel").await, 10 * K);

    // The coin now costs $0.20: the same dollar buys half as much, from the next payment on.
    set_price(&mut g, 20).await;
    g.add_fiat("angel", 100, "evt_2").await.unwrap();
    assert_eq!(g.coins("angel").await, 15 * K);
    assert_eq!(receipt(&mut g, "evt_2").await.coin_units, 5 * K);
    assert_eq!(receipt(&mut g, "evt_1").await.coin_units, 10 * K);

    // And sales are priced the same way: 1 k is now worth $0.20.
    let number = g.request_withdrawal("angel", K).await.unwrap();
    assert_fails_with(
        g.lock_withdrawal("angel", number, 10).await,
        EnergyError::QuoteMismatch,
    );
    g.lock_withdrawal("angel", number, 20).await.unwrap();
    g.payout_paid("angel", number, "po_1").await.unwrap();
    assert_eq!(g.supply().await, 14 * K);
    g.assert_books_balance().await;
}
