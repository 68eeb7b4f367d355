//! `POST /webhooks/processor`: the payment processor's events, verified with Stripe's
//! signature scheme over the raw body, applied on chain through the oracle key exactly once.
//!
//! - `checkout.session.completed` (paid): mints coins; the event id is the payment id.
//! - `payout.paid`: burns the coins locked for the payout; `payout.failed`: returns them. Both
//!   use the payout's id as the payment id, so a payout ends paid or returned, once.
//!
//! Answers: 2xx when applied, already applied or not ours to act on; 4xx when forged, stale,
//! malformed or refused by the program (nothing changed); 5xx when the chain is unreachable,
//! so that the processor retries later.

use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use energy_utility::constants::MAX_ID_LEN;
use energy_utility::state::Receipt;
use energy_utility_payments::wire::{self, CheckoutSession, Event, Payout};
use energy_utility_payments::{signature, unix_now};
use energy_utility_sdk::amounts::{format_k, format_usd};
use energy_utility_sdk::{instructions, pda, SdkError};
use serde_json::json;

use super::deliveries::{Delivery, Result as Outcome};
use super::Payments;
use crate::{App, HistoryEntry};

/// Checkout sessions paid later (bank debits) complete with this event instead.
const CHECKOUT_ASYNC_SUCCEEDED: &str = "checkout.session.async_payment_succeeded";

/// What to do on chain for one event.
enum Action {
    Buy,
    PayoutPaid,
    PayoutFailed,
}

/// A verified event that asks for a change on chain.
struct Order {
    action: Action,
    resident: String,
    cents: u64,
    payment_id: String,
    detail: String,
}

/// The answer to one delivery, and its log entry.
struct Answer {
    status: StatusCode,
    delivery: Delivery,
}

impl Answer {
    fn new(status: StatusCode, result: Outcome, detail: impl Into<String>) -> Self {
        Self {
            status,
            delivery: Delivery {
                at: unix_now(),
                status: status.as_u16(),
                result,
                event_id: None,
                event_type: None,
                resident: None,
                detail: detail.into(),
                signature: None,
            },
        }
    }

    fn rejected(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Outcome::Rejected, detail)
    }

    fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, Outcome::Rejected, detail)
    }

    fn retry(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, Outcome::Retry, detail)
    }

    fn of(mut self, event: &Event) -> Self {
        self.delivery.event_id = Some(event.id.clone());
        self.delivery.event_type = Some(event.kind.clone());
        self
    }
}

pub async fn receive(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(payments) = app.payments.as_ref() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "payments are not configured on this server"})),
        )
            .into_response();
    };
    let answer = handle(&app, payments, &headers, &body).await;
    let response = (
        answer.status,
        Json(json!({
            "result": answer.delivery.result,
            "detail": answer.delivery.detail,
            "signature": answer.delivery.signature,
        })),
    )
        .into_response();
    payments.deliveries.record(answer.delivery);
    response
}

async fn handle(app: &App, payments: &Payments, headers: &HeaderMap, body: &[u8]) -> Answer {
    let Some(header) = headers.get(signature::HEADER).and_then(|h| h.to_str().ok()) else {
        return Answer::rejected(format!("no {} header", signature::HEADER));
    };
    if let Err(err) = signature::verify(
        &payments.webhook_secret,
        header,
        body,
        unix_now(),
        payments.tolerance_secs,
    ) {
        return Answer::rejected(format!("signature refused: {err}"));
    }
    let event: Event = match serde_json::from_slice(body) {
        Ok(event) => event,
        Err(err) => return Answer::rejected(format!("not a processor event: {err}")),
    };
    let order = match order(app, &event) {
        Ok(Some(order)) => order,
        Ok(None) => {
            return Answer::new(
                StatusCode::OK,
                Outcome::Ignored,
                format!("nothing to do for {}", event.kind),
            )
            .of(&event)
        }
        Err(refusal) => return Answer::from(refusal).of(&event),
    };
    let mut answer = apply(app, payments, &order).await.of(&event);
    answer.delivery.resident = Some(order.resident);
    answer
}

/// Why an event cannot be applied: malformed (400) or refused (422).
enum Refusal {
    Malformed(String),
    Unprocessable(String),
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Malformed(detail) => Answer::rejected(detail),
            Refusal::Unprocessable(detail) => Answer::unprocessable(detail),
        }
    }
}

/// Reads what the event asks for; `None` for events this service does not act on.
fn order(app: &App, event: &Event) -> Result<Option<Order>, Refusal> {
    let object = event.data.object.clone();
    let malformed =
        |err: serde_json::Error| Refusal::Malformed(format!("malformed {}: {err}", event.kind));
    let (action, resident, amount, currency, payment_id, grid, detail) = match event.kind.as_str() {
        wire::CHECKOUT_SESSION_COMPLETED | CHECKOUT_ASYNC_SUCCEEDED => {
            let session: CheckoutSession = serde_json::from_value(object).map_err(malformed)?;
            if session.payment_status != "paid" {
                return Ok(None);
            }
            let resident = session
                .client_reference_id
                .clone()
                .or_else(|| session.metadata.get("resident").cloned());
            let detail = format!("checkout {}", session.id);
            (
                Action::Buy,
                resident,
                session.amount_total.unwrap_or(0),
                session.currency.unwrap_or_default(),
                event.id.clone(),
                session.metadata.get("grid").cloned(),
                detail,
            )
        }
        wire::PAYOUT_PAID | wire::PAYOUT_FAILED => {
            let payout: Payout = serde_json::from_value(object).map_err(malformed)?;
            let action = if event.kind == wire::PAYOUT_PAID {
                Action::PayoutPaid
            } else {
                Action::PayoutFailed
            };
            let detail = match (&payout.failure_code, &payout.destination) {
                (Some(code), _) => format!("payout {} failed ({code})", payout.id),
                (None, Some(account)) => format!(
                    "payout {} to bank account ••{}",
                    payout.id,
                    &account[account.len().saturating_sub(4)..]
                ),
                (None, None) => format!("payout {}", payout.id),
            };
            (
                action,
                payout.metadata.get("resident").cloned(),
                payout.amount,
                payout.currency,
                payout.id,
                payout.metadata.get("grid").cloned(),
                detail,
            )
        }
        _ => return Ok(None),
    };
    if grid.as_deref().is_some_and(|g| g != app.grid_name) {
        return Ok(None);
    }
    let Some(resident) = resident.filter(|r| !r.is_empty()) else {
        return Err(Refusal::Unprocessable("the event names no resident".into()));
    };
    if !currency.eq_ignore_ascii_case("usd") {
        return Err(Refusal::Unprocessable(format!(
            "only US dollars are accepted, not '{currency}'"
        )));
    }
    if amount <= 0 {
        return Err(Refusal::Unprocessable(format!(
            "the amount must be a positive number of cents, not {amount}"
        )));
    }
    if payment_id.is_empty() || payment_id.len() > MAX_ID_LEN {
        return Err(Refusal::Unprocessable(format!(
            "the id '{payment_id}' cannot be a payment id (1 to {MAX_ID_LEN} bytes)"
        )));
    }
    Ok(Some(Order {
        action,
        resident,
        cents: amount as u64,
        payment_id,
        detail,
    }))
}

/// Applies an order once. Deliveries of the same payment wait for each other here, so the
/// second one finds the first one's receipt; the program's receipt account guarantees the
/// same across processes.
async fn apply(app: &App, payments: &Payments, order: &Order) -> Answer {
    let lock = payments.payment_lock(&order.payment_id);
    let _one_at_a_time = lock.lock().await;
    let answer = apply_once(app, payments, order).await;
    drop(_one_at_a_time);
    payments.release_payment_lock(&order.payment_id, lock);
    answer
}

async fn apply_once(app: &App, payments: &Payments, order: &Order) -> Answer {
    let oracle = &payments.oracle;
    let (grid, _) = match oracle.grid(&app.grid_name).await {
        Ok(grid) => grid,
        Err(err) => return unavailable(err),
    };
    let resident = match oracle.resident(&grid, &order.resident).await {
        Ok((address, _)) => address,
        Err(SdkError::NotFound { .. }) => {
            return Answer::unprocessable(format!("unknown resident '{}'", order.resident))
        }
        Err(err) => return unavailable(err),
    };
    let receipt_address = pda::receipt(&grid, &order.payment_id);
    match oracle.account::<Receipt>(&receipt_address).await {
        Ok(Some(receipt)) => return duplicate(&receipt),
        Ok(None) => {}
        Err(err) => return unavailable(err),
    }
    let payer = oracle.payer();
    let (id, cents) = (order.payment_id.as_str(), order.cents);
    let ix = match order.action {
        Action::Buy => instructions::add_fiat(&payer, &grid, &resident, cents as i64, id),
        Action::PayoutPaid => instructions::add_fiat(&payer, &grid, &resident, -(cents as i64), id),
        Action::PayoutFailed => {
            instructions::return_withdrawal(&payer, &grid, &resident, cents, id)
        }
    };
    match oracle.send(&[ix], &[]).await {
        Ok(signature) => applied(app, oracle, order, &receipt_address, signature).await,
        Err(SdkError::Program(err)) if err.name == "PaymentAlreadyProcessed" => {
            Answer::new(StatusCode::OK, Outcome::Duplicate, "already applied")
        }
        Err(SdkError::Program(err)) if err.name == "GridPaused" => {
            Answer::retry("the grid is paused; retry later")
        }
        Err(SdkError::Program(err)) => Answer::unprocessable(format!(
            "refused by the program: {} ({})",
            err.message, err.name
        )),
        Err(err) => match oracle.account::<Receipt>(&receipt_address).await {
            // Sent by a concurrent delivery, or landed though its confirmation was lost.
            Ok(Some(receipt)) => duplicate(&receipt),
            _ => unavailable(err),
        },
    }
}

fn unavailable(err: SdkError) -> Answer {
    match err {
        SdkError::NotFound { what: "grid", .. } => Answer::retry(format!(
            "{err}: is the service pointed at the right cluster?"
        )),
        err => Answer::retry(format!("the chain is unavailable: {err}")),
    }
}

fn duplicate(receipt: &Receipt) -> Answer {
    Answer::new(
        StatusCode::OK,
        Outcome::Duplicate,
        format!(
            "already applied at {} ({} k)",
            receipt.applied_ts,
            format_k(receipt.coin_units)
        ),
    )
}

async fn applied(
    app: &App,
    oracle: &energy_utility_sdk::Client,
    order: &Order,
    receipt: &Pubkey,
    signature: String,
) -> Answer {
    let coins = match oracle.account::<Receipt>(receipt).await {
        Ok(Some(receipt)) => format_k(receipt.coin_units),
        _ => "?".to_string(),
    };
    let usd = format_usd(order.cents);
    let (kind, detail) = match order.action {
        Action::Buy => (
            "fiat",
            format!("bought {coins} k for ${usd} ({})", order.detail),
        ),
        Action::PayoutPaid => (
            "sale",
            format!("sold {coins} k: ${usd} paid out ({})", order.detail),
        ),
        Action::PayoutFailed => ("sale", format!("{}: {coins} k returned", order.detail)),
    };
    let at = oracle.cluster_time().await.unwrap_or_else(|_| unix_now());
    app.record(HistoryEntry {
        resident: order.resident.clone(),
        kind,
        meter: None,
        epoch: None,
        amount_k: coins,
        detail: detail.clone(),
        at,
    });
    let mut answer = Answer::new(StatusCode::OK, Outcome::Applied, detail);
    answer.delivery.signature = Some(signature);
    answer
}
