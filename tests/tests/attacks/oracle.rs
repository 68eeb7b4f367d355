//! The payment oracle: only its key mints, locks and ends payouts, and never beyond what the program allows.

use super::*;

/// The oracle ends Carlos's sale `number` with its payout `payout_id` paid, or failed.
async fn end_payout(
    g: &mut TestGrid,
    paid: bool,
    number: u32,
    payout_id: &str,
) -> Result<(), BanksClientError> {
    if paid {
        g.payout_paid("carlos", number, payout_id).await
    } else {
        g.payout_failed("carlos", number, payout_id).await
    }
}

/// The oracle's payment of `cents` for Carlos under `payment_id` is refused with `expected`:
/// nothing changes, and no receipt appears at the payment's address.
async fn refused_payment(g: &mut TestGrid, cents: u64, payment_id: &str, expected: EnergyError) {
    let receipt = pda::receipt(&g.grid, payment_id);
    g.assert_refused(expected, &[receipt], async |g| {
        g.add_fiat("carlos", cents, payment_id).await
    })
    .await;
}

#[tokio::test]
async fn add_fiat_signed_by_a_non_oracle_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let receipt = pda::receipt(&grid, "evt_forged");
    let supply = g.supply().await;
    let forged = ix::add_fiat(
        &mallory.pubkey(),
        &grid,
        &carlos,
        1_000_000,
        "evt_forged",
        START_TS,
    );
    let watched = [receipt, mallory.pubkey()];
    g.assert_send_refused(&[forged], &[&mallory], EnergyError::NotGridOracle, &watched)
        .await;
    assert_eq!(g.supply().await, supply);
    assert!(!g.exists(&receipt).await);
}

#[tokio::test]
async fn add_fiat_from_another_grids_oracle_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Mallory runs her own grid and is its oracle; she names her grid and Carlos.
    let (mallory, her_grid) = mallorys_grid(&mut g).await;
    let carlos = g.resident("carlos").resident;
    let receipt = pda::receipt(&her_grid, "evt_x");
    let mint = ix::add_fiat(
        &mallory.pubkey(),
        &her_grid,
        &carlos,
        100,
        "evt_x",
        START_TS,
    );
    let watched = [receipt, pda::mint(&her_grid)];
    g.assert_send_refused(&[mint], &[&mallory], EnergyError::WrongGrid, &watched)
        .await;
}

#[tokio::test]
async fn add_fiat_of_zero_cents_is_refused() {
    let mut g = TestGrid::seed_community().await;
    refused_payment(&mut g, 0, "evt_zero", EnergyError::ZeroAmount).await;
}

#[tokio::test]
async fn add_fiat_that_overflows_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // u64::MAX cents is 1.8e26 base units at 10 cents per k: more than a u64 holds.
    refused_payment(&mut g, u64::MAX, "evt_max", EnergyError::AmountTooLarge).await;
}

#[tokio::test]
async fn add_fiat_below_one_base_unit_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let args = UpdateGridArgs {
        coin_price_cents: Some(2 * K),
        ..Default::default()
    };
    g.update_grid(args).await.unwrap();
    // At $20,000 per k, one cent buys half a base unit, which rounds down to nothing.
    refused_payment(&mut g, 1, "evt_cent", EnergyError::AmountBelowOneUnit).await;
}

#[tokio::test]
async fn replayed_payment_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let supply = g.supply().await;
    g.add_fiat("carlos", 100, "evt_once").await.unwrap();
    assert_eq!(g.coins("carlos").await, 20 * K);
    assert_eq!(g.supply().await, supply + 10 * K);

    let receipt = pda::receipt(&g.grid, "evt_once");
    // The same delivery again, then the same id with another amount and another resident.
    g.refresh_blockhash().await;
    for (resident, cents) in [("carlos", 100), ("carlos", 100_000), ("danny", 100)] {
        g.assert_refused(
            EnergyError::PaymentAlreadyProcessed,
            &[receipt],
            async |g| g.add_fiat(resident, cents, "evt_once").await,
        )
        .await;
    }

    assert_eq!(g.coins("carlos").await, 20 * K);
    assert_eq!(g.supply().await, supply + 10 * K);
    g.assert_books_balance().await;
}

#[tokio::test]
async fn payment_id_longer_than_32_bytes_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let long = "evt_".to_string() + &"x".repeat(29);
    assert_eq!(long.len(), 33);
    // Its receipt address is derived from the first 32 bytes; nothing may be created there.
    let receipt = pda::receipt(&g.grid, &long);
    for id in [long.clone(), "y".repeat(200)] {
        g.assert_refused(EnergyError::InvalidPaymentId, &[receipt], async |g| {
            g.add_fiat("carlos", 100, &id).await
        })
        .await;
    }
    // 32 bytes is fine.
    g.add_fiat("carlos", 100, &long[..32]).await.unwrap();
}

#[tokio::test]
async fn empty_payment_id_is_refused() {
    let mut g = TestGrid::seed_community().await;
    refused_payment(&mut g, 100, "", EnergyError::InvalidPaymentId).await;
}

#[tokio::test]
async fn add_fiat_dated_outside_the_receipt_retention_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let retention = g.grid_state().await.oracle_limits.receipt_retention_seconds as i64;
    let receipts = [
        pda::receipt(&grid, "evt_old"),
        pda::receipt(&grid, "evt_future"),
    ];
    // A payment older than the retention could already have had its receipt closed.
    for (payment_id, event_ts) in [
        ("evt_old", START_TS - retention - 1),
        ("evt_future", START_TS + retention + 1),
    ] {
        g.assert_refused(EnergyError::PaymentOutsideRetention, &receipts, async |g| {
            g.add_fiat_at("carlos", 100, payment_id, event_ts).await
        })
        .await;
    }
    // Right at the edge it is applied.
    g.add_fiat_at("carlos", 100, "evt_old", START_TS - retention)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_mint_beyond_the_oracles_budget_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let left = g.grid_state().await.mint_budget_at(START_TS);
    // A leaked oracle key tries to mint a fortune: one unit more than the budget left.
    let price = g.grid_state().await.coin_price_cents;
    let cents = (left / K + 1) * price;
    assert!(fiat::quote_buy(cents, price).unwrap() > left);
    refused_payment(&mut g, cents, "evt_leak", EnergyError::MintLimitExceeded).await;
}

#[tokio::test]
async fn lock_and_payout_outcomes_signed_by_a_non_oracle_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let first = g.request_sale("carlos", 5 * K).await;
    let second = g.lock_sale("carlos", 2 * K).await;
    let (first, second) = (
        g.sale_address("carlos", first).await,
        g.sale_address("carlos", second).await,
    );
    let watched = [first, second, mallory.pubkey()];
    // Mallory would lock Carlos's sale, or end a locked sale's payout either way.
    for instruction in [
        ix::lock_withdrawal(&mallory.pubkey(), &grid, &carlos, &first, 50),
        ix::payout_paid(&mallory.pubkey(), &grid, &carlos, &second, "po_x"),
        ix::payout_failed(&mallory.pubkey(), &grid, &carlos, &second, "po_x"),
    ] {
        g.assert_send_refused(
            &[instruction],
            &[&mallory],
            EnergyError::NotGridOracle,
            &watched,
        )
        .await;
    }
}

#[tokio::test]
async fn a_lock_for_another_amount_is_refused() {
    let mut g = TestGrid::seed_community().await;
    // Carlos sells 5 k ($0.50), paid to the account he bound.
    let sale = g.request_sale("carlos", 5 * K).await;
    let sale_address = g.sale_address("carlos", sale).await;
    assert_eq!(
        g.sale_state("carlos", sale).await.destination,
        test_payout_account("carlos")
    );
    // More (or less) than the coins are worth at $0.10 per k.
    for cents in [51, 49] {
        g.assert_refused(EnergyError::QuoteMismatch, &[sale_address], async |g| {
            g.lock_withdrawal("carlos", sale, cents).await
        })
        .await;
    }
    // A sale worth less than a cent cannot be paid out at all.
    let dust = g.request_sale("carlos", 99_999).await;
    let dust_address = g.sale_address("carlos", dust).await;
    g.assert_refused(
        EnergyError::AmountBelowOneCent,
        &[dust_address],
        async |g| g.lock_withdrawal("carlos", dust, 0).await,
    )
    .await;
    // The right destination and amount lock it, once.
    g.lock_withdrawal("carlos", sale, 50).await.unwrap();
    g.refresh_blockhash().await;
    g.assert_refused(EnergyError::SaleNotRequested, &[sale_address], async |g| {
        g.lock_withdrawal("carlos", sale, 50).await
    })
    .await;
}

#[tokio::test]
async fn payout_outcomes_for_a_sale_not_locked_or_of_another_payout_are_refused() {
    let mut g = TestGrid::seed_community().await;
    let sale = g.request_sale("carlos", 5 * K).await;
    let watched = [g.sale_address("carlos", sale).await];
    // Requested, not locked: no payout can exist for it yet.
    for paid in [true, false] {
        g.assert_refused(EnergyError::SaleNotLocked, &watched, async |g| {
            end_payout(g, paid, sale, "po_1").await
        })
        .await;
    }
    g.lock_withdrawal("carlos", sale, 50).await.unwrap();
    g.payout_paid("carlos", sale, "po_1").await.unwrap();
    g.refresh_blockhash().await;
    let overlong = "p".repeat(33);
    for (paid, payout_id, expected) in [
        // Another payout cannot end this sale a second time, either way.
        (false, "po_2", EnergyError::WrongPayout),
        (true, "po_2", EnergyError::WrongPayout),
        // The same payout paid again (in a new transaction): already applied.
        (true, "po_1", EnergyError::PaymentAlreadyProcessed),
        // An empty or overlong payout id.
        (false, "", EnergyError::InvalidPaymentId),
        (false, overlong.as_str(), EnergyError::InvalidPaymentId),
    ] {
        g.assert_refused(expected, &watched, async |g| {
            end_payout(g, paid, sale, payout_id).await
        })
        .await;
    }
}

#[tokio::test]
async fn a_payout_for_another_residents_or_another_grids_sale_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let oracle = g.oracle.insecure_clone();
    let danny = g.resident("danny").resident;
    let sale = g.lock_sale("carlos", 5 * K).await;
    let carlos_sale = g.sale_address("carlos", sale).await;
    let watched = [carlos_sale, other.resident];
    // Carlos's sale, named as Danny's: the sale's resident does not match.
    let danny_sale = g.sale_address("danny", sale).await;
    let mut instruction = ix::payout_failed(&oracle.pubkey(), &grid, &danny, &danny_sale, "po_1");
    swap_account(&mut instruction, &danny_sale, &carlos_sale);
    g.assert_send_refused(&[instruction], &[&oracle], EnergyError::WrongSale, &watched)
        .await;
    // Our oracle, the other grid's resident.
    let w = watch(&mut g, &watched).await;
    let others_sale = pda::sale(&other.resident, 0, 0);
    let instruction = ix::payout_paid(
        &oracle.pubkey(),
        &grid,
        &other.resident,
        &others_sale,
        "po_2",
    );
    let result = g.send(&[instruction], &[&oracle]).await;
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
    let sale = g.sale_address("carlos", number).await;
    let receipt = pda::receipt(&grid, "evt_1");
    let close_receipt = |rent_payer: &Pubkey| ix::close_receipt(&grid, "evt_1", rent_payer);
    let close_sale =
        |sale: &Pubkey, rent_payer: &Pubkey| ix::close_sale(&grid, &carlos, sale, rent_payer);
    // A day before the retention ends, and at its last second.
    for at in [START_TS + retention - 86_400, START_TS + retention] {
        g.set_time(at).await;
        let watched = [sale, receipt, oracle, wallet];
        for (instruction, expected) in [
            (close_receipt(&oracle), EnergyError::ReceiptStillRetained),
            (close_sale(&sale, &wallet), EnergyError::SaleStillOpen),
        ] {
            g.assert_send_refused(&[instruction], &[], expected, &watched)
                .await;
        }
    }
    // Afterwards, the rent must still go to whoever paid it.
    g.set_time(START_TS + retention + 1).await;
    for instruction in [close_receipt(&wallet), close_sale(&sale, &oracle)] {
        g.assert_send_refused(
            &[instruction],
            &[],
            EnergyError::WrongRentPayer,
            &[sale, receipt],
        )
        .await;
    }
    // A sale that has not ended is never closed.
    let open = g.request_sale("carlos", K).await;
    let open = g.sale_address("carlos", open).await;
    let instruction = close_sale(&open, &wallet);
    g.assert_send_refused(&[instruction], &[], EnergyError::SaleStillOpen, &[open])
        .await;
}
