//! `deu fiat add` (the payment oracle) and `deu withdraw` (residents selling coins).

use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility_sdk::amounts::{format_k, format_usd, parse_k, parse_usd};
use energy_utility_sdk::{instructions, pda};
use serde_json::json;

use crate::context::{load_grid, my_resident, Globals};

#[derive(Subcommand)]
pub enum FiatCommand {
    /// Apply a payment: positive dollars mint coins, negative dollars burn escrowed coins
    Add {
        resident_id: String,
        /// Dollars, e.g. 12.50 (bought) or -5 (paid out)
        #[arg(allow_negative_numbers = true)]
        amount_usd: String,
        /// The processor's event id (at most 32 bytes); applying it twice is refused
        #[arg(long)]
        payment_id: String,
    },
}

#[derive(Subcommand)]
pub enum WithdrawCommand {
    /// Set coins aside so the payment processor can pay them out in dollars
    Request {
        /// Coins k to set aside
        #[arg(allow_negative_numbers = true)]
        amount_k: String,
        #[arg(long)]
        from: Option<String>,
    },
    /// Take back every coin set aside
    Cancel {
        #[arg(long)]
        from: Option<String>,
    },
}

pub async fn fiat(globals: &Globals, command: FiatCommand) -> anyhow::Result<()> {
    let FiatCommand::Add {
        resident_id,
        amount_usd,
        payment_id,
    } = command;
    let (negative, digits) = match amount_usd.trim().strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, amount_usd.clone()),
    };
    let cents = parse_usd(&digits).map_err(|e| anyhow!("invalid dollar amount: {e}"))?;
    if cents == 0 {
        bail!("the amount must not be zero");
    }
    let cents = i64::try_from(cents).map_err(|_| anyhow!("the amount is too large"))?;
    let amount_cents = if negative { -cents } else { cents };
    if payment_id.is_empty() || payment_id.len() > 32 {
        bail!("--payment-id must be 1 to 32 bytes");
    }
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if grid.oracle != client.payer() {
        bail!(
            "only the grid's oracle ({}) applies payments; this keypair is {}",
            grid.oracle,
            client.payer()
        );
    }
    let (resident, state) = client.resident(&grid_address, &resident_id).await?;
    let before = client.token_amount(&state.coins).await?;
    let escrow_before = state.escrow_units;
    let ix = instructions::add_fiat(
        &client.payer(),
        &grid_address,
        &resident,
        amount_cents,
        &payment_id,
    );
    let signature = client.send(&[ix], &[]).await?;
    let (_, after_state) = client.resident(&grid_address, &resident_id).await?;
    let after = client.token_amount(&state.coins).await?;
    let coins = if negative {
        escrow_before - after_state.escrow_units
    } else {
        after - before
    };
    globals.output().print(
        json!({
            "resident": resident_id,
            "amount_usd": format!("{}{}", if negative { "-" } else { "" }, format_usd(cents.unsigned_abs())),
            "coins_k": format_k(coins),
            "minted": !negative,
            "balance_k": format_k(after),
            "escrow_k": format_k(after_state.escrow_units),
            "payment_id": payment_id,
            "signature": signature,
        }),
        || {
            if negative {
                format!("Burned {} k of {resident_id}'s escrow for ${} paid out", format_k(coins), format_usd(cents.unsigned_abs()))
            } else {
                format!("Minted {} k to {resident_id} for ${}; balance {} k", format_k(coins), format_usd(cents.unsigned_abs()), format_k(after))
            }
        },
    );
    Ok(())
}

pub async fn withdraw(globals: &Globals, command: WithdrawCommand) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let from = match &command {
        WithdrawCommand::Request { from, .. } | WithdrawCommand::Cancel { from } => from.clone(),
    };
    let (resident, state) = my_resident(&client, &grid_address, &grid, from.as_deref()).await?;
    let ix = match &command {
        WithdrawCommand::Request { amount_k, .. } => {
            let amount = parse_k(amount_k).map_err(|e| anyhow!("invalid amount: {e}"))?;
            instructions::request_withdrawal(&client.payer(), &grid_address, &resident, amount)
        }
        WithdrawCommand::Cancel { .. } => {
            instructions::cancel_withdrawal(&client.payer(), &grid_address, &resident)
        }
    };
    let signature = client.send(&[ix], &[]).await?;
    let (_, after) = client.resident(&grid_address, &state.id).await?;
    let balance = client.token_amount(&pda::coins(&resident)).await?;
    globals.output().print(
        json!({"resident": state.id, "balance_k": format_k(balance), "escrow_k": format_k(after.escrow_units), "signature": signature}),
        || format!("{}: {} k in the account, {} k set aside to sell", state.id, format_k(balance), format_k(after.escrow_units)),
    );
    Ok(())
}
