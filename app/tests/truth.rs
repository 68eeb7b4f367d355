//! Every answer tells the truth, under load and abuse, over HTTP against a real local cluster and
//! the real sandbox: forty fundings at once are answered 200 only for what moved, an
//! idempotency key does its action once; a cluster's URL (and the provider token in it) never
//! reaches a caller; forged webhook deliveries are counted, not kept, and the delivery log is
//! the operator's in `deu serve`; cross-site and DNS-rebinding requests change nothing; the relay
//! refuses what is not signed by every signer or does nothing; opening checkouts has a budget;
//! and every endpoint answers random input without failing.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use energy_utility_app::payments::{PaymentsConfig, WEBHOOK_PATH};
use energy_utility_app::{demo, App, Payments};
use energy_utility_payments::sandbox::{self, SandboxConfig};
use energy_utility_payments::signature;
use energy_utility_sdk::{pda, Client};
use reqwest::header::{CONTENT_TYPE, HOST, ORIGIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

const K: u64 = 1_000_000;

fn serve_mode() -> Setup {
    Setup {
        custody: false,
        ..Setup::default()
    }
}

async fn pole_balance(s: &Service) -> u64 {
    s.chain
        .meter(&s.grid, "pole-3")
        .await
        .unwrap()
        .1
        .balance_units
}

#[tokio::test(flavor = "multi_thread")]
async fn forty_fundings_at_once_are_answered_200_only_for_the_coins_that_moved() {
    let s = service("forty").await;
    let gus = s.coins("gus").await;
    let pole = pole_balance(&s).await;
    let fund = || {
        s.post(
            "/api/fund",
            json!({"from": "gus", "meter": "pole-3", "amount_k": "1"}),
        )
    };
    let answers = futures::future::join_all((0..40).map(|_| fund())).await;
    let done = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count() as u64;
    let moved = gus - s.coins("gus").await;
    assert_eq!(done * K, moved, "200s × 1 k = the coins that left Gus");
    assert_eq!(pole_balance(&s).await - pole, moved, "and reached the pole");
    assert_eq!(
        done,
        (gus / K).min(40),
        "each funding done while Gus could pay"
    );
    for (status, answer) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::CONFLICT, "{answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("Not enough coins"),
            "{answer}"
        );
    }
}

/// A funding of `amount_k` from Danny to pole-3 under `key`.
async fn fund_under(s: &Service, key: &str, amount_k: &str) -> (StatusCode, Value, bool) {
    let response = s
        .http
        .post(format!("{}/api/fund", s.base))
        .header("Idempotency-Key", key)
        .json(&json!({"from": "danny", "meter": "pole-3", "amount_k": amount_k}))
        .send()
        .await
        .unwrap();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let status = response.status();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        replayed,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_does_its_action_once_and_refuses_another_request() {
    let s = service("idempotent").await;
    let danny = s.coins("danny").await;
    // The same key sent four times at once and again later: one funding.
    let answers = futures::future::join_all((0..4).map(|_| fund_under(&s, "click-1", "1"))).await;
    let done: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == StatusCode::OK)
        .collect();
    assert!(!done.is_empty(), "{answers:?}");
    for (status, answer, _) in &answers {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::CONFLICT,
            "{status} {answer}"
        );
    }
    let (status, again, replayed) = fund_under(&s, "click-1", "1").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert!(replayed, "the first answer, again");
    assert_eq!(again, done[0].1);
    assert_eq!(s.coins("danny").await, danny - K, "funded once");
    // The key with another request: refused, nothing moves.
    let (status, other, _) = fund_under(&s, "click-1", "2").await;
    assert_eq!(status, StatusCode::CONFLICT, "{other}");
    assert!(
        other["error"].as_str().unwrap().contains("another request"),
        "{other}"
    );
    // Without a key, two requests are two fundings.
    for _ in 0..2 {
        let (status, answer) = s
            .post(
                "/api/fund",
                json!({"from": "danny", "meter": "pole-3", "amount_k": "1"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    assert_eq!(s.coins("danny").await, danny - 3 * K);
    // A key that is not one.
    let (status, _, _) = fund_under(&s, &"k".repeat(300), "1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_and_rebinding_requests_change_nothing() {
    let s = service("cross-site").await;
    let (_, state) = s.get("/api/state").await;
    let clock = state["clock"]["unix_timestamp"].clone();
    let carlos = s.coins("carlos").await;
    let url = |path: &str| format!("{}{path}", s.base);
    let post = |path: &str| s.http.post(url(path));

    // A page elsewhere posts a "simple request" (no preflight): text/plain, or a form.
    let plain = post("/api/clock/advance")
        .header(CONTENT_TYPE, "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let form = post("/api/fund")
        .form(&[("from", "carlos"), ("meter", "pole-3"), ("amount_k", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // JSON from another origin (a page that asked CORS for it anyway).
    let foreign = post("/api/clock/advance")
        .header(ORIGIN, "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    // DNS rebinding: evil.example resolves to this machine, and the browser says so.
    let rebound = post("/api/clock/advance")
        .header(HOST, "evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);

    let (_, after) = s.get("/api/state").await;
    assert_eq!(
        after["clock"]["unix_timestamp"], clock,
        "the clock did not move"
    );
    assert_eq!(s.coins("carlos").await, carlos);
    // The server's own page (its origin) goes through.
    let own = post("/api/fund")
        .header(ORIGIN, s.base.clone())
        .json(&json!({"from": "carlos", "meter": "pole-3", "amount_k": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn opening_checkouts_has_a_budget_per_client() {
    let s = service("budget").await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let response = s
            .http
            .post(format!("{}/api/buy", s.base))
            .json(&json!({"resident": "carlos", "usd": "5"}))
            .send()
            .await
            .unwrap();
        let retry_after = response.headers().get("retry-after").cloned();
        statuses.push((response.status(), retry_after));
    }
    let opened = statuses
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    assert_eq!(opened, 10, "{statuses:?}");
    let (status, retry_after) = &statuses[11];
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after.is_some(), "says when to come back");
    assert_eq!(s.sandbox.checkout_sessions().len(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_deliveries_are_counted_not_kept_and_the_log_is_the_operators() {
    let s = service_with("forged-flood", serve_mode()).await;
    let event = checkout_event("evt_flood00000000000000000001", "carlos", 500);
    let body = serde_json::to_vec(&event).unwrap();
    // A 400 KB signature header is refused before the webhook reads it.
    let huge = s
        .http
        .post(format!("{}{WEBHOOK_PATH}", s.base))
        .header(
            signature::HEADER,
            "v1=".to_string() + &"a".repeat(400 * 1024),
        )
        .body(body.clone())
        .send()
        .await;
    if let Ok(huge) = huge {
        assert_eq!(huge.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    // A hundred forged ones with 8 KB headers: 400 each, none kept.
    for _ in 0..100 {
        let header = format!("t={},v1={}", now(), "b".repeat(8 * 1024));
        let (status, _) = s.deliver_raw(body.clone(), Some(header)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    // In serve mode the log is the operator's.
    let (status, _) = s.get("/api/payments/deliveries").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = s
        .http
        .get(format!("{}/api/payments/deliveries", s.base))
        .bearer_auth("guessed")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let log = s
        .http
        .get(format!("{}/api/payments/deliveries", s.base))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(log.status(), StatusCode::OK);
    let text = log.text().await.unwrap();
    assert!(text.len() < 2_000, "{} bytes", text.len());
    let log: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        log["deliveries"],
        json!([]),
        "forged deliveries are not kept"
    );
    assert_eq!(log["unauthenticated"], 100);
    // The genuine delivery is kept, its detail bounded; the payer's page learns its payment
    // from the session id alone.
    let (status, _) = s.deliver(&event, 0).await;
    assert_eq!(status, StatusCode::OK);
    let kept = s.deliveries().await;
    assert_eq!(kept.len(), 1);
    let (status, found) = s
        .get("/api/payments/checkouts/cs_test_evt_flood00000000000000000001")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(
        found["payment"],
        json!(payment_of("evt_flood00000000000000000001"))
    );
    let (status, _) = s.get("/api/payments/checkouts/not-a-session").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A JSON-RPC endpoint under a secret path (an RPC provider's URL with its API token) that
/// forwards to `upstream`, or answers 502 while `down`.
async fn provider(upstream: String, down: Arc<AtomicBool>) -> String {
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/API-TOKEN-s3cr3t/",
        listener.local_addr().unwrap()
    );
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/API-TOKEN-s3cr3t/",
        post(move |body: axum::body::Bytes| {
            let (http, upstream, down) = (http.clone(), upstream.clone(), down.clone());
            async move {
                if down.load(Ordering::SeqCst) {
                    return Err(StatusCode::BAD_GATEWAY);
                }
                let answer = http
                    .post(&upstream)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|_| StatusCode::BAD_GATEWAY)?;
                let bytes = answer.bytes().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
                Ok(([(CONTENT_TYPE, "application/json")], bytes))
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_cluster_never_shows_its_url_or_token_to_callers() {
    let (net, _ledger) = cluster("secret-url").await;
    let seeder = Client::new(&net.rpc_url(), Keypair::new());
    let custody = demo::seed(&seeder, GRID).await.unwrap();
    let down = Arc::new(AtomicBool::new(false));
    let rpc = provider(net.rpc_url(), down.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = "whsec_secret_url".to_string();
    let sandbox = sandbox::start(SandboxConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        API_KEY,
        None,
        secret.clone(),
    ))
    .await
    .unwrap();
    let payments = Payments::connect(
        PaymentsConfig {
            webhook_secret: secret.clone(),
            processor_url: sandbox.url(),
            processor_key: API_KEY.into(),
            oracle: custody.utility.insecure_clone(),
            public_url: base.clone(),
            coin_price_cents: None,
            delivery_log: None,
            operator_token: Some(OPERATOR_TOKEN.into()),
        },
        &rpc,
        GRID,
    )
    .await
    .unwrap();
    let app = App::new(
        Client::new(&rpc, Keypair::new()),
        GRID,
        Some(custody),
        Some(payments),
    );
    tokio::spawn(energy_utility_app::serve(app, listener));
    let http = reqwest::Client::new();
    let (status, _) = answer(http.get(format!("{base}/api/state"))).await;
    assert_eq!(status, StatusCode::OK, "served through the provider");
    let (status, ready) = answer(http.get(format!("{base}/readyz"))).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(ready["ready"], true);

    down.store(true, Ordering::SeqCst);
    let mut said = String::new();
    // Alive, not ready: a load balancer stops sending residents here.
    let alive = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
    let (status, ready) = answer(http.get(format!("{base}/readyz"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    said += &ready.to_string();
    // Pages answer from the server's index, which stops answering within seconds of the
    // cluster going quiet (what it holds may no longer be true).
    for path in ["/api/state", "/api/residents/carlos", "/api/meters/pole-3"] {
        let mut response = http.get(format!("{base}{path}")).send().await.unwrap();
        for _ in 0..60 {
            if response.status() != StatusCode::OK {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            response = http.get(format!("{base}{path}")).send().await.unwrap();
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        said += &response.text().await.unwrap();
    }
    let (status, funded) = answer(
        http.post(format!("{base}/api/fund"))
            .json(&json!({"from": "carlos", "meter": "pole-3", "amount_k": "1"})),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{funded}");
    said += &funded.to_string();
    let event = checkout_event("evt_secret0000000000000000001", "carlos", 500);
    let body = serde_json::to_vec(&event).unwrap();
    let delivered = http
        .post(format!("{base}{WEBHOOK_PATH}"))
        .header(signature::HEADER, signature::sign(&secret, now(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), StatusCode::SERVICE_UNAVAILABLE);
    said += &delivered.text().await.unwrap();
    let log = http
        .get(format!("{base}/api/payments/deliveries"))
        .send()
        .await
        .unwrap();
    said += &log.text().await.unwrap();
    assert!(said.contains("unavailable"), "{said}");
    assert!(
        !said.contains("API-TOKEN"),
        "the provider's token leaked: {said}"
    );
    assert!(
        !said.contains("127.0.0.1:"),
        "the cluster's address leaked: {said}"
    );
    drop(net);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_refuses_a_transaction_missing_a_signer_or_doing_nothing() {
    let s = service_with("relay-sanitize", serve_mode()).await;
    let carlos = s.keys.resident("carlos").unwrap().insecure_clone();
    let danny = s.keys.resident("danny").unwrap().insecure_clone();
    let blockhash = s.chain.rpc.get_latest_blockhash().await.unwrap();
    let encode = |tx: &solana_transaction::Transaction| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(tx).unwrap())
    };
    // A funding that needs Carlos's and Danny's signatures (two funders' authorities as
    // signers), signed by Carlos alone, with Danny's signature slot dropped.
    let grid = s.grid;
    let pole = pda::meter(&grid, "pole-3");
    let fund = |who: &Keypair, id: &str| {
        energy_utility_sdk::instructions::fund(
            &who.pubkey(),
            &grid,
            &pda::resident(&grid, id),
            &pole,
            K,
        )
    };
    let mut tx = solana_transaction::Transaction::new_with_payer(
        &[fund(&carlos, "carlos"), fund(&danny, "danny")],
        Some(&carlos.pubkey()),
    );
    tx.message.recent_blockhash = blockhash;
    tx.partial_sign(&[&carlos], blockhash);
    tx.signatures.truncate(1);
    let before = (s.coins("carlos").await, s.coins("danny").await);
    let (status, answer) = s
        .post("/api/send", json!({"transaction": encode(&tx)}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // A transaction with no instruction at all, signed.
    let mut empty = solana_transaction::Transaction::new_with_payer(&[], Some(&carlos.pubkey()));
    empty.sign(&[&carlos], blockhash);
    let (status, answer) = s
        .post("/api/send", json!({"transaction": encode(&empty)}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("no instruction"),
        "{answer}"
    );
    assert_eq!(
        (s.coins("carlos").await, s.coins("danny").await),
        before,
        "nothing changed"
    );
}

/// A small deterministic generator (xorshift64*), so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    /// Random text: ASCII, digits, multi-byte characters, controls, quotes and separators.
    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            "9",
            "-",
            "_",
            ".",
            " ",
            "€",
            "é",
            "𝄞",
            "ñ",
            "\u{0}",
            "\u{7f}",
            "\"",
            "'",
            "\\",
            "/",
            "..",
            "%",
            "&",
            "=",
            "?",
            "#",
            "+",
            "1.5",
            "-1",
            "1e9",
            "99999999999999999999",
            "acct_",
            "pi_",
            "cs_test_",
            "carlos",
            "pole-3",
            "\n",
            "\u{200b}",
            "<b>",
        ];
        let len = self.next() % 12;
        (0..len).map(|_| self.pick(PIECES)).collect()
    }

    fn json(&mut self, depth: u32) -> Value {
        match self.next() % if depth > 2 { 5 } else { 7 } {
            0 => Value::Null,
            1 => json!(self.next().is_multiple_of(2)),
            2 => json!((self.next() as i64) >> (self.next() % 64)),
            3 => json!(f64::from_bits(self.next()).to_string()),
            4 => json!(self.text()),
            5 => Value::Array((0..self.next() % 4).map(|_| self.json(depth + 1)).collect()),
            _ => {
                let mut map = serde_json::Map::new();
                for key in [
                    "resident",
                    "from",
                    "meter",
                    "amount_k",
                    "usd",
                    "sale",
                    "account",
                    "to",
                    "transaction",
                    "id",
                ] {
                    if self.next().is_multiple_of(2) {
                        map.insert(key.to_string(), self.json(depth + 1));
                    }
                }
                Value::Object(map)
            }
        }
    }

    fn bytes(&mut self) -> Vec<u8> {
        (0..self.next() % 64).map(|_| self.next() as u8).collect()
    }
}

/// Percent-encodes everything but unreserved characters.
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_answers_random_input_without_failing() {
    let s = service("fuzz").await;
    let seed = 0x5eed_2024_u64;
    let mut rng = Rng(seed);
    let wallet = s.keys.resident("carlos").unwrap().pubkey().to_string();
    let gets = [
        "/api/residents/{}",
        "/api/meters/{}",
        "/api/wallets/{}",
        "/api/connect/{}",
        "/api/payments/checkouts/{}",
        "/api/quote?side={}&usd={}",
        "/api/quote?side=sell&coins_k={}",
        "/api/pay/sell?from={}&amount_k={}&to={}",
    ];
    let posts = [
        "/api/fund",
        "/api/veto",
        "/api/buy",
        "/api/sell",
        "/api/connect",
        "/api/payout-account",
        "/api/payout-account/cancel",
        "/api/send",
        "/api/pay/register?id={}",
        "/api/pay/fund?from={}&meter={}&amount_k={}",
        "/api/pay/sell?from={}&amount_k={}&to={}",
        "/api/pay/cancel?from={}&sale={}",
        "/api/pay/collect?meter={}",
        "/api/pay/veto?meter={}",
        "/api/pay/payout-account?from={}&account={}",
        "/api/pay/payout-cancel?from={}",
    ];
    let fill = |rng: &mut Rng, template: &str| {
        let mut path = String::new();
        let mut parts = template.split("{}").peekable();
        while let Some(part) = parts.next() {
            path.push_str(part);
            if parts.peek().is_some() {
                let value = match rng.next() % 4 {
                    0 => "carlos".to_string(),
                    _ => rng.text(),
                };
                path.push_str(&encoded(&value));
            }
        }
        path
    };
    let mut failures = Vec::new();
    let mut check = |what: String, result: Result<reqwest::Response, reqwest::Error>| match result {
        Ok(response)
            if response.status().is_server_error()
                && response.status() != StatusCode::SERVICE_UNAVAILABLE =>
        {
            failures.push(format!("{what} → {}", response.status()))
        }
        Ok(_) => {}
        Err(err) => failures.push(format!("{what} → no answer ({err})")),
    };
    // The crafted case first: a destination inside a multi-byte character.
    let crafted = "/api/pay/sell?from=carlos&amount_k=1&to=%E2%82%AC%E2%82%AC";
    check(
        format!("POST {crafted}"),
        s.http
            .post(format!("{}{crafted}", s.base))
            .json(&json!({"account": wallet}))
            .send()
            .await,
    );
    for _ in 0..12 {
        for template in gets {
            let path = fill(&mut rng, template);
            let result = s.http.get(format!("{}{path}", s.base)).send().await;
            check(format!("GET {path}"), result);
        }
    }
    for round in 0..6 {
        for template in posts {
            let path = fill(&mut rng, template);
            let request = s.http.post(format!("{}{path}", s.base));
            let (what, request) = match round % 3 {
                0 => {
                    let body = rng.json(0);
                    (format!("POST {path} {body}"), request.json(&body))
                }
                1 => {
                    let body = json!({"account": if rng.next().is_multiple_of(2) { wallet.clone() } else { rng.text() }});
                    (format!("POST {path} {body}"), request.json(&body))
                }
                _ => {
                    let bytes = rng.bytes();
                    (
                        format!("POST {path} {} random bytes", bytes.len()),
                        request.header(CONTENT_TYPE, "application/json").body(bytes),
                    )
                }
            };
            check(what, request.send().await);
        }
        // The webhook, with random bodies and signatures.
        let body = rng.bytes();
        let header = rng.text();
        check(
            format!("POST webhook with {header:?}"),
            s.http
                .post(format!("{}{WEBHOOK_PATH}", s.base))
                .header(signature::HEADER, encoded(&header))
                .body(body)
                .send()
                .await,
        );
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // And the server still answers.
    let (status, _) = s.get("/api/state").await;
    assert_eq!(status, StatusCode::OK);
}
