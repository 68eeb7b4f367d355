//! `POST /webhooks/processor`: the payment processor's events, verified with Stripe's
//! signature scheme over the raw body, applied on chain through the oracle key exactly once.
//!
//! - `checkout.session.completed` (paid): mints coins; the session's PaymentIntent (`pi_…`) is
//!   the payment id and the event's time is the payment's (a payment older than the grid's
//!   receipt retention is refused, so it can never be minted twice).
//! - `transfer.created`: the dollars of a sale reached the resident's connected account: burns
//!   the sale's coins. `transfer.reversed` (the whole transfer) gives them back. The sale
//!   account makes each outcome apply once, whatever order the events arrive in.
//! - `charge.refunded`: takes back the coins the refunded dollars bought (the charge's
//!   cumulative `amount_refunded`), from the resident's coins, then their sales not yet
//!   locked, the rest as a debt. `charge.dispute.created` does the same for a dispute (not for
//!   an inquiry); `charge.dispute.closed` as `won` gives them back. The purchase's receipt
//!   counts what was taken, so each applies once.
//! - `account.updated`: noted in the delivery log (a connected account finished onboarding or
//!   owes the processor details); nothing changes on chain.
//!
//! Only events about this service's records are acted on: checkouts, transfers and accounts
//! carry the grid's name in their metadata; refunds and disputes name a PaymentIntent that has
//! a receipt on this grid. Anything else on the same processor account is answered 200
//! `ignored`, so the processor does not retry it for days. An event whose `livemode` is not
//! the key's mode is refused: test and live never mix.
//!
//! Answers: 2xx when applied, already applied or not ours to act on; 4xx when forged, stale,
//! malformed, of the other mode or refused by the program (nothing changed); 5xx when the
//! chain is unreachable, the grid paused or the oracle's mint budget spent, so that the
//! processor retries later.

use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use energy_utility_payments::wire::{
    self, Account, Charge, CheckoutSession, Dispute, Event, Transfer,
};
use energy_utility_payments::{signature, unix_now};
use energy_utility_sdk::accounts::{Clawback, Receipt, Resident, Sale, SaleStatus};
use energy_utility_sdk::amounts::{format_k, format_usd};
use energy_utility_sdk::events::Event as ProgramEvent;
use energy_utility_sdk::{fiat, instructions, pda, SdkError};
use serde_json::json;

use super::deliveries::{truncated, Delivery, Result as Outcome, MAX_DETAIL_CHARS};
use super::Payments;
use crate::App;

/// Checkout sessions paid later (bank debits) complete with this event instead.
const CHECKOUT_ASYNC_SUCCEEDED: &str = "checkout.session.async_payment_succeeded";

/// What to do on chain for one event.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Action {
    /// A purchase: mint.
    Buy,
    /// A sale's transfer was made: burn its coins.
    TransferMade,
    /// A sale's transfer was reversed: give its coins back.
    TransferReversed,
    /// A purchase refunded (cumulative cents) or disputed: take its coins back.
    ClawBack(Clawback),
    /// A dispute won: give back what it took.
    DisputeWon,
}

/// A verified event of ours that asks for a change on chain.
struct Order {
    action: Action,
    /// The resident's id, when the event names it (refunds and disputes find it on chain).
    resident: Option<String>,
    cents: u64,
    /// The purchase's PaymentIntent, or the transfer's id.
    payment_id: String,
    /// When the processor says it happened.
    event_ts: i64,
    /// The sale a transfer serves.
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
    /// Whether the delivery passed the signature check (only those are kept).
    authenticated: bool,
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
            authenticated: true,
        }
    }

    fn ignored(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, Outcome::Ignored, detail)
    }

    fn rejected(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Outcome::Rejected, detail)
    }

    /// A delivery that failed the signature check: 400, counted but not kept.
    fn unauthenticated(detail: impl Into<String>) -> Self {
        let mut answer = Self::rejected(detail);
        answer.authenticated = false;
        answer
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
    let detail = truncated(&answer.delivery.detail, MAX_DETAIL_CHARS);
    let response = (
        answer.status,
        Json(json!({
            "result": answer.delivery.result,
            "detail": detail,
            "signature": answer.delivery.signature,
        })),
    )
        .into_response();
    match answer.authenticated {
        true => payments.deliveries.record(answer.delivery),
        false => payments
            .deliveries
            .refuse_unauthenticated(&answer.delivery.detail),
    }
    response
}

async fn handle(app: &App, payments: &Payments, headers: &HeaderMap, body: &[u8]) -> Answer {
    let Some(header) = headers.get(signature::HEADER).and_then(|h| h.to_str().ok()) else {
        return Answer::unauthenticated(format!("no {} header", signature::HEADER));
    };
    if let Err(err) = signature::verify(
        &payments.webhook_secret,
        header,
        body,
        unix_now(),
        payments.tolerance_secs,
    ) {
        return Answer::unauthenticated(format!("signature refused: {err}"));
    }
    let event: Event = match serde_json::from_slice(body) {
        Ok(event) => event,
        Err(err) => return Answer::rejected(format!("not a processor event: {err}")),
    };
    if event.livemode != payments.processor.live_mode() {
        let (event_mode, key_mode) = match event.livemode {
            true => ("a live", "test"),
            false => ("a test-mode", "live"),
        };
        return Answer::rejected(format!(
            "{event_mode} event on a service with a {key_mode} key: test and live never mix"
        ))
        .of(&event);
    }
    let order = match order(app, &event) {
        Ok(Some(order)) => order,
        Ok(None) => return Answer::ignored(format!("nothing to do for {}", event.kind)).of(&event),
        Err(refusal) => return Answer::from(refusal).of(&event),
    };
    let mut answer = apply(app, payments, &order).await.of(&event);
    if answer.delivery.resident.is_none() {
        answer.delivery.resident = order.resident;
    }
    answer
}

/// Why an event cannot be applied: malformed (400), refused (422), or ours but with nothing
/// to do (200, with what it said).
enum Refusal {
    Malformed(String),
    Unprocessable(String),
    Noted(String),
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Malformed(detail) => Answer::rejected(detail),
            Refusal::Unprocessable(detail) => Answer::unprocessable(detail),
            Refusal::Noted(detail) => Answer::ignored(detail),
        }
    }
}

/// Reads what the event asks for; `None` for events this service does not act on: other
/// types, unpaid sessions, and anything without this grid's name in its metadata.
fn order(app: &App, event: &Event) -> Result<Option<Order>, Refusal> {
    let malformed =
        |err: serde_json::Error| Refusal::Malformed(format!("malformed {}: {err}", event.kind));
    let ours = |metadata: &std::collections::BTreeMap<String, String>| {
        metadata.get(super::META_GRID) == Some(&app.grid_name)
    };
    let mut order = match event.kind.as_str() {
        wire::CHECKOUT_SESSION_COMPLETED | CHECKOUT_ASYNC_SUCCEEDED => {
            let session: CheckoutSession = event.data_object().map_err(malformed)?;
            if session.payment_status != "paid" || !ours(&session.metadata) {
                return Ok(None);
            }
            let Some(payment_intent) = session.payment_intent.filter(|p| !p.is_empty()) else {
                return Err(Refusal::Unprocessable(format!(
                    "checkout {} was paid but names no payment intent: a refund or a dispute could not find its coins",
                    session.id
                )));
            };
            Order {
                action: Action::Buy,
                resident: Some(resident_of(&session.metadata)?),
                cents: positive(session.amount_total.unwrap_or(0))?,
                detail: format!("checkout {}, payment {payment_intent}", session.id),
                payment_id: payment_intent,
                event_ts: event.created,
                sale: None,
            }
            .in_usd(session.currency.as_deref().unwrap_or_default())?
        }
        wire::TRANSFER_CREATED | wire::TRANSFER_REVERSED => {
            let transfer: Transfer = event.data_object().map_err(malformed)?;
            if !ours(&transfer.metadata) {
                return Ok(None);
            }
            let action = if event.kind == wire::TRANSFER_CREATED {
                Action::TransferMade
            } else if transfer.reversed {
                Action::TransferReversed
            } else {
                // The program returns a sale's coins whole; part of a transfer taken back is
                // the operator's to settle with the resident.
                return Err(Refusal::Noted(format!(
                    "transfer {}: ${} of ${} reversed; the sale's coins come back only when the whole transfer is reversed",
                    transfer.id,
                    format_usd(transfer.amount_reversed.max(0) as u64),
                    format_usd(transfer.amount.max(0) as u64)
                )));
            };
            transfer_order(action, &transfer, event)?
        }
        wire::CHARGE_REFUNDED => {
            let charge: Charge = event.data_object().map_err(malformed)?;
            let Some(payment_intent) = charge.payment_intent.clone() else {
                return Ok(None);
            };
            Order {
                action: Action::ClawBack(Clawback::Refund),
                resident: charge.metadata.get(super::META_RESIDENT).cloned(),
                cents: positive(charge.amount_refunded)?,
                detail: format!(
                    "charge {} refunded ${} in all",
                    charge.id,
                    format_usd(charge.amount_refunded.max(0) as u64)
                ),
                payment_id: payment_intent,
                event_ts: event.created,
                sale: None,
            }
            .in_usd(&charge.currency)?
        }
        wire::CHARGE_DISPUTE_CREATED | wire::CHARGE_DISPUTE_CLOSED => {
            let dispute: Dispute = event.data_object().map_err(malformed)?;
            let Some(payment_intent) = dispute.payment_intent.clone() else {
                return Ok(None);
            };
            let action = match (event.kind.as_str(), dispute.status.as_str()) {
                (_, _) if dispute.is_inquiry() => {
                    return Err(Refusal::Noted(format!(
                        "dispute {} is an inquiry ({}): no money was taken, no coins are",
                        dispute.id, dispute.status
                    )))
                }
                (wire::CHARGE_DISPUTE_CREATED, _) => Action::ClawBack(Clawback::Dispute),
                (_, "won") => Action::DisputeWon,
                (_, status) => {
                    return Err(Refusal::Noted(format!(
                        "dispute {} closed {status}: the coins it took stay taken",
                        dispute.id
                    )))
                }
            };
            Order {
                action,
                resident: None,
                cents: positive(dispute.amount)?,
                detail: format!(
                    "dispute {} of charge {} ({}, {})",
                    dispute.id, dispute.charge, dispute.reason, dispute.status
                ),
                payment_id: payment_intent,
                event_ts: event.created,
                sale: None,
            }
            .in_usd(&dispute.currency)?
        }
        wire::ACCOUNT_UPDATED => {
            let account: Account = event.data_object().map_err(malformed)?;
            if !ours(&account.metadata) {
                return Ok(None);
            }
            return Err(Refusal::Noted(super::connect::describe_status(&account)));
        }
        _ => return Ok(None),
    };
    if let Err(reason) = fiat::check_payment_id(&order.payment_id) {
        return Err(Refusal::Unprocessable(format!(
            "the id '{}' cannot be a payment id: {reason}",
            order.payment_id
        )));
    }
    order.detail = order.detail.trim().to_string();
    Ok(Some(order))
}

/// The order a transfer event of ours asks for.
fn transfer_order(action: Action, transfer: &Transfer, event: &Event) -> Result<Order, Refusal> {
    let sale = transfer
        .metadata
        .get(super::META_SALE)
        .and_then(|s| s.parse::<Pubkey>().ok())
        .ok_or_else(|| Refusal::Unprocessable("the transfer names no sale of this grid".into()))?;
    let destination = transfer.destination.as_deref().unwrap_or("?");
    let detail = match action {
        Action::TransferReversed => format!("transfer {} to {destination} reversed", transfer.id),
        _ => format!("transfer {} to {destination}", transfer.id),
    };
    Order {
        action,
        resident: Some(resident_of(&transfer.metadata)?),
        cents: positive(transfer.amount)?,
        payment_id: transfer.id.clone(),
        event_ts: event.created,
        sale: Some(sale),
        detail,
    }
    .in_usd(&transfer.currency)
}

impl Order {
    fn in_usd(self, currency: &str) -> Result<Self, Refusal> {
        if !currency.eq_ignore_ascii_case("usd") {
            return Err(Refusal::Unprocessable(format!(
                "only US dollars are accepted, not '{currency}'"
            )));
        }
        Ok(self)
    }
}

fn resident_of(metadata: &std::collections::BTreeMap<String, String>) -> Result<String, Refusal> {
    metadata
        .get(super::META_RESIDENT)
        .filter(|r| !r.is_empty())
        .cloned()
        .ok_or_else(|| Refusal::Unprocessable("the event names no resident".into()))
}

fn positive(amount: i64) -> Result<u64, Refusal> {
    u64::try_from(amount)
        .ok()
        .filter(|cents| *cents > 0)
        .ok_or_else(|| {
            Refusal::Unprocessable(format!(
                "the amount must be a positive number of cents, not {amount}"
            ))
        })
}

/// Records on chain a transfer `POST /api/sell` just made (the `transfer.created` delivery
/// then finds it done): whether it was recorded now.
pub(super) async fn record_transfer(
    app: &App,
    payments: &Payments,
    resident: &str,
    transfer: &Transfer,
) -> bool {
    let event = Event {
        id: String::new(),
        object: "event".into(),
        api_version: None,
        created: transfer.created,
        livemode: transfer.livemode,
        kind: wire::TRANSFER_CREATED.into(),
        data: wire::EventData {
            object: json!(null),
        },
        pending_webhooks: 0,
    };
    let Ok(order) = transfer_order(Action::TransferMade, transfer, &event) else {
        return false;
    };
    let answer = apply(app, payments, &order).await;
    let done = matches!(
        answer.delivery.result,
        Outcome::Applied | Outcome::Duplicate
    );
    if !done {
        tracing::info!(target: "deu",
            "payments: transfer {} of {resident} not yet recorded on chain ({}); its transfer.created delivery will",
            transfer.id, answer.delivery.detail
        );
    }
    done
}

/// Applies an order once. Deliveries of the same payment wait for each other here, so the
/// second one finds the first one's receipt; the program's receipt and sale accounts
/// guarantee the same across processes.
async fn apply(app: &App, payments: &Payments, order: &Order) -> Answer {
    let key = order.lock_key();
    let lock = payments.payment_lock(&key);
    let _one_at_a_time = lock.lock().await;
    let answer = match (order.action, order.sale) {
        (Action::Buy, _) => apply_purchase(app, payments, order).await,
        (Action::ClawBack(_) | Action::DisputeWon, _) => apply_clawback(app, payments, order).await,
        (_, Some(sale)) => apply_transfer(app, payments, order, sale).await,
        (_, None) => Answer::unprocessable("the transfer names no sale"),
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
    let id = order.resident.as_deref().unwrap_or_default();
    let resident = match oracle.resident(&grid, id).await {
        Ok((address, _)) => address,
        Err(SdkError::NotFound { .. }) => {
            return Answer::unprocessable(format!("unknown resident '{id}'"))
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
            // What the program minted and held, as its event says.
            let applied_event = sent.events.iter().find_map(|e| match e {
                ProgramEvent::FiatApplied(applied) => Some(applied.clone()),
                _ => None,
            });
            let coins = applied_event
                .as_ref()
                .map_or_else(|| "?".to_string(), |a| format_k(a.coin_units));
            let mut answer = applied(order, coins, sent.signature);
            if let Some(a) = applied_event {
                if a.debt_repaid_units > 0 {
                    answer.delivery.detail += &format!(
                        "; {} k of it repaid {id}'s debt",
                        format_k(a.debt_repaid_units)
                    );
                }
                if a.held_until_ts > 0 {
                    answer.delivery.detail += &format!(
                        "; sellable from {}",
                        energy_utility_sdk::views::format_time(a.held_until_ts)
                    );
                }
            }
            answer
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

/// Takes back (or, for a dispute won, gives back) the coins of a purchase of this grid.
async fn apply_clawback(app: &App, payments: &Payments, order: &Order) -> Answer {
    let oracle = &payments.oracle;
    let (grid, _) = match oracle.grid(&app.grid_name).await {
        Ok(grid) => grid,
        Err(err) => return unavailable(err),
    };
    let receipt = match oracle
        .account::<Receipt>(&pda::receipt(&grid, &order.payment_id))
        .await
    {
        Ok(Some(receipt)) => receipt,
        Ok(None) => {
            return Answer::ignored(format!(
                "{}: payment {} bought no coins on this grid (or its receipt was closed after the retention window)",
                order.detail, order.payment_id
            ))
        }
        Err(err) => return unavailable(err),
    };
    let resident = match oracle.account::<Resident>(&receipt.resident).await {
        Ok(Some(resident)) => resident,
        Ok(None) => {
            return Answer::unprocessable(format!(
                "{}: the purchase's resident {} is gone",
                order.detail, receipt.resident
            ))
        }
        Err(err) => return unavailable(err),
    };
    let named = |mut answer: Answer| {
        answer.delivery.resident = Some(resident.id.clone());
        answer
    };
    if let Some(done) = clawed_already(order, &receipt) {
        return named(done);
    }
    let payer = oracle.payer();
    let ix = match order.action {
        Action::ClawBack(kind) => {
            let sales = match oracle.sales(&receipt.resident, &resident).await {
                Ok(sales) => sales,
                Err(err) => return unavailable(err),
            };
            let requested: Vec<Pubkey> = sales
                .into_iter()
                .filter(|(_, _, sale)| sale.status == SaleStatus::Requested)
                .map(|(_, address, _)| address)
                .collect();
            instructions::claw_back(
                &payer,
                &grid,
                &receipt.resident,
                &order.payment_id,
                kind,
                order.cents,
                &requested,
            )
        }
        _ => instructions::restore_dispute(&payer, &grid, &receipt.resident, &order.payment_id),
    };
    let answer = match oracle.send(&[ix], &[]).await {
        Ok(sent) => {
            let detail = sent
                .events
                .iter()
                .find_map(|e| match e {
                    ProgramEvent::PurchaseClawedBack(c) => Some(format!(
                        "{}: {} k taken back ({} k from coins, {} k from sales, {} k owed)",
                        order.detail,
                        format_k(c.units),
                        format_k(c.from_coins_units),
                        format_k(c.from_sales_units),
                        format_k(c.debt_units)
                    )),
                    ProgramEvent::DisputeWon(w) => Some(format!(
                        "{}: {} k given back",
                        order.detail,
                        format_k(w.units)
                    )),
                    _ => None,
                })
                .unwrap_or_else(|| order.detail.clone());
            let mut answer = Answer::new(StatusCode::OK, Outcome::Applied, detail);
            answer.delivery.signature = Some(sent.signature);
            answer
        }
        Err(err) => match refused(err) {
            Ok(answer) => answer,
            Err(err) => {
                match oracle
                    .account::<Receipt>(&pda::receipt(&grid, &order.payment_id))
                    .await
                {
                    Ok(Some(now)) => {
                        clawed_already(order, &now).unwrap_or_else(|| unavailable(err))
                    }
                    _ => unavailable(err),
                }
            }
        },
    };
    named(answer)
}

/// What a delivery finds when the receipt already counts what it asks for.
fn clawed_already(order: &Order, receipt: &Receipt) -> Option<Answer> {
    let done = match order.action {
        Action::ClawBack(Clawback::Refund) => receipt.refunded_cents >= order.cents,
        Action::ClawBack(Clawback::Dispute) => {
            receipt.dispute_won || receipt.disputed_cents >= order.cents
        }
        Action::DisputeWon => receipt.dispute_won,
        _ => false,
    };
    done.then(|| {
        Answer::new(
            StatusCode::OK,
            Outcome::Duplicate,
            format!(
                "already applied: payment {} has ${} refunded and ${} under dispute ({} k taken back)",
                receipt.payment_id,
                format_usd(receipt.refunded_cents),
                format_usd(receipt.disputed_cents),
                format_k(receipt.clawed_units)
            ),
        )
    })
}

async fn apply_transfer(app: &App, payments: &Payments, order: &Order, address: Pubkey) -> Answer {
    let oracle = &payments.oracle;
    let (grid, _) = match oracle.grid(&app.grid_name).await {
        Ok(grid) => grid,
        Err(err) => return unavailable(err),
    };
    let sale = match oracle.account::<Sale>(&address).await {
        Ok(Some(sale)) if sale.grid == grid => sale,
        Ok(_) => {
            return Answer::ignored(format!(
                "{}: no sale {address} on this grid (closed after the retention window?)",
                order.detail
            ))
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
        Action::TransferMade => instructions::payout_paid(&payer, &grid, resident, &address, id),
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
/// duplicate; a `transfer.created` after the transfer was reversed is stale (the reversal
/// stands).
fn settled_already(order: &Order, sale: &Sale) -> Option<Answer> {
    let same_transfer = sale.payout_id == order.payment_id;
    match (order.action, sale.status) {
        (Action::TransferMade, SaleStatus::Paid)
        | (Action::TransferReversed, SaleStatus::Returned | SaleStatus::Reversed)
            if same_transfer =>
        {
            Some(Answer::new(
                StatusCode::OK,
                Outcome::Duplicate,
                format!(
                    "already applied: sale {} is {:?} ({})",
                    sale.number, sale.status, order.detail
                ),
            ))
        }
        (Action::TransferMade, SaleStatus::Returned | SaleStatus::Reversed) if same_transfer => {
            Some(Answer::ignored(format!(
                "{}: the transfer was already reversed and its coins given back",
                order.detail
            )))
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
        "PayoutAlreadyFailed" => {
            Answer::ignored("the transfer was already reversed and its coins given back")
        }
        "PaymentOutsideRetention" => Answer::ignored(
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

/// A retry answer for a chain that did not answer. The cluster's own error (which may hold
/// its URL, and an RPC provider's token in it) goes to the server's log only.
fn unavailable(err: SdkError) -> Answer {
    match err {
        SdkError::NotFound { what: "grid", .. } => Answer::retry(format!(
            "{err}: is the service pointed at the right cluster?"
        )),
        err => {
            tracing::info!(target: "deu", "webhook: the chain is unavailable: {err}");
            Answer::retry("the chain is unavailable; retry later")
        }
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
        Action::TransferMade => format!("sold {coins} k: ${usd} transferred ({})", order.detail),
        _ => format!("{}: {coins} k given back", order.detail),
    };
    let mut answer = Answer::new(StatusCode::OK, Outcome::Applied, detail);
    answer.delivery.signature = Some(signature);
    answer
}
