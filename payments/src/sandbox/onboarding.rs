//! The hosted Connect onboarding page (`/connect/onboard/{link}`): a plain HTML form prefilled
//! with Stripe's test data. Submitting it finishes the connected account (details submitted,
//! its requested capabilities — `transfers` — active, payouts enabled, a bank account on file,
//! nothing more due), announces `account.updated` and returns to the link's `return_url`;
//! "Finish later" returns there with the account unfinished. A link serves once: used or
//! expired, it sends its visitor to its `refresh_url`, as Stripe's do.
//!
//! Element ids for browser tests: `#first-name`, `#last-name`, `#dob`, `#ssn-last4`,
//! `#routing-number`, `#account-number`, the buttons `#submit` and `#later`, and `#error` above
//! the form when the details were refused.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::api::payouts::TEST_ACCOUNT_PAID;
use super::calendar::unix_now;
use super::html::{escape, page};
use super::store::{random_id, OnboardingLink};
use super::{webhooks, App};
use crate::wire::{Account, BankAccount, List, Requirements, ACCOUNT_UPDATED};

/// Stripe's test routing number (any test account number works with it).
pub const TEST_ROUTING_NUMBER: &str = "110000000";
/// Stripe's test date of birth that passes verification.
const TEST_DOB: &str = "1901-01-01";
/// Stripe's test SSN last 4 that passes verification.
const TEST_SSN_LAST_4: &str = "0000";

/// The onboarding routes.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/connect/onboard/{link}", get(show).post(submit))
}

/// What the holder typed (or left as prefilled).
#[derive(Debug, Clone, Deserialize)]
struct Details {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    dob: String,
    #[serde(default)]
    ssn_last_4: String,
    #[serde(default)]
    routing_number: String,
    #[serde(default)]
    account_number: String,
    /// `later` for "Finish later"; anything else submits.
    #[serde(default)]
    action: String,
}

impl Default for Details {
    /// Stripe's test data, as the form is prefilled.
    fn default() -> Self {
        Self {
            first_name: "Jenny".into(),
            last_name: "Rosen".into(),
            dob: TEST_DOB.into(),
            ssn_last_4: TEST_SSN_LAST_4.into(),
            routing_number: TEST_ROUTING_NUMBER.into(),
            account_number: TEST_ACCOUNT_PAID.into(),
            action: String::new(),
        }
    }
}

impl Details {
    /// What is wrong with the details, as the form says it.
    fn problem(&self) -> Option<&'static str> {
        if self.first_name.trim().is_empty() || self.last_name.trim().is_empty() {
            Some("Enter your first and last name.")
        } else if !is_date(self.dob.trim()) {
            Some("Enter your date of birth as YYYY-MM-DD.")
        } else if !digits(&self.ssn_last_4, 4, 4) {
            Some("The last 4 digits of your SSN are 4 digits.")
        } else if !digits(&self.routing_number, 9, 9) {
            Some("The routing number is 9 digits.")
        } else if !digits(&self.account_number, 4, 17) {
            Some("The account number is 4 to 17 digits.")
        } else {
            None
        }
    }

    /// Whether the holder chose "Finish later".
    fn later(&self) -> bool {
        self.action == "later"
    }
}

/// Whether `text` (trimmed) is `min` to `max` digits.
fn digits(text: &str, min: usize, max: usize) -> bool {
    let text = text.trim();
    (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` is a `YYYY-MM-DD` date (month 1–12, day 1–31).
fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let within = |part: &str, len: usize, range: std::ops::RangeInclusive<u32>| {
        digits(part, len, len) && part.parse().is_ok_and(|n| range.contains(&n))
    };
    within(year, 4, 1..=9999) && within(month, 2, 1..=12) && within(day, 2, 1..=31)
}

/// The link with this id, as it is now.
fn link(app: &App, id: &str) -> Option<OnboardingLink> {
    app.store().links.iter().find(|l| l.id == id).cloned()
}

/// The form, prefilled with Stripe's test data, while the link serves.
async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match link(&app, &id) {
        None => not_found(),
        Some(link) if link.spent(unix_now()) => Redirect::to(&link.refresh_url).into_response(),
        Some(link) => form(&link, &Details::default(), None),
    }
}

/// Submits the form: details with a problem show the form again (the link still usable);
/// otherwise the link is spent, the account finished (unless "Finish later") and announced,
/// and the holder sent to the link's `return_url`.
async fn submit(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Form(details): Form<Details>,
) -> Response {
    let pending = webhooks::pending(&app);
    let (return_url, event) = {
        let mut store = app.store();
        let Some(link) = store.links.iter_mut().find(|l| l.id == id) else {
            return not_found();
        };
        if link.spent(unix_now()) {
            return Redirect::to(&link.refresh_url).into_response();
        }
        if !details.later() {
            if let Some(problem) = details.problem() {
                return form(link, &details, Some(problem));
            }
        }
        link.used = true;
        let (account, return_url) = (link.account.clone(), link.return_url.clone());
        let finished = match store.account_mut(&account) {
            Some(account) if !details.later() => {
                complete(account, &details);
                serde_json::to_value(&*account).ok()
            }
            _ => None,
        };
        let event = finished.map(|object| store.record_event(ACCOUNT_UPDATED, object, pending));
        (return_url, event)
    };
    if let Some(event) = event {
        webhooks::dispatch(&app, &event);
    }
    Redirect::to(&return_url).into_response()
}

/// The account once its holder gave everything: details submitted, every capability it
/// requested active (`transfers`: it can receive transfers), payouts enabled to the bank account
/// given, nothing more due.
fn complete(account: &mut Account, details: &Details) {
    let number = details.account_number.trim();
    account.details_submitted = true;
    account.payouts_enabled = true;
    for status in account.capabilities.values_mut() {
        *status = "active".into();
    }
    account.charges_enabled = account
        .capabilities
        .get("card_payments")
        .map(String::as_str)
        == Some("active");
    account.requirements = Some(Requirements::default());
    let bank = BankAccount {
        id: random_id("ba_"),
        object: "bank_account".into(),
        bank_name: Some("STRIPE TEST BANK".into()),
        last4: number
            .get(number.len().saturating_sub(4)..)
            .unwrap_or(number)
            .to_string(),
        currency: Some("usd".into()),
        default_for_currency: Some(true),
    };
    let url = format!("/v1/accounts/{}/external_accounts", account.id);
    account.external_accounts = Some(List {
        object: "list".into(),
        data: vec![bank],
        has_more: false,
        url,
    });
}

/// The form, prefilled with `details`, with `error` above it.
fn form(link: &OnboardingLink, details: &Details, error: Option<&str>) -> Response {
    let error = error
        .map(|message| format!("<p id=\"error\" role=\"alert\">{}</p>", escape(message)))
        .unwrap_or_default();
    let field = |id: &str, name: &str, label: &str, value: &str| {
        format!(
            "<label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let body = format!(
        "<div class=\"checkout\"><h1>Get paid</h1>\
         <p>Set up payouts for <code id=\"account\">{account}</code>.</p>{error}\
         <form method=\"post\" action=\"/connect/onboard/{id}\">{first}{last}{dob}{ssn}{routing}{number}\
         <button id=\"submit\" type=\"submit\" name=\"action\" value=\"submit\">Agree and submit</button>\
         <button id=\"later\" type=\"submit\" name=\"action\" value=\"later\">Finish later</button>\
         </form></div>",
        account = escape(&link.account),
        id = escape(&link.id),
        first = field("first-name", "first_name", "First name", &details.first_name),
        last = field("last-name", "last_name", "Last name", &details.last_name),
        dob = field("dob", "dob", "Date of birth (YYYY-MM-DD)", &details.dob),
        ssn = field("ssn-last4", "ssn_last_4", "Last 4 digits of SSN", &details.ssn_last_4),
        routing = field(
            "routing-number",
            "routing_number",
            "Routing number",
            &details.routing_number
        ),
        number = field(
            "account-number",
            "account_number",
            "Account number",
            &details.account_number
        ),
    );
    page("Connect onboarding", &test_data_note(), &body).into_response()
}

/// Which data to type, shown under the banner of the onboarding page.
fn test_data_note() -> String {
    format!(
        "<p>Test data: date of birth <code>{TEST_DOB}</code>, SSN last 4 \
         <code>{TEST_SSN_LAST_4}</code>, routing number <code>{TEST_ROUTING_NUMBER}</code>, \
         account number <code>{TEST_ACCOUNT_PAID}</code> (its payouts are paid). Nothing is \
         verified.</p>"
    )
}

/// What an unknown link shows.
fn not_found() -> Response {
    let body = "<div class=\"checkout\"><h1>Not found</h1><p>No such onboarding link.</p></div>";
    (StatusCode::NOT_FOUND, page("Onboarding", "", body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilled_test_data_passes_and_bad_details_are_named() {
        assert_eq!(Details::default().problem(), None);
        let bad = |change: fn(&mut Details)| {
            let mut details = Details::default();
            change(&mut details);
            details.problem()
        };
        let named = |change: fn(&mut Details), word: &str| {
            let problem = bad(change).unwrap_or_default();
            assert!(problem.contains(word), "{problem:?} should name {word}");
        };
        named(|d| d.first_name.clear(), "name");
        named(|d| d.last_name = "  ".into(), "name");
        named(|d| d.dob = "1901-13-01".into(), "date of birth");
        named(|d| d.dob = "01/01/1901".into(), "date of birth");
        named(|d| d.ssn_last_4 = "12a4".into(), "SSN");
        named(|d| d.routing_number = "1100".into(), "routing");
        named(|d| d.account_number = "12".into(), "account number");
        named(|d| d.account_number = "1".repeat(18), "account number");
        assert_eq!(
            bad(|d| d.account_number = " 0001 ".into()),
            None,
            "trimmed, 4 digits"
        );
    }

    #[test]
    fn a_finished_account_is_enabled_with_its_bank_account() {
        let mut account = Account {
            id: "acct_1".into(),
            object: "account".into(),
            kind: Some("express".into()),
            country: Some("US".into()),
            email: None,
            capabilities: [("transfers".to_string(), "inactive".to_string())].into(),
            charges_enabled: false,
            payouts_enabled: false,
            details_submitted: false,
            requirements: Some(Requirements {
                currently_due: vec!["external_account".into()],
                past_due: vec!["external_account".into()],
                disabled_reason: Some("requirements.past_due".into()),
            }),
            external_accounts: None,
            metadata: Default::default(),
            created: 0,
        };
        complete(&mut account, &Details::default());
        assert!(account.details_submitted && account.payouts_enabled);
        assert!(account.transfers_active());
        assert!(!account.charges_enabled, "card_payments was not requested");
        assert_eq!(account.requirements, Some(Requirements::default()));
        let bank = account.bank_account().expect("a bank account");
        assert_eq!(
            (bank.last4.as_str(), bank.bank_name.as_deref()),
            ("6789", Some("STRIPE TEST BANK"))
        );
        assert_eq!(
            account.external_accounts.as_ref().map(|l| l.url.as_str()),
            Some("/v1/accounts/acct_1/external_accounts")
        );
    }
}
