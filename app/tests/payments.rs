//! The payment service against a real local cluster, the real sandbox processor over HTTP and
//! the demo community: buying through the hosted checkout, selling through payouts, and the
//! webhook refusing forged, stale, altered or impossible deliveries with nothing changed,
//! applying replays once, and answering 5xx while the chain is down so the processor's retry
//! lands later, once.

mod common;

use std::time::Duration;

use common::*;
use energy_utility_localnet::{start, LocalnetConfig};
use energy_utility_payments::signature;
use energy_utility_sdk::fiat;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn buying_through_the_sandbox_checkout_mints_once_after_a_declined_card() {
    let s = service("buy").await;
    let price = s.price_cents().await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;

    let (status, order) = s
        .post("/api/buy", json!({"resident": "carlos", "usd": "5"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["test_mode"], true);
    let url = order["checkout_url"]
        .as_str()
        .expect("a checkout url")
        .to_string();
    assert!(url.starts_with(&s.sandbox.url()), "{url}");
    let page = s.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        page.contains("TEST MODE") && page.contains("5.00"),
        "{page}"
    );

    // Declined: the page says so and no event is sent.
    let declined = s.pay(&url, "4000 0000 0000 0002").await;
    assert_eq!(declined.status(), StatusCode::OK);
    assert!(declined.text().await.unwrap().contains("declined"));
    assert!(s.sandbox.events().is_empty());

    // Paid: back to the resident page, and the webhook mints the coins.
    let paid = s.pay(&url, "4242 4242 4242 4242").await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&format!(
            "{}/resident.html?id=carlos&checkout=cs_test_",
            s.base
        )),
        "{back}"
    );
    let bought = fiat::quote_buy(500, price).unwrap();
    s.until("the minted coins", || async {
        s.coins("carlos").await == before + bought
    })
    .await;
    assert_eq!(s.supply().await, supply + bought);
    let events = s.sandbox.events();
    assert_eq!(events.len(), 1);
    let receipt = s
        .receipt(&events[0].id)
        .await
        .expect("the event id is the payment id");
    assert_eq!((receipt.amount_cents, receipt.coin_units), (500, bought));

    // Paying the same session again sends nothing and mints nothing.
    let again = s.pay(&url, "4242 4242 4242 4242").await;
    assert!(again.text().await.unwrap().contains("already"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.sandbox.events().len(), 1);
    assert_eq!(s.coins("carlos").await, before + bought);
    let log = s.deliveries().await;
    assert_eq!(
        log.iter().filter(|d| d["result"] == "applied").count(),
        1,
        "{log:?}"
    );
}

#[tokio::test]
async fn forged_stale_altered_and_malformed_deliveries_get_4xx_and_change_nothing() {
    let s = service("forged").await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let event = checkout_event("evt_forged0000000000000001", "carlos", 10_000);
    let body = serde_json::to_vec(&event).unwrap();

    let wrong_secret = signature::sign("whsec_guessed", now(), &body);
    let (status, answer) = s.deliver_raw(body.clone(), Some(wrong_secret)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["result"], "rejected");

    // Six minutes old: outside the five-minute tolerance, though correctly signed.
    let (status, answer) = s.deliver(&event, 360).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // From the future, just as far.
    let (status, _) = s.deliver(&event, -360).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Signed, then the amount changed on the way.
    let header = signature::sign(&s.secret, now(), &body);
    let altered = String::from_utf8(body.clone())
        .unwrap()
        .replace("10000", "99999");
    assert_ne!(altered.as_bytes(), body.as_slice());
    let (status, _) = s.deliver_raw(altered.into_bytes(), Some(header)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // No header, a garbled header, a signed body that is not an event.
    let (status, _) = s.deliver_raw(body.clone(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .deliver_raw(body.clone(), Some("t=abc,v1=zz".into()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let junk = b"{\"not\": \"an event\"}".to_vec();
    let header = signature::sign(&s.secret, now(), &junk);
    let (status, _) = s.deliver_raw(junk, Some(header)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert_eq!(s.coins("carlos").await, before);
    assert_eq!(s.supply().await, supply);
    assert!(s.receipt("evt_forged0000000000000001").await.is_none());
    let log = s.deliveries().await;
    assert_eq!(log.len(), 7, "every delivery is logged");
    assert!(
        log.iter()
            .all(|d| d["result"] == "rejected" && d["status"] == 400),
        "{log:?}"
    );

    // The genuine delivery still works afterwards.
    let (status, answer) = s.deliver(&event, 0).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["result"], "applied");
}

#[tokio::test]
async fn impossible_payments_are_refused_with_4xx_and_change_nothing() {
    let s = service("impossible").await;
    let supply = s.supply().await;
    let carlos = s.coins("carlos").await;
    // Carlos has signed a sale of 10 k that nobody has locked for a payout yet.
    let requested = s.sign_sale("carlos", 10_000_000, "000123456789").await;
    let requested_sale = s.sale_address("carlos", requested).await;

    let cases = [
        (
            "unknown resident",
            checkout_event("evt_nobody00000000000000001", "nobody", 500),
        ),
        (
            "negative buy",
            checkout_event("evt_negative000000000000001", "carlos", -500),
        ),
        (
            "zero buy",
            checkout_event("evt_zero00000000000000000001", "carlos", 0),
        ),
        (
            "a payout of ours that names no sale",
            payout_event(
                "payout.paid",
                "po_nosale00000000000000001",
                "carlos",
                100,
                None,
            ),
        ),
        (
            "a payout for a sale nobody locked",
            payout_event(
                "payout.paid",
                "po_notlocked000000000000001",
                "carlos",
                100,
                Some(&requested_sale),
            ),
        ),
        (
            "a failure for a sale nobody locked",
            payout_event(
                "payout.failed",
                "po_notlocked000000000000002",
                "carlos",
                100,
                Some(&requested_sale),
            ),
        ),
    ];
    for (what, event) in &cases {
        let (status, answer) = s.deliver(event, 0).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {answer}");
        assert_eq!(answer["result"], "rejected", "{what}");
    }
    let mut euros = checkout_event("evt_euros0000000000000000001", "carlos", 500);
    euros["data"]["object"]["currency"] = json!("eur");
    let (status, _) = s.deliver(&euros, 0).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A sale locked for $1.00: the processor cannot claim it paid a different amount.
    let price = s.price_cents().await;
    let (status, sale) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.00", "bank_account": "000123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    let locked = fiat::quote_sell_units(100, price).unwrap();
    assert_eq!(s.resident("carlos").await.locked_units, locked);
    let number = sale["sale"].as_u64().unwrap() as u32;
    let sale_address = s.sale_address("carlos", number).await;
    let (status, answer) = s
        .deliver(
            &payout_event(
                "payout.paid",
                "po_toomuch000000000000000001",
                "carlos",
                101,
                Some(&sale_address),
            ),
            0,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["detail"].as_str().unwrap().contains("$1.01"),
        "{answer}"
    );

    // The real payout goes through; nothing else moved any coin.
    s.until("the payout burned", || async {
        s.resident("carlos").await.locked_units == 0
    })
    .await;
    assert_eq!(s.supply().await, supply - locked);
    assert_eq!(s.coins("carlos").await, carlos - locked - 10_000_000);
    let still = s.sale("carlos", requested).await.unwrap();
    assert_eq!(
        still.status,
        energy_utility_sdk::accounts::SaleStatus::Requested
    );
    for (_, event) in &cases {
        assert!(s.receipt(event["id"].as_str().unwrap()).await.is_none());
    }
}

#[tokio::test]
async fn the_same_event_delivered_ten_times_at_once_mints_once() {
    let s = service("replay").await;
    let price = s.price_cents().await;
    let before = s.coins("danny").await;
    let supply = s.supply().await;
    let event = checkout_event("evt_replay000000000000000001", "danny", 300);
    let deliveries = (0..10).map(|_| s.deliver(&event, 0));
    let answers = futures::future::join_all(deliveries).await;
    for (status, answer) in &answers {
        assert_eq!(*status, StatusCode::OK, "{answer}");
    }
    let applied = answers
        .iter()
        .filter(|(_, a)| a["result"] == "applied")
        .count();
    let duplicates = answers
        .iter()
        .filter(|(_, a)| a["result"] == "duplicate")
        .count();
    assert_eq!((applied, duplicates), (1, 9), "{answers:?}");
    let bought = fiat::quote_buy(300, price).unwrap();
    assert_eq!(s.coins("danny").await, before + bought);
    assert_eq!(s.supply().await, supply + bought);
    // And again later, one by one.
    let (status, answer) = s.deliver(&event, 0).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("duplicate"))
    );
    assert_eq!(s.coins("danny").await, before + bought);
}

#[tokio::test]
async fn a_chain_outage_answers_5xx_and_the_processors_retry_mints_once() {
    let mut s = service("outage").await;
    let price = s.price_cents().await;
    let before = s.coins("carlos").await;
    let (status, order) = s
        .post("/api/buy", json!({"resident": "carlos", "usd": "2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let url = order["checkout_url"].as_str().unwrap().to_string();

    // The chain goes down just before the card is paid.
    s.net.take().unwrap().shutdown().await.unwrap();
    let paid = s.pay(&url, "4242424242424242").await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    s.until("two failed deliveries", || async {
        s.sandbox
            .deliveries()
            .iter()
            .filter(|d| d.status == Some(503))
            .count()
            >= 2
    })
    .await;
    assert!(s.sandbox.deliveries().iter().all(|d| !d.succeeded));

    // The chain comes back with its ledger; the next retry mints, once.
    let net = start(LocalnetConfig {
        ledger: s.ledger.clone(),
        reset: false,
        bind: s.rpc,
    })
    .await
    .expect("restart the cluster");
    s.net = Some(net);
    s.until("the retried delivery", || async {
        s.sandbox.deliveries().iter().any(|d| d.succeeded)
    })
    .await;
    let bought = fiat::quote_buy(200, price).unwrap();
    assert_eq!(s.coins("carlos").await, before + bought);
    let log = s.deliveries().await;
    let results: Vec<&str> = log
        .iter()
        .rev()
        .map(|d| d["result"].as_str().unwrap())
        .collect();
    assert!(results.len() >= 3, "{results:?}");
    assert!(
        results[..results.len() - 1].iter().all(|r| *r == "retry"),
        "{results:?}"
    );
    assert_eq!(results.last(), Some(&"applied"));
    assert!(log
        .iter()
        .filter(|d| d["result"] == "retry")
        .all(|d| d["status"] == 503));
    // The processor's later redelivery of the same event changes nothing.
    let event = serde_json::to_value(&s.sandbox.events()[0]).unwrap();
    let (status, answer) = s.deliver(&event, 0).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("duplicate"))
    );
    assert_eq!(s.coins("carlos").await, before + bought);
}

#[tokio::test]
async fn selling_pays_out_and_burns_and_a_failed_payout_returns_the_coins() {
    let s = service("sell").await;
    let price = s.price_cents().await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let sold = fiat::quote_sell_units(150, price).unwrap();

    let (status, sale) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.50", "bank_account": "000123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert_eq!(sale["status"], "pending");
    assert_eq!(sale["usd"], "1.50");
    let number = sale["sale"].as_u64().unwrap() as u32;
    let payout_id = sale["payout_id"].as_str().unwrap().to_string();
    s.until("the paid payout burned", || async {
        s.supply().await == supply - sold
    })
    .await;
    assert_eq!(s.coins("carlos").await, before - sold);
    let carlos = s.resident("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
    let paid = s.sale("carlos", number).await.unwrap();
    assert_eq!(paid.status, energy_utility_sdk::accounts::SaleStatus::Paid);
    assert_eq!((paid.units, paid.cents), (sold, 150));
    assert_eq!(paid.payout_id, payout_id);

    // Sending the same sale again creates no second payout.
    let (status, again) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "sale": number, "bank_account": "000123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(
        again["error"].as_str().unwrap().contains("ended"),
        "{again}"
    );
    assert_eq!(s.sandbox.payouts().len(), 1);
    // Nor can it be sent to another bank account.
    let (status, other) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "sale": number, "bank_account": "000111111116"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{other}");
    assert_eq!(s.sandbox.payouts().len(), 1);

    // A bank account that cannot be paid: the payout fails and the coins come back.
    let (status, failing) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.00", "bank_account": "000111111116"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{failing}");
    let failing_sale = failing["sale"].as_u64().unwrap() as u32;
    s.until("the failed payout's coins returned", || async {
        s.resident("carlos").await.locked_units == 0
    })
    .await;
    assert_eq!(s.coins("carlos").await, before - sold);
    assert_eq!(s.supply().await, supply - sold);
    assert_eq!(
        s.sale("carlos", failing_sale).await.unwrap().status,
        energy_utility_sdk::accounts::SaleStatus::Returned
    );

    // Refused before anything is locked: too much, a bad account number; an account the
    // processor does not know gives the coins back at once.
    let (status, _) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "9999", "bank_account": "000123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1", "bank_account": "12ab"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, refused) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1", "bank_account": "999999999"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("returned"),
        "{refused}"
    );
    let carlos = s.resident("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
    assert_eq!(s.coins("carlos").await, before - sold);
}

#[tokio::test]
async fn buy_orders_are_checked_before_the_processor_is_asked() {
    let s = service("orders").await;
    for (body, expected) in [
        (
            json!({"resident": "carlos", "usd": "0.10"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"resident": "carlos", "usd": "-5"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"resident": "carlos", "usd": "abc"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"resident": "carlos", "usd": "20000"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"resident": "nobody", "usd": "5"}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"usd": "5"}), StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) = s.post("/api/buy", body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    assert!(s.sandbox.checkout_sessions().is_empty());
    let status: Value = s
        .http
        .get(format!("{}/api/payments", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["configured"], true);
    assert_eq!(status["test_mode"], true);
}
