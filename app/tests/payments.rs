//! The payment service against a real local cluster, the real sandbox processor over HTTP and
//! the demo community: buying through the hosted checkout, selling by transfer to the
//! resident's connected account, and the webhook refusing forged, stale, altered, impossible
//! or other-mode deliveries with nothing changed, applying replays once, and answering 5xx
//! while the chain is down so the processor's retry lands later, once.

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
    assert!(s.sandbox.checkout_sessions()[0].payment_intent.is_none());

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
    let completed = || {
        s.sandbox
            .events()
            .into_iter()
            .filter(|e| e.kind == "checkout.session.completed")
            .count()
    };
    assert_eq!(completed(), 1);
    let payment = s.sandbox.checkout_sessions()[0]
        .payment_intent
        .clone()
        .expect("a paid session names its PaymentIntent");
    let receipt = s
        .receipt(&payment)
        .await
        .expect("the PaymentIntent is the payment id");
    assert_eq!((receipt.amount_cents, receipt.coin_units), (500, bought));

    // Paying the same session again sends nothing and mints nothing.
    let again = s.pay(&url, "4242 4242 4242 4242").await;
    assert!(again.text().await.unwrap().contains("already"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(completed(), 1);
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
    assert!(s
        .receipt(&payment_of("evt_forged0000000000000001"))
        .await
        .is_none());
    // The six that carry no valid signature are counted, not kept (anyone can send them);
    // the signed one that is not an event is kept with its answer.
    let log = s.deliveries().await;
    assert_eq!(
        log.len(),
        1,
        "only the authenticated delivery is kept: {log:?}"
    );
    assert_eq!(s.unauthenticated_deliveries().await, 6);
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
    // Carlos has signed a sale of 10 k that nobody has locked for a transfer yet.
    s.get_paid("carlos").await;
    let requested = s.sign_sale("carlos", 10_000_000).await;
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
            "a transfer of ours that names no sale",
            transfer_event(
                "transfer.created",
                "tr_nosale00000000000000001",
                "carlos",
                100,
                None,
            ),
        ),
        (
            "a transfer for a sale nobody locked",
            transfer_event(
                "transfer.created",
                "tr_notlocked000000000000001",
                "carlos",
                100,
                Some(&requested_sale),
            ),
        ),
        (
            "a reversal for a sale nobody locked",
            transfer_event(
                "transfer.reversed",
                "tr_notlocked000000000000002",
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
    // A paid checkout that names no PaymentIntent: a refund could never find its coins.
    let mut no_intent = checkout_event("evt_nointent00000000000000001", "carlos", 500);
    no_intent["data"]["object"]["payment_intent"] = Value::Null;
    let (status, answer) = s.deliver(&no_intent, 0).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");

    // A sale locked for $1.00: the processor cannot claim it transferred a different amount.
    let price = s.price_cents().await;
    let number = s
        .sign_sale("carlos", fiat::quote_sell_units(100, price).unwrap())
        .await;
    let sale_address = s.sale_address("carlos", number).await;
    let locked = fiat::quote_sell_units(100, price).unwrap();
    let utility = s.utility();
    let lock = energy_utility_sdk::instructions::lock_withdrawal(
        &utility.payer(),
        &s.grid,
        &energy_utility_sdk::pda::resident(&s.grid, "carlos"),
        &sale_address,
        100,
    );
    utility.send(&[lock], &[]).await.unwrap();
    assert_eq!(s.resident("carlos").await.locked_units, locked);
    let (status, answer) = s
        .deliver(
            &transfer_event(
                "transfer.created",
                "tr_toomuch000000000000000001",
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

    // The real transfer goes through; nothing else moved any coin.
    let (status, sent) = s
        .post("/api/sell", json!({"resident": "carlos", "sale": number}))
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    s.until("the transfer burned", || async {
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
        let id = event["id"].as_str().unwrap();
        assert!(s.receipt(&payment_of(id)).await.is_none());
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
    let net = start(LocalnetConfig::new(s.ledger.clone(), false, s.rpc))
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
    let completed = s
        .sandbox
        .events()
        .into_iter()
        .find(|e| e.kind == "checkout.session.completed")
        .unwrap();
    let event = serde_json::to_value(&completed).unwrap();
    let (status, answer) = s.deliver(&event, 0).await;
    assert_eq!(
        (status, answer["result"].clone()),
        (StatusCode::OK, json!("duplicate"))
    );
    assert_eq!(s.coins("carlos").await, before + bought);
}

#[tokio::test]
async fn selling_transfers_to_the_residents_connected_account_and_burns_once() {
    let s = service("sell").await;
    let price = s.price_cents().await;
    let before = s.coins("carlos").await;
    let supply = s.supply().await;
    let sold = fiat::quote_sell_units(150, price).unwrap();

    // No payout account bound yet: the sale is refused by the program, nothing set aside.
    let (status, refused) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.50"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("payout account"),
        "{refused}"
    );
    assert_eq!(s.coins("carlos").await, before);

    let account = s.get_paid("carlos").await;
    let (status, sale) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.50"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert_eq!(sale["usd"], "1.50");
    assert_eq!(sale["destination"], json!(account));
    assert_eq!(sale["recorded"], true, "burned at once: {sale}");
    let number = sale["sale"].as_u64().unwrap() as u32;
    let transfer_id = sale["transfer_id"].as_str().unwrap().to_string();
    assert_eq!(s.supply().await, supply - sold);
    assert_eq!(s.coins("carlos").await, before - sold);
    let carlos = s.resident("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
    let paid = s.sale("carlos", number).await.unwrap();
    assert_eq!(paid.status, energy_utility_sdk::accounts::SaleStatus::Paid);
    assert_eq!((paid.units, paid.cents), (sold, 150));
    assert_eq!(paid.payout_id, transfer_id);
    assert_eq!(paid.destination, account);
    let transfers = s.sandbox.transfers();
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0].destination.as_deref(), Some(account.as_str()));
    assert_eq!(transfers[0].amount, 150);
    assert_eq!(
        transfers[0].metadata.get("sale").map(String::as_str),
        Some(s.sale_address("carlos", number).await.to_string().as_str())
    );
    // The sale and the processor's transfer.created both record it: whichever comes second
    // finds it done.
    s.until("the transfer's delivery", || async {
        s.deliveries()
            .await
            .iter()
            .any(|d| d["event_type"] == "transfer.created")
    })
    .await;
    let delivered = s.deliveries().await;
    let results: Vec<&Value> = delivered
        .iter()
        .filter(|d| d["event_type"] == "transfer.created")
        .map(|d| &d["result"])
        .collect();
    assert!(
        results == [&json!("duplicate")] || results == [&json!("applied")],
        "{delivered:?}"
    );
    assert_eq!(s.supply().await, supply - sold, "burned once");

    // Sending the same sale again creates no second transfer.
    let (status, again) = s
        .post("/api/sell", json!({"resident": "carlos", "sale": number}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(
        again["error"].as_str().unwrap().contains("ended"),
        "{again}"
    );
    assert_eq!(s.sandbox.transfers().len(), 1);

    // Refused before anything is locked: more than Carlos has.
    let (status, _) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "9999"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let carlos = s.resident("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
    assert_eq!(s.coins("carlos").await, before - sold);
    assert_eq!(s.sandbox.transfers().len(), 1);
}

#[tokio::test]
async fn a_transfer_the_processor_refuses_gives_the_coins_back_at_once() {
    let s = service_with(
        "refused-transfer",
        Setup {
            faults: true,
            ..Setup::default()
        },
    )
    .await;
    s.get_paid("carlos").await;
    let before = s.coins("carlos").await;
    // The connected account lost its transfers capability (the processor's own refusal).
    s.faults.as_ref().unwrap().next(
        reqwest::Method::POST,
        "/v1/transfers",
        common::faults::Fault::Refuse(
            400,
            json!({"error": {"type": "invalid_request_error", "code": "insufficient_capabilities_for_transfer",
                "message": "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments"}}),
        ),
    );
    let (status, refused) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.00"}))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("were returned"),
        "{refused}"
    );
    let number = s.resident("carlos").await.sale_count - 1;
    assert_eq!(
        s.sale("carlos", number).await.unwrap().status,
        energy_utility_sdk::accounts::SaleStatus::Returned
    );
    assert_eq!(s.coins("carlos").await, before);
    assert!(s.sandbox.transfers().is_empty());
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
