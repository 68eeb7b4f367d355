//! Funding refuses bad amounts, wrong signers, wrong meters and substituted coin accounts.

use super::*;

/// Carlos, signing for himself, funds his house with 1 k, but with the instruction's account
/// `old` replaced by `new`: refused with `expected`, and nothing changes (nor `extra`).
async fn carlos_funds_through(
    g: &mut TestGrid,
    old: Pubkey,
    new: Pubkey,
    expected: impl Into<u32> + std::fmt::Debug + Copy,
    extra: &[Pubkey],
) {
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let mut instruction = ix::fund(&wallet.pubkey(), &g.grid, &carlos, &meter, K);
    swap_account(&mut instruction, &old, &new);
    g.assert_send_refused(&[instruction], &[&wallet], expected, extra)
        .await;
}

#[tokio::test]
async fn fund_with_zero_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.assert_refused(EnergyError::ZeroAmount, &[], async |g| {
        g.fund("carlos", "carlos-house", 0).await
    })
    .await;
}

#[tokio::test]
async fn fund_more_than_the_funder_holds_is_refused() {
    let mut g = TestGrid::seed_community().await;
    assert_eq!(g.coins("carlos").await, 10 * K);
    for (meter, amount) in [("carlos-house", 10 * K + 1), ("danny-house", u64::MAX)] {
        g.assert_refused(EnergyError::InsufficientCoins, &[], async |g| {
            g.fund("carlos", meter, amount).await
        })
        .await;
    }
    // All of it is fine.
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    assert_eq!(g.coins("carlos").await, 0);
}

#[tokio::test]
async fn fund_signed_by_a_wallet_that_is_not_the_residents_authority_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let carlos = g.resident("carlos").resident;
    // Mallory tries to spend Carlos's coins on Danny's meter.
    let meter = g.meter("danny-house").address;
    let instruction = ix::fund(&mallory.pubkey(), &g.grid, &carlos, &meter, K);
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotResidentOwner,
        &[],
    )
    .await;
}

#[tokio::test]
async fn fund_from_another_residents_coin_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let carlos = g.resident("carlos").resident;
    let angel_coins = g.resident("angel").coins;
    // Carlos signs for himself, but names Angel's coin account as the source.
    let expected = EnergyError::WrongCoinAccount;
    carlos_funds_through(&mut g, pda::coins(&carlos), angel_coins, expected, &[]).await;
    assert_eq!(g.coins("angel").await, 20 * K);
}

#[tokio::test]
async fn fund_a_producer_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.assert_refused(EnergyError::NotConsumerMeter, &[], async |g| {
        g.fund("angel", "angel-roof", K).await
    })
    .await;
}

#[tokio::test]
async fn fund_a_deactivated_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.deactivate_meter("carlos-house").await.unwrap();
    g.assert_refused(EnergyError::MeterInactive, &[], async |g| {
        g.fund("carlos", "carlos-house", K).await
    })
    .await;
}

#[tokio::test]
async fn fund_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let instruction = ix::fund(&wallet.pubkey(), &g.grid, &carlos, &other.meter, K);
    let watched = [other.meter, pda::vault(&other.grid)];
    g.assert_send_refused(&[instruction], &[&wallet], EnergyError::WrongGrid, &watched)
        .await;
}

#[tokio::test]
async fn fund_into_a_substituted_vault_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let danny_coins = g.resident("danny").coins;
    let watched = [pda::vault(&other.grid)];
    // Coins "deposited" to the meter would land in Danny's account, in the treasury, or in
    // the other grid's vault.
    for substitute in [danny_coins, pda::treasury(&grid), pda::vault(&other.grid)] {
        let expected = EnergyError::WrongCoinAccount;
        carlos_funds_through(&mut g, pda::vault(&grid), substitute, expected, &watched).await;
    }
}

#[tokio::test]
async fn fund_into_a_substituted_pool_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let pool = pda::pool(&g.grid);
    let danny_coins = g.resident("danny").coins;
    let expected = EnergyError::WrongCoinAccount;
    carlos_funds_through(&mut g, pool, danny_coins, expected, &[]).await;
}

#[tokio::test]
async fn fund_with_the_pool_passed_as_the_vault_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let (vault, pool) = (pda::vault(&g.grid), pda::pool(&g.grid));
    // The same account twice as two mutable fields: Anchor refuses before the program's
    // own `address` check.
    let expected = AnchorError::ConstraintDuplicateMutableAccount;
    carlos_funds_through(&mut g, vault, pool, expected, &[]).await;
}
