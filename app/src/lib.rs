//! The community web app: a thin axum layer over the SDK. Handlers parse, call the SDK and
//! render JSON; the pages in `static/` draw it. No business rule lives here that the program
//! does not enforce.

pub mod alerts;
pub mod api;
pub mod community;
pub mod custody;
pub mod demo;
pub mod error;
pub mod guard;
pub mod index;
mod pages;
pub mod payments;
pub mod sponsor;
pub mod wallet;

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use energy_utility_sdk::history::History;
use energy_utility_sdk::Client;
use serde_json::Value;

pub use custody::Custody;
pub use payments::Payments;

pub struct App {
    pub client: Client,
    pub grid_name: String,
    /// The demo's keys (residents, gateways, the utility); `None` outside the demo.
    pub custody: Option<Custody>,
    /// Buying and selling coins through the payment processor; `None` when not configured.
    pub payments: Option<Payments>,
    /// Residents' and meters' histories, read from the chain's transactions (each fetched
    /// once).
    pub chain: History,
    pub last_settlement: Mutex<Option<Value>>,
    /// Actions that send transactions run one at a time.
    pub actions: tokio::sync::Mutex<()>,
    /// Budgets per client and answers per idempotency key (see `guard`).
    pub guard: guard::Guard,
    /// The host names this server answers to, set when it starts serving.
    pub hosts: OnceLock<Vec<String>>,
    /// Host names it answers to besides its loopback names and its public URL's
    /// (`deu serve --allowed-host`).
    pub extra_hosts: Mutex<Vec<String>>,
    /// Pays the fees and rent of residents whose wallets hold no SOL (`deu serve
    /// --sponsor-keypair`); unset: every wallet pays its own.
    pub sponsor: OnceLock<sponsor::Sponsor>,
    /// Audits of settled epochs (`GET /api/audit/{epoch}`), which never change.
    pub audits: Mutex<std::collections::HashMap<u64, serde_json::Value>>,
    /// Low-balance and disconnection notices (`deu serve --alerts-file`); unset: none.
    pub alerts: OnceLock<alerts::Alerts>,
    /// The grid in memory, which every page and API read answers from (see `index`).
    pub index: Arc<index::Index>,
    /// The cluster's websocket URL the index subscribes at (`deu serve --ws-url`); unset:
    /// the RPC URL's, as Solana's clients derive it (`client::websocket_url`).
    pub ws_url: OnceLock<String>,
    /// Meters and residents `/api/state` lists whole (`api::LIST_LIMIT` unless set).
    pub list_limit: std::sync::atomic::AtomicUsize,
    /// Histories of the pages' addresses, kept until one of them changes (`api`).
    #[allow(clippy::type_complexity)]
    pub told: Mutex<
        std::collections::HashMap<
            (Vec<anchor_lang::prelude::Pubkey>, i64),
            (
                u64,
                std::time::Instant,
                Vec<Arc<energy_utility_sdk::history::Told>>,
            ),
        >,
    >,
}

impl App {
    pub fn new(
        client: Client,
        grid_name: &str,
        custody: Option<Custody>,
        payments: Option<Payments>,
    ) -> Arc<Self> {
        Arc::new(Self {
            client,
            grid_name: grid_name.to_string(),
            custody,
            payments,
            chain: History::new(),
            last_settlement: Mutex::new(None),
            actions: tokio::sync::Mutex::new(()),
            guard: guard::Guard::default(),
            hosts: OnceLock::new(),
            extra_hosts: Mutex::new(Vec::new()),
            sponsor: OnceLock::new(),
            audits: Mutex::new(std::collections::HashMap::new()),
            alerts: OnceLock::new(),
            index: index::Index::new(energy_utility_sdk::pda::grid(grid_name)),
            ws_url: OnceLock::new(),
            list_limit: std::sync::atomic::AtomicUsize::new(api::LIST_LIMIT),
            told: Mutex::new(std::collections::HashMap::new()),
        })
    }
}

impl App {
    /// How many meters and residents `/api/state` lists whole (at least 1).
    pub fn set_list_limit(&self, limit: usize) {
        self.list_limit
            .store(limit.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    pub fn list_limit(&self) -> usize {
        self.list_limit.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A fresh id for one intended action (see `Client::send_action`): two requests are two
/// actions, each done or refused, even when they build the same instructions in one block.
pub fn action_id() -> String {
    energy_utility_payments::random_id("act_")
}

/// This process's metrics (`GET /metrics`): requests by route and status with their latency,
/// webhook deliveries by outcome; the grid's figures are read when scraped (`api::metrics`).
pub fn metrics() -> &'static energy_utility_sdk::metrics::Registry {
    static METRICS: std::sync::LazyLock<energy_utility_sdk::metrics::Registry> =
        std::sync::LazyLock::new(energy_utility_sdk::metrics::Registry::new);
    &METRICS
}

/// Counts each request by its route (the pattern, not the path: `/api/meters/{id}`) and
/// status, and times it.
async fn timed(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = request.method().as_str().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let m = metrics();
    m.count(
        "deu_http_requests_total",
        "HTTP requests answered, by route, method and status.",
        &[("route", &route), ("method", &method), ("status", &status)],
        1,
    );
    m.observe(
        "deu_http_request_duration_seconds",
        "How long requests took to answer, by route.",
        &[("route", &route)],
        started.elapsed().as_secs_f64(),
    );
    response
}

pub fn router(app: Arc<App>) -> Router {
    pages::routes()
        .merge(api::routes())
        .merge(wallet::routes())
        .merge(payments::routes())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::writes,
        ))
        .route_layer(axum::middleware::from_fn(timed))
        .with_state(app)
}

/// Serves the app on `listener` until the process ends: the index follows the cluster from
/// the start (pages answer once it has loaded). With payments configured, expired receipts
/// and ended sales are closed once an hour, their rent returned.
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let rpc_url = app.client.rpc.url();
    let ws_url = app
        .ws_url
        .get()
        .cloned()
        .unwrap_or_else(|| energy_utility_sdk::client::websocket_url(&rpc_url));
    app.index.start(&rpc_url, &ws_url);
    if app.payments.is_some() {
        let sweeper = app.clone();
        tokio::spawn(async move {
            loop {
                if let Some(payments) = sweeper.payments.as_ref() {
                    payments.sweep(&sweeper.grid_name).await;
                }
                tokio::time::sleep(payments::SWEEP_INTERVAL).await;
            }
        });
    }
    if app.alerts.get().is_some() {
        alerts::watch(app.clone());
    }
    let port = listener.local_addr()?.port();
    let mut extra = app
        .extra_hosts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(host) = app
        .payments
        .as_ref()
        .and_then(|p| guard::host_of(&p.public_url))
    {
        extra.push(host);
    }
    let _ = app.hosts.set(guard::allowed_hosts(port, &extra));
    energy_utility_serve::serve(
        listener,
        router(app),
        energy_utility_serve::Limits::default(),
        std::future::pending(),
    )
    .await?;
    Ok(())
}
