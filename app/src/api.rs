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
        .route("/api/meters", get(meter_list))
        .route("/api/residents", get(resident_list))
        .route("/api/map", get(map))
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

/// `GET /metrics`: the process's counters (`crate::metrics`) and the grid's figures, from the
/// index (no cluster request): the oracle's mint budget left, pending admin changes,
/// unsettled closed epochs and loss-band flags among the last 48, silent and disconnected
/// meters, and the index's own figures. An index not loaded yet leaves the grid's figures out
/// and says so (`deu_grid_up 0`).
async fn metrics(State(app): Shared) -> impl axum::response::IntoResponse {
    let m = crate::metrics();
    let up = app.index.ready() && grid_figures(&app, m).is_ok();
    m.set(
        "deu_grid_up",
        "1 when the grid's figures below come from a loaded index.",
        &[],
        if up { 1.0 } else { 0.0 },
    );
    let stats = &app.index.stats;
    for (name, help, value) in [
        (
            "deu_index_following",
            "1 while the index's subscription to the cluster is open.",
            u64::from(app.index.following()),
        ),
        (
            "deu_index_loads_total",
            "Full reads of the grid by the index (start, reconnects, the periodic reconcile).",
            stats.loads.load(std::sync::atomic::Ordering::Relaxed),
        ),
        (
            "deu_index_notifications_total",
            "Account and slot notifications the index heard.",
            stats
                .notifications
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
        (
            "deu_index_reconnects_total",
            "Times the index's subscription was opened again.",
            stats.reconnects.load(std::sync::atomic::Ordering::Relaxed),
        ),
        (
            "deu_index_cluster_requests_total",
            "JSON-RPC requests the index made (loads, clock reads, catch-ups).",
            stats.requests.load(std::sync::atomic::Ordering::Relaxed),
        ),
        (
            "deu_index_last_load_milliseconds",
            "How long the index's last full read of the grid took.",
            stats
                .last_load_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
    ] {
        m.set(name, help, &[], value as f64);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        m.render(),
    )
}

fn grid_figures(app: &App, m: &energy_utility_sdk::metrics::Registry) -> Result<(), ApiError> {
    let view = app.index.view();
    let g = grid_of(&view, app)?;
    let now = view.now;
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
    let (mut unsettled, mut flagged) = (0u64, 0u64);
    for epoch in first..=current {
        let Some(state) = view.epoch(epoch) else {
            continue;
        };
        let closed = energy_utility_sdk::settlement::reports_close_at(&g, Some(state), epoch)
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
    let (mut silent, mut off) = (0usize, 0usize);
    for (_, meter) in view.meters() {
        silent += usize::from(meter.silent);
        off += usize::from(meter.active && meter.is_consumer() && !meter.connected);
    }
    m.set(
        "deu_meters",
        "Meters registered on the grid.",
        &[],
        view.meter_count() as f64,
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

/// How long `/readyz` waits for the cluster, and reads wait for the index's first load.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Ready to serve (for a load balancer or an orchestrator): the cluster answers within
/// [`READY_WITHIN`], the index has loaded the grid and follows the cluster. `/healthz` only
/// says the process serves.
async fn ready(State(app): Shared) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let check = async {
        let (_, grid_state) = grid(&app).await?;
        let now = app.client.cluster_time().await?;
        Ok::<_, ApiError>(grid_state.epoch_at(now).unwrap_or(0))
    };
    let epoch = tokio::time::timeout(READY_WITHIN, check)
        .await
        .map_err(|_| ApiError::cluster_unavailable(&"no answer within 3 s"))??;
    let (loaded, following) = (app.index.ready(), app.index.following());
    let body = Json(json!({
        "ready": loaded,
        "grid": app.grid_name,
        "epoch": epoch,
        "index": {"loaded": loaded, "following": following},
    }));
    let status = if loaded {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((status, body).into_response())
}

/// The grid read from the cluster now, for actions (which must see the latest state).
pub(crate) async fn grid(
    app: &App,
) -> Result<(Pubkey, energy_utility_sdk::accounts::Grid), ApiError> {
    Ok(app.client.grid(&app.grid_name).await?)
}

/// The index, once it has loaded the grid (503 while it still reads it, or when the cluster
/// has not answered it for a few seconds).
async fn indexed(app: &App) -> Result<&crate::index::Index, ApiError> {
    if app.index.wait_ready(READY_WITHIN).await {
        if !app.index.fresh() {
            // Not heard from the cluster lately: what the index holds may be stale.
            return Err(ApiError::cluster_unavailable(
                &"the index has not heard from the cluster for 3 s",
            ));
        }
        Ok(&app.index)
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the server is still reading the grid; try again in a moment",
        ))
    }
}

/// The grid as the index holds it, its due changes applied.
fn grid_of(
    view: &crate::index::View<'_>,
    app: &App,
) -> Result<energy_utility_sdk::accounts::Grid, ApiError> {
    view.grid().ok_or_else(|| {
        ApiError::not_found(format!(
            "grid '{}' not found on this cluster",
            app.grid_name
        ))
    })
}

/// A meter of the index by id (404 naming it).
fn meter_of<'v>(
    view: &'v crate::index::View<'_>,
    app: &App,
    id: &str,
) -> Result<(Pubkey, &'v Meter), ApiError> {
    let address = pda::meter(&app.index.grid, id);
    view.meter(&address)
        .map(|m| (address, m))
        .ok_or_else(|| ApiError::not_found(format!("meter '{id}' not found")))
}

/// A resident of the index by id (404 naming it).
fn resident_of<'v>(
    view: &'v crate::index::View<'_>,
    app: &App,
    id: &str,
) -> Result<(Pubkey, &'v Resident), ApiError> {
    let address = pda::resident(&app.index.grid, id);
    view.resident(&address)
        .map(|r| (address, r))
        .ok_or_else(|| ApiError::not_found(format!("resident '{id}' not found")))
}

/// `/api/state` lists every meter and resident up to this many; a bigger grid's pages ask
/// `/api/meters`, `/api/residents` and `/api/map` (paged, searched, aggregated).
pub const LIST_LIMIT: usize = 500;

/// A meter's row: its view, its map position.
fn meter_row(view: &crate::index::View<'_>, address: &Pubkey, m: &Meter, at: (f64, f64)) -> Value {
    let mut row = json!(MeterView::new(address, m, &view.resident_id(&m.owner)));
    row["x"] = json!(at.0);
    row["y"] = json!(at.1);
    row
}

fn resident_row(view: &crate::index::View<'_>, r: &Resident) -> Value {
    json!({"id": r.id, "balance_k": format_k(view.coins(&r.coins))})
}

async fn state_json(app: &App) -> Result<Value, ApiError> {
    let index = indexed(app).await?;
    let directory = index.directory();
    let view = index.view();
    let grid = grid_of(&view, app)?;
    let address = index.grid;
    let now = view.now;
    let epoch = grid.epoch_at(now).unwrap_or(0);
    let grid_view = GridView::new(
        &address,
        &grid,
        now,
        epoch,
        view.coins(&pda::treasury(&address)),
        view.coins(&pda::pool(&address)),
    );
    let meters = directory.meters.len();
    let residents = directory.residents.len();
    let limit = app.list_limit();
    let listed = meters <= limit && residents <= limit;
    let (mut connected, mut producers) = (0usize, 0usize);
    for (_, m) in view.meters() {
        connected += usize::from(m.connected);
        producers += usize::from(!m.is_consumer());
    }
    let last = app
        .last_settlement
        .lock()
        .map(|l| l.clone())
        .unwrap_or(None);
    let mut state = json!({
        "demo": app.custody.is_some(),
        "grid": grid_view,
        "clock": {
            "epoch": epoch,
            "unix_timestamp": now,
            "hour_label": format!("Day {}, {:02}:00", epoch / 24 + 1, epoch % 24),
        },
        "counts": {
            "meters": meters,
            "residents": residents,
            "connected": connected,
            "producers": producers,
        },
        "listed": listed,
        "last_settlement": last,
    });
    if listed {
        state["meters"] = Value::Array(
            directory
                .meters
                .iter()
                .filter_map(|(a, at)| view.meter(a).map(|m| meter_row(&view, a, m, *at)))
                .collect(),
        );
        state["residents"] = Value::Array(
            directory
                .residents
                .iter()
                .filter_map(|a| view.resident(a).map(|r| resident_row(&view, r)))
                .collect(),
        );
    } else {
        // What the map's "coming changes" list needs, without listing every meter.
        state["coming_meters"] = Value::Array(
            view.notable()
                .into_iter()
                .filter(|(_, m)| {
                    m.pending_change.is_some() || (!m.is_consumer() && m.earns_from_epoch > epoch)
                })
                .map(|(a, m)| json!(MeterView::new(&a, m, &view.resident_id(&m.owner))))
                .collect(),
        );
    }
    if let Some(chain) = crate::wallet::chain_of(&app.client.rpc.url()) {
        state["chain"] = json!(chain);
    }
    Ok(state)
}

async fn state(State(app): Shared) -> ApiResult {
    Ok(Json(state_json(&app).await?))
}

/// How many rows a list answers at most, and by default.
const PAGE_MAX: usize = 200;
const PAGE_DEFAULT: usize = 50;

#[derive(Deserialize)]
struct ListQuery {
    /// Words the id, label or owner must contain (case-insensitive).
    q: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
    /// Meters only: `consumer`, `producer`, `off` (told to disconnect).
    filter: Option<String>,
}

fn page_of(query: &ListQuery) -> Result<(usize, usize, String), ApiError> {
    let limit = query.limit.unwrap_or(PAGE_DEFAULT);
    if limit == 0 || limit > PAGE_MAX {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {PAGE_MAX}"
        )));
    }
    let q = query.q.as_deref().unwrap_or("").trim().to_lowercase();
    if q.len() > 64 {
        return Err(ApiError::bad_request("search for at most 64 characters"));
    }
    Ok((query.offset.unwrap_or(0), limit, q))
}

/// One page of a list: counts every row offered, keeps those from `offset`, `limit` of them.
struct Page {
    offset: usize,
    limit: usize,
    total: usize,
    rows: Vec<Value>,
}

impl Page {
    fn new(offset: usize, limit: usize) -> Self {
        Self {
            offset,
            limit,
            total: 0,
            rows: Vec::new(),
        }
    }

    /// One more matching row (built only when it is on the page).
    fn offer(&mut self, row: impl FnOnce() -> Value) {
        if self.total >= self.offset && self.rows.len() < self.limit {
            self.rows.push(row());
        }
        self.total += 1;
    }

    /// `{total, offset, limit, <name>: rows}`.
    fn answer(self, name: &str) -> ApiResult {
        Ok(Json(json!({
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            name: self.rows,
        })))
    }
}

/// `GET /api/meters?q=&filter=&offset=&limit=`: the grid's meters in registration order,
/// searched by id, label or owner, a page at a time, from the index.
async fn meter_list(
    State(app): Shared,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "ask /api/meters?q=…&filter=consumer|producer|off&offset=…&limit=…: {}",
            e.body_text()
        ))
    })?;
    let (offset, limit, q) = page_of(&query)?;
    let filter = query.filter.as_deref().unwrap_or("");
    if !matches!(filter, "" | "consumer" | "producer" | "off") {
        return Err(ApiError::bad_request(
            "filter must be consumer, producer or off",
        ));
    }
    let index = indexed(&app).await?;
    let directory = index.directory();
    let view = index.view();
    let mut page = Page::new(offset, limit);
    for (address, at) in &directory.meters {
        let Some(m) = view.meter(address) else {
            continue;
        };
        let kind_ok = match filter {
            "consumer" => m.is_consumer(),
            "producer" => !m.is_consumer(),
            "off" => m.is_consumer() && !m.connected,
            _ => true,
        };
        if !kind_ok {
            continue;
        }
        if !q.is_empty() {
            let owner = view.resident_id(&m.owner);
            let hit = m.id.to_lowercase().contains(&q)
                || m.label.to_lowercase().contains(&q)
                || owner.to_lowercase().contains(&q);
            if !hit {
                continue;
            }
        }
        page.offer(|| meter_row(&view, address, m, *at));
    }
    page.answer("meters")
}

/// `GET /api/residents?q=&offset=&limit=`: the grid's residents in registration order with
/// their coins, searched by id, a page at a time, from the index.
async fn resident_list(
    State(app): Shared,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "ask /api/residents?q=…&offset=…&limit=…: {}",
            e.body_text()
        ))
    })?;
    let (offset, limit, q) = page_of(&query)?;
    let index = indexed(&app).await?;
    let directory = index.directory();
    let view = index.view();
    let mut page = Page::new(offset, limit);
    for address in &directory.residents {
        let Some(r) = view.resident(address) else {
            continue;
        };
        if !q.is_empty() && !r.id.to_lowercase().contains(&q) {
            continue;
        }
        page.offer(|| resident_row(&view, r));
    }
    page.answer("residents")
}

#[derive(Deserialize)]
struct MapQuery {
    x0: Option<f64>,
    y0: Option<f64>,
    x1: Option<f64>,
    y1: Option<f64>,
    /// Meters drawn one by one up to this many in the box; more are counted in cells.
    max: Option<usize>,
}

/// The most meters `/api/map` draws one by one, and the cells a side it counts the rest in.
const MAP_MAX: usize = 300;
const MAP_CELLS: usize = 12;

/// `GET /api/map?x0=&y0=&x1=&y1=&max=`: the meters inside the box (map coordinates 0..1):
/// each one when there are at most `max` (default 300, or the server's list limit if lower),
/// otherwise counted in 12×12 cells
/// (how many, consumers off, producers, last hour's kWh), which the page draws as circles
/// and zooms into.
async fn map(State(app): Shared, query: Result<Query<MapQuery>, QueryRejection>) -> ApiResult {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request(format!(
            "ask /api/map?x0=…&y0=…&x1=…&y1=…: {}",
            e.body_text()
        ))
    })?;
    let (x0, y0) = (query.x0.unwrap_or(0.0), query.y0.unwrap_or(0.0));
    let (x1, y1) = (query.x1.unwrap_or(1.0), query.y1.unwrap_or(1.0));
    let finite = [x0, y0, x1, y1].iter().all(|v| v.is_finite());
    if !finite || x1 <= x0 || y1 <= y0 {
        return Err(ApiError::bad_request(
            "the box needs x0 < x1 and y0 < y1 (map coordinates from 0 to 1)",
        ));
    }
    let max = query
        .max
        .unwrap_or(MAP_MAX.min(app.list_limit()))
        .min(PAGE_MAX * 5);
    let index = indexed(&app).await?;
    let directory = index.directory();
    let view = index.view();
    let inside: Vec<&(Pubkey, (f64, f64))> = directory
        .meters
        .iter()
        .filter(|(_, (x, y))| *x >= x0 && *x <= x1 && *y >= y0 && *y <= y1)
        .collect();
    let box_json = json!({"x0": x0, "y0": y0, "x1": x1, "y1": y1});
    if inside.len() <= max {
        let meters: Vec<Value> = inside
            .iter()
            .filter_map(|(a, at)| view.meter(a).map(|m| meter_row(&view, a, m, *at)))
            .collect();
        return Ok(Json(
            json!({"box": box_json, "total": meters.len(), "meters": meters}),
        ));
    }
    #[derive(Default)]
    struct Cell {
        count: u64,
        sum_x: f64,
        sum_y: f64,
        off: u64,
        producers: u64,
        last_wh: u64,
    }
    let mut cells: HashMap<(usize, usize), Cell> = HashMap::new();
    let (w, hgt) = (x1 - x0, y1 - y0);
    for (address, (x, y)) in &inside {
        let Some(m) = view.meter(address) else {
            continue;
        };
        let cx = (((x - x0) / w) * MAP_CELLS as f64).min(MAP_CELLS as f64 - 1.0) as usize;
        let cy = (((y - y0) / hgt) * MAP_CELLS as f64).min(MAP_CELLS as f64 - 1.0) as usize;
        let cell = cells.entry((cx, cy)).or_default();
        cell.count += 1;
        cell.sum_x += x;
        cell.sum_y += y;
        cell.off += u64::from(m.is_consumer() && !m.connected);
        cell.producers += u64::from(!m.is_consumer());
        cell.last_wh += energy_utility_sdk::views::last_reading(m).map_or(0, |r| r.wh);
    }
    let mut list: Vec<((usize, usize), Cell)> = cells.into_iter().collect();
    list.sort_by_key(|(at, _)| (at.1, at.0));
    let cells: Vec<Value> = list
        .into_iter()
        .map(|((cx, cy), c)| {
            json!({
                "x": c.sum_x / c.count as f64,
                "y": c.sum_y / c.count as f64,
                "box": {
                    "x0": x0 + w * cx as f64 / MAP_CELLS as f64,
                    "y0": y0 + hgt * cy as f64 / MAP_CELLS as f64,
                    "x1": x0 + w * (cx + 1) as f64 / MAP_CELLS as f64,
                    "y1": y0 + hgt * (cy + 1) as f64 / MAP_CELLS as f64,
                },
                "count": c.count,
                "off": c.off,
                "producers": c.producers,
                "last_kwh": energy_utility_sdk::amounts::format_kwh(c.last_wh),
            })
        })
        .collect();
    Ok(Json(
        json!({"box": box_json, "total": inside.len(), "cells": cells}),
    ))
}

/// The transactions that mention `addresses`, kept until one of `watched` changes in the
/// index (or a minute passes): a page polled every 2 s asks the cluster again only when
/// something happened.
async fn told_cached(
    app: &App,
    addresses: &[Pubkey],
    watched: &[Pubkey],
) -> Result<Vec<Arc<history::Told>>, ApiError> {
    cached_history(app, addresses, i64::MIN, watched, async {
        Ok(app.chain.told(&app.client, addresses).await?)
    })
    .await
}

/// The transactions of `address` since the start of the day of `since_ts` (so that one day's
/// requests share them), cached as [`told_cached`].
async fn told_since_cached(
    app: &App,
    address: &Pubkey,
    since_ts: i64,
) -> Result<Vec<Arc<history::Told>>, ApiError> {
    let day = since_ts - since_ts.rem_euclid(86_400);
    cached_history(app, &[*address], day, &[*address], async {
        Ok(app.chain.told_since(&app.client, address, day).await?)
    })
    .await
}

async fn cached_history(
    app: &App,
    addresses: &[Pubkey],
    since: i64,
    watched: &[Pubkey],
    fetch: impl std::future::Future<Output = Result<Vec<Arc<history::Told>>, ApiError>>,
) -> Result<Vec<Arc<history::Told>>, ApiError> {
    let stamp = {
        let view = app.index.view();
        watched.iter().map(|a| view.touched(a)).max().unwrap_or(0)
    };
    let key = (addresses.to_vec(), since);
    if let Ok(cache) = app.told.lock() {
        if let Some((at_stamp, at, told)) = cache.get(&key) {
            if *at_stamp == stamp && at.elapsed() < TOLD_FRESH {
                return Ok(told.clone());
            }
        }
    }
    let told = fetch.await?;
    if let Ok(mut cache) = app.told.lock() {
        if cache.len() >= TOLD_CACHED {
            cache.clear();
        }
        cache.insert(key, (stamp, std::time::Instant::now(), told.clone()));
    }
    Ok(told)
}

/// How long a cached history is trusted without a change, and how many are kept.
const TOLD_FRESH: std::time::Duration = std::time::Duration::from_secs(60);
const TOLD_CACHED: usize = 10_000;

/// A resident's history from the chain, newest first, as JSON.
fn resident_history(
    view: &crate::index::View<'_>,
    resident: &Pubkey,
    owned: &[Pubkey],
    told: &[Arc<history::Told>],
) -> Vec<Value> {
    let meter_id = |a: &Pubkey| {
        view.meter(a)
            .map_or_else(|| a.to_string(), |m| m.id.clone())
    };
    history::resident_entries(resident, owned, &meter_id, told)
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
        .collect()
}

async fn resident(State(app): Shared, Path(id): Path<String>) -> ApiResult {
    let index = indexed(&app).await?;
    let (resident_address, coins, owned) = {
        let view = index.view();
        let (address, r) = resident_of(&view, &app, &id)?;
        let owned: Vec<Pubkey> = view.owned_by(&address).iter().map(|(a, _)| *a).collect();
        (address, r.coins, owned)
    };
    let mut addresses = vec![resident_address];
    addresses.extend(&owned);
    let mut watched = addresses.clone();
    watched.push(coins);
    let told = told_cached(&app, &addresses, &watched).await?;
    let view = index.view();
    let (_, resident) = resident_of(&view, &app, &id)?;
    let mut row = json!(ResidentView::new(
        &resident_address,
        resident,
        view.coins(&resident.coins),
        view.now
    ));
    row["meters"] = json!(view
        .owned_by(&resident_address)
        .iter()
        .map(|(a, m)| MeterView::new(a, m, &id))
        .collect::<Vec<_>>());
    row["sales"] = Value::Array(
        view.sales_of(&resident_address)
            .iter()
            .rev()
            .map(|(number, address, sale)| json!(SaleView::new(*number, address, sale)))
            .collect(),
    );
    row["history"] = Value::Array(resident_history(&view, &resident_address, &owned, &told));
    Ok(Json(row))
}

async fn meter(State(app): Shared, Path(id): Path<String>) -> ApiResult {
    let index = indexed(&app).await?;
    let meter_address = {
        let view = index.view();
        meter_of(&view, &app, &id)?.0
    };
    let told = told_cached(&app, &[meter_address], &[meter_address]).await?;
    let view = index.view();
    let grid_state = grid_of(&view, &app)?;
    let (_, meter) = meter_of(&view, &app, &id)?;
    let owner = view.resident_id(&meter.owner);
    let now = view.now;
    let epoch = grid_state.epoch_at(now).unwrap_or(0);
    let forecast = history::forecast_now(&meter_address, meter, &told, &grid_state, now);
    let meter_view = MeterView::new(&meter_address, meter, &owner).with_forecast(meter, forecast);
    let mut row = json!(meter_view);
    if let Some(forecast) = &meter_view.forecast {
        row["forecast"]["words"] = json!(forecast.words());
    }
    row["readings"] = json!(readings(meter));
    // What the page needs to tell a pending change's time: the grid's notice and clock.
    row["notice_seconds"] = json!(grid_state.notice_seconds);
    row["now"] = json!(now);
    row["epoch"] = json!(epoch);
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
        let offered = grid_state.params_for(epoch).credit.emergency_credit_units;
        let why_not = emergency_credit_for(&grid_state, meter, now).err();
        row["emergency_credit"] = json!({
            "offered_k": format_k(offered),
            "can_take": why_not.is_none(),
            "why_not": why_not.map(|e| e.message),
        });
    }
    row["funders"] = Value::Array(
        history::fundings(&meter_address, &told)
            .iter()
            .map(|f| {
                json!({
                    "resident": view.resident_id(&f.funder),
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
    app.index.catch_up(&app.client).await;
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
    let index = indexed(&app).await?;
    let (meter_address, kind, grid_state, now) = {
        let view = index.view();
        let (address, meter) = meter_of(&view, &app, &id)?;
        (address, meter.kind, grid_of(&view, &app)?, view.now)
    };
    let epoch = grid_state.epoch_at(now).unwrap_or(0);
    let since = now - (history::SERIES_DAYS + 1) * 86_400;
    let told = told_since_cached(&app, &meter_address, since).await?;
    let series = history::series(&meter_address, &told, &grid_state, epoch);
    Ok(Json(json!({
        "meter": id,
        "kind": energy_utility_sdk::views::kind_name(kind),
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
    let index = indexed(&app).await?;
    let (meter_address, grid_state) = {
        let view = index.view();
        (meter_of(&view, &app, &id)?.0, grid_of(&view, &app)?)
    };
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
    let index = indexed(app).await?;
    let (grid_state, resident_address, now, meters) = {
        let view = index.view();
        let grid_state = grid_of(&view, app)?;
        let (resident_address, _) = resident_of(&view, app, id)?;
        let meters: Vec<(Pubkey, String, &'static str)> = view
            .owned_by(&resident_address)
            .into_iter()
            .map(|(a, m)| {
                (
                    a,
                    m.id.clone(),
                    energy_utility_sdk::views::kind_name(m.kind),
                )
            })
            .collect();
        (grid_state, resident_address, view.now, meters)
    };
    let params = grid_state.params_for(grid_state.epoch_at(now).unwrap_or(0));
    let month = month.unwrap_or_else(|| {
        let day = params.local_time(now).day;
        energy_utility_sdk::calendar::format_day(day)[..7].to_string()
    });
    let bounds = history::month_bounds(&month, params.utc_offset_seconds)
        .ok_or_else(|| ApiError::bad_request(format!("'{month}' is not a month like 2026-12")))?;
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
    let index = indexed(&app).await?;
    let view = index.view();
    let grid_state = grid_of(&view, &app)?;
    let current = grid_state.epoch_at(view.now).unwrap_or(0);
    let first = current.saturating_sub(23);
    let hours: Vec<Value> = (first..=current)
        .map(|epoch| (epoch, view.epoch(epoch)))
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
