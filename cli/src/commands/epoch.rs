//! `deu epoch show`: an epoch's readings and where its coins went.

use anyhow::bail;
use clap::Subcommand;

use energy_utility_sdk::views::EpochView;

use crate::context::{current_epoch, load_grid, Globals};

/// How far `epoch show` looks back for the latest epoch with readings.
const LOOKBACK: u64 = 48;

#[derive(Subcommand)]
pub enum EpochCommand {
    /// Show epoch N [default: the latest epoch with readings, looking back up to 48 epochs]
    Show { epoch: Option<u64> },
}

/// `deu audit EPOCH`: re-checks an epoch's settlement from chain data alone (see
/// `energy_utility_sdk::audit`); exits 1 on a disagreement.
pub async fn audit(globals: &Globals, epoch: u64) -> anyhow::Result<()> {
    let client = globals.reader();
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if !globals.output().is_json() {
        eprintln!("reading epoch {epoch}'s transactions, parameters and meters from the chain…");
    }
    let record = energy_utility_sdk::audit::record(
        &client,
        &energy_utility_sdk::history::History::new(),
        &grid_address,
        &grid,
        epoch,
    )
    .await?;
    let view =
        energy_utility_sdk::audit::AuditView::new(epoch, energy_utility_sdk::audit::audit(&record));
    globals.output().show(&view);
    if !view.agree {
        std::process::exit(1);
    }
    Ok(())
}

pub async fn run(globals: &Globals, command: EpochCommand) -> anyhow::Result<()> {
    let EpochCommand::Show { epoch } = command;
    let client = globals.reader();
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let current = current_epoch(&client, &grid).await?;
    let candidates: Vec<u64> = match epoch {
        Some(n) => vec![n],
        None => (current.saturating_sub(LOOKBACK)..=current).rev().collect(),
    };
    for n in candidates {
        if let Some(state) = client.epoch(&grid_address, n).await? {
            globals.output().show(&EpochView::new(n, &state));
            return Ok(());
        }
    }
    match epoch {
        Some(n) if n > current => bail!("epoch {n} has not started yet (current epoch: {current})"),
        Some(n) => bail!("epoch {n} has no readings, or its settled account was closed"),
        None => bail!("no epoch with readings in the last {LOOKBACK} (current epoch: {current})"),
    }
}
