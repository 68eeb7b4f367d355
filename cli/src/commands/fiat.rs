//! `deu fiat add|lock|return` (the payment oracle, by hand: the webhook service does this
//! for every processor event) and `deu withdraw` (residents setting coins aside to sell).

use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility::constants::MAX_ID_LEN;
use energy_utility_sdk::amounts::{format_k, format_usd, parse_k, parse_usd};
use energy_utility_sdk::{instructions, pda};
use serde_json::json;

use crate::context::{load_grid, my_resident, Globals};

#[derive(Subcommand)]
pub enum FiatCommand {
    /// Apply a payment: positive dollars mint coins, negative dollars (a payout paid) burn the
    /// coins locked for it
    Add {
        resident_id: String,
        /// Dollars, e.g. 12.50 (bought) or -5 (paid out)
        #[arg(allow_negative_numbers = true)]
        amount_usd: String,
        /// The processor's event id, or the payout id for a payout (at most 32 bytes);
        /// applying it twice is refused
        #[arg(long)]
        payment_id: String,
    },
    /// Lock the escrowed coins a payout of AMOUNT_USD will burn, before creating the payout
    /// (the resident can no longer cancel them)
    Lock {
        resident_id: String,
        /// Dollars the payout will pay, e.g. 5
        amount_usd: String,
        /// Your reference for the payout (at most 32 bytes); locking it twice is refused
        #[arg(long = "ref")]
        payout_ref: String,
    },
    /// A payout failed: return the coins locked for it to the resident's account
    Return {
        resident_id: String,
        /// Dollars of the failed payout, e.g. 5
        amount_usd: String,
        /// The payout's id (at most 32 bytes); a payout is either paid or returned, once
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
    match command {
        FiatCommand::Add {
            resident_id,
            amount_usd,
            payment_id,
        } => add(globals, resident_id, amount_usd, payment_id).await,
        FiatCommand::Lock {
            resident_id,
            amount_usd,
            payout_ref,
        } => payout_step(globals, Step::Lock, resident_id, &amount_usd, payout_ref).await,
        FiatCommand::Return {
            resident_id,
            amount_usd,
            payment_id,
        } => payout_step(globals, Step::Return, resident_id, &amount_usd, payment_id).await,
    }
}

enum Step {
    Lock,
    Return,
}

fn payment_id_ok(id: &str, flag: &str) -> anyhow::Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        bail!("{flag} must be 1 to {MAX_ID_LEN} bytes");
    }
    Ok(())
}

/// A client signing with the grid's oracle key, and the grid's address.
async fn oracle_client(
    globals: &Globals,
) -> anyhow::Result<(energy_utility_sdk::Client, anchor_lang::prelude::Pubkey)> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if grid.oracle != client.payer() {
        bail!(
            "only the grid's oracle ({}) applies payments; this keypair is {}",
            grid.oracle,
            client.payer()
        );
    }
    Ok((client, grid_address))
}

async fn payout_step(
    globals: &Globals,
    step: Step,
    resident_id: String,
    amount_usd: &str,
    id: String,
) -> anyhow::Result<()> {
    let cents = parse_usd(amount_usd).map_err(|e| anyhow!("invalid dollar amount: {e}"))?;
    if cents == 0 {
        bail!("the amount must not be zero");
    }
    payment_id_ok(
        &id,
        if matches!(step, Step::Lock) {
            "--ref"
        } else {
            "--payment-id"
        },
    )?;
    let (client, grid_address) = oracle_client(globals).await?;
    let (resident, _) = client.resident(&grid_address, &resident_id).await?;
    let oracle = client.payer();
    let ix = match step {
        Step::Lock => instructions::lock_withdrawal(&oracle, &grid_address, &resident, cents, &id),
        Step::Return => {
            instructions::return_withdrawal(&oracle, &grid_address, &resident, cents, &id)
        }
    };
    let signature = client.send(&[ix], &[]).await?;
    let (_, after) = client.resident(&grid_address, &resident_id).await?;
    let balance = client.token_amount(&pda::coins(&resident)).await?;
    let verb = match step {
        Step::Lock => "Locked",
        Step::Return => "Returned",
    };
    globals.output().print(
        json!({
            "resident": resident_id,
            "amount_usd": format_usd(cents),
            "balance_k": format_k(balance),
            "escrow_k": format_k(after.escrow_units),
            "locked_k": format_k(after.locked_units),
            "id": id,
            "signature": signature,
        }),
        || {
            format!(
                "{verb} the coins of a ${} payout ({id}); {resident_id}: {} k in the account, {} k set aside, {} k locked",
                format_usd(cents),
                format_k(balance),
                format_k(after.escrow_units),
                format_k(after.locked_units)
            )
        },
    );
    Ok(())
}

async fn add(
    globals: &Globals,
    resident_id: String,
    amount_usd: String,
    payment_id: String,
) -> anyhow::Result<()> {
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
    payment_id_ok(&payment_id, "--payment-id")?;
    let (client, grid_address) = oracle_client(globals).await?;
    let (resident, state) = client.resident(&grid_address, &resident_id).await?;
    let before = client.token_amount(&state.coins).await?;
    let locked_before = state.locked_units;
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
        locked_before - after_state.locked_units
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
            "locked_k": format_k(after_state.locked_units),
            "payment_id": payment_id,
            "signature": signature,
        }),
        || {
            if negative {
                format!("Burned {} k locked for {resident_id}'s payout of ${}", format_k(coins), format_usd(cents.unsigned_abs()))
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
        json!({"resident": state.id, "balance_k": format_k(balance), "escrow_k": format_k(after.escrow_units), "locked_k": format_k(after.locked_units), "signature": signature}),
        || format!("{}: {} k in the account, {} k set aside to sell, {} k locked for payouts", state.id, format_k(balance), format_k(after.escrow_units), format_k(after.locked_units)),
    );
    Ok(())
}
