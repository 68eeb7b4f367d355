//! The JSON API (see `app/API.md`): reads straight from the chain, and the demo's actions.

use std::collections::HashMap;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use energy_utility_sdk::accounts::{Meter, Resident};
use energy_utility_sdk::amounts::{format_k, format_usd, parse_k, parse_usd};
use energy_utility_sdk::views::{readings, GridView, MeterView, ResidentView, SaleView};
use energy_utility_sdk::{fiat, history, instructions, pda};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use solana_signer::Signer;

use crate::error::ApiError;
use crate::{demo, App};

type Shared = State<Arc<App>>;
type ApiResult = Result<Json<Value>, ApiError>;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/state", get(state))
        .route("/api/residents/{id}", get(resident))
        .route("/api/meters/{id}", get(meter))
        .route("/api/audit/{epoch}", get(audit))
        .route("/api/meters/{id}/series", get(meter_series))
        .route("/api/community/series", get(community_series))
        .route("/api/meters/{id}/readings.csv", get(readings_csv))
        .route("/api/alerts", post(subscribe_alerts))
        .route("/api/alerts/{meter}", get(alerts_of))
        .route("/api/residents/{id}/statement", get(statement))
        .route("/api/residents/{id}/statement.csv", get(statement_csv))
        .route("/api/clock/advance", post(advance))
        .route("/api/fund", post(fund))
        .route("/api/veto", post(veto))
        .route("/api/emergency-credit", post(emergency_credit))
        .route("/api/quote", get(quote))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

/// How many past epochs `/metrics` looks at for unsettled ones and loss-band flags.
const METRICS_EPOCHS: u64 = 48;

/// `GET /metrics`: the process's counters (`crate::metrics`) and the grid's figures, read from
/// the cluster now: the oracle's mint budget left, pending admin changes, unsettled closed
/// epochs and loss-band flags among the last 48, silent and disconnected meters. A cluster that
/// does not answer leaves the grid's figures out and says so (`deu_grid_up 0`).
async fn metrics(State(app): Shared) -> impl axum::response::IntoResponse {
    let m = crate::metrics();
    let up = grid_figures(&app, m).await.is_ok();
    m.set(
        "deu_grid_up",
        "1 when the grid's figures below were read from the cluster at this scrape.",
        &[],
        if up { 1.0 } else { 0.0 },
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        m.render(),
    )
}

async fn grid_figures(
    app: &App,
    m: &energy_utility_sdk::metrics::Registry,
) -> Result<(), ApiError> {
    let (address, g) = grid(app).await?;
    let now = app.client.cluster_time().await?;
    m.set(
        "deu_mint_budget_units",
        "What the payment oracle may still mint now, in coin units.",
        &[],
        g.mint_budget_at(now) as f64,
    );
    let pending = energy_utility_sdk::views::pending_changes(&g, now).len()
        + usize::from(g.pending_admin != Pubkey::default());
    m.set(
        "deu_pending_admin_changes",
        "Changes the admin proposed that wait for the grid's notice.",
        &[],
        pending as f64,
    );
    let current = g.epoch_at(now).unwrap_or(0);
    let first = current.saturating_sub(METRICS_EPOCHS);
    let epochs: Vec<Pubkey> = (first..=current).map(|e| pda::epoch(&address, e)).collect();
    let states = app
        .client
        .accounts::<energy_utility_sdk::accounts::Epoch>(&epochs)
        .await?;
    let (mut unsettled, mut flagged) = (0u64, 0u64);
    for (epoch, state) in (first..=current).zip(states) {
        let Some(state) = state else { continue };
        let closed = energy_utility_sdk::settlement::reports_close_at(&g, Some(&state), epoch)
            .is_ok_and(|closes| now >= closes);
        if closed && state.status != energy_utility_sdk::accounts::EpochStatus::Settled {
            unsettled += 1;
        }
        if state.outside_loss_band {
            flagged += 1;
        }
    }
    m.set(
        "deu_unsettled_epochs",
        "Closed epochs of the last 48 that the crank has not settled.",
        &[],
        unsettled as f64,
    );
    m.set(
        "deu_loss_band_flags",
        "Settled epochs of the last 48 whose produced/consumed ratio left the grid's band.",
        &[],
        flagged as f64,
    );
    let meters = app.client.meters(&address, g.meter_count).await?;
    let silent = meters.iter().filter(|(_, m)| m.silent).count();
    let off = meters
        .iter()
        .filter(|(_, m)| m.active && m.is_consumer() && !m.connected)
        .count();
    m.set(
        "deu_meters",
        "Meters registered on the grid.",
        &[],
        meters.len() as f64,
    );
    m.set(
        "deu_silent_meters",
        "Consumer meters disconnected for their silence.",
        &[],
        silent as f64,
    );
    m.set(
        "deu_disconnected_meters",
        "Active consumer meters told to disconnect.",
        &[],
        off as f64,
    );
    Ok(())
}

/// How long `/readyz` waits for the cluster.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Ready to serve (for a load balancer or an orchestrator): the cluster answers within
/// [`READY_WITHIN`] and the grid is on it. `/healthz` only says the process serves.
async fn ready(State(app): Shared) -> ApiResult {
    let check = async {
        let (_, grid_state) = grid(&app).await?;
        let now = app.client.cluster_time().await?;
        Ok::<_, ApiError>(grid_state.epoch_at(now).unwrap_or(0))
    };
    let epoch = tokio::time::timeout(READY_WITHIN, check)
        .await
        .map_err(|_| ApiError::cluster_unavailable(&"no answer within 3 s"))??;
    Ok(Json(
        json!({ "ready": true, "grid": app.grid_name, "epoch": epoch }),
    ))
}

pub(crate) async fn grid(
    app: &App,
) -> Result<(Pubkey, energy_utility_sdk::accounts::Grid), ApiError> {
    Ok(app.client.grid(&app.grid_name).await?)
}

/// Map positions: each meter's latitude/longitude scaled into the box that holds them all.
fn positions(meters: &[(Pubkey, Meter)]) -> Vec<(f64, f64)> {
    let lats = meters.iter().map(|(_, m)| m.latitude_micro as f64);
    let lons = meters.iter().map(|(_, m)| m.longitude_micro as f64);
    let (lat_min, lat_max) = lats.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lon_min, lon_max) = lons.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let scale = |v: f64, lo: f64, hi: f64| {
        if hi > lo {
            0.08 + 0.84 * (v - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    meters
        .iter()
        .map(|(_, m)| {
            (
                scale(m.longitude_micro as f64, lon_min, lon_max),
                1.0 - scale(m.latitude_micro as f64, lat_min, lat_max),
            )
        })
        .collect()
}

async fn state_json(app: &App) -> Result<Value, ApiError> {
    let client = &app.client;
    let (address, grid) = grid(app).await?;
    let now = client.cluster_time().await?;
    let epoch = grid.epoch_at(now).unwrap_or(0);
    let view = GridView::new(
        &address,
        &grid,
        now,
        epoch,
        client.token_amount(&pda::treasury(&address)).await?,
        client.token_amount(&pda::pool(&address)).await?,
    );
    let meters = client.meters(&address, grid.meter_count).await?;
    let owner_addresses: Vec<Pubkey> = meters.iter().map(|(_, m)| m.owner).collect();
    let owners = client.resident_ids(&owner_addresses).await?;
    let meter_rows: Vec<Value> = meters
        .iter()
        .zip(positions(&meters))
        .map(|((a, m), (x, y))| {
            let mut row = json!(MeterView::new(a, m, &owners[&m.owner]));
            row["x"] = json!(x);
            row["y"] = json!(y);
            row
        })
        .collect();
    let residents = client.residents(&address, grid.resident_count).await?;
    let coins: Vec<Pubkey> = residents.iter().map(|(_, r)| r.coins).collect();
    let balances = client
        .accounts::<anchor_spl::token::TokenAccount>(&coins)
        .await?;
    let resident_rows: Vec<Value> = residents
        .iter()
        .zip(balances)
        .map(|((_, r), b)| json!({"id": r.id, "balance_k": format_k(b.map_or(0, |b| b.amount))}))
        .collect();
    let last = app
        .last_settlement
        .lock()
        .map(|l| l.clone())
        .unwrap_or(None);
    let mut state = json!({
        "demo": app.custody.is_some(),
        "grid": view,
        "clock": {
            "epoch": epoch,
            "unix_timestamp": now,
            "hour_label": format!("Day {}, {:02}:00", epoch / 24 + 1, epoch % 24),
        },
        "meters": meter_rows,
        "residents": resident_rows,
        "last_settlement": last,
    });
    if let Some(chain) = crate::wallet::chain_of(&client.rpc.url()) {
        state["chain"] = json!(chain);
    }
    Ok(state)
}

async fn state(State(app): Shared) -> ApiResult {
    Ok(Json(state_json(&app).await?))
}

/// A resident's history from the chain, newest first, as JSON.
async fn resident_history(
    app: &App,
    resident: &Pubkey,
    owned: &[(Pubkey, Meter)],
    all_meters: &[(Pubkey, Meter)],
) -> Result<Vec<Value>, ApiError> {
    let mut addresses = vec![*resident];
    addresses.extend(owned.iter().map(|(a, _)| *a));
    let told = app.chain.told(&app.client, &addresses).await?;
    let ids: HashMap<Pubkey, String> = all_meters.iter().map(|(a, m)| (*a, m.id.clone())).collect();
    let owned: Vec<Pubkey> = owned.iter().map(|(a, _)| *a).collect();
    Ok(history::resident_entries(resident, &owned, &ids, &told)
        .into_iter()
        .map(|e| {
            json!({
                "kind": e.kind,
                "meter": e.meter,
                "epoch": e.epoch,
                "amount_k": format_k(e.amount_units),
                "detail": e.detail,
                "at": e.at,
                "signature": e.signature,
            })
        })
        .collect())
}

async fn resident(State(app): Shared, Path(id): Path<String>) -> ApiResult {
    let client = &app.client;
    let (address, grid) = grid(&app).await?;
    let (resident_address, resident) = client.resident(&address, &id).await?;
    let balance = client.token_amount(&resident.coins).await?;
    let now = client.cluster_time().await?;
    let mut row = json!(ResidentView::new(
        &resident_address,
        &resident,
        balance,
        now
    ));
    let all_meters = client.meters(&address, grid.meter_count).await?;
    let meters: Vec<(Pubkey, Meter)> = all_meters
        .iter()
        .filter(|(_, m)| m.owner == resident_address)
        .cloned()
        .collect();
    row["meters"] = json!(meters
        .iter()
        .map(|(a, m)| MeterView::new(a, m, &id))
        .collect::<Vec<_>>());
    let sales = client.sales(&resident_address, &resident).await?;
    row["sales"] = Value::Array(
        sales
            .iter()
            .rev()
            .map(|(number, address, sale)| json!(SaleView::new(*number, address, sale)))
            .collect(),
    );
    row["history"] =
        Value::Array(resident_history(&app, &resident_address, &meters, &all_meters).await?);
    Ok(Json(row))
}

async fn meter(State(app): Shared, Path(id): Path<String>) -> ApiResult {
    let client = &app.client;
    let (address, grid_state) = grid(&app).await?;
    let (meter_address, meter) = client.meter(&address, &id).await?;
    let owner = client
        .account::<Resident>(&meter.owner)
        .await?
        .map_or_else(|| meter.owner.to_string(), |r| r.id);
    let now = client.cluster_time().await?;
    let told = app.chain.told(client, &[meter_address]).await?;
    let forecast = history::forecast_now(&meter_address, &meter, &told, &grid_state, now);
    let view = MeterView::new(&meter_address, &meter, &owner).with_forecast(&meter, forecast);
    let mut row = json!(view);
    if let Some(forecast) = &view.forecast {
        row["forecast"]["words"] = json!(forecast.words());
    }
    row["readings"] = json!(readings(&meter));
    // What the page needs to tell a pending change's time: the grid's notice and clock.
    row["notice_seconds"] = json!(grid_state.notice_seconds);
    row["now"] = json!(now);
    row["epoch"] = json!(grid_state.epoch_at(now).unwrap_or(0));
    // The price of energy now and next, and whether friendly hours are on.
    let price = energy_utility_sdk::calendar::price_now(&grid_state, now);
    row["price"] = json!({
        "now_k_per_kwh": format_k(price.tariff_units_per_kwh),
        "next": price.next_change_ts.map(|ts| json!({
            "k_per_kwh": format_k(price.next_tariff_units_per_kwh),
            "from_ts": ts,
        })),
        "friendly_now": price.friendly_now,
    });
    // The grid's emergency credit for this meter: offered, and whether it can be taken now
    // (the program's rule), or why not.
    if meter.is_consumer() {
        let offered = grid_state
            .params_for(grid_state.epoch_at(now).unwrap_or(0))
            .credit
            .emergency_credit_units;
        let why_not = emergency_credit_for(&grid_state, &meter, now).err();
        row["emergency_credit"] = json!({
            "offered_k": format_k(offered),
            "can_take": why_not.is_none(),
            "why_not": why_not.map(|e| e.message),
        });
    }
    let fundings = history::fundings(&meter_address, &told);
    let funders: Vec<Pubkey> = fundings.iter().map(|f| f.funder).collect();
    let names = client.resident_ids(&funders).await?;
    row["funders"] = Value::Array(
        fundings
            .iter()
            .map(|f| {
                json!({
                    "resident": names.get(&f.funder).cloned().unwrap_or_else(|| f.funder.to_string()),
                    "amount_k": format_k(f.amount_units),
                    "at": f.at,
                    "signature": f.signature,
                })
            })
            .collect(),
    );
    Ok(Json(row))
}

async fn advance(State(app): Shared) -> ApiResult {
    demo::advance_hour(&app).await?;
    Ok(Json(state_json(&app).await?))
}

#[derive(Deserialize)]
struct FundRequest {
    from: String,
    meter: String,
    amount_k: serde_json::Value,
}

/// An amount as sent: a decimal string, or a JSON number (taken by its decimal text);
/// anything else is refused with `expected`.
pub(crate) fn decimal_text(value: &Value, expected: &str) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(ApiError::bad_request(expected)),
    }
}

pub(crate) fn amount_units(value: &Value) -> Result<u64, ApiError> {
    let text = decimal_text(value, "amount_k must be a decimal number of coins")?;
    let units =
        parse_k(&text).map_err(|e| ApiError::bad_request(format!("invalid amount: {e}")))?;
    if units == 0 {
        return Err(ApiError::bad_request(
            "invalid amount: the amount must be more than zero",
        ));
    }
    Ok(units)
}

async fn fund(
    State(app): Shared,
    axum::Extension(action): axum::Extension<crate::guard::Action>,
    body: Result<Json<FundRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"from\", \"meter\", \"amount_k\"}}: {}",
            e.body_text()
        ))
    })?;
    let amount = amount_units(&request.amount_k)?;
    let Some(custody) = app.custody.as_ref() else {
        return Err(ApiError::forbidden(
            "this server holds no keys: fund with your own wallet through /api/pay/fund (Solana Pay)",
        ));
    };
    let _one_at_a_time = app.actions.lock().await;
    let client = &app.client;
    let (address, _) = grid(&app).await?;
    let (resident_address, resident) = client.resident(&address, &request.from).await?;
    let (meter_address, _) = client.meter(&address, &request.meter).await?;
    let wallet = custody.resident(&request.from).ok_or_else(|| {
        ApiError::forbidden(format!("the demo holds no key for '{}'", request.from))
    })?;
    let ix = instructions::fund(
        &wallet.pubkey(),
        &address,
        &resident_address,
        &meter_address,
        amount,
    );
    client
        .send_action_without_events(&[ix], &[wallet], &action.0)
        .await?;
    let (_, meter) = client.meter(&address, &request.meter).await?;
    let owner = client
        .account::<Resident>(&meter.owner)
        .await?
        .map_or_else(|| meter.owner.to_string(), |r| r.id);
    let balance = client.token_amount(&resident.coins).await?;
    Ok(Json(json!({
        "meter": MeterView::new(&meter_address, &meter, &owner),
        "resident": {"id": request.from, "balance_k": format_k(balance)},
    })))
}

#[derive(Deserialize)]
struct VetoRequest {
    meter: String,
}

/// One chart point as JSON: exact integers and the amounts as people read them.
fn point_json(p: &history::Point, key: &str) -> Value {
    json!({
        key: p.at,
        "start_ts": p.start_ts,
        "wh": p.wh,
        "kwh": energy_utility_sdk::amounts::format_kwh(p.wh),
        "units": p.units,
        "k": format_k(p.units),
    })
}

/// `GET /api/meters/{id}/series`: the meter's last 48 hours hour by hour and last 30 days
/// day by day (energy, and what it cost or earned), from its transactions' events
/// (`history::series`).
async fn meter_series(State(app): Shared, Path(id): Path<String>) -> ApiResult {
    let (address, grid_state) = grid(&app).await?;
    let (meter_address, meter) = app.client.meter(&address, &id).await?;
    let now = app.client.cluster_time().await?;
    let epoch = grid_state.epoch_at(now).unwrap_or(0);
    let since = now - (history::SERIES_DAYS + 1) * 86_400;
    let told = app
        .chain
        .told_since(&app.client, &meter_address, since)
        .await?;
    let series = history::series(&meter_address, &told, &grid_state, epoch);
    Ok(Json(json!({
        "meter": id,
        "kind": energy_utility_sdk::views::kind_name(meter.kind),
        "epoch": epoch,
        "hourly": series.hourly.iter().map(|p| point_json(p, "epoch")).collect::<Vec<_>>(),
        "daily": series.daily.iter().map(|p| point_json(p, "day")).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
struct AlertRequest {
    meter: String,
    threshold_k: String,
    email: Option<String>,
    /// The time the owner's wallet signed (unix seconds) and its base58 signature of
    /// `alerts::Subscription::message`; absent in the demo (its custody acts for the owner).
    signed_at: Option<i64>,
    signature: Option<String>,
}

/// `POST /api/alerts`: the meter's owner sets its low-balance threshold and e-mail.
async fn subscribe_alerts(
    State(app): Shared,
    body: Result<Json<AlertRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send {{\"meter\", \"threshold_k\", \"email\", \"signed_at\", \"signature\"}}: {}",
            e.body_text()
        ))
    })?;
    let Some(alerts) = app.alerts.get() else {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "this server sends no alerts (deu serve --alerts-file)",
        ));
    };
    let threshold_units = parse_k(&request.threshold_k)
        .map_err(|e| ApiError::bad_request(format!("threshold_k: {e}")))?;
    let email = request.email.clone().filter(|e| !e.trim().is_empty());
    if let Some(e) = &email {
        let valid = e.len() <= 254
            && e.split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
            && !e.contains([' ', '\r', '\n', '<', '>', ',']);
        if !valid {
            return Err(ApiError::bad_request(format!(
                "'{e}' is not an e-mail address"
            )));
        }
    }
    let (address, _) = grid(&app).await?;
    let (_, meter) = app.client.meter(&address, &request.meter).await?;
    let owner = owner_of(&app, &meter).await?;
    let now = app.client.cluster_time().await?;
    let signed_at = match (&request.signature, request.signed_at) {
        (Some(signature), Some(at)) => {
            let message = crate::alerts::Subscription::message(
                &app.grid_name,
                &request.meter,
                threshold_units,
                email.as_deref().unwrap_or(""),
                at,
            );
            if !crate::alerts::signed_by(&owner.authority, &message, signature) {
                return Err(ApiError::forbidden(format!(
                    "only {}'s wallet may set {}'s alerts: the signature is not theirs",
                    owner.id, request.meter
                )));
            }
            if (now - at).abs() > crate::alerts::SIGNED_WITHIN_SECONDS {
                return Err(ApiError::bad_request(
                    "the signature's time is more than 5 minutes from now: sign it again",
                ));
            }
            at
        }
        _ if app.custody.is_some() => now,
        _ => {
            return Err(ApiError::forbidden(format!(
                "sign the alert's message with {}'s wallet (signed_at, signature)",
                owner.id
            )))
        }
    };
    let subscription = crate::alerts::Subscription {
        threshold_units,
        email: email.clone(),
        signed_at,
    };
    alerts
        .subscribe(&request.meter, subscription)
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::CONFLICT, e))?;
    Ok(Json(json!({
        "meter": request.meter,
        "threshold_k": format_k(threshold_units),
        "email": email,
    })))
}

/// `GET /api/alerts/{meter}`: the threshold in force (the e-mail masked).
async fn alerts_of(State(app): Shared, Path(meter): Path<String>) -> ApiResult {
    let Some(alerts) = app.alerts.get() else {
        return Ok(Json(json!({ "meter": meter, "enabled": false })));
    };
    let state = alerts.state.lock().await;
    let sub = state.subscriptions.get(&meter);
    Ok(Json(json!({
        "meter": meter,
        "enabled": true,
        "threshold_k": sub.map(|s| format_k(s.threshold_units)),
        "email": sub.and_then(|s| s.email.as_ref()).map(|e| {
            let (user, domain) = e.split_once('@').unwrap_or((e, ""));
            format!("{}…@{domain}", user.chars().next().unwrap_or('?'))
        }),
        "crossed": state.crossed.get(&meter).cloned().unwrap_or_default(),
    })))
}

/// A CSV answer, downloaded as `name`.
fn csv(name: &str, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/meters/{id}/readings.csv`: every reading the chain recorded for the meter, with
/// its register, energy, hours, what it cost or earned and its transaction.
async fn readings_csv(
    State(app): Shared,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let (address, grid_state) = grid(&app).await?;
    let (meter_address, _) = app.client.meter(&address, &id).await?;
    let told = app
        .chain
        .told_since(&app.client, &meter_address, i64::MIN)
        .await?;
    let body = history::readings_csv(&meter_address, &id, &told, &grid_state);
    Ok(csv(&format!("{id}-readings.csv"), body))
}

#[derive(Deserialize)]
struct MonthQuery {
    /// `YYYY-MM` [default: the month in progress, in the grid's local time].
    month: Option<String>,
}

/// A resident's statement for a month, from the events of its account's and its meters'
/// transactions.
async fn statement_of(
    app: &App,
    id: &str,
    month: Option<String>,
) -> Result<history::Statement, ApiError> {
    let client = &app.client;
    let (address, grid_state) = grid(app).await?;
    let (resident_address, _) = client.resident(&address, id).await?;
    let now = client.cluster_time().await?;
    let params = grid_state.params_for(grid_state.epoch_at(now).unwrap_or(0));
    let month = month.unwrap_or_else(|| {
        let day = params.local_time(now).day;
        energy_utility_sdk::calendar::format_day(day)[..7].to_string()
    });
    let bounds = history::month_bounds(&month, params.utc_offset_seconds)
        .ok_or_else(|| ApiError::bad_request(format!("'{month}' is not a month like 2026-12")))?;
    let meters: Vec<(Pubkey, String, &'static str)> = client
        .meters(&address, grid_state.meter_count)
        .await?
        .into_iter()
        .filter(|(_, m)| m.owner == resident_address)
        .map(|(a, m)| {
            (
                a,
                m.id.clone(),
                energy_utility_sdk::views::kind_name(m.kind),
            )
        })
        .collect();
    let mut told = Vec::new();
    for who in std::iter::once(resident_address).chain(meters.iter().map(|(a, _, _)| *a)) {
        told.extend(app.chain.told_since(client, &who, bounds.0).await?);
    }
    Ok(history::statement(
        &resident_address,
        &meters,
        &told,
        &month,
        bounds,
    ))
}

/// `GET /api/residents/{id}/statement?month=YYYY-MM`.
async fn statement(
    State(app): Shared,
    Path(id): Path<String>,
    Query(query): Query<MonthQuery>,
) -> ApiResult {
    let s = statement_of(&app, &id, query.month).await?;
    let mut row = json!(s);
    row["resident"] = json!(id);
    row["purchases_k"] = json!(format_k(s.purchases_units));
    row["purchases_usd"] = json!(format_usd(s.purchases_cents));
    row["fundings_k"] = json!(format_k(s.fundings_units));
    row["collected_k"] = json!(format_k(s.collected_units));
    row["sales_k"] = json!(format_k(s.sales_units));
    row["sales_paid_usd"] = json!(format_usd(s.sales_paid_cents));
    row["clawed_back_k"] = json!(format_k(s.clawed_back_units));
    for (i, m) in s.meters.iter().enumerate() {
        row["meters"][i]["kwh"] = json!(energy_utility_sdk::amounts::format_kwh(m.wh));
        row["meters"][i]["billed_k"] = json!(format_k(m.billed_units));
        row["meters"][i]["charged_k"] = json!(format_k(m.charged_units));
        row["meters"][i]["earned_k"] = json!(format_k(m.earned_units));
        row["meters"][i]["funded_k"] = json!(format_k(m.funded_units));
    }
    Ok(Json(row))
}

/// `GET /api/residents/{id}/statement.csv?month=YYYY-MM`.
async fn statement_csv(
    State(app): Shared,
    Path(id): Path<String>,
    Query(query): Query<MonthQuery>,
) -> Result<axum::response::Response, ApiError> {
    let s = statement_of(&app, &id, query.month).await?;
    Ok(csv(
        &format!("{id}-statement-{}.csv", s.month),
        history::statement_csv(&s, &id),
    ))
}

/// `GET /api/community/series`: the last 24 epochs' consumption and production with their loss
/// ratio, from the epochs' accounts (one request); an epoch whose account is closed is absent.
async fn community_series(State(app): Shared) -> ApiResult {
    let (address, grid_state) = grid(&app).await?;
    let now = app.client.cluster_time().await?;
    let current = grid_state.epoch_at(now).unwrap_or(0);
    let first = current.saturating_sub(23);
    let addresses: Vec<Pubkey> = (first..=current).map(|e| pda::epoch(&address, e)).collect();
    let states = app
        .client
        .accounts::<energy_utility_sdk::accounts::Epoch>(&addresses)
        .await?;
    let hours: Vec<Value> = (first..=current)
        .zip(states)
        .map(|(epoch, state)| {
            let start_ts = grid_state.epoch_start(epoch).unwrap_or(0);
            match state {
                Some(s) => json!({
                    "epoch": epoch,
                    "start_ts": start_ts,
                    "consumed_wh": s.consumed_wh,
                    "produced_wh": s.produced_wh,
                    "consumed_kwh": energy_utility_sdk::amounts::format_kwh(s.consumed_wh),
                    "produced_kwh": energy_utility_sdk::amounts::format_kwh(s.produced_wh),
                    "loss_ratio": energy_utility_sdk::views::format_ratio(
                        energy_utility_sdk::program::math::loss_ratio_permille(s.produced_wh, s.consumed_wh)
                    ),
                    "settled": s.status == energy_utility_sdk::accounts::EpochStatus::Settled,
                }),
                None => json!({ "epoch": epoch, "start_ts": start_ts, "consumed_wh": null, "produced_wh": null }),
            }
        })
        .collect();
    let (consumed, produced) = hours.iter().fold((0u64, 0u64), |(c, p), h| {
        (
            c + h["consumed_wh"].as_u64().unwrap_or(0),
            p + h["produced_wh"].as_u64().unwrap_or(0),
        )
    });
    Ok(Json(json!({
        "hours": hours,
        "consumed_kwh": energy_utility_sdk::amounts::format_kwh(consumed),
        "produced_kwh": energy_utility_sdk::amounts::format_kwh(produced),
        "loss_ratio": energy_utility_sdk::views::format_ratio(
            energy_utility_sdk::program::math::loss_ratio_permille(produced, consumed)
        ),
    })))
}

/// `GET /api/audit/{epoch}`: the epoch's settlement re-checked from chain data alone (what
/// `deu audit EPOCH` prints). A settled epoch's outcome never changes: it is kept.
async fn audit(State(app): Shared, Path(epoch): Path<u64>) -> ApiResult {
    if let Some(known) = app.audits.lock().ok().and_then(|a| a.get(&epoch).cloned()) {
        return Ok(Json(known));
    }
    let (address, grid_state) = grid(&app).await?;
    let record =
        energy_utility_sdk::audit::record(&app.client, &app.chain, &address, &grid_state, epoch)
            .await?;
    let view =
        energy_utility_sdk::audit::AuditView::new(epoch, energy_utility_sdk::audit::audit(&record));
    let answer = json!(view);
    if record.settled.is_some() {
        if let Ok(mut audits) = app.audits.lock() {
            audits.insert(epoch, answer.clone());
        }
    }
    Ok(Json(answer))
}

/// The resident who owns `meter` (404 when its account is gone).
pub async fn owner_of(app: &App, meter: &Meter) -> Result<Resident, ApiError> {
    app.client
        .account::<Resident>(&meter.owner)
        .await?
        .ok_or_else(|| ApiError::not_found("the meter's owner is gone"))
}

/// The emergency credit `meter` may take on `grid` at `now`, by the program's own rule (a
/// copy of the meter takes it): refused with the program's error when it could not.
pub fn emergency_credit_for(
    grid: &energy_utility_sdk::accounts::Grid,
    meter: &energy_utility_sdk::accounts::Meter,
    now: i64,
) -> Result<u64, ApiError> {
    let epoch = grid.epoch_at(now).unwrap_or(0);
    let units = grid.params_for(epoch).credit.emergency_credit_units;
    meter
        .clone()
        .take_emergency_credit(units)
        .map_err(energy_utility_sdk::SdkError::from_rule)?;
    Ok(units)
}

/// What the demo's custody does for a meter's owner (outside the demo the owner's wallet
/// signs the `/api/pay/…` twin).
enum OwnerAct {
    Veto,
    EmergencyCredit,
}

/// The demo's custody vetoes, as the meter's owner, the change the utility proposed for it
/// alone. Outside the demo the owner's wallet signs `/api/pay/veto`.
async fn veto(
    State(app): Shared,
    axum::Extension(action): axum::Extension<crate::guard::Action>,
    body: Result<Json<VetoRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    act_as_owner(app, action, body, OwnerAct::Veto).await
}

/// The demo's custody takes, as the meter's owner, the grid's emergency credit. Outside the
/// demo the owner's wallet signs `/api/pay/emergency-credit`.
async fn emergency_credit(
    State(app): Shared,
    axum::Extension(action): axum::Extension<crate::guard::Action>,
    body: Result<Json<VetoRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    act_as_owner(app, action, body, OwnerAct::EmergencyCredit).await
}

async fn act_as_owner(
    app: Arc<App>,
    action: crate::guard::Action,
    body: Result<Json<VetoRequest>, axum::extract::rejection::JsonRejection>,
    act: OwnerAct,
) -> ApiResult {
    let Json(request) =
        body.map_err(|e| ApiError::bad_request(format!("send {{\"meter\"}}: {}", e.body_text())))?;
    let (what, twin) = match act {
        OwnerAct::Veto => ("vetoes", "/api/pay/veto"),
        OwnerAct::EmergencyCredit => ("takes the emergency credit", "/api/pay/emergency-credit"),
    };
    let Some(custody) = app.custody.as_ref() else {
        return Err(ApiError::forbidden(format!(
            "this server holds no keys: the meter's owner {what} with their own wallet through {twin} (Solana Pay)"
        )));
    };
    let _one_at_a_time = app.actions.lock().await;
    let client = &app.client;
    let (address, grid_state) = grid(&app).await?;
    let (meter_address, meter) = client.meter(&address, &request.meter).await?;
    match act {
        OwnerAct::Veto if meter.pending_change.is_none() => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                format!("nothing waits to change on {}", request.meter),
            ));
        }
        OwnerAct::EmergencyCredit => {
            emergency_credit_for(&grid_state, &meter, client.cluster_time().await?)?;
        }
        OwnerAct::Veto => {}
    }
    let owner = owner_of(&app, &meter).await?;
    let wallet = custody
        .resident(&owner.id)
        .ok_or_else(|| ApiError::forbidden(format!("the demo holds no key for '{}'", owner.id)))?;
    let build = match act {
        OwnerAct::Veto => instructions::veto_meter_change,
        OwnerAct::EmergencyCredit => instructions::take_emergency_credit,
    };
    let ix = build(&wallet.pubkey(), &address, &meter_address, &meter.owner);
    client
        .send_action_without_events(&[ix], &[wallet], &action.0)
        .await?;
    let (_, meter) = client.meter(&address, &request.meter).await?;
    Ok(Json(
        json!({"meter": MeterView::new(&meter_address, &meter, &owner.id)}),
    ))
}

#[derive(Deserialize)]
struct QuoteRequest {
    side: Option<String>,
    usd: Option<String>,
    coins_k: Option<String>,
}

/// A quote as the program will apply it: dollars paid and the coins they buy, or coins sold and
/// the dollars their payout gets.
#[derive(Serialize)]
struct Quote {
    side: &'static str,
    usd: String,
    coins_k: String,
    coin_price_usd: String,
}

/// `GET /api/quote?side=buy|sell&usd=…` (or `&coins_k=…`): the SDK's quotes at the grid's coin
/// price, so the page shows exactly what a purchase mints or a sale takes. From dollars: what
/// they buy, or the coins a payout of them takes (with that payout); from coins: the fewest
/// dollars that buy them (with what those buy), or the payout a sale of them gets.
async fn quote(
    State(app): Shared,
    query: Result<Query<QuoteRequest>, QueryRejection>,
) -> Result<Json<Quote>, ApiError> {
    let Query(request) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "ask /api/quote?side=buy|sell&usd=… (or &coins_k=…): {}",
            e.body_text()
        ))
    })?;
    let side = match request.side.as_deref() {
        Some("buy") => "buy",
        Some("sell") => "sell",
        _ => return Err(ApiError::bad_request("side must be buy or sell")),
    };
    let (_, grid) = grid(&app).await?;
    let price = grid.coin_price_cents;
    let quoted = match (&request.usd, &request.coins_k) {
        (Some(usd), None) => {
            let cents = parse_usd(usd)
                .map_err(|e| ApiError::bad_request(format!("invalid dollar amount: {e}")))?;
            if side == "buy" {
                fiat::quote_buy(cents, price).map(|units| (cents, units))
            } else {
                fiat::quote_sell_units(cents, price)
                    .and_then(|units| Some((fiat::quote_payout_cents(units, price)?, units)))
            }
        }
        (None, Some(coins)) => {
            let units = parse_k(coins)
                .map_err(|e| ApiError::bad_request(format!("invalid amount: {e}")))?;
            if side == "buy" {
                fiat::cents_to_buy_ceil(units, price)
                    .and_then(|cents| Some((cents, fiat::quote_buy(cents, price)?)))
            } else {
                fiat::quote_payout_cents(units, price).map(|cents| (cents, units))
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "send one amount: usd (dollars) or coins_k (coins)",
            ))
        }
    };
    let (cents, units) =
        quoted.ok_or_else(|| ApiError::bad_request("the amount is too large to quote"))?;
    Ok(Json(Quote {
        side,
        usd: format_usd(cents),
        coins_k: format_k(units),
        coin_price_usd: format_usd(price),
    }))
}
