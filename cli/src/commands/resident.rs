//! `deu resident`: register the keypair as a resident, show or list residents.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use clap::Subcommand;
use energy_utility_sdk::views::ResidentView;
use energy_utility_sdk::{pda, Client};

use crate::context::{load_grid, Globals};
use crate::output::{Row, Rows};

#[derive(Subcommand)]
pub enum ResidentCommand {
    /// Register the keypair's wallet under ID (letters, digits, '-', '_', '.'; up to 32)
    Register { id: String },
    /// Show a resident's coins
    Show { id: String },
    /// List the grid's residents
    List,
    /// Close the keypair's resident (no coins, nothing set aside, no meter, every sale
    /// closed): its accounts' rent goes back to the wallet, and the id is free again
    Close { id: String },
}

pub async fn run(globals: &Globals, command: ResidentCommand) -> anyhow::Result<()> {
    match command {
        ResidentCommand::Register { id } => {
            let client = globals.client()?;
            let (grid_address, grid) = load_grid(globals, &client).await?;
            if client.resident(&grid_address, &id).await.is_ok() {
                anyhow::bail!("resident '{id}' already exists in grid '{}'", grid.name);
            }
            client
                .register_resident(&client.payer, &grid_address, &id)
                .await?;
            show(globals, &client, &grid_address, &id).await
        }
        ResidentCommand::Show { id } => {
            let client = globals.reader();
            let (grid_address, _) = load_grid(globals, &client).await?;
            show(globals, &client, &grid_address, &id).await
        }
        ResidentCommand::Close { id } => {
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (address, resident) = client.resident(&grid_address, &id).await?;
            let before = client.lamports(&client.payer()).await?;
            let ix = energy_utility_sdk::instructions::close_resident(
                &client.payer(),
                &grid_address,
                &address,
                resident.index,
            );
            let signature = client.send_without_events(&[ix], &[]).await?;
            let after = client.lamports(&client.payer()).await?;
            globals.output().show(&ResidentClosed {
                id,
                rent_returned_sol: after.saturating_sub(before) as f64 / 1e9,
                signature,
            });
            Ok(())
        }
        ResidentCommand::List => {
            let client = globals.reader();
            let (grid_address, grid) = load_grid(globals, &client).await?;
            let residents = client.residents(&grid_address, grid.resident_count).await?;
            let mut rows = Vec::new();
            for (address, resident) in residents {
                let balance = client.token_amount(&pda::coins(&address)).await?;
                rows.push(ResidentView::new(&address, &resident, balance));
            }
            globals.output().show(&Rows::new(rows, ""));
            Ok(())
        }
    }
}

impl Row for ResidentView {
    fn line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<20} {:>16} k  {}",
            self.id, self.balance_k, self.owner
        )
    }
}

/// A resident that closed its accounts, and the rent its wallet got back (less the fee).
#[derive(serde::Serialize)]
struct ResidentClosed {
    id: String,
    rent_returned_sol: f64,
    signature: String,
}

impl fmt::Display for ResidentClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Closed resident {}: {:.6} SOL of rent back to its wallet; the id is free again",
            self.id, self.rent_returned_sol
        )
    }
}

async fn show(globals: &Globals, client: &Client, grid: &Pubkey, id: &str) -> anyhow::Result<()> {
    let (address, resident) = client.resident(grid, id).await?;
    let balance = client.token_amount(&resident.coins).await?;
    globals
        .output()
        .show(&ResidentView::new(&address, &resident, balance));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_resident_is_one_line() {
        let carlos = ResidentView {
            id: "carlos".into(),
            address: "ReSiDeNt".into(),
            owner: "WaLLet".into(),
            balance_k: "5.000000".into(),
            escrow_k: "0.000000".into(),
            locked_k: "0.000000".into(),
        };
        assert_eq!(
            Rows::new(vec![carlos], "").to_string(),
            "carlos                       5.000000 k  WaLLet"
        );
    }
}
