//! Charges and what can happen to one after it was paid: `GET /v1/charges/{id}`;
//! `POST /v1/refunds` (part or all of what is left of a charge, `charge.refunded` with the
//! cumulative amount); disputes (`GET /v1/disputes[/{id}]`, `POST /v1/disputes/{id}` to save or
//! submit evidence, `POST /v1/disputes/{id}/close` to accept), opened by the sandbox itself for
//! Stripe's dispute test card and decided, once evidence is submitted, `won` when it says
//! [`DISPUTE_WINNING_EVIDENCE`] and `lost` otherwise (`charge.dispute.created`,
//! `charge.dispute.closed`). The dashboard's buttons call the same functions.
//!
//! A refund's `reason` and `metadata` and a dispute's `metadata` are checked, not kept: the
//! objects the sandbox answers with do not carry them.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::params::Params;
use super::{found, idempotency_key, replayed, to_json, Authorized, CreatedRange, Paging};
use crate::sandbox::calendar::unix_now;
use crate::sandbox::html::dollars;
use crate::sandbox::store::{random_id, Store};
use crate::sandbox::{webhooks, App};
use crate::wire::{
    Charge, Dispute, Event, List, Refund, CHARGE_DISPUTE_CLOSED, CHARGE_DISPUTE_CREATED,
    CHARGE_REFUNDED,
};

/// The evidence text that wins a dispute in Stripe's test mode.
pub const DISPUTE_WINNING_EVIDENCE: &str = "winning_evidence";
/// The evidence text that loses a dispute in Stripe's test mode.
pub const DISPUTE_LOSING_EVIDENCE: &str = "losing_evidence";

const REFUND_REQUEST: &str = "POST /v1/refunds";

/// Stripe's reasons for a refund.
const REFUND_REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

/// The evidence field the sandbox keeps.
const EVIDENCE_TEXT: &str = "evidence[uncategorized_text]";

/// The charge as it is now.
pub(crate) async fn retrieve_charge(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<Charge>, ApiError> {
    let store = app.store();
    found(store.charge(&id), "charge", &id)
}

/// Which charge a refund names.
pub(crate) enum Refunded {
    /// `charge`: the charge itself.
    Charge(String),
    /// `payment_intent`: the charge that paid it.
    PaymentIntent(String),
}

impl Refunded {
    /// The charge named, or Stripe's 400 `resource_missing` naming the parameter.
    fn charge<'s>(&self, store: &'s Store) -> Result<&'s Charge, ApiError> {
        match self {
            Refunded::Charge(id) => store
                .charge(id)
                .ok_or_else(|| ApiError::no_such_param("charge", "charge", id)),
            Refunded::PaymentIntent(id) => store
                .charge_of(id)
                .ok_or_else(|| ApiError::no_such_param("payment_intent", "payment_intent", id)),
        }
    }
}

/// Whether a charge was charged back: a dispute of it (not an inquiry) still open or lost. The
/// disputed money is out of the balance, so nothing more can be refunded; once the dispute is
/// won the charge is refundable again.
fn charged_back(store: &Store, charge: &str) -> bool {
    store
        .disputes
        .iter()
        .any(|d| d.charge == charge && !d.is_inquiry() && d.status != "won")
}

/// How much of `charge` can still be refunded, or Stripe's refusal: `charge_disputed` while it
/// is charged back, `charge_already_refunded` once nothing is left.
pub(crate) fn refundable(store: &Store, charge: &Charge) -> Result<i64, ApiError> {
    if charged_back(store, &charge.id) {
        return Err(ApiError::invalid_request(format!(
            "Charge {} has been charged back; cannot issue a refund.",
            charge.id
        ))
        .with_code("charge_disputed"));
    }
    let left = charge.amount - charge.amount_refunded;
    if left <= 0 {
        return Err(ApiError::invalid_request(format!(
            "Charge {} has already been refunded.",
            charge.id
        ))
        .with_code("charge_already_refunded"));
    }
    Ok(left)
}

/// Refunds `amount` cents of a charge (all that is left when `None`): updates the charge's
/// `amount_refunded` and `refunded`, records the refund and the `charge.refunded` event (the
/// caller dispatches it once the store is unlocked).
pub(crate) fn refund(
    store: &mut Store,
    which: &Refunded,
    amount: Option<i64>,
    pending_webhooks: i64,
) -> Result<(Refund, Event), ApiError> {
    let charge = which.charge(store)?;
    let left = refundable(store, charge)?;
    let amount = amount.unwrap_or(left);
    if amount < 1 {
        return Err(ApiError::invalid_param(
            "amount",
            "This value must be greater than or equal to 1.",
        ));
    }
    if amount > left {
        return Err(ApiError::invalid_param(
            "amount",
            format!(
                "Refund amount ({}) is greater than unrefunded amount on charge ({}).",
                dollars(amount),
                dollars(left)
            ),
        )
        .with_code("amount_too_large"));
    }
    let id = charge.id.clone();
    let charge = store
        .charge_mut(&id)
        .ok_or_else(|| ApiError::no_such_param("charge", "charge", &id))?;
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded == charge.amount;
    let refund = Refund {
        id: random_id("re_"),
        object: "refund".into(),
        amount,
        charge: Some(charge.id.clone()),
        payment_intent: charge.payment_intent.clone(),
        currency: charge.currency.clone(),
        status: "succeeded".into(),
        created: unix_now(),
    };
    let object = to_json(&*charge)?;
    store.refunds.push(refund.clone());
    let event = store.record_event(CHARGE_REFUNDED, object, pending_webhooks);
    Ok((refund, event))
}

/// `POST /v1/refunds`: `charge` or `payment_intent`, an optional `amount`, `reason` and
/// `metadata`.
pub(crate) async fn create_refund(
    State(app): State<Arc<App>>,
    _: Authorized,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let (json, event) = {
        let mut store = app.store();
        if let Some(first) = replayed(&app, &store, key.as_deref(), REFUND_REQUEST, &params)? {
            return Ok(first);
        }
        let fingerprint = params.all().clone();
        let which = match (params.optional("charge"), params.optional("payment_intent")) {
            (Some(charge), None) => Refunded::Charge(charge),
            (None, Some(intent)) => Refunded::PaymentIntent(intent),
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_request(
                    "You may only specify one of these parameters: charge, payment_intent.",
                ))
            }
            (None, None) => {
                return Err(ApiError::invalid_request(
                    "One of the following params should be provided for this request: \
                     payment_intent or charge.",
                )
                .with_code("parameter_missing"))
            }
        };
        let amount = params.optional_integer("amount")?;
        if let Some(reason) = params.optional("reason") {
            if !REFUND_REASONS.contains(&reason.as_str()) {
                return Err(ApiError::invalid_param(
                    "reason",
                    format!(
                        "Invalid reason: must be one of duplicate, fraudulent, or \
                         requested_by_customer (got {reason})."
                    ),
                ));
            }
        }
        let _ = params.metadata()?;
        params.finish()?;
        let (refund, event) = refund(&mut store, &which, amount, webhooks::pending(&app))?;
        let json = to_json(&refund)?;
        if let Some(key) = key {
            store.remember(&key, REFUND_REQUEST, fingerprint, json.clone());
        }
        (json, event)
    };
    webhooks::dispatch(&app, &event);
    Ok(Json(json).into_response())
}

/// The cardholder of Stripe's dispute test card disputes the payment: after the payout delay a
/// fraud dispute of what was not refunded is opened (`charge.dispute.created`) and the charge
/// is marked disputed. A charge refunded in full by then is not disputed: the cardholder has
/// the money back.
pub(crate) async fn dispute_later(app: Arc<App>, charge: String) {
    tokio::time::sleep(app.config.payout_delay).await;
    let event = {
        let mut store = app.store();
        open_dispute(&mut store, &charge, webhooks::pending(&app))
    };
    if let Some(event) = event {
        webhooks::dispatch(&app, &event);
    }
}

/// Opens a `fraudulent` dispute of what is left of a charge and records
/// `charge.dispute.created`; `None` when the charge is unknown or nothing is left of it.
fn open_dispute(store: &mut Store, charge_id: &str, pending_webhooks: i64) -> Option<Event> {
    let charge = store.charge_mut(charge_id)?;
    let amount = charge.amount - charge.amount_refunded;
    if amount <= 0 {
        return None;
    }
    charge.disputed = true;
    let dispute = Dispute {
        id: random_id("du_"),
        object: "dispute".into(),
        amount,
        charge: charge.id.clone(),
        payment_intent: charge.payment_intent.clone(),
        currency: charge.currency.clone(),
        reason: "fraudulent".into(),
        status: "needs_response".into(),
        created: unix_now(),
        livemode: false,
    };
    let object = serde_json::to_value(&dispute).ok()?;
    store.disputes.push(dispute);
    Some(store.record_event(CHARGE_DISPUTE_CREATED, object, pending_webhooks))
}

/// Whether a dispute is over: `won`, `lost`, or an inquiry closed.
fn is_closed(dispute: &Dispute) -> bool {
    matches!(dispute.status.as_str(), "won" | "lost" | "warning_closed")
}

/// Whether a dispute still awaits the platform's answer, or why not: closed, or its evidence
/// already submitted.
pub(crate) fn answerable(dispute: &Dispute) -> Result<(), ApiError> {
    if is_closed(dispute) {
        return Err(ApiError::invalid_request(format!(
            "This dispute is already closed ({}); it can no longer be updated or closed.",
            dispute.status
        )));
    }
    if dispute.status.ends_with("under_review") {
        return Err(ApiError::invalid_request(
            "This dispute's evidence was already submitted; it is under review and can no longer \
             be updated or closed.",
        ));
    }
    Ok(())
}

/// The dispute, if it still awaits the platform's answer; otherwise the refusal.
fn awaiting_answer<'s>(store: &'s mut Store, id: &str) -> Result<&'s mut Dispute, ApiError> {
    let dispute = store
        .dispute_mut(id)
        .ok_or_else(|| ApiError::no_such("dispute", id))?;
    answerable(dispute)?;
    Ok(dispute)
}

/// Saves `evidence` on a dispute awaiting an answer (replacing what was saved) and, with
/// `submit`, submits what is saved: the dispute is `under_review`, and the caller has
/// [`decide_later`] close it.
pub(crate) fn answer(
    store: &mut Store,
    id: &str,
    evidence: Option<String>,
    submit: bool,
) -> Result<Dispute, ApiError> {
    let dispute = awaiting_answer(store, id)?;
    if submit {
        dispute.status = if dispute.is_inquiry() {
            "warning_under_review".into()
        } else {
            "under_review".into()
        };
    }
    let dispute = dispute.clone();
    if let Some(text) = evidence {
        store.evidence.insert(id.to_string(), text);
    }
    Ok(dispute)
}

/// After the payout delay, the card network decides a submitted dispute: `won` when its saved
/// evidence contains [`DISPUTE_WINNING_EVIDENCE`], `lost` otherwise (`charge.dispute.closed`).
pub(crate) fn decide_later(app: &Arc<App>, id: &str) {
    let (later, id) = (app.clone(), id.to_string());
    app.tasks.spawn(async move {
        tokio::time::sleep(later.config.payout_delay).await;
        let event = {
            let mut store = later.store();
            let won = store
                .evidence
                .get(&id)
                .is_some_and(|text| text.contains(DISPUTE_WINNING_EVIDENCE));
            let outcome = if won { "won" } else { "lost" };
            close(&mut store, &id, outcome, webhooks::pending(&later)).map(|(_, event)| event)
        };
        if let Some(event) = event {
            webhooks::dispatch(&later, &event);
        }
    });
}

/// Accepts a dispute awaiting an answer: it is `lost` at once (`charge.dispute.closed`).
pub(crate) fn accept(
    store: &mut Store,
    id: &str,
    pending_webhooks: i64,
) -> Result<(Dispute, Event), ApiError> {
    awaiting_answer(store, id)?;
    close(store, id, "lost", pending_webhooks)
        .ok_or_else(|| ApiError::internal(format!("cannot close dispute {id}")))
}

/// Closes a dispute that is not closed yet with `outcome` and records `charge.dispute.closed`.
fn close(
    store: &mut Store,
    id: &str,
    outcome: &str,
    pending_webhooks: i64,
) -> Option<(Dispute, Event)> {
    let dispute = store.dispute_mut(id)?;
    if is_closed(dispute) {
        return None;
    }
    dispute.status = outcome.into();
    let dispute = dispute.clone();
    let object = serde_json::to_value(&dispute).ok()?;
    let event = store.record_event(CHARGE_DISPUTE_CLOSED, object, pending_webhooks);
    Some((dispute, event))
}

/// One dispute as it is now.
pub(crate) async fn retrieve_dispute(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<Dispute>, ApiError> {
    let mut store = app.store();
    found(store.dispute_mut(&id).as_deref(), "dispute", &id)
}

/// Disputes newest first: `charge`, `payment_intent`, `created[gt|gte|lt|lte]`, `limit` and
/// `starting_after`.
pub(crate) async fn list_disputes(
    State(app): State<Arc<App>>,
    _: Authorized,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Dispute>>, ApiError> {
    let mut params = Params::from_query(query.as_deref())?;
    let paging = Paging::read(&mut params)?;
    let created = CreatedRange::read(&mut params)?;
    let charge = params.optional("charge");
    let intent = params.optional("payment_intent");
    params.finish()?;
    let keep = |d: &Dispute| {
        created.contains(d.created)
            && charge.as_deref().is_none_or(|c| d.charge == c)
            && intent
                .as_deref()
                .is_none_or(|pi| d.payment_intent.as_deref() == Some(pi))
    };
    let store = app.store();
    let page = paging.page(&store.disputes, "dispute", "/v1/disputes", |d| &d.id, keep)?;
    Ok(Json(page))
}

/// `POST /v1/disputes/{id}`: `evidence[uncategorized_text]` is saved; with `submit=true` the
/// saved evidence is submitted and the dispute decided after the payout delay.
pub(crate) async fn update_dispute(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let request = format!("POST /v1/disputes/{id}");
    let (json, submitted) = {
        let mut store = app.store();
        if let Some(first) = replayed(&app, &store, key.as_deref(), &request, &params)? {
            return Ok(first);
        }
        let fingerprint = params.all().clone();
        let evidence = params.optional(EVIDENCE_TEXT);
        let submit = params.optional_bool("submit")?.unwrap_or(false);
        let _ = params.metadata()?;
        params.finish()?;
        let dispute = answer(&mut store, &id, evidence, submit)?;
        let json = to_json(&dispute)?;
        if let Some(key) = key {
            store.remember(&key, &request, fingerprint, json.clone());
        }
        (json, submit)
    };
    if submitted {
        decide_later(&app, &id);
    }
    Ok(Json(json).into_response())
}

/// `POST /v1/disputes/{id}/close`: the platform accepts the dispute; it is lost.
pub(crate) async fn close_dispute(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let request = format!("POST /v1/disputes/{id}/close");
    let (json, event) = {
        let mut store = app.store();
        if let Some(first) = replayed(&app, &store, key.as_deref(), &request, &params)? {
            return Ok(first);
        }
        let fingerprint = params.all().clone();
        params.finish()?;
        let (dispute, event) = accept(&mut store, &id, webhooks::pending(&app))?;
        let json = to_json(&dispute)?;
        if let Some(key) = key {
            store.remember(&key, &request, fingerprint, json.clone());
        }
        (json, event)
    };
    webhooks::dispatch(&app, &event);
    Ok(Json(json).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store holding one paid $12.50 charge, `ch_1` of `pi_1`.
    fn paid() -> Store {
        let mut store = Store::default();
        store.charges.push(Charge {
            id: "ch_1".into(),
            object: "charge".into(),
            amount: 1250,
            amount_refunded: 0,
            currency: "usd".into(),
            refunded: false,
            disputed: false,
            payment_intent: Some("pi_1".into()),
            metadata: Default::default(),
            created: 0,
            livemode: false,
        });
        store
    }

    fn code(error: ApiError) -> Option<String> {
        let body = format!("{error:?}");
        [
            "amount_too_large",
            "charge_already_refunded",
            "charge_disputed",
            "resource_missing",
        ]
        .into_iter()
        .find(|code| body.contains(code))
        .map(String::from)
    }

    #[test]
    fn refunds_add_up_to_the_charge_and_no_further() {
        let mut store = paid();
        let by_intent = Refunded::PaymentIntent("pi_1".into());
        let (first, event) = refund(&mut store, &by_intent, Some(250), 0).expect("a refund");
        assert_eq!((first.amount, first.charge.as_deref()), (250, Some("ch_1")));
        assert_eq!(event.kind, CHARGE_REFUNDED);
        let too_much = refund(&mut store, &by_intent, Some(1001), 0).expect_err("too much");
        assert_eq!(code(too_much).as_deref(), Some("amount_too_large"));
        let by_charge = Refunded::Charge("ch_1".into());
        let (rest, _) = refund(&mut store, &by_charge, None, 0).expect("the rest");
        assert_eq!(rest.amount, 1000);
        let charge = store.charge("ch_1").expect("the charge");
        assert_eq!((charge.amount_refunded, charge.refunded), (1250, true));
        let again = refund(&mut store, &by_charge, None, 0).expect_err("nothing left");
        assert_eq!(code(again).as_deref(), Some("charge_already_refunded"));
        let unknown = refund(&mut store, &Refunded::Charge("ch_2".into()), None, 0);
        assert_eq!(
            code(unknown.expect_err("unknown")).as_deref(),
            Some("resource_missing")
        );
        assert_eq!(store.refunds.len(), 2);
    }

    #[test]
    fn a_charged_back_charge_refunds_again_only_once_the_dispute_is_won() {
        let mut store = paid();
        open_dispute(&mut store, "ch_1", 0).expect("disputed");
        let id = store.disputes[0].id.clone();
        assert_eq!(store.disputes[0].amount, 1250);
        assert!(store.charge("ch_1").expect("the charge").disputed);
        let refused = refund(&mut store, &Refunded::Charge("ch_1".into()), None, 0);
        assert_eq!(
            code(refused.expect_err("disputed")).as_deref(),
            Some("charge_disputed")
        );
        answer(&mut store, &id, Some(DISPUTE_WINNING_EVIDENCE.into()), true).expect("submitted");
        assert!(
            answer(&mut store, &id, None, false).is_err(),
            "under review"
        );
        assert!(accept(&mut store, &id, 0).is_err(), "under review");
        close(&mut store, &id, "won", 0).expect("won");
        assert!(close(&mut store, &id, "lost", 0).is_none(), "closed once");
        assert!(
            store.charge("ch_1").expect("the charge").disputed,
            "it stays disputed"
        );
        refund(&mut store, &Refunded::Charge("ch_1".into()), Some(100), 0).expect("refundable");
    }

    #[test]
    fn a_charge_refunded_in_full_is_not_disputed_and_a_partial_one_only_for_the_rest() {
        let mut store = paid();
        refund(&mut store, &Refunded::Charge("ch_1".into()), Some(250), 0).expect("a refund");
        open_dispute(&mut store, "ch_1", 0).expect("disputed");
        assert_eq!(store.disputes[0].amount, 1000);
        let mut whole = paid();
        refund(&mut whole, &Refunded::Charge("ch_1".into()), None, 0).expect("a refund");
        assert!(open_dispute(&mut whole, "ch_1", 0).is_none());
        assert!(whole.disputes.is_empty());
    }

    #[test]
    fn saved_evidence_is_kept_until_submitted_and_accepting_loses_at_once() {
        let mut store = paid();
        open_dispute(&mut store, "ch_1", 0).expect("disputed");
        let id = store.disputes[0].id.clone();
        let saved = answer(&mut store, &id, Some("draft".into()), false).expect("saved");
        assert_eq!(saved.status, "needs_response");
        assert_eq!(store.evidence[&id], "draft");
        let (lost, event) = accept(&mut store, &id, 0).expect("accepted");
        assert_eq!(
            (lost.status.as_str(), event.kind.as_str()),
            ("lost", CHARGE_DISPUTE_CLOSED)
        );
        let refused = answer(&mut store, &id, None, true).expect_err("closed");
        assert!(
            refused.message().contains("already closed (lost)"),
            "{refused:?}"
        );
    }
}
