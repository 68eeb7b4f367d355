//! A local Solana cluster: the `energy_utility` program in a real Agave bank
//! (`solana-program-test`), served over standard Solana JSON-RPC (HTTP POST `/`) and websocket
//! subscriptions (the RPC port + 1), so that stock clients (`RpcClient`, web3.js, kit, the
//! SDK, the CLI) talk to it as to devnet.
//!
//! * The bank is `energy_utility_bank::program_test()`, restored from the ledger folder, with
//!   the program's own logs captured into transactions even when it runs natively. Its genesis
//!   payer is the faucet behind `requestAirdrop`.
//! * A block every 400 ms: the slot and block height advance with wall time and a blockhash
//!   stays valid for 150 blocks (`node.rs`).
//! * Every transaction is committed, with what it did, in one durable write of the ledger's
//!   log (`store.rs`), merged into its tables in the background: a restart loses nothing and
//!   executes nothing again.
//! * The methods are listed in the README's local-cluster section; two exist only here, so a
//!   client can tell a local cluster from a real one: `deuAdvanceClock [seconds]` and
//!   `deuGetClock`, both answering `{"unixTimestamp", "offsetSeconds"}`.
//!
//! `DEU_LOCALNET_VERBOSE=1` logs each request's method, and each transaction's logs, to stderr.

mod encoding;
mod guard;
mod methods;
mod node;
mod pubsub;
mod rpc;
mod store;
mod transactions;

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::PathBuf,
    sync::{mpsc, Arc},
    time::Duration,
};

use anyhow::{anyhow, bail, Context};
use axum::{
    body::Bytes,
    extract::State,
    response::{IntoResponse, Response},
    routing::{any, get, post},
    Json, Router,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::{
    node::{BankThread, Job},
    rpc::{RpcError, INVALID_REQUEST, PARSE_ERROR},
};

/// Where and how to run the local cluster.
#[derive(Debug, Clone)]
pub struct LocalnetConfig {
    /// The folder that keeps the cluster's accounts and clock between runs.
    pub ledger: PathBuf,
    /// Forget what the ledger folder holds before starting.
    pub reset: bool,
    /// The address to serve JSON-RPC on (port 0 picks a free port); websocket subscriptions
    /// are served on the next port.
    pub bind: SocketAddr,
    /// Host names (besides IP addresses and `localhost`) that clients may reach the cluster
    /// by, e.g. `devbox.lan`; requests naming any other host are refused (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Events kept for websocket subscribers that are behind ([`SUBSCRIBER_BACKLOG`]); a
    /// subscriber further behind is closed, told how many it missed.
    pub subscriber_backlog: usize,
}

/// The events kept for subscribers that are behind, by default.
pub const SUBSCRIBER_BACKLOG: usize = 4_096;

impl LocalnetConfig {
    /// The cluster on `ledger`, served on `bind`, reachable by IP address and `localhost`.
    pub fn new(ledger: impl Into<PathBuf>, reset: bool, bind: SocketAddr) -> Self {
        Self {
            ledger: ledger.into(),
            reset,
            bind,
            allowed_hosts: Vec::new(),
            subscriber_backlog: SUBSCRIBER_BACKLOG,
        }
    }
}

/// A running local cluster. Stop it with [`Localnet::shutdown`], which saves its state
/// (dropping it also stops it and saves, without waiting).
pub struct Localnet {
    addr: SocketAddr,
    stop_server: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    stop_pubsub: Option<tokio::sync::oneshot::Sender<()>>,
    jobs: mpsc::Sender<Job>,
    bank: Option<std::thread::JoinHandle<()>>,
    halted: tokio::sync::watch::Receiver<Option<String>>,
    calls: Arc<std::sync::atomic::AtomicU64>,
}

struct Shared {
    jobs: mpsc::Sender<Job>,
    /// JSON-RPC calls answered (each call of a batch counts), for [`Localnet::calls`].
    calls: Arc<std::sync::atomic::AtomicU64>,
}

/// How long a client may take: the header-read and request timeouts, and the connections
/// served at once on each port (a request may wait on the bank behind others).
fn limits() -> energy_utility_serve::Limits {
    energy_utility_serve::Limits {
        request: Duration::from_secs(60),
        max_connections: 512,
        ..energy_utility_serve::Limits::default()
    }
}

/// The JSON-RPC listener and the websocket one on the next port. With port 0, ports are
/// picked until both are free.
async fn listeners(bind: SocketAddr) -> anyhow::Result<(TcpListener, TcpListener)> {
    for _ in 0..50 {
        let rpc = TcpListener::bind(bind)
            .await
            .with_context(|| format!("listen on {bind}"))?;
        let port = rpc.local_addr()?.port();
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        match TcpListener::bind(SocketAddr::new(bind.ip(), next)).await {
            Ok(ws) => return Ok((rpc, ws)),
            Err(e) if bind.port() != 0 => {
                bail!("listen for websocket subscriptions on port {next} (the RPC port + 1): {e}")
            }
            Err(_) => continue,
        }
    }
    Err(anyhow!(
        "found no free pair of ports for JSON-RPC and its websocket"
    ))
}

/// Starts the cluster and returns once it is listening.
pub async fn start(config: LocalnetConfig) -> anyhow::Result<Localnet> {
    let verbose = std::env::var("DEU_LOCALNET_VERBOSE").is_ok_and(|v| v == "1");
    let (listener, ws_listener) = listeners(config.bind).await?;
    let addr = listener.local_addr()?;
    let (events, _) = tokio::sync::broadcast::channel(config.subscriber_backlog.max(16));
    let (halt, halted) = tokio::sync::watch::channel(None);
    let bank = BankThread::spawn(
        config.ledger.clone(),
        config.reset,
        verbose,
        events.clone(),
        halt,
    )
    .await
    .with_context(|| format!("start the bank from {}", config.ledger.display()))?;
    let calls = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let shared = Arc::new(Shared {
        jobs: bank.jobs.clone(),
        calls: calls.clone(),
    });
    let sites = Arc::new(guard::Sites::new(&config.allowed_hosts));
    let app = Router::new()
        .route("/", post(handle))
        .route_layer(axum::middleware::from_fn_with_state(
            sites.clone(),
            guard::calls,
        ))
        .route("/health", get(|| async { "ok" }))
        .with_state(shared);
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(energy_utility_serve::serve(
        listener,
        app,
        limits(),
        async {
            let _ = stopped.await;
        },
    ));
    let hub = Arc::new(pubsub::Hub::new(bank.jobs.clone(), events));
    let ws_app = Router::new()
        .route("/", any(pubsub::upgrade))
        .route_layer(axum::middleware::from_fn_with_state(sites, guard::calls))
        .with_state(hub);
    let (stop_pubsub, pubsub_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(energy_utility_serve::serve(
        ws_listener,
        ws_app,
        limits(),
        async {
            let _ = pubsub_stopped.await;
        },
    ));
    Ok(Localnet {
        addr,
        stop_server: Some(stop_server),
        server: Some(server),
        stop_pubsub: Some(stop_pubsub),
        jobs: bank.jobs,
        bank: Some(bank.thread),
        halted,
        calls,
    })
}

/// Runs until `stop` resolves (the CLI passes `tokio::signal::ctrl_c`), then saves state.
pub async fn run(
    config: LocalnetConfig,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let localnet = start(config).await?;
    tokio::select! {
        () = stop => localnet.shutdown().await,
        reason = localnet.failed() => {
            // The bank refuses everything from now on and saves nothing more.
            let _ = localnet.shutdown().await;
            Err(anyhow!(reason))
        }
    }
}

impl Localnet {
    /// The JSON-RPC URL, e.g. `http://127.0.0.1:8899` (an unspecified bind address is
    /// reported as loopback).
    pub fn rpc_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// JSON-RPC calls answered so far (each call of a batch counts): what a client cost the
    /// cluster, as a provider would bill or rate-limit it.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The websocket URL for subscriptions: the RPC port + 1, as clients assume.
    pub fn ws_url(&self) -> String {
        self.rpc_url().replacen("http://", "ws://", 1).replace(
            &format!(":{}", self.addr.port()),
            &format!(":{}", self.addr.port() + 1),
        )
    }

    /// Resolves, with the reason, if the cluster stops by itself: a write to its ledger
    /// failed (the disk is full, the folder became read-only). From then on every call is
    /// refused with that reason and nothing more is saved, so that no answer ever reflects a
    /// state the ledger does not hold; a restart continues from the ledger.
    pub async fn failed(&self) -> String {
        let mut halted = self.halted.clone();
        let reason = match halted.wait_for(Option::is_some).await {
            Ok(reason) => reason.clone(),
            Err(_) => None,
        };
        match reason {
            Some(reason) => reason,
            // The bank is gone without a reason: it was shut down; never resolve.
            None => std::future::pending().await,
        }
    }

    /// Stops serving and saves state.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.stop_pubsub.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take() {
            // Give requests in flight a moment; idle keep-alive connections close at once.
            match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => return Err(e).context("serving JSON-RPC"),
                Ok(Err(e)) => return Err(anyhow!("the JSON-RPC server failed: {e}")),
                Err(_) => server.abort(),
            }
        }
        let (reply, saved) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job::Shutdown { reply })
            .map_err(|_| anyhow!("the bank stopped before it could save its state"))?;
        let saved = saved
            .await
            .map_err(|_| anyhow!("the bank stopped before it could save its state"))?;
        if let Some(bank) = self.bank.take() {
            tokio::task::spawn_blocking(move || bank.join())
                .await?
                .map_err(|_| anyhow!("the bank thread panicked"))?;
        }
        saved
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_server.take() {
            let _ = stop.send(());
        }
        if let Some(stop) = self.stop_pubsub.take() {
            let _ = stop.send(());
        }
        if self.bank.is_some() {
            let (reply, _) = tokio::sync::oneshot::channel();
            let _ = self.jobs.send(Job::Shutdown { reply });
        }
    }
}

fn response(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "result": result, "id": id }),
        Err(error) => json!({ "jsonrpc": "2.0", "error": error.to_json(), "id": id }),
    }
}

async fn handle(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            let error = RpcError::new(PARSE_ERROR, "Parse error");
            return Json(response(Value::Null, Err(error))).into_response();
        }
    };
    match request {
        Value::Array(calls) if calls.is_empty() => {
            let error = RpcError::new(INVALID_REQUEST, "Invalid request");
            Json(response(Value::Null, Err(error))).into_response()
        }
        Value::Array(calls) => {
            let mut answers = Vec::with_capacity(calls.len());
            for call in calls {
                answers.push(handle_call(&shared, call).await);
            }
            Json(Value::Array(answers)).into_response()
        }
        call => Json(handle_call(&shared, call).await).into_response(),
    }
}

async fn handle_call(shared: &Shared, call: Value) -> Value {
    shared
        .calls
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let Value::Object(mut call) = call else {
        let error = RpcError::new(INVALID_REQUEST, "Invalid request");
        return response(Value::Null, Err(error));
    };
    let id = call.remove("id").unwrap_or(Value::Null);
    let version_ok = call
        .get("jsonrpc")
        .is_none_or(|v| v.as_str() == Some("2.0"));
    let method = match call.remove("method") {
        Some(Value::String(method)) if version_ok => method,
        _ => {
            let error = RpcError::new(INVALID_REQUEST, "Invalid request");
            return response(id, Err(error));
        }
    };
    let params = call.remove("params").unwrap_or(Value::Null);
    response(id, node::call(&shared.jobs, method, params).await)
}
