//! The sandbox dashboard (`GET /`): every checkout session, payout, event and webhook delivery
//! attempt, newest first, in plain HTML.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::calendar::utc_string;
use super::html::{dollars, escape, page};
use super::store::{DeliveryState, Store};
use super::App;

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
    let mut rows = String::new();
    for hosted in store.sessions.iter().rev() {
        let s = &hosted.session;
        let id = match &s.url {
            Some(url) => format!("<a href=\"{}\">{}</a>", escape(url), escape(&s.id)),
            None => escape(&s.id),
        };
        let _ = write!(
            rows,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&hosted.product_name),
            dollars(s.amount_total.unwrap_or(0)),
            escape(s.status.as_deref().unwrap_or("")),
            escape(&s.payment_status),
            escape(s.client_reference_id.as_deref().unwrap_or("")),
            utc_string(s.created),
        );
    }
    table(
        "Checkout sessions",
        "sessions",
        &[
            "Id",
            "Product",
            "Amount",
            "Status",
            "Payment",
            "Reference",
            "Created (UTC)",
        ],
        &rows,
    )
}

fn payouts(store: &Store) -> String {
    let mut rows = String::new();
    for p in store.payouts.iter().rev() {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.id),
            dollars(p.amount),
            escape(p.destination.as_deref().unwrap_or("")),
            escape(&p.status),
            escape(p.failure_message.as_deref().unwrap_or("")),
            escape(p.description.as_deref().unwrap_or("")),
            utc_string(p.created),
        );
    }
    table(
        "Payouts",
        "payouts",
        &[
            "Id",
            "Amount",
            "Destination",
            "Status",
            "Failure",
            "Description",
            "Created (UTC)",
        ],
        &rows,
    )
}

fn events(store: &Store) -> String {
    let mut rows = String::new();
    for e in store.events.iter().rev() {
        let delivery = match store.delivery_states.get(&e.id) {
            None => "not sent",
            Some(DeliveryState::Retrying) => "<span class=\"bad\">retrying</span>",
            Some(DeliveryState::Delivered) => "<span class=\"ok\">delivered</span>",
            Some(DeliveryState::GaveUp) => "<span class=\"bad\">failed</span>",
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{delivery}</td></tr>",
            escape(&e.id),
            escape(&e.kind),
            utc_string(e.created),
        );
    }
    table(
        "Events",
        "events",
        &["Id", "Type", "Created (UTC)", "Delivery"],
        &rows,
    )
}

fn deliveries(store: &Store) -> String {
    let mut rows = String::new();
    for d in store.deliveries.iter().rev() {
        let status = d
            .status
            .map_or_else(|| "—".to_string(), |code| code.to_string());
        let outcome = if d.succeeded {
            "<span class=\"ok\">delivered</span>"
        } else if d.status.is_none() {
            "<span class=\"bad\">connection failed</span>"
        } else {
            "<span class=\"bad\">refused</span>"
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{outcome}</td><td>{}</td></tr>",
            escape(&d.event_id),
            escape(&d.event_type),
            d.attempt,
            utc_string(d.at),
            escape(&d.response),
        );
    }
    table(
        "Webhook delivery attempts",
        "deliveries",
        &[
            "Event", "Type", "Attempt", "At (UTC)", "Status", "Outcome", "Response",
        ],
        &rows,
    )
}

fn table(title: &str, id: &str, headings: &[&str], rows: &str) -> String {
    let head: String = headings.iter().map(|h| format!("<th>{h}</th>")).collect();
    let rows = if rows.is_empty() {
        format!("<tr><td colspan=\"{}\">None yet.</td></tr>", headings.len())
    } else {
        rows.to_string()
    };
    format!("<h2>{title}</h2><table id=\"{id}\"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
}
