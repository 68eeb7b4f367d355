//! The meter-side daemon (`deu-gateway run`, or `deu gateway`). Each tick it reads the meter's cumulative register;
//! when an epoch closed it queues the register for that epoch (on disk first), reports it, and
//! applies the chain's connection decision to the relay. The chain turns registers into
//! readings, so a gateway that was down, or refused for a while, loses no energy: its next
//! report carries it. A refusal that may pass later (a paused grid, an unreachable cluster, an
//! expired blockhash) keeps the register and retries with backoff; only a refusal that can
//! never pass (the chain already has that epoch, the register went back, the meter retired)
//! ends it, logged with the reason. With no decision from the chain for longer than the grace
//! window, a consumer's relay opens (`--fail-safe open`, the default).
//!
//! The host's wall clock is not trusted to tell the chain's epoch: out of reach, the epoch is
//! bounded by the chain's clock at the last contact plus the monotonic time since, and a spool
//! holding an epoch the chain has not reached is discarded when the chain answers (both
//! logged, "… which the chain has not reached …"; see `gateway/spool.rs`).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, ValueEnum};
use energy_utility_sdk::amounts::format_kwh;
use energy_utility_sdk::{instructions, Client, SdkError};
use serde::Serialize;

use energy_utility_sdk::accounts::Grid;
use energy_utility_sdk::views::Reported;

use crate::clock::Monotonic;
use crate::source::Registers;
use crate::spool::{Observed, Pending, Unwrapped};
use crate::{source, Actuator, Connection, MeterSource, Spool};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailSafe {
    /// Open a consumer's relay when the chain has not decided for longer than the grace window
    Open,
    /// Keep the relay as the chain last decided
    Hold,
}

#[derive(Args)]
#[command(after_long_help = "\
The host's clock. The epoch comes from the cluster. While the cluster is out of reach it is
told from the clock offset the cluster gave last, but never beyond the chain's clock at the
last contact plus the time the host's monotonic clock counted since (plus 60 s; after a reboot,
the last contact's epoch until the cluster answers). A wall clock that jumps ahead therefore
never queues a register for an epoch the chain has not reached; the gateway logs:
  gateway METER: the host's clock says epoch N, which the chain has not reached (…):
  is the host's clock ahead? Counting epoch M until the cluster answers; …
A spool that holds such an epoch (left by an older version) is discarded as soon as the
cluster answers, and reads go on from the latest closed epoch the chain has no report for:
  gateway METER: discarded the spooled register X kWh for epoch N (read in epoch N+1),
  which the chain has not reached: it is in epoch M. Was the host's clock ahead? …
Registers are cumulative: the next register carries that energy; nothing is lost or counted
twice, and the meter is never left silent.")]
pub struct GatewayArgs {
    /// The meter this gateway reports for; sign with its gateway keypair (-k/--keypair)
    #[arg(long, env = "DEU_METER")]
    pub meter: String,
    /// Where the register comes from: simulated[:WATTS], file:PATH (kWh) or command:CMD (prints kWh)
    #[arg(long, default_value = "simulated", env = "DEU_SOURCE")]
    pub source: String,
    /// What to do with the connection decision: log, or command:CMD (run with connect|disconnect)
    #[arg(long, default_value = "log", env = "DEU_ACTUATOR")]
    pub actuator: String,
    /// Folder for the gateway's spool (the register not yet on chain)
    #[arg(long, default_value = "deu-gateway", env = "DEU_SPOOL")]
    pub spool: PathBuf,
    /// Seconds between ticks
    #[arg(long, default_value_t = 10, env = "DEU_INTERVAL")]
    pub interval: u64,
    /// What a consumer's relay does when the chain cannot be reached for longer than the grace window
    #[arg(long, value_enum, default_value = "open", env = "DEU_FAIL_SAFE")]
    pub fail_safe: FailSafe,
    /// Run one tick and exit (trying a kept register at once, whatever the backoff)
    #[arg(long)]
    pub once: bool,
    /// The register's width, in kWh, for a meter whose register wraps (e.g. 99999.9 or
    /// 999999.99): a fall is taken as a wrap when the energy it implies fits the meter's
    /// capacity since the last read; any other fall is a reset, reported and never billed.
    /// A Modbus register map may give it instead
    #[arg(long, env = "DEU_ROLLOVER_KWH")]
    pub rollover_kwh: Option<String>,
    /// Answer Prometheus scrapes on this address (GET /metrics, /healthz), e.g.
    /// 127.0.0.1:9102: the last report's age, the spool's depth, reports by outcome, retries,
    /// failed ticks, the relay's state
    #[arg(long, env = "DEU_METRICS", value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
}

/// The gateway's metrics (see `--metrics`).
fn metrics() -> &'static energy_utility_sdk::metrics::Registry {
    static METRICS: std::sync::LazyLock<energy_utility_sdk::metrics::Registry> =
        std::sync::LazyLock::new(energy_utility_sdk::metrics::Registry::new);
    &METRICS
}

/// Wall time (unix seconds) of the last report the chain took; 0 before the first.
static LAST_REPORT_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Counts one report's outcome.
fn count_report(outcome: &str) {
    metrics().count(
        "deu_gateway_reports_total",
        "Reports sent, by what the chain said: reported, dropped (never passes), retry (kept), late.",
        &[("outcome", outcome)],
        1,
    );
}

pub async fn run(connection: &Connection, args: GatewayArgs) -> anyhow::Result<()> {
    let mut source = source::parse(&args.source)?;
    let actuator = Actuator::parse(&args.actuator)?;
    let client = connection.client()?;
    let path = Spool::path(&args.spool, &args.meter);
    if !connection.json {
        tracing::info!(target: "deu",
            "gateway {}: {}, spool {}",
            args.meter,
            source.describe(),
            path.display()
        );
    }
    if let Some(address) = args.metrics {
        let bound = energy_utility_sdk::metrics::serve(address, metrics().clone(), |m| {
            let last = LAST_REPORT_AT.load(std::sync::atomic::Ordering::Relaxed);
            if last > 0 {
                m.set(
                    "deu_gateway_last_report_age_seconds",
                    "Seconds since the chain last took this gateway's report.",
                    &[],
                    (wall_clock() - last).max(0) as f64,
                );
            }
        })?;
        tracing::info!(target: "deu", "gateway {}: metrics on http://{bound}/metrics", args.meter);
    }
    loop {
        let result = tick(
            connection,
            &client,
            &args,
            source.as_mut(),
            &actuator,
            &path,
        )
        .await;
        if result.is_err() {
            metrics().count(
                "deu_gateway_failed_ticks_total",
                "Ticks that ended early (a failed read, an unreachable cluster never reached, …).",
                &[],
                1,
            );
        }
        match result {
            Ok(()) if args.once => return Ok(()),
            Err(e) if args.once => return Err(e),
            Ok(()) => {}
            Err(e) => tracing::info!(target: "deu", "gateway {}: {e:#}", args.meter),
        }
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
}

fn wall_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What the chain said to one report.
enum Outcome {
    /// Taken: a reading, or kept as the meter's register for a later reading.
    Reported,
    /// It can never pass; the energy goes with the next report.
    Dropped(String),
    /// Not now: keep it and retry later.
    Retry(String),
    /// Its epoch closed meanwhile: send it for the current epoch instead.
    Late,
}

fn judge(result: Result<String, SdkError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Reported,
        Err(e) => match e.program_error_name() {
            Some("EpochClosedForReports") => Outcome::Late,
            Some("DuplicateReading") | Some("ReadingOutOfOrder") => {
                Outcome::Dropped("the chain already has a report for that epoch".into())
            }
            Some("RegisterWentBackwards") => Outcome::Dropped(
                "the register is below what the chain holds; if the meter was replaced, the utility records the new one (deu meter replace)".into(),
            ),
            Some("ReadingOverCapacity") | Some("ReadingOverLimit") => Outcome::Dropped(format!(
                "{e}: check the meter (its energy goes with the next report)"
            )),
            Some("MeterInactive") => Outcome::Dropped("the meter is retired".into()),
            Some("ReportBothRegisters") | Some("NotAProsumerPair") => Outcome::Dropped(
                "the meter is one side of a prosumer's meter: the next read reports both registers".into(),
            ),
            // A paused grid, a clock ahead of the chain's, an unreachable or busy cluster.
            _ => Outcome::Retry(e.to_string()),
        },
    }
}

/// The grid this gateway reports to, with a clear error when it does not exist.
async fn load_grid(
    connection: &Connection,
    client: &Client,
) -> anyhow::Result<(anchor_lang::prelude::Pubkey, Grid)> {
    match client.grid(&connection.grid).await {
        Ok(found) => Ok(found),
        Err(SdkError::NotFound { .. }) => bail!(
            "grid '{}' does not exist on {} (pass --grid NAME)",
            connection.grid,
            connection.rpc_url
        ),
        Err(e) => Err(e.into()),
    }
}

async fn tick(
    connection: &Connection,
    client: &Client,
    args: &GatewayArgs,
    source: &mut dyn MeterSource,
    actuator: &Actuator,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let (mut spool, aside) = Spool::load(path)?;
    if let Some(aside) = aside {
        tracing::warn!(target: "deu",
            "gateway {}: the spool {} was damaged; set aside as {} and started afresh (the chain keeps the register, so no energy is lost)",
            args.meter,
            path.display(),
            aside.display()
        );
    }
    let wall = wall_clock();
    let monotonic = Monotonic::now();
    spool.forget_future_decision(wall);
    // Online: learn the epoch from the cluster. Offline: from the clock offset it told us last,
    // bounded by the monotonic clock.
    let online = async {
        let (grid_address, grid) = load_grid(connection, client).await?;
        let (meter, state) = client.meter(&grid_address, &args.meter).await?;
        // A prosumer's meter is two: its import side and its export side, reported together.
        let prosumer = (state.partner != anchor_lang::prelude::Pubkey::default()).then(|| {
            if state.is_consumer() {
                instructions::ProsumerMeters {
                    import: meter,
                    export: state.partner,
                }
            } else {
                instructions::ProsumerMeters {
                    import: state.partner,
                    export: meter,
                }
            }
        });
        let capacity_w = state.capacity_w;
        if state.gateway != client.payer() {
            bail!(
                "meter '{}' reports with gateway key {}; this keypair is {}",
                args.meter,
                state.gateway,
                client.payer()
            );
        }
        let now = client.cluster_time().await?;
        let last_reported = state.has_reported.then_some(state.last_reported_epoch);
        anyhow::Ok((
            grid_address,
            grid,
            meter,
            state.is_consumer() || prosumer.is_some(),
            last_reported,
            now,
            prosumer,
            capacity_w,
        ))
    }
    .await;
    let (epoch, now, chain) = match online {
        Ok((grid_address, grid, meter, consumer, last_reported, now, prosumer, capacity_w)) => {
            spool.contact(now, wall, monotonic);
            spool.capacity_w = Some(capacity_w);
            spool.prosumer = prosumer.is_some();
            spool.genesis_ts = grid.genesis_ts;
            spool.epoch_seconds = grid.epoch_seconds;
            let epoch = grid
                .epoch_at(now)
                .map_err(|_| anyhow!("the cluster clock is before the grid's first epoch"))?;
            spool.grace_seconds = grid.params_for(epoch).grace_seconds;
            spool.consumer = Some(consumer);
            if let Some(discarded) = spool.discard_future(epoch, last_reported) {
                tracing::warn!(target: "deu", "gateway {}: {discarded}", args.meter);
            }
            (epoch, now, Some((grid_address, meter, prosumer)))
        }
        Err(e)
            if e.downcast_ref::<SdkError>()
                .is_some_and(|s| matches!(s, SdkError::Rpc(_))) =>
        {
            let offline = spool.offline(wall, &monotonic).ok_or_else(|| {
                anyhow!("the cluster is unreachable and was never reached: {e:#}")
            })?;
            tracing::warn!(target: "deu",
                "gateway {}: cluster unreachable, keeping the register ({e:#})",
                args.meter
            );
            if let Some(ahead) = offline.ahead {
                tracing::warn!(target: "deu", "gateway {}: {ahead}", args.meter);
            }
            (offline.epoch, offline.now, None)
        }
        Err(e) => return Err(e),
    };

    // A failed read is never a guess: the tick ends here with the reason (logged by `run`),
    // and the next read's register carries the energy.
    let registers = source.read(now).with_context(|| {
        format!(
            "reading {} failed; skipping this tick (the next read carries its energy)",
            source.describe()
        )
    })?;
    let (raw, raw_export) = match (spool.prosumer, registers) {
        (true, Registers::Both { import_wh, export_wh }) => (import_wh, Some(export_wh)),
        (true, Registers::One(_)) => bail!(
            "meter '{}' is one side of a prosumer's meter: its source must read both registers (import and export), {} reads one",
            args.meter,
            source.describe()
        ),
        (false, registers) => (registers.for_kind(spool.consumer.unwrap_or(true)), None),
    };
    let rollover_wh = match &args.rollover_kwh {
        Some(kwh) => Some(
            energy_utility_sdk::amounts::parse_kwh(kwh)
                .map_err(|e| anyhow!("--rollover-kwh: {e}"))?,
        ),
        None => source.rollover_wh(),
    };
    let plausible = spool.plausible_wh(epoch);
    let register = unwrap(
        &args.meter,
        "register",
        spool.wrap.take(raw, rollover_wh, plausible),
    );
    let export = raw_export.map(|raw| {
        unwrap(
            &args.meter,
            "export register",
            spool.export_wrap.take(raw, rollover_wh, plausible),
        )
    });
    match spool.observe_both(epoch, register, export) {
        Observed::Closed { pending, skipped } if skipped > 0 => tracing::info!(target: "deu",
            "gateway {}: {skipped} epoch(s) passed unobserved; register {} kWh goes to epoch {}, covering them",
            args.meter,
            format_kwh(pending.register_wh),
            pending.epoch
        ),
        Observed::WentBack { from_wh, to_wh } => tracing::warn!(target: "deu",
            "gateway {}: the register went back from {} to {} kWh: the chain refuses it until the utility records the new meter (deu meter replace)",
            args.meter,
            format_kwh(from_wh),
            format_kwh(to_wh)
        ),
        _ => {}
    }
    // Write ahead: the register is on disk before anything is sent.
    spool.save(path)?;

    let mut reported = Vec::new();
    let online = chain.is_some();
    if let Some((grid_address, meter, prosumer)) = chain {
        // A single tick (--once) is a deliberate try: it does not wait out the backoff.
        if let Some(pending) = spool.pending.filter(|_| args.once || spool.may_send(wall)) {
            let send = |p: Pending| {
                let payer = client.payer();
                let ix = match (prosumer, p.export_wh) {
                    (Some(meters), Some(export_wh)) => instructions::report_prosumer(
                        &payer,
                        &payer,
                        &grid_address,
                        &meters,
                        p.epoch,
                        p.register_wh,
                        export_wh,
                    ),
                    _ => instructions::report(
                        &payer,
                        &payer,
                        &grid_address,
                        &meter,
                        p.epoch,
                        p.register_wh,
                    ),
                };
                async move { client.send_without_events(&[ix], &[]).await }
            };
            let mut target = pending;
            let mut outcome = judge(send(target).await);
            if matches!(outcome, Outcome::Late) && target.epoch < epoch {
                // Its epoch closed while it waited: the open epoch takes it (and the hours since).
                target.epoch = epoch;
                outcome = judge(send(target).await);
            }
            match outcome {
                Outcome::Reported => {
                    match (prosumer, target.export_wh) {
                        (Some(meters), Some(export_wh)) => {
                            let import = client.meter_at(&meters.import).await?;
                            let export = client.meter_at(&meters.export).await?;
                            reported.push(Reported::new(&import, target.epoch, target.register_wh));
                            reported.push(Reported::new(&export, target.epoch, export_wh));
                        }
                        _ => {
                            let (_, state) = client.meter(&grid_address, &args.meter).await?;
                            reported.push(Reported::new(&state, target.epoch, target.register_wh));
                        }
                    }
                    spool.sent();
                    count_report("reported");
                    LAST_REPORT_AT.store(wall, std::sync::atomic::Ordering::Relaxed);
                }
                Outcome::Dropped(reason) => {
                    count_report("dropped");
                    tracing::warn!(target: "deu",
                        "gateway {}: register {} kWh for epoch {} not reported: {reason}",
                        args.meter,
                        format_kwh(target.register_wh),
                        target.epoch
                    );
                    spool.sent();
                }
                Outcome::Retry(reason) => {
                    count_report("retry");
                    spool.back_off(wall);
                    tracing::warn!(target: "deu",
                        "gateway {}: register {} kWh for epoch {} kept, retrying in {} s: {reason}",
                        args.meter,
                        format_kwh(target.register_wh),
                        target.epoch,
                        spool.retry_delay_secs
                    );
                }
                Outcome::Late => {
                    count_report("late");
                    spool.back_off(wall);
                    tracing::warn!(target: "deu",
                        "gateway {}: epoch {} is closed and the next has not begun; retrying",
                        args.meter, target.epoch
                    );
                }
            }
            spool.save(path)?;
        }
        let (_, state) = client.meter(&grid_address, &args.meter).await?;
        spool.decided_at = Some(wall);
        apply(actuator, &args.meter, &mut spool, state.connected, "")?;
    } else if args.fail_safe == FailSafe::Open && spool.fail_safe_due(wall) {
        apply(
            actuator,
            &args.meter,
            &mut spool,
            false,
            " (fail-safe: no decision from the chain for longer than the grace window)",
        )?;
    }
    spool.save(path)?;
    let m = metrics();
    m.set(
        "deu_gateway_spool_depth",
        "Registers kept in the spool, not yet on chain (0 or 1: the latest carries the energy).",
        &[],
        f64::from(u8::from(spool.pending.is_some())),
    );
    m.set(
        "deu_gateway_retry_delay_seconds",
        "How long a kept register waits before its next try.",
        &[],
        spool.retry_delay_secs as f64,
    );
    if let Some(connected) = spool.connected {
        m.set(
            "deu_gateway_relay_connected",
            "The relay's state: 1 connected, 0 disconnected.",
            &[],
            f64::from(u8::from(connected)),
        );
    }
    m.count("deu_gateway_ticks_total", "Ticks run.", &[], 1);
    connection.show(&Tick {
        meter: args.meter.clone(),
        epoch,
        register_kwh: format_kwh(register),
        reported,
        pending: usize::from(spool.pending.is_some()),
        connected: spool.connected,
        online,
    });
    Ok(())
}

/// One tick of the gateway: the meter's register, what it reported, what still waits, and the
/// relay as the chain (or the fail-safe) last set it.
#[derive(Serialize)]
struct Tick {
    meter: String,
    epoch: u64,
    register_kwh: String,
    reported: Vec<Reported>,
    pending: usize,
    connected: Option<bool>,
    online: bool,
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gateway {}: epoch {}, register {} kWh, {} reported, {} waiting, relay {}",
            self.meter,
            self.epoch,
            self.register_kwh,
            self.reported.len(),
            self.pending,
            match self.connected {
                Some(true) => "connected",
                Some(false) => "DISCONNECTED",
                None => "unknown",
            }
        )
    }
}

/// Tells what a raw register read became, when it wrapped or reset.
fn unwrap(meter: &str, which: &str, read: Unwrapped) -> u64 {
    match read {
        Unwrapped::Counted(wh) => wh,
        Unwrapped::Wrapped {
            wh,
            from_raw_wh,
            to_raw_wh,
        } => {
            tracing::info!(target: "deu",
                "gateway {meter}: the {which} wrapped from {} to {} kWh at its width; counting on at {} kWh",
                format_kwh(from_raw_wh),
                format_kwh(to_raw_wh),
                format_kwh(wh)
            );
            wh
        }
        Unwrapped::Reset {
            wh,
            from_raw_wh,
            to_raw_wh,
        } => {
            tracing::warn!(target: "deu",
                "gateway {meter}: the {which} went back from {} to {} kWh, more than a wrap within the meter's capacity explains: a reset or a new meter. It is not billed; the utility records the new register (deu meter replace)",
                format_kwh(from_raw_wh),
                format_kwh(to_raw_wh)
            );
            wh
        }
    }
}

/// Drives the relay when the decision changed.
fn apply(
    actuator: &Actuator,
    meter: &str,
    spool: &mut Spool,
    connected: bool,
    why: &str,
) -> anyhow::Result<()> {
    if spool.connected != Some(connected) {
        if !why.is_empty() {
            tracing::info!(target: "deu",
                "gateway {meter}: relay {}{why}",
                if connected { "closed" } else { "opened" }
            );
        }
        actuator.apply(meter, connected)?;
        spool.connected = Some(connected);
    }
    Ok(())
}
