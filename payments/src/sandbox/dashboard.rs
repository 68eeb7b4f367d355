//! The sandbox dashboard (`GET /`): every checkout session, charge, dispute, connected account,
//! transfer, payout, event and webhook delivery attempt, newest first, in plain HTML; and the
//! operator's buttons (HTML forms POSTing to `/dashboard/…`, then back to `/`): refund a charge
//! (in part or whole), answer a dispute with winning evidence or accept it, reverse a transfer
//! (in part or whole). They carry out the API's own functions, refusals included.
//!
//! Stable hooks for tests: the tables `#charges`, `#disputes`, `#accounts`, `#transfers`, …; on a
//! charge's row the button `#refund-<ch_…>` (class `refund`) and its amount `#refund-amount-<ch_…>`;
//! on an open dispute's, `#win-<du_…>` and `#lose-<du_…>` (classes `win`, `lose`); on a
//! transfer's, `#reverse-<tr_…>` (class `reverse`) and `#reverse-amount-<tr_…>`. A refused
//! button answers 400 with the refusal in `#error`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::api::error::ApiError;
use super::api::{charges, transfers};
use super::calendar::utc_string;
use super::html::{dollars, escape, page};
use super::store::{DeliveryState, HostedSession, Store};
use super::{webhooks, App, DeliveryRecord};
use crate::wire::{Account, Charge, Dispute, Event, Payout, Transfer};

/// The dashboard's buttons.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/dashboard/charges/{id}/refund", post(refund))
        .route("/dashboard/disputes/{id}/win", post(win))
        .route("/dashboard/disputes/{id}/lose", post(lose))
        .route("/dashboard/transfers/{id}/reverse", post(reverse))
}

/// An optional amount in cents typed next to a button (empty: all that is left).
#[derive(Debug, Default, Deserialize)]
struct Amount {
    #[serde(default)]
    amount: String,
}

impl Amount {
    fn cents(&self) -> Result<Option<i64>, ApiError> {
        let text = self.amount.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<i64>().map(Some).map_err(|_| {
            ApiError::invalid_param("amount", format!("Invalid integer: {text} (cents)"))
        })
    }
}

/// After a button: its event sent and back to the dashboard, or the refusal on a page of its
/// own.
fn done(app: &Arc<App>, result: Result<Option<Event>, ApiError>) -> Response {
    match result {
        Ok(event) => {
            if let Some(event) = event {
                webhooks::dispatch(app, &event);
            }
            Redirect::to("/").into_response()
        }
        Err(refusal) => {
            let body = format!(
                "<h1>Refused</h1><p id=\"error\">{}</p><p><a href=\"/\">Back to the dashboard</a></p>",
                escape(refusal.message())
            );
            (StatusCode::BAD_REQUEST, page("Refused", "", &body)).into_response()
        }
    }
}

/// "Refund": the amount typed, or all that is left.
async fn refund(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(amount): Form<Amount>,
) -> Response {
    let refunded = amount.cents().and_then(|cents| {
        let which = charges::Refunded::Charge(id);
        let mut store = app.store();
        charges::refund(&mut store, &which, cents, webhooks::pending(&app))
    });
    done(&app, refunded.map(|(_, event)| Some(event)))
}

/// "Submit winning evidence": decided `won` after the payout delay.
async fn win(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let evidence = Some(charges::DISPUTE_WINNING_EVIDENCE.to_string());
    let answered = charges::answer(&mut app.store(), &id, evidence, true);
    if answered.is_ok() {
        charges::decide_later(&app, &id);
    }
    done(&app, answered.map(|_| None))
}

/// "Accept (lose)": lost at once.
async fn lose(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let accepted = charges::accept(&mut app.store(), &id, webhooks::pending(&app));
    done(&app, accepted.map(|(_, event)| Some(event)))
}

/// "Reverse": the amount typed, or all that is left.
async fn reverse(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(amount): Form<Amount>,
) -> Response {
    let reversed = amount.cents().and_then(|cents| {
        let mut store = app.store();
        transfers::reverse(&mut store, &id, cents, webhooks::pending(&app))
    });
    done(&app, reversed.map(|(_, event)| Some(event)))
}

/// The whole dashboard.
pub(crate) async fn show(State(app): State<Arc<App>>) -> Html<String> {
    let webhook = match &app.config.webhook_url {
        Some(url) => format!("Webhooks go to <code>{}</code>.", escape(url)),
        None => "No webhook URL: events are recorded, not sent.".to_string(),
    };
    let note = format!(
        "<p>API: <code>{}</code> with the sandbox's secret key. {webhook}</p>",
        escape(&app.url)
    );
    let body = {
        let store = app.store();
        [
            sessions(&store),
            charges_table(&store),
            disputes(&store),
            accounts(&store),
            transfers_table(&store),
            payouts(&store),
            events(&store),
            deliveries(&store),
        ]
        .concat()
    };
    page(
        "Sandbox processor",
        &note,
        &format!("<h1>Sandbox processor</h1>{body}"),
    )
}

fn sessions(store: &Store) -> String {
    table(
        "Checkout sessions",
        "sessions",
        &[
            ("Id", &|hosted: &HostedSession| match &hosted.session.url {
                Some(url) => format!(
                    "<a href=\"{}\">{}</a>",
                    escape(url),
                    escape(&hosted.session.id)
                ),
                None => escape(&hosted.session.id),
            }),
            ("Product", &|hosted| escape(&hosted.product_name)),
            ("Amount", &|hosted| {
                dollars(hosted.session.amount_total.unwrap_or(0))
            }),
            ("Status", &|hosted| {
                escape_or_blank(hosted.session.status.as_deref())
            }),
            ("Payment", &|hosted| escape(&hosted.session.payment_status)),
            ("Reference", &|hosted| {
                escape_or_blank(hosted.session.client_reference_id.as_deref())
            }),
            ("Created (UTC)", &|hosted| {
                utc_string(hosted.session.created)
            }),
        ],
        store.sessions.iter().rev(),
    )
}

/// A form POSTing to `/dashboard/<path>`: the button `#<name>-<id>` (class `name`) and, when
/// `with_amount`, the field `#<name>-amount-<id>` (cents; empty: all that is left).
fn button(path: &str, name: &str, id: &str, label: &str, with_amount: bool) -> String {
    let id = escape(id);
    let amount = if with_amount {
        format!(
            "<input id=\"{name}-amount-{id}\" class=\"amount\" name=\"amount\" \
             inputmode=\"numeric\" placeholder=\"cents (all)\" size=\"8\">"
        )
    } else {
        String::new()
    };
    format!(
        "<form method=\"post\" action=\"/dashboard/{}\">{amount}\
         <button id=\"{name}-{id}\" class=\"{name}\" type=\"submit\">{label}</button></form>",
        escape(path)
    )
}

fn charges_table(store: &Store) -> String {
    table(
        "Charges",
        "charges",
        &[
            ("Id", &|c: &Charge| escape(&c.id)),
            ("Payment intent", &|c| {
                escape_or_blank(c.payment_intent.as_deref())
            }),
            ("Amount", &|c| dollars(c.amount)),
            ("Refunded", &|c| dollars(c.amount_refunded)),
            ("Disputed", &|c| if c.disputed { "yes" } else { "" }.into()),
            ("Metadata", &|c| metadata(&c.metadata)),
            ("Created (UTC)", &|c| utc_string(c.created)),
            ("", &|c| match charges::refundable(store, c) {
                Ok(_) => button(
                    &format!("charges/{}/refund", c.id),
                    "refund",
                    &c.id,
                    "Refund",
                    true,
                ),
                Err(_) => String::new(),
            }),
        ],
        store.charges.iter().rev(),
    )
}

fn disputes(store: &Store) -> String {
    table(
        "Disputes",
        "disputes",
        &[
            ("Id", &|d: &Dispute| escape(&d.id)),
            ("Charge", &|d| escape(&d.charge)),
            ("Amount", &|d| dollars(d.amount)),
            ("Reason", &|d| escape(&d.reason)),
            ("Status", &|d| escape(&d.status)),
            ("Created (UTC)", &|d| utc_string(d.created)),
            ("", &|d| match charges::answerable(d) {
                Ok(()) => [
                    button(
                        &format!("disputes/{}/win", d.id),
                        "win",
                        &d.id,
                        "Submit winning evidence",
                        false,
                    ),
                    button(
                        &format!("disputes/{}/lose", d.id),
                        "lose",
                        &d.id,
                        "Accept (lose)",
                        false,
                    ),
                ]
                .concat(),
                Err(_) => String::new(),
            }),
        ],
        store.disputes.iter().rev(),
    )
}

fn accounts(store: &Store) -> String {
    table(
        "Connected accounts",
        "accounts",
        &[
            ("Id", &|a: &Account| escape(&a.id)),
            ("Email", &|a| escape_or_blank(a.email.as_deref())),
            ("Status", &|a| {
                if a.transfers_active() {
                    "<span class=\"ok\">enabled</span>".into()
                } else {
                    "onboarding".into()
                }
            }),
            ("Bank", &|a| {
                a.bank_account()
                    .map(|b| format!("••{}", escape(&b.last4)))
                    .unwrap_or_default()
            }),
            ("Metadata", &|a| metadata(&a.metadata)),
            ("Created (UTC)", &|a| utc_string(a.created)),
        ],
        store.accounts.iter().rev(),
    )
}

fn transfers_table(store: &Store) -> String {
    table(
        "Transfers",
        "transfers",
        &[
            ("Id", &|t: &Transfer| escape(&t.id)),
            ("Destination", &|t| {
                escape_or_blank(t.destination.as_deref())
            }),
            ("Amount", &|t| dollars(t.amount)),
            ("Reversed", &|t| dollars(t.amount_reversed)),
            ("Description", &|t| {
                escape_or_blank(t.description.as_deref())
            }),
            ("Metadata", &|t| metadata(&t.metadata)),
            ("Created (UTC)", &|t| utc_string(t.created)),
            ("", &|t| match transfers::reversible(t) {
                Ok(_) => button(
                    &format!("transfers/{}/reverse", t.id),
                    "reverse",
                    &t.id,
                    "Reverse",
                    true,
                ),
                Err(_) => String::new(),
            }),
        ],
        store.transfers.iter().rev(),
    )
}

fn payouts(store: &Store) -> String {
    table(
        "Payouts",
        "payouts",
        &[
            ("Id", &|p: &Payout| escape(&p.id)),
            ("Amount", &|p| dollars(p.amount)),
            ("Destination", &|p| {
                escape_or_blank(p.destination.as_deref())
            }),
            ("Status", &|p| escape(&p.status)),
            ("Failure", &|p| {
                escape_or_blank(p.failure_message.as_deref())
            }),
            ("Description", &|p| {
                escape_or_blank(p.description.as_deref())
            }),
            ("Created (UTC)", &|p| utc_string(p.created)),
        ],
        store.payouts.iter().rev(),
    )
}

fn events(store: &Store) -> String {
    let delivery = |e: &Event| {
        match store.delivery_states.get(&e.id) {
            None => "not sent",
            Some(DeliveryState::Retrying) => "<span class=\"bad\">retrying</span>",
            Some(DeliveryState::Delivered) => "<span class=\"ok\">delivered</span>",
            Some(DeliveryState::GaveUp) => "<span class=\"bad\">failed</span>",
        }
        .to_string()
    };
    table(
        "Events",
        "events",
        &[
            ("Id", &|e: &Event| escape(&e.id)),
            ("Type", &|e| escape(&e.kind)),
            ("Created (UTC)", &|e| utc_string(e.created)),
            ("Delivery", &delivery),
        ],
        store.events.iter().rev(),
    )
}

fn deliveries(store: &Store) -> String {
    table(
        "Webhook delivery attempts",
        "deliveries",
        &[
            ("Event", &|d: &DeliveryRecord| escape(&d.event_id)),
            ("Type", &|d| escape(&d.event_type)),
            ("Attempt", &|d| d.attempt.to_string()),
            ("At (UTC)", &|d| utc_string(d.at)),
            ("Status", &|d| {
                d.status
                    .map_or_else(|| "—".to_string(), |code| code.to_string())
            }),
            ("Outcome", &|d| outcome(d).to_string()),
            ("Response", &|d| escape(&d.response)),
        ],
        store.deliveries.iter().rev(),
    )
}

/// How a delivery attempt ended, as the dashboard colours it.
fn outcome(d: &DeliveryRecord) -> &'static str {
    if d.succeeded {
        "<span class=\"ok\">delivered</span>"
    } else if d.status.is_none() {
        "<span class=\"bad\">connection failed</span>"
    } else {
        "<span class=\"bad\">refused</span>"
    }
}

/// Metadata as `key=value` pairs, escaped.
fn metadata(pairs: &std::collections::BTreeMap<String, String>) -> String {
    let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    escape(&text.join(" "))
}

/// An optional text, escaped; nothing when it is absent.
fn escape_or_blank(text: Option<&str>) -> String {
    escape(text.unwrap_or(""))
}

/// A column of a dashboard table: its heading and its cell (already HTML) for one item.
type Column<'a, T> = (&'static str, &'a dyn Fn(&T) -> String);

/// A table with a row per item, or one saying "None yet." when there is none.
fn table<'t, T: 't>(
    title: &str,
    id: &str,
    columns: &[Column<'_, T>],
    items: impl Iterator<Item = &'t T>,
) -> String {
    let head: String = columns
        .iter()
        .map(|(h, _)| format!("<th>{h}</th>"))
        .collect();
    let mut rows = String::new();
    for item in items {
        rows.push_str("<tr>");
        for (_, cell) in columns {
            let _ = write!(rows, "<td>{}</td>", cell(item));
        }
        rows.push_str("</tr>");
    }
    if rows.is_empty() {
        rows = format!("<tr><td colspan=\"{}\">None yet.</td></tr>", columns.len());
    }
    format!("<h2>{title}</h2><table id=\"{id}\"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
}
