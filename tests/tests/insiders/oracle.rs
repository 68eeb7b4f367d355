//! The payment oracle, or the admin through the price: a sale is never locked for less than the
//! least its resident accepted when signing it.

use super::*;

#[tokio::test]
async fn a_sale_is_never_locked_below_the_least_the_resident_accepted() {
    let mut g = TestGrid::seed_community_with_notice(3_600).await;
    // Angel signs a sale of 10 k while 1 k is worth $0.10: at least $1.00.
    let number = g.request_withdrawal("angel", 10 * K).await.unwrap();
    assert_eq!(g.sale_state("angel", number).await.min_cents, 100);
    // The admin halves the price; once the notice has passed, the oracle locks at $0.50.
    let half = UpdateGridArgs {
        coin_price_cents: Some(5),
        ..Default::default()
    };
    g.update_grid(half).await.unwrap();
    g.set_time(g.now + 3_600).await;
    let sale = g.sale_address("angel", number).await;
    g.assert_refused(EnergyError::PriceFellSinceSale, &[sale], async |g| {
        g.lock_withdrawal("angel", number, 50).await
    })
    .await;
    // The sale stays Angel's to cancel; she gets every coin back.
    let coins = g.coins("angel").await;
    g.cancel_withdrawal("angel", number).await.unwrap();
    assert_eq!(g.coins("angel").await, coins + 10 * K);

    // Signed again at the new price, and locked after a rise: the oracle pays today's worth.
    let number = g.request_withdrawal("angel", 10 * K).await.unwrap();
    let rise = UpdateGridArgs {
        coin_price_cents: Some(12),
        ..Default::default()
    };
    g.update_grid(rise).await.unwrap();
    g.set_time(g.now + 3_600).await;
    g.lock_withdrawal("angel", number, 120).await.unwrap();
    let locked = g.sale_state("angel", number).await;
    assert_eq!(
        (locked.cents, locked.min_cents, locked.coin_price_cents),
        (120, 50, 12)
    );
    g.assert_books_balance().await;
}
