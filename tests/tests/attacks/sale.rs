//! Selling coins is the resident's own signed act: nobody else can set their coins aside,
//! choose where the dollars go, or take a sale back, and a locked sale cannot be cancelled.

use super::*;

#[tokio::test]
async fn a_sale_signed_by_anyone_but_the_resident_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let carlos = g.resident("carlos").resident;
    let sale = g.sale_address("carlos", 0).await;
    // Mallory signs a sale of Carlos's coins.
    let request = ix::SaleRequest {
        amount_units: 5 * K,
        min_cents: 0,
    };
    let instruction = ix::request_withdrawal(
        &mallory.pubkey(),
        &mallory.pubkey(),
        &g.grid,
        &carlos,
        &sale,
        request,
    );
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

/// `resident` signs a request for its sale `number` of `units`, for at least `min_cents`.
async fn requests(
    g: &mut TestGrid,
    resident: &str,
    number: u32,
    units: u64,
    min_cents: u64,
) -> Instruction {
    let sale = g.sale_address(resident, number).await;
    let carlos = g.resident(resident);
    let request = ix::SaleRequest {
        amount_units: units,
        min_cents,
    };
    ix::request_withdrawal(
        &carlos.wallet.pubkey(),
        &carlos.wallet.pubkey(),
        &g.grid,
        &carlos.resident,
        &sale,
        request,
    )
}

#[tokio::test]
async fn a_sale_beyond_the_coins_of_nothing_or_above_their_worth_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let sale = g.sale_address("carlos", 0).await;
    for (units, min_cents, expected) in [
        (0, 0, EnergyError::ZeroAmount),
        // Carlos holds 10 k.
        (10 * K + 1, 0, EnergyError::InsufficientCoins),
        // 1 k is worth $0.10 at the grid's price: he cannot ask for more.
        (K, 11, EnergyError::MinimumAboveWorth),
    ] {
        let instruction = requests(&mut g, "carlos", 0, units, min_cents).await;
        g.assert_send_refused(&[instruction], &[&wallet], expected, &[sale])
            .await;
    }
    assert!(!g.exists(&sale).await);
}

#[tokio::test]
async fn a_sale_before_a_payout_account_is_bound_is_refused() {
    let mut g = TestGrid::start().await;
    let wallet = Keypair::new();
    g.airdrop(&wallet.pubkey(), 1_000_000_000).await;
    let grid = g.grid;
    g.register_resident(&wallet, &grid, "newcomer")
        .await
        .unwrap();
    let resident = pda::resident(&grid, "newcomer");
    g.send(
        &[ix::add_fiat(
            &g.oracle.pubkey(),
            &grid,
            &resident,
            100,
            "evt_new",
            g.now,
        )],
        &[&g.oracle.insecure_clone()],
    )
    .await
    .unwrap();
    let index = g.account::<Resident>(&resident).await.index;
    let sale = pda::sale(&resident, index, 0);
    let request = ix::SaleRequest {
        amount_units: K,
        min_cents: 0,
    };
    let instruction = ix::request_withdrawal(
        &wallet.pubkey(),
        &wallet.pubkey(),
        &grid,
        &resident,
        &sale,
        request,
    );
    g.assert_send_refused(
        &[instruction],
        &[&wallet],
        EnergyError::MissingPayoutDestination,
        &[sale, resident],
    )
    .await;
}

#[tokio::test]
async fn a_sale_at_another_number_than_the_next_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let instruction = requests(&mut g, "carlos", 1, K, 0).await;
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
    let carlos_wallet = g.resident("carlos").wallet.insecure_clone();
    // Mallory, as Carlos.
    let instruction = ix::cancel_withdrawal(
        &mallory.pubkey(),
        &grid,
        &carlos,
        &sales[0],
        &carlos_wallet.pubkey(),
    );
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotResidentOwner,
        &watched,
    )
    .await;
    // Danny, naming Carlos's sale as his own: the coins would land in Danny's account.
    let dannys = g.sale_address("danny", requested).await;
    let mut instruction = ix::cancel_withdrawal(
        &danny_wallet.pubkey(),
        &grid,
        &danny,
        &dannys,
        &danny_wallet.pubkey(),
    );
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
    // Carlos naming Mallory (or himself, when a utility paid it) to receive the sale's rent:
    // it goes back only to whoever paid it.
    let instruction = ix::cancel_withdrawal(
        &carlos_wallet.pubkey(),
        &grid,
        &carlos,
        &sales[0],
        &mallory.pubkey(),
    );
    g.assert_send_refused(
        &[instruction],
        &[&carlos_wallet],
        EnergyError::WrongRentPayer,
        &watched,
    )
    .await;
}
