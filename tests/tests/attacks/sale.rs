//! Selling coins is the resident's own signed act: nobody else can set their coins aside,
//! choose where the dollars go, or take a sale back, and a locked sale cannot be cancelled.

use super::*;

#[tokio::test]
async fn a_sale_signed_by_anyone_but_the_resident_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let sale = pda::sale(&carlos, 0);
    let w = watch(&mut g, &[sale, mallory.pubkey()]).await;
    // Mallory signs a sale of Carlos's coins to her own bank account.
    let result = g
        .send(
            &[ix::request_withdrawal(
                &mallory.pubkey(),
                &grid,
                &carlos,
                0,
                5 * K,
                fiat::destination_hash("000999999999"),
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotResidentOwner);
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&sale).await);
}

#[tokio::test]
async fn a_sale_without_destination_beyond_the_coins_or_of_nothing_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let sale = pda::sale(&carlos, 0);
    let w = watch(&mut g, &[sale]).await;
    let request = |units: u64, hash: [u8; 32]| {
        ix::request_withdrawal(&wallet.pubkey(), &grid, &carlos, 0, units, hash)
    };
    let to_bank = fiat::destination_hash(TEST_BANK_ACCOUNT);
    for (instruction, expected) in [
        (request(K, [0; 32]), EnergyError::MissingPayoutDestination),
        (request(0, to_bank), EnergyError::ZeroAmount),
        // Carlos holds 10 k.
        (request(10 * K + 1, to_bank), EnergyError::InsufficientCoins),
    ] {
        let result = g.send(&[instruction], &[&wallet]).await;
        assert_fails_with(result, expected);
    }
    assert_unchanged(&mut g, &w).await;
    assert!(!g.exists(&sale).await);
}

#[tokio::test]
async fn a_sale_at_another_number_than_the_next_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let hash = fiat::destination_hash(TEST_BANK_ACCOUNT);
    let w = watch(&mut g, &[pda::sale(&carlos, 1)]).await;
    let result = g
        .send(
            &[ix::request_withdrawal(
                &wallet.pubkey(),
                &grid,
                &carlos,
                1,
                K,
                hash,
            )],
            &[&wallet],
        )
        .await;
    assert_fails_with(result, AnchorError::ConstraintSeeds);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn cancelling_someone_elses_or_a_locked_sale_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let danny = g.resident("danny").resident;
    let danny_wallet = g.resident("danny").wallet.insecure_clone();
    let requested = g
        .request_withdrawal("carlos", 3 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let locked = g
        .request_withdrawal("carlos", 2 * K, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    g.lock_withdrawal("carlos", locked, 20, TEST_BANK_ACCOUNT)
        .await
        .unwrap();
    let sales = [pda::sale(&carlos, requested), pda::sale(&carlos, locked)];
    let w = watch(&mut g, &[sales[0], sales[1], mallory.pubkey()]).await;
    // Mallory, as Carlos.
    let result = g
        .send(
            &[ix::cancel_withdrawal(
                &mallory.pubkey(),
                &grid,
                &carlos,
                requested,
            )],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotResidentOwner);
    // Danny, naming Carlos's sale as his own: the coins would land in Danny's account.
    let mut instruction = ix::cancel_withdrawal(&danny_wallet.pubkey(), &grid, &danny, requested);
    swap_account(&mut instruction, &pda::sale(&danny, requested), &sales[0]);
    let result = g.send(&[instruction], &[&danny_wallet]).await;
    assert_fails_with(result, EnergyError::WrongSale);
    // Carlos himself, once the oracle locked the sale for a payout being paid.
    assert_fails_with(
        g.cancel_withdrawal("carlos", locked).await,
        EnergyError::SaleNotRequested,
    );
    assert_unchanged(&mut g, &w).await;
}
