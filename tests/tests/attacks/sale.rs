//! Selling coins is the resident's own signed act: nobody else can set their coins aside,
//! choose where the dollars go, or take a sale back, and a locked sale cannot be cancelled.

use super::*;

#[tokio::test]
async fn a_sale_signed_by_anyone_but_the_resident_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let carlos = g.resident("carlos").resident;
    let sale = g.sale_address("carlos", 0).await;
    // Mallory signs a sale of Carlos's coins to her own bank account.
    let to_mallory = fiat::destination_hash("000999999999");
    let request = ix::SaleRequest {
        amount_units: 5 * K,
        destination_hash: to_mallory,
        min_cents: 0,
    };
    let instruction = ix::request_withdrawal(&mallory.pubkey(), &g.grid, &carlos, &sale, request);
    let watched = [sale, mallory.pubkey()];
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotResidentOwner,
        &watched,
    )
    .await;
    assert!(!g.exists(&sale).await);
}

/// Carlos signs a request for his sale `number` of `units` to the destination `hash`, for at
/// least `min_cents`.
async fn carlos_requests(
    g: &mut TestGrid,
    number: u32,
    units: u64,
    hash: [u8; 32],
    min_cents: u64,
) -> Instruction {
    let sale = g.sale_address("carlos", number).await;
    let carlos = g.resident("carlos");
    let request = ix::SaleRequest {
        amount_units: units,
        destination_hash: hash,
        min_cents,
    };
    ix::request_withdrawal(
        &carlos.wallet.pubkey(),
        &g.grid,
        &carlos.resident,
        &sale,
        request,
    )
}

#[tokio::test]
async fn a_sale_without_destination_beyond_the_coins_or_of_nothing_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let sale = g.sale_address("carlos", 0).await;
    let to_bank = fiat::destination_hash(TEST_BANK_ACCOUNT);
    for (units, hash, min_cents, expected) in [
        (K, [0; 32], 0, EnergyError::MissingPayoutDestination),
        (0, to_bank, 0, EnergyError::ZeroAmount),
        // Carlos holds 10 k.
        (10 * K + 1, to_bank, 0, EnergyError::InsufficientCoins),
        // 1 k is worth $0.10 at the grid's price: he cannot ask for more.
        (K, to_bank, 11, EnergyError::MinimumAboveWorth),
    ] {
        let instruction = carlos_requests(&mut g, 0, units, hash, min_cents).await;
        g.assert_send_refused(&[instruction], &[&wallet], expected, &[sale])
            .await;
    }
    assert!(!g.exists(&sale).await);
}

#[tokio::test]
async fn a_sale_at_another_number_than_the_next_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let hash = fiat::destination_hash(TEST_BANK_ACCOUNT);
    let instruction = carlos_requests(&mut g, 1, K, hash, 0).await;
    let watched = [g.sale_address("carlos", 1).await];
    g.assert_send_refused(
        &[instruction],
        &[&wallet],
        AnchorError::ConstraintSeeds,
        &watched,
    )
    .await;
}

#[tokio::test]
async fn cancelling_someone_elses_or_a_locked_sale_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let danny = g.resident("danny").resident;
    let danny_wallet = g.resident("danny").wallet.insecure_clone();
    let requested = g.request_sale("carlos", 3 * K).await;
    let locked = g.lock_sale("carlos", 2 * K).await;
    let sales = [
        g.sale_address("carlos", requested).await,
        g.sale_address("carlos", locked).await,
    ];
    let watched = [sales[0], sales[1], mallory.pubkey()];
    // Mallory, as Carlos.
    let instruction = ix::cancel_withdrawal(&mallory.pubkey(), &grid, &carlos, &sales[0]);
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotResidentOwner,
        &watched,
    )
    .await;
    // Danny, naming Carlos's sale as his own: the coins would land in Danny's account.
    let dannys = g.sale_address("danny", requested).await;
    let mut instruction = ix::cancel_withdrawal(&danny_wallet.pubkey(), &grid, &danny, &dannys);
    swap_account(&mut instruction, &dannys, &sales[0]);
    g.assert_send_refused(
        &[instruction],
        &[&danny_wallet],
        EnergyError::WrongSale,
        &watched,
    )
    .await;
    // Carlos himself, once the oracle locked the sale for a payout being paid.
    g.assert_refused(EnergyError::SaleNotRequested, &watched, async |g| {
        g.cancel_withdrawal("carlos", locked).await
    })
    .await;
}
