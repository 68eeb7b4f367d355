//! `POST /webhooks/processor`: the payment processor's events, verified with Stripe's
//! signature scheme over the raw body, applied on chain through the oracle key exactly once.
//!
//! - `checkout.session.completed` (paid): mints coins; the event id is the payment id and the
//!   event's time is the payment's (a payment older than the grid's receipt retention is
//!   refused, so it can never be minted twice).
//! - `payout.paid`: burns the coins of the sale the payout serves; `payout.failed` and
//!   `payout.canceled` return them, or give them back if the payout had already been paid. The
//!   sale account makes each outcome apply once, whatever order the events arrive in.
//!
//! Only events this service created are acted on: they carry the grid's name in their
//! metadata. Anything else on the same processor account (other products, automatic payouts)
//! is answered 200 `ignored`, so the processor does not retry it for days.
//!
//! Answers: 2xx when applied, already applied or not ours to act on; 4xx when forged, stale,
//! malformed or refused by the program (nothing changed); 5xx when the chain is unreachable,
//! the grid paused or the oracle's mint budget spent, so that the processor retries later.

use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use energy_utility_payments::wire::{self, CheckoutSession, Event, Payout};
use energy_utility_payments::{signature, unix_now};
use energy_utility_sdk::accounts::{Receipt, Sale, SaleStatus};
use energy_utility_sdk::amounts::{format_k, format_usd};
use energy_utility_sdk::events::Event as ProgramEvent;
use energy_utility_sdk::{fiat, instructions, pda, SdkError};
use serde_json::json;

use super::deliveries::{Delivery, Result as Outcome};
use super::Payments;
use crate::App;

/// Checkout sessions paid later (bank debits) complete with this event instead.
const CHECKOUT_ASYNC_SUCCEEDED: &str = "checkout.session.async_payment_succeeded";

/// What to do on chain for one event.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Buy,
    PayoutPaid,
    PayoutFailed,
}

/// A verified event of ours that asks for a change on chain.
struct Order {
    action: Action,
    resident: String,
    cents: u64,
    /// The event id (a purchase) or the payout id.
    payment_id: String,
    /// When the processor says it happened.
    event_ts: i64,
    /// The sale a payout serves.
    sale: Option<Pubkey>,
    detail: String,
}

impl Order {
    /// Deliveries that touch the same on-chain record wait for each other.
    fn lock_key(&self) -> String {
        match self.sale {
            Some(sale) => sale.to_string(),
            None => self.payment_id.clone(),
        }
    }
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

/// Reads what the event asks for; `None` for events this service does not act on: other
/// types, unpaid sessions, and anything without this grid's name in its metadata.
fn order(app: &App, event: &Event) -> Result<Option<Order>, Refusal> {
    let object = event.data.object.clone();
    let malformed =
        |err: serde_json::Error| Refusal::Malformed(format!("malformed {}: {err}", event.kind));
    let (action, metadata, amount, currency, payment_id, detail) = match event.kind.as_str() {
        wire::CHECKOUT_SESSION_COMPLETED | CHECKOUT_ASYNC_SUCCEEDED => {
            let session: CheckoutSession = serde_json::from_value(object).map_err(malformed)?;
            if session.payment_status != "paid" {
                return Ok(None);
            }
            let detail = format!("checkout {}", session.id);
            (
                Action::Buy,
                session.metadata,
                session.amount_total.unwrap_or(0),
                session.currency.unwrap_or_default(),
                event.id.clone(),
                detail,
            )
        }
        wire::PAYOUT_PAID | wire::PAYOUT_FAILED | wire::PAYOUT_CANCELED => {
            let payout: Payout = serde_json::from_value(object).map_err(malformed)?;
            let action = if event.kind == wire::PAYOUT_PAID {
                Action::PayoutPaid
            } else {
                Action::PayoutFailed
            };
            let detail = match (&payout.failure_code, &payout.destination) {
                (Some(code), _) => format!("payout {} failed ({code})", payout.id),
                _ if event.kind == wire::PAYOUT_CANCELED => {
                    format!("payout {} canceled", payout.id)
                }
                (None, Some(account)) => format!(
                    "payout {} to bank account ••{}",
                    payout.id,
                    &account[account.len().saturating_sub(4)..]
                ),
                (None, None) => format!("payout {}", payout.id),
            };
            (
                action,
                payout.metadata,
                payout.amount,
                payout.currency,
                payout.id,
                detail,
            )
        }
        _ => return Ok(None),
    };
    // Not created by this service for this grid: another product, another grid, or a payout
    // the processor made on its own.
    if metadata.get(super::META_GRID) != Some(&app.grid_name) {
        return Ok(None);
    }
    let Some(resident) = metadata
        .get(super::META_RESIDENT)
        .filter(|r| !r.is_empty())
        .cloned()
    else {
        return Err(Refusal::Unprocessable("the event names no resident".into()));
    };
    let sale = match action {
        Action::Buy => None,
        Action::PayoutPaid | Action::PayoutFailed => {
            let sale = metadata
                .get(super::META_SALE)
                .and_then(|s| s.parse::<Pubkey>().ok())
                .ok_or_else(|| {
                    Refusal::Unprocessable("the payout names no sale of this grid".into())
                })?;
            Some(sale)
        }
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
    if let Err(reason) = fiat::check_payment_id(&payment_id) {
        return Err(Refusal::Unprocessable(format!(
            "the id '{payment_id}' cannot be a payment id: {reason}"
        )));
    }
    Ok(Some(Order {
        action,
        resident,
        cents: amount as u64,
        payment_id,
        event_ts: event.created,
        sale,
        detail,
    }))
}

/// Applies an order once. Deliveries of the same payment wait for each other here, so the
/// second one finds the first one's receipt; the program's receipt account guarantees the
/// same across processes.
async fn apply(app: &App, payments: &Payments, order: &Order) -> Answer {
    let key = order.lock_key();
    let lock = payments.payment_lock(&key);
    let _one_at_a_time = lock.lock().await;
    let answer = match order.sale {
        None => apply_purchase(app, payments, order).await,
        Some(sale) => apply_payout(app, payments, order, sale).await,
    };
    drop(_one_at_a_time);
    payments.release_payment_lock(&key, lock);
    answer
}

async fn apply_purchase(app: &App, payments: &Payments, order: &Order) -> Answer {
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
    let ix = instructions::add_fiat(
        &oracle.payer(),
        &grid,
        &resident,
        order.cents,
        &order.payment_id,
        order.event_ts,
    );
    match oracle.send(&[ix], &[]).await {
        Ok(sent) => {
            // What the program minted, as its event says.
            let minted = sent.events.iter().find_map(|e| match e {
                ProgramEvent::FiatApplied(applied) => Some(applied.coin_units),
                _ => None,
            });
            let coins = minted.map_or_else(|| "?".to_string(), format_k);
            applied(order, coins, sent.signature)
        }
        Err(err) => match refused(err) {
            Ok(answer) => answer,
            Err(err) => match oracle.account::<Receipt>(&receipt_address).await {
                // Sent by a concurrent delivery, or landed though its confirmation was lost.
                Ok(Some(receipt)) => duplicate(&receipt),
                _ => unavailable(err),
            },
        },
    }
}

async fn apply_payout(app: &App, payments: &Payments, order: &Order, address: Pubkey) -> Answer {
    let oracle = &payments.oracle;
    let (grid, _) = match oracle.grid(&app.grid_name).await {
        Ok(grid) => grid,
        Err(err) => return unavailable(err),
    };
    let sale = match oracle.account::<Sale>(&address).await {
        Ok(Some(sale)) if sale.grid == grid => sale,
        Ok(_) => {
            return Answer::new(
                StatusCode::OK,
                Outcome::Ignored,
                format!(
                    "{}: no sale {address} on this grid (closed after the retention window?)",
                    order.detail
                ),
            )
        }
        Err(err) => return unavailable(err),
    };
    if let Some(answer) = settled_already(order, &sale) {
        return answer;
    }
    if sale.status != SaleStatus::Requested && order.cents != sale.cents {
        return Answer::unprocessable(format!(
            "{}: ${} is not the ${} sale {} was locked for",
            order.detail,
            format_usd(order.cents),
            format_usd(sale.cents),
            sale.number
        ));
    }
    let payer = oracle.payer();
    let (resident, id) = (&sale.resident, order.payment_id.as_str());
    let ix = match order.action {
        Action::PayoutPaid => instructions::payout_paid(&payer, &grid, resident, &address, id),
        _ => instructions::payout_failed(&payer, &grid, resident, &address, id),
    };
    match oracle.send_without_events(&[ix], &[]).await {
        Ok(signature) => applied(order, format_k(sale.units), signature),
        Err(err) => match refused(err) {
            Ok(answer) => answer,
            Err(err) => match oracle.account::<Sale>(&address).await {
                Ok(Some(now)) => settled_already(order, &now).unwrap_or_else(|| unavailable(err)),
                _ => unavailable(err),
            },
        },
    }
}

/// What a delivery finds when the sale already shows its outcome: the same outcome again is a
/// duplicate; a `paid` after the payout failed is stale (the failure stands).
fn settled_already(order: &Order, sale: &Sale) -> Option<Answer> {
    let same_payout = sale.payout_id == order.payment_id;
    match (order.action, sale.status) {
        (Action::PayoutPaid, SaleStatus::Paid)
        | (Action::PayoutFailed, SaleStatus::Returned | SaleStatus::Reversed)
            if same_payout =>
        {
            Some(Answer::new(
                StatusCode::OK,
                Outcome::Duplicate,
                format!("already applied: sale {} is {:?}", sale.number, sale.status),
            ))
        }
        (Action::PayoutPaid, SaleStatus::Returned | SaleStatus::Reversed) if same_payout => {
            Some(Answer::new(
                StatusCode::OK,
                Outcome::Ignored,
                format!(
                    "{}: the payout already failed and its coins were returned",
                    order.detail
                ),
            ))
        }
        _ => None,
    }
}

/// A program refusal as an answer, or the error back when it is no refusal (the chain is
/// unreachable, or the transaction's fate is unknown).
fn refused(err: SdkError) -> Result<Answer, SdkError> {
    let SdkError::Program(program) = &err else {
        return Err(err);
    };
    Ok(match program.name.as_str() {
        "PaymentAlreadyProcessed" => {
            Answer::new(StatusCode::OK, Outcome::Duplicate, "already applied")
        }
        "PayoutAlreadyFailed" => Answer::new(
            StatusCode::OK,
            Outcome::Ignored,
            "the payout already failed and its coins were returned",
        ),
        "PaymentOutsideRetention" => Answer::new(
            StatusCode::OK,
            Outcome::Ignored,
            "the payment is older than the grid's receipt retention: never applied twice",
        ),
        "GridPaused" => Answer::retry("the grid is paused; retry later"),
        "MintLimitExceeded" => Answer::retry(
            "the oracle's mint limit for its window is spent; retry when the window frees",
        ),
        _ => Answer::unprocessable(format!(
            "refused by the program: {} ({})",
            program.message, program.name
        )),
    })
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

/// What a delivery that was applied on chain answers (and the delivery log keeps).
fn applied(order: &Order, coins: String, signature: String) -> Answer {
    let usd = format_usd(order.cents);
    let detail = match order.action {
        Action::Buy => format!("bought {coins} k for ${usd} ({})", order.detail),
        Action::PayoutPaid => format!("sold {coins} k: ${usd} paid out ({})", order.detail),
        Action::PayoutFailed => format!("{}: {coins} k returned", order.detail),
    };
    let mut answer = Answer::new(StatusCode::OK, Outcome::Applied, detail);
    answer.delivery.signature = Some(signature);
    answer
}
