//! The payment service against a real local cluster, the real sandbox processor over HTTP and
//! the demo community: buying through the hosted checkout, selling through payouts, and the
//! webhook refusing forged, stale, altered or impossible deliveries with nothing changed,
//! applying replays once, and answering 5xx while the chain is down so the processor's retry
//! lands later, once.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::Mint;
use energy_utility::state::Receipt;
use energy_utility_app::payments::{PaymentsConfig, WEBHOOK_PATH};
use energy_utility_app::{demo, App, Payments};
use energy_utility_localnet::{start, Localnet, LocalnetConfig};
use energy_utility_payments::sandbox::{self, Sandbox, SandboxConfig};
use energy_utility_payments::signature;
use energy_utility_sdk::accounts::Resident;
use energy_utility_sdk::{pda, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;

const GRID: &str = "demo";
const API_KEY: &str = "sk_test_payments";

struct Service {
    net: Option<Localnet>,
    ledger: PathBuf,
    rpc: SocketAddr,
    base: String,
    http: reqwest::Client,
    sandbox: Sandbox,
    secret: String,
    chain: Client,
    grid: Pubkey,
}

async fn service(name: &str) -> Service {
    let ledger = std::env::temp_dir().join(format!("deu-pay-{name}-{}", std::process::id()));
    let net = start(LocalnetConfig {
        ledger: ledger.clone(),
        reset: true,
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    })
    .await
    .expect("start the cluster");
    let rpc_url = net.rpc_url();
    let rpc: SocketAddr = rpc_url
        .trim_start_matches("http://")
        .parse()
        .expect("the cluster's address");
    let client = Client::new(&rpc_url, Keypair::new());
    let (custody, _) = demo::seed(&client, GRID).await.expect("seed the community");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = format!("whsec_{name}_secret");
    let mut config = SandboxConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        API_KEY,
        Some(format!("{base}{WEBHOOK_PATH}")),
        secret.clone(),
    );
    config.retry_delays = vec![Duration::from_millis(250); 80];
    config.payout_delay = Duration::from_millis(300);
    let sandbox = sandbox::start(config).await.expect("start the sandbox");
    let payments = Payments::connect(
        PaymentsConfig {
            webhook_secret: secret.clone(),
            processor_url: sandbox.url(),
            processor_key: API_KEY.into(),
            oracle: custody.utility.insecure_clone(),
            public_url: base.clone(),
            coin_price_cents: None,
            delivery_log: None,
        },
        &rpc_url,
        GRID,
    )
    .await
    .expect("connect the payment service");
    let app = App::new(client, GRID, Some(custody), Some(payments));
    tokio::spawn(energy_utility_app::serve(app, listener));
    let chain = Client::new(&rpc_url, Keypair::new());
    let (grid, _) = chain.grid(GRID).await.unwrap();
    Service {
        net: Some(net),
        ledger,
        rpc,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        sandbox,
        secret,
        chain,
        grid,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn checkout_event(event_id: &str, resident: &str, amount_cents: i64) -> Value {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": now(),
        "livemode": false,
        "pending_webhooks": 1,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": format!("cs_test_{event_id}"),
            "object": "checkout.session",
            "amount_total": amount_cents,
            "currency": "usd",
            "client_reference_id": resident,
            "metadata": {"resident": resident, "grid": GRID},
            "mode": "payment",
            "payment_status": "paid",
            "status": "complete",
            "livemode": false,
            "created": now(),
        }},
    })
}

fn payout_event(kind: &str, payout_id: &str, resident: &str, amount_cents: i64) -> Value {
    json!({
        "id": format!("evt_{payout_id}_{}", kind.len()),
        "object": "event",
        "created": now(),
        "livemode": false,
        "type": kind,
        "data": {"object": {
            "id": payout_id,
            "object": "payout",
            "amount": amount_cents,
            "currency": "usd",
            "status": if kind == "payout.paid" { "paid" } else { "failed" },
            "metadata": {"resident": resident, "grid": GRID},
            "destination": "000123456789",
            "arrival_date": now(),
            "created": now(),
            "livemode": false,
        }},
    })
}

impl Service {
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Delivers raw bytes with a given signature header (or none).
    async fn deliver_raw(&self, body: Vec<u8>, header: Option<String>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{WEBHOOK_PATH}", self.base))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(header) = header {
            request = request.header(signature::HEADER, header);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Delivers an event signed as the processor signs it, `age_secs` ago.
    async fn deliver(&self, event: &Value, age_secs: i64) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        let header = signature::sign(&self.secret, now() - age_secs, &body);
        self.deliver_raw(body, Some(header)).await
    }

    async fn resident(&self, id: &str) -> Resident {
        self.chain.resident(&self.grid, id).await.unwrap().1
    }

    async fn coins(&self, id: &str) -> u64 {
        let address = pda::resident(&self.grid, id);
        self.chain
            .token_amount(&pda::coins(&address))
            .await
            .unwrap()
    }

    async fn supply(&self) -> u64 {
        let mint: Mint = self
            .chain
            .account(&pda::mint(&self.grid))
            .await
            .unwrap()
            .expect("the mint");
        mint.supply
    }

    async fn receipt(&self, id: &str) -> Option<Receipt> {
        self.chain
            .account(&pda::receipt(&self.grid, id))
            .await
            .unwrap()
    }

    async fn price_cents(&self) -> u64 {
        self.chain.grid(GRID).await.unwrap().1.coin_price_cents
    }

    async fn deliveries(&self) -> Vec<Value> {
        let response = self
            .http
            .get(format!("{}/api/payments/deliveries", self.base))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `check` holds, or fails naming `what`.
    async fn until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..150 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "timed out waiting for {what}; sandbox deliveries: {:?}",
            self.sandbox.deliveries()
        );
    }

    /// Pays a hosted checkout page with a card, as the browser's form does.
    async fn pay(&self, checkout_url: &str, card: &str) -> reqwest::Response {
        self.http
            .post(checkout_url)
            .form(&[
                ("card_number", card),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
            ])
            .send()
            .await
            .unwrap()
    }
}

fn coins_for(cents: u64, price_cents: u64) -> u64 {
    cents * 1_000_000 / price_cents
}

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
    let bought = coins_for(500, price);
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
            "sell beyond escrow",
            payout_event("payout.paid", "po_beyond000000000000000001", "carlos", 100),
        ),
        (
            "return of nothing locked",
            payout_event(
                "payout.failed",
                "po_nothing00000000000000001",
                "carlos",
                100,
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

    // Carlos sets 10 k aside and 5 k are locked for a payout of $0.50 at $0.10: the processor
    // cannot claim a bigger payout than that.
    let price = s.price_cents().await;
    let (status, sale) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.00", "bank_account": "000123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    let locked = coins_for(100, price);
    assert_eq!(s.resident("carlos").await.locked_units, locked);
    let (status, answer) = s
        .deliver(
            &payout_event("payout.paid", "po_toomuch000000000000000001", "carlos", 101),
            0,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("BurnExceedsEscrow"),
        "{answer}"
    );

    // The real payout goes through; nothing else moved any coin.
    s.until("the payout burned", || async {
        s.resident("carlos").await.locked_units == 0
    })
    .await;
    assert_eq!(s.supply().await, supply - locked);
    assert_eq!(s.coins("carlos").await, carlos - locked);
    for (_, event) in &cases {
        let id = event["data"]["object"]["id"].as_str().unwrap();
        assert!(s.receipt(event["id"].as_str().unwrap()).await.is_none());
        assert!(s.receipt(id).await.is_none());
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
    let bought = coins_for(300, price);
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
    let bought = coins_for(200, price);
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
    let sold = coins_for(150, price);

    let (status, sale) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.50", "bank_account": "000123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert_eq!(sale["status"], "pending");
    let reference = sale["reference"].as_str().unwrap().to_string();
    let payout_id = sale["payout_id"].as_str().unwrap().to_string();
    s.until("the paid payout burned", || async {
        s.supply().await == supply - sold
    })
    .await;
    assert_eq!(s.coins("carlos").await, before - sold);
    let carlos = s.resident("carlos").await;
    assert_eq!((carlos.escrow_units, carlos.locked_units), (0, 0));
    assert_eq!(s.receipt(&payout_id).await.unwrap().amount_cents, -150);
    assert_eq!(s.receipt(&reference).await.unwrap().coin_units, sold);

    // Sending the same sale again (same reference) creates no second payout.
    let (status, again) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.50", "bank_account": "000123456789", "reference": reference}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["payout_id"], json!(payout_id));
    assert_eq!(s.sandbox.payouts().len(), 1);
    // The same reference with another bank account cannot make a second payout, and does not
    // release coins a payout may still be using.
    let (status, other) = s
        .post("/api/sell", json!({"resident": "carlos", "usd": "1.50", "bank_account": "000111111116", "reference": reference}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{other}");
    assert!(s
        .receipt(&format!("rt_{}", &reference[3..]))
        .await
        .is_none());
    assert_eq!(s.sandbox.payouts().len(), 1);

    // A bank account that cannot be paid: the payout fails and the coins come back.
    let (status, failing) = s
        .post(
            "/api/sell",
            json!({"resident": "carlos", "usd": "1.00", "bank_account": "000111111116"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{failing}");
    s.until("the failed payout's coins returned", || async {
        s.resident("carlos").await.locked_units == 0
    })
    .await;
    assert_eq!(s.coins("carlos").await, before - sold);
    assert_eq!(s.supply().await, supply - sold);

    // Refused before anything is locked: too much, a bad account number, an unknown account.
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
    assert_eq!(carlos.locked_units, 0);
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
