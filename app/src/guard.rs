//! What every request that changes something passes before its handler runs:
//!
//! - **Same origin.** A state-changing request must be JSON (`Content-Type:
//!   application/json`: a cross-site form or `text/plain` "simple request" is 415), name this
//!   server in `Host` (a DNS-rebinding page names its own: 421), and, when the browser says where
//!   it comes from (`Origin`), come from this server (403). Wallets on phones send no `Origin`.
//! - **A fair share.** Each client address has a budget of writes (a burst, refilled over time);
//!   opening a checkout or a connected account at the processor has a smaller one. Past it: 429
//!   with `Retry-After`.
//! - **Idempotency.** A request with an `Idempotency-Key` header is done once: the same key with
//!   the same request answers the first answer again (`Idempotent-Replayed: true`), with another
//!   request 409, and while the first is still running 409. The key names the action on chain
//!   (its memo), so two requests under one key that both reach the chain are one transaction.
//!   Without a key, every request is an action of its own, done or refused. Answers are kept
//!   for 24 hours (at most [`MAX_KEYS`] keys; the oldest go first); a 5xx is not kept, so a
//!   retry after an outage runs again.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::App;

/// The largest JSON body a state-changing request may send.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Stripe's limit on an idempotency key.
pub const MAX_KEY_CHARS: usize = 255;
/// How long an answer is kept for its key.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
/// How many keys are kept at most.
pub const MAX_KEYS: usize = 10_000;

/// A client's budget of writes: `burst` at once, then one every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub burst: u32,
    pub every: Duration,
}

/// Writes in general, and opening something at the processor (a checkout, an account).
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    pub writes: Budget,
    pub processor: Budget,
}

impl Default for Budgets {
    /// 120 writes at once then 5 a second; 10 processor openings at once then one every 6 s.
    fn default() -> Self {
        Self {
            writes: Budget {
                burst: 120,
                every: Duration::from_millis(200),
            },
            processor: Budget {
                burst: 10,
                every: Duration::from_secs(6),
            },
        }
    }
}

/// The action a request names on chain: its idempotency key, or a fresh id.
#[derive(Debug, Clone)]
pub struct Action(pub String);

impl Action {
    fn of_key(key: &str) -> Self {
        // Hashed: a memo of bounded length, and the key itself never written on chain.
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("key_{hex}"))
    }

    fn fresh() -> Self {
        Self(crate::action_id())
    }
}

/// What the guard remembers: budgets per client, and answers per idempotency key.
#[derive(Default)]
pub struct Guard {
    pub budgets: Budgets,
    buckets: Buckets<(IpAddr, bool)>,
    keys: Mutex<Keys>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key (a client's address, a wallet, a resident): each spends from its own
/// budget, refilled continuously.
pub struct Buckets<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq> Buckets<K> {
    /// Takes one from `key`'s `budget`; how long to wait when it is spent.
    pub fn spend(&self, key: K, budget: Budget) -> Result<(), Duration> {
        let mut buckets = lock(&self.buckets);
        let now = Instant::now();
        if buckets.len() > 100_000 {
            // Forget full buckets rather than grow without bound.
            buckets.retain(|_, b| now.duration_since(b.at) < budget.every * budget.burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: f64::from(budget.burst),
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() / budget.every.as_secs_f64();
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(budget.burst));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(budget.every.mul_f64(1.0 - bucket.tokens))
        }
    }
}

#[derive(Default)]
struct Keys {
    entries: HashMap<String, Entry>,
    order: VecDeque<(Instant, String)>,
}

struct Entry {
    fingerprint: [u8; 32],
    at: Instant,
    answer: Option<(StatusCode, Vec<u8>)>,
}

/// Locks a mutex whose data stays consistent whatever panicked while it was held (each update
/// is a single insert or field write).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Guard {
    pub fn new(budgets: Budgets) -> Self {
        Self {
            budgets,
            ..Self::default()
        }
    }

    /// Takes one write from `client`'s budget (the processor's when `processor`); how long to
    /// wait when it is spent.
    fn spend(&self, client: IpAddr, processor: bool) -> Result<(), Duration> {
        let budget = match processor {
            true => self.budgets.processor,
            false => self.budgets.writes,
        };
        self.buckets.spend((client, processor), budget)
    }

    /// Looks `key` up for a request with `fingerprint`: `Ok(None)` to run it (now marked
    /// running), `Ok(Some(answer))` to answer it again, `Err` when it conflicts.
    fn begin(
        &self,
        key: &str,
        fingerprint: [u8; 32],
    ) -> Result<Option<(StatusCode, Vec<u8>)>, ApiError> {
        let mut keys = lock(&self.keys);
        let now = Instant::now();
        while let Some((at, oldest)) = keys.order.front().cloned() {
            if now.duration_since(at) < KEY_TTL && keys.entries.len() < MAX_KEYS {
                break;
            }
            keys.order.pop_front();
            if keys.entries.get(&oldest).is_some_and(|e| e.at == at) {
                keys.entries.remove(&oldest);
            }
        }
        match keys.entries.get(key) {
            Some(entry) if entry.fingerprint != fingerprint => Err(ApiError::new(
                StatusCode::CONFLICT,
                "this Idempotency-Key was used for another request: use a new key for a new action",
            )),
            Some(Entry { answer: None, .. }) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "a request with this Idempotency-Key is still running: wait for its answer",
            )),
            Some(Entry {
                answer: Some(answer),
                ..
            }) => Ok(Some(answer.clone())),
            None => {
                keys.entries.insert(
                    key.to_string(),
                    Entry {
                        fingerprint,
                        at: now,
                        answer: None,
                    },
                );
                keys.order.push_back((now, key.to_string()));
                Ok(None)
            }
        }
    }

    /// Keeps the answer for `key`; a 5xx is forgotten so that a retry runs again.
    fn finish(&self, key: &str, status: StatusCode, body: Vec<u8>) {
        let mut keys = lock(&self.keys);
        if status.is_server_error() {
            keys.entries.remove(key);
        } else if let Some(entry) = keys.entries.get_mut(key) {
            entry.answer = Some((status, body));
        }
    }
}

/// The checks of a state-changing request, then its handler, under its idempotency key.
pub async fn writes(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let write = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = match guarded(&app, request, next).await {
        Ok(response) | Err(response) => response,
    };
    // What this write did is in the index before the caller reads again.
    if write && response.status().is_success() {
        app.index.catch_up(&app.client).await;
    }
    response
}

async fn guarded(app: &App, request: Request, next: Next) -> Result<Response, Response> {
    // Reads, and the processor's webhook (its own signature decides), pass as they are.
    let write = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if !write || request.uri().path() == crate::payments::WEBHOOK_PATH {
        return Ok(next.run(request).await);
    }
    let (mut parts, body) = request.into_parts();
    same_origin(app, &parts.headers).map_err(IntoResponse::into_response)?;
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let processor = matches!(parts.uri.path(), "/api/buy" | "/api/connect");
    for budget in [false, true].into_iter().filter(|p| !p || processor) {
        if let Err(wait) = app.guard.spend(client, budget) {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this address: wait a moment and try again",
            )
            .into_response();
            let secs = wait.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&secs) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            return Err(response);
        }
    }
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {} KB",
                MAX_BODY_BYTES / 1024
            ),
        )
        .into_response()
    })?;
    let key = match parts.headers.get("idempotency-key") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS)
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable characters"
                    ))
                    .into_response()
                })?,
        ),
    };
    let Some(key) = key else {
        parts.extensions.insert(Action::fresh());
        return Ok(next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await);
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(parts.uri.to_string().as_bytes());
    hasher.update([0]);
    hasher.update(&bytes);
    let fingerprint: [u8; 32] = hasher.finalize().into();
    if let Some((status, body)) = app
        .guard
        .begin(&key, fingerprint)
        .map_err(IntoResponse::into_response)?
    {
        return Ok((
            status,
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (
                    axum::http::HeaderName::from_static("idempotent-replayed"),
                    HeaderValue::from_static("true"),
                ),
            ],
            body,
        )
            .into_response());
    }
    parts.extensions.insert(Action::of_key(&key));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (head, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default()
        .to_vec();
    app.guard.finish(&key, head.status, body.clone());
    Ok(Response::from_parts(head, Body::from(body)))
}

/// The host names this server answers to: the loopback names at its port, and the ones it
/// was told (`--public-url`, `--allowed-host`).
pub fn allowed_hosts(port: u16, extra: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .map(|h| format!("{h}:{port}"))
        .collect();
    hosts.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
    hosts
}

/// The host (and port) of an `http(s)://` URL.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn same_origin(app: &App, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.starts_with("application/json;"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send JSON (Content-Type: application/json)",
        ));
    }
    let hosts = app.hosts.get();
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if let Some(hosts) = hosts {
        if !hosts.contains(&host) {
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                format!("this server does not answer to '{host}'"),
            ));
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let from = origin.to_str().ok().and_then(host_of).unwrap_or_default();
            if !hosts.contains(&from) {
                return Err(ApiError::forbidden(
                    "a request from another site: only this server's own pages may change things",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refills_over_time_and_clients_do_not_share_it() {
        let guard = Guard::new(Budgets {
            writes: Budget {
                burst: 2,
                every: Duration::from_millis(100),
            },
            processor: Budget {
                burst: 1,
                every: Duration::from_secs(60),
            },
        });
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        assert!(guard.spend(a, false).is_ok() && guard.spend(a, false).is_ok());
        let wait = guard.spend(a, false).unwrap_err();
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(guard.spend(b, false).is_ok(), "another client has its own");
        std::thread::sleep(Duration::from_millis(120));
        assert!(guard.spend(a, false).is_ok(), "refilled");
        assert!(guard.spend(a, true).is_ok());
        assert!(guard.spend(a, true).unwrap_err() > Duration::from_secs(50));
    }

    #[test]
    fn a_key_answers_its_first_answer_refuses_another_request_and_forgets_a_5xx() {
        let guard = Guard::default();
        let (one, two) = ([1u8; 32], [2u8; 32]);
        assert_eq!(guard.begin("k", one).unwrap(), None);
        assert!(guard.begin("k", one).is_err(), "still running");
        guard.finish("k", StatusCode::OK, b"{\"ok\":1}".to_vec());
        assert_eq!(
            guard.begin("k", one).unwrap(),
            Some((StatusCode::OK, b"{\"ok\":1}".to_vec()))
        );
        assert_eq!(
            guard.begin("k", two).unwrap_err().status,
            StatusCode::CONFLICT
        );
        assert_eq!(guard.begin("u", one).unwrap(), None);
        guard.finish("u", StatusCode::SERVICE_UNAVAILABLE, Vec::new());
        assert_eq!(guard.begin("u", one).unwrap(), None, "a 5xx runs again");
    }

    #[test]
    fn hosts_come_from_urls_and_loopback_names() {
        assert_eq!(
            host_of("https://Grid.Example:8443/resident.html").as_deref(),
            Some("grid.example:8443")
        );
        assert_eq!(host_of("not a url"), None);
        let hosts = allowed_hosts(8080, &["grid.example".into()]);
        assert!(hosts.contains(&"127.0.0.1:8080".to_string()));
        assert!(hosts.contains(&"localhost:8080".to_string()));
        assert!(hosts.contains(&"grid.example".to_string()));
        assert_eq!(
            Action::of_key("abc").0,
            Action::of_key("abc").0,
            "the same key names the same action"
        );
        assert!(Action::of_key("abc").0.len() <= 28);
    }
}
