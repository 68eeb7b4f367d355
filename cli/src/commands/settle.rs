//! `deu settle`: the permissionless crank. Settles each closed epoch in as few transactions as
//! fit, resumes whatever a crashed or concurrent crank left, and closes old epoch accounts so
//! their rent goes back to whoever paid it.

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anyhow::bail;
use clap::Args;
use energy_utility_sdk::accounts::{EpochStatus, Grid};
use energy_utility_sdk::client::SettleOutcome;
use energy_utility_sdk::settlement;
use energy_utility_sdk::Client;
use serde_json::{json, Value};

use crate::context::{current_epoch, load_grid, Globals};
use crate::output::Output;
use energy_utility_sdk::views::epoch_json;

#[derive(Args)]
pub struct SettleArgs {
    /// Settle only this epoch [default: every closed, unsettled epoch of the last --lookback]
    #[arg(long)]
    pub epoch: Option<u64>,
    /// Keep running: settle each epoch as soon as its grace window closes
    #[arg(long)]
    pub watch: bool,
    /// Seconds between checks with --watch
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// How many past epochs to look at for unsettled ones
    #[arg(long, default_value_t = 48)]
    pub lookback: u64,
    /// Settled epochs to keep readable before closing their accounts (rent back to the payer)
    #[arg(long, default_value_t = 24)]
    pub keep_epochs: u64,
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
        let state = client.epoch(&grid_address, epoch).await?;
        let mut json = state.map_or(json!({"epoch": epoch}), |s| epoch_json(epoch, &s));
        json["transactions"] = json!(outcome.transactions);
        json["already_settled"] = json!(outcome.already_settled);
        output.print(json, || describe(&outcome));
        return Ok(());
    }
    loop {
        match pass(globals, &client, &args, &output).await {
            Ok(settled) if !args.watch => {
                output.print(Value::Array(settled.clone()), || {
                    if settled.is_empty() {
                        "nothing to settle".to_string()
                    } else {
                        format!("settled {} epoch(s)", settled.len())
                    }
                });
                return Ok(());
            }
            Ok(settled) => {
                if output.is_json() {
                    for row in settled {
                        println!("{row}");
                    }
                }
            }
            Err(e) if args.watch => eprintln!("settle: {e:#} (retrying)"),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
    }
}

/// One sweep: settle every closed, unsettled epoch in the lookback window, then close settled
/// epochs older than the keep window. Returns the epochs settled.
async fn pass(
    globals: &Globals,
    client: &Client,
    args: &SettleArgs,
    output: &Output,
) -> anyhow::Result<Vec<Value>> {
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
            output.progress(&describe(&outcome));
            if let Some(state) = client.epoch(&grid_address, epoch).await? {
                let mut row = epoch_json(epoch, &state);
                row["transactions"] = json!(outcome.transactions);
                settled.push(row);
            }
        } else if state.status == EpochStatus::Settled && epoch + args.keep_epochs < current {
            client.close_epoch(&grid_address, epoch).await?;
            output.progress(&format!(
                "epoch {epoch}: account closed, rent returned to {}",
                state.rent_payer
            ));
        }
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

fn describe(outcome: &SettleOutcome) -> String {
    if outcome.already_settled {
        format!("epoch {} was already settled", outcome.epoch)
    } else {
        format!(
            "epoch {} settled: {} readings in {} transaction(s)",
            outcome.epoch, outcome.readings, outcome.transactions
        )
    }
}
