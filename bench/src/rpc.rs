//! Report ingestion through JSON-RPC, as users measure other chains' local clusters: the local
//! cluster behind `deu localnet` runs in this process on a fresh ledger; a grid of N meters is
//! set up through it; then every meter's gateway signs its report and sends it over HTTP
//! (`sendTransaction`, preflight on, as stock clients send), `gateways` at once, while one
//! watcher confirms them with `getSignatureStatuses`. Timed from the first report sent to the
//! last confirmed; the epoch account then shows every reading recorded.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{bail, ensure, Context, Result};
use energy_utility_localnet::LocalnetConfig;
use energy_utility_sdk::accounts::MeterKind;
use energy_utility_sdk::instructions::{InitializeGridArgs, RegisterMeterArgs};
use energy_utility_sdk::{instructions as ix, pda, Client};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use tokio::sync::mpsc;

use crate::net::{landed, pack, sift, Net};
use crate::rng::SplitMix64;

const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
/// What each gateway is given for its report's fee (and, for the first, the epoch's rent).
const GATEWAY_LAMPORTS: u64 = LAMPORTS_PER_SOL / 100;
/// How long every report may take to be confirmed before the run fails.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(600);
/// A blockhash lasts 150 blocks of 400 ms; senders take a fresh one well before.
const BLOCKHASH_AGE: Duration = Duration::from_secs(20);
/// `getSignatureStatuses` takes at most 256 signatures.
const STATUSES_PER_REQUEST: usize = 256;

/// When the gateways sign their reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Signing {
    /// Every report built and signed before the clock starts: what the timed part measures is
    /// the cluster's work (in the field each gateway signs on its own board; here the
    /// benchmark's gateways would share the cluster's two cores).
    Ahead,
    /// Each gateway builds and signs its next report as it goes, inside the timed part.
    Inline,
}

/// What one ingestion run measured.
pub struct Ingestion {
    pub meters: usize,
    pub wall: Duration,
}

pub async fn ingest(
    meters: usize,
    gateways: usize,
    signing: Signing,
    seed: u64,
) -> Result<Ingestion> {
    ensure!(meters > 0, "at least one meter");
    ensure!(gateways > 0, "--rpc-gateways must be at least 1");
    let (net, ledger) = fresh_localnet("rpc", meters).await?;
    let outcome = run(&net.rpc_url(), meters, gateways, signing, seed).await;
    stop_localnet(net, &ledger).await?;
    outcome
}

/// The local cluster behind `deu localnet`, in this process, on a fresh ledger of its own.
pub(crate) async fn fresh_localnet(
    what: &str,
    meters: usize,
) -> Result<(energy_utility_localnet::Localnet, std::path::PathBuf)> {
    let ledger =
        std::env::temp_dir().join(format!("deu-bench-{what}-{}-{meters}", std::process::id()));
    let bind: SocketAddr = "127.0.0.1:0".parse().context("loopback address")?;
    let net = energy_utility_localnet::start(LocalnetConfig::new(ledger.clone(), true, bind))
        .await
        .context("start the local cluster")?;
    Ok((net, ledger))
}

/// Stops a [`fresh_localnet`] and removes its ledger.
pub(crate) async fn stop_localnet(
    net: energy_utility_localnet::Localnet,
    ledger: &std::path::Path,
) -> Result<()> {
    let stopped = net.shutdown().await;
    let _ = std::fs::remove_dir_all(ledger);
    stopped.context("stop the local cluster")
}

pub(crate) struct Gateway {
    meter: Pubkey,
    key: Keypair,
    register_wh: u64,
}

async fn run(
    url: &str,
    meters: usize,
    gateways: usize,
    signing: Signing,
    seed: u64,
) -> Result<Ingestion> {
    let started = Instant::now();
    let admin = Keypair::new();
    let client = Client::new(url, admin.insecure_clone());
    let rpc = Arc::new(RpcClient::new(url.to_string()));
    let admin_lamports = 100 * LAMPORTS_PER_SOL + meters as u64 * (GATEWAY_LAMPORTS * 2);
    client
        .airdrop(&admin.pubkey(), admin_lamports)
        .await
        .context("airdrop to the admin")?;

    let name = "bench-rpc";
    let grid = pda::grid(name);
    let fleet = setup_grid(&client, &rpc, &admin, name, meters, 1, seed).await?;

    // Each gateway gets lamports for its report: transfers are independent, sent concurrently.
    let transfers: Vec<Instruction> = fleet
        .iter()
        .map(|g| {
            solana_system_interface::instruction::transfer(
                &admin.pubkey(),
                &g.key.pubkey(),
                GATEWAY_LAMPORTS,
            )
        })
        .collect();
    let blockhash = rpc.get_latest_blockhash().await?;
    let txs = pack(transfers, &admin.pubkey())?
        .iter()
        .map(|group| Net::sign(group, &admin, &[], blockhash).map(|(tx, _)| tx))
        .collect::<Result<Vec<_>>>()?;
    let mut signatures = Vec::with_capacity(txs.len());
    for tx in &txs {
        signatures.push(send(&rpc, tx, true).await?);
    }
    confirm(&rpc, signatures)
        .await
        .context("fund the gateways")?;
    eprintln!(
        "  setup through JSON-RPC: {meters} meters in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Every gateway reports the hour now open.
    let (_, state) = client.grid(name).await.context("read the grid")?;
    let now = client.cluster_time().await.context("read the clock")?;
    let epoch = state.epoch_at(now).context("the grid's current epoch")?;
    let fleet = Arc::new(fleet);
    let sign = move |g: &Gateway, blockhash| {
        let report = ix::report(
            &g.key.pubkey(),
            &g.key.pubkey(),
            &grid,
            &g.meter,
            epoch,
            g.register_wh,
        );
        Net::sign(&[report], &g.key, &[], blockhash).map(|(tx, _)| tx)
    };
    // Signed ahead: every report, under one blockhash (valid for a minute, far longer than
    // the run), each gateway's share kept for it.
    let mut signed: Vec<Vec<VersionedTransaction>> = Vec::new();
    if signing == Signing::Ahead {
        let blockhash = rpc.get_latest_blockhash().await?;
        for first in 0..gateways.min(meters) {
            signed.push(
                fleet
                    .iter()
                    .skip(first)
                    .step_by(gateways)
                    .map(|g| sign(g, blockhash))
                    .collect::<Result<_>>()?,
            );
        }
    }
    let mut signed = signed.into_iter();
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<Signature>();
    let t = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for first in 0..gateways.min(meters) {
        let fleet = Arc::clone(&fleet);
        let rpc = Arc::clone(&rpc);
        let sent = sent_tx.clone();
        let ahead = signed.next();
        senders.spawn(async move {
            if let Some(reports) = ahead {
                for tx in &reports {
                    let signature = send(&rpc, tx, false).await?;
                    sent.send(signature).context("the watcher stopped")?;
                }
                return anyhow::Ok(());
            }
            let mut blockhash = (rpc.get_latest_blockhash().await?, Instant::now());
            for g in fleet.iter().skip(first).step_by(gateways) {
                if blockhash.1.elapsed() > BLOCKHASH_AGE {
                    blockhash = (rpc.get_latest_blockhash().await?, Instant::now());
                }
                let tx = sign(g, blockhash.0)?;
                let signature = send(&rpc, &tx, false).await?;
                sent.send(signature).context("the watcher stopped")?;
            }
            anyhow::Ok(())
        });
    }
    drop(sent_tx);
    // The watcher: confirms what the gateways sent, as it arrives.
    let mut pending: VecDeque<Signature> = VecDeque::new();
    let mut confirmed = 0;
    let mut open = true;
    while confirmed < meters {
        while let Ok(signature) = sent_rx.try_recv() {
            pending.push_back(signature);
        }
        if open && pending.is_empty() {
            match sent_rx.recv().await {
                Some(signature) => pending.push_back(signature),
                None => open = false,
            }
        }
        if !open && pending.is_empty() {
            break;
        }
        let batch: Vec<Signature> = pending.iter().take(STATUSES_PER_REQUEST).copied().collect();
        let statuses = rpc
            .get_signature_statuses(&batch)
            .await
            .context("getSignatureStatuses")?
            .value;
        let mut landed = HashSet::new();
        for (signature, status) in batch.iter().zip(statuses) {
            if let Some(status) = status {
                if let Some(err) = status.err {
                    bail!("report {signature} failed: {err}");
                }
                landed.insert(*signature);
            }
        }
        if landed.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        pending.retain(|signature| !landed.contains(signature));
        confirmed += landed.len();
        if t.elapsed() > CONFIRM_TIMEOUT {
            bail!("{} reports were not confirmed in time", meters - confirmed);
        }
    }
    while let Some(joined) = senders.join_next().await {
        joined.context("join a gateway")??;
    }
    let wall = t.elapsed();
    ensure!(
        confirmed == meters,
        "{confirmed} of {meters} reports confirmed"
    );

    // Every reading is on chain.
    let state = client
        .epoch(&grid, epoch)
        .await?
        .context("the epoch account")?;
    let recorded = state.consumer_readings as usize + state.producer_readings as usize;
    ensure!(
        recorded == meters,
        "the epoch recorded {recorded} readings of {meters} reports"
    );
    eprintln!(
        "  {meters} reports through JSON-RPC in {:.2} s ({:.0} per s), {recorded} readings on chain",
        wall.as_secs_f64(),
        meters as f64 / wall.as_secs_f64()
    );
    Ok(Ingestion { meters, wall })
}

/// A grid named `name` with `residents` residents (`r0`, `r1`, …) and `meters` meters (`m0`,
/// `m1`, …, owned round robin, placed on a square of streets), set up through JSON-RPC in as
/// few transactions as fit; returns each meter's gateway.
pub(crate) async fn setup_grid(
    client: &Client,
    rpc: &RpcClient,
    admin: &Keypair,
    name: &str,
    meters: usize,
    residents: usize,
    seed: u64,
) -> Result<Vec<Gateway>> {
    ensure!(residents > 0, "at least one resident");
    let grid = pda::grid(name);
    let args = InitializeGridArgs {
        notice_seconds: 0,
        ..InitializeGridArgs::with_defaults(name, admin.pubkey())
    };
    client
        .send(&[ix::initialize_grid(&admin.pubkey(), args)], &[])
        .await
        .context("create the grid")?;
    let enrolments: Vec<Instruction> = (0..residents)
        .map(|i| {
            ix::register_resident(
                &admin.pubkey(),
                &admin.pubkey(),
                &grid,
                i as u32,
                &format!("r{i}"),
            )
        })
        .collect();
    send_in_order(rpc, admin, enrolments, "residents").await?;

    let mut rng = SplitMix64::new(seed ^ meters as u64);
    let fleet: Vec<Gateway> = (0..meters)
        .map(|i| Gateway {
            meter: pda::meter(&grid, &format!("m{i}")),
            key: Keypair::new(),
            register_wh: rng.range(100, 1_000),
        })
        .collect();
    let side = (meters as f64).sqrt().ceil() as usize;
    // Meters take the grid's counter as their index: sent one after another, in order.
    let registrations: Vec<Instruction> = fleet
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let producer = i % 5 == 4;
            let kind = if producer {
                MeterKind::Producer
            } else {
                MeterKind::Household
            };
            let args = RegisterMeterArgs {
                meter_id: format!("m{i}"),
                kind,
                gateway: g.key.pubkey(),
                label: String::new(),
                latitude_micro: 45_500_000 + (i / side) as i32 * 100,
                longitude_micro: -73_500_000 + (i % side) as i32 * 100,
                capacity_w: energy_utility_sdk::meters::default_capacity_w(kind),
                register_wh: 0,
            };
            let owner = pda::resident(&grid, &format!("r{}", i % residents));
            ix::register_meter(&admin.pubkey(), &grid, &owner, i as u32, args)
        })
        .collect();
    send_in_order(rpc, admin, registrations, "meters").await?;
    Ok(fleet)
}

/// Sends `instructions` packed into transactions, in order (each skipping preflight), and
/// waits until all have landed.
async fn send_in_order(
    rpc: &RpcClient,
    admin: &Keypair,
    instructions: Vec<Instruction>,
    what: &str,
) -> Result<()> {
    let total = instructions.len();
    let groups = pack(instructions, &admin.pubkey())?;
    let mut signatures = Vec::with_capacity(groups.len());
    let mut blockhash = (rpc.get_latest_blockhash().await?, Instant::now());
    let mut done = 0;
    for (n, group) in groups.iter().enumerate() {
        if blockhash.1.elapsed() > BLOCKHASH_AGE {
            blockhash = (rpc.get_latest_blockhash().await?, Instant::now());
        }
        let (tx, _) = Net::sign(group, admin, &[], blockhash.0)?;
        signatures.push(send(rpc, &tx, true).await?);
        done += group.len();
        if n % 1_000 == 999 {
            eprintln!("  registered {done} of {total} {what}");
        }
    }
    confirm(rpc, signatures)
        .await
        .with_context(|| format!("register {what}"))
}

/// `sendTransaction`; with `skip_preflight` the outcome is only known from its status.
async fn send(
    rpc: &RpcClient,
    tx: &VersionedTransaction,
    skip_preflight: bool,
) -> Result<Signature> {
    rpc.send_transaction_with_config(
        tx,
        RpcSendTransactionConfig {
            skip_preflight,
            ..RpcSendTransactionConfig::default()
        },
    )
    .await
    .context("sendTransaction")
}

/// Waits until every signature has landed, failing on the first that failed.
async fn confirm(rpc: &RpcClient, signatures: Vec<Signature>) -> Result<()> {
    let started = Instant::now();
    let mut pending = signatures;
    while !pending.is_empty() {
        let mut still = Vec::new();
        for chunk in pending.chunks(STATUSES_PER_REQUEST) {
            let statuses = rpc
                .get_signature_statuses(chunk)
                .await
                .context("getSignatureStatuses")?
                .value;
            sift(
                chunk,
                statuses,
                |s| s.err.as_ref().map(|e| e.to_string()),
                &mut still,
            )?;
        }
        if landed(&still, started, CONFIRM_TIMEOUT)? {
            break;
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
