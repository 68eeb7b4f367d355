//! `POST /v1/checkout/sessions` and `GET /v1/checkout/sessions/{id}`: one-line-item payment
//! sessions whose hosted page is served by the sandbox itself; `payment_intent_data[metadata]`
//! goes on the payment's charge when it is paid.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::params::{usd, Params};
use super::{found, idempotency_key, replayed, to_json, Authorized};
use crate::sandbox::calendar::unix_now;
use crate::sandbox::store::{random_id, HostedSession};
use crate::sandbox::App;
use crate::wire::CheckoutSession;

const REQUEST: &str = "POST /v1/checkout/sessions";

/// Stripe's smallest charge in USD.
const MIN_UNIT_AMOUNT_CENTS: i64 = 50;
/// Stripe's largest amount (eight digits).
const MAX_UNIT_AMOUNT_CENTS: i64 = 99_999_999;
/// Stripe's default session lifetime.
const SESSION_LIFETIME_SECS: i64 = 24 * 60 * 60;
/// Stripe's limit on `client_reference_id`.
const MAX_CLIENT_REFERENCE_CHARS: usize = 200;

const CURRENCY: &str = "line_items[0][price_data][currency]";
const UNIT_AMOUNT: &str = "line_items[0][price_data][unit_amount]";
const PRODUCT_NAME: &str = "line_items[0][price_data][product_data][name]";
const QUANTITY: &str = "line_items[0][quantity]";

/// A validated session request.
struct SessionRequest {
    amount_cents: i64,
    currency: String,
    product_name: String,
    client_reference_id: Option<String>,
    metadata: BTreeMap<String, String>,
    payment_metadata: BTreeMap<String, String>,
    success_url: String,
    cancel_url: String,
}

/// Creates an open, unpaid session payable at `<sandbox>/c/pay/<id>`.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _: Authorized,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let mut store = app.store();
    if let Some(first) = replayed(&app, &store, key.as_deref(), REQUEST, &params)? {
        return Ok(first);
    }
    let fingerprint = params.all().clone();
    let request = read(&mut params)?;
    params.finish()?;
    let id = random_id("cs_test_");
    let created = unix_now();
    let session = CheckoutSession {
        url: Some(format!("{}/c/pay/{id}", app.url)),
        payment_intent: None,
        id,
        object: "checkout.session".into(),
        amount_total: Some(request.amount_cents),
        currency: Some(request.currency),
        client_reference_id: request.client_reference_id,
        metadata: request.metadata,
        mode: "payment".into(),
        payment_status: "unpaid".into(),
        status: Some("open".into()),
        success_url: Some(request.success_url),
        cancel_url: Some(request.cancel_url),
        livemode: false,
        created,
        expires_at: Some(created + SESSION_LIFETIME_SECS),
    };
    let json = to_json(&session)?;
    store.sessions.push(HostedSession {
        session,
        product_name: request.product_name,
        payment_metadata: request.payment_metadata,
    });
    if let Some(key) = key {
        store.remember(&key, REQUEST, fingerprint, json.clone());
    }
    Ok(Json(json).into_response())
}

/// The session as it is now.
pub(crate) async fn retrieve(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<CheckoutSession>, ApiError> {
    let mut store = app.store();
    let session = store.session_mut(&id).map(|hosted| &hosted.session);
    found(session, "checkout.session", &id)
}

fn read(params: &mut Params) -> Result<SessionRequest, ApiError> {
    let mode = params.required("mode")?;
    if mode != "payment" {
        return Err(ApiError::invalid_param(
            "mode",
            format!("Invalid mode: {mode}. The sandbox supports only mode=payment."),
        ));
    }
    let other_items = params
        .unread_keys()
        .any(|key| key.starts_with("line_items[") && !key.starts_with("line_items[0]"));
    if other_items {
        return Err(ApiError::invalid_param(
            "line_items",
            "The sandbox supports exactly one line item, line_items[0].",
        ));
    }
    let currency = usd(CURRENCY, &params.required(CURRENCY)?)?;
    let amount_cents = params.required_integer(UNIT_AMOUNT)?;
    if amount_cents < MIN_UNIT_AMOUNT_CENTS {
        return Err(ApiError::invalid_param(
            UNIT_AMOUNT,
            "The Checkout Session's total amount due must add up to at least $0.50 usd",
        )
        .with_code("amount_too_small"));
    }
    if amount_cents > MAX_UNIT_AMOUNT_CENTS {
        return Err(ApiError::invalid_param(
            UNIT_AMOUNT,
            format!("This value must be less than or equal to {MAX_UNIT_AMOUNT_CENTS}."),
        )
        .with_code("amount_too_large"));
    }
    let product_name = params.required(PRODUCT_NAME)?;
    let quantity = params.required_integer(QUANTITY)?;
    if quantity != 1 {
        return Err(ApiError::invalid_param(
            QUANTITY,
            "The sandbox supports only quantity 1.",
        ));
    }
    let success_url = params.required_url("success_url")?;
    let cancel_url = params.required_url("cancel_url")?;
    let client_reference_id = params.optional("client_reference_id");
    if client_reference_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > MAX_CLIENT_REFERENCE_CHARS)
    {
        return Err(ApiError::invalid_param(
            "client_reference_id",
            format!(
                "client_reference_id must be at most {MAX_CLIENT_REFERENCE_CHARS} characters long."
            ),
        ));
    }
    let metadata = params.metadata()?;
    let payment_metadata = params.metadata_under("payment_intent_data[metadata]")?;
    Ok(SessionRequest {
        amount_cents,
        currency,
        product_name,
        client_reference_id,
        metadata,
        payment_metadata,
        success_url,
        cancel_url,
    })
}
