//! Shared test fixtures: a sandbox on a free port and a tiny webhook receiver that records every
//! delivery and can be told to answer 503 to the first N.
#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use energy_utility_payments::client::{NewCheckoutSession, Processor, ProcessorError};
use energy_utility_payments::sandbox::{self, Sandbox, SandboxConfig};
use energy_utility_payments::signature;
use energy_utility_payments::wire::{ApiErrorDetail, Event};

pub const SECRET_KEY: &str = "sk_test_sandbox";
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub body: Vec<u8>,
    pub signature: String,
    pub content_type: String,
    pub user_agent: String,
    pub received_at: i64,
    /// What the receiver answered.
    pub answered: u16,
}

impl Hit {
    /// The event in the body.
    pub fn event(&self) -> Event {
        serde_json::from_slice(&self.body).expect("the body is an event")
    }

    /// Verifies the signature against the raw body as a receiver would, returning its `t`.
    pub fn verify(&self) -> i64 {
        signature::verify(
            WEBHOOK_SECRET,
            &self.signature,
            &self.body,
            self.received_at,
            signature::DEFAULT_TOLERANCE_SECS,
        )
        .expect("the signature verifies")
    }
}

#[derive(Default)]
struct Inbox {
    hits: Mutex<Vec<Hit>>,
    fail_first: AtomicUsize,
}

/// A webhook endpoint on 127.0.0.1.
pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    /// A receiver that answers 503 to its first `fail_first` requests and 200 afterwards.
    pub async fn start(fail_first: usize) -> Self {
        let inbox = Arc::new(Inbox {
            hits: Mutex::new(Vec::new()),
            fail_first: AtomicUsize::new(fail_first),
        });
        let router = Router::new()
            .route("/webhook", post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            url: format!("http://{addr}/webhook"),
            inbox,
        }
    }

    /// Every request received, oldest first.
    pub fn hits(&self) -> Vec<Hit> {
        self.inbox.hits.lock().expect("inbox").clone()
    }

    /// The events acknowledged with 200, oldest first.
    pub fn delivered(&self) -> Vec<Event> {
        self.hits()
            .iter()
            .filter(|hit| hit.answered == 200)
            .map(Hit::event)
            .collect()
    }

    /// The acknowledged events of one type.
    pub fn delivered_of(&self, kind: &str) -> Vec<Event> {
        self.delivered()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let fail = inbox
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if fail {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    inbox.hits.lock().expect("inbox").push(Hit {
        body: body.to_vec(),
        signature: header(signature::HEADER),
        content_type: header("content-type"),
        user_agent: header("user-agent"),
        received_at: now(),
        answered: answered.as_u16(),
    });
    answered
}

/// A sandbox on a free port, delivering to `receiver` (if any), with fast payouts and retries.
pub async fn sandbox(receiver: Option<&Receiver>) -> Sandbox {
    sandbox_with(receiver, |_| {}).await
}

/// Like [`sandbox`], with the configuration adjusted first.
pub async fn sandbox_with(
    receiver: Option<&Receiver>,
    adjust: impl FnOnce(&mut SandboxConfig),
) -> Sandbox {
    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut config = SandboxConfig::new(
        bind,
        SECRET_KEY,
        receiver.map(|r| r.url.clone()),
        WEBHOOK_SECRET,
    );
    config.payout_delay = Duration::from_millis(200);
    config.retry_delays = vec![Duration::from_millis(100); 3];
    adjust(&mut config);
    sandbox::start(config).await.expect("the sandbox starts")
}

/// A client of `sandbox` with the right key.
pub fn processor(sandbox: &Sandbox) -> Processor {
    Processor::new(&sandbox.url(), SECRET_KEY)
}

/// The HTTP status and Stripe's error of a request the processor refused; any other failure
/// fails the test.
pub fn refusal(err: ProcessorError) -> (u16, ApiErrorDetail) {
    match err {
        ProcessorError::Rejected {
            status,
            kind,
            message,
            code,
            param,
        } => (
            status,
            ApiErrorDetail {
                kind,
                message,
                code,
                param,
            },
        ),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

/// A $12.50 session for Carlos.
pub fn carlos_session() -> NewCheckoutSession {
    NewCheckoutSession {
        amount_cents: 1250,
        currency: "usd".into(),
        product_name: "125 k of energy for carlos-house".into(),
        client_reference_id: "carlos".into(),
        metadata: BTreeMap::from([
            ("grid".into(), "main grid".into()),
            ("note".into(), "a&b=c [x] +ü%".into()),
        ]),
        success_url:
            "https://utility.example/resident.html?id=carlos&checkout={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://utility.example/resident.html?id=carlos&checkout=cancelled".into(),
    }
}

/// A request to `sandbox`'s API with the right key, for what the client does not send: `GET`
/// with `form` as the query, or `POST` with it form-encoded (under `idempotency_key`, if any).
/// Returns the HTTP status and the JSON body.
pub async fn api(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
    idempotency_key: Option<&str>,
) -> (u16, serde_json::Value) {
    let url = format!("{}{path}", sandbox.url());
    let request = reqwest::Client::new()
        .request(method.clone(), url)
        .bearer_auth(SECRET_KEY);
    let request = if method == reqwest::Method::GET {
        request.query(form)
    } else {
        request.form(form)
    };
    let request = match idempotency_key {
        Some(key) => request.header("Idempotency-Key", key),
        None => request,
    };
    let answer = request.send().await.expect("the sandbox answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("a JSON body"))
}

/// An HTTP client that shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Polls `check` until it returns `Some`, for up to 5 s.
pub async fn eventually<T>(what: &str, check: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(elapsed.as_secs()).expect("seconds")
}
