//! `POST /v1/payouts`, `GET /v1/payouts` (newest first, by creation time and status),
//! `GET /v1/payouts/{id}` and `POST /v1/payouts/{id}/cancel`: payouts to
//! Stripe's test bank accounts, which stay pending for the configured delay (and can be canceled
//! meanwhile) and then are paid or fail, each step an event. One account is paid and then,
//! after another delay, fails: what a bank returning the money days later looks like.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::params::{usd, Params};
use super::{found, idempotency_key, replayed, to_json, Authorized, Paging};
use crate::sandbox::calendar::unix_now;
use crate::sandbox::store::random_id;
use crate::sandbox::{webhooks, App};
use crate::wire::{List, Payout, PAYOUT_CANCELED, PAYOUT_CREATED, PAYOUT_FAILED, PAYOUT_PAID};

/// Stripe's test account number whose payouts are paid.
pub const TEST_ACCOUNT_PAID: &str = "000123456789";
/// Stripe's test account number whose payouts fail with `no_account`.
pub const TEST_ACCOUNT_NO_ACCOUNT: &str = "000111111116";
/// Stripe's test account number for a closed account (`account_closed`): in the sandbox its
/// payouts are first paid, then fail, as when a bank sends the money back after the fact.
pub const TEST_ACCOUNT_CLOSED: &str = "000111111113";

const NO_ACCOUNT_CODE: &str = "no_account";
const NO_ACCOUNT_MESSAGE: &str = "The bank account details on file are probably incorrect. \
                                  No bank account could be located with those details.";
const CLOSED_CODE: &str = "account_closed";
const CLOSED_MESSAGE: &str = "The bank account has been closed.";

const REQUEST: &str = "POST /v1/payouts";

/// A validated payout request.
struct PayoutRequest {
    amount_cents: i64,
    currency: String,
    destination: String,
    description: Option<String>,
    metadata: BTreeMap<String, String>,
}

/// Creates a pending payout, announces it with `payout.created`, and schedules its outcome.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _: Authorized,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let (json, event, id) = {
        let mut store = app.store();
        if let Some(first) = replayed(&app, &store, key.as_deref(), REQUEST, &params)? {
            return Ok(first);
        }
        let fingerprint = params.all().clone();
        let request = read(&mut params)?;
        params.finish()?;
        let created = unix_now();
        let settles_in_secs = app.config.payout_delay.as_secs_f64().ceil() as i64;
        let payout = Payout {
            id: random_id("po_"),
            object: "payout".into(),
            amount: request.amount_cents,
            currency: request.currency,
            status: "pending".into(),
            metadata: request.metadata,
            destination: Some(request.destination),
            description: request.description,
            failure_code: None,
            failure_message: None,
            arrival_date: created + settles_in_secs,
            created,
            livemode: false,
        };
        let json = to_json(&payout)?;
        let event = store.record_event(PAYOUT_CREATED, json.clone(), webhooks::pending(&app));
        if let Some(key) = key {
            store.remember(&key, REQUEST, fingerprint, json.clone());
        }
        let id = payout.id.clone();
        store.payouts.push(payout);
        (json, event, id)
    };
    webhooks::dispatch(&app, &event);
    app.tasks.spawn(settle(app.clone(), id));
    Ok(Json(json).into_response())
}

/// Payouts newest first, Stripe's list shape: `created[gt|gte|lt|lte]` (Unix seconds),
/// `status`, `limit` and `starting_after`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _: Authorized,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Payout>>, ApiError> {
    let mut params = Params::from_query(query.as_deref())?;
    let paging = Paging::read(&mut params)?;
    let created = super::CreatedRange::read(&mut params)?;
    let status = params.optional("status");
    params.finish()?;
    let keep = |payout: &Payout| {
        created.contains(payout.created) && status.as_deref().is_none_or(|s| payout.status == s)
    };
    let store = app.store();
    let page = paging.page(&store.payouts, "payout", "/v1/payouts", |p| &p.id, keep)?;
    Ok(Json(page))
}

/// The payout as it is now.
pub(crate) async fn retrieve(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<Payout>, ApiError> {
    let mut store = app.store();
    found(store.payout_mut(&id).as_deref(), "payout", &id)
}

/// Cancels a payout that is still pending: `payout.canceled`. A payout already paid or failed
/// cannot be canceled (Stripe's error).
pub(crate) async fn cancel(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (json, event) = {
        let mut store = app.store();
        let payout = store
            .payout_mut(&id)
            .ok_or_else(|| ApiError::no_such("payout", &id))?;
        if payout.status != "pending" {
            return Err(ApiError::invalid_param(
                "payout",
                format!(
                    "Payouts can only be canceled while they are pending; this one is {}.",
                    payout.status
                ),
            ));
        }
        payout.status = "canceled".into();
        let json = to_json(&*payout)?;
        let event = store.record_event(PAYOUT_CANCELED, json.clone(), webhooks::pending(&app));
        (json, event)
    };
    webhooks::dispatch(&app, &event);
    Ok(Json(json).into_response())
}

/// After the payout delay: paid, or failed for the account that does not exist; the closed
/// account's payout is paid, then fails after another delay. A canceled payout stays canceled.
async fn settle(app: Arc<App>, id: String) {
    tokio::time::sleep(app.config.payout_delay).await;
    let Some(destination) = outcome(&app, &id, |payout| {
        if payout.destination.as_deref() == Some(TEST_ACCOUNT_NO_ACCOUNT) {
            fail(payout, NO_ACCOUNT_CODE, NO_ACCOUNT_MESSAGE)
        } else {
            payout.status = "paid".into();
            Some(PAYOUT_PAID)
        }
    }) else {
        return;
    };
    if destination == TEST_ACCOUNT_CLOSED {
        tokio::time::sleep(app.config.payout_delay).await;
        outcome(&app, &id, |payout| {
            fail(payout, CLOSED_CODE, CLOSED_MESSAGE)
        });
    }
}

fn fail(payout: &mut Payout, code: &str, message: &str) -> Option<&'static str> {
    payout.status = "failed".into();
    payout.failure_code = Some(code.into());
    payout.failure_message = Some(message.into());
    Some(PAYOUT_FAILED)
}

/// Applies `change` to a payout that was not canceled and announces the event it names.
/// Returns the payout's destination when it changed.
fn outcome(
    app: &Arc<App>,
    id: &str,
    change: impl FnOnce(&mut Payout) -> Option<&'static str>,
) -> Option<String> {
    let (event, destination) = {
        let mut store = app.store();
        let payout = store.payout_mut(id)?;
        if payout.status == "canceled" {
            return None;
        }
        let kind = change(payout)?;
        let destination = payout.destination.clone().unwrap_or_default();
        let object = match serde_json::to_value(&*payout) {
            Ok(object) => object,
            Err(e) => {
                eprintln!("sandbox: cannot encode payout {id}: {e}");
                return None;
            }
        };
        (
            store.record_event(kind, object, webhooks::pending(app)),
            destination,
        )
    };
    webhooks::dispatch(app, &event);
    Some(destination)
}

fn read(params: &mut Params) -> Result<PayoutRequest, ApiError> {
    let amount_cents = params.required_integer("amount")?;
    if amount_cents < 1 {
        return Err(ApiError::invalid_param(
            "amount",
            "This value must be greater than or equal to 1.",
        ));
    }
    let currency = usd("currency", &params.required("currency")?)?;
    let destination = params.required("destination")?;
    if ![
        TEST_ACCOUNT_PAID,
        TEST_ACCOUNT_NO_ACCOUNT,
        TEST_ACCOUNT_CLOSED,
    ]
    .contains(&destination.as_str())
    {
        return Err(ApiError::invalid_param(
            "destination",
            format!(
                "No such external account: '{destination}'. The sandbox pays out only to its test \
                 bank accounts {TEST_ACCOUNT_PAID} (paid), {TEST_ACCOUNT_NO_ACCOUNT} (fails) and \
                 {TEST_ACCOUNT_CLOSED} (paid, then fails)."
            ),
        )
        .with_code("resource_missing"));
    }
    let description = params.optional("description");
    let metadata = params.metadata()?;
    Ok(PayoutRequest {
        amount_cents,
        currency,
        destination,
        description,
        metadata,
    })
}
