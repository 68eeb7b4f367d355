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
    /// Where your sales are paid: bind the processor account you onboarded (Stripe Connect,
    /// acct_…), or cancel a change that waits
    #[command(subcommand)]
    PayoutAccount(PayoutAccountCommand),
}

#[derive(Subcommand)]
pub enum PayoutAccountCommand {
    /// Bind ACCOUNT (acct_…, the connected account the web page's Get paid opened for you):
    /// the first binding is in force at once; a change waits for the grid's payout notice
    /// (48 hours by default), shown on your page, and can be cancelled until then
    Set {
        account: String,
        /// Your resident id [default: the keypair's only resident]
        #[arg(long)]
        from: Option<String>,
    },
    /// Cancel the change of payout account that waits: sales stay paid to the account in force
    Cancel {
        #[arg(long)]
        from: Option<String>,
    },
}

pub async fn run(globals: &Globals, command: ResidentCommand) -> anyhow::Result<()> {
    match command {
        ResidentCommand::Register { id } => {
            let client = globals.client()?;
            let (grid_address, grid) = load_grid(globals, &client).await?;
            if client.resident(&grid_address, &id).await.is_ok() {
                anyhow::bail!("resident '{id}' already exists in grid '{}'", grid.name);
            }
            let wallet = globals.keypair()?;
            client
                .register_resident(&wallet, &grid_address, &id)
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
                &resident.rent_payer,
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
        ResidentCommand::PayoutAccount(command) => payout_account(globals, command).await,
        ResidentCommand::List => {
            let client = globals.reader();
            let (grid_address, grid) = load_grid(globals, &client).await?;
            let residents = client.residents(&grid_address, grid.resident_count).await?;
            let mut rows = Vec::new();
            let now = client.cluster_time().await?;
            for (address, resident) in residents {
                let balance = client.token_amount(&pda::coins(&address)).await?;
                rows.push(ResidentView::new(&address, &resident, balance, now));
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
    let now = client.cluster_time().await?;
    globals
        .output()
        .show(&ResidentView::new(&address, &resident, balance, now));
    Ok(())
}

/// Binds a payout account, or cancels a change that waits; shows the resident after.
async fn payout_account(globals: &Globals, command: PayoutAccountCommand) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let from = match &command {
        PayoutAccountCommand::Set { from, .. } | PayoutAccountCommand::Cancel { from } => {
            from.clone()
        }
    };
    let (resident, state) =
        crate::context::my_resident(&client, &grid_address, &grid, from.as_deref()).await?;
    let id = state.id;
    let ix = match &command {
        PayoutAccountCommand::Set { account, .. } => {
            energy_utility_sdk::instructions::set_payout_account(
                &client.payer(),
                &grid_address,
                &resident,
                account.trim(),
            )
        }
        PayoutAccountCommand::Cancel { .. } => {
            energy_utility_sdk::instructions::cancel_payout_account_change(
                &client.payer(),
                &grid_address,
                &resident,
            )
        }
    };
    client.send_without_events(&[ix], &[]).await?;
    show(globals, &client, &grid_address, &id).await
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
            held_k: "0.000000".into(),
            sellable_k: "5.000000".into(),
            next_release_ts: None,
            debt_k: "0.000000".into(),
            payout_account: None,
            pending_payout_account: None,
            payout_change_ts: None,
        };
        assert_eq!(
            Rows::new(vec![carlos], "").to_string(),
            "carlos                       5.000000 k  WaLLet"
        );
    }
}
