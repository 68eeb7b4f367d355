//! The sandbox dashboard (`GET /`): every checkout session, payout, event and webhook delivery
//! attempt, newest first, in plain HTML.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::calendar::utc_string;
use super::html::{dollars, escape, page};
use super::store::{DeliveryState, HostedSession, Store};
use super::{App, DeliveryRecord};
use crate::wire::{Event, Payout};

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
