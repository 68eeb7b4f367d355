//! `deu report`: a meter's register for an epoch, signed with its gateway keypair (-k). Either
//! the hour's energy (`deu report METER 2.5`: added to the register the chain holds) or the
//! meter's own cumulative register (`--register 1234.5`), as a gateway sends it.

use anyhow::{anyhow, bail};
use clap::Args;
use energy_utility_sdk::amounts::{format_kwh, parse_kwh};
use energy_utility_sdk::instructions;
use serde_json::json;

use crate::context::{current_epoch, load_grid, Globals};

#[derive(Args)]
pub struct ReportArgs {
    pub meter_id: String,
    /// Energy in kWh since the meter's last report, e.g. 2.5 (0 is a valid reading)
    #[arg(allow_negative_numbers = true, required_unless_present = "register")]
    pub kwh: Option<String>,
    /// The meter's cumulative register in kWh instead (what a gateway sends)
    #[arg(long, conflicts_with = "kwh")]
    pub register: Option<String>,
    /// Epoch to report for [default: the current one]
    #[arg(long)]
    pub epoch: Option<u64>,
}

pub async fn run(globals: &Globals, args: ReportArgs) -> anyhow::Result<()> {
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
    let register_wh = match (&args.kwh, &args.register) {
        (_, Some(register)) => {
            parse_kwh(register).map_err(|e| anyhow!("invalid --register: {e}"))?
        }
        (Some(kwh), None) => {
            let wh = parse_kwh(kwh).map_err(|e| anyhow!("invalid kWh: {e}"))?;
            state
                .last_register_wh
                .checked_add(wh)
                .ok_or_else(|| anyhow!("the register would overflow"))?
        }
        (None, None) => bail!("give the hour's kWh or the meter's --register"),
    };
    let epoch = match args.epoch {
        Some(epoch) => epoch,
        None => current_epoch(&client, &grid).await?,
    };
    let payer = client.payer();
    let ix = instructions::report(&payer, &payer, &grid_address, &meter, epoch, register_wh);
    let signature = client.send(&[ix], &[]).await?;
    let (_, after) = client.meter(&grid_address, &args.meter_id).await?;
    let reading = after
        .readings
        .iter()
        .find(|r| {
            r.epoch == epoch && r.status != energy_utility_sdk::accounts::ReadingStatus::Empty
        })
        .copied();
    globals.output().print(
        json!({
            "meter": args.meter_id,
            "epoch": epoch,
            "register_kwh": format_kwh(register_wh),
            "kwh": reading.map(|r| format_kwh(r.wh)),
            "hours": reading.map(|r| r.hours),
            "deferred": reading.is_none(),
            "connected": after.connected,
            "signature": signature,
        }),
        || {
            let what = match reading {
                Some(r) if r.hours > 1 => format!(
                    "{} kWh over the {} epochs since its last reading",
                    format_kwh(r.wh),
                    r.hours
                ),
                Some(r) => format!("{} kWh", format_kwh(r.wh)),
                None => "kept for its next reading (the crank is behind)".to_string(),
            };
            format!(
                "{}: register {} kWh for epoch {epoch}: {what}; {}",
                args.meter_id,
                format_kwh(register_wh),
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
