//! Money nobody can steal or strand, over HTTP against the real sandbox processor and a real
//! local cluster: a sale is the seller's signed act bound to a destination; every payout ends
//! once, paid, failed, canceled or reversed; events that are not the grid's are ignored; the
//! oracle's mint budget holds a purchase back until its window frees; receipts give their rent
//! back after the retention window and old payments stay refused.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::faults::Fault;
use common::*;
use energy_utility_payments::client::{NewCheckoutSession, NewPayout, Processor};
use energy_utility_payments::sandbox::{TEST_ACCOUNT_CLOSED, TEST_ACCOUNT_PAID};
use energy_utility_sdk::accounts::{Receipt, SaleStatus};
use energy_utility_sdk::instructions;
use energy_utility_sdk::program::instructions::UpdateGridArgs;
use reqwest::{Method, StatusCode};
use serde_json::json;
use solana_signer::Signer;

const K: u64 = 1_000_000;

fn serve_mode() -> Setup {
    Setup {
        custody: false,
        ..Setup::default()
    }
}

#[tokio::test]
async fn a_strangers_sale_of_someone_elses_coins_is_refused_and_changes_nothing() {
    let s = service_with("stranger", serve_mode()).await;
    // Carlos signs a sale of 10 k to his own bank account with his own wallet.
    let number = s.sign_sale("carlos", 10 * K, TEST_ACCOUNT_PAID).await;
    let carlos = s.resident("carlos").await;
    let coins = s.coins("carlos").await;
    let oracle_lamports = s.chain.lamports(&s.keys.utility.pubkey()).await.unwrap();

    // A stranger asks the server to sell Carlos's coins, to their own account or any: no
    // sale of Carlos's says so, and the server holds no key to sign one.
    for body in [
        json!({"resident": "carlos", "usd": "1.00", "bank_account": "000111111116"}),
        json!({"resident": "carlos", "usd": "1.00", "bank_account": TEST_ACCOUNT_PAID}),
    ] {
        let (status, answer) = s.post("/api/sell", body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("deu withdraw request"),
            "{answer}"
        );
    }
    // A sale number Carlos never signed.
    let (status, answer) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "sale": number + 1, "bank_account": TEST_ACCOUNT_PAID}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    // Nothing changed: no lock, no payout, no receipt, not a lamport of the oracle's.
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Requested
    );
    let after = s.resident("carlos").await;
    assert_eq!(
        (after.escrow_units, after.locked_units),
        (carlos.escrow_units, carlos.locked_units)
    );
    assert_eq!(s.coins("carlos").await, coins);
    assert!(s.sandbox.payouts().is_empty());
    assert_eq!(
        s.chain.lamports(&s.keys.utility.pubkey()).await.unwrap(),
        oracle_lamports
    );
}

#[tokio::test]
async fn a_sale_to_a_destination_the_resident_did_not_commit_to_is_refused() {
    let s = service_with("destination", serve_mode()).await;
    let number = s.sign_sale("carlos", 10 * K, TEST_ACCOUNT_PAID).await;
    let before = s.sale("carlos", number).await.unwrap();

    // Someone who knows the sale's number sends its dollars to another account.
    let (status, answer) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "sale": number, "bank_account": TEST_ACCOUNT_CLOSED}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("another bank account"));
    let after = s.sale("carlos", number).await.unwrap();
    assert_eq!(after.status, SaleStatus::Requested);
    assert_eq!(after.destination_hash, before.destination_hash);
    assert!(s.sandbox.payouts().is_empty());

    // Carlos's own request, to the account he signed for, is paid (typed with spaces, too).
    let (status, sale) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "sale": number, "bank_account": "000 123 456 789"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert_eq!(sale["usd"], "1.00");
    s.until_sale("the payout paid", "carlos", number, SaleStatus::Paid)
        .await;
    assert_eq!(
        s.sandbox.payouts()[0].destination.as_deref(),
        Some(TEST_ACCOUNT_PAID)
    );
}

#[tokio::test]
async fn a_payout_paid_then_failed_gives_the_coins_back_once_across_ten_redeliveries() {
    let s = service("reversal").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    // The closed test account: paid first, then the bank sends the money back.
    let (number, _) = s.sell("carlos", "1.00", TEST_ACCOUNT_CLOSED).await;
    s.until_sale(
        "the payout reversed",
        "carlos",
        number,
        SaleStatus::Reversed,
    )
    .await;
    assert_eq!(s.coins("carlos").await, before, "the 10 k came back");
    assert_eq!(s.supply().await, supply);

    // The failure delivered again, ten times at once: all answered, nothing more minted.
    let failed = s
        .sandbox
        .events()
        .into_iter()
        .find(|e| e.kind == "payout.failed")
        .expect("the failure event");
    let failed = serde_json::to_value(&failed).unwrap();
    let answers = futures::future::join_all((0..10).map(|_| s.deliver(&failed, 0))).await;
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        assert_eq!(answer["result"], "duplicate", "{answer}");
    }
    // And the old "paid" again: the failure stands.
    let paid = s
        .sandbox
        .events()
        .into_iter()
        .find(|e| e.kind == "payout.paid")
        .expect("the paid event");
    let (status, answer) = s.deliver(&serde_json::to_value(&paid).unwrap(), 0).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("ignored")),
        "{answer}"
    );
    assert_eq!(s.coins("carlos").await, before);
    assert_eq!(s.supply().await, supply);
}

#[tokio::test]
async fn a_canceled_payout_returns_the_coins() {
    let s = service_with(
        "canceled",
        Setup {
            payout_delay: Duration::from_secs(30),
            ..Setup::default()
        },
    )
    .await;
    let before = s.coins("carlos").await;
    let (number, sale) = s.sell("carlos", "2.00", TEST_ACCOUNT_PAID).await;
    assert_eq!(s.coins("carlos").await, before - 20 * K);
    // The utility cancels the pending payout at the processor.
    let processor = Processor::new(&s.sandbox.url(), API_KEY);
    let canceled = processor
        .cancel_payout(sale["payout_id"].as_str().unwrap())
        .await
        .expect("canceled");
    assert_eq!(canceled.status, "canceled");
    s.until_sale("the coins returned", "carlos", number, SaleStatus::Returned)
        .await;
    assert_eq!(s.coins("carlos").await, before);
    let carlos = s.resident("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
}

/// Sends sale `number` of carlos to the paid test account again, as the page does after a
/// lost answer.
async fn sell_again(s: &Service, number: u32) -> (StatusCode, serde_json::Value) {
    s.post(
        "/api/sell",
        json!({"resident": "carlos", "sale": number, "bank_account": TEST_ACCOUNT_PAID}),
    )
    .await
}

#[tokio::test]
async fn a_sale_sent_again_after_the_processor_forgot_its_idempotency_key_gets_no_second_payout() {
    // Stripe forgets an idempotency key after 24 hours while a bank payout may stay pending for
    // days; here the key lives 500 ms and the payout stays pending for 5 s.
    let s = service_with(
        "pruned-key",
        Setup {
            payout_delay: Duration::from_secs(5),
            idempotency_ttl: Duration::from_millis(500),
            ..Setup::default()
        },
    )
    .await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let (number, first) = s.sell("carlos", "1.00", TEST_ACCOUNT_PAID).await;
    tokio::time::sleep(Duration::from_millis(800)).await;

    let (status, again) = sell_again(&s, number).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["payout_id"], first["payout_id"],
        "the payout already made for the sale: {again}"
    );
    assert_eq!(s.sandbox.payouts().len(), 1, "one payout for one sale");
    s.until_sale("the payout paid", "carlos", number, SaleStatus::Paid)
        .await;
    assert_eq!(s.coins("carlos").await, before - 10 * K);
    assert_eq!(s.supply().await, supply - 10 * K, "burned once");
    assert_eq!(s.sandbox.payouts().len(), 1);
}

#[tokio::test]
async fn a_sale_whose_payout_answer_was_lost_is_never_returned_while_its_payout_exists() {
    let s = service_with(
        "lost-answer",
        Setup {
            payout_delay: Duration::from_secs(3),
            faults: true,
            ..Setup::default()
        },
    )
    .await;
    let faults = s.faults.as_ref().unwrap();
    // The processor makes the payout but its answer is lost; the page sends the sale again and
    // the processor refuses that request for now (another one under its key still running).
    faults.next(Method::POST, "/v1/payouts", Fault::LostAnswer);
    faults.next(Method::POST, "/v1/payouts", Fault::key_in_use());
    let before = s.coins("carlos").await;
    let supply = s.supply().await;

    let (status, lost) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.00", "bank_account": TEST_ACCOUNT_PAID}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{lost}");
    let number = s.resident("carlos").await.sale_count - 1;
    assert!(
        lost["error"]
            .as_str()
            .unwrap()
            .contains(&format!("\"sale\": {number}")),
        "{lost}"
    );
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Locked
    );
    let made = s.sandbox.payouts();
    assert_eq!(made.len(), 1, "the processor made the payout");

    let (status, again) = sell_again(&s, number).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["payout_id"], json!(made[0].id), "{again}");
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Locked,
        "the coins stay with the payout"
    );
    s.until_sale("the payout paid", "carlos", number, SaleStatus::Paid)
        .await;
    assert_eq!(
        s.coins("carlos").await,
        before - 10 * K,
        "paid once, coins not given back"
    );
    assert_eq!(s.supply().await, supply - 10 * K);
    assert_eq!(s.sandbox.payouts().len(), 1);
}

#[tokio::test]
async fn a_payout_the_processor_refuses_for_now_keeps_the_sale_locked_and_a_retry_pays_it_once() {
    let s = service_with(
        "rate-limited",
        Setup {
            faults: true,
            ..Setup::default()
        },
    )
    .await;
    let faults = s.faults.as_ref().unwrap();
    faults.next(Method::POST, "/v1/payouts", Fault::rate_limited());
    let before = s.coins("carlos").await;
    let supply = s.supply().await;

    let (status, refused) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.00", "bank_account": TEST_ACCOUNT_PAID}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    let number = s.resident("carlos").await.sale_count - 1;
    assert!(
        refused["error"].as_str().unwrap().contains("stay locked"),
        "{refused}"
    );
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Locked
    );
    assert_eq!(s.coins("carlos").await, before - 10 * K);
    assert!(s.sandbox.payouts().is_empty());

    let (status, again) = sell_again(&s, number).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    s.until_sale("the payout paid", "carlos", number, SaleStatus::Paid)
        .await;
    assert_eq!(s.coins("carlos").await, before - 10 * K);
    assert_eq!(s.supply().await, supply - 10 * K, "burned once");
    assert_eq!(s.sandbox.payouts().len(), 1);
    assert_eq!(faults.pending(), 0);
}

#[tokio::test]
async fn events_the_grid_does_not_own_are_ignored_never_retried_and_never_minted() {
    let s = service("foreign").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let processor = Processor::new(&s.sandbox.url(), API_KEY);

    // Another product sold on the same processor account, whose reference happens to be
    // "carlos"; and the same for another grid.
    for (product, metadata) in [
        (
            "t-shirt",
            BTreeMap::from([("product".to_string(), "t-shirt".to_string())]),
        ),
        (
            "other grid",
            BTreeMap::from([
                ("grid".to_string(), "hilltop".to_string()),
                ("resident".to_string(), "carlos".to_string()),
            ]),
        ),
    ] {
        let session = processor
            .create_checkout_session(
                &NewCheckoutSession {
                    amount_cents: 2_500,
                    currency: "usd".into(),
                    product_name: product.into(),
                    client_reference_id: "carlos".into(),
                    metadata,
                    success_url: format!("{}/", s.base),
                    cancel_url: format!("{}/", s.base),
                },
                &format!("foreign-{product}"),
            )
            .await
            .expect("a session");
        let paid = s
            .pay(session.url.as_deref().unwrap(), "4242 4242 4242 4242")
            .await;
        assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    }
    // A payout the processor makes on its own: no metadata.
    processor
        .create_payout(
            &NewPayout {
                amount_cents: 10_000,
                currency: "usd".into(),
                destination: Some(TEST_ACCOUNT_PAID.into()),
                description: "automatic payout".into(),
                metadata: BTreeMap::new(),
            },
            "automatic-1",
        )
        .await
        .expect("a payout");

    // Two checkouts completed, the payout created and paid: four events, each answered 2xx
    // on its first delivery.
    s.until("four deliveries", || async {
        s.sandbox.deliveries().len() >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let deliveries = s.sandbox.deliveries();
    assert_eq!(deliveries.len(), 4, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d.succeeded && d.attempt == 1),
        "{deliveries:?}"
    );
    let log = s.deliveries().await;
    assert!(log.iter().all(|d| d["result"] == "ignored"), "{log:?}");
    assert_eq!(s.coins("carlos").await, before);
    assert_eq!(s.supply().await, supply);
}

#[tokio::test]
async fn a_purchase_beyond_the_oracles_mint_window_waits_with_503_then_mints_once_it_frees() {
    let s = service("mint-window").await;
    // The utility caps the oracle at 100 k an hour.
    let utility = s.utility();
    let args = UpdateGridArgs {
        mint_limit_units: Some(100 * K),
        mint_window_seconds: Some(3_600),
        ..Default::default()
    };
    utility
        .send(
            &[instructions::update_grid(&utility.payer(), &s.grid, args)],
            &[],
        )
        .await
        .unwrap();
    let before = s.coins("carlos").await;
    // $6 (60 k) fits.
    let (status, answer) = s
        .deliver(
            &checkout_event("evt_window000000000000000001", "carlos", 600),
            0,
        )
        .await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("applied"))
    );
    // $5 more (50 k) does not: the card is paid, the webhook answers 503 and the sandbox retries.
    let (status, order) = s
        .post("/api/buy", json!({"resident": "carlos", "usd": "5"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    s.pay(order["checkout_url"].as_str().unwrap(), "4242424242424242")
        .await;
    s.until("two deliveries held back", || async {
        s.sandbox
            .deliveries()
            .iter()
            .filter(|d| d.status == Some(503))
            .count()
            >= 2
    })
    .await;
    assert_eq!(s.coins("carlos").await, before + 60 * K);
    let grid = s.chain.grid(GRID).await.unwrap().1;
    let now = s.chain.cluster_time().await.unwrap();
    assert!(grid.mint_budget_at(now) < 50 * K);

    // A quarter of an hour later 25 k more are free: the next retry mints the 50 k, once.
    s.chain.advance_clock(900).await.unwrap();
    s.until("the retried delivery", || async {
        s.sandbox
            .deliveries()
            .iter()
            .any(|d| d.succeeded && d.attempt > 1)
    })
    .await;
    assert_eq!(s.coins("carlos").await, before + 110 * K);
    let log = s.deliveries().await;
    assert!(
        log.iter()
            .any(|d| d["result"] == "retry" && d["detail"].as_str().unwrap().contains("mint limit")),
        "{log:?}"
    );
}

#[tokio::test]
async fn receipts_and_ended_sales_give_their_rent_back_after_the_retention_and_old_payments_stay_refused(
) {
    let s = service("retention").await;
    let event = checkout_event("evt_retention0000000000001", "danny", 300);
    let (status, _) = s.deliver(&event, 0).await;
    assert_eq!(status, StatusCode::OK);
    let (number, _) = s.sell("danny", "1.00", TEST_ACCOUNT_PAID).await;
    s.until_sale("the sale paid", "danny", number, SaleStatus::Paid)
        .await;
    let grid = s.chain.grid(GRID).await.unwrap().1;
    let receipts = s.chain.grid_accounts::<Receipt>(&s.grid).await.unwrap();
    assert!(receipts.len() >= 2, "the demo's purchases and this one");
    let oracle = s.keys.utility.pubkey();
    let oracle_before = s.chain.lamports(&oracle).await.unwrap();

    // Before the retention ends nothing closes.
    let crank = s.wallet("angel"); // anyone may close them
    assert_eq!(crank.close_expired(&s.grid).await.unwrap(), (0, 0));
    // Past it, every receipt and the ended sale close; the rent goes back to who paid it.
    let retention = grid.oracle_limits.receipt_retention_seconds as i64;
    s.chain.advance_clock(retention + 3_600).await.unwrap();
    let (closed_receipts, closed_sales) = crank.close_expired(&s.grid).await.unwrap();
    assert_eq!((closed_receipts, closed_sales), (receipts.len(), 1));
    assert!(s
        .chain
        .grid_accounts::<Receipt>(&s.grid)
        .await
        .unwrap()
        .is_empty());
    assert!(s.sale("danny", number).await.is_none());
    assert!(
        s.chain.lamports(&oracle).await.unwrap() > oracle_before,
        "the oracle got its receipts' rent back"
    );

    // The old purchase delivered again (a resend from the processor's dashboard): never minted
    // twice, answered 2xx so it is not retried.
    let danny = s.coins("danny").await;
    let (status, answer) = s.deliver(&event, 0).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("ignored")),
        "{answer}"
    );
    assert_eq!(s.coins("danny").await, danny);
}
