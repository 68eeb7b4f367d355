//! Settlement at scale: for each community size, a fresh bank with the program, N meters
//! (1 producer to 4 consumers, one resident per 10 meters) reporting every hour, the SDK's
//! settlement batches cranking each epoch, and `close_epoch` returning its rent. Prints a
//! markdown table (stdout); progress goes to stderr.
//!
//! `cargo run --release -p energy-utility-bench --bin bench -- --sizes 10,100,1000,10000 --hours 24`

mod community;
mod net;
mod rng;
mod stdout;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};

use community::{Config, Outcome, LAMPORTS_PER_SIGNATURE, METERS_PER_RESIDENT};
use net::{SendMode, Shape};

#[derive(Parser)]
#[command(about = "Benchmark: N meters reporting hourly and settled by the crank, in a real bank")]
struct Args {
    /// Community sizes, in meters.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000,10000")]
    sizes: Vec<usize>,
    /// Hours (epochs) to simulate per size.
    #[arg(long, default_value_t = 24)]
    hours: u64,
    /// Fewer (or more) hours for one size: `--hours-for 10000=2`; repeatable.
    #[arg(long, value_parser = parse_hours_for)]
    hours_for: Vec<(usize, u64)>,
    /// Seed of the readings.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// How transactions reach the bank.
    #[arg(long, value_enum, default_value_t = SendMode::Join)]
    send: SendMode,
    /// Transactions signed under one blockhash and sent together.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// One relayer pays every report (2 signatures a report) instead of each gateway its own.
    #[arg(long)]
    relayer: bool,
    /// Keep the program's log lines (native mode prints them to stdout, before the table).
    #[arg(long)]
    program_logs: bool,
}

fn parse_hours_for(s: &str) -> Result<(usize, u64), String> {
    let (size, hours) = s
        .split_once('=')
        .ok_or_else(|| format!("expected SIZE=HOURS, got {s:?}"))?;
    let size = size
        .trim()
        .parse()
        .map_err(|e| format!("size {size:?}: {e}"))?;
    let hours = hours
        .trim()
        .parse()
        .map_err(|e| format!("hours {hours:?}: {e}"))?;
    Ok((size, hours))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.window > 0, "--window must be at least 1");
    let started = Instant::now();
    let silenced = if args.program_logs {
        None
    } else {
        Some(stdout::silence().context("point stdout at /dev/null")?)
    };
    let mut outcomes = Vec::new();
    for &meters in &args.sizes {
        let hours = args
            .hours_for
            .iter()
            .rev()
            .find(|(size, _)| *size == meters)
            .map_or(args.hours, |(_, hours)| *hours);
        anyhow::ensure!(hours > 0, "{meters} meters: at least one hour");
        eprintln!("{meters} meters, {hours} hours");
        let cfg = Config {
            meters,
            hours,
            seed: args.seed,
            relayer: args.relayer,
            mode: args.send,
            window: args.window,
        };
        let outcome = community::run(&cfg)
            .await
            .with_context(|| format!("{meters} meters"))?;
        eprintln!(
            "  done in {:.1} s (setup {:.1} s)",
            outcome.total.as_secs_f64(),
            outcome.setup.as_secs_f64(),
        );
        outcomes.push(outcome);
    }
    if let Some(silenced) = silenced {
        silenced.restore().context("restore stdout")?;
    }
    print_table(&args, &outcomes, started.elapsed());
    Ok(())
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

fn mean_max(times: &[Duration]) -> String {
    let total: Duration = times.iter().sum();
    let mean = total / times.len().max(1) as u32;
    let max = times.iter().max().copied().unwrap_or_default();
    format!("{} / {}", duration(mean), duration(max))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!("nproc {cores}, {model}")
}

fn print_table(args: &Args, outcomes: &[Outcome], total: Duration) {
    println!(
        "| Meters | Hours | Tx per epoch (reports + settle + close) | Readings per settle tx (avg / max) \
         | Largest tx (bytes / keys) | Lamports per meter-hour (fees + rent not returned) \
         | Report wall time per epoch (mean / max) | Settle wall time per epoch (mean / max) |"
    );
    println!("|---:|---:|---|---|---|---|---|---|");
    for o in outcomes {
        let largest: Shape = o.largest_report.max(o.largest_settle).max(o.largest_close);
        let meter_hours = (o.meters as u64 * o.hours) as f64;
        let per = |x: f64| {
            let v = x / meter_hours;
            if v >= 0.0 && v.fract() < 0.05 {
                thousands(v.round() as u64)
            } else {
                format!("{v:.1}")
            }
        };
        println!(
            "| {} | {} | {} ({} + {} + {}) | {:.1} / {} | {} / {} | {} ({} fees + {} rent) | {} | {} |",
            thousands(o.meters as u64),
            o.hours,
            thousands((o.report_txs_per_epoch + o.settle_txs_per_epoch + o.close_txs_per_epoch) as u64),
            thousands(o.report_txs_per_epoch as u64),
            o.settle_txs_per_epoch,
            o.close_txs_per_epoch,
            o.readings_settled as f64 / o.settle_txs.max(1) as f64,
            o.max_readings_per_settle,
            thousands(largest.bytes as u64),
            largest.keys,
            per(o.lamports_spent as f64),
            per(o.fees as f64),
            per(o.rent_not_returned as f64),
            mean_max(&o.report_times),
            mean_max(&o.settle_times),
        );
    }
    println!();
    let program = match energy_utility_bank::bpf_program_path() {
        Some(path) => format!("BPF ({})", path.display()),
        None => "native (host-compiled, compute units not metered)".to_string(),
    };
    let payer = if args.relayer {
        "One relayer pays every report (report = 2 signatures)"
    } else {
        "Each gateway pays its own report (report = 1 signature)"
    };
    println!(
        "Machine: {}. Program: {program}. Bank: solana-program-test 3.1.12, 64 account locks. \
         Send mode: `--send {}`, window {}. {payer}; the crank pays settle and close ({} lamports a signature). \
         One resident per {} meters; 1 producer per 4 consumers.",
        machine(),
        args.send
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string()),
        args.window,
        thousands(LAMPORTS_PER_SIGNATURE),
        METERS_PER_RESIDENT,
    );
    for o in outcomes {
        println!(
            "- {} meters × {} h: setup {} ({} transactions, untimed in the table), run {}; \
             largest report {} B / {} keys, settle {} B / {} keys; close_epoch {}; \
             {} Wh consumed; charged {} units = producers {} + fees {} + pool carry {}.",
            thousands(o.meters as u64),
            o.hours,
            duration(o.setup),
            thousands(o.setup_txs as u64),
            duration(o.total - o.setup),
            o.largest_report.bytes,
            o.largest_report.keys,
            o.largest_settle.bytes,
            o.largest_settle.keys,
            mean_max(&o.close_times),
            thousands(o.consumed_wh),
            thousands(o.charged_units),
            thousands(o.paid_units),
            thousands(o.fee_units),
            thousands(o.carry_units),
        );
    }
    println!(
        "Report time: signing, sending and confirming every meter's report of the epoch. Settle \
         time: the SDK's `plan_batches` + `settle_transaction`, signed and confirmed (consumer \
         batches pipelined, then the batch that charges the last consumers, then producer \
         batches pipelined); `close_epoch` is one more transaction, timed apart (above). \
         Lamports: measured drop of the crank's and the report payers' balances over the run; \
         fees = 5,000 × signatures; rent not returned = the rest (every epoch account is closed, \
         checked)."
    );
    if let Some(o) = outcomes.iter().find(|o| o.meters >= 10_000) {
        let worst = o.settle_times.iter().max().copied().unwrap_or_default();
        println!(
            "Issue target, {} meters settled in under 60 s: slowest epoch's settlement took {} ({}).",
            thousands(o.meters as u64),
            duration(worst),
            if worst < Duration::from_secs(60) { "met" } else { "NOT met" }
        );
    }
    println!("Total wall time: {:.1} s.", total.as_secs_f64());
}
