//! Residents' orders: `POST /api/buy` opens a checkout at the processor; `POST /api/sell` pays
//! a sale the resident signed on chain (or, in the demo, signs it with the demo's key): it
//! locks the sale for what its coins are worth and transfers the dollars to the connected
//! account the resident bound on chain (the sale recorded it; no request names it), from
//! which the processor pays the resident's bank. `GET /api/payments` tells the page what is
//! possible.

use std::collections::BTreeMap;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use energy_utility_payments::client::{NewCheckoutSession, NewTransfer, ProcessorError};
use energy_utility_payments::random_id;
use energy_utility_sdk::accounts::{Resident, Sale, SaleStatus};
use energy_utility_sdk::amounts::{format_k, format_usd, parse_usd};
use energy_utility_sdk::views::{format_duration, sale_status_name};
use energy_utility_sdk::{fiat, instructions, pda};
use serde::Deserialize;
use serde_json::{json, Value};
use solana_signer::Signer;

use super::Payments;
use crate::api::decimal_text;
use crate::error::ApiError;
use crate::App;

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
    let now = app.client.cluster_time().await?;
    let rules = grid.payment_rules_at(now);
    Ok(Json(json!({
        "configured": true,
        "card_hold": format_duration(rules.card_hold_seconds),
        "payout_notice": format_duration(rules.payout_notice_seconds),
        "test_mode": payments.processor.test_mode(),
        "processor": payments.processor.base_url(),
        "coin_price_usd": format_usd(grid.coin_price_cents),
        "buy": {"min_usd": format_usd(MIN_PURCHASE_CENTS), "max_usd": format_usd(MAX_PURCHASE_CENTS)},
        "sell": {"min_usd": format_usd(MIN_PAYOUT_CENTS), "max_usd": format_usd(MAX_PAYOUT_CENTS)},
        "custody": app.custody.is_some(),
    })))
}

/// The delivery log: public in the demo; in `deu serve` the operator's, shown their token
/// (`Authorization: Bearer …`, `DEU_OPERATOR_TOKEN`).
pub async fn deliveries(State(app): State<Arc<App>>, headers: axum::http::HeaderMap) -> ApiResult {
    let payments = payments(&app)?;
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    if app.custody.is_none() && !payments.is_operator(auth) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the delivery log is the operator's: show the operator token (Authorization: Bearer …)",
        ));
    }
    Ok(Json(json!({
        "deliveries": payments.deliveries.recent(),
        "unauthenticated": payments.deliveries.unauthenticated(),
    })))
}

/// What became of one checkout, for the page the processor sends the payer back to: the
/// payment that paid it once the webhook applied it (a session id is known only to its payer).
pub async fn checkout(
    State(app): State<Arc<App>>,
    axum::extract::Path(session): axum::extract::Path<String>,
) -> ApiResult {
    let payments = payments(&app)?;
    let valid = session.starts_with("cs_")
        && session.len() <= 255
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(ApiError::bad_request("not a checkout session id (cs_…)"));
    }
    let applied = payments.deliveries.checkout(&session);
    let payment = applied.as_ref().and_then(|d| {
        d.detail
            .split("payment ")
            .nth(1)
            .map(|rest| rest.split([' ', ')', ';']).next().unwrap_or("").to_string())
    });
    Ok(Json(json!({
        "session": session,
        "applied": applied.is_some(),
        "payment": payment,
    })))
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
    let units = fiat::quote_buy(cents, grid.coin_price_cents)
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
            (super::META_RESIDENT.to_string(), id.clone()),
            (super::META_GRID.to_string(), app.grid_name.clone()),
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
    /// Dollars to sell (demo custody: the server signs the sale for this much).
    usd: Option<Value>,
    /// The number of a sale the resident signed on chain (`deu withdraw request …`), or of a
    /// sale to send again after the processor could not be reached.
    sale: Option<u32>,
    /// Refused when present: the dollars go only to the payout account the resident bound on
    /// chain, never to one a request names.
    to: Option<Value>,
    bank_account: Option<Value>,
}

/// The transfer id a sale gets when the processor refuses to create its transfer: no transfer
/// exists, so the coins go back under this name.
const REFUSED_TRANSFER_ID: &str = "refused_by_processor";

/// How far before a sale's lock its transfer is looked for (see [`SaleOrder::transfers_since`]).
const TRANSFER_LOOKUP_MARGIN_SECS: i64 = 7 * 24 * 3600;

/// The refusal of a request that names where a sale's dollars go.
pub(crate) fn destination_from_request(id: &str) -> ApiError {
    ApiError::bad_request(format!(
        "a sale's dollars go only to the payout account {id} bound on chain (their own signed act, shown on their page); a request or a link cannot choose where they go"
    ))
}

pub async fn sell(
    State(app): State<Arc<App>>,
    axum::Extension(action): axum::Extension<crate::guard::Action>,
    body: Result<Json<SellRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"resident\", and \"sale\" (your signed sale's number) or \"usd\"}}: {}",
            e.body_text()
        ))
    })?;
    if request.to.is_some() || request.bank_account.is_some() {
        return Err(destination_from_request(&request.resident));
    }
    let payments = payments(&app)?;
    let _one_at_a_time = app.actions.lock().await;
    let (grid, grid_state) = app.client.grid(&app.grid_name).await?;
    let (resident, resident_state) = app.client.resident(&grid, &request.resident).await?;
    let id = request.resident.clone();
    let number = match (request.sale, &request.usd) {
        (Some(number), _) => number,
        (None, Some(usd)) => {
            let cents = cents(usd, MIN_PAYOUT_CENTS, MAX_PAYOUT_CENTS)?;
            let units = fiat::quote_sell_units(cents, grid_state.coin_price_cents)
                .ok_or_else(|| ApiError::bad_request("the amount is too large"))?;
            let Some(wallet) = app.custody.as_ref().and_then(|c| c.resident(&id)) else {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "a sale must be signed with your own wallet: run deu withdraw request {} --from {id}, then send its number as \"sale\"",
                        format_k(units)
                    ),
                ));
            };
            let number = resident_state.sale_count;
            let sale = pda::sale(&resident, resident_state.index, number);
            let request = fiat::sale_request(units, grid_state.coin_price_cents)
                .ok_or_else(|| ApiError::bad_request("the amount is too large"))?;
            let ix = instructions::request_withdrawal(
                &wallet.pubkey(),
                &wallet.pubkey(),
                &grid,
                &resident,
                &sale,
                request,
            );
            app.client
                .send_action_without_events(&[ix], &[wallet], &action.0)
                .await?;
            number
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "send the number of the sale you signed as \"sale\" (or, in the demo, \"usd\")",
            ))
        }
    };
    let sale = SaleOrder::load(&app, grid, (resident, &resident_state), &id, number).await?;
    let sent_before = sale.state.status == SaleStatus::Locked;
    let sale = sale.lock(payments, grid_state.coin_price_cents).await?;
    let (units, cents) = (sale.state.units, sale.state.cents);
    let kept = |why: String| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{why}; your {} k stay locked for this sale: send it again with \"sale\": {number}",
                format_k(units)
            ),
        )
    };

    // A sale sent before may have its transfer already, whatever answer got lost: it is looked
    // up by the sale it names, not only by the idempotency key, which the processor forgets
    // after a day.
    let existing = match sent_before {
        true => payments
            .processor
            .find_transfer(
                sale.transfers_since(),
                super::META_SALE,
                &sale.address.to_string(),
            )
            .await
            .map_err(|err| kept(format!("the payment processor is unavailable ({err})")))?,
        false => None,
    };
    let transfer = match existing {
        Some(transfer) => transfer,
        None => match payments
            .processor
            .create_transfer(&sale.transfer(&id, &app.grid_name), &sale.idempotency_key())
            .await
        {
            Ok(transfer) => transfer,
            Err(ProcessorError::Rejected { kind, .. }) if kind == "idempotency_error" => {
                // A transfer may exist for this sale: its coins stay locked for it.
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("sale {number} was sent with other details; send it exactly as before"),
                ));
            }
            Err(err) if err.is_final_refusal() => {
                // The processor refused the transfer itself, so none exists: the sale's coins
                // go back to the resident.
                let ix = instructions::payout_failed(
                    &payments.oracle.payer(),
                    &grid,
                    &resident,
                    &sale.address,
                    REFUSED_TRANSFER_ID,
                );
                payments.oracle.send_without_events(&[ix], &[]).await?;
                let ApiError { status, message } = processor_error(err);
                let message = message.trim_end_matches('.');
                return Err(ApiError::new(
                    status,
                    format!("{message}; your {} k were returned", format_k(units)),
                ));
            }
            // No answer, or one that proves nothing (a rate limit, a request still running
            // under the same key): a transfer may exist, so the coins stay locked for it.
            Err(err) => {
                return Err(kept(format!(
                    "the payment processor is unavailable ({err})"
                )))
            }
        },
    };
    // The transfer is made: its coins are burned now (the `transfer.created` delivery finds it
    // done); if the chain does not answer, that delivery records it.
    let recorded = super::webhook::record_transfer(&app, payments, &id, &transfer).await;
    Ok(Json(json!({
        "transfer_id": transfer.id,
        "destination": sale.state.destination,
        "recorded": recorded,
        "sale": number,
        "sale_address": sale.address.to_string(),
        "usd": format_usd(cents),
        "sold_k": format_k(units),
        "test_mode": payments.processor.test_mode(),
    })))
}

/// One of a resident's sales, as the chain holds it.
struct SaleOrder {
    grid: Pubkey,
    resident: Pubkey,
    number: u32,
    address: Pubkey,
    state: Sale,
}

impl SaleOrder {
    async fn load(
        app: &App,
        grid: Pubkey,
        (resident, resident_state): (Pubkey, &Resident),
        id: &str,
        number: u32,
    ) -> Result<Self, ApiError> {
        let address = pda::sale(&resident, resident_state.index, number);
        let state = app.client.account::<Sale>(&address).await?.ok_or_else(|| {
            ApiError::not_found(format!(
                "{id} has no sale {number}: sign one first with deu withdraw request AMOUNT_K --from {id}"
            ))
        })?;
        Ok(Self {
            grid,
            resident,
            number,
            address,
            state,
        })
    }

    /// The processor's idempotency key: one transfer per sale, however often it is sent.
    fn idempotency_key(&self) -> String {
        format!("sale-{}", self.address)
    }

    /// The transfer this sale asks for: its locked cents to the payout account the resident
    /// bound, as the sale recorded it on chain, naming the sale.
    fn transfer(&self, id: &str, grid_name: &str) -> NewTransfer {
        NewTransfer {
            amount_cents: self.state.cents as i64,
            currency: "usd".into(),
            destination: self.state.destination.clone(),
            description: format!(
                "{id} sells {} k of energy coins",
                format_k(self.state.units)
            ),
            metadata: BTreeMap::from([
                (super::META_RESIDENT.to_string(), id.to_string()),
                (super::META_GRID.to_string(), grid_name.to_string()),
                (super::META_SALE.to_string(), self.address.to_string()),
                ("coins_k".to_string(), format_k(self.state.units)),
            ]),
        }
    }

    /// Since when (processor time, Unix seconds) a transfer for this locked sale can exist: it
    /// is asked for right after the lock. The chain's clock and the processor's differ (a local
    /// cluster's runs ahead after `deu clock advance`), so the earlier of the lock's time and
    /// now, less a week of margin.
    fn transfers_since(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.state.locked_ts.min(now) - TRANSFER_LOOKUP_MARGIN_SECS
    }

    /// Locks a requested sale for what its coins are worth now; a sale already locked (a
    /// retry) goes on as it is; an ended one is refused.
    async fn lock(mut self, payments: &Payments, price: u64) -> Result<Self, ApiError> {
        match self.state.status {
            SaleStatus::Locked => return Ok(self),
            SaleStatus::Requested => {}
            ended => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "sale {} has ended ({}); start a new sale",
                        self.number,
                        sale_status_name(ended)
                    ),
                ))
            }
        }
        let cents = fiat::quote_payout_cents(self.state.units, price)
            .filter(|c| *c > 0)
            .ok_or_else(|| ApiError::bad_request("the sale's coins are worth less than a cent"))?;
        if !(MIN_PAYOUT_CENTS..=MAX_PAYOUT_CENTS).contains(&cents) {
            return Err(ApiError::bad_request(format!(
                "sale {} is worth ${}: a payout must be between ${} and ${}",
                self.number,
                format_usd(cents),
                format_usd(MIN_PAYOUT_CENTS),
                format_usd(MAX_PAYOUT_CENTS)
            )));
        }
        let ix = instructions::lock_withdrawal(
            &payments.oracle.payer(),
            &self.grid,
            &self.resident,
            &self.address,
            cents,
        );
        payments.oracle.send_without_events(&[ix], &[]).await?;
        self.state = payments
            .oracle
            .account::<Sale>(&self.address)
            .await?
            .ok_or_else(|| {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the locked sale vanished")
            })?;
        Ok(self)
    }
}
