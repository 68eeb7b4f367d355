//! `deu report`: a meter's reading for an epoch, signed with its gateway keypair (-k).

use anyhow::{anyhow, bail};
use clap::Args;
use energy_utility_sdk::amounts::{format_kwh, parse_kwh};
use energy_utility_sdk::instructions;
use serde_json::json;

use crate::context::{current_epoch, load_grid, Globals};

#[derive(Args)]
pub struct ReportArgs {
    pub meter_id: String,
    /// Energy in kWh for the epoch, e.g. 2.5 (0 is a valid reading)
    #[arg(allow_negative_numbers = true)]
    pub kwh: String,
    /// Epoch to report for [default: the current one]
    #[arg(long)]
    pub epoch: Option<u64>,
}

pub async fn run(globals: &Globals, args: ReportArgs) -> anyhow::Result<()> {
    let wh = parse_kwh(&args.kwh).map_err(|e| anyhow!("invalid kWh: {e}"))?;
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let (meter, state) = client.meter(&grid_address, &args.meter_id).await?;
    if state.gateway != client.payer() {
        bail!(
            "meter '{}' reports with gateway key {}; this keypair is {} (pass the gateway's keypair with -k)",
            args.meter_id,
            state.gateway,
            client.payer()
        );
    }
    let epoch = match args.epoch {
        Some(epoch) => epoch,
        None => current_epoch(&client, &grid).await?,
    };
    let payer = client.payer();
    let ix = instructions::report(&payer, &payer, &grid_address, &meter, epoch, wh);
    let signature = client.send(&[ix], &[]).await?;
    let (_, after) = client.meter(&grid_address, &args.meter_id).await?;
    globals.output().print(
        json!({
            "meter": args.meter_id,
            "epoch": epoch,
            "kwh": format_kwh(wh),
            "connected": after.connected,
            "signature": signature,
        }),
        || {
            format!(
                "{}: {} kWh for epoch {epoch}; {}",
                args.meter_id,
                format_kwh(wh),
                if after.connected {
                    "stay connected"
                } else {
                    "DISCONNECT (prepaid balance exhausted)"
                }
            )
        },
    );
    Ok(())
}
