//! Stripe's objects as they travel over the wire: events, Checkout Sessions, payouts, lists and
//! error bodies. Field names are Stripe's; fields we do not use are ignored when decoding.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A Checkout Session was paid (or, for delayed methods, completed).
pub const CHECKOUT_SESSION_COMPLETED: &str = "checkout.session.completed";
/// A payout to a bank account was created.
pub const PAYOUT_CREATED: &str = "payout.created";
/// A payout reached the bank account.
pub const PAYOUT_PAID: &str = "payout.paid";
/// A payout could not be delivered; the money is back in the balance. It can follow
/// `payout.paid` when the bank returns the money later.
pub const PAYOUT_FAILED: &str = "payout.failed";
/// A pending payout was canceled; the money is back in the balance.
pub const PAYOUT_CANCELED: &str = "payout.canceled";

/// A transfer to a connected account was created: the money is in that account's balance,
/// and the processor pays it to the account's bank on the account's payout schedule.
pub const TRANSFER_CREATED: &str = "transfer.created";
/// A transfer was reversed, wholly or in part (`amount_reversed` says how much in all).
pub const TRANSFER_REVERSED: &str = "transfer.reversed";
/// A charge was refunded, wholly or in part (`amount_refunded` is the total so far).
pub const CHARGE_REFUNDED: &str = "charge.refunded";
/// A cardholder disputed a charge: the disputed amount is taken from the balance.
pub const CHARGE_DISPUTE_CREATED: &str = "charge.dispute.created";
/// A dispute ended: `won` (the money comes back), `lost`, or `warning_closed` (an inquiry).
pub const CHARGE_DISPUTE_CLOSED: &str = "charge.dispute.closed";
/// A connected account changed: onboarding finished, capabilities, requirements due.
pub const ACCOUNT_UPDATED: &str = "account.updated";

/// The API version the sandbox stamps on its events.
pub const API_VERSION: &str = "2024-06-20";

/// A webhook event: something happened to an object in the processor's account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// `evt_…`, unique per event; a redelivery carries the same id.
    pub id: String,
    /// Always `"event"`.
    pub object: String,
    /// The API version the object in `data` is rendered in.
    pub api_version: Option<String>,
    /// Unix seconds when the event happened.
    pub created: i64,
    /// False for test-mode events.
    pub livemode: bool,
    /// The event type, e.g. [`CHECKOUT_SESSION_COMPLETED`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The object the event is about, as it was when the event happened.
    pub data: EventData,
    /// How many webhook endpoints have yet to acknowledge this event.
    #[serde(default)]
    pub pending_webhooks: i64,
}

/// The payload of an [`Event`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventData {
    /// The object itself: a Checkout Session, a payout, … depending on the event type.
    pub object: serde_json::Value,
}

impl Event {
    /// Decodes `data.object` as the type the event's `kind` implies, e.g. [`CheckoutSession`].
    pub fn data_object<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data.object)
    }
}

/// A Checkout Session: a hosted page where a customer pays once, with the outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckoutSession {
    /// `cs_test_…` in test mode, `cs_live_…` in live mode.
    pub id: String,
    /// Always `"checkout.session"`.
    pub object: String,
    /// The total in cents.
    pub amount_total: Option<i64>,
    /// Lowercase ISO currency, e.g. `"usd"`.
    pub currency: Option<String>,
    /// The caller's own reference, echoed back untouched.
    pub client_reference_id: Option<String>,
    /// The caller's key/value pairs, echoed back untouched.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `"payment"` for a one-off payment.
    pub mode: String,
    /// `"paid"` once the money is collected, otherwise `"unpaid"`.
    pub payment_status: String,
    /// `"open"`, `"complete"` or `"expired"`.
    pub status: Option<String>,
    /// Where the customer goes after paying; `{CHECKOUT_SESSION_ID}` is replaced by the id.
    pub success_url: Option<String>,
    /// Where the customer goes on cancelling.
    pub cancel_url: Option<String>,
    /// The hosted payment page; present only while the session is open.
    pub url: Option<String>,
    /// The PaymentIntent (`pi_…`) that collected the money, once the session is paid: what a
    /// refund or a dispute names later.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// False in test mode.
    pub livemode: bool,
    /// Unix seconds when the session was created.
    pub created: i64,
    /// Unix seconds after which the session can no longer be paid.
    pub expires_at: Option<i64>,
}

/// A payout: money sent from the processor balance to a bank account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Payout {
    /// `po_…`.
    pub id: String,
    /// Always `"payout"`.
    pub object: String,
    /// The amount in cents.
    pub amount: i64,
    /// Lowercase ISO currency, e.g. `"usd"`.
    pub currency: String,
    /// `"pending"`, `"in_transit"`, `"paid"`, `"failed"` or `"canceled"`.
    pub status: String,
    /// The caller's key/value pairs, echoed back untouched.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The bank account the money goes to.
    pub destination: Option<String>,
    /// The caller's description.
    pub description: Option<String>,
    /// Why a failed payout failed, e.g. `"no_account"`.
    pub failure_code: Option<String>,
    /// The failure explained to a human.
    pub failure_message: Option<String>,
    /// Unix seconds when the money is expected at the bank.
    pub arrival_date: i64,
    /// Unix seconds when the payout was created.
    pub created: i64,
    /// False in test mode.
    pub livemode: bool,
}

/// A connected account (Stripe Connect): where a resident's sales are paid, and from which the
/// processor pays the resident's own bank.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Account {
    /// `acct_…`.
    pub id: String,
    /// Always `"account"`.
    pub object: String,
    /// `"express"`, `"standard"`, `"custom"` or `"none"`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Two-letter country code, e.g. `"US"`.
    #[serde(default)]
    pub country: Option<String>,
    /// The account holder's email, if given.
    #[serde(default)]
    pub email: Option<String>,
    /// Capability name to status (`"active"`, `"inactive"`, `"pending"`), e.g. `transfers`.
    #[serde(default)]
    pub capabilities: BTreeMap<String, String>,
    /// Whether the account can take charges.
    #[serde(default)]
    pub charges_enabled: bool,
    /// Whether the processor pays the account's balance out to its bank.
    #[serde(default)]
    pub payouts_enabled: bool,
    /// Whether the holder finished the onboarding form.
    #[serde(default)]
    pub details_submitted: bool,
    /// What the processor still needs from the holder.
    #[serde(default)]
    pub requirements: Option<Requirements>,
    /// The bank accounts the account is paid out to.
    #[serde(default)]
    pub external_accounts: Option<List<BankAccount>>,
    /// The caller's key/value pairs, echoed back untouched.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds when the account was created.
    #[serde(default)]
    pub created: i64,
}

impl Account {
    /// Whether transfers can be sent to this account.
    pub fn transfers_active(&self) -> bool {
        self.capabilities.get("transfers").map(String::as_str) == Some("active")
    }

    /// The bank account payouts go to (the default for its currency, else the first).
    pub fn bank_account(&self) -> Option<&BankAccount> {
        let banks = &self.external_accounts.as_ref()?.data;
        banks
            .iter()
            .find(|b| b.default_for_currency == Some(true))
            .or_else(|| banks.first())
    }
}

/// What a connected account must still provide.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Requirements {
    /// Fields needed now for the account to stay enabled.
    #[serde(default)]
    pub currently_due: Vec<String>,
    /// Fields whose deadline passed: the account is disabled until they are given.
    #[serde(default)]
    pub past_due: Vec<String>,
    /// Why the account is disabled, e.g. `"requirements.past_due"`.
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

/// A bank account a connected account is paid out to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BankAccount {
    /// `ba_…`.
    pub id: String,
    /// Always `"bank_account"`.
    pub object: String,
    /// The bank's name, e.g. `"STRIPE TEST BANK"`.
    #[serde(default)]
    pub bank_name: Option<String>,
    /// The last four digits of the account number.
    pub last4: String,
    /// Lowercase ISO currency, e.g. `"usd"`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Whether payouts in its currency go here.
    #[serde(default)]
    pub default_for_currency: Option<bool>,
}

/// A single-use link to the processor's hosted onboarding for one connected account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountLink {
    /// Always `"account_link"`.
    pub object: String,
    /// Unix seconds when the link was created.
    pub created: i64,
    /// Unix seconds after which the link sends its visitor to `refresh_url` instead.
    pub expires_at: i64,
    /// Where to send the account holder.
    pub url: String,
}

/// A transfer: money moved from the platform's balance to a connected account's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transfer {
    /// `tr_…`.
    pub id: String,
    /// Always `"transfer"`.
    pub object: String,
    /// The amount in cents.
    pub amount: i64,
    /// How much of it was reversed so far, in cents.
    #[serde(default)]
    pub amount_reversed: i64,
    /// Lowercase ISO currency, e.g. `"usd"`.
    pub currency: String,
    /// The connected account (`acct_…`) the money went to.
    pub destination: Option<String>,
    /// The caller's description.
    #[serde(default)]
    pub description: Option<String>,
    /// The caller's key/value pairs, echoed back untouched.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Whether the whole transfer was reversed.
    #[serde(default)]
    pub reversed: bool,
    /// Unix seconds when the transfer was made.
    pub created: i64,
    /// False in test mode.
    #[serde(default)]
    pub livemode: bool,
}

/// Part or all of a transfer taken back from the connected account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransferReversal {
    /// `trr_…`.
    pub id: String,
    /// Always `"transfer_reversal"`.
    pub object: String,
    /// The amount reversed, in cents.
    pub amount: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// The transfer (`tr_…`) it reverses.
    pub transfer: String,
    /// Unix seconds when it was made.
    pub created: i64,
}

/// A charge: money collected from a card (for a Checkout payment, under its PaymentIntent).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Charge {
    /// `ch_…`.
    pub id: String,
    /// Always `"charge"`.
    pub object: String,
    /// The amount charged, in cents.
    pub amount: i64,
    /// How much of it was refunded so far, in cents.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Lowercase ISO currency.
    pub currency: String,
    /// Whether the whole charge was refunded.
    #[serde(default)]
    pub refunded: bool,
    /// Whether the charge is disputed.
    #[serde(default)]
    pub disputed: bool,
    /// The PaymentIntent (`pi_…`) the charge belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// The PaymentIntent's key/value pairs (Checkout: `payment_intent_data[metadata]`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds when the card was charged.
    pub created: i64,
    /// False in test mode.
    #[serde(default)]
    pub livemode: bool,
}

/// A refund of part or all of a charge.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refund {
    /// `re_…`.
    pub id: String,
    /// Always `"refund"`.
    pub object: String,
    /// The amount refunded, in cents.
    pub amount: i64,
    /// The charge (`ch_…`) refunded.
    #[serde(default)]
    pub charge: Option<String>,
    /// The PaymentIntent (`pi_…`) refunded.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Lowercase ISO currency.
    pub currency: String,
    /// `"succeeded"`, `"pending"`, `"failed"` or `"canceled"`.
    pub status: String,
    /// Unix seconds when it was made.
    pub created: i64,
}

/// A cardholder's dispute of a charge (a chargeback).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dispute {
    /// `du_…`.
    pub id: String,
    /// Always `"dispute"`.
    pub object: String,
    /// The disputed amount, in cents.
    pub amount: i64,
    /// The charge (`ch_…`) disputed.
    pub charge: String,
    /// The charge's PaymentIntent (`pi_…`).
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Lowercase ISO currency.
    pub currency: String,
    /// The cardholder's reason, e.g. `"fraudulent"`.
    #[serde(default)]
    pub reason: String,
    /// `warning_needs_response`, `warning_under_review`, `warning_closed` (inquiries, no money
    /// moved), `needs_response`, `under_review`, `won` or `lost`.
    pub status: String,
    /// Unix seconds when it was opened.
    pub created: i64,
    /// False in test mode.
    #[serde(default)]
    pub livemode: bool,
}

impl Dispute {
    /// An inquiry: the card network asks, but no money was taken from the balance.
    pub fn is_inquiry(&self) -> bool {
        self.status.starts_with("warning_")
    }
}

/// One page of a list endpoint, e.g. `GET /v1/events`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct List<T> {
    /// Always `"list"`.
    pub object: String,
    /// The items, newest first.
    pub data: Vec<T>,
    /// Whether more items follow this page (ask again with `starting_after`).
    pub has_more: bool,
    /// The endpoint's path, e.g. `"/v1/events"`.
    #[serde(default)]
    pub url: String,
}

/// The body of every 4xx response from the processor's API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiErrorBody {
    /// What went wrong.
    pub error: ApiErrorDetail,
}

/// What went wrong with an API request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiErrorDetail {
    /// `"invalid_request_error"`, `"idempotency_error"`, `"card_error"`, `"api_error"`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// A sentence for a human.
    #[serde(default)]
    pub message: String,
    /// A machine-readable reason, e.g. `"resource_missing"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The request parameter at fault, e.g. `"destination"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_stripe_event_ignoring_unknown_fields() {
        // Trimmed from Stripe's docs, with fields this crate does not model left in.
        let json = r#"{
          "id": "evt_1PxYz2AbCdEfGhIj",
          "object": "event",
          "api_version": "2024-06-20",
          "created": 1718000000,
          "data": {
            "object": {
              "id": "cs_test_a1B2c3",
              "object": "checkout.session",
              "amount_subtotal": 1250,
              "amount_total": 1250,
              "client_reference_id": "carlos",
              "currency": "usd",
              "customer_details": {"email": "carlos@example.com"},
              "expires_at": 1718086400,
              "livemode": false,
              "created": 1718000000,
              "metadata": {"meter": "carlos-house"},
              "mode": "payment",
              "payment_status": "paid",
              "status": "complete",
              "success_url": "https://utility.example/paid",
              "cancel_url": "https://utility.example/cancel",
              "url": null
            },
            "previous_attributes": null
          },
          "livemode": false,
          "pending_webhooks": 1,
          "request": {"id": null, "idempotency_key": null},
          "type": "checkout.session.completed"
        }"#;
        let event: Event = serde_json::from_str(json).expect("event decodes");
        assert_eq!(event.kind, CHECKOUT_SESSION_COMPLETED);
        assert_eq!(event.pending_webhooks, 1);
        let session: CheckoutSession = event.data_object().expect("session decodes");
        assert_eq!(session.amount_total, Some(1250));
        assert_eq!(session.client_reference_id.as_deref(), Some("carlos"));
        assert_eq!(
            session.metadata.get("meter").map(String::as_str),
            Some("carlos-house")
        );
        assert_eq!(session.url, None);
    }

    #[test]
    fn decodes_an_error_body_without_code_or_param() {
        let json = r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****1234"}}"#;
        let body: ApiErrorBody = serde_json::from_str(json).expect("error decodes");
        assert_eq!(body.error.kind, "invalid_request_error");
        assert_eq!(body.error.param, None);
        let round_trip = serde_json::to_string(&body).expect("error encodes");
        assert_eq!(round_trip, json);
    }
}
