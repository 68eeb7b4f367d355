//! Card money: coins bought by card are held before they can be sold; a refund or a dispute
//! takes back the coins its purchase minted (from the resident's coins, then from sales not yet
//! locked, the rest as a debt that blocks selling and is repaid first); a dispute won gives them
//! back; and sales are paid only to the payout account the resident bound, a change of which
//! waits for the grid's notice.

use energy_utility::error::EnergyError;
use energy_utility::instructions::{InitializeGridArgs, UpdateGridArgs};
use energy_utility::state::{Clawback, MeterKind, SaleStatus};
use energy_utility_sdk::{instructions as ix, pda};
use energy_utility_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

const DAY: i64 = 86_400;

/// Carlos and his house on a grid whose card purchases are held 14 days (the default).
async fn held_street() -> TestGrid {
    let mut g = TestGrid::start().await;
    let hold = UpdateGridArgs {
        card_hold_seconds: Some(14 * DAY as u32),
        ..Default::default()
    };
    g.update_grid(hold).await.unwrap();
    assert_eq!(
        g.grid_state().await.payment_rules.card_hold_seconds,
        InitializeGridArgs::with_defaults("x", Default::default())
            .payment_rules
            .card_hold_seconds
    );
    for id in ["angel", "carlos"] {
        g.add_resident(id).await;
    }
    g.add_meter("angel-roof", MeterKind::Producer, "angel")
        .await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g
}

#[tokio::test]
async fn coins_bought_by_card_fund_meters_at_once_but_are_sold_only_after_their_hold() {
    let mut g = held_street().await;
    // $2.00 buys 20 k, held 14 days.
    g.add_fiat("carlos", 200, "pi_carlos_1").await.unwrap();
    let resident = g.resident_state("carlos").await;
    assert_eq!(resident.held_units(g.now), 20 * K);
    let sale = g.sale_address("carlos", 0).await;
    let carlos = g.resident("carlos").resident;
    g.assert_refused(EnergyError::CoinsOnHold, &[sale, carlos], async |g| {
        g.request_withdrawal("carlos", K).await
    })
    .await;
    // They light the house at once; what they spend is held coins first.
    g.fund("carlos", "carlos-house", 5 * K).await.unwrap();
    assert_eq!(g.resident_state("carlos").await.held_units(g.now), 15 * K);
    // A day before the hold ends: still nothing to sell.
    g.set_time(START_TS + 13 * DAY).await;
    g.assert_refused(EnergyError::CoinsOnHold, &[sale, carlos], async |g| {
        g.request_withdrawal("carlos", K).await
    })
    .await;
    // Once it has passed, every coin is his to sell.
    g.set_time(START_TS + 14 * DAY).await;
    g.request_withdrawal("carlos", 15 * K).await.unwrap();
    g.assert_books_balance().await;
}

#[tokio::test]
async fn earned_coins_are_sellable_while_bought_ones_are_held() {
    let mut g = held_street().await;
    g.add_fiat("carlos", 100, "pi_carlos_1").await.unwrap();
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    g.add_fiat("angel", 100, "pi_angel_1").await.unwrap();
    // Angel's roof earns 2.99 k in an hour; collected, they are hers to sell at once, while
    // the 10 k she bought by card wait.
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    g.report("angel-roof", 0, 3_300).await.unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    g.collect("angel-roof").await.unwrap();
    assert_eq!(g.coins("angel").await, 10 * K + 2_990_000);
    g.request_withdrawal("angel", 2_990_000).await.unwrap();
    g.refresh_blockhash().await;
    let next = g.sale_address("angel", 1).await;
    g.assert_refused(EnergyError::CoinsOnHold, &[next], async |g| {
        g.request_withdrawal("angel", 1).await
    })
    .await;
}

#[tokio::test]
async fn a_refund_takes_the_coins_back_from_the_resident_then_unlocked_sales_then_as_debt() {
    let mut g = TestGrid::start().await;
    for id in ["angel", "carlos"] {
        g.add_resident(id).await;
    }
    g.add_meter("angel-roof", MeterKind::Producer, "angel")
        .await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    // $5.00 buys 50 k: 30 k light the house, 15 k are set aside to sell, 5 k stay.
    g.add_fiat("carlos", 500, "pi_stolen").await.unwrap();
    g.fund("carlos", "carlos-house", 30 * K).await.unwrap();
    let sale = g.request_sale("carlos", 15 * K).await;
    let supply = g.supply().await;
    // The card was stolen: the charge is refunded in full.
    g.claw_back("carlos", "pi_stolen", Clawback::Refund, 500)
        .await
        .unwrap();
    // 5 k from his coins, 15 k from the sale he may still cancel, 30 k owed.
    assert_eq!(g.coins("carlos").await, 0);
    let taken = g.sale_state("carlos", sale).await;
    assert_eq!((taken.status, taken.units), (SaleStatus::ClawedBack, 0));
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.escrow_units, resident.debt_units), (0, 30 * K));
    assert_eq!(
        g.supply().await,
        supply - 20 * K,
        "the coins taken back are burned"
    );
    g.assert_books_balance().await;
    // The same refund delivered again changes nothing.
    g.refresh_blockhash().await;
    let carlos = g.resident("carlos").resident;
    let receipt = pda::receipt(&g.grid, "pi_stolen");
    g.assert_refused(
        EnergyError::PaymentAlreadyProcessed,
        &[carlos, receipt],
        async |g| {
            g.claw_back("carlos", "pi_stolen", Clawback::Refund, 500)
                .await
        },
    )
    .await;

    // In debt, he cannot sell; his next purchase repays the debt first: $4.00 buys 40 k, 30 k
    // of which repay it and are never minted.
    g.add_fiat("carlos", 400, "pi_honest").await.unwrap();
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.debt_units, g.coins("carlos").await), (0, 10 * K));
    assert_eq!(g.supply().await, supply - 20 * K + 10 * K);
    g.request_withdrawal("carlos", K).await.unwrap();
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_debt_blocks_selling_and_a_producers_earnings_repay_it_first() {
    let mut g = TestGrid::start().await;
    for id in ["angel", "carlos"] {
        g.add_resident(id).await;
    }
    g.add_meter("angel-roof", MeterKind::Producer, "angel")
        .await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    g.add_fiat("carlos", 100, "pi_carlos").await.unwrap();
    g.fund("carlos", "carlos-house", 10 * K).await.unwrap();
    // Angel buys 2 k and spends them on Carlos's house, then disputes her charge.
    g.add_fiat("angel", 20, "pi_angel").await.unwrap();
    g.fund("angel", "carlos-house", 2 * K).await.unwrap();
    g.claw_back("angel", "pi_angel", Clawback::Dispute, 20)
        .await
        .unwrap();
    assert_eq!(g.resident_state("angel").await.debt_units, 2 * K);
    // Her roof earns 2.99 k: collected, 2 k repay the debt (burned), 0.99 k are hers.
    g.report("carlos-house", 0, 3 * KWH).await.unwrap();
    g.report("angel-roof", 0, 3_300).await.unwrap();
    g.close_epoch_window(0).await;
    g.settle_all(0).await;
    let angel = g.resident("angel").resident;
    let sale = g.sale_address("angel", 0).await;
    g.assert_refused(EnergyError::ResidentInDebt, &[angel, sale], async |g| {
        g.request_withdrawal("angel", 1).await
    })
    .await;
    let supply = g.supply().await;
    g.collect("angel-roof").await.unwrap();
    assert_eq!(g.coins("angel").await, 990_000);
    assert_eq!(g.resident_state("angel").await.debt_units, 0);
    assert_eq!(g.supply().await, supply - 2 * K);
    g.request_withdrawal("angel", 990_000).await.unwrap();
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_dispute_won_gives_the_coins_back_once_repaying_the_debt_first() {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.add_meter("carlos-house", MeterKind::Household, "carlos")
        .await;
    // $1.00 buys 10 k; 6 k light the house; then the charge is disputed.
    g.add_fiat("carlos", 100, "pi_disputed").await.unwrap();
    g.fund("carlos", "carlos-house", 6 * K).await.unwrap();
    g.claw_back("carlos", "pi_disputed", Clawback::Dispute, 100)
        .await
        .unwrap();
    assert_eq!(g.coins("carlos").await, 0);
    assert_eq!(g.resident_state("carlos").await.debt_units, 6 * K);
    // While disputed, the receipt outlives its retention.
    let retention = g.grid_state().await.oracle_limits.receipt_retention_seconds as i64;
    g.set_time(START_TS + retention + 1).await;
    let (grid, oracle) = (g.grid, g.oracle.pubkey());
    let receipt = pda::receipt(&grid, "pi_disputed");
    g.assert_send_refused(
        &[ix::close_receipt(&grid, "pi_disputed", &oracle)],
        &[],
        EnergyError::ReceiptStillRetained,
        &[receipt],
    )
    .await;
    // Won: the 10 k are his again — 6 k repay the debt, 4 k come back as coins — once.
    g.restore_dispute("carlos", "pi_disputed").await.unwrap();
    let resident = g.resident_state("carlos").await;
    assert_eq!((resident.debt_units, g.coins("carlos").await), (0, 4 * K));
    g.refresh_blockhash().await;
    let carlos = g.resident("carlos").resident;
    g.assert_refused(
        EnergyError::PaymentAlreadyProcessed,
        &[carlos, receipt],
        async |g| g.restore_dispute("carlos", "pi_disputed").await,
    )
    .await;
    // The dispute delivered again after it was won takes nothing.
    g.assert_refused(
        EnergyError::PaymentAlreadyProcessed,
        &[carlos, receipt],
        async |g| {
            g.claw_back("carlos", "pi_disputed", Clawback::Dispute, 100)
                .await
        },
    )
    .await;
    // Now it can go.
    g.send(&[ix::close_receipt(&grid, "pi_disputed", &oracle)], &[])
        .await
        .unwrap();
    g.assert_books_balance().await;
}

#[tokio::test]
async fn a_clawback_of_more_than_the_purchase_or_by_anyone_but_the_oracle_is_refused() {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.add_fiat("carlos", 100, "pi_1").await.unwrap();
    g.claw_back("carlos", "pi_1", Clawback::Refund, 60)
        .await
        .unwrap();
    let carlos = g.resident("carlos").resident;
    let receipt = pda::receipt(&g.grid, "pi_1");
    g.assert_refused(
        EnergyError::ClawbackBeyondPurchase,
        &[carlos, receipt],
        async |g| g.claw_back("carlos", "pi_1", Clawback::Dispute, 50).await,
    )
    .await;
    let mallory = Keypair::new();
    g.airdrop(&mallory.pubkey(), 1_000_000_000).await;
    let grid = g.grid;
    let instruction = ix::claw_back(
        &mallory.pubkey(),
        &grid,
        &carlos,
        "pi_1",
        Clawback::Refund,
        100,
        &[],
    );
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotGridOracle,
        &[carlos, receipt],
    )
    .await;
}

#[tokio::test]
async fn a_new_payout_account_waits_its_notice_and_the_resident_can_cancel_it() {
    let mut g = TestGrid::start().await;
    g.add_resident("carlos").await;
    g.add_fiat("carlos", 300, "pi_1").await.unwrap();
    let first = test_payout_account("carlos");
    // A phishing page got a signature binding the attacker's account: it waits 48 hours.
    g.set_payout_account("carlos", "acct_attacker")
        .await
        .unwrap();
    let resident = g.resident_state("carlos").await;
    assert_eq!(resident.payout_account_at(g.now), Some(first.as_str()));
    assert_eq!(resident.pending_payout_account, "acct_attacker");
    assert_eq!(resident.payout_change_ts, g.now + 48 * 3_600);
    // A sale meanwhile still pays Carlos's own account.
    let sale = g.request_sale("carlos", K).await;
    assert_eq!(g.sale_state("carlos", sale).await.destination, first);
    // Carlos sees it and cancels it; nothing changed.
    g.cancel_payout_account_change("carlos").await.unwrap();
    g.set_time(START_TS + 3 * DAY).await;
    let sale = g.request_sale("carlos", K).await;
    assert_eq!(g.sale_state("carlos", sale).await.destination, first);
    // A change he wants takes effect once its notice has passed.
    g.set_payout_account("carlos", "acct_new_bank")
        .await
        .unwrap();
    g.set_time(g.now + 48 * 3_600).await;
    let sale = g.request_sale("carlos", K).await;
    assert_eq!(
        g.sale_state("carlos", sale).await.destination,
        "acct_new_bank"
    );
    // Only his wallet binds his payouts.
    let mallory = Keypair::new();
    g.airdrop(&mallory.pubkey(), 1_000_000_000).await;
    let (grid, carlos) = (g.grid, g.resident("carlos").resident);
    let instruction = ix::set_payout_account(&mallory.pubkey(), &grid, &carlos, "acct_mallory");
    g.assert_send_refused(
        &[instruction],
        &[&mallory],
        EnergyError::NotResidentOwner,
        &[carlos],
    )
    .await;
}
