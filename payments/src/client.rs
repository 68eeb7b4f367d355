//! The processor's API over HTTP, as Stripe defines it: form-encoded requests with bracketed keys,
//! Bearer secret keys and idempotency keys. Works against api.stripe.com or the sandbox alike.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

use crate::wire::{
    Account, AccountLink, ApiErrorBody, Charge, CheckoutSession, Dispute, List, Payout, Refund,
    Transfer, TransferReversal,
};

/// Stripe's live and test-mode API; which mode is decided by the secret key.
pub const STRIPE_API_URL: &str = "https://api.stripe.com";

/// How long one API call may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Error bodies longer than this are cut in [`ProcessorError::Server`].
const MAX_ERROR_BODY_CHARS: usize = 1000;

/// A client for the processor's API under one secret key.
#[derive(Clone)]
pub struct Processor {
    base_url: String,
    secret_key: String,
    http: reqwest::Client,
}

/// A one-off payment to collect through a hosted Checkout page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckoutSession {
    /// What the customer pays, in cents.
    pub amount_cents: i64,
    /// Lowercase ISO currency, e.g. `"usd"`.
    pub currency: String,
    /// The line the customer sees on the payment page.
    pub product_name: String,
    /// Our own reference, echoed back in the session and its events.
    pub client_reference_id: String,
    /// Our key/value pairs, echoed back in the session and its events.
    pub metadata: BTreeMap<String, String>,
    /// Where the customer lands after paying; may contain `{CHECKOUT_SESSION_ID}`.
    pub success_url: String,
    /// Where the customer lands on cancelling.
    pub cancel_url: String,
}

/// Money to send from the processor balance to a bank account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayout {
    /// The amount, in cents.
    pub amount_cents: i64,
    /// Lowercase ISO currency, e.g. `"usd"`.
    pub currency: String,
    /// The bank account; `None` lets the processor use the account's default.
    pub destination: Option<String>,
    /// Shown on the dashboard and echoed back.
    pub description: String,
    /// Our key/value pairs, echoed back in the payout and its events.
    pub metadata: BTreeMap<String, String>,
}

/// A connected account to create for someone who will be paid (Stripe Connect, Express).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// Two-letter country code, e.g. `"US"`.
    pub country: String,
    /// The holder's email, if known (the onboarding asks otherwise).
    pub email: Option<String>,
    /// Our key/value pairs, echoed back in the account and its events.
    pub metadata: BTreeMap<String, String>,
}

/// Money to move from the platform's balance to a connected account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransfer {
    /// The amount, in cents.
    pub amount_cents: i64,
    /// Lowercase ISO currency, e.g. `"usd"`.
    pub currency: String,
    /// The connected account, `acct_…`.
    pub destination: String,
    /// Shown on the dashboard and echoed back.
    pub description: String,
    /// Our key/value pairs, echoed back in the transfer and its events.
    pub metadata: BTreeMap<String, String>,
}

/// Why an API call did not return the object asked for.
#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    /// The processor could not be reached, or did not answer in time.
    #[error("the payment processor is unreachable: {0}")]
    Unreachable(String),
    /// The processor refused the request (4xx) and said why.
    #[error("the payment processor refused the request (HTTP {status}, {kind}{}): {message}", param.as_ref().map(|p| format!(", parameter {p}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status, e.g. 400 or 401.
        status: u16,
        /// Stripe's error type, e.g. `"invalid_request_error"`.
        kind: String,
        /// Stripe's explanation.
        message: String,
        /// Stripe's machine-readable reason, if any.
        code: Option<String>,
        /// The request parameter at fault, if any.
        param: Option<String>,
    },
    /// The processor failed (5xx), or answered with an error we could not read.
    #[error("the payment processor failed (HTTP {status}): {body}")]
    Server {
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// A successful response whose body is not the expected object.
    #[error("the payment processor's response could not be decoded: {0}")]
    Decode(String),
}

impl ProcessorError {
    /// Whether the processor refused the request itself, so nothing was made by it nor by any
    /// earlier request under the same idempotency key: a 400, 402 or 404 that is not about the
    /// key (Stripe replays a saved answer to a repeated key, and answers 409 while a request
    /// under it is still running). Anything else — a rate limit (429), a key that stopped
    /// working (401, 403), a 409, a 5xx, no answer — proves nothing: a payout may exist.
    pub fn is_final_refusal(&self) -> bool {
        match self {
            ProcessorError::Rejected {
                status, kind, code, ..
            } => {
                matches!(status, 400 | 402 | 404)
                    && kind != "idempotency_error"
                    && code.as_deref() != Some("idempotency_key_in_use")
            }
            _ => false,
        }
    }
}

impl fmt::Debug for Processor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("base_url", &self.base_url)
            .field("test_mode", &self.test_mode())
            .finish_non_exhaustive()
    }
}

impl Processor {
    /// A client for the API at `base_url` (e.g. [`STRIPE_API_URL`] or a sandbox's URL).
    pub fn new(base_url: &str, secret_key: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// The API's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether the secret key is a test-mode key (`sk_test_…`, or a restricted `rk_test_…`):
    /// no real money moves.
    pub fn test_mode(&self) -> bool {
        key_mode(&self.secret_key) == Some(false)
    }

    /// Whether the key is a live key (`sk_live_…`, `rk_live_…`): real money moves.
    pub fn live_mode(&self) -> bool {
        key_mode(&self.secret_key) == Some(true)
    }

    /// Creates a hosted Checkout Session; the customer pays at its `url`.
    ///
    /// Repeating a call with the same `idempotency_key` and parameters returns the same session.
    pub async fn create_checkout_session(
        &self,
        new: &NewCheckoutSession,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, ProcessorError> {
        let form = checkout_session_form(new);
        self.post("/v1/checkout/sessions", &form, idempotency_key)
            .await
    }

    /// Reads a Checkout Session as it is now.
    pub async fn retrieve_checkout_session(
        &self,
        id: &str,
    ) -> Result<CheckoutSession, ProcessorError> {
        let path = format!("/v1/checkout/sessions/{}", path_segment(id));
        self.send(self.request(Method::GET, &path)).await
    }

    /// Sends money to a bank account. The outcome arrives later as `payout.paid` or `payout.failed`.
    ///
    /// Repeating a call with the same `idempotency_key` and parameters returns the same payout.
    pub async fn create_payout(
        &self,
        new: &NewPayout,
        idempotency_key: &str,
    ) -> Result<Payout, ProcessorError> {
        let form = payout_form(new);
        self.post("/v1/payouts", &form, idempotency_key).await
    }

    /// One page (up to 100) of the payouts created at or after `created_gte` (Unix seconds),
    /// newest first, after the payout `starting_after`.
    pub async fn list_payouts(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<List<Payout>, ProcessorError> {
        let mut query = vec![
            pair("created[gte]", &created_gte.to_string()),
            pair("limit", "100"),
        ];
        if let Some(after) = starting_after {
            query.push(pair("starting_after", after));
        }
        self.send(self.request(Method::GET, "/v1/payouts").query(&query))
            .await
    }

    /// The payout whose metadata holds `key` = `value`, among every payout created at or after
    /// `created_gte`: what was made for one of our records, found whether or not the
    /// idempotency key it was made under is still remembered (Stripe prunes them after 24 h).
    pub async fn find_payout(
        &self,
        created_gte: i64,
        key: &str,
        value: &str,
    ) -> Result<Option<Payout>, ProcessorError> {
        let mut after: Option<String> = None;
        loop {
            let page = self.list_payouts(created_gte, after.as_deref()).await?;
            if let Some(found) = page
                .data
                .iter()
                .find(|p| p.metadata.get(key).map(String::as_str) == Some(value))
            {
                return Ok(Some(found.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
    }

    /// Cancels a payout that is still pending; its outcome arrives as `payout.canceled`.
    pub async fn cancel_payout(&self, id: &str) -> Result<Payout, ProcessorError> {
        let path = format!("/v1/payouts/{}/cancel", path_segment(id));
        self.post(&path, &[], &format!("cancel-{id}")).await
    }

    /// Creates an Express connected account that can receive transfers; its holder finishes it
    /// on the processor's hosted onboarding ([`Processor::create_account_link`]).
    pub async fn create_account(
        &self,
        new: &NewAccount,
        idempotency_key: &str,
    ) -> Result<Account, ProcessorError> {
        let mut form = vec![
            pair("type", "express"),
            pair("country", &new.country),
            pair("capabilities[transfers][requested]", "true"),
        ];
        if let Some(email) = &new.email {
            form.push(pair("email", email));
        }
        form.extend(metadata_pairs(&new.metadata));
        self.post("/v1/accounts", &form, idempotency_key).await
    }

    /// A connected account as it is now.
    pub async fn retrieve_account(&self, id: &str) -> Result<Account, ProcessorError> {
        let path = format!("/v1/accounts/{}", path_segment(id));
        self.send(self.request(Method::GET, &path)).await
    }

    /// One page (up to 100) of the platform's connected accounts, newest first.
    pub async fn list_accounts(
        &self,
        starting_after: Option<&str>,
    ) -> Result<List<Account>, ProcessorError> {
        let mut query = vec![pair("limit", "100")];
        if let Some(after) = starting_after {
            query.push(pair("starting_after", after));
        }
        self.send(self.request(Method::GET, "/v1/accounts").query(&query))
            .await
    }

    /// The connected account whose metadata holds `key` = `value`, if any.
    pub async fn find_account(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Option<Account>, ProcessorError> {
        let mut after: Option<String> = None;
        loop {
            let page = self.list_accounts(after.as_deref()).await?;
            if let Some(found) = page
                .data
                .iter()
                .find(|a| a.metadata.get(key).map(String::as_str) == Some(value))
            {
                return Ok(Some(found.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
    }

    /// A single-use link to the hosted onboarding of `account`: the holder comes back to
    /// `return_url` when done, or to `refresh_url` when the link expired (ask for a new one).
    pub async fn create_account_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<AccountLink, ProcessorError> {
        let form = [
            pair("account", account),
            pair("refresh_url", refresh_url),
            pair("return_url", return_url),
            pair("type", "account_onboarding"),
        ];
        let key = crate::random_id("link_");
        self.post("/v1/account_links", &form, &key).await
    }

    /// Moves money to a connected account (`transfer.created`); the processor pays it to the
    /// account's bank on the account's schedule.
    ///
    /// Repeating a call with the same `idempotency_key` and parameters returns the same transfer.
    pub async fn create_transfer(
        &self,
        new: &NewTransfer,
        idempotency_key: &str,
    ) -> Result<Transfer, ProcessorError> {
        let mut form = vec![
            pair("amount", &new.amount_cents.to_string()),
            pair("currency", &new.currency),
            pair("destination", &new.destination),
            pair("description", &new.description),
        ];
        form.extend(metadata_pairs(&new.metadata));
        self.post("/v1/transfers", &form, idempotency_key).await
    }

    /// A transfer as it is now.
    pub async fn retrieve_transfer(&self, id: &str) -> Result<Transfer, ProcessorError> {
        let path = format!("/v1/transfers/{}", path_segment(id));
        self.send(self.request(Method::GET, &path)).await
    }

    /// One page (up to 100) of the transfers created at or after `created_gte`, newest first.
    pub async fn list_transfers(
        &self,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<List<Transfer>, ProcessorError> {
        let mut query = vec![
            pair("created[gte]", &created_gte.to_string()),
            pair("limit", "100"),
        ];
        if let Some(after) = starting_after {
            query.push(pair("starting_after", after));
        }
        self.send(self.request(Method::GET, "/v1/transfers").query(&query))
            .await
    }

    /// The transfer whose metadata holds `key` = `value`, among every transfer created at or
    /// after `created_gte`: found whether or not its idempotency key is still remembered.
    pub async fn find_transfer(
        &self,
        created_gte: i64,
        key: &str,
        value: &str,
    ) -> Result<Option<Transfer>, ProcessorError> {
        let mut after: Option<String> = None;
        loop {
            let page = self.list_transfers(created_gte, after.as_deref()).await?;
            if let Some(found) = page
                .data
                .iter()
                .find(|t| t.metadata.get(key).map(String::as_str) == Some(value))
            {
                return Ok(Some(found.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
    }

    /// Takes back `amount_cents` of a transfer (all of what is left when `None`):
    /// `transfer.reversed`.
    pub async fn reverse_transfer(
        &self,
        id: &str,
        amount_cents: Option<i64>,
        idempotency_key: &str,
    ) -> Result<TransferReversal, ProcessorError> {
        let path = format!("/v1/transfers/{}/reversals", path_segment(id));
        let form: Vec<(String, String)> = amount_cents
            .map(|cents| pair("amount", &cents.to_string()))
            .into_iter()
            .collect();
        self.post(&path, &form, idempotency_key).await
    }

    /// Refunds `amount_cents` of a payment (all of what is left when `None`): `charge.refunded`.
    pub async fn create_refund(
        &self,
        payment_intent: &str,
        amount_cents: Option<i64>,
        idempotency_key: &str,
    ) -> Result<Refund, ProcessorError> {
        let mut form = vec![pair("payment_intent", payment_intent)];
        if let Some(cents) = amount_cents {
            form.push(pair("amount", &cents.to_string()));
        }
        self.post("/v1/refunds", &form, idempotency_key).await
    }

    /// A charge as it is now.
    pub async fn retrieve_charge(&self, id: &str) -> Result<Charge, ProcessorError> {
        let path = format!("/v1/charges/{}", path_segment(id));
        self.send(self.request(Method::GET, &path)).await
    }

    /// A dispute as it is now.
    pub async fn retrieve_dispute(&self, id: &str) -> Result<Dispute, ProcessorError> {
        let path = format!("/v1/disputes/{}", path_segment(id));
        self.send(self.request(Method::GET, &path)).await
    }

    /// Answers a dispute with written evidence and submits it to the card network (Stripe's
    /// test mode: the text `winning_evidence` wins, `losing_evidence` loses).
    pub async fn submit_dispute_evidence(
        &self,
        id: &str,
        text: &str,
    ) -> Result<Dispute, ProcessorError> {
        let path = format!("/v1/disputes/{}", path_segment(id));
        let form = [
            pair("evidence[uncategorized_text]", text),
            pair("submit", "true"),
        ];
        self.post(&path, &form, &crate::random_id("dispute_")).await
    }

    /// Accepts a dispute: it is lost (`charge.dispute.closed`).
    pub async fn close_dispute(&self, id: &str) -> Result<Dispute, ProcessorError> {
        let path = format!("/v1/disputes/{}/close", path_segment(id));
        self.post(&path, &[], &format!("close-{id}")).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .header(AUTHORIZATION, format!("Bearer {}", self.secret_key))
            .timeout(REQUEST_TIMEOUT)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, ProcessorError> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| ProcessorError::Decode(format!("cannot form-encode the request: {e}")))?;
        let request = self
            .request(Method::POST, path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("Idempotency-Key", idempotency_key)
            .body(body);
        self.send(request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, ProcessorError> {
        let response = request.send().await.map_err(unreachable)?;
        read(response).await
    }
}

/// Stripe's form encoding of a one-line-item payment session.
fn checkout_session_form(new: &NewCheckoutSession) -> Vec<(String, String)> {
    let mut form = vec![
        pair("mode", "payment"),
        pair("line_items[0][price_data][currency]", &new.currency),
        pair(
            "line_items[0][price_data][unit_amount]",
            &new.amount_cents.to_string(),
        ),
        pair(
            "line_items[0][price_data][product_data][name]",
            &new.product_name,
        ),
        pair("line_items[0][quantity]", "1"),
        pair("success_url", &new.success_url),
        pair("cancel_url", &new.cancel_url),
        pair("client_reference_id", &new.client_reference_id),
    ];
    form.extend(metadata_pairs(&new.metadata));
    // The same pairs on the PaymentIntent, so its charge, refunds and disputes carry them.
    form.extend(new.metadata.iter().map(|(key, value)| {
        (
            format!("payment_intent_data[metadata][{key}]"),
            value.clone(),
        )
    }));
    form
}

/// Whether a secret (`sk_…`) or restricted (`rk_…`) key is live (`Some(true)`) or test
/// (`Some(false)`); `None` for anything else.
pub fn key_mode(key: &str) -> Option<bool> {
    let rest = key
        .strip_prefix("sk_")
        .or_else(|| key.strip_prefix("rk_"))?;
    if rest.starts_with("live_") {
        Some(true)
    } else if rest.starts_with("test_") {
        Some(false)
    } else {
        None
    }
}

/// Stripe's form encoding of a payout.
fn payout_form(new: &NewPayout) -> Vec<(String, String)> {
    let mut form = vec![
        pair("amount", &new.amount_cents.to_string()),
        pair("currency", &new.currency),
    ];
    if let Some(destination) = &new.destination {
        form.push(pair("destination", destination));
    }
    form.push(pair("description", &new.description));
    form.extend(metadata_pairs(&new.metadata));
    form
}

fn metadata_pairs(
    metadata: &BTreeMap<String, String>,
) -> impl Iterator<Item = (String, String)> + '_ {
    metadata
        .iter()
        .map(|(key, value)| (format!("metadata[{key}]"), value.clone()))
}

fn pair(key: &str, value: &str) -> (String, String) {
    (key.to_string(), value.to_string())
}

/// Percent-encodes everything but the characters of Stripe ids, so an id cannot change the path.
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn unreachable(error: reqwest::Error) -> ProcessorError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    ProcessorError::Unreachable(format!("{what}: {error}"))
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ProcessorError> {
    let status = response.status();
    let body = response.bytes().await.map_err(unreachable)?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| ProcessorError::Decode(e.to_string()));
    }
    if status.is_client_error() {
        if let Ok(ApiErrorBody { error }) = serde_json::from_slice::<ApiErrorBody>(&body) {
            return Err(ProcessorError::Rejected {
                status: status.as_u16(),
                kind: error.kind,
                message: error.message,
                code: error.code,
                param: error.param,
            });
        }
    }
    Err(ProcessorError::Server {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&body)
            .chars()
            .take(MAX_ERROR_BODY_CHARS)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_session_uses_stripes_bracketed_keys() {
        let new = NewCheckoutSession {
            amount_cents: 1250,
            currency: "usd".into(),
            product_name: "10 k for Carlos".into(),
            client_reference_id: "carlos".into(),
            metadata: BTreeMap::from([("meter".into(), "carlos-house".into())]),
            success_url: "https://u.example/ok?s={CHECKOUT_SESSION_ID}".into(),
            cancel_url: "https://u.example/cancel".into(),
        };
        let encoded = serde_urlencoded::to_string(checkout_session_form(&new)).expect("encodes");
        assert_eq!(
            encoded,
            "mode=payment\
             &line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd\
             &line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=1250\
             &line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=10+k+for+Carlos\
             &line_items%5B0%5D%5Bquantity%5D=1\
             &success_url=https%3A%2F%2Fu.example%2Fok%3Fs%3D%7BCHECKOUT_SESSION_ID%7D\
             &cancel_url=https%3A%2F%2Fu.example%2Fcancel\
             &client_reference_id=carlos\
             &metadata%5Bmeter%5D=carlos-house\
             &payment_intent_data%5Bmetadata%5D%5Bmeter%5D=carlos-house"
        );
    }

    fn rejected(status: u16, kind: &str, code: Option<&str>) -> ProcessorError {
        ProcessorError::Rejected {
            status,
            kind: kind.into(),
            message: "refused".into(),
            code: code.map(Into::into),
            param: None,
        }
    }

    #[test]
    fn only_a_refusal_of_the_request_itself_is_final() {
        let invalid = "invalid_request_error";
        assert!(rejected(400, invalid, Some("resource_missing")).is_final_refusal());
        assert!(rejected(404, invalid, None).is_final_refusal());
        assert!(rejected(402, "card_error", None).is_final_refusal());
        assert!(!rejected(409, invalid, Some("idempotency_key_in_use")).is_final_refusal());
        assert!(!rejected(400, "idempotency_error", None).is_final_refusal());
        assert!(!rejected(429, "rate_limit_error", None).is_final_refusal());
        assert!(!rejected(401, "authentication_error", None).is_final_refusal());
        assert!(!rejected(403, invalid, None).is_final_refusal());
        let server = ProcessorError::Server {
            status: 500,
            body: String::new(),
        };
        assert!(!server.is_final_refusal());
        assert!(!ProcessorError::Unreachable("timed out".into()).is_final_refusal());
    }

    #[test]
    fn payout_omits_a_missing_destination() {
        let new = NewPayout {
            amount_cents: 500,
            currency: "usd".into(),
            destination: None,
            description: "angel".into(),
            metadata: BTreeMap::new(),
        };
        let keys: Vec<String> = payout_form(&new).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["amount", "currency", "description"]);
    }

    #[test]
    fn path_segment_escapes_everything_that_could_change_the_path() {
        assert_eq!(path_segment("cs_test_abc"), "cs_test_abc");
        assert_eq!(path_segment("../v1/payouts?x"), "%2E%2E%2Fv1%2Fpayouts%3Fx");
    }

    #[test]
    fn test_mode_follows_the_secret_key() {
        assert!(Processor::new(STRIPE_API_URL, "sk_test_123").test_mode());
        assert!(!Processor::new(STRIPE_API_URL, "sk_live_123").test_mode());
        assert!(Processor::new(STRIPE_API_URL, "sk_live_123").live_mode());
        assert!(Processor::new(STRIPE_API_URL, "rk_test_123").test_mode());
        assert!(Processor::new(STRIPE_API_URL, "rk_live_123").live_mode());
        let odd = Processor::new(STRIPE_API_URL, "pk_test_123");
        assert!(
            !odd.test_mode() && !odd.live_mode(),
            "a publishable key is neither"
        );
        let debug = format!("{:?}", Processor::new("http://x/", "sk_live_secret"));
        assert!(!debug.contains("sk_live_secret"));
        assert!(debug.contains("\"http://x\""));
    }
}
