//! The payment oracle: only its key mints, locks and ends payouts, and never beyond what the program allows.

use super::*;

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
                START_TS,
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
                START_TS,
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
    let w = watch(&mut g, &[pda::receipt(&grid, "evt_max")]).await;
    // u64::MAX cents is 1.8e26 base units at 10 cents per k: more than a u64 holds.
    let result = g.add_fiat("carlos", u64::MAX, "evt_max").await;
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
async fn add_fiat_dated_outside_the_receipt_retention_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let retention = g.grid_state().await.oracle_limits.receipt_retention_seconds as i64;
    let w = watch(
        &mut g,
        &[
            pda::receipt(&grid, "evt_old"),
            pda::receipt(&grid, "evt_future"),
        ],
    )
    .await;
    // A payment older than the retention could already have had its receipt closed.
    let result = g
        .add_fiat_at("carlos", 100, "evt_old", START_TS - retention - 1)
        .await;
    assert_fails_with(result, EnergyError::PaymentOutsideRetention);
    let result = g
        .add_fiat_at("carlos", 100, "evt_future", START_TS + retention + 1)
        .await;
    assert_fails_with(result, EnergyError::PaymentOutsideRetention);
    assert_unchanged(&mut g, &w).await;
    // Right at the edge it is applied.
    g.add_fiat_at("carlos", 100, "evt_old", START_TS - retention)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_mint_beyond_the_oracles_budget_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let left = g.grid_state().await.mint_budget_at(START_TS);
    let w = watch(&mut g, &[pda::receipt(&grid, "evt_leak")]).await;
    // A leaked oracle key tries to mint a fortune: one unit more than the budget left.
    let price = g.grid_state().await.coin_price_cents;
    let cents = (left / K + 1) * price;
    assert!(fiat::quote_buy(cents, price).unwrap() > left);
    let result = g.add_fiat("carlos", cents, "evt_leak").await;
    assert_fails_with(result, EnergyError::MintLimitExceeded);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn lock_and_payout_outcomes_signed_by_a_non_oracle_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let first = g
        .request_withdrawal("carlos", 5 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let second = g
        .request_withdrawal("carlos", 2 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    g.lock_withdrawal("carlos", second, 20, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let sales = [pda::sale(&carlos, first), pda::sale(&carlos, second)];
    let w = watch(&mut g, &[sales[0], sales[1], mallory.pubkey()]).await;
    // Mallory would lock Carlos's sale to her own account...
    let result = g
        .send(
            &[ix::lock_withdrawal(
                &mallory.pubkey(),
                &grid,
                &carlos,
                first,
                50,
                fiat::destination_hash("000999999999"),
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotGridOracle);
    // ...or end a locked sale's payout either way.
    for instruction in [
        ix::payout_paid(&mallory.pubkey(), &grid, &carlos, second, "po_x"),
        ix::payout_failed(&mallory.pubkey(), &grid, &carlos, second, "po_x"),
    ] {
        let result = g.send(&[instruction], &[&mallory]).await;
        assert_fails_with(result, EnergyError::NotGridOracle);
    }
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn a_lock_to_another_destination_or_for_another_amount_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let carlos = g.resident("carlos").resident;
    // Carlos sells 5 k ($0.50) to his own bank account.
    let sale = g
        .request_withdrawal("carlos", 5 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let w = watch(&mut g, &[pda::sale(&carlos, sale)]).await;
    // The oracle is told to pay elsewhere: refused, whatever the amount.
    assert_fails_with(
        g.lock_withdrawal("carlos", sale, 50, "000999999999").await,
        EnergyError::WrongPayoutDestination,
    );
    // The right destination, but more (or less) than the coins are worth at $0.10 per k.
    assert_fails_with(
        g.lock_withdrawal("carlos", sale, 51, TEST_BANK_ACCOUNT)
            .await,
        EnergyError::QuoteMismatch,
    );
    assert_fails_with(
        g.lock_withdrawal("carlos", sale, 49, TEST_BANK_ACCOUNT)
            .await,
        EnergyError::QuoteMismatch,
    );
    assert_unchanged(&mut g, &w).await;
    // A sale worth less than a cent cannot be paid out at all.
    let dust = g
        .request_withdrawal("carlos", 99_999, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let w = watch(&mut g, &[pda::sale(&carlos, dust)]).await;
    assert_fails_with(
        g.lock_withdrawal("carlos", dust, 0, TEST_BANK_ACCOUNT)
            .await,
        EnergyError::AmountBelowOneCent,
    );
    assert_unchanged(&mut g, &w).await;
    // The right destination and amount lock it, once.
    g.lock_withdrawal("carlos", sale, 50, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let w = watch(&mut g, &[pda::sale(&carlos, sale)]).await;
    g.refresh_blockhash().await;
    assert_fails_with(
        g.lock_withdrawal("carlos", sale, 50, TEST_BANK_ACCOUNT)
            .await,
        EnergyError::SaleNotRequested,
    );
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn payout_outcomes_for_a_sale_not_locked_or_of_another_payout_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let carlos = g.resident("carlos").resident;
    let sale = g
        .request_withdrawal("carlos", 5 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let w = watch(&mut g, &[pda::sale(&carlos, sale)]).await;
    // Requested, not locked: no payout can exist for it yet.
    assert_fails_with(
        g.payout_paid("carlos", sale, "po_1").await,
        EnergyError::SaleNotLocked,
    );
    assert_fails_with(
        g.payout_failed("carlos", sale, "po_1").await,
        EnergyError::SaleNotLocked,
    );
    assert_unchanged(&mut g, &w).await;
    g.lock_withdrawal("carlos", sale, 50, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    g.payout_paid("carlos", sale, "po_1").await.unwrap();
    let w = watch(&mut g, &[pda::sale(&carlos, sale)]).await;
    // Another payout cannot end this sale a second time, either way.
    assert_fails_with(
        g.payout_failed("carlos", sale, "po_2").await,
        EnergyError::WrongPayout,
    );
    assert_fails_with(
        g.payout_paid("carlos", sale, "po_2").await,
        EnergyError::WrongPayout,
    );
    // The same payout paid again: already applied.
    g.refresh_blockhash().await;
    assert_fails_with(
        g.payout_paid("carlos", sale, "po_1").await,
        EnergyError::PaymentAlreadyProcessed,
    );
    // An empty or overlong payout id.
    assert_fails_with(
        g.payout_failed("carlos", sale, "").await,
        EnergyError::InvalidPaymentId,
    );
    assert_fails_with(
        g.payout_failed("carlos", sale, &"p".repeat(33)).await,
        EnergyError::InvalidPaymentId,
    );
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn a_payout_for_another_residents_or_another_grids_sale_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let oracle = g.oracle.insecure_clone();
    let carlos = g.resident("carlos").resident;
    let danny = g.resident("danny").resident;
    let sale = g
        .request_withdrawal("carlos", 5 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    g.lock_withdrawal("carlos", sale, 50, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let w = watch(&mut g, &[pda::sale(&carlos, sale), other.resident]).await;
    // Carlos's sale, named as Danny's: the sale's resident does not match.
    let mut instruction = ix::payout_failed(&oracle.pubkey(), &grid, &danny, sale, "po_1");
    swap_account(
        &mut instruction,
        &pda::sale(&danny, sale),
        &pda::sale(&carlos, sale),
    );
    let result = g.send(&[instruction], &[&oracle]).await;
    assert_fails_with(result, EnergyError::WrongSale);
    // Our oracle, the other grid's resident.
    let result = g
        .send(
            &[ix::payout_paid(
                &oracle.pubkey(),
                &grid,
                &other.resident,
                0,
                "po_2",
            )],
            &[&oracle],
        )
        .await;
    assert!(result.is_err(), "another grid's resident has no sale here");
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn closing_a_receipt_or_a_sale_before_their_retention_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    g.add_fiat("carlos", 100, "evt_1").await.unwrap();
    let number = g.sell("carlos", 2 * K, "po_1").await;
    let oracle = g.oracle.pubkey();
    let wallet = g.resident("carlos").wallet.pubkey();
    let retention = g.grid_state().await.oracle_limits.receipt_retention_seconds as i64;
    let sale = pda::sale(&carlos, number);
    let receipt = pda::receipt(&grid, "evt_1");
    // A day before the retention ends, and at its last second.
    for at in [START_TS + retention - 86_400, START_TS + retention] {
        g.set_time(at).await;
        let w = watch(&mut g, &[sale, receipt, oracle, wallet]).await;
        let result = g
            .send(&[ix::close_receipt(&grid, "evt_1", &oracle)], &[])
            .await;
        assert_fails_with(result, EnergyError::ReceiptStillRetained);
        let result = g.send(&[ix::close_sale(&grid, &sale, &wallet)], &[]).await;
        assert_fails_with(result, EnergyError::SaleStillOpen);
        assert_unchanged(&mut g, &w).await;
    }
    // Afterwards, the rent must still go to whoever paid it.
    g.set_time(START_TS + retention + 1).await;
    let w = watch(&mut g, &[sale, receipt]).await;
    let result = g
        .send(&[ix::close_receipt(&grid, "evt_1", &wallet)], &[])
        .await;
    assert_fails_with(result, EnergyError::WrongRentPayer);
    let result = g.send(&[ix::close_sale(&grid, &sale, &oracle)], &[]).await;
    assert_fails_with(result, EnergyError::WrongRentPayer);
    assert_unchanged(&mut g, &w).await;
    // A sale that has not ended is never closed.
    let open = g
        .request_withdrawal("carlos", K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let open = pda::sale(&carlos, open);
    let w = watch(&mut g, &[open]).await;
    let result = g.send(&[ix::close_sale(&grid, &open, &wallet)], &[]).await;
    assert_fails_with(result, EnergyError::SaleStillOpen);
    assert_unchanged(&mut g, &w).await;
}
