//! Residents' orders: `POST /api/buy` opens a checkout at the processor; `POST /api/sell` sets
//! coins aside (demo custody) or takes what the resident set aside, locks them on chain and
//! asks the processor for the payout. `GET /api/payments` tells the page what is possible.

use std::collections::BTreeMap;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use energy_utility::constants::MAX_ID_LEN;
use energy_utility::math::{coins_bought_floor, coins_sold_ceil};
use energy_utility::state::{FiatKind, Receipt};
use energy_utility_payments::client::{NewCheckoutSession, NewPayout, ProcessorError};
use energy_utility_payments::random_id;
use energy_utility_sdk::accounts::Resident;
use energy_utility_sdk::amounts::{format_k, format_usd, parse_usd};
use energy_utility_sdk::{instructions, pda};
use serde::Deserialize;
use serde_json::{json, Value};
use solana_signer::Signer;

use super::Payments;
use crate::api::decimal_text;
use crate::error::ApiError;
use crate::{App, HistoryEntry};

type ApiResult = Result<Json<Value>, ApiError>;

/// Stripe's smallest card payment, and a ceiling that keeps a typo from buying a fortune.
pub const MIN_PURCHASE_CENTS: u64 = 50;
pub const MAX_PURCHASE_CENTS: u64 = 1_000_000;
pub const MIN_PAYOUT_CENTS: u64 = 100;
pub const MAX_PAYOUT_CENTS: u64 = 1_000_000;

fn payments(app: &App) -> Result<&Payments, ApiError> {
    app.payments.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "buying and selling coins is not configured on this server",
        )
    })
}

pub async fn status(State(app): State<Arc<App>>) -> ApiResult {
    let Some(payments) = app.payments.as_ref() else {
        return Ok(Json(json!({
            "configured": false,
            "message": "Buying and selling coins for dollars is not configured on this server.",
        })));
    };
    let (_, grid) = app.client.grid(&app.grid_name).await?;
    Ok(Json(json!({
        "configured": true,
        "test_mode": payments.processor.test_mode(),
        "processor": payments.processor.base_url(),
        "coin_price_usd": format_usd(grid.coin_price_cents),
        "buy": {"min_usd": format_usd(MIN_PURCHASE_CENTS), "max_usd": format_usd(MAX_PURCHASE_CENTS)},
        "sell": {"min_usd": format_usd(MIN_PAYOUT_CENTS), "max_usd": format_usd(MAX_PAYOUT_CENTS)},
        "custody": app.custody.is_some(),
    })))
}

pub async fn deliveries(State(app): State<Arc<App>>) -> ApiResult {
    let payments = payments(&app)?;
    Ok(Json(json!({ "deliveries": payments.deliveries.recent() })))
}

/// Dollars as sent: a decimal string or a JSON number, within `[min, max]` cents.
fn cents(value: &Value, min: u64, max: u64) -> Result<u64, ApiError> {
    let text = decimal_text(value, "usd must be a dollar amount such as 12.50")?;
    let cents = parse_usd(text.trim().trim_start_matches('$'))
        .map_err(|e| ApiError::bad_request(format!("invalid dollar amount: {e}")))?;
    if cents < min || cents > max {
        return Err(ApiError::bad_request(format!(
            "the amount must be between ${} and ${}",
            format_usd(min),
            format_usd(max)
        )));
    }
    Ok(cents)
}

fn processor_error(err: ProcessorError) -> ApiError {
    match err {
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

#[derive(Deserialize)]
pub struct BuyRequest {
    resident: String,
    usd: Value,
}

pub async fn buy(
    State(app): State<Arc<App>>,
    body: Result<Json<BuyRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!("send {{\"resident\", \"usd\"}}: {}", e.body_text()))
    })?;
    let payments = payments(&app)?;
    let cents = cents(&request.usd, MIN_PURCHASE_CENTS, MAX_PURCHASE_CENTS)?;
    let (grid_address, grid) = app.client.grid(&app.grid_name).await?;
    app.client
        .resident(&grid_address, &request.resident)
        .await?;
    let units = coins_bought_floor(cents, grid.coin_price_cents)
        .filter(|u| *u > 0)
        .ok_or_else(|| ApiError::bad_request("that amount buys no coin at the current price"))?;
    let id = &request.resident;
    let page = format!("{}/resident.html?id={id}", payments.public_url);
    let new = NewCheckoutSession {
        amount_cents: cents as i64,
        currency: "usd".into(),
        product_name: format!("{} k of energy coins for {id}", format_k(units)),
        client_reference_id: id.clone(),
        metadata: BTreeMap::from([
            ("resident".to_string(), id.clone()),
            ("grid".to_string(), app.grid_name.clone()),
        ]),
        success_url: format!("{page}&checkout={{CHECKOUT_SESSION_ID}}"),
        cancel_url: format!("{page}&checkout=cancelled"),
    };
    let session = payments
        .processor
        .create_checkout_session(&new, &random_id("co_"))
        .await
        .map_err(processor_error)?;
    Ok(Json(json!({
        "checkout_url": session.url,
        "session_id": session.id,
        "usd": format_usd(cents),
        "coins_k": format_k(units),
        "test_mode": payments.processor.test_mode(),
    })))
}

#[derive(Deserialize)]
pub struct SellRequest {
    resident: String,
    usd: Value,
    bank_account: String,
    /// To retry a sale that could not reach the processor: the reference it answered with.
    reference: Option<String>,
}

fn valid_reference(reference: &str) -> bool {
    reference.len() <= MAX_ID_LEN
        && reference
            .strip_prefix("wd_")
            .is_some_and(|s| s.len() >= 8 && s.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub async fn sell(
    State(app): State<Arc<App>>,
    body: Result<Json<SellRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"resident\", \"usd\", \"bank_account\"}}: {}",
            e.body_text()
        ))
    })?;
    let payments = payments(&app)?;
    let cents = cents(&request.usd, MIN_PAYOUT_CENTS, MAX_PAYOUT_CENTS)?;
    let bank_account = request.bank_account.trim().replace([' ', '-'], "");
    if !(4..=17).contains(&bank_account.len()) || !bank_account.chars().all(|c| c.is_ascii_digit())
    {
        return Err(ApiError::bad_request(
            "the bank account number must be 4 to 17 digits",
        ));
    }
    let reference = match request.reference {
        Some(r) if valid_reference(&r) => r,
        Some(r) => {
            return Err(ApiError::bad_request(format!(
                "'{r}' is not a sale reference (wd_…)"
            )))
        }
        None => random_id("wd_"),
    };
    let _one_at_a_time = app.actions.lock().await;
    let (grid, grid_state) = app.client.grid(&app.grid_name).await?;
    let (resident, resident_state) = app.client.resident(&grid, &request.resident).await?;
    let units = coins_sold_ceil(cents, grid_state.coin_price_cents)
        .ok_or_else(|| ApiError::bad_request("the amount is too large"))?;
    let sale = Sale {
        grid,
        resident,
        id: request.resident,
        cents,
        units,
        reference,
    };
    sale.lock(&app, payments, &resident_state).await?;
    let (id, reference) = (&sale.id, &sale.reference);

    let new = NewPayout {
        amount_cents: cents as i64,
        currency: "usd".into(),
        destination: Some(bank_account.clone()),
        description: format!("{id} sells {} k of energy coins", format_k(units)),
        metadata: BTreeMap::from([
            ("resident".to_string(), id.clone()),
            ("grid".to_string(), app.grid_name.clone()),
            ("reference".to_string(), reference.clone()),
            ("coins_k".to_string(), format_k(units)),
        ]),
    };
    let payout = match payments.processor.create_payout(&new, reference).await {
        Ok(payout) => payout,
        Err(ProcessorError::Rejected { kind, .. }) if kind == "idempotency_error" => {
            // A payout may exist under this reference: its coins stay locked for it.
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!("the sale {reference} was sent with other details; send it exactly as before, or start a new sale"),
            ));
        }
        Err(err @ ProcessorError::Rejected { .. }) => {
            // No payout exists: give the coins back under this sale's return id.
            let ix = instructions::return_withdrawal(
                &payments.oracle.payer(),
                &sale.grid,
                &sale.resident,
                cents,
                &sale.return_id(),
            );
            payments.oracle.send(&[ix], &[]).await?;
            let ApiError { status, message } = processor_error(err);
            let message = message.trim_end_matches('.');
            return Err(ApiError::new(status, format!("{message}; your {} k were returned", format_k(units))));
        }
        Err(err) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the payment processor is unavailable ({err}); your {} k stay locked for this sale: send it again with \"reference\": \"{reference}\"",
                    format_k(units)
                ),
            ))
        }
    };
    let at = app.client.cluster_time().await?;
    app.record(HistoryEntry {
        resident: id.clone(),
        kind: "sale",
        meter: None,
        epoch: None,
        amount_k: format_k(units),
        detail: format!(
            "selling {} k for ${}: payout {} {}",
            format_k(units),
            format_usd(cents),
            payout.id,
            payout.status
        ),
        at,
    });
    Ok(Json(json!({
        "payout_id": payout.id,
        "status": payout.status,
        "reference": reference,
        "usd": format_usd(cents),
        "locked_k": format_k(units),
        "test_mode": payments.processor.test_mode(),
    })))
}

/// One sale of coins for dollars: who, how much, and the reference that names its lock and
/// its payout request.
struct Sale {
    grid: Pubkey,
    resident: Pubkey,
    id: String,
    cents: u64,
    units: u64,
    reference: String,
}

impl Sale {
    /// The id that returns this sale's coins if the processor refuses its payout.
    fn return_id(&self) -> String {
        format!("rt_{}", &self.reference[3..])
    }

    /// Locks the sale's coins on chain, first setting them aside with the demo's key if the
    /// resident has not. A retried sale finds its lock and goes on.
    async fn lock(
        &self,
        app: &App,
        payments: &Payments,
        resident: &Resident,
    ) -> Result<(), ApiError> {
        let oracle = &payments.oracle;
        let (grid, reference, units) = (&self.grid, &self.reference, self.units);
        if oracle
            .account::<Receipt>(&pda::receipt(grid, &self.return_id()))
            .await?
            .is_some()
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "the sale {reference} was cancelled and its coins returned; start a new sale"
                ),
            ));
        }
        if let Some(lock) = oracle
            .account::<Receipt>(&pda::receipt(grid, reference))
            .await?
        {
            if lock.kind != FiatKind::Locked
                || lock.resident != self.resident
                || lock.amount_cents != -(self.cents as i64)
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("the reference {reference} belongs to another sale"),
                ));
            }
            return Ok(());
        }
        if resident.escrow_units < units {
            let shortfall = units - resident.escrow_units;
            let id = &self.id;
            let Some(wallet) = app.custody.as_ref().and_then(|c| c.resident(id)) else {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "set {} k aside first with your own wallet (deu withdraw request {} --from {id}); {} k are set aside now",
                        format_k(units),
                        format_k(shortfall),
                        format_k(resident.escrow_units)
                    ),
                ));
            };
            let ix =
                instructions::request_withdrawal(&wallet.pubkey(), grid, &self.resident, shortfall);
            app.client.send(&[ix], &[wallet]).await?;
        }
        let ix = instructions::lock_withdrawal(
            &oracle.payer(),
            grid,
            &self.resident,
            self.cents,
            reference,
        );
        oracle.send(&[ix], &[]).await?;
        Ok(())
    }
}
