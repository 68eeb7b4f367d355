//! Settlement at scale: for each community size, a fresh bank with the program, N meters
//! (1 producer to 4 consumers, one resident per 10 meters) reporting every hour, the SDK's
//! settlement batches cranking each epoch, and `close_epoch` returning its rent. Prints a
//! markdown table (stdout); progress goes to stderr.
//!
//! Settlement goes through v0 transactions over the grid's lookup tables (`--settle v0`, the
//! default) or legacy ones (`--settle legacy`); `--compare-legacy` runs every size both ways,
//! side by side, and `--alternate` settles one community's epochs both ways in turn, for a
//! comparison the machine's drift does not bias. `--rpc-sizes` adds report ingestion through a
//! local cluster's JSON-RPC, and `--index-sizes` the index behind `deu serve`'s pages.
//!
//! `cargo run --profile benchmark -p energy-utility-bench --bin bench -- --sizes 10,100,1000,10000 --hours 24`

mod community;
mod index;
mod net;
mod rng;
mod rpc;
mod stdout;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};

use community::{Config, Outcome, SettlePath, LAMPORTS_PER_SIGNATURE, METERS_PER_RESIDENT};
use net::SendMode;

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
    /// How settlement transactions name the meters.
    #[arg(long, value_enum, default_value_t = SettlePath::V0)]
    settle: SettlePath,
    /// Run every size twice, v0 over lookup tables then legacy, and compare their settlement.
    #[arg(long)]
    compare_legacy: bool,
    /// Settle one community's epochs alternately in v0 and legacy transactions (v0, legacy,
    /// legacy, v0, and again) and compare the paths' median settlement times: a drift of the
    /// machine's speed during the run weighs on both alike, which two runs one after the other
    /// (`--compare-legacy`) cannot promise. At least 2 hours; 4, 8, … balance the order.
    #[arg(long, conflicts_with = "compare_legacy")]
    alternate: bool,
    /// Also send one hour of every meter's report through a local cluster's JSON-RPC (the
    /// server behind `deu localnet`, in this process, on a fresh ledger) at these sizes.
    #[arg(long, value_delimiter = ',')]
    rpc_sizes: Vec<usize>,
    /// Also measure the index behind `deu serve`'s pages at these sizes: a grid of N meters
    /// and N/10 residents set up through a local cluster, the app's index loaded over it, then
    /// every route the pages call timed (p50, p95) and each page view counted in cluster calls.
    #[arg(long, value_delimiter = ',')]
    index_sizes: Vec<usize>,
    /// Gateways sending at once in the JSON-RPC ingestion.
    #[arg(long, default_value_t = 64)]
    rpc_gateways: usize,
    /// When the JSON-RPC ingestion's gateways sign their reports.
    #[arg(long, value_enum, default_value_t = rpc::Signing::Ahead)]
    rpc_signing: rpc::Signing,
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
        anyhow::ensure!(
            hours >= 2 || !args.alternate,
            "{meters} meters: --alternate needs at least 2 hours (one each way)"
        );
        let paths = if args.compare_legacy {
            vec![SettlePath::V0, SettlePath::Legacy]
        } else {
            vec![args.settle]
        };
        for settle in paths {
            let label = if args.alternate {
                ALTERNATING
            } else {
                settle.label()
            };
            eprintln!("{meters} meters, {hours} hours, {label} settlement");
            let cfg = Config {
                meters,
                settle,
                alternate: args.alternate,
                hours,
                seed: args.seed,
                relayer: args.relayer,
                mode: args.send,
                window: args.window,
            };
            let outcome = community::run(&cfg)
                .await
                .with_context(|| format!("{meters} meters, {label} settlement"))?;
            eprintln!(
                "  done in {:.1} s (setup {:.1} s), peak memory {:.1} GiB",
                outcome.total.as_secs_f64(),
                outcome.setup.as_secs_f64(),
                outcome.peak_rss_kib as f64 / (1024.0 * 1024.0),
            );
            outcomes.push(outcome);
        }
    }
    let mut ingestions = Vec::new();
    for &meters in &args.rpc_sizes {
        eprintln!(
            "{meters} meters reporting through JSON-RPC, {} gateways at once",
            args.rpc_gateways
        );
        let ingestion = rpc::ingest(meters, args.rpc_gateways, args.rpc_signing, args.seed)
            .await
            .with_context(|| format!("JSON-RPC ingestion of {meters} reports"))?;
        ingestions.push(ingestion);
    }
    let mut indexes = Vec::new();
    for &meters in &args.index_sizes {
        eprintln!("the index behind the pages at {meters} meters");
        let figures = index::measure(meters, args.seed)
            .await
            .with_context(|| format!("the index at {meters} meters"))?;
        indexes.push(figures);
    }
    if let Some(silenced) = silenced {
        silenced.restore().context("restore stdout")?;
    }
    print_table(&args, &outcomes, started.elapsed());
    print_alternating(&outcomes);
    print_ingestion(&args, &outcomes, &ingestions);
    print_index(&indexes);
    Ok(())
}

const ALTERNATING: &str = "v0 and legacy, alternating";

/// The alternating runs: each path's settlement times, their medians and the ratio of these.
fn print_alternating(outcomes: &[Outcome]) {
    let runs: Vec<&Outcome> = outcomes.iter().filter(|o| o.path.is_none()).collect();
    if runs.is_empty() {
        return;
    }
    println!();
    println!(
        "| Meters | Epochs (v0 / legacy) | v0 settle per epoch (median; each, in order) \
         | Legacy settle per epoch (median; each, in order) | v0 / legacy (medians) |"
    );
    println!("|---:|---|---|---|---:|");
    for o in runs {
        let times = |path: SettlePath| -> Vec<Duration> {
            (0..)
                .zip(&o.settle_times)
                .filter(|(hour, _)| SettlePath::alternating(*hour) == path)
                .map(|(_, t)| *t)
                .collect()
        };
        let (v0, legacy) = (times(SettlePath::V0), times(SettlePath::Legacy));
        let each = |times: &[Duration]| {
            times
                .iter()
                .map(|t| duration(*t))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (a, b) = (median(&v0), median(&legacy));
        println!(
            "| {} | {} / {} | {} ({}) | {} ({}) | {:.2}× |",
            thousands(o.meters as u64),
            v0.len(),
            legacy.len(),
            duration(a),
            each(&v0),
            duration(b),
            each(&legacy),
            a.as_secs_f64() / b.as_secs_f64().max(1e-9),
        );
    }
    println!(
        "One community per size, its lookup tables kept; epochs settled v0, legacy, legacy, v0, \
         and again; each timed as the settle time above."
    );
}

/// The middle time (the mean of the two middle ones for an even count).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
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

fn per_second(count: usize, time: Duration) -> String {
    thousands((count as f64 / time.as_secs_f64().max(1e-9)).round() as u64)
}

fn mean(times: &[Duration]) -> Duration {
    times.iter().sum::<Duration>() / times.len().max(1) as u32
}

fn print_table(args: &Args, outcomes: &[Outcome], total: Duration) {
    if outcomes.iter().any(|o| o.path.is_some()) {
        print_rows(outcomes);
    }
    print_notes(args, outcomes, total);
}

/// The table's rows: one per size and path (alternating runs have their own table).
fn print_rows(outcomes: &[Outcome]) {
    println!(
        "| Meters | Hours | Settlement | Tx per epoch (reports + settle + close) | Readings per settle tx (avg / max) \
         | Largest settle tx (bytes / locks) | Lamports per meter-hour (fees + rent not returned) \
         | Report wall time per epoch (mean / max) | Settle wall time per epoch (mean / max) |"
    );
    println!("|---:|---:|---|---|---|---|---|---|---|");
    for o in outcomes.iter().filter(|o| o.path.is_some()) {
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
            "| {} | {} | {} | {} ({} + {} + {}) | {:.1} / {} | {} / {} | {} ({} fees + {} rent) | {} | {} |",
            thousands(o.meters as u64),
            o.hours,
            o.path.map_or("", SettlePath::label),
            thousands((o.report_txs_per_epoch + o.settle_txs_per_epoch + o.close_txs_per_epoch) as u64),
            thousands(o.report_txs_per_epoch as u64),
            thousands(o.settle_txs_per_epoch as u64),
            o.close_txs_per_epoch,
            o.readings_settled as f64 / o.settle_txs.max(1) as f64,
            o.max_readings_per_settle,
            thousands(o.largest_settle.bytes as u64),
            o.largest_settle.locks,
            per(o.lamports_spent as f64),
            per(o.fees as f64),
            per(o.rent_not_returned as f64),
            mean_max(&o.report_times),
            mean_max(&o.settle_times),
        );
    }
    println!();
}

fn print_notes(args: &Args, outcomes: &[Outcome], total: Duration) {
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
            "- {} meters × {} h, {}: setup {} ({} transactions{}, untimed in the table), run {}; \
             largest report {} B / {} locks, settle {} B / {} locks; close_epoch {}; \
             {} Wh consumed; charged {} units = producers {} + fees {} + pool carry {}; \
             peak memory {:.2} GiB.",
            thousands(o.meters as u64),
            o.hours,
            o.path.map_or(ALTERNATING, SettlePath::label),
            duration(o.setup),
            thousands(o.setup_txs as u64),
            if o.lookup_tables > 0 {
                format!(", {} lookup tables", thousands(o.lookup_tables as u64))
            } else {
                String::new()
            },
            duration(o.total - o.setup),
            o.largest_report.bytes,
            o.largest_report.locks,
            o.largest_settle.bytes,
            o.largest_settle.locks,
            mean_max(&o.close_times),
            thousands(o.consumed_wh),
            thousands(o.charged_units),
            thousands(o.paid_units),
            thousands(o.fee_units),
            thousands(o.carry_units),
            o.peak_rss_kib as f64 / (1024.0 * 1024.0),
        );
    }
    println!(
        "Report time: signing, sending and confirming every meter's report of the epoch. Settle \
         time: the SDK's `plan_batches_of` + `settle_message_v0` (v0) or `settle_transaction` \
         (legacy), signed and confirmed (consumer batches pipelined, then the batch that charges \
         the last consumers, then producer batches pipelined; each window of transactions is \
         signed while the bank runs the previous one); `close_epoch` is one more \
         transaction, timed apart (above). Lamports: measured drop of the crank's and the report \
         payers' balances over the run; fees = 5,000 × signatures; rent not returned = the rest \
         (every epoch account is closed, checked). Peak memory: the process's VmHWM so far."
    );
    for v0 in outcomes.iter().filter(|o| o.path == Some(SettlePath::V0)) {
        let Some(legacy) = outcomes
            .iter()
            .find(|o| o.meters == v0.meters && o.path == Some(SettlePath::Legacy))
        else {
            continue;
        };
        let (a, b) = (mean(&v0.settle_times), mean(&legacy.settle_times));
        println!(
            "v0 against legacy, {} meters: {:.1} against {:.1} readings per settlement transaction, \
             settlement {} against {} per epoch (mean), {:.2}× the legacy time.",
            thousands(v0.meters as u64),
            v0.readings_settled as f64 / v0.settle_txs.max(1) as f64,
            legacy.readings_settled as f64 / legacy.settle_txs.max(1) as f64,
            duration(a),
            duration(b),
            a.as_secs_f64() / b.as_secs_f64().max(1e-9),
        );
    }
    println!("Total wall time: {:.1} s.", total.as_secs_f64());
}

fn print_ingestion(args: &Args, outcomes: &[Outcome], ingestions: &[rpc::Ingestion]) {
    if ingestions.is_empty() {
        return;
    }
    println!();
    println!("| Meters | Reports through JSON-RPC (per s) | Wall time | In-process bank (per s) |");
    println!("|---:|---:|---:|---:|");
    for i in ingestions {
        let in_process = outcomes.iter().find(|o| o.meters == i.meters).map_or_else(
            || "not run".to_string(),
            |o| per_second(o.meters, mean(&o.report_times)),
        );
        println!(
            "| {} | {} | {} | {} |",
            thousands(i.meters as u64),
            per_second(i.meters, i.wall),
            duration(i.wall),
            in_process,
        );
    }
    println!();
    println!(
        "JSON-RPC: the local cluster of `deu localnet` in this process (a fresh ledger, every \
         transaction committed durably before it is answered), {} gateways at once, each sending \
         its meter's report with `sendTransaction` (preflight on, as stock clients do), {}; one \
         watcher confirms them with `getSignatureStatuses`. Timed from the first send to the \
         last confirmation; every report checked on chain afterwards. In-process: the \
         benchmark's own bank (`--send {}`), mean report time per epoch of the run above.",
        args.rpc_gateways,
        match args.rpc_signing {
            rpc::Signing::Ahead => {
                "built and signed before the clock starts (`--rpc-signing ahead`: each \
                 gateway's own work, on its own board in the field, not the cluster's)"
            }
            rpc::Signing::Inline => {
                "built and signed by the gateways as they go, on this machine's cores too \
                 (`--rpc-signing inline`)"
            }
        },
        args.send
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string()),
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn print_index(figures: &[index::IndexFigures]) {
    if figures.is_empty() {
        return;
    }
    println!();
    println!(
        "| Meters | Residents | Setup | Index loaded in | Index's own count | Process memory before → after the load |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for f in figures {
        println!(
            "| {} | {} | {} | {} | {:.0} MiB | {} → {} MiB |",
            thousands(f.meters as u64),
            thousands(f.residents as u64),
            duration(f.setup),
            duration(f.load),
            f.footprint_bytes as f64 / (1024.0 * 1024.0),
            f.rss_before_kib / 1024,
            f.rss_after_kib / 1024,
        );
    }
    println!();
    let sizes: Vec<String> = figures
        .iter()
        .map(|f| format!("{} meters: p50 / p95", thousands(f.meters as u64)))
        .collect();
    println!("| Route | {} |", sizes.join(" | "));
    println!("|---|{}", "---:|".repeat(figures.len()));
    for (i, route) in figures[0].routes.iter().enumerate() {
        let cells: Vec<String> = figures
            .iter()
            .map(|f| {
                let times = &f.routes[i].times;
                format!(
                    "{} / {}",
                    ms(index::percentile(times, 50.0)),
                    ms(index::percentile(times, 95.0))
                )
            })
            .collect();
        // The paths name the size's own ids: show the first size's, with the ids generalized.
        let shown = route
            .path
            .replace(&format!("m{}", figures[0].meters - 1), "m<last>")
            .replace(&format!("r{}", figures[0].residents - 1), "r<last>")
            .replace(
                &format!("offset={}", figures[0].meters / 2),
                "offset=<half>",
            );
        println!("| `{shown}` | {} |", cells.join(" | "));
    }
    println!();
    let pages: Vec<String> = figures
        .iter()
        .map(|f| {
            format!(
                "{} meters: p50 / p95, cluster calls",
                thousands(f.meters as u64)
            )
        })
        .collect();
    println!(
        "| Page view (its requests at once) | {} |",
        pages.join(" | ")
    );
    println!("|---|{}", "---:|".repeat(figures.len()));
    for (i, page) in figures[0].pages.iter().enumerate() {
        let cells: Vec<String> = figures
            .iter()
            .map(|f| {
                let p = &f.pages[i];
                format!(
                    "{} / {}, {:.1}",
                    ms(index::percentile(&p.times, 50.0)),
                    ms(index::percentile(&p.times, 95.0)),
                    p.calls_per_view
                )
            })
            .collect();
        println!(
            "| {} ({} requests) | {} |",
            page.name,
            page.requests,
            cells.join(" | ")
        );
    }
    println!();
    println!(
        "The index: `deu serve`'s app in this process over the local cluster of `deu localnet` \
         (also in this process), N meters and N/10 residents set up through JSON-RPC. Loaded in: \
         from the server's start to its first full read of the grid (three `getProgramAccounts` \
         calls and the grid). The index's own count: its maps' slots at capacity, the strings' \
         heap, its sets and directory (`Index::footprint_bytes`, allocator overhead not counted). \
         Process memory: VmRSS before the app started and once the index had loaded, the cluster \
         in the same process and the load's transient buffers (the cluster's JSON answer and \
         its parse) included. Routes: {} sequential requests each after one \
         that warms it. Page views: the page's requests sent at once, 10 views after one that \
         reads the histories; cluster calls per view counted by the local cluster, less the \
         index's own clock reads (one a second).",
        30
    );
}
