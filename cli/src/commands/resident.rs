//! `deu resident`: register the keypair as a resident, show or list residents.

use clap::Subcommand;
use energy_utility_sdk::{instructions, pda};
use serde_json::Value;

use crate::context::{load_grid, Globals};
use energy_utility_sdk::views::{resident_json, resident_text};

#[derive(Subcommand)]
pub enum ResidentCommand {
    /// Register the keypair's wallet under ID (letters, digits, '-', '_', '.'; up to 32)
    Register { id: String },
    /// Show a resident's coins
    Show { id: String },
    /// List the grid's residents
    List,
}

pub async fn run(globals: &Globals, command: ResidentCommand) -> anyhow::Result<()> {
    match command {
        ResidentCommand::Register { id } => {
            let client = globals.client()?;
            let (grid_address, grid) = load_grid(globals, &client).await?;
            if client.resident(&grid_address, &id).await.is_ok() {
                anyhow::bail!("resident '{id}' already exists in grid '{}'", grid.name);
            }
            let ix = instructions::register_resident(
                &client.payer(),
                &grid_address,
                grid.resident_count,
                &id,
            );
            client.send(&[ix], &[]).await?;
            show(globals, &client, &grid_address, &id).await
        }
        ResidentCommand::Show { id } => {
            let client = globals.reader();
            let (grid_address, _) = load_grid(globals, &client).await?;
            show(globals, &client, &grid_address, &id).await
        }
        ResidentCommand::List => {
            let client = globals.reader();
            let (grid_address, grid) = load_grid(globals, &client).await?;
            let residents = client.residents(&grid_address, grid.resident_count).await?;
            let mut rows = Vec::new();
            let mut lines = Vec::new();
            for (address, resident) in residents {
                let balance = client.token_amount(&pda::coins(&address)).await?;
                rows.push(resident_json(&address, &resident, balance));
                lines.push(format!(
                    "{:<20} {:>16} k  {}",
                    resident.id,
                    energy_utility_sdk::amounts::format_k(balance),
                    resident.authority
                ));
            }
            globals
                .output()
                .print(Value::Array(rows), || lines.join("\n"));
            Ok(())
        }
    }
}

async fn show(
    globals: &Globals,
    client: &energy_utility_sdk::Client,
    grid: &anchor_lang::prelude::Pubkey,
    id: &str,
) -> anyhow::Result<()> {
    let (address, resident) = client.resident(grid, id).await?;
    let balance = client.token_amount(&resident.coins).await?;
    globals
        .output()
        .print(resident_json(&address, &resident, balance), || {
            resident_text(&address, &resident, balance)
        });
    Ok(())
}
