//! One community of N meters in a fresh bank: setup, then `hours` epochs of reports,
//! settlement and closing, measured; then the books are checked from the accounts.

use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, AccountDeserialize};
use anchor_spl::token::TokenAccount;
use anyhow::{bail, ensure, Context, Result};
use energy_utility_sdk::accounts::{Epoch, EpochStatus, Grid, Meter, MeterKind};
use energy_utility_sdk::constants::{UNITS_PER_COIN, WH_PER_KWH};
use energy_utility_sdk::instructions::{InitializeGridArgs, RegisterMeterArgs};
use energy_utility_sdk::lookup::{self, GridTables, METERS_PER_LOOKUP_TABLE};
use energy_utility_sdk::settlement::{
    plan_batches_of, reports_close_at, settle_message_v0, settle_transaction,
    MAX_METERS_PER_SETTLE, MAX_METERS_PER_SETTLE_V0,
};
use energy_utility_sdk::{fiat, instructions as ix, pda};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_message::AddressLookupTableAccount;
use solana_signer::Signer;

use crate::net::{pack, Net, SendMode, Shape};
use crate::rng::SplitMix64;

mod books;
mod setup;

/// The bank's clock when the grid is created: two minutes into an hour.
const START_TS: i64 = 1_800_000_000 + 120;
/// $0.10 per k, as the design's grids.
const COIN_PRICE_CENTS: u64 = 10;
const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
/// What the bank charges per signature.
pub const LAMPORTS_PER_SIGNATURE: u64 = 5_000;
/// Meters per resident: resident r owns meters 10r .. 10r + 9.
pub const METERS_PER_RESIDENT: usize = 10;
/// Every fifth meter is a producer: 1 producer to 4 consumers.
const PRODUCER_EVERY: usize = 5;
/// A household draws at most this much in an hour (the prepaid funding covers it every hour).
const MAX_CONSUMER_WH: u64 = 1_500;
/// Producers' nameplate: a community array, never the binding limit in the benchmark.
const PRODUCER_CAPACITY_W: u64 = 100_000;
/// Household load through the day, in thousandths of the household's base load.
const DAY_PERMILLE: [u64; 24] = [
    550, 500, 480, 480, 520, 650, 850, 1_050, 1_000, 900, 850, 850, 900, 900, 900, 1_000, 1_100,
    1_300, 1_450, 1_400, 1_250, 1_000, 800, 650,
];

/// How the crank's settlement transactions name the meters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SettlePath {
    /// v0 transactions over the grid's address lookup tables: a meter costs one byte, the 64
    /// account locks bind (55 meters a transaction).
    V0,
    /// Legacy transactions: a meter costs its 32-byte key, the 1,232 bytes bind (24 meters).
    Legacy,
}

impl SettlePath {
    pub fn label(self) -> &'static str {
        match self {
            SettlePath::V0 => "v0 + lookup tables",
            SettlePath::Legacy => "legacy",
        }
    }

    /// The path of the `hour`-th epoch when the two alternate: v0, legacy, legacy, v0, and
    /// again, so that a drift of the machine's speed over the run weighs on both alike.
    pub fn alternating(hour: u64) -> Self {
        match hour % 4 {
            0 | 3 => SettlePath::V0,
            _ => SettlePath::Legacy,
        }
    }

    fn per_transaction(self) -> usize {
        match self {
            SettlePath::V0 => MAX_METERS_PER_SETTLE_V0,
            SettlePath::Legacy => MAX_METERS_PER_SETTLE,
        }
    }
}

pub struct Config {
    pub meters: usize,
    pub settle: SettlePath,
    /// Settle the epochs alternately both ways (`SettlePath::alternating`) instead of `settle`.
    pub alternate: bool,
    pub hours: u64,
    pub seed: u64,
    /// One relayer pays every report (two signatures each) instead of each gateway its own.
    pub relayer: bool,
    pub mode: SendMode,
    pub window: usize,
}

/// What one community size measured.
#[derive(Default)]
pub struct Outcome {
    pub meters: usize,
    /// The settlement path; `None` when the epochs alternate between both
    /// (`SettlePath::alternating` gives each epoch's).
    pub path: Option<SettlePath>,
    pub lookup_tables: usize,
    /// The process's peak resident memory so far (VmHWM), in KiB.
    pub peak_rss_kib: u64,
    pub consumers: usize,
    pub producers: usize,
    pub residents: usize,
    pub hours: u64,
    pub setup: Duration,
    pub setup_txs: usize,
    pub report_times: Vec<Duration>,
    pub settle_times: Vec<Duration>,
    pub close_times: Vec<Duration>,
    pub report_txs_per_epoch: usize,
    pub settle_txs_per_epoch: usize,
    pub close_txs_per_epoch: usize,
    pub readings_settled: u64,
    pub settle_txs: u64,
    pub max_readings_per_settle: usize,
    pub largest_report: Shape,
    pub largest_settle: Shape,
    pub largest_close: Shape,
    pub signatures: u64,
    pub lamports_spent: u64,
    pub fees: u64,
    pub rent_not_returned: i128,
    pub consumed_wh: u64,
    pub charged_units: u64,
    pub fee_units: u64,
    pub paid_units: u64,
    pub carry_units: u64,
    pub total: Duration,
}

struct MeterRef {
    address: Pubkey,
    gateway: Keypair,
    producer: bool,
    /// Consumers: base load in Wh per hour.
    base_wh: u64,
}

struct Community {
    net: Net,
    /// The grid's lookup tables (v0 path; empty on the legacy one).
    tables: GridTables,
    grid: Pubkey,
    admin: Keypair,
    oracle: Keypair,
    crank: Keypair,
    relayer: Option<Keypair>,
    wallets: Vec<Keypair>,
    meters: Vec<MeterRef>,
    consumers: Vec<Pubkey>,
    producers: Vec<Pubkey>,
    /// Each meter's cumulative register, in Wh: what its gateway reports.
    registers: Vec<u64>,
    rng: SplitMix64,
}

fn system_account(lamports: u64) -> Account {
    Account {
        lamports,
        data: Vec::new(),
        owner: system_program::ID,
        executable: false,
        rent_epoch: 0,
    }
}

fn decode<T: AccountDeserialize>(account: Option<&Account>, what: &str) -> Result<T> {
    let account = account.with_context(|| format!("{what} does not exist"))?;
    T::try_deserialize(&mut account.data.as_slice()).with_context(|| format!("decode {what}"))
}

pub async fn run(cfg: &Config) -> Result<Outcome> {
    let started = Instant::now();
    let mut out = Outcome {
        meters: cfg.meters,
        path: (!cfg.alternate).then_some(cfg.settle),
        hours: cfg.hours,
        ..Outcome::default()
    };
    let mut c = Community::setup(cfg, &mut out).await?;
    out.setup = started.elapsed();
    eprintln!(
        "  setup: {} residents, {} consumers, {} producers in {:.1} s ({} transactions)",
        out.residents,
        out.consumers,
        out.producers,
        out.setup.as_secs_f64(),
        out.setup_txs
    );
    c.simulate(cfg, &mut out).await?;
    c.check_books(&mut out).await?;
    out.total = started.elapsed();
    out.peak_rss_kib = peak_rss_kib();
    Ok(out)
}

/// The process's peak resident set (VmHWM in /proc/self/status), in KiB; 0 if unknown.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// A memory figure of /proc/self/status (`VmHWM:`, `VmRSS:`), in KiB; 0 if unknown.
pub fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

impl Community {
    fn owned(&self, resident: usize) -> impl Iterator<Item = usize> {
        let first = resident * METERS_PER_RESIDENT;
        first..(first + METERS_PER_RESIDENT).min(self.meters.len())
    }

    fn report_payer<'a>(&'a self, meter: &'a MeterRef) -> &'a Keypair {
        self.relayer.as_ref().unwrap_or(&meter.gateway)
    }

    /// This hour's readings: households follow the day's curve with ±20% noise; producers
    /// share 110% of what the households drew, in random proportions.
    fn readings(&mut self, hour_of_day: usize) -> Vec<u64> {
        let day = DAY_PERMILLE[hour_of_day % 24];
        let mut wh: Vec<u64> = Vec::with_capacity(self.meters.len());
        let mut consumed = 0;
        for m in &self.meters {
            let w = if m.producer {
                0
            } else {
                let noise = self.rng.range(800, 1_200);
                (m.base_wh * day / 1_000 * noise / 1_000).clamp(10, MAX_CONSUMER_WH)
            };
            consumed += w;
            wh.push(w);
        }
        let weights: Vec<u64> = self
            .meters
            .iter()
            .map(|m| {
                if m.producer {
                    self.rng.range(500, 1_500)
                } else {
                    0
                }
            })
            .collect();
        let total_weight: u64 = weights.iter().sum();
        let produced = consumed * 11 / 10;
        for (w, weight) in wh.iter_mut().zip(&weights) {
            if let Some(share) = (produced * weight).checked_div(total_weight) {
                if *weight > 0 {
                    *w = share.max(1);
                }
            }
        }
        wh
    }

    fn payers(&self) -> Vec<Pubkey> {
        let mut keys = vec![self.crank.pubkey()];
        match &self.relayer {
            Some(relayer) => keys.push(relayer.pubkey()),
            None => keys.extend(self.meters.iter().map(|m| m.gateway.pubkey())),
        }
        keys
    }

    async fn grid_state(&self) -> Result<Grid> {
        let accounts = self.net.accounts(&[self.grid]).await?;
        decode(accounts[0].as_ref(), "grid")
    }

    async fn simulate(&mut self, cfg: &Config, out: &mut Outcome) -> Result<()> {
        let grid_state = self.grid_state().await?;
        let genesis = grid_state.genesis_ts;
        let epoch_seconds = grid_state.epoch_seconds as i64;
        let first_epoch = grid_state.epoch_at(START_TS)?;
        let payers = self.payers();
        let lamports_before = self.net.lamports(&payers).await?;
        // Settlement transactions per epoch, by path (v0, legacy): the same every epoch.
        let mut settles_by_path = [None, None];

        for hour in 0..cfg.hours {
            let path = if cfg.alternate {
                SettlePath::alternating(hour)
            } else {
                cfg.settle
            };
            let epoch = first_epoch + hour;
            let epoch_start = genesis + epoch as i64 * epoch_seconds;
            self.net.set_time(epoch_start + epoch_seconds / 2).await?;
            let hour_of_day = ((epoch_start / 3_600) % 24) as usize;
            let wh = self.readings(hour_of_day);
            let consumed: u64 = self
                .meters
                .iter()
                .zip(&wh)
                .filter(|(m, _)| !m.producer)
                .map(|(_, w)| *w)
                .sum();
            out.consumed_wh += consumed;

            for (register, w) in self.registers.iter_mut().zip(&wh) {
                *register += w;
            }
            let t = Instant::now();
            let reports = self.report_all(epoch, &self.registers, out).await?;
            let report_time = t.elapsed();

            let address = pda::epoch(&self.grid, epoch);
            let accounts = self.net.accounts(&[address]).await?;
            let state: Epoch = decode(accounts[0].as_ref(), "epoch")?;
            let closes = reports_close_at(&grid_state, Some(&state), epoch)?;
            self.net.set_time(closes).await?;
            let t = Instant::now();
            let settles = self.settle_all(epoch, path, out).await?;
            let settle_time = t.elapsed();

            // Untimed: the epoch is settled and its books match what was reported.
            let address = pda::epoch(&self.grid, epoch);
            let accounts = self.net.accounts(&[address]).await?;
            let state: Epoch = decode(accounts[0].as_ref(), "epoch")?;
            ensure!(
                state.status == EpochStatus::Settled,
                "epoch {epoch} is {:?} after its settlement batches",
                state.status
            );
            ensure!(
                state.consumer_readings as usize == self.consumers.len()
                    && state.consumers_charged as usize == self.consumers.len()
                    && state.producer_readings as usize == self.producers.len()
                    && state.producers_paid as usize == self.producers.len(),
                "epoch {epoch}: not every reading was recorded and settled"
            );
            let billed = consumed * UNITS_PER_COIN / WH_PER_KWH;
            ensure!(
                state.billed_units == billed && state.charged_units == billed,
                "epoch {epoch}: billed {} and charged {}, expected {billed}",
                state.billed_units,
                state.charged_units
            );
            ensure!(
                state.unpaid_units == 0,
                "epoch {epoch}: a prepaid meter ran dry"
            );
            out.charged_units += state.charged_units;
            out.fee_units += state.fee_units;
            out.paid_units += state.paid_units;

            let t = Instant::now();
            let close = ix::close_epoch(&self.grid, epoch, &state.rent_payer);
            let shape = self
                .net
                .send(&[close], &self.crank, &[])
                .await
                .with_context(|| format!("close epoch {epoch}"))?;
            let close_time = t.elapsed();
            out.largest_close = out.largest_close.max(shape);
            out.signatures += shape.signatures as u64;

            if hour == 0 {
                out.report_txs_per_epoch = reports;
                out.settle_txs_per_epoch = settles;
                out.close_txs_per_epoch = 1;
            }
            let same_path = &mut settles_by_path[path as usize];
            ensure!(
                reports == out.report_txs_per_epoch && *same_path.get_or_insert(settles) == settles,
                "epoch {epoch}: the number of transactions changed"
            );
            out.report_times.push(report_time);
            out.settle_times.push(settle_time);
            out.close_times.push(close_time);
            eprintln!(
                "  epoch {epoch}: {reports} reports in {:.3} s, {settles} {} settlement transactions in {:.3} s, closed in {:.1} ms",
                report_time.as_secs_f64(),
                path.label(),
                settle_time.as_secs_f64(),
                close_time.as_secs_f64() * 1e3
            );
        }

        let lamports_after = self.net.lamports(&payers).await?;
        out.lamports_spent = lamports_before
            .checked_sub(lamports_after)
            .context("the payers gained lamports")?;
        out.fees = out.signatures * LAMPORTS_PER_SIGNATURE;
        out.rent_not_returned = out.lamports_spent as i128 - out.fees as i128;

        // Every epoch account is closed: its rent went back to whoever paid it.
        let epochs: Vec<Pubkey> = (0..cfg.hours)
            .map(|h| pda::epoch(&self.grid, first_epoch + h))
            .collect();
        let left = self.net.accounts(&epochs).await?;
        let open = left.iter().filter(|a| a.is_some()).count();
        ensure!(open == 0, "{open} epoch accounts were not closed");
        Ok(())
    }

    /// Every meter reports its register `registers[i]` for `epoch`. Signing the next window
    /// overlaps with the bank executing the previous one. Returns the number of transactions.
    async fn report_all(&self, epoch: u64, registers: &[u64], out: &mut Outcome) -> Result<usize> {
        let mut pipeline = self.net.pipeline();
        let mut count = 0;
        let indices: Vec<usize> = (0..self.meters.len()).collect();
        for window in indices.chunks(self.net.window()) {
            let blockhash = self.net.blockhash().await?;
            let mut txs = Vec::with_capacity(window.len());
            for &i in window {
                let meter = &self.meters[i];
                let payer = self.report_payer(meter);
                let report = ix::report(
                    &meter.gateway.pubkey(),
                    &payer.pubkey(),
                    &self.grid,
                    &meter.address,
                    epoch,
                    registers[i],
                );
                let (tx, shape) = Net::sign(&[report], payer, &[&meter.gateway], blockhash)?;
                out.largest_report = out.largest_report.max(shape);
                out.signatures += shape.signatures as u64;
                txs.push(tx);
            }
            count += txs.len();
            pipeline.push(txs).await.context("reports")?;
        }
        pipeline.drain().await.context("reports")?;
        Ok(count)
    }

    /// Settles `epoch` with the SDK's batches: the batches of consumers only in any order,
    /// then the batch that charges the last consumers, then the producers' batches in any
    /// order. Within a phase, signing the next window overlaps with the bank executing the
    /// previous one, as in the reports. Returns the number of transactions.
    async fn settle_all(&self, epoch: u64, path: SettlePath, out: &mut Outcome) -> Result<usize> {
        let per_transaction = path.per_transaction();
        let batches = plan_batches_of(&self.consumers, &self.producers, per_transaction);
        let with_consumers = self.consumers.len().div_ceil(per_transaction);
        let last_charging = with_consumers.saturating_sub(1);
        let phases = [
            &batches[..last_charging],
            &batches[last_charging..with_consumers],
            &batches[with_consumers..],
        ];
        let mut pipeline = self.net.pipeline();
        let settling = || format!("settle epoch {epoch}");
        for phase in phases {
            for window in phase.chunks(self.net.window()) {
                let blockhash = self.net.blockhash().await?;
                let mut txs = Vec::with_capacity(window.len());
                for batch in window {
                    let (tx, shape) = match path {
                        SettlePath::V0 => {
                            let message = settle_message_v0(
                                &self.crank.pubkey(),
                                &self.grid,
                                epoch,
                                batch,
                                &self.tables,
                                blockhash,
                            )
                            .context("compile a v0 settlement")?;
                            Net::sign_v0(message, &self.crank)?
                        }
                        SettlePath::Legacy => {
                            let instructions = settle_transaction(&self.grid, epoch, batch);
                            Net::sign(&instructions, &self.crank, &[], blockhash)?
                        }
                    };
                    out.largest_settle = out.largest_settle.max(shape);
                    out.signatures += shape.signatures as u64;
                    out.max_readings_per_settle = out.max_readings_per_settle.max(batch.len());
                    out.readings_settled += batch.len() as u64;
                    out.settle_txs += 1;
                    txs.push(tx);
                }
                pipeline.push(txs).await.with_context(settling)?;
            }
            // The next phase starts once this one has landed.
            pipeline.drain().await.with_context(settling)?;
        }
        Ok(batches.len())
    }
}
