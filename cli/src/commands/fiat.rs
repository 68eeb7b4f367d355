//! `deu fiat` (the payment oracle, by hand: the payment service does this for every processor
//! event) and `deu withdraw` (residents selling coins: their own signed sales).

use std::fmt;

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility_sdk::accounts::{Clawback, Receipt, Sale, SaleStatus};
use energy_utility_sdk::amounts::{format_k, format_usd, parse_k, parse_usd};
use energy_utility_sdk::views::{sale_status_name, SaleView};
use energy_utility_sdk::{fiat, instructions, pda, Client};
use serde::Serialize;

use crate::context::{load_grid, my_resident, Globals};
use crate::output::{Row, Rows};

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
    /// Lock a resident's sale for its transfer, before creating the transfer: it pays what the
    /// sale's coins are worth now, to the payout account the sale recorded (the one the
    /// resident bound; nobody else can name one)
    Lock {
        resident_id: String,
        /// The sale's number (deu withdraw list)
        sale: u32,
    },
    /// A sale's transfer was made: burn its locked coins
    Paid {
        resident_id: String,
        sale: u32,
        /// The processor's transfer id (tr_…)
        #[arg(long, alias = "payout-id")]
        transfer_id: String,
    },
    /// A sale's transfer was refused or reversed (even after it was made): its coins go back
    Failed {
        resident_id: String,
        sale: u32,
        #[arg(long, alias = "payout-id")]
        transfer_id: String,
    },
    /// A purchase was refunded: take back the coins the refunded dollars bought (from the
    /// resident's coins, then their sales not yet locked, the rest as a debt). Give the total
    /// refunded so far, as the processor's charge says: applying the same total twice does
    /// nothing
    Refund {
        /// The purchase's payment id (the PaymentIntent, pi_…)
        payment_id: String,
        /// Dollars refunded in all so far, e.g. 5.00
        total_usd: String,
    },
    /// A purchase was disputed by its card holder: take its coins back until the dispute is won
    Dispute {
        payment_id: String,
        /// Dollars disputed, e.g. 5.00
        usd: String,
    },
    /// A dispute was won: give back the coins it took (repaying any debt first)
    DisputeWon { payment_id: String },
    /// Close receipts and ended sales past the grid's retention, returning their rent (anyone)
    CloseExpired,
}

#[derive(Subcommand)]
pub enum WithdrawCommand {
    /// Sell coins for dollars: set them aside for a transfer to the payout account you bound
    /// (deu resident payout-account set); the processor then pays your bank
    Request {
        /// Coins k to sell
        #[arg(allow_negative_numbers = true)]
        amount_k: String,
        /// The least you accept, in dollars [default: what the coins are worth at today's
        /// price]: if the price falls before the payout is locked, the lock is refused and you
        /// may cancel
        #[arg(long)]
        min_usd: Option<String>,
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
        FiatCommand::Lock { resident_id, sale } => lock(globals, resident_id, sale).await,
        FiatCommand::Paid {
            resident_id,
            sale,
            transfer_id,
        } => payout(globals, resident_id, sale, transfer_id, true).await,
        FiatCommand::Failed {
            resident_id,
            sale,
            transfer_id,
        } => payout(globals, resident_id, sale, transfer_id, false).await,
        FiatCommand::Refund {
            payment_id,
            total_usd,
        } => claw_back(globals, payment_id, Some((Clawback::Refund, total_usd))).await,
        FiatCommand::Dispute { payment_id, usd } => {
            claw_back(globals, payment_id, Some((Clawback::Dispute, usd))).await
        }
        FiatCommand::DisputeWon { payment_id } => claw_back(globals, payment_id, None).await,
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
    let signature = client.send_without_events(&[ix], &[]).await?;
    let after = client.token_amount(&state.coins).await?;
    globals.output().show(&Minted {
        resident: resident_id,
        amount_usd: format_usd(cents),
        coins_k: format_k(after - before),
        balance_k: format_k(after),
        payment_id,
        signature,
    });
    Ok(())
}

/// A purchase applied: the coins minted for its dollars and the resident's balance after.
#[derive(Serialize)]
struct Minted {
    resident: String,
    amount_usd: String,
    coins_k: String,
    balance_k: String,
    payment_id: String,
    signature: String,
}

impl fmt::Display for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Minted {} k to {} for ${}; balance {} k",
            self.coins_k, self.resident, self.amount_usd, self.balance_k
        )
    }
}

async fn load_sale(
    client: &Client,
    grid: &Pubkey,
    resident_id: &str,
    number: u32,
) -> anyhow::Result<(Pubkey, Pubkey, Sale)> {
    let (resident, state) = client.resident(grid, resident_id).await?;
    let address = pda::sale(&resident, state.index, number);
    let sale = client
        .account::<Sale>(&address)
        .await?
        .ok_or_else(|| anyhow!("{resident_id} has no sale {number} (deu withdraw list)"))?;
    Ok((resident, address, sale))
}

async fn lock(globals: &Globals, resident_id: String, number: u32) -> anyhow::Result<()> {
    let (client, grid_address) = oracle_client(globals).await?;
    let (_, grid) = client.grid(&globals.grid).await?;
    let (resident, address, sale) = load_sale(&client, &grid_address, &resident_id, number).await?;
    if sale.status != SaleStatus::Requested {
        bail!("sale {number} is already {}", sale_status_name(sale.status));
    }
    let cents = fiat::quote_payout_cents(sale.units, grid.coin_price_cents)
        .ok_or_else(|| anyhow!("the sale is too large to price"))?;
    if cents < sale.min_cents {
        bail!(
            "sale {number} is worth ${} at today's price, less than the ${} {resident_id} accepted: they may cancel it and sign again",
            format_usd(cents),
            format_usd(sale.min_cents)
        );
    }
    let ix =
        instructions::lock_withdrawal(&client.payer(), &grid_address, &resident, &address, cents);
    let signature = client.send_without_events(&[ix], &[]).await?;
    show_sale(globals, &client, &resident_id, number, &address, &signature).await
}

async fn payout(
    globals: &Globals,
    resident_id: String,
    number: u32,
    payout_id: String,
    paid: bool,
) -> anyhow::Result<()> {
    fiat::check_payment_id(&payout_id).map_err(|e| anyhow!("--transfer-id: {e}"))?;
    let (client, grid_address) = oracle_client(globals).await?;
    let (resident, address, _) = load_sale(&client, &grid_address, &resident_id, number).await?;
    let oracle = client.payer();
    let ix = if paid {
        instructions::payout_paid(&oracle, &grid_address, &resident, &address, &payout_id)
    } else {
        instructions::payout_failed(&oracle, &grid_address, &resident, &address, &payout_id)
    };
    let signature = client.send_without_events(&[ix], &[]).await?;
    show_sale(globals, &client, &resident_id, number, &address, &signature).await
}

/// Takes back a purchase's coins for a refund or a dispute (`Some`), or gives back what a won
/// dispute took (`None`).
async fn claw_back(
    globals: &Globals,
    payment_id: String,
    what: Option<(Clawback, String)>,
) -> anyhow::Result<()> {
    fiat::check_payment_id(&payment_id).map_err(|e| anyhow!("payment id: {e}"))?;
    let (client, grid_address) = oracle_client(globals).await?;
    let receipt_address = pda::receipt(&grid_address, &payment_id);
    let receipt = client
        .account::<Receipt>(&receipt_address)
        .await?
        .ok_or_else(|| {
            anyhow!("no purchase {payment_id} on this grid (or its receipt was closed after the retention)")
        })?;
    let resident = client
        .account::<energy_utility_sdk::accounts::Resident>(&receipt.resident)
        .await?
        .ok_or_else(|| anyhow!("the purchase's resident is gone"))?;
    let oracle = client.payer();
    let ix = match &what {
        Some((kind, usd)) => {
            let cents = parse_usd(usd).map_err(|e| anyhow!("invalid dollar amount: {e}"))?;
            if cents == 0 || cents > receipt.amount_cents {
                bail!(
                    "the purchase was ${}: a refund or dispute is more than $0 and at most that",
                    format_usd(receipt.amount_cents)
                );
            }
            let requested: Vec<Pubkey> = client
                .sales(&receipt.resident, &resident)
                .await?
                .into_iter()
                .filter(|(_, _, s)| s.status == SaleStatus::Requested)
                .map(|(_, address, _)| address)
                .collect();
            instructions::claw_back(
                &oracle,
                &grid_address,
                &receipt.resident,
                &payment_id,
                *kind,
                cents,
                &requested,
            )
        }
        None => {
            instructions::restore_dispute(&oracle, &grid_address, &receipt.resident, &payment_id)
        }
    };
    // One invocation, one action: the same command run twice in a block is refused the second
    // time ("already applied"), not answered twice.
    let action = energy_utility_payments::random_id("cli_");
    let signature = client
        .send_action_without_events(&[ix], &[], &action)
        .await?;
    let after = client
        .account::<Receipt>(&receipt_address)
        .await?
        .ok_or_else(|| anyhow!("the receipt is gone"))?;
    let (_, state) = client.resident(&grid_address, &resident.id).await?;
    globals.output().show(&Clawed {
        payment_id,
        resident: resident.id,
        purchase_usd: format_usd(after.amount_cents),
        refunded_usd: format_usd(after.refunded_cents),
        disputed_usd: format_usd(after.disputed_cents),
        taken_back_k: format_k(after.clawed_units),
        debt_k: format_k(state.debt_units),
        signature,
    });
    Ok(())
}

/// A purchase after a refund, a dispute or a dispute won.
#[derive(Serialize)]
struct Clawed {
    payment_id: String,
    resident: String,
    purchase_usd: String,
    refunded_usd: String,
    disputed_usd: String,
    taken_back_k: String,
    debt_k: String,
    signature: String,
}

impl fmt::Display for Clawed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Purchase {} of {} (${}): ${} refunded, ${} under dispute; {} k taken back in all; {} owes {} k",
            self.payment_id,
            self.resident,
            self.purchase_usd,
            self.refunded_usd,
            self.disputed_usd,
            self.taken_back_k,
            self.resident,
            self.debt_k
        )
    }
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
    globals.output().show(&SaleChanged {
        sale: SaleView::new(number, address, &sale),
        resident: resident_id.to_string(),
        signature: signature.to_string(),
    });
    Ok(())
}

/// A sale the oracle just locked or settled, as it stands now.
#[derive(Serialize)]
struct SaleChanged {
    #[serde(flatten)]
    sale: SaleView,
    resident: String,
    signature: String,
}

impl fmt::Display for SaleChanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_sale(f, &self.resident, &self.sale)
    }
}

/// A resident's sale in `deu withdraw list`.
#[derive(Serialize)]
struct SaleRow {
    #[serde(flatten)]
    sale: SaleView,
    #[serde(skip)]
    resident: String,
}

impl Row for SaleRow {
    fn line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_sale(f, &self.resident, &self.sale)
    }
}

/// Where a resident's sale stands, in words.
fn write_sale(f: &mut fmt::Formatter<'_>, resident: &str, sale: &SaleView) -> fmt::Result {
    let number = sale.number;
    let coins = &sale.coins_k;
    let usd = sale.usd.as_deref().unwrap_or_default();
    let payout = sale.payout_id.as_deref().unwrap_or_default();
    write!(f, "Sale {number} of {resident}: ")?;
    match sale.status {
        SaleStatus::Requested => write!(f, "{coins} k set aside, waiting for its transfer (cancel with deu withdraw cancel {number})"),
        SaleStatus::Locked => write!(f, "{coins} k locked for a ${usd} transfer to {}", sale.destination),
        SaleStatus::Paid => write!(f, "${usd} transferred to {} ({payout}); {coins} k burned", sale.destination),
        SaleStatus::Returned => write!(f, "transfer {payout} refused; {coins} k returned to {resident}"),
        SaleStatus::Reversed => write!(f, "transfer {payout} reversed after it was made; {coins} k given back to {resident}"),
        SaleStatus::ClawedBack => write!(f, "{coins} k taken back for a refunded or disputed purchase"),
    }
}

async fn close_expired(globals: &Globals) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    let (receipts_closed, sales_closed) = client.close_expired(&grid_address).await?;
    globals.output().show(&ExpiredClosed {
        receipts_closed,
        sales_closed,
    });
    Ok(())
}

/// Receipts and ended sales closed past the grid's retention.
#[derive(Serialize)]
struct ExpiredClosed {
    receipts_closed: usize,
    sales_closed: usize,
}

impl fmt::Display for ExpiredClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Closed {} expired receipts and {} ended sales; their rent went back to who paid it",
            self.receipts_closed, self.sales_closed
        )
    }
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
            let rows = client
                .sales(&resident, &state)
                .await?
                .iter()
                .map(|(n, address, sale)| SaleRow {
                    sale: SaleView::new(*n, address, sale),
                    resident: id.clone(),
                })
                .collect();
            globals
                .output()
                .show(&Rows::new(rows, format!("{id} has no sales")));
            return Ok(());
        }
        WithdrawCommand::Request {
            amount_k, min_usd, ..
        } => {
            let amount = parse_k(amount_k).map_err(|e| anyhow!("invalid amount: {e}"))?;
            let now = client.cluster_time().await?;
            if state.payout_account_at(now).is_none() {
                bail!("{id} has no payout account: open one with Get paid on your page (or your utility's onboarding), then deu resident payout-account set acct_…");
            }
            let sellable = state.sellable_units(client.token_amount(&state.coins).await?, now);
            if amount > sellable {
                bail!(
                    "{id} can sell {} k now: coins bought by card are held from sale for the grid's card hold (deu resident show {id} says until when)",
                    format_k(sellable)
                );
            }
            let number = state.sale_count;
            let mut request = fiat::sale_request(amount, grid.coin_price_cents)
                .ok_or_else(|| anyhow!("the amount is too large"))?;
            if let Some(min_usd) = min_usd {
                let min_cents = parse_usd(min_usd).map_err(|e| anyhow!("--min-usd: {e}"))?;
                if min_cents > request.min_cents {
                    bail!(
                        "--min-usd: {amount_k} k are worth ${} at today's price; a sale cannot ask for more",
                        format_usd(request.min_cents)
                    );
                }
                request.min_cents = min_cents;
            }
            let sale = pda::sale(&resident, state.index, number);
            let ix = instructions::request_withdrawal(
                &client.payer(),
                &client.payer(),
                &grid_address,
                &resident,
                &sale,
                request,
            );
            (number, client.send_without_events(&[ix], &[]).await?)
        }
        WithdrawCommand::Cancel { sale, .. } => {
            let address = pda::sale(&resident, state.index, *sale);
            // Its rent goes back to whoever paid it (this wallet, or a sponsoring utility).
            let rent_payer = client
                .account::<Sale>(&address)
                .await?
                .map_or_else(|| client.payer(), |s| s.rent_payer);
            let ix = instructions::cancel_withdrawal(
                &client.payer(),
                &grid_address,
                &resident,
                &address,
                &rent_payer,
            );
            (*sale, client.send_without_events(&[ix], &[]).await?)
        }
    };
    let balance = client.token_amount(&pda::coins(&resident)).await?;
    let address = pda::sale(&resident, state.index, number);
    let sale = client.account::<Sale>(&address).await?;
    let worth = sale
        .as_ref()
        .and_then(|s| fiat::quote_payout_cents(s.units, grid.coin_price_cents));
    globals.output().show(&Withdrawal {
        resident: id,
        sale: number,
        sale_address: address.to_string(),
        status: sale
            .as_ref()
            .map_or("cancelled", |s| sale_status_name(s.status)),
        worth_usd: worth.map(format_usd),
        balance_k: format_k(balance),
        signature,
        coins_k: sale.as_ref().map(|s| format_k(s.units)),
        destination: sale.as_ref().map(|s| s.destination.clone()),
    });
    Ok(())
}

/// A sale a resident just requested or cancelled, and the coins they have left.
#[derive(Serialize)]
struct Withdrawal {
    resident: String,
    sale: u32,
    sale_address: String,
    status: &'static str,
    /// What the sale's coins are worth at today's price, while it stands.
    worth_usd: Option<String>,
    /// The payout account the sale pays, while it stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    balance_k: String,
    signature: String,
    #[serde(skip)]
    coins_k: Option<String>,
}

impl fmt::Display for Withdrawal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (number, id, balance) = (self.sale, &self.resident, &self.balance_k);
        match (&self.coins_k, &self.worth_usd) {
            (Some(coins), Some(usd)) => write!(
                f,
                "Sale {number}: {coins} k set aside for a transfer of about ${usd} to {} (at today's price); {id} has {balance} k left. The payment service pays it once you ask it to (sale {number})",
                self.destination.as_deref().unwrap_or("your payout account")
            ),
            _ => write!(f, "Sale {number} cancelled: {id} has {balance} k"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sale(status: SaleStatus, usd: Option<&str>, payout_id: Option<&str>) -> SaleView {
        SaleView {
            number: 0,
            address: "SaLe".into(),
            status,
            coins_k: "2.000000".into(),
            min_usd: "0.20".into(),
            usd: usd.map(String::from),
            destination: "acct_1".into(),
            payout_id: payout_id.map(String::from),
            requested_ts: 100,
            ended_ts: None,
        }
    }

    fn line(sale: SaleView) -> String {
        Rows::new(
            vec![SaleRow {
                sale,
                resident: "angel".into(),
            }],
            "",
        )
        .to_string()
    }

    #[test]
    fn each_sale_state_reads_as_a_sentence() {
        assert_eq!(
            line(sale(SaleStatus::Requested, None, None)),
            "Sale 0 of angel: 2.000000 k set aside, waiting for its transfer (cancel with deu withdraw cancel 0)"
        );
        assert_eq!(
            line(sale(SaleStatus::Locked, Some("0.20"), None)),
            "Sale 0 of angel: 2.000000 k locked for a $0.20 transfer to acct_1"
        );
        assert_eq!(
            line(sale(SaleStatus::Paid, Some("0.20"), Some("tr_1"))),
            "Sale 0 of angel: $0.20 transferred to acct_1 (tr_1); 2.000000 k burned"
        );
        assert_eq!(
            line(sale(SaleStatus::Returned, Some("0.20"), Some("tr_1"))),
            "Sale 0 of angel: transfer tr_1 refused; 2.000000 k returned to angel"
        );
        assert_eq!(
            line(sale(SaleStatus::Reversed, Some("0.20"), Some("tr_1"))),
            "Sale 0 of angel: transfer tr_1 reversed after it was made; 2.000000 k given back to angel"
        );
        assert_eq!(
            line(sale(SaleStatus::ClawedBack, None, None)),
            "Sale 0 of angel: 2.000000 k taken back for a refunded or disputed purchase"
        );
    }

    #[test]
    fn a_listed_sale_is_the_sdk_view_and_a_changed_one_adds_who_and_the_signature() {
        let listed = Rows::new(
            vec![SaleRow {
                sale: sale(SaleStatus::Locked, Some("0.20"), None),
                resident: "angel".into(),
            }],
            "",
        );
        let view = json!({"number": 0, "address": "SaLe", "status": "locked", "coins_k": "2.000000",
            "min_usd": "0.20", "usd": "0.20", "destination": "acct_1", "payout_id": null, "requested_ts": 100, "ended_ts": null});
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            json!([view.clone()])
        );
        let changed = SaleChanged {
            sale: sale(SaleStatus::Locked, Some("0.20"), None),
            resident: "angel".into(),
            signature: "SiG".into(),
        };
        let mut expected = view;
        expected["resident"] = json!("angel");
        expected["signature"] = json!("SiG");
        assert_eq!(serde_json::to_value(&changed).unwrap(), expected);
    }

    #[test]
    fn a_withdrawal_is_set_aside_or_cancelled() {
        let mut withdrawal = Withdrawal {
            resident: "angel".into(),
            sale: 0,
            sale_address: "SaLe".into(),
            status: "requested",
            worth_usd: Some("0.20".into()),
            balance_k: "0.721818".into(),
            signature: "SiG".into(),
            coins_k: Some("2.000000".into()),
            destination: Some("acct_1".into()),
        };
        assert_eq!(
            withdrawal.to_string(),
            "Sale 0: 2.000000 k set aside for a transfer of about $0.20 to acct_1 (at today's price); angel has 0.721818 k left. The payment service pays it once you ask it to (sale 0)"
        );
        assert_eq!(
            serde_json::to_value(&withdrawal).unwrap(),
            json!({"resident": "angel", "sale": 0, "sale_address": "SaLe", "status": "requested",
                "worth_usd": "0.20", "destination": "acct_1", "balance_k": "0.721818", "signature": "SiG"})
        );
        (withdrawal.status, withdrawal.worth_usd, withdrawal.coins_k) = ("cancelled", None, None);
        withdrawal.destination = None;
        assert_eq!(
            withdrawal.to_string(),
            "Sale 0 cancelled: angel has 0.721818 k"
        );
    }
}
