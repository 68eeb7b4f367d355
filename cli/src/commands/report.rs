//! `deu report`: a meter's register for an epoch, signed with its gateway keypair (-k). Either
//! the hour's energy (`deu report METER 2.5`: added to the register the chain holds) or the
//! meter's own cumulative register (`--register 1234.5`), as a gateway sends it.

use std::fmt;

use anyhow::{anyhow, bail};
use clap::Args;
use energy_utility_sdk::amounts::parse_kwh;
use energy_utility_sdk::instructions;
use serde::Serialize;

use crate::context::{current_epoch, load_grid, Globals};
use energy_utility_sdk::views::Reported;

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
    let signature = client.send_without_events(&[ix], &[]).await?;
    let (_, after) = client.meter(&grid_address, &args.meter_id).await?;
    let reported = Reported::new(&after, epoch, register_wh);
    globals.output().show(&Report {
        meter: args.meter_id,
        deferred: reported.kwh.is_none(),
        reported,
        connected: after.connected,
        signature,
    });
    Ok(())
}

/// A meter's report: its register, the reading the chain made of it, and whether the meter
/// stays connected.
#[derive(Serialize)]
struct Report {
    meter: String,
    #[serde(flatten)]
    reported: Reported,
    /// The chain kept the register for the meter's next reading.
    deferred: bool,
    connected: bool,
    signature: String,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; {}",
            self.meter,
            self.reported,
            if self.connected {
                "stay connected"
            } else {
                "DISCONNECT (prepaid balance exhausted)"
            }
        )
    }
}
