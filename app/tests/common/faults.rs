//! A fault injector between the payment service and the sandbox processor, over real HTTP: it
//! forwards every request unchanged except the ones a test scripts — an answer lost after the
//! processor acted (a gateway in between times out), or a refusal the processor gives without
//! acting (a rate limit, a request still in progress under the same idempotency key).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// What happens to one scripted request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forwarded, so the processor acts, but the answer never comes back: the caller sees a
    /// 504 from a gateway, without the processor's body.
    LostAnswer,
    /// Not forwarded: the processor's refusal with this status and Stripe error body.
    Refuse(u16, Value),
}

impl Fault {
    /// Stripe's 429: too many requests; nothing was done.
    pub fn rate_limited() -> Self {
        Fault::Refuse(
            429,
            json!({"error": {"type": "rate_limit_error", "message": "Too many requests hit the API too quickly."}}),
        )
    }

    /// Stripe's 409 for a request made while another under the same key is still running.
    pub fn key_in_use() -> Self {
        Fault::Refuse(
            409,
            json!({"error": {"type": "invalid_request_error", "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this Idempotency Key."}}),
        )
    }
}

/// The running injector: its URL (point the payment service at it) and its script.
pub struct Faults {
    pub url: String,
    script: Arc<Script>,
}

struct Script {
    upstream: String,
    faults: Mutex<VecDeque<(Method, String, Fault)>>,
    /// Every request seen, as `"POST /v1/payouts"`.
    seen: Mutex<Vec<String>>,
    http: reqwest::Client,
}

impl Faults {
    /// Starts an injector in front of `upstream` (the sandbox's URL).
    pub async fn start(upstream: &str) -> Self {
        let script = Arc::new(Script {
            upstream: upstream.trim_end_matches('/').to_string(),
            faults: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Vec::new()),
            http: reqwest::Client::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .fallback(relay)
            .with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, script }
    }

    /// The next `method path` request (path without query) meets `fault`; faults for the same
    /// request apply in the order they were added.
    pub fn next(&self, method: Method, path: &str, fault: Fault) {
        let mut faults = self.script.faults.lock().unwrap();
        faults.push_back((method, path.to_string(), fault));
    }

    /// Every request that reached the injector, as `"POST /v1/payouts"`, in order.
    pub fn seen(&self) -> Vec<String> {
        self.script.seen.lock().unwrap().clone()
    }

    /// Scripted faults not yet met.
    pub fn pending(&self) -> usize {
        self.script.faults.lock().unwrap().len()
    }
}

async fn relay(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    script.seen.lock().unwrap().push(format!("{method} {path}"));
    let fault = {
        let mut faults = script.faults.lock().unwrap();
        let at = faults
            .iter()
            .position(|(m, p, _)| *m == method && *p == path);
        at.and_then(|at| faults.remove(at))
            .map(|(_, _, fault)| fault)
    };
    if let Some(Fault::Refuse(status, body)) = &fault {
        return (
            StatusCode::from_u16(*status).unwrap(),
            axum::Json(body.clone()),
        )
            .into_response();
    }
    let target = format!(
        "{}{}",
        script.upstream,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    let mut request = script.http.request(method, target).body(body);
    for name in ["authorization", "content-type", "idempotency-key"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    if matches!(fault, Some(Fault::LostAnswer)) {
        return (StatusCode::GATEWAY_TIMEOUT, "upstream request timeout").into_response();
    }
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let bytes = answer.bytes().await.unwrap_or_default();
    (status, [("content-type", "application/json")], bytes).into_response()
}
