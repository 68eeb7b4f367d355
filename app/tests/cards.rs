//! A card buyer who takes the money back, over HTTP against the real sandbox processor and a
//! real local cluster: coins bought by card are held from sale for the grid's card hold; a
//! refund (in part or whole) or a dispute takes back the coins it bought — from the resident's
//! coins, then their sales not yet locked, the rest as a debt that blocks selling and is repaid
//! first from the next purchase; a dispute won gives them back; each event applies once. And a
//! live event never reaches a test-mode service.

mod common;

use common::*;
use energy_utility_payments::client::Processor;
use energy_utility_payments::sandbox::{
    DISPUTE_LOSING_EVIDENCE, DISPUTE_WINNING_EVIDENCE, TEST_CARD_DISPUTED, TEST_CARD_SUCCEEDS,
};
use energy_utility_sdk::accounts::SaleStatus;
use energy_utility_sdk::amounts::format_k;
use reqwest::StatusCode;
use serde_json::json;

const K: u64 = 1_000_000;

/// The demo grid's card hold (one hour).
const HOLD_SECONDS: i64 = 3_600;

fn processor(s: &Service) -> Processor {
    Processor::new(&s.sandbox.url(), API_KEY)
}

#[tokio::test]
async fn coins_bought_by_card_fund_meters_at_once_and_sell_only_after_the_hold() {
    let s = service("hold").await;
    s.get_paid("carlos").await;
    let before = s.coins("carlos").await;
    s.buy_by_card("carlos", "5.00", TEST_CARD_SUCCEEDS).await;
    assert_eq!(s.coins("carlos").await, before + 50 * K);

    // The page says what is held and until when.
    let (_, carlos) = s.get("/api/residents/carlos").await;
    assert_eq!(carlos["held_k"], format_k(50 * K), "{carlos}");
    assert_eq!(carlos["sellable_k"], format_k(before), "{carlos}");
    let release = carlos["next_release_ts"].as_i64().expect("a release time");
    let now = s.chain.cluster_time().await.unwrap();
    assert!(
        (now + HOLD_SECONDS - 5..=now + HOLD_SECONDS).contains(&release),
        "{release} vs {now}"
    );

    // Selling the new coins now is refused, nothing set aside; the old ones sell.
    let price = s.price_cents().await;
    let all_usd = energy_utility_sdk::amounts::format_usd(
        energy_utility_sdk::fiat::quote_payout_cents(before + 50 * K, price).unwrap(),
    );
    let (status, refused) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": all_usd}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("hold has passed"),
        "{refused}"
    );
    let resident = s.resident("carlos").await;
    assert_eq!((resident.escrow_units, resident.locked_units), (0, 0));
    assert_eq!(s.coins("carlos").await, before + 50 * K);
    assert!(s.sandbox.transfers().is_empty());
    // They fund a meter at once.
    let (status, funded) = s
        .post(
            "/api/fund",
            json!({"from": "carlos", "meter": "carlos-house", "amount_k": "5"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{funded}");

    // Once the hold is over, what is left sells.
    s.chain.advance_clock(HOLD_SECONDS).await.unwrap();
    let left = s.coins("carlos").await;
    let usd = energy_utility_sdk::amounts::format_usd(
        energy_utility_sdk::fiat::quote_payout_cents(left, price).unwrap(),
    );
    let (number, sale) = s.sell("carlos", &usd).await;
    assert_eq!(sale["recorded"], true, "{sale}");
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Paid
    );
}

#[tokio::test]
async fn a_refund_takes_back_what_it_bought_in_part_then_whole_once_each() {
    let s = service("refund").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let payment = s.buy_by_card("carlos", "5.00", TEST_CARD_SUCCEEDS).await;
    assert_eq!(s.coins("carlos").await, before + 50 * K);

    // $2 refunded: 20 k taken back.
    processor(&s)
        .create_refund(&payment, Some(200), "refund-1")
        .await
        .expect("a refund");
    s.until("the first refund applied", || async {
        s.receipt(&payment).await.unwrap().refunded_cents == 200
    })
    .await;
    assert_eq!(s.coins("carlos").await, before + 30 * K);
    assert_eq!(s.supply().await, supply + 30 * K);
    // Delivered again: counted once.
    let refunded = s
        .sandbox
        .events()
        .into_iter()
        .find(|e| e.kind == "charge.refunded")
        .unwrap();
    let (status, again) = s
        .deliver(&serde_json::to_value(&refunded).unwrap(), 0)
        .await;
    assert_eq!(
        (status, again["result"].clone()),
        (StatusCode::OK, json!("duplicate")),
        "{again}"
    );
    assert_eq!(s.coins("carlos").await, before + 30 * K);

    // The rest: everything the purchase bought is gone, and nothing else.
    processor(&s)
        .create_refund(&payment, None, "refund-2")
        .await
        .expect("the rest refunded");
    s.until("the whole refund applied", || async {
        s.receipt(&payment).await.unwrap().refunded_cents == 500
    })
    .await;
    assert_eq!(s.coins("carlos").await, before);
    assert_eq!(s.supply().await, supply);
    let receipt = s.receipt(&payment).await.unwrap();
    assert_eq!(receipt.clawed_units, 50 * K);
    assert_eq!(s.resident("carlos").await.debt_units, 0);
    let (_, carlos) = s.get("/api/residents/carlos").await;
    let history = carlos["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|e| e["kind"] == "clawback" && e["detail"].as_str().unwrap().contains("refunded")),
        "{history:?}"
    );
}

#[tokio::test]
async fn a_refund_of_coins_already_spent_takes_unlocked_sales_then_leaves_a_debt_repaid_first() {
    let s = service("debt").await;
    s.get_paid("carlos").await;
    let payment = s.buy_by_card("carlos", "5.00", TEST_CARD_SUCCEEDS).await;
    // Carlos signs a sale of 10 k (his older coins; nobody locks it yet) and funds his house
    // with everything else: no coin left.
    let number = s.sign_sale("carlos", 10 * K).await;
    let left = s.coins("carlos").await;
    let (status, funded) = s
        .post(
            "/api/fund",
            json!({"from": "carlos", "meter": "carlos-house", "amount_k": format_k(left)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{funded}");
    assert_eq!(s.coins("carlos").await, 0);
    let supply = s.supply().await;

    // The whole $5 refunded: the sale gives its 10 k, the other 40 k are owed.
    processor(&s)
        .create_refund(&payment, None, "refund-all")
        .await
        .expect("a refund");
    s.until("the refund applied", || async {
        s.receipt(&payment).await.unwrap().refunded_cents == 500
    })
    .await;
    let carlos = s.resident("carlos").await;
    assert_eq!(carlos.debt_units, 40 * K);
    assert_eq!(carlos.escrow_units, 0);
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::ClawedBack
    );
    assert_eq!(s.supply().await, supply - 10 * K);
    let (_, page) = s.get("/api/residents/carlos").await;
    assert_eq!(page["debt_k"], format_k(40 * K), "{page}");

    // No sale while in debt.
    let (status, refused) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.00"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("owes coins"),
        "{refused}"
    );
    // The next purchase repays the debt first: $3 buys 30 k, all of it owed.
    let supply = s.supply().await;
    s.buy_by_card("carlos", "3.00", TEST_CARD_SUCCEEDS).await;
    assert_eq!(s.resident("carlos").await.debt_units, 10 * K);
    assert_eq!(s.coins("carlos").await, 0);
    assert_eq!(s.supply().await, supply, "a repaid debt mints nothing");
    // And $2 more: 10 k repay the rest, 10 k are his.
    s.buy_by_card("carlos", "2.00", TEST_CARD_SUCCEEDS).await;
    assert_eq!(s.resident("carlos").await.debt_units, 0);
    assert_eq!(s.coins("carlos").await, 10 * K);
}

/// Pays with the card that is disputed after the payment, and waits for the dispute to take
/// the coins back; returns the payment and the dispute's id.
async fn disputed_purchase(s: &Service, before: u64) -> (String, String) {
    let payment = s.buy_by_card("carlos", "5.00", TEST_CARD_DISPUTED).await;
    s.until("the dispute applied", || async {
        s.receipt(&payment).await.unwrap().disputed_cents == 500
    })
    .await;
    assert_eq!(
        s.coins("carlos").await,
        before,
        "the disputed coins taken back"
    );
    let dispute = s
        .sandbox
        .disputes()
        .into_iter()
        .find(|d| d.payment_intent.as_deref() == Some(payment.as_str()))
        .expect("the dispute");
    (payment, dispute.id)
}

#[tokio::test]
async fn a_dispute_lost_keeps_the_coins_taken_back() {
    let s = service("dispute-lost").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let (payment, dispute) = disputed_purchase(&s, before).await;
    processor(&s)
        .submit_dispute_evidence(&dispute, DISPUTE_LOSING_EVIDENCE)
        .await
        .expect("evidence submitted");
    s.until("the dispute closed", || async {
        s.deliveries().await.iter().any(|d| {
            d["event_type"] == "charge.dispute.closed"
                && d["detail"].as_str().unwrap().contains("stay taken")
        })
    })
    .await;
    assert_eq!(s.coins("carlos").await, before);
    assert_eq!(s.supply().await, supply);
    let receipt = s.receipt(&payment).await.unwrap();
    assert_eq!(
        (receipt.disputed_cents, receipt.clawed_units),
        (500, 50 * K)
    );
}

#[tokio::test]
async fn a_dispute_won_gives_the_coins_back_once() {
    let s = service("dispute-won").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let (payment, dispute) = disputed_purchase(&s, before).await;
    processor(&s)
        .submit_dispute_evidence(&dispute, DISPUTE_WINNING_EVIDENCE)
        .await
        .expect("evidence submitted");
    s.until("the dispute won", || async {
        s.receipt(&payment).await.unwrap().disputed_cents == 0
    })
    .await;
    assert_eq!(s.coins("carlos").await, before + 50 * K);
    assert_eq!(s.supply().await, supply + 50 * K);
    // The dispute's events delivered again: nothing more moves.
    for kind in ["charge.dispute.created", "charge.dispute.closed"] {
        let event = s
            .sandbox
            .events()
            .into_iter()
            .find(|e| e.kind == kind)
            .unwrap();
        let (status, again) = s.deliver(&serde_json::to_value(&event).unwrap(), 0).await;
        assert_eq!(status, StatusCode::OK, "{kind}: {again}");
        assert_eq!(again["result"], "duplicate", "{kind}: {again}");
    }
    assert_eq!(s.coins("carlos").await, before + 50 * K);
    let (_, carlos) = s.get("/api/residents/carlos").await;
    let history = carlos["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|e| e["detail"].as_str().unwrap().contains("won")),
        "{history:?}"
    );
}

#[tokio::test]
async fn a_live_event_on_a_test_mode_service_is_refused_and_mints_nothing() {
    let s = service("livemode").await;
    let before = s.coins("carlos").await;
    let mut event = checkout_event("evt_live00000000000000000001", "carlos", 500);
    event["livemode"] = json!(true);
    event["data"]["object"]["livemode"] = json!(true);
    let (status, answer) = s.deliver(&event, 0).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("test and live never mix"),
        "{answer}"
    );
    assert_eq!(s.coins("carlos").await, before);
    assert!(s
        .receipt(&payment_of("evt_live00000000000000000001"))
        .await
        .is_none());
}
