//! `deu fiat` (the payment oracle, by hand: the payment service does this for every processor
//! event) and `deu withdraw` (residents selling coins: their own signed sales).

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility_sdk::accounts::{Receipt, Sale, SaleStatus};
use energy_utility_sdk::amounts::{format_k, format_usd, parse_k, parse_usd};
use energy_utility_sdk::views::{sale_json, sale_status_name};
use energy_utility_sdk::{fiat, instructions, pda, Client};
use serde_json::json;

use crate::context::{load_grid, my_resident, Globals};

#[derive(Subcommand)]
pub enum FiatCommand {
    /// Apply a purchase: dollars paid in mint coins to the resident, once per payment id
    Add {
        resident_id: String,
        /// Dollars paid, e.g. 12.50
        amount_usd: String,
        /// The processor's event id (at most 32 bytes); applying it twice is refused
        #[arg(long)]
        payment_id: String,
        /// When the processor says the payment happened (unix seconds) [default: now]; a payment
        /// older than the grid's receipt retention is refused
        #[arg(long)]
        event_time: Option<i64>,
    },
    /// Lock a resident's sale for its payout, before creating the payout: it pays what the
    /// sale's coins are worth now, only to the destination the resident committed to
    Lock {
        resident_id: String,
        /// The sale's number (deu withdraw list)
        sale: u32,
        /// Where the dollars go (the bank account the resident named)
        #[arg(long)]
        to: String,
    },
    /// A sale's payout was paid: burn its locked coins
    Paid {
        resident_id: String,
        sale: u32,
        /// The processor's payout id
        #[arg(long)]
        payout_id: String,
    },
    /// A sale's payout failed or was canceled (even after it was paid): its coins go back
    Failed {
        resident_id: String,
        sale: u32,
        #[arg(long)]
        payout_id: String,
    },
    /// Close receipts and ended sales past the grid's retention, returning their rent (anyone)
    CloseExpired,
}

#[derive(Subcommand)]
pub enum WithdrawCommand {
    /// Sell coins for dollars: set them aside for a payout to the bank account you name
    Request {
        /// Coins k to sell
        #[arg(allow_negative_numbers = true)]
        amount_k: String,
        /// Where the dollars go: the bank account number (only its hash goes on chain)
        #[arg(long)]
        to: String,
        #[arg(long)]
        from: Option<String>,
    },
    /// Take back a sale not yet locked for a payout
    Cancel {
        /// The sale's number (deu withdraw list)
        sale: u32,
        #[arg(long)]
        from: Option<String>,
    },
    /// List your sales and where each stands
    List {
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
            event_time,
        } => add(globals, resident_id, amount_usd, payment_id, event_time).await,
        FiatCommand::Lock {
            resident_id,
            sale,
            to,
        } => lock(globals, resident_id, sale, to).await,
        FiatCommand::Paid {
            resident_id,
            sale,
            payout_id,
        } => payout(globals, resident_id, sale, payout_id, true).await,
        FiatCommand::Failed {
            resident_id,
            sale,
            payout_id,
        } => payout(globals, resident_id, sale, payout_id, false).await,
        FiatCommand::CloseExpired => close_expired(globals).await,
    }
}

/// A client signing with the grid's oracle key, and the grid's address.
async fn oracle_client(globals: &Globals) -> anyhow::Result<(Client, Pubkey)> {
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

async fn add(
    globals: &Globals,
    resident_id: String,
    amount_usd: String,
    payment_id: String,
    event_time: Option<i64>,
) -> anyhow::Result<()> {
    if amount_usd.trim().starts_with('-') {
        bail!("a purchase is a positive amount; a sale's payout is `deu fiat paid`");
    }
    let cents = parse_usd(&amount_usd).map_err(|e| anyhow!("invalid dollar amount: {e}"))?;
    if cents == 0 {
        bail!("the amount must not be zero");
    }
    fiat::check_payment_id(&payment_id).map_err(|e| anyhow!("--payment-id: {e}"))?;
    let (client, grid_address) = oracle_client(globals).await?;
    let (resident, state) = client.resident(&grid_address, &resident_id).await?;
    let event_ts = match event_time {
        Some(at) => at,
        None => client.cluster_time().await?,
    };
    // The program refuses a payment twice; say so before paying a fee for it.
    let receipt = pda::receipt(&grid_address, &payment_id);
    if client.account::<Receipt>(&receipt).await?.is_some() {
        bail!("payment '{payment_id}' was already applied (its receipt {receipt} is on chain): nothing was minted");
    }
    let before = client.token_amount(&state.coins).await?;
    let ix = instructions::add_fiat(
        &client.payer(),
        &grid_address,
        &resident,
        cents,
        &payment_id,
        event_ts,
    );
    let signature = client.send(&[ix], &[]).await?;
    let after = client.token_amount(&state.coins).await?;
    let coins = after - before;
    globals.output().print(
        json!({
            "resident": resident_id,
            "amount_usd": format_usd(cents),
            "coins_k": format_k(coins),
            "balance_k": format_k(after),
            "payment_id": payment_id,
            "signature": signature,
        }),
        || {
            format!(
                "Minted {} k to {resident_id} for ${}; balance {} k",
                format_k(coins),
                format_usd(cents),
                format_k(after)
            )
        },
    );
    Ok(())
}

async fn load_sale(
    client: &Client,
    grid: &Pubkey,
    resident_id: &str,
    number: u32,
) -> anyhow::Result<(Pubkey, Pubkey, Sale)> {
    let (resident, _) = client.resident(grid, resident_id).await?;
    let address = pda::sale(&resident, number);
    let sale = client
        .account::<Sale>(&address)
        .await?
        .ok_or_else(|| anyhow!("{resident_id} has no sale {number} (deu withdraw list)"))?;
    Ok((resident, address, sale))
}

async fn lock(
    globals: &Globals,
    resident_id: String,
    number: u32,
    to: String,
) -> anyhow::Result<()> {
    let (client, grid_address) = oracle_client(globals).await?;
    let (_, grid) = client.grid(&globals.grid).await?;
    let (resident, address, sale) = load_sale(&client, &grid_address, &resident_id, number).await?;
    if sale.status != SaleStatus::Requested {
        bail!("sale {number} is already {}", sale_status_name(sale.status));
    }
    let hash = fiat::destination_hash(&to);
    if hash != sale.destination_hash {
        bail!("{resident_id} did not sign sale {number} for that destination: the payout can only go where the resident said");
    }
    let cents = fiat::quote_payout_cents(sale.units, grid.coin_price_cents)
        .ok_or_else(|| anyhow!("the sale is too large to price"))?;
    let ix = instructions::lock_withdrawal(
        &client.payer(),
        &grid_address,
        &resident,
        number,
        cents,
        hash,
    );
    let signature = client.send(&[ix], &[]).await?;
    show_sale(globals, &client, &resident_id, number, &address, &signature).await
}

async fn payout(
    globals: &Globals,
    resident_id: String,
    number: u32,
    payout_id: String,
    paid: bool,
) -> anyhow::Result<()> {
    fiat::check_payment_id(&payout_id).map_err(|e| anyhow!("--payout-id: {e}"))?;
    let (client, grid_address) = oracle_client(globals).await?;
    let (resident, address, _) = load_sale(&client, &grid_address, &resident_id, number).await?;
    let oracle = client.payer();
    let ix = if paid {
        instructions::payout_paid(&oracle, &grid_address, &resident, number, &payout_id)
    } else {
        instructions::payout_failed(&oracle, &grid_address, &resident, number, &payout_id)
    };
    let signature = client.send(&[ix], &[]).await?;
    show_sale(globals, &client, &resident_id, number, &address, &signature).await
}

async fn show_sale(
    globals: &Globals,
    client: &Client,
    resident_id: &str,
    number: u32,
    address: &Pubkey,
    signature: &str,
) -> anyhow::Result<()> {
    let sale = client
        .account::<Sale>(address)
        .await?
        .ok_or_else(|| anyhow!("sale {number} is gone"))?;
    let mut row = sale_json(number, address, &sale);
    row["resident"] = json!(resident_id);
    row["signature"] = json!(signature);
    globals
        .output()
        .print(row, || sale_line(resident_id, number, &sale));
    Ok(())
}

fn sale_line(resident_id: &str, number: u32, sale: &Sale) -> String {
    let coins = format_k(sale.units);
    let usd = format_usd(sale.cents);
    let what = match sale.status {
        SaleStatus::Requested => {
            format!("{coins} k set aside, waiting for its payout (cancel with deu withdraw cancel {number})")
        }
        SaleStatus::Locked => format!("{coins} k locked for a ${usd} payout"),
        SaleStatus::Paid => format!("${usd} paid out ({}); {coins} k burned", sale.payout_id),
        SaleStatus::Returned => format!(
            "payout {} failed; {coins} k returned to {resident_id}",
            sale.payout_id
        ),
        SaleStatus::Reversed => format!(
            "payout {} failed after it was paid; {coins} k given back to {resident_id}",
            sale.payout_id
        ),
    };
    format!("Sale {number} of {resident_id}: {what}")
}

async fn close_expired(globals: &Globals) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    let (receipts, sales) = client.close_expired(&grid_address).await?;
    globals.output().print(
        json!({"receipts_closed": receipts, "sales_closed": sales}),
        || format!("Closed {receipts} expired receipts and {sales} ended sales; their rent went back to who paid it"),
    );
    Ok(())
}

pub async fn withdraw(globals: &Globals, command: WithdrawCommand) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let from = match &command {
        WithdrawCommand::Request { from, .. }
        | WithdrawCommand::Cancel { from, .. }
        | WithdrawCommand::List { from } => from.clone(),
    };
    let (resident, state) = my_resident(&client, &grid_address, &grid, from.as_deref()).await?;
    let id = state.id.clone();
    let (number, signature) = match &command {
        WithdrawCommand::List { .. } => {
            let sales = client.sales(&resident, state.sale_count).await?;
            let rows: Vec<_> = sales
                .iter()
                .map(|(n, address, sale)| sale_json(*n, address, sale))
                .collect();
            globals.output().print(json!(rows), || {
                if sales.is_empty() {
                    format!("{id} has no sales")
                } else {
                    sales
                        .iter()
                        .map(|(n, _, sale)| sale_line(&id, *n, sale))
                        .collect::<Vec<_>>()
                        .join("\n")
                }
            });
            return Ok(());
        }
        WithdrawCommand::Request { amount_k, to, .. } => {
            let amount = parse_k(amount_k).map_err(|e| anyhow!("invalid amount: {e}"))?;
            if fiat::normalize_destination(to).is_empty() {
                bail!("--to must name the bank account the dollars go to");
            }
            let number = state.sale_count;
            let ix = instructions::request_withdrawal(
                &client.payer(),
                &grid_address,
                &resident,
                number,
                amount,
                fiat::destination_hash(to),
            );
            (number, client.send(&[ix], &[]).await?)
        }
        WithdrawCommand::Cancel { sale, .. } => {
            let ix =
                instructions::cancel_withdrawal(&client.payer(), &grid_address, &resident, *sale);
            (*sale, client.send(&[ix], &[]).await?)
        }
    };
    let balance = client.token_amount(&pda::coins(&resident)).await?;
    let address = pda::sale(&resident, number);
    let sale = client.account::<Sale>(&address).await?;
    let worth = sale
        .as_ref()
        .and_then(|s| fiat::quote_payout_cents(s.units, grid.coin_price_cents));
    globals.output().print(
        json!({
            "resident": id,
            "sale": number,
            "sale_address": address.to_string(),
            "status": sale.as_ref().map_or("cancelled", |s| sale_status_name(s.status)),
            "worth_usd": worth.map(format_usd),
            "balance_k": format_k(balance),
            "signature": signature,
        }),
        || match (&sale, worth) {
            (Some(sale), Some(cents)) => format!(
                "Sale {number}: {} k set aside for a payout of about ${} (at today's price); {id} has {} k left. The payment service pays it once you ask it to (sale {number})",
                format_k(sale.units),
                format_usd(cents),
                format_k(balance)
            ),
            _ => format!("Sale {number} cancelled: {id} has {} k", format_k(balance)),
        },
    );
    Ok(())
}
