//! `GET /v1/events` and `GET /v1/events/{id}`: every event the sandbox created, so a receiver can
//! catch up on deliveries it missed, the way it would with Stripe.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;

use super::error::ApiError;
use super::params::Params;
use super::{found, Authorized};
use crate::sandbox::App;
use crate::wire::{Event, List};

/// Stripe's page size when `limit` is not given, and its largest.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

/// Events newest first, Stripe's list shape, with `limit`, `type` (`payout.*` works) and
/// `starting_after` (the last id of the previous page).
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _: Authorized,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Event>>, ApiError> {
    let mut params = Params::from_query(query.as_deref())?;
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
    let kind = params.optional("type");
    let starting_after = params.optional("starting_after");
    params.finish()?;

    let store = app.store();
    let mut newest_first = store.events.iter().rev();
    if let Some(after) = &starting_after {
        if !newest_first.any(|event| &event.id == after) {
            return Err(ApiError::no_such("event", after));
        }
    }
    let mut matching =
        newest_first.filter(|event| kind.as_deref().is_none_or(|k| type_matches(k, &event.kind)));
    let data: Vec<Event> = matching.by_ref().take(limit).cloned().collect();
    let has_more = matching.next().is_some();
    Ok(Json(List {
        object: "list".into(),
        data,
        has_more,
        url: "/v1/events".into(),
    }))
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
