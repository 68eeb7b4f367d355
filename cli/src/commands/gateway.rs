//! `deu gateway`: the meter-side daemon. Each tick it reads the register, closes the previous
//! epoch into a reading when a new one began, sends every spooled reading, and applies the
//! chain's connection decision to the relay. Readings wait on disk while the cluster is
//! unreachable and are sent when it is back (within the epoch's grace window).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};
use clap::Args;
use energy_utility_sdk::amounts::format_kwh;
use energy_utility_sdk::{instructions, Client, SdkError};
use serde_json::json;

use crate::context::{load_grid, Globals};
use crate::gateway::spool::Observed;
use crate::gateway::{source, Actuator, MeterSource, Spool};

#[derive(Args)]
pub struct GatewayArgs {
    /// The meter this gateway reports for; sign with its gateway keypair (-k/--keypair)
    #[arg(long)]
    pub meter: String,
    /// Where the register comes from: simulated[:WATTS], file:PATH (kWh) or command:CMD (prints kWh)
    #[arg(long, default_value = "simulated")]
    pub source: String,
    /// What to do with the connection decision: log, or command:CMD (run with connect|disconnect)
    #[arg(long, default_value = "log")]
    pub actuator: String,
    /// Folder for the gateway's spool (readings not yet on chain)
    #[arg(long, default_value = "deu-gateway")]
    pub spool: PathBuf,
    /// Seconds between ticks
    #[arg(long, default_value_t = 10)]
    pub interval: u64,
    /// Run one tick and exit
    #[arg(long)]
    pub once: bool,
}

pub async fn run(globals: &Globals, args: GatewayArgs) -> anyhow::Result<()> {
    let mut source = source::parse(&args.source)?;
    let actuator = Actuator::parse(&args.actuator)?;
    let client = globals.client()?;
    let path = Spool::path(&args.spool, &args.meter);
    globals.output().progress(&format!(
        "gateway {}: {}, spool {}",
        args.meter,
        source.describe(),
        path.display()
    ));
    loop {
        let result = tick(globals, &client, &args, source.as_mut(), &actuator, &path).await;
        match result {
            Ok(()) if args.once => return Ok(()),
            Err(e) if args.once => return Err(e),
            Ok(()) => {}
            Err(e) => eprintln!("gateway {}: {e:#}", args.meter),
        }
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
}

fn wall_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn tick(
    globals: &Globals,
    client: &Client,
    args: &GatewayArgs,
    source: &mut dyn MeterSource,
    actuator: &Actuator,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let mut spool = Spool::load(path)?;
    let wall = wall_clock();
    // Online: learn the epoch from the cluster. Offline: from the clock offset it told us last.
    let online = async {
        let (grid_address, grid) = load_grid(globals, client).await?;
        let (meter, state) = client.meter(&grid_address, &args.meter).await?;
        if state.gateway != client.payer() {
            bail!(
                "meter '{}' reports with gateway key {}; this keypair is {}",
                args.meter,
                state.gateway,
                client.payer()
            );
        }
        let now = client.cluster_time().await?;
        anyhow::Ok((grid_address, grid, meter, now))
    }
    .await;
    let (epoch, now, chain) = match online {
        Ok((grid_address, grid, meter, now)) => {
            spool.clock_offset = now - wall;
            spool.genesis_ts = grid.genesis_ts;
            spool.epoch_seconds = grid.epoch_seconds;
            let epoch = grid
                .epoch_at(now)
                .map_err(|_| anyhow!("the cluster clock is before the grid's first epoch"))?;
            (epoch, now, Some((grid_address, meter)))
        }
        Err(e)
            if e.downcast_ref::<SdkError>()
                .is_some_and(|s| matches!(s, SdkError::Rpc(_))) =>
        {
            let epoch = spool.epoch_offline(wall).ok_or_else(|| {
                anyhow!("the cluster is unreachable and was never reached: {e:#}")
            })?;
            eprintln!(
                "gateway {}: cluster unreachable, spooling ({e:#})",
                args.meter
            );
            (epoch, wall + spool.clock_offset, None)
        }
        Err(e) => return Err(e),
    };

    let register = source.read_register_wh(now)?;
    match spool.observe(epoch, register) {
        Observed::ClosedAfterGap { reading, skipped } => eprintln!(
            "gateway {}: {skipped} epoch(s) passed unobserved; {} kWh go to epoch {}",
            args.meter,
            format_kwh(reading.wh),
            reading.epoch
        ),
        Observed::Reset { from_wh, to_wh } => eprintln!(
            "gateway {}: the register went back from {} to {} kWh; starting again",
            args.meter,
            format_kwh(from_wh),
            format_kwh(to_wh)
        ),
        Observed::Started | Observed::Same | Observed::Closed(_) => {}
    }
    // Write ahead: the reading is on disk before anything is sent.
    spool.save(path)?;

    let mut reported = Vec::new();
    let mut connected = spool.connected;
    let online = chain.is_some();
    if let Some((grid_address, meter)) = chain {
        while let Some(&next) = spool.pending.first() {
            let payer = client.payer();
            let ix =
                instructions::report(&payer, &payer, &grid_address, &meter, next.epoch, next.wh);
            match client.send(&[ix], &[]).await {
                Ok(_) => reported.push(json!({"epoch": next.epoch, "kwh": format_kwh(next.wh)})),
                // Sent before a crash or by another run: the chain has it, never count it twice.
                Err(e) if e.program_error_name() == Some("DuplicateReading") => {}
                Err(SdkError::Program(p)) => eprintln!(
                    "gateway {}: epoch {} reading of {} kWh dropped: {}",
                    args.meter,
                    next.epoch,
                    format_kwh(next.wh),
                    p.message
                ),
                Err(e) => {
                    eprintln!("gateway {}: will retry: {e}", args.meter);
                    break;
                }
            }
            spool.pending.remove(0);
            spool.save(path)?;
        }
        let (_, state) = client.meter(&grid_address, &args.meter).await?;
        connected = Some(state.connected);
    }
    if connected != spool.connected {
        if let Some(decision) = connected {
            actuator.apply(&args.meter, decision)?;
            spool.connected = Some(decision);
            spool.save(path)?;
        }
    }
    globals.output().print(
        json!({
            "meter": args.meter,
            "epoch": epoch,
            "register_kwh": format_kwh(register),
            "reported": reported,
            "pending": spool.pending.len(),
            "connected": spool.connected,
            "online": online,
        }),
        || {
            format!(
                "gateway {}: epoch {epoch}, register {} kWh, {} reported, {} waiting, relay {}",
                args.meter,
                format_kwh(register),
                reported.len(),
                spool.pending.len(),
                match spool.connected {
                    Some(true) => "connected",
                    Some(false) => "DISCONNECTED",
                    None => "unknown",
                }
            )
        },
    );
    Ok(())
}
