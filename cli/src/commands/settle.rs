//! `deu settle`: the permissionless crank. Settles each closed epoch in as few transactions as
//! fit, resumes whatever a crashed or concurrent crank left, and closes old epoch accounts so
//! their rent goes back to whoever paid it.

use std::fmt;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anyhow::bail;
use clap::Args;
use energy_utility_sdk::accounts::{EpochStatus, Grid};
use energy_utility_sdk::client::SettleOutcome;
use energy_utility_sdk::settlement;
use energy_utility_sdk::views::EpochView;
use energy_utility_sdk::Client;
use serde::Serialize;

use crate::context::{current_epoch, load_grid, Globals};
use crate::output::Output;

#[derive(Args)]
pub struct SettleArgs {
    /// Settle only this epoch [default: every closed, unsettled epoch of the last --lookback]
    #[arg(long)]
    pub epoch: Option<u64>,
    /// Keep running: settle each epoch as soon as its grace window closes
    #[arg(long, env = "DEU_SETTLE_WATCH")]
    pub watch: bool,
    /// Seconds between checks with --watch
    #[arg(long, default_value_t = 5, env = "DEU_SETTLE_INTERVAL")]
    pub interval: u64,
    /// How many past epochs to look at for unsettled ones
    #[arg(long, default_value_t = 48, env = "DEU_SETTLE_LOOKBACK")]
    pub lookback: u64,
    /// Settled epochs to keep readable before closing their accounts (rent back to the payer)
    #[arg(long, default_value_t = 24, env = "DEU_KEEP_EPOCHS")]
    pub keep_epochs: u64,
    /// With --watch: answer Prometheus scrapes on this address (GET /metrics, /healthz), e.g.
    /// 127.0.0.1:9101: epochs settled, failed passes, the last settled epoch, the unsettled
    /// backlog, the last pass's time
    #[arg(long, env = "DEU_METRICS", value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
}

pub async fn run(globals: &Globals, args: SettleArgs) -> anyhow::Result<()> {
    let client = globals.client()?;
    let output = globals.output();
    if let Some(epoch) = args.epoch {
        let (grid_address, grid) = load_grid(globals, &client).await?;
        let now = client.cluster_time().await?;
        let state = client.epoch(&grid_address, epoch).await?;
        let Some(state) = state else {
            bail!("epoch {epoch} has no readings (or was settled and closed)");
        };
        let closes = settlement::reports_close_at(&grid, Some(&state), epoch)?;
        if now < closes {
            bail!(
                "epoch {epoch} is still open: reports are accepted for {} more seconds",
                closes - now
            );
        }
        let outcome = settle_one(&client, &grid_address, &grid, epoch, &output).await?;
        let books = match client.epoch(&grid_address, epoch).await? {
            Some(state) => Books::Kept(Box::new(EpochView::new(epoch, &state))),
            None => Books::Closed { epoch },
        };
        output.show(&EpochSettled {
            books,
            run: CrankRun::from(&outcome),
        });
        return Ok(());
    }
    let metrics = energy_utility_sdk::metrics::Registry::new();
    if let (true, Some(address)) = (args.watch, args.metrics) {
        let bound = energy_utility_sdk::metrics::serve(address, metrics.clone(), |_| {})?;
        tracing::info!(target: "deu", "settle: metrics on http://{bound}/metrics");
    }
    loop {
        let outcome = pass(globals, &client, &args, &output).await;
        record_pass(&metrics, &outcome);
        match outcome {
            Ok(settled) if !args.watch => {
                output.show(&Settled(settled));
                return Ok(());
            }
            // Watching, each settled epoch is one JSON line; in text the progress told it.
            Ok(settled) => {
                if output.is_json() {
                    for row in &settled {
                        output.show(row);
                    }
                }
            }
            Err(e) if args.watch => tracing::warn!(target: "deu", "settle: {e:#} (retrying)"),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
}

/// The crank's metrics after one pass.
fn record_pass(
    m: &energy_utility_sdk::metrics::Registry,
    outcome: &anyhow::Result<Vec<SettledEpoch>>,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    m.set(
        "deu_crank_last_pass_timestamp_seconds",
        "When the crank last finished a pass (unix seconds).",
        &[],
        now,
    );
    match outcome {
        Ok(settled) => {
            m.count(
                "deu_crank_epochs_settled_total",
                "Epochs this crank settled.",
                &[],
                settled.len() as u64,
            );
            if let Some(last) = settled.iter().map(|s| s.books.epoch).max() {
                m.set(
                    "deu_crank_last_settled_epoch",
                    "The last epoch this crank settled.",
                    &[],
                    last as f64,
                );
            }
            m.set(
                "deu_crank_pass_ok",
                "1 when the last pass succeeded.",
                &[],
                1.0,
            );
        }
        Err(_) => {
            m.count(
                "deu_crank_failed_passes_total",
                "Passes that failed (the crank retries).",
                &[],
                1,
            );
            m.set(
                "deu_crank_pass_ok",
                "1 when the last pass succeeded.",
                &[],
                0.0,
            );
        }
    }
}

/// One sweep: settle every closed, unsettled epoch in the lookback window, then close settled
/// epochs older than the keep window. Returns the epochs settled.
async fn pass(
    globals: &Globals,
    client: &Client,
    args: &SettleArgs,
    output: &Output,
) -> anyhow::Result<Vec<SettledEpoch>> {
    let (grid_address, grid) = load_grid(globals, client).await?;
    let now = client.cluster_time().await?;
    let current = current_epoch(client, &grid).await?;
    let first = current.saturating_sub(args.lookback);
    let mut settled = Vec::new();
    for epoch in first..=current {
        let Some(state) = client.epoch(&grid_address, epoch).await? else {
            continue;
        };
        let closes = settlement::reports_close_at(&grid, Some(&state), epoch)?;
        if state.status != EpochStatus::Settled && now >= closes {
            let outcome = settle_one(client, &grid_address, &grid, epoch, output).await?;
            output.progress(&CrankRun::from(&outcome).to_string());
            if let Some(state) = client.epoch(&grid_address, epoch).await? {
                settled.push(SettledEpoch {
                    books: EpochView::new(epoch, &state),
                    transactions: outcome.transactions,
                });
            }
        } else if state.status == EpochStatus::Settled && epoch + args.keep_epochs < current {
            client.close_epoch(&grid_address, epoch).await?;
            output.progress(&format!(
                "epoch {epoch}: account closed, rent returned to {}",
                state.rent_payer
            ));
        }
    }
    // What the admin proposed and its notice has let through is written down.
    let (changed, terms) = client.apply_due_changes(&grid_address).await?;
    if terms {
        output.progress("grid: proposed terms in force now, written down");
    }
    for meter in changed {
        output.progress(&format!(
            "meter {meter}: the change proposed for it applied, its notice over"
        ));
    }
    // Consumers that went silent are disconnected: silence is not free power.
    for meter in client.disconnect_silent_meters(&grid_address).await? {
        output.progress(&format!(
            "meter {meter}: silent for {} closed epochs, disconnected until it reports",
            grid.params_for(current).max_silent_epochs
        ));
    }
    Ok(settled)
}

async fn settle_one(
    client: &Client,
    grid_address: &Pubkey,
    grid: &Grid,
    epoch: u64,
    output: &Output,
) -> anyhow::Result<SettleOutcome> {
    let mut progress = |done: usize, total: usize| {
        output.progress(&format!("epoch {epoch}: {done}/{total} readings settled"));
    };
    Ok(client
        .settle_epoch(grid_address, grid.meter_count, epoch, &mut progress)
        .await?)
}

/// What one run of the crank did to an epoch.
#[derive(Serialize)]
struct CrankRun {
    transactions: usize,
    already_settled: bool,
    #[serde(skip)]
    epoch: u64,
    #[serde(skip)]
    readings: usize,
}

impl From<&SettleOutcome> for CrankRun {
    fn from(outcome: &SettleOutcome) -> Self {
        Self {
            transactions: outcome.transactions,
            already_settled: outcome.already_settled,
            epoch: outcome.epoch,
            readings: outcome.readings,
        }
    }
}

impl fmt::Display for CrankRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_settled {
            write!(f, "epoch {} was already settled", self.epoch)
        } else {
            write!(
                f,
                "epoch {} settled: {} readings in {} transaction(s)",
                self.epoch, self.readings, self.transactions
            )
        }
    }
}

/// An epoch's books, or its number alone once its account is closed.
#[derive(Serialize)]
#[serde(untagged)]
enum Books {
    Kept(Box<EpochView>),
    Closed { epoch: u64 },
}

/// `deu settle --epoch N`: the epoch's books and what this run did to it.
#[derive(Serialize)]
struct EpochSettled {
    #[serde(flatten)]
    books: Books,
    #[serde(flatten)]
    run: CrankRun,
}

impl fmt::Display for EpochSettled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.run.fmt(f)
    }
}

/// An epoch a sweep settled: its books and the transactions it took.
#[derive(Serialize)]
struct SettledEpoch {
    #[serde(flatten)]
    books: EpochView,
    transactions: usize,
}

impl fmt::Display for SettledEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {} settled in {} transaction(s)",
            self.books.epoch, self.transactions
        )
    }
}

/// The epochs one sweep settled.
#[derive(Serialize)]
#[serde(transparent)]
struct Settled(Vec<SettledEpoch>);

impl fmt::Display for Settled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("nothing to settle")
        } else {
            write!(f, "settled {} epoch(s)", self.0.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn books(epoch: u64) -> EpochView {
        EpochView {
            epoch,
            state: "settled",
            consumer_readings: 2,
            producer_readings: 2,
            consumed_kwh: "5.000".into(),
            produced_kwh: "5.500".into(),
            billed_k: "5.000000".into(),
            charged_k: "5.000000".into(),
            unpaid_k: "0.000000".into(),
            carried_in_k: "0.000000".into(),
            fee_k: "0.010000".into(),
            distributable_k: "4.990000".into(),
            withheld_k: "0.000000".into(),
            paid_k: "4.989999".into(),
            carried_k: "0.000001".into(),
            loss_ratio: Some("1.100".into()),
            outside_loss_band: false,
        }
    }

    fn run(epoch: u64, already_settled: bool) -> CrankRun {
        CrankRun::from(&SettleOutcome {
            epoch,
            transactions: usize::from(!already_settled),
            readings: if already_settled { 0 } else { 4 },
            already_settled,
        })
    }

    #[test]
    fn an_epoch_settled_by_hand_is_its_books_and_the_run() {
        let settled = EpochSettled {
            books: Books::Kept(Box::new(books(3))),
            run: run(3, false),
        };
        let mut expected = serde_json::to_value(books(3)).unwrap();
        expected["transactions"] = json!(1);
        expected["already_settled"] = json!(false);
        assert_eq!(serde_json::to_value(&settled).unwrap(), expected);
        assert_eq!(
            settled.to_string(),
            "epoch 3 settled: 4 readings in 1 transaction(s)"
        );
    }

    #[test]
    fn an_epoch_whose_account_is_gone_is_its_number() {
        let settled = EpochSettled {
            books: Books::Closed { epoch: 3 },
            run: run(3, true),
        };
        assert_eq!(
            serde_json::to_value(&settled).unwrap(),
            json!({"epoch": 3, "transactions": 0, "already_settled": true})
        );
        assert_eq!(settled.to_string(), "epoch 3 was already settled");
    }

    #[test]
    fn a_sweep_is_its_epochs_each_with_its_transactions() {
        let sweep = Settled(vec![SettledEpoch {
            books: books(3),
            transactions: 1,
        }]);
        let mut row = serde_json::to_value(books(3)).unwrap();
        row["transactions"] = json!(1);
        assert_eq!(serde_json::to_value(&sweep).unwrap(), json!([row]));
        assert_eq!(sweep.to_string(), "settled 1 epoch(s)");
        assert_eq!(Settled(vec![]).to_string(), "nothing to settle");
    }
}
