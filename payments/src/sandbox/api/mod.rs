//! The sandbox's Stripe-compatible API under `/v1`: secret-key authentication, idempotency keys,
//! and the routes for Checkout Sessions, charges, refunds and disputes, connected accounts and
//! their onboarding links, transfers and reversals, payouts and events.

pub(crate) mod accounts;
pub(crate) mod charges;
pub(crate) mod error;
mod events;
pub(crate) mod params;
pub(crate) mod payouts;
mod sessions;
pub(crate) mod transfers;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::Value;

use super::store::{Replay, Store};
use super::App;
use crate::wire::List;
use error::ApiError;

/// Stripe's limit on `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// The `/v1` routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/checkout/sessions", post(sessions::create))
        .route("/v1/checkout/sessions/{id}", get(sessions::retrieve))
        .route("/v1/payouts", post(payouts::create).get(payouts::list))
        .route("/v1/payouts/{id}", get(payouts::retrieve))
        .route("/v1/payouts/{id}/cancel", post(payouts::cancel))
        .route("/v1/charges/{id}", get(charges::retrieve_charge))
        .route("/v1/refunds", post(charges::create_refund))
        .route("/v1/disputes", get(charges::list_disputes))
        .route(
            "/v1/disputes/{id}",
            get(charges::retrieve_dispute).post(charges::update_dispute),
        )
        .route("/v1/disputes/{id}/close", post(charges::close_dispute))
        .route("/v1/accounts", post(accounts::create).get(accounts::list))
        .route("/v1/accounts/{id}", get(accounts::retrieve))
        .route("/v1/account_links", post(accounts::create_link))
        .route(
            "/v1/transfers",
            post(transfers::create).get(transfers::list),
        )
        .route("/v1/transfers/{id}", get(transfers::retrieve))
        .route(
            "/v1/transfers/{id}/reversals",
            post(transfers::create_reversal),
        )
        .route("/v1/events", get(events::list))
        .route("/v1/events/{id}", get(events::retrieve))
        .route("/v1/{*rest}", any(unrecognized))
}

/// Proof that the request carried the sandbox's secret key, as Bearer (or, like `curl -u`, Basic).
pub(crate) struct Authorized;

impl FromRequestParts<Arc<App>> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let key = api_key(header).ok_or_else(|| {
            ApiError::unauthorized(
                "You did not provide an API key. You need to provide your API key in the \
                 Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        })?;
        if key != app.config.secret_key {
            return Err(ApiError::unauthorized(format!(
                "Invalid API Key provided: {}",
                redact(&key)
            )));
        }
        Ok(Authorized)
    }
}

/// The API key in an `Authorization` header.
fn api_key(header: &str) -> Option<String> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    let credentials = credentials.trim();
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.to_string()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()?;
        let user_pass = String::from_utf8(decoded).ok()?;
        user_pass.split(':').next().unwrap_or("").to_string()
    } else {
        return None;
    };
    (!key.is_empty()).then_some(key)
}

/// A key as Stripe echoes a wrong one: the start and the last four characters.
fn redact(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "*".repeat(chars.len());
    }
    let start: String = chars[..8].iter().collect();
    let end: String = chars[chars.len() - 4..].iter().collect();
    format!("{start}****{end}")
}

/// The request's `Idempotency-Key`, if it sent one.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::invalid_request("Idempotency-Key must be printable ASCII."))?;
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(ApiError::invalid_request(format!(
            "Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters long."
        )));
    }
    Ok((!key.is_empty()).then(|| key.to_string()))
}

/// For a request under an idempotency key: the first answer when this is a repeat, or a refusal
/// when the key was used for something else. `None` means: carry the request out.
fn replayed(
    app: &App,
    store: &Store,
    key: Option<&str>,
    request: &str,
    params: &params::Params,
) -> Result<Option<Response>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    match store.replay(key, request, params.all(), app.config.idempotency_ttl) {
        Replay::New => Ok(None),
        Replay::Same(first) => Ok(Some(
            ([("Idempotent-Replayed", "true")], Json(first)).into_response(),
        )),
        Replay::Conflict => Err(ApiError::idempotency_conflict(key)),
    }
}

/// Stripe's page size when `limit` is not given, and its largest.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

/// A list endpoint's `limit` and `starting_after` (the last id of the previous page).
pub(crate) struct Paging {
    limit: usize,
    starting_after: Option<String>,
}

impl Paging {
    fn read(params: &mut params::Params) -> Result<Self, ApiError> {
        let limit = match params.optional("limit") {
            None => DEFAULT_LIMIT,
            Some(limit) => limit
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_param("limit", format!("limit must be 1 to {MAX_LIMIT}."))
                })?,
        };
        Ok(Self {
            limit,
            starting_after: params.optional("starting_after"),
        })
    }

    /// One page of `oldest_first` (named `kind` in errors), newest first, of the items `keep`
    /// selects, after `starting_after`.
    fn page<'a, T: Clone + 'a>(
        &self,
        oldest_first: &'a [T],
        kind: &str,
        url: &str,
        id: impl Fn(&T) -> &str,
        keep: impl Fn(&T) -> bool,
    ) -> Result<List<T>, ApiError> {
        let mut newest_first = oldest_first.iter().rev();
        if let Some(after) = &self.starting_after {
            if !newest_first.any(|item| id(item) == after) {
                return Err(ApiError::no_such(kind, after));
            }
        }
        let mut matching = newest_first.filter(|item| keep(item));
        let data: Vec<T> = matching.by_ref().take(self.limit).cloned().collect();
        let has_more = matching.next().is_some();
        Ok(List {
            object: "list".into(),
            data,
            has_more,
            url: url.into(),
        })
    }
}

/// A list endpoint's `created[gt|gte|lt|lte]` bounds (Unix seconds).
pub(crate) struct CreatedRange {
    gt: Option<i64>,
    gte: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
}

impl CreatedRange {
    /// Reads the bounds; each is optional.
    fn read(params: &mut params::Params) -> Result<Self, ApiError> {
        let mut bound = |op: &str| -> Result<Option<i64>, ApiError> {
            let key = format!("created[{op}]");
            params
                .optional(&key)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| ApiError::invalid_param(&key, "Invalid integer."))
                })
                .transpose()
        };
        Ok(Self {
            gt: bound("gt")?,
            gte: bound("gte")?,
            lt: bound("lt")?,
            lte: bound("lte")?,
        })
    }

    /// Whether a creation time is within every bound given.
    fn contains(&self, created: i64) -> bool {
        self.gt.is_none_or(|t| created > t)
            && self.gte.is_none_or(|t| created >= t)
            && self.lt.is_none_or(|t| created < t)
            && self.lte.is_none_or(|t| created <= t)
    }
}

/// An object as JSON, for a response and the idempotency record.
fn to_json<T: serde::Serialize>(object: &T) -> Result<Value, ApiError> {
    serde_json::to_value(object).map_err(|e| ApiError::internal(format!("cannot encode: {e}")))
}

/// What `GET /v1/<objects>/{id}` answers: the object as it is now, or Stripe's
/// `resource_missing` naming `kind` and `id`.
fn found<T: Clone>(object: Option<&T>, kind: &str, id: &str) -> Result<Json<T>, ApiError> {
    object
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::no_such(kind, id))
}

async fn unrecognized(method: Method, uri: Uri) -> ApiError {
    ApiError::unrecognized_url(method.as_str(), uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_bounds_are_each_optional_and_all_apply() {
        let mut params =
            params::Params::from_query(Some("created[gt]=10&created[lte]=20")).expect("parses");
        let range = CreatedRange::read(&mut params).expect("bounds");
        assert!(params.finish().is_ok(), "every bound read");
        assert!(!range.contains(10) && range.contains(11) && range.contains(20));
        assert!(!range.contains(21));
        let mut none = params::Params::from_query(None).expect("parses");
        assert!(CreatedRange::read(&mut none)
            .expect("no bounds")
            .contains(i64::MIN));
        let mut bad = params::Params::from_query(Some("created[gte]=soon")).expect("parses");
        assert!(CreatedRange::read(&mut bad).is_err());
    }

    #[test]
    fn reads_bearer_and_basic_keys() {
        assert_eq!(api_key("Bearer sk_test_1").as_deref(), Some("sk_test_1"));
        // base64("sk_test_1:") as sent by `curl -u sk_test_1:`
        assert_eq!(
            api_key("Basic c2tfdGVzdF8xOg==").as_deref(),
            Some("sk_test_1")
        );
        assert_eq!(api_key("Bearer "), None);
        assert_eq!(api_key("Token sk_test_1"), None);
    }

    #[test]
    fn redacts_all_but_the_ends() {
        assert_eq!(redact("sk_test_abcdefgh1234"), "sk_test_****1234");
        assert_eq!(redact("short"), "*****");
    }
}
