//! Getting paid: a resident who sells onboards once with the processor (Stripe Connect, an
//! Express account), and binds that account to their resident on chain by their own signature.
//!
//! - `POST /api/connect {"resident"}` creates a connected account for the resident (or reuses
//!   the one they bound, to update it) and answers the processor's hosted onboarding link; the
//!   processor sends them back to their page.
//! - `GET /api/connect/{account}` tells how a connected account of this grid stands: onboarded,
//!   payouts enabled, what the processor still needs, and its bank's name and last digits.
//! - `POST /api/payout-account {"resident", "account"}` and `POST /api/payout-account/cancel
//!   {"resident"}`: the demo's custody signs the binding (or withdraws a change that waits);
//!   residents with their own wallets sign `/api/pay/payout-account` and `/api/pay/payout-cancel`.
//!
//! The account a resident binds must be one this service created for that resident on this
//! grid, able to receive transfers: every message to sign names it with its bank as the
//! processor reports them. A sale then pays only the account bound on chain; no request and no
//! link can name another.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use energy_utility_payments::client::{NewAccount, ProcessorError};
use energy_utility_payments::random_id;
use energy_utility_payments::wire::Account;
use energy_utility_sdk::instructions;
use energy_utility_sdk::views::format_time;
use serde::Deserialize;
use serde_json::{json, Value};
use solana_signer::Signer;

use super::{Payments, META_GRID, META_RESIDENT};
use crate::error::ApiError;
use crate::App;

type ApiResult = Result<Json<Value>, ApiError>;

/// The country connected accounts are opened in.
const ACCOUNT_COUNTRY: &str = "US";

/// A connected account this service created for a resident, as the processor reports it.
pub(crate) struct Destination {
    pub account: Account,
}

impl Destination {
    /// The account and its bank, as a message to sign names them: `acct_… (STRIPE TEST BANK
    /// ••6789)`.
    pub fn describe(&self) -> String {
        describe_account(&self.account)
    }
}

/// `acct_… (BANK ••1234)`, or `acct_… (no bank account yet)`.
pub(crate) fn describe_account(account: &Account) -> String {
    match account.bank_account() {
        Some(bank) => format!(
            "{} ({} ••{})",
            account.id,
            bank.bank_name.as_deref().unwrap_or("bank account"),
            bank.last4
        ),
        None => format!("{} (no bank account yet)", account.id),
    }
}

/// How a connected account stands, in a sentence (the delivery log's note of `account.updated`).
pub(crate) fn describe_status(account: &Account) -> String {
    let resident = account
        .metadata
        .get(META_RESIDENT)
        .map_or("?", String::as_str);
    let due = account
        .requirements
        .as_ref()
        .map(|r| r.currently_due.clone())
        .unwrap_or_default();
    let state = if account.transfers_active() && account.payouts_enabled {
        "ready: transfers and payouts enabled".to_string()
    } else if !account.details_submitted {
        "onboarding not finished".to_string()
    } else {
        format!("waiting for the processor: {}", due.join(", "))
    };
    format!(
        "connected account {} of {resident}: {state}",
        describe_account(account)
    )
}

fn payments(app: &App) -> Result<&Payments, ApiError> {
    app.payments.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "getting paid in dollars is not configured on this server",
        )
    })
}

fn processor_error(err: ProcessorError) -> ApiError {
    match err {
        ProcessorError::Rejected {
            status: 404 | 400,
            code: Some(code),
            message,
            ..
        } if code == "resource_missing" => ApiError::not_found(message),
        ProcessorError::Rejected { message, .. } => ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("the payment processor refused: {message}"),
        ),
        other => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the payment processor is unavailable ({other}); try again"),
        ),
    }
}

/// The connected account `account`, checked to be one this service created for resident `id`
/// of this grid and able to receive transfers: what a resident may bind.
pub(crate) async fn destination_for(
    app: &App,
    payments: &Payments,
    id: &str,
    account: &str,
) -> Result<Destination, ApiError> {
    if !account.starts_with("acct_") {
        return Err(ApiError::bad_request(format!(
            "'{account}' is not a connected account id (acct_…): onboard with Get paid first"
        )));
    }
    let account = payments
        .processor
        .retrieve_account(account)
        .await
        .map_err(processor_error)?;
    let ours = account.metadata.get(META_GRID) == Some(&app.grid_name)
        && account.metadata.get(META_RESIDENT).map(String::as_str) == Some(id);
    if !ours {
        return Err(ApiError::forbidden(format!(
            "{} was not opened for {id} on this grid: bind the account your own Get paid opened",
            account.id
        )));
    }
    if !account.transfers_active() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{}: finish the processor's onboarding first ({})",
                account.id,
                describe_status(&account)
            ),
        ));
    }
    Ok(Destination { account })
}

#[derive(Deserialize)]
pub struct ConnectRequest {
    resident: String,
    /// An account the resident's browser opened and has not finished onboarding: continued
    /// instead of opening another.
    account: Option<String>,
}

/// Opens (or reopens) the processor's hosted onboarding for a resident.
pub async fn start(
    State(app): State<Arc<App>>,
    body: Result<Json<ConnectRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body
        .map_err(|e| ApiError::bad_request(format!("send {{\"resident\"}}: {}", e.body_text())))?;
    let payments = payments(&app)?;
    let (grid, _) = app.client.grid(&app.grid_name).await?;
    let (_, resident) = app.client.resident(&grid, &request.resident).await?;
    let id = &request.resident;
    // The account bound on chain (or waiting to be) is updated in place; otherwise a new one:
    // an account someone else opened in this resident's name is never handed back.
    let bound = [&resident.pending_payout_account, &resident.payout_account]
        .into_iter()
        .find(|a| !a.is_empty())
        .cloned();
    let account = match (bound, request.account.filter(|a| !a.is_empty())) {
        (Some(account), _) => payments
            .processor
            .retrieve_account(&account)
            .await
            .map_err(processor_error)?,
        (None, Some(unfinished)) => {
            let account = payments
                .processor
                .retrieve_account(&unfinished)
                .await
                .map_err(processor_error)?;
            let ours = account.metadata.get(META_GRID) == Some(&app.grid_name)
                && account.metadata.get(META_RESIDENT) == Some(id);
            if !ours {
                return Err(ApiError::forbidden(format!(
                    "{unfinished} was not opened for {id} on this grid"
                )));
            }
            account
        }
        (None, None) => payments
            .processor
            .create_account(
                &NewAccount {
                    country: ACCOUNT_COUNTRY.into(),
                    email: None,
                    metadata: BTreeMap::from([
                        (META_GRID.to_string(), app.grid_name.clone()),
                        (META_RESIDENT.to_string(), id.clone()),
                    ]),
                },
                &random_id("acct-"),
            )
            .await
            .map_err(processor_error)?,
    };
    let page = format!("{}/resident.html?id={id}", payments.public_url);
    let link = payments
        .processor
        .create_account_link(
            &account.id,
            &format!("{page}&connect=refresh"),
            &format!("{page}&connect=return"),
        )
        .await
        .map_err(processor_error)?;
    Ok(Json(json!({
        "account": account.id,
        "url": link.url,
        "expires_at": link.expires_at,
        "test_mode": payments.processor.test_mode(),
    })))
}

/// How a connected account of this grid stands.
pub async fn status(State(app): State<Arc<App>>, Path(account): Path<String>) -> ApiResult {
    let payments = payments(&app)?;
    if !account.starts_with("acct_") {
        return Err(ApiError::bad_request(format!(
            "'{account}' is not a connected account id (acct_…)"
        )));
    }
    let account = payments
        .processor
        .retrieve_account(&account)
        .await
        .map_err(processor_error)?;
    if account.metadata.get(META_GRID) != Some(&app.grid_name) {
        return Err(ApiError::not_found(format!(
            "{} is not a connected account of this grid",
            account.id
        )));
    }
    Ok(Json(account_json(&account)))
}

/// What the pages show of a connected account.
pub(crate) fn account_json(account: &Account) -> Value {
    let bank = account.bank_account().map(|b| {
        json!({
            "bank_name": b.bank_name,
            "last4": b.last4,
        })
    });
    json!({
        "account": account.id,
        "resident": account.metadata.get(META_RESIDENT),
        "onboarded": account.details_submitted,
        "transfers_enabled": account.transfers_active(),
        "payouts_enabled": account.payouts_enabled,
        "requirements_due": account.requirements.as_ref().map(|r| r.currently_due.clone()).unwrap_or_default(),
        "bank": bank,
        "describe": describe_account(account),
        "status": describe_status(account),
    })
}

#[derive(Deserialize)]
pub struct BindRequest {
    resident: String,
    account: String,
}

/// The demo's custody binds a resident's connected account.
pub async fn bind(
    State(app): State<Arc<App>>,
    axum::Extension(action): axum::Extension<crate::guard::Action>,
    body: Result<Json<BindRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"resident\", \"account\"}}: {}",
            e.body_text()
        ))
    })?;
    let payments = payments(&app)?;
    let wallet = custody_wallet(&app, &request.resident, "payout-account")?;
    let destination = destination_for(&app, payments, &request.resident, &request.account).await?;
    let _one_at_a_time = app.actions.lock().await;
    let (grid, grid_state) = app.client.grid(&app.grid_name).await?;
    let (resident, _) = app.client.resident(&grid, &request.resident).await?;
    let ix = instructions::set_payout_account(
        &wallet.pubkey(),
        &grid,
        &resident,
        &destination.account.id,
    );
    app.client
        .send_action_without_events(&[ix], &[wallet], &action.0)
        .await?;
    let (_, after) = app.client.resident(&grid, &request.resident).await?;
    let now = app.client.cluster_time().await?;
    let pending = !after.pending_payout_account.is_empty() && after.payout_change_ts > now;
    let message = if pending {
        format!(
            "{}'s sales will be paid to {} from {} (the grid's {} notice); until then to {}. Cancel it on this page if you did not ask for it.",
            request.resident,
            destination.describe(),
            format_time(after.payout_change_ts),
            energy_utility_sdk::views::format_duration(
                grid_state.payment_rules_at(now).payout_notice_seconds
            ),
            after.payout_account
        )
    } else {
        format!(
            "{}'s sales are paid to {}",
            request.resident,
            destination.describe()
        )
    };
    Ok(Json(json!({
        "account": destination.account.id,
        "pending": pending,
        "effective_ts": if pending { after.payout_change_ts } else { now },
        "message": message,
    })))
}

#[derive(Deserialize)]
pub struct CancelRequest {
    resident: String,
}

/// The demo's custody withdraws a change of payout account that waits.
pub async fn cancel(
    State(app): State<Arc<App>>,
    axum::Extension(action): axum::Extension<crate::guard::Action>,
    body: Result<Json<CancelRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body
        .map_err(|e| ApiError::bad_request(format!("send {{\"resident\"}}: {}", e.body_text())))?;
    let wallet = custody_wallet(&app, &request.resident, "payout-cancel")?;
    let _one_at_a_time = app.actions.lock().await;
    let (grid, _) = app.client.grid(&app.grid_name).await?;
    let (resident, state) = app.client.resident(&grid, &request.resident).await?;
    if state.pending_payout_account.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{} has no change of payout account waiting",
                request.resident
            ),
        ));
    }
    let ix = instructions::cancel_payout_account_change(&wallet.pubkey(), &grid, &resident);
    app.client
        .send_action_without_events(&[ix], &[wallet], &action.0)
        .await?;
    Ok(Json(json!({
        "cancelled": state.pending_payout_account,
        "account": state.payout_account,
        "message": format!(
            "the change to {} is cancelled: {}'s sales are still paid to {}",
            state.pending_payout_account, request.resident, state.payout_account
        ),
    })))
}

fn custody_wallet<'a>(
    app: &'a App,
    resident: &str,
    action: &str,
) -> Result<&'a solana_keypair::Keypair, ApiError> {
    app.custody
        .as_ref()
        .and_then(|c| c.resident(resident))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "this server holds no key for {resident}: sign with your own wallet through /api/pay/{action} (Solana Pay)"
                ),
            )
        })
}
