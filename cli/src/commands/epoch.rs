//! `deu epoch show`: an epoch's readings and where its coins went.

use anyhow::bail;
use clap::Subcommand;

use super::views::{epoch_json, epoch_text};
use crate::context::{current_epoch, load_grid, Globals};

#[derive(Subcommand)]
pub enum EpochCommand {
    /// Show epoch N [default: the latest epoch with readings: the current one or the one before]
    Show { epoch: Option<u64> },
}

pub async fn run(globals: &Globals, command: EpochCommand) -> anyhow::Result<()> {
    let EpochCommand::Show { epoch } = command;
    let client = globals.reader();
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let current = current_epoch(&client, &grid).await?;
    let candidates: Vec<u64> = match epoch {
        Some(n) => vec![n],
        None => vec![current, current.saturating_sub(1)],
    };
    for n in candidates {
        if let Some(state) = client.epoch(&grid_address, n).await? {
            globals
                .output()
                .print(epoch_json(n, &state), || epoch_text(n, &state));
            return Ok(());
        }
    }
    match epoch {
        Some(n) if n > current => bail!("epoch {n} has not started yet (current epoch: {current})"),
        Some(n) => bail!("epoch {n} has no readings, or its settled account was closed"),
        None => bail!("no readings in epoch {current} or the one before"),
    }
}
