//! Money nobody can steal or strand, over HTTP against the real sandbox processor and a real
//! local cluster: a sale is the seller's signed act, paid only to the connected account they
//! bound on chain (never to one a request or a link names); every transfer ends once, made,
//! refused or reversed; events that are not the grid's are ignored; the oracle's mint budget
//! holds a purchase back until its window frees; receipts give their rent back after the
//! retention window and old payments stay refused.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::faults::Fault;
use common::*;
use energy_utility_payments::client::{NewAccount, NewCheckoutSession, NewTransfer, Processor};
use energy_utility_sdk::accounts::{Receipt, SaleStatus};
use energy_utility_sdk::instructions;
use energy_utility_sdk::program::instructions::UpdateGridArgs;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
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
    // Carlos binds his connected account and signs a sale of 10 k with his own wallet.
    s.get_paid("carlos").await;
    let number = s.sign_sale("carlos", 10 * K).await;
    let carlos = s.resident("carlos").await;
    let coins = s.coins("carlos").await;
    let oracle_lamports = s.chain.lamports(&s.keys.utility.pubkey()).await.unwrap();

    // A stranger asks the server to sell Carlos's coins: no sale of Carlos's says so, and the
    // server holds no key to sign one.
    let (status, answer) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.00"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("deu withdraw request"),
        "{answer}"
    );
    // A sale number Carlos never signed.
    let (status, answer) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "sale": number + 1}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");

    // Nothing changed: no lock, no transfer, not a lamport of the oracle's.
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
    assert!(s.sandbox.transfers().is_empty());
    assert_eq!(
        s.chain.lamports(&s.keys.utility.pubkey()).await.unwrap(),
        oracle_lamports
    );
}

#[tokio::test]
async fn a_sale_pays_only_the_account_bound_on_chain_never_one_a_request_or_a_link_names() {
    let s = service_with("destination", serve_mode()).await;
    let account = s.get_paid("carlos").await;
    let danny = s.get_paid("danny").await;
    let wallet = s.keys.resident("carlos").unwrap().pubkey().to_string();

    // The phishing link: Carlos's wallet is asked to sign a sale "to" someone else's account.
    // Refused before anything is built: no transaction, whatever the link says.
    for to in [danny.as_str(), "000111111116"] {
        let link = format!("/api/pay/sell?from=carlos&amount_k=10&to={to}");
        let (status, answer) = s.post(&link, json!({"account": wallet})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["transaction"].is_null(), "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("a link cannot choose"),
            "{answer}"
        );
    }
    // The same link without `to` names the account Carlos bound, with its bank from the
    // processor.
    let (status, unsigned) = s
        .post(
            "/api/pay/sell?from=carlos&amount_k=10",
            json!({"account": wallet}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unsigned}");
    let message = unsigned["message"].as_str().unwrap();
    assert!(message.contains(&account), "{message}");
    assert!(message.contains("••6789"), "{message}");
    // Binding someone else's connected account is refused too: it was not opened for Carlos.
    let bind = format!("/api/pay/payout-account?from=carlos&account={danny}");
    let (status, answer) = s.post(&bind, json!({"account": wallet})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

    let number = s.sign_sale("carlos", 10 * K).await;
    let before = s.sale("carlos", number).await.unwrap();
    assert_eq!(before.destination, account);
    // Someone who knows the sale's number sends its dollars elsewhere: refused, nothing changed.
    for body in [
        json!({"resident": "carlos", "sale": number, "to": danny}),
        json!({"resident": "carlos", "sale": number, "bank_account": "000123456789"}),
    ] {
        let (status, answer) = s.post("/api/sell", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
    let after = s.sale("carlos", number).await.unwrap();
    assert_eq!(after.status, SaleStatus::Requested);
    assert!(s.sandbox.transfers().is_empty());

    // Carlos's own sale is paid, to the account he bound.
    let (status, sale) = s
        .post("/api/sell", json!({"resident": "carlos", "sale": number}))
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert_eq!(sale["usd"], "1.00");
    s.until_sale("the transfer made", "carlos", number, SaleStatus::Paid)
        .await;
    assert_eq!(
        s.sandbox.transfers()[0].destination.as_deref(),
        Some(account.as_str())
    );
}

#[tokio::test]
async fn a_transfer_reversed_gives_the_coins_back_once_across_ten_redeliveries() {
    let s = service("reversal").await;
    s.get_paid("carlos").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let (number, sale) = s.sell("carlos", "1.00").await;
    let transfer = sale["transfer_id"].as_str().unwrap().to_string();
    assert_eq!(s.coins("carlos").await, before - 10 * K);
    let processor = Processor::new(&s.sandbox.url(), API_KEY);

    // Part of it taken back: noted, the sale stands (its coins return only whole).
    processor
        .reverse_transfer(&transfer, Some(40), "reverse-part")
        .await
        .expect("a partial reversal");
    s.until("the partial reversal noted", || async {
        s.deliveries().await.iter().any(|d| {
            d["event_type"] == "transfer.reversed"
                && d["result"] == "ignored"
                && d["detail"].as_str().unwrap().contains("$0.40 of $1.00")
        })
    })
    .await;
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Paid
    );
    // The rest: the whole transfer is reversed and the coins come back.
    processor
        .reverse_transfer(&transfer, None, "reverse-rest")
        .await
        .expect("the rest reversed");
    s.until_sale(
        "the transfer reversed",
        "carlos",
        number,
        SaleStatus::Reversed,
    )
    .await;
    assert_eq!(s.coins("carlos").await, before, "the 10 k came back");
    assert_eq!(s.supply().await, supply);

    // The reversal delivered again, ten times at once: all answered, nothing more minted.
    let reversed = s
        .sandbox
        .events()
        .into_iter()
        .rfind(|e| e.kind == "transfer.reversed")
        .expect("the reversal event");
    let reversed = serde_json::to_value(&reversed).unwrap();
    let answers = futures::future::join_all((0..10).map(|_| s.deliver(&reversed, 0))).await;
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        assert_eq!(answer["result"], "duplicate", "{answer}");
    }
    // And the old "created" again: the reversal stands.
    let created = s
        .sandbox
        .events()
        .into_iter()
        .find(|e| e.kind == "transfer.created")
        .expect("the created event");
    let (status, answer) = s.deliver(&serde_json::to_value(&created).unwrap(), 0).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("ignored")),
        "{answer}"
    );
    assert_eq!(s.coins("carlos").await, before);
    assert_eq!(s.supply().await, supply);
}

/// Sends sale `number` of carlos again, as the page does after a lost answer.
async fn sell_again(s: &Service, number: u32) -> (StatusCode, Value) {
    s.post("/api/sell", json!({"resident": "carlos", "sale": number}))
        .await
}

#[tokio::test]
async fn a_sale_whose_transfer_answer_was_lost_gets_no_second_transfer_after_the_key_is_forgotten()
{
    // Stripe forgets an idempotency key after 24 hours; here after 500 ms. The transfer's
    // answer is lost and its event never arrives (no webhook): the sale stays locked until it
    // is sent again, and the transfer is found by the sale it names.
    let s = service_with(
        "lost-answer",
        Setup {
            faults: true,
            webhooks: false,
            idempotency_ttl: Duration::from_millis(500),
            ..Setup::default()
        },
    )
    .await;
    s.get_paid("carlos").await;
    let faults = s.faults.as_ref().unwrap();
    faults.next(Method::POST, "/v1/transfers", Fault::LostAnswer);
    let before = s.coins("carlos").await;
    let supply = s.supply().await;

    let (status, lost) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.00"}))
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
    let made = s.sandbox.transfers();
    assert_eq!(made.len(), 1, "the processor made the transfer");
    tokio::time::sleep(Duration::from_millis(800)).await;

    // A retry the processor refuses for now (another request under the key still running):
    // the coins stay locked with the transfer.
    faults.next(Method::POST, "/v1/transfers", Fault::key_in_use());
    let (status, again) = sell_again(&s, number).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["transfer_id"], json!(made[0].id), "{again}");
    assert_eq!(s.sandbox.transfers().len(), 1, "one transfer for one sale");
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        SaleStatus::Paid
    );
    assert_eq!(s.coins("carlos").await, before - 10 * K);
    assert_eq!(s.supply().await, supply - 10 * K, "burned once");
    // Sent once more: it has ended.
    let (status, ended) = sell_again(&s, number).await;
    assert_eq!(status, StatusCode::CONFLICT, "{ended}");
    assert_eq!(s.sandbox.transfers().len(), 1);
}

#[tokio::test]
async fn a_transfer_the_processor_refuses_for_now_keeps_the_sale_locked_and_a_retry_pays_it_once() {
    let s = service_with(
        "rate-limited",
        Setup {
            faults: true,
            ..Setup::default()
        },
    )
    .await;
    s.get_paid("carlos").await;
    let faults = s.faults.as_ref().unwrap();
    faults.next(Method::POST, "/v1/transfers", Fault::rate_limited());
    let before = s.coins("carlos").await;
    let supply = s.supply().await;

    let (status, refused) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.00"}))
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
    assert!(s.sandbox.transfers().is_empty());

    let (status, again) = sell_again(&s, number).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    s.until_sale("the transfer made", "carlos", number, SaleStatus::Paid)
        .await;
    assert_eq!(s.coins("carlos").await, before - 10 * K);
    assert_eq!(s.supply().await, supply - 10 * K, "burned once");
    assert_eq!(s.sandbox.transfers().len(), 1);
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
    // Another product's connected account, onboarded, and a transfer to it: no grid in
    // their metadata.
    let account = processor
        .create_account(
            &NewAccount {
                country: "US".into(),
                email: None,
                metadata: BTreeMap::from([("product".to_string(), "marketplace".to_string())]),
            },
            "foreign-account",
        )
        .await
        .expect("an account");
    let link = processor
        .create_account_link(
            &account.id,
            &format!("{}/", s.base),
            &format!("{}/", s.base),
        )
        .await
        .expect("a link");
    s.complete_onboarding(&link.url).await;
    processor
        .create_transfer(
            &NewTransfer {
                amount_cents: 10_000,
                currency: "usd".into(),
                destination: account.id.clone(),
                description: "a marketplace sale".into(),
                metadata: BTreeMap::new(),
            },
            "foreign-transfer",
        )
        .await
        .expect("a transfer");

    // Every event (two checkouts, the account, the transfer, and whatever else the processor
    // says about them) answered 2xx on its first delivery.
    s.until("the transfer's delivery", || async {
        s.sandbox
            .deliveries()
            .iter()
            .any(|d| d.event_type == "transfer.created")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let deliveries = s.sandbox.deliveries();
    for kind in [
        "checkout.session.completed",
        "account.updated",
        "transfer.created",
    ] {
        assert!(
            deliveries.iter().any(|d| d.event_type == kind),
            "{kind}: {deliveries:?}"
        );
    }
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
    s.get_paid("danny").await;
    let (number, _) = s.sell("danny", "1.00").await;
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
