//! `GET /v1/events` and `GET /v1/events/{id}`: every event the sandbox created, so a receiver can
//! catch up on deliveries it missed, the way it would with Stripe.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;

use super::error::ApiError;
use super::params::Params;
use super::{found, Authorized, Paging};
use crate::sandbox::App;
use crate::wire::{Event, List};

/// Events newest first, Stripe's list shape, with `limit`, `type` (`payout.*` works) and
/// `starting_after` (the last id of the previous page).
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _: Authorized,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Event>>, ApiError> {
    let mut params = Params::from_query(query.as_deref())?;
    let paging = Paging::read(&mut params)?;
    let kind = params.optional("type");
    params.finish()?;
    let store = app.store();
    let page = paging.page(
        &store.events,
        "event",
        "/v1/events",
        |event| &event.id,
        |event| kind.as_deref().is_none_or(|k| type_matches(k, &event.kind)),
    )?;
    Ok(Json(page))
}

/// One event.
pub(crate) async fn retrieve(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<Event>, ApiError> {
    let store = app.store();
    found(
        store.events.iter().find(|event| event.id == id),
        "event",
        &id,
    )
}

/// Whether a `type` filter (`payout.paid`, or `payout.*`) selects an event type.
fn type_matches(filter: &str, kind: &str) -> bool {
    match filter.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => filter == kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filter_takes_a_trailing_wildcard() {
        assert!(type_matches("payout.*", "payout.paid"));
        assert!(!type_matches("payout.*", "checkout.session.completed"));
        assert!(type_matches("payout.paid", "payout.paid"));
        assert!(!type_matches("payout.paid", "payout.paid_late"));
    }
}
