//! Funding refuses bad amounts, wrong signers, wrong meters and substituted coin accounts.

use super::*;

#[tokio::test]
async fn fund_with_zero_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let w = watch(&mut g, &[]).await;
    let result = g.fund("carlos", "carlos-house", 0).await;
    assert_fails_with(result, EnergyError::ZeroAmount);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_more_than_the_funder_holds_is_refused() {
    let mut g = TestGrid::seed_community().await;
    assert_eq!(g.coins("carlos").await, 10 * K);
    let w = watch(&mut g, &[]).await;
    let result = g.fund("carlos", "carlos-house", 10 * K + 1).await;
    assert_fails_with(result, EnergyError::InsufficientCoins);
    assert_unchanged(&mut g, &w).await;
    let result = g.fund("carlos", "danny-house", u64::MAX).await;
    assert_fails_with(result, EnergyError::InsufficientCoins);
    assert_unchanged(&mut g, &w).await;
    // All of it is fine.
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    assert_eq!(g.coins("carlos").await, 0);
}

#[tokio::test]
async fn fund_signed_by_a_wallet_that_is_not_the_residents_authority_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let mallory = mallory(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    // Mallory tries to spend Carlos's coins on Danny's meter.
    let meter = g.meter("danny-house").address;
    let w = watch(&mut g, &[]).await;
    let result = g
        .send(
            &[ix::fund(&mallory.pubkey(), &grid, &carlos, &meter, K)],
            &[&mallory],
        )
        .await;
    assert_fails_with(result, EnergyError::NotResidentOwner);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_from_another_residents_coin_account_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let carlos_wallet = g.resident("carlos").wallet.insecure_clone();
    let angel_coins = g.resident("angel").coins;
    let meter = g.meter("carlos-house").address;
    // Carlos signs for himself, but names Angel's coin account as the source.
    let mut instruction = ix::fund(&carlos_wallet.pubkey(), &grid, &carlos, &meter, K);
    swap_account(&mut instruction, &pda::coins(&carlos), &angel_coins);
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&carlos_wallet]).await;
    assert_fails_with(result, EnergyError::WrongCoinAccount);
    assert_unchanged(&mut g, &w).await;
    assert_eq!(g.coins("angel").await, 20 * K);
}

#[tokio::test]
async fn fund_a_producer_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let w = watch(&mut g, &[]).await;
    let result = g.fund("angel", "angel-roof", K).await;
    assert_fails_with(result, EnergyError::NotConsumerMeter);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_a_deactivated_meter_is_refused() {
    let mut g = TestGrid::seed_community().await;
    g.deactivate_meter("carlos-house").await.unwrap();
    let w = watch(&mut g, &[]).await;
    let result = g.fund("carlos", "carlos-house", K).await;
    assert_fails_with(result, EnergyError::MeterInactive);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_a_meter_of_another_grid_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let w = watch(&mut g, &[other.meter, pda::vault(&other.grid)]).await;
    let result = g
        .send(
            &[ix::fund(&wallet.pubkey(), &grid, &carlos, &other.meter, K)],
            &[&wallet],
        )
        .await;
    assert_fails_with(result, EnergyError::WrongGrid);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_into_a_substituted_vault_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let other = other_grid(&mut g).await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let danny_coins = g.resident("danny").coins;
    let w = watch(&mut g, &[pda::vault(&other.grid)]).await;
    // Coins "deposited" to the meter would land in Danny's account, in the treasury, or in
    // the other grid's vault.
    for substitute in [danny_coins, pda::treasury(&grid), pda::vault(&other.grid)] {
        let mut instruction = ix::fund(&wallet.pubkey(), &grid, &carlos, &meter, K);
        swap_account(&mut instruction, &pda::vault(&grid), &substitute);
        let result = g.send(&[instruction], &[&wallet]).await;
        assert_fails_with(result, EnergyError::WrongCoinAccount);
        assert_unchanged(&mut g, &w).await;
    }
}

#[tokio::test]
async fn fund_into_a_substituted_pool_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let danny_coins = g.resident("danny").coins;
    let mut instruction = ix::fund(&wallet.pubkey(), &grid, &carlos, &meter, K);
    swap_account(&mut instruction, &pda::pool(&grid), &danny_coins);
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&wallet]).await;
    assert_fails_with(result, EnergyError::WrongCoinAccount);
    assert_unchanged(&mut g, &w).await;
}

#[tokio::test]
async fn fund_with_the_pool_passed_as_the_vault_is_refused() {
    let mut g = TestGrid::seed_community().await;
    let grid = g.grid;
    let carlos = g.resident("carlos").resident;
    let wallet = g.resident("carlos").wallet.insecure_clone();
    let meter = g.meter("carlos-house").address;
    let mut instruction = ix::fund(&wallet.pubkey(), &grid, &carlos, &meter, K);
    swap_account(&mut instruction, &pda::vault(&grid), &pda::pool(&grid));
    let w = watch(&mut g, &[]).await;
    let result = g.send(&[instruction], &[&wallet]).await;
    // The same account twice as two mutable fields: Anchor refuses before the program's
    // own `address` check.
    assert_fails_with(result, AnchorError::ConstraintDuplicateMutableAccount);
    assert_unchanged(&mut g, &w).await;
}
