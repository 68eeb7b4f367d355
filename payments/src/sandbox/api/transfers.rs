//! Transfers to connected accounts: `POST /v1/transfers` (the destination's `transfers`
//! capability must be active), `GET /v1/transfers` (newest first, by creation time and
//! destination), `GET /v1/transfers/{id}`, and `POST /v1/transfers/{id}/reversals` (part or all
//! of what is left), each announced (`transfer.created`, `transfer.reversed`). A transfer is made
//! at once: the money is in the connected account's balance. The sandbox does not model the
//! platform's balance (Stripe refuses a transfer beyond the available balance), nor keeps a
//! transfer's `transfer_group` or a reversal's `description` and `metadata` (read and checked,
//! not carried by the objects it answers with).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::params::{usd, Params};
use super::{found, idempotency_key, replayed, to_json, Authorized, CreatedRange, Paging};
use crate::sandbox::calendar::unix_now;
use crate::sandbox::html::dollars;
use crate::sandbox::store::{random_id, Store};
use crate::sandbox::{webhooks, App};
use crate::wire::{Event, List, Transfer, TransferReversal, TRANSFER_CREATED, TRANSFER_REVERSED};

const REQUEST: &str = "POST /v1/transfers";

/// Makes a transfer and announces `transfer.created`.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _: Authorized,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let (json, event) = {
        let mut store = app.store();
        if let Some(first) = replayed(&app, &store, key.as_deref(), REQUEST, &params)? {
            return Ok(first);
        }
        let fingerprint = params.all().clone();
        let amount = params.required_integer("amount")?;
        if amount < 1 {
            return Err(ApiError::invalid_param(
                "amount",
                "This value must be greater than or equal to 1.",
            ));
        }
        let currency = usd("currency", &params.required("currency")?)?;
        let destination = params.required("destination")?;
        let description = params.optional("description");
        let _ = params.optional("transfer_group");
        let metadata = params.metadata()?;
        params.finish()?;
        let account = store
            .account_mut(&destination)
            .ok_or_else(|| ApiError::no_such_param("destination", "destination", &destination))?;
        if !account.transfers_active() {
            return Err(ApiError::invalid_param(
                "destination",
                "Your destination account needs to have at least one of the following \
                 capabilities enabled: transfers, crypto_transfers, legacy_payments",
            )
            .with_code("insufficient_capabilities_for_transfer"));
        }
        let transfer = Transfer {
            id: random_id("tr_"),
            object: "transfer".into(),
            amount,
            amount_reversed: 0,
            currency,
            destination: Some(destination),
            description,
            metadata,
            reversed: false,
            created: unix_now(),
            livemode: false,
        };
        let json = to_json(&transfer)?;
        let event = store.record_event(TRANSFER_CREATED, json.clone(), webhooks::pending(&app));
        if let Some(key) = key {
            store.remember(&key, REQUEST, fingerprint, json.clone());
        }
        store.transfers.push(transfer);
        (json, event)
    };
    webhooks::dispatch(&app, &event);
    Ok(Json(json).into_response())
}

/// Transfers newest first: `created[gt|gte|lt|lte]`, `destination`, `limit`, `starting_after`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _: Authorized,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Transfer>>, ApiError> {
    let mut params = Params::from_query(query.as_deref())?;
    let paging = Paging::read(&mut params)?;
    let created = CreatedRange::read(&mut params)?;
    let destination = params.optional("destination");
    params.finish()?;
    let keep = |t: &Transfer| {
        created.contains(t.created)
            && destination
                .as_deref()
                .is_none_or(|d| t.destination.as_deref() == Some(d))
    };
    let store = app.store();
    let page = paging.page(
        &store.transfers,
        "transfer",
        "/v1/transfers",
        |t| &t.id,
        keep,
    )?;
    Ok(Json(page))
}

/// The transfer as it is now.
pub(crate) async fn retrieve(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<Transfer>, ApiError> {
    let mut store = app.store();
    found(store.transfer_mut(&id).as_deref(), "transfer", &id)
}

/// How much of a transfer can still be reversed, or the refusal once it was reversed in full.
pub(crate) fn reversible(transfer: &Transfer) -> Result<i64, ApiError> {
    let left = transfer.amount - transfer.amount_reversed;
    if left <= 0 {
        return Err(ApiError::invalid_request(format!(
            "Transfer {} has already been fully reversed.",
            transfer.id
        )));
    }
    Ok(left)
}

/// Takes back `amount` cents of a transfer (all that is left when `None`): updates its
/// `amount_reversed` and `reversed`, records the reversal and the `transfer.reversed` event (the
/// transfer as it is then; the caller dispatches it once the store is unlocked).
pub(crate) fn reverse(
    store: &mut Store,
    id: &str,
    amount: Option<i64>,
    pending_webhooks: i64,
) -> Result<(TransferReversal, Event), ApiError> {
    let transfer = store
        .transfer_mut(id)
        .ok_or_else(|| ApiError::no_such("transfer", id))?;
    let left = reversible(transfer)?;
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
                "Reversal amount ({}) is greater than the amount of transfer {id} not yet \
                 reversed ({}).",
                dollars(amount),
                dollars(left)
            ),
        ));
    }
    transfer.amount_reversed += amount;
    transfer.reversed = transfer.amount_reversed == transfer.amount;
    let reversal = TransferReversal {
        id: random_id("trr_"),
        object: "transfer_reversal".into(),
        amount,
        currency: transfer.currency.clone(),
        transfer: transfer.id.clone(),
        created: unix_now(),
    };
    let object = to_json(&*transfer)?;
    store.reversals.push(reversal.clone());
    let event = store.record_event(TRANSFER_REVERSED, object, pending_webhooks);
    Ok((reversal, event))
}

/// `POST /v1/transfers/{id}/reversals`: an optional `amount`, `description` and `metadata`.
pub(crate) async fn create_reversal(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let request = format!("POST /v1/transfers/{id}/reversals");
    let (json, event) = {
        let mut store = app.store();
        if let Some(first) = replayed(&app, &store, key.as_deref(), &request, &params)? {
            return Ok(first);
        }
        let fingerprint = params.all().clone();
        let amount = params.optional_integer("amount")?;
        let _ = params.optional("description");
        let _ = params.metadata()?;
        params.finish()?;
        let (reversal, event) = reverse(&mut store, &id, amount, webhooks::pending(&app))?;
        let json = to_json(&reversal)?;
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
    use std::collections::BTreeMap;

    use super::*;

    /// A store holding one $1.50 transfer, `tr_1`.
    fn transferred() -> Store {
        let mut store = Store::default();
        store.transfers.push(Transfer {
            id: "tr_1".into(),
            object: "transfer".into(),
            amount: 150,
            amount_reversed: 0,
            currency: "usd".into(),
            destination: Some("acct_1".into()),
            description: None,
            metadata: BTreeMap::new(),
            reversed: false,
            created: 0,
            livemode: false,
        });
        store
    }

    #[test]
    fn reversals_add_up_to_the_transfer_and_no_further() {
        let mut store = transferred();
        let (part, event) = reverse(&mut store, "tr_1", Some(50), 0).expect("a reversal");
        assert_eq!((part.amount, part.transfer.as_str()), (50, "tr_1"));
        assert_eq!(event.kind, TRANSFER_REVERSED);
        let too_much = reverse(&mut store, "tr_1", Some(101), 0).expect_err("too much");
        assert!(too_much.message().contains("($1.01)"), "{too_much:?}");
        assert!(too_much.message().contains("($1.00)"), "{too_much:?}");
        assert!(reverse(&mut store, "tr_1", Some(0), 0).is_err());
        let (rest, _) = reverse(&mut store, "tr_1", None, 0).expect("the rest");
        assert_eq!(rest.amount, 100);
        let transfer = store.transfer_mut("tr_1").expect("the transfer");
        assert_eq!((transfer.amount_reversed, transfer.reversed), (150, true));
        let again = reverse(&mut store, "tr_1", None, 0).expect_err("nothing left");
        assert!(again.message().contains("already been fully reversed"));
        assert_eq!(store.reversals.len(), 2);
        assert!(reverse(&mut store, "tr_2", None, 0).is_err());
    }
}
