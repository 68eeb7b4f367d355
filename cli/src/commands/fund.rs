//! `deu fund` and `deu collect`: coins into a consumer meter, earnings out of a producer meter.

use std::fmt;

use anyhow::anyhow;
use clap::Args;
use energy_utility_sdk::amounts::{format_k, parse_k};
use energy_utility_sdk::instructions;
use serde::Serialize;

use crate::context::{load_grid, my_resident, Globals};

#[derive(Args)]
pub struct FundArgs {
    /// The consumer meter to fund (anyone's: a house, a rental, a street pole)
    pub meter_id: String,
    /// Coins k to move, e.g. 2.5
    #[arg(allow_negative_numbers = true)]
    pub amount_k: String,
    /// Your resident id [default: the resident registered by this keypair]
    #[arg(long)]
    pub from: Option<String>,
}

#[derive(Args)]
pub struct CollectArgs {
    /// The producer meter whose earnings go to its owner's coin account
    pub meter_id: String,
}

pub async fn fund(globals: &Globals, args: FundArgs) -> anyhow::Result<()> {
    let amount = parse_k(&args.amount_k).map_err(|e| anyhow!("invalid amount: {e}"))?;
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let (meter, _) = client.meter(&grid_address, &args.meter_id).await?;
    let (resident, state) =
        my_resident(&client, &grid_address, &grid, args.from.as_deref()).await?;
    let ix = instructions::fund(&client.payer(), &grid_address, &resident, &meter, amount);
    let signature = client.send_without_events(&[ix], &[]).await?;
    let (_, after) = client.meter(&grid_address, &args.meter_id).await?;
    let left = client.token_amount(&state.coins).await?;
    globals.output().show(&Funded {
        meter: args.meter_id,
        from: state.id,
        amount_k: format_k(amount),
        balance_k: format_k(after.balance_units),
        debt_k: format_k(after.debt_units),
        connected: after.connected,
        resident_balance_k: format_k(left),
        signature,
    });
    Ok(())
}

/// Coins moved from a resident into a meter's prepaid balance, and where both stand after.
#[derive(Serialize)]
struct Funded {
    meter: String,
    from: String,
    amount_k: String,
    balance_k: String,
    debt_k: String,
    connected: bool,
    resident_balance_k: String,
    signature: String,
}

impl fmt::Display for Funded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Funded {} with {} k from {}: balance {} k, {}; {} has {} k left",
            self.meter,
            self.amount_k,
            self.from,
            self.balance_k,
            if self.connected {
                "connected"
            } else {
                "still disconnected"
            },
            self.from,
            self.resident_balance_k
        )
    }
}

pub async fn collect(globals: &Globals, args: CollectArgs) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    let (meter, state) = client.meter(&grid_address, &args.meter_id).await?;
    let ix = instructions::collect_earnings(&grid_address, &meter, &state.owner);
    let signature = client.send_without_events(&[ix], &[]).await?;
    globals.output().show(&Collected {
        meter: args.meter_id,
        collected_k: format_k(state.balance_units),
        signature,
    });
    Ok(())
}

/// A producer meter's earnings moved to its owner's coin account.
#[derive(Serialize)]
struct Collected {
    meter: String,
    collected_k: String,
    signature: String,
}

impl fmt::Display for Collected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Collected {} k from {} to its owner",
            self.collected_k, self.meter
        )
    }
}
