//! Connected accounts (Stripe Connect, Express): `POST /v1/accounts`, `GET /v1/accounts`
//! (newest first), `GET /v1/accounts/{id}`, and `POST /v1/account_links`, a single-use link to
//! the sandbox's hosted onboarding (`/connect/onboard/{link}`), which finishes the account and
//! announces `account.updated`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::params::Params;
use super::{found, idempotency_key, replayed, to_json, Authorized, CreatedRange, Paging};
use crate::sandbox::calendar::unix_now;
use crate::sandbox::store::{random_id, OnboardingLink};
use crate::sandbox::App;
use crate::wire::{Account, AccountLink, List, Requirements};

const ACCOUNT_REQUEST: &str = "POST /v1/accounts";
const LINK_REQUEST: &str = "POST /v1/account_links";

/// Stripe's business types.
const BUSINESS_TYPES: [&str; 4] = ["individual", "company", "non_profit", "government_entity"];

/// The capabilities an Express account can request here.
const CAPABILITIES: [&str; 2] = ["transfers", "card_payments"];

/// What a new Express account must still give the processor (all of it past due: the account
/// is disabled until its holder finishes the onboarding).
const DUE_AT_OPENING: [&str; 6] = [
    "external_account",
    "individual.first_name",
    "individual.last_name",
    "individual.dob.day",
    "individual.ssn_last_4",
    "tos_acceptance.date",
];

/// Creates an Express account that has not been onboarded yet.
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _: Authorized,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let mut store = app.store();
    if let Some(first) = replayed(&app, &store, key.as_deref(), ACCOUNT_REQUEST, &params)? {
        return Ok(first);
    }
    let fingerprint = params.all().clone();
    let kind = params.required("type")?;
    if kind != "express" {
        return Err(ApiError::invalid_param(
            "type",
            format!("Invalid type: {kind}. The sandbox opens only express accounts."),
        ));
    }
    let country = params
        .optional("country")
        .unwrap_or_else(|| "US".into())
        .to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::invalid_param(
            "country",
            format!("Invalid country: {country}."),
        ));
    }
    let email = params.optional("email");
    let mut capabilities = BTreeMap::new();
    for capability in CAPABILITIES {
        let param = format!("capabilities[{capability}][requested]");
        if params.optional_bool(&param)? == Some(true) {
            capabilities.insert(capability.to_string(), "inactive".to_string());
        }
    }
    if capabilities.is_empty() {
        return Err(ApiError::invalid_param(
            "capabilities",
            "Express accounts must request at least one capability: \
             capabilities[transfers][requested]=true or capabilities[card_payments][requested]=true.",
        ));
    }
    if let Some(business_type) = params.optional("business_type") {
        if !BUSINESS_TYPES.contains(&business_type.as_str()) {
            return Err(ApiError::invalid_param(
                "business_type",
                format!(
                    "Invalid business_type: must be one of {} (got {business_type}).",
                    BUSINESS_TYPES.join(", ")
                ),
            ));
        }
    }
    let metadata = params.metadata()?;
    params.finish()?;
    let due: Vec<String> = DUE_AT_OPENING.iter().map(|s| s.to_string()).collect();
    let id = random_id("acct_");
    let account = Account {
        external_accounts: Some(List {
            object: "list".into(),
            data: Vec::new(),
            has_more: false,
            url: format!("/v1/accounts/{id}/external_accounts"),
        }),
        id,
        object: "account".into(),
        kind: Some(kind),
        country: Some(country),
        email,
        capabilities,
        charges_enabled: false,
        payouts_enabled: false,
        details_submitted: false,
        requirements: Some(Requirements {
            currently_due: due.clone(),
            past_due: due,
            disabled_reason: Some("requirements.past_due".into()),
        }),
        metadata,
        created: unix_now(),
    };
    let json = to_json(&account)?;
    store.accounts.push(account);
    if let Some(key) = key {
        store.remember(&key, ACCOUNT_REQUEST, fingerprint, json.clone());
    }
    Ok(Json(json).into_response())
}

/// The account as it is now.
pub(crate) async fn retrieve(
    State(app): State<Arc<App>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Result<Json<Account>, ApiError> {
    let mut store = app.store();
    found(store.account_mut(&id).as_deref(), "account", &id)
}

/// Connected accounts newest first: `created[gt|gte|lt|lte]`, `limit` and `starting_after`.
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    _: Authorized,
    RawQuery(query): RawQuery,
) -> Result<Json<List<Account>>, ApiError> {
    let mut params = Params::from_query(query.as_deref())?;
    let paging = Paging::read(&mut params)?;
    let created = CreatedRange::read(&mut params)?;
    params.finish()?;
    let keep = |a: &Account| created.contains(a.created);
    let store = app.store();
    let page = paging.page(&store.accounts, "account", "/v1/accounts", |a| &a.id, keep)?;
    Ok(Json(page))
}

/// A single-use onboarding link for an account, valid for the configured lifetime (Stripe's:
/// a few minutes).
pub(crate) async fn create_link(
    State(app): State<Arc<App>>,
    _: Authorized,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut params = Params::from_body(&headers, &body)?;
    let key = idempotency_key(&headers)?;
    let mut store = app.store();
    if let Some(first) = replayed(&app, &store, key.as_deref(), LINK_REQUEST, &params)? {
        return Ok(first);
    }
    let fingerprint = params.all().clone();
    let account = params.required("account")?;
    let refresh_url = params.required_url("refresh_url")?;
    let return_url = params.required_url("return_url")?;
    let kind = params.required("type")?;
    if kind != "account_onboarding" {
        return Err(ApiError::invalid_param(
            "type",
            format!("Invalid type: {kind}. The sandbox supports only account_onboarding."),
        ));
    }
    params.finish()?;
    if store.account_mut(&account).is_none() {
        return Err(ApiError::no_such_param("account", "account", &account));
    }
    let created = unix_now();
    let lifetime = app.config.account_link_lifetime.as_secs_f64().ceil() as i64;
    let link = OnboardingLink {
        id: random_id("link_"),
        account,
        refresh_url,
        return_url,
        expires_at: created + lifetime,
        used: false,
    };
    let answer = AccountLink {
        object: "account_link".into(),
        created,
        expires_at: link.expires_at,
        url: format!("{}/connect/onboard/{}", app.url, link.id),
    };
    store.links.push(link);
    let json = to_json(&answer)?;
    if let Some(key) = key {
        store.remember(&key, LINK_REQUEST, fingerprint, json.clone());
    }
    Ok(Json(json).into_response())
}
