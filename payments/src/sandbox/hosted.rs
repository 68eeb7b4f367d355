//! The hosted Checkout page (`/c/pay/{id}`): a plain HTML card form that takes Stripe's test
//! cards, completes the session with a PaymentIntent and its charge (carrying
//! `payment_intent_data[metadata]`), emits `checkout.session.completed` and returns to
//! `success_url`. Stripe's dispute test card is disputed after the payout delay.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::calendar::{unix_now, year_month};
use super::card::{self, Charged, TEST_CARD_DECLINED, TEST_CARD_DISPUTED, TEST_CARD_SUCCEEDS};
use super::html::{dollars, escape, page};
use super::store::{random_id, HostedSession};
use super::{api, webhooks, App};
use crate::wire::{Charge, CHECKOUT_SESSION_COMPLETED};

/// Stripe's placeholder in `success_url`, replaced by the session id.
const SESSION_ID_PLACEHOLDER: &str = "{CHECKOUT_SESSION_ID}";

/// The hosted-page routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/c/pay/{id}", get(show).post(pay))
}

/// What the customer typed into the card form.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CardForm {
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_expiry: String,
    #[serde(default)]
    card_cvc: String,
}

async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    let mut store = app.store();
    match store.session_mut(&id) {
        Some(hosted) => checkout_page(hosted, &CardForm::default(), None),
        None => not_found(),
    }
}

async fn pay(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(card): Form<CardForm>,
) -> Response {
    let today = year_month(unix_now());
    let pending = webhooks::pending(&app);
    let (success_url, event, disputed) = {
        let mut store = app.store();
        let Some(hosted) = store.session_mut(&id) else {
            return not_found();
        };
        match hosted.session.status.as_deref() {
            Some("complete") => return already_paid(hosted),
            Some("expired") => return expired(),
            _ => {}
        }
        let charged =
            match card::charge(&card.card_number, &card.card_expiry, &card.card_cvc, today) {
                Ok(charged) => charged,
                Err(refused) => return checkout_page(hosted, &card, Some(refused.message())),
            };
        let payment_intent = random_id("pi_");
        let charge = Charge {
            id: random_id("ch_"),
            object: "charge".into(),
            amount: hosted.session.amount_total.unwrap_or(0),
            amount_refunded: 0,
            currency: hosted.session.currency.clone().unwrap_or_default(),
            refunded: false,
            disputed: false,
            payment_intent: Some(payment_intent.clone()),
            metadata: hosted.payment_metadata.clone(),
            created: unix_now(),
            livemode: false,
        };
        let session = &mut hosted.session;
        session.payment_status = "paid".into();
        session.status = Some("complete".into());
        session.url = None;
        session.payment_intent = Some(payment_intent);
        let success_url = session.success_url.clone().unwrap_or_default();
        let object = match serde_json::to_value(&*session) {
            Ok(object) => object,
            Err(e) => return failure(&format!("cannot encode the session: {e}")),
        };
        let disputed = (charged == Charged::ThenDisputed).then(|| charge.id.clone());
        store.charges.push(charge);
        let event = store.record_event(CHECKOUT_SESSION_COMPLETED, object, pending);
        (success_url, event, disputed)
    };
    webhooks::dispatch(&app, &event);
    if let Some(charge) = disputed {
        app.tasks
            .spawn(api::charges::dispute_later(app.clone(), charge));
    }
    Redirect::to(&success_url.replace(SESSION_ID_PLACEHOLDER, &id)).into_response()
}

/// Which cards to type, shown under the banner of the checkout page.
fn test_cards_note() -> String {
    format!(
        "<p>Test cards: <code>{TEST_CARD_SUCCEEDS}</code> succeeds, <code>{TEST_CARD_DISPUTED}</code> \
         succeeds and is then disputed, <code>{TEST_CARD_DECLINED}</code> is declined. Use any \
         future expiry (MM / YY) and any 3-digit CVC.</p>"
    )
}

fn checkout_page(hosted: &HostedSession, card: &CardForm, error: Option<&str>) -> Response {
    let session = &hosted.session;
    let amount = dollars(session.amount_total.unwrap_or(0));
    let error = error
        .map(|message| format!("<p id=\"error\" role=\"alert\">{}</p>", escape(message)))
        .unwrap_or_default();
    let cancel = session.cancel_url.as_deref().unwrap_or("/");
    let body = format!(
        "<div class=\"checkout\">\
         <h1 id=\"product\">{product}</h1>\
         <p>Pay <strong id=\"amount\">{amount}</strong></p>{error}\
         <form method=\"post\" action=\"/c/pay/{id}\">\
         <label for=\"card-number\">Card number</label>\
         <input id=\"card-number\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" \
          placeholder=\"1234 1234 1234 1234\" value=\"{number}\">\
         <label for=\"card-expiry\">Expiry (MM / YY)</label>\
         <input id=\"card-expiry\" name=\"card_expiry\" autocomplete=\"cc-exp\" placeholder=\"MM / YY\" value=\"{expiry}\">\
         <label for=\"card-cvc\">CVC</label>\
         <input id=\"card-cvc\" name=\"card_cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\" placeholder=\"CVC\">\
         <button id=\"pay\" type=\"submit\">Pay {amount}</button>\
         </form>\
         <p><a id=\"cancel\" href=\"{cancel}\">Cancel</a></p></div>",
        product = escape(&hosted.product_name),
        id = escape(&session.id),
        number = escape(&card.card_number),
        expiry = escape(&card.card_expiry),
        cancel = escape(cancel),
    );
    page("Checkout", &test_cards_note(), &body).into_response()
}

fn already_paid(hosted: &HostedSession) -> Response {
    let session = &hosted.session;
    let back = session
        .success_url
        .as_deref()
        .map(|url| url.replace(SESSION_ID_PLACEHOLDER, &session.id))
        .map(|url| {
            format!(
                "<p><a id=\"continue\" href=\"{}\">Continue</a></p>",
                escape(&url)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<div class=\"checkout\"><h1>{}</h1><p id=\"paid\">This checkout session was already paid \
         ({}). Nothing more was charged.</p>{back}</div>",
        escape(&hosted.product_name),
        dollars(session.amount_total.unwrap_or(0)),
    );
    page("Checkout", "", &body).into_response()
}

fn expired() -> Response {
    let body = "<div class=\"checkout\"><h1>Session expired</h1>\
                <p id=\"expired\">This checkout session has expired and can no longer be paid.</p></div>";
    page("Checkout", "", body).into_response()
}

fn not_found() -> Response {
    let body = "<div class=\"checkout\"><h1>Not found</h1><p>No such checkout session.</p></div>";
    (StatusCode::NOT_FOUND, page("Checkout", "", body)).into_response()
}

fn failure(message: &str) -> Response {
    let body = format!("<h1>Sandbox error</h1><p>{}</p>", escape(message));
    (StatusCode::INTERNAL_SERVER_ERROR, page("Error", "", &body)).into_response()
}
