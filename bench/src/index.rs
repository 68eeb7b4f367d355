//! The index behind the pages at scale: a grid of N meters (and N/10 residents) is set up
//! through the local cluster's JSON-RPC (in this process, on a fresh ledger), then `deu serve`'s
//! app starts over it and loads its index; every route the pages call is timed (p50, p95), each
//! page's views are counted in cluster calls (the local cluster's count, less the index's own
//! clock reads), and the process's memory is read before and after the index loaded.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use energy_utility_sdk::Client;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;

/// Requests timed per route, after one that warms it.
const SAMPLES: usize = 30;
/// Views of each page counted in cluster calls.
const VIEWS: u64 = 10;

/// One route's latencies, sorted.
pub struct Route {
    pub path: String,
    pub times: Vec<Duration>,
}

/// A page's view: the requests it makes at once, their time and the cluster calls per view.
pub struct Page {
    pub name: &'static str,
    pub requests: usize,
    pub times: Vec<Duration>,
    pub calls_per_view: f64,
}

pub struct IndexFigures {
    pub meters: usize,
    pub residents: usize,
    pub setup: Duration,
    pub load: Duration,
    /// Resident memory of the process before and after the index loaded (KiB).
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    /// What the index holds by its own count (`Index::footprint_bytes`).
    pub footprint_bytes: usize,
    pub routes: Vec<Route>,
    pub pages: Vec<Page>,
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The process's resident memory now (VmRSS), in KiB; 0 if unknown.
fn rss_kib() -> u64 {
    crate::community::status_kib("VmRSS:")
}

pub async fn measure(meters: usize, seed: u64) -> Result<IndexFigures> {
    ensure!(meters > 0, "at least one meter");
    let (net, ledger) = crate::rpc::fresh_localnet("index", meters).await?;
    let outcome = run(&net, meters, seed).await;
    crate::rpc::stop_localnet(net, &ledger).await?;
    outcome
}

async fn run(
    net: &energy_utility_localnet::Localnet,
    meters: usize,
    seed: u64,
) -> Result<IndexFigures> {
    let url = net.rpc_url();
    let started = Instant::now();
    let admin = Keypair::new();
    let client = Client::new(&url, admin.insecure_clone());
    let rpc = RpcClient::new(url.clone());
    client
        .airdrop(&admin.pubkey(), 1_000_000_000_000)
        .await
        .context("airdrop to the admin")?;
    let residents = (meters / 10).max(1);
    let name = "bench-index";
    crate::rpc::setup_grid(&client, &rpc, &admin, name, meters, residents, seed).await?;
    let setup = started.elapsed();
    eprintln!(
        "  setup through JSON-RPC: {meters} meters, {residents} residents in {:.1} s",
        setup.as_secs_f64()
    );

    let rss_before_kib = rss_kib();
    let app = energy_utility_app::App::new(Client::new(&url, Keypair::new()), name, None, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let loading = Instant::now();
    tokio::spawn(energy_utility_app::serve(app.clone(), listener));
    ensure!(
        app.index.wait_ready(Duration::from_secs(900)).await,
        "the index did not load within 15 minutes"
    );
    let load = loading.elapsed();
    let rss_after_kib = rss_kib();
    // The directory (ordered lists, map positions) is built at the first page view.
    get(&reqwest::Client::new(), &base, "/api/meters?limit=1").await?;
    let footprint_bytes = app.index.footprint_bytes();
    eprintln!(
        "  the index loaded in {:.2} s; memory {} → {} MiB",
        load.as_secs_f64(),
        rss_before_kib / 1024,
        rss_after_kib / 1024
    );

    let http = reqwest::Client::new();
    let last_meter = meters - 1;
    let last_resident = residents - 1;
    let routes = [
        "/api/state".to_string(),
        "/api/map".to_string(),
        "/api/map?x0=0.40&y0=0.40&x1=0.42&y1=0.42".to_string(),
        "/api/meters?limit=50".to_string(),
        format!("/api/meters?offset={}&limit=50", meters / 2),
        format!("/api/meters?q=m{last_meter}&limit=50"),
        "/api/meters?filter=producer&limit=50".to_string(),
        "/api/residents?limit=50".to_string(),
        format!("/api/residents?q=r{last_resident}&limit=50"),
        format!("/api/meters/m{last_meter}"),
        format!("/api/residents/r{last_resident}"),
        "/api/community/series".to_string(),
        "/metrics".to_string(),
    ];
    let mut timed = Vec::new();
    for path in routes {
        let mut times = Vec::with_capacity(SAMPLES);
        for n in 0..=SAMPLES {
            let t = Instant::now();
            get(&http, &base, &path).await?;
            if n > 0 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        timed.push(Route { path, times });
    }

    let directory = vec![
        "/api/state".to_string(),
        "/api/meters?limit=200".to_string(),
        "/api/residents?limit=200".to_string(),
    ];
    let meter_id = format!("m{}", meters / 3);
    let resident_id = format!("r{}", residents / 3);
    let map_page = vec![
        "/api/state".to_string(),
        "/api/map".to_string(),
        "/api/meters?limit=50".to_string(),
        "/api/residents?limit=50".to_string(),
        "/api/community/series".to_string(),
    ];
    let mut meter_page = directory.clone();
    meter_page.extend([
        format!("/api/meters/{meter_id}"),
        format!("/api/meters/{meter_id}/series"),
    ]);
    let mut resident_page = directory;
    resident_page.push(format!("/api/residents/{resident_id}"));
    let mut pages = Vec::new();
    for (name, paths) in [
        ("map", map_page),
        ("meter", meter_page),
        ("resident", resident_page),
    ] {
        // The first view reads the histories it shows; the next ones find them cached.
        view(&http, &base, &paths).await?;
        let own = || app.index.stats.requests.load(Ordering::SeqCst);
        let (calls, requests) = (net.calls(), own());
        let mut times = Vec::new();
        for _ in 0..VIEWS {
            let t = Instant::now();
            view(&http, &base, &paths).await?;
            times.push(t.elapsed());
        }
        let spent = (net.calls() - calls).saturating_sub(own() - requests);
        times.sort();
        pages.push(Page {
            name,
            requests: paths.len(),
            times,
            calls_per_view: spent as f64 / VIEWS as f64,
        });
    }
    Ok(IndexFigures {
        meters,
        residents,
        setup,
        load,
        rss_before_kib,
        rss_after_kib,
        footprint_bytes,
        routes: timed,
        pages,
    })
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> Result<()> {
    let response = http
        .get(format!("{base}{path}"))
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let body = response.bytes().await?;
    ensure!(
        status.is_success(),
        "GET {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    Ok(())
}

/// One page view: its requests at once, as the page sends them.
async fn view(http: &reqwest::Client, base: &str, paths: &[String]) -> Result<()> {
    let http = Arc::new(http.clone());
    let mut set = tokio::task::JoinSet::new();
    for path in paths {
        let (http, base, path) = (http.clone(), base.to_string(), path.clone());
        set.spawn(async move { get(&http, &base, &path).await });
    }
    while let Some(done) = set.join_next().await {
        done??;
    }
    Ok(())
}
