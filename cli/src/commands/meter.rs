//! `deu meter`: install meters (admin), show and list them, and change them: what the admin
//! changes alone waits for the grid's notice (the owner sees it, and may veto it); with the
//! owner's keypair beside the admin's it applies at once.

use std::fmt;

use anchor_lang::prelude::Pubkey;
use anyhow::bail;
use clap::{Subcommand, ValueEnum};
use energy_utility_sdk::accounts::{MeterAct, MeterKind};
use energy_utility_sdk::amounts::{format_k, parse_kwh};
use energy_utility_sdk::instructions::RegisterMeterArgs;
use energy_utility_sdk::meters::default_capacity_w;
use energy_utility_sdk::views::MeterView;
use energy_utility_sdk::{instructions, pda, Client};
use serde::Serialize;

use crate::context::{load_grid, pubkey_arg, read_keypair, Globals};
use crate::output::{Row, Rows};

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Producer,
    Household,
    Pole,
    Stadium,
    Other,
}

impl From<Kind> for MeterKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Producer => MeterKind::Producer,
            Kind::Household => MeterKind::Household,
            Kind::Pole => MeterKind::Pole,
            Kind::Stadium => MeterKind::Stadium,
            Kind::Other => MeterKind::Other,
        }
    }
}

#[derive(Subcommand)]
pub enum MeterCommand {
    /// Install a meter (the grid's admin keypair). A new producer earns once the grid's notice
    /// has passed; until then its reports only set its starting register
    Register(RegisterArgs),
    /// Change a meter's nameplate capacity, in kW (admin; after the grid's notice unless the
    /// owner co-signs)
    SetCapacity {
        meter_id: String,
        capacity_kw: String,
        #[command(flatten)]
        owner: OwnerSignature,
    },
    /// A meter was replaced: readings go on from the new meter's register (admin; after the
    /// grid's notice unless the owner co-signs). Report the old meter's last register first,
    /// or its last hours are not billed
    Replace {
        meter_id: String,
        /// The new meter's register, in kWh
        #[arg(long)]
        register_kwh: String,
        /// The new device's gateway key, if it has one of its own (needs --owner-keypair:
        /// only one change can wait for the notice at a time)
        #[arg(long, requires = "owner_keypair")]
        gateway: Option<String>,
        #[command(flatten)]
        owner: OwnerSignature,
    },
    /// Show a meter: balance, connection, lifetime kWh, and any change waiting for its notice
    Show { meter_id: String },
    /// List the grid's meters
    List,
    /// Give a meter a new gateway key (admin; after the grid's notice unless the owner
    /// co-signs)
    RotateGateway {
        meter_id: String,
        gateway: String,
        #[command(flatten)]
        owner: OwnerSignature,
    },
    /// Retire a meter (admin; after the grid's notice unless the owner co-signs):
    /// disconnected for good; its spare coins go back to its owner
    Deactivate {
        meter_id: String,
        #[command(flatten)]
        owner: OwnerSignature,
    },
    /// Turn down the change the admin proposed for your meter (-k: the owner's wallet)
    Veto { meter_id: String },
    /// Take the grid's emergency credit for your meter when its coins run low (-k: the
    /// owner's wallet): it may run into debt by that much and stay connected, once per
    /// top-up cycle (the next funding ends it; the debt is repaid from fundings)
    EmergencyCredit { meter_id: String },
    /// Apply the change proposed for a meter once its notice has passed (anyone)
    Apply { meter_id: String },
    /// Close a retired meter once its readings are settled (admin): the rest of its coins go to
    /// its owner, its rent back to the admin, and its id is free again
    Close { meter_id: String },
    /// Make two meters one prosumer's bidirectional meter (admin): IMPORT a consumer meter
    /// (energy drawn from the grid) and EXPORT a producer meter (energy fed into it), of the
    /// same owner and gateway key. Their gateway then reports both registers together
    /// (`deu-gateway run` does so by itself); one alone is refused
    Pair {
        /// The consumer meter that counts what the home draws
        import_meter: String,
        /// The producer meter that counts what the home feeds in
        export_meter: String,
    },
}

/// The meter owner's wallet, co-signing an admin's change so that it applies at once.
#[derive(clap::Args)]
pub struct OwnerSignature {
    /// The owner's keypair file: with it the change applies now; without it, after the
    /// grid's notice, and the owner may veto it meanwhile
    #[arg(long)]
    owner_keypair: Option<std::path::PathBuf>,
}

// `deu meter register`'s arguments.
#[derive(clap::Args)]
pub struct RegisterArgs {
    meter_id: String,
    #[arg(long, value_enum)]
    kind: Kind,
    /// The resident who owns it (and receives a producer's earnings)
    #[arg(long)]
    owner: String,
    /// The meter device's public key (or its keypair file): the only key that can report
    #[arg(long)]
    gateway: String,
    #[arg(long, default_value = "")]
    label: String,
    /// Position on the community map, in degrees
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    lat: Option<f64>,
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    lon: Option<f64>,
    /// Nameplate power in kW: no reading may exceed it over the hours it covers
    /// [default: producer 10, household 20, pole 1, stadium 500, other 50]
    #[arg(long)]
    capacity_kw: Option<String>,
    /// The meter's register when installed, in kWh (a used meter's reading)
    #[arg(long, default_value = "0")]
    register_kwh: String,
}

/// Kilowatts as whole watts (e.g. "4.2" → 4,200), more than zero.
fn kw_arg(text: &str, name: &str) -> anyhow::Result<u64> {
    let watts = parse_kwh(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    if watts == 0 {
        bail!("{name} must be more than 0 kW");
    }
    Ok(watts)
}

fn micro_degrees(value: Option<f64>, limit: f64, name: &str) -> anyhow::Result<i32> {
    let degrees = value.unwrap_or(0.0);
    if !degrees.is_finite() || degrees.abs() > limit {
        bail!("--{name} must be between -{limit} and {limit} degrees");
    }
    Ok((degrees * 1e6).round() as i32)
}

pub async fn run(globals: &Globals, command: MeterCommand) -> anyhow::Result<()> {
    match command {
        MeterCommand::Register(args) => register(globals, args).await,
        MeterCommand::SetCapacity {
            meter_id,
            capacity_kw,
            owner,
        } => {
            let capacity_w = kw_arg(&capacity_kw, "capacity")?;
            let act = MeterAct::SetCapacity { capacity_w };
            change(globals, &meter_id, &[act], owner).await
        }
        MeterCommand::Replace {
            meter_id,
            register_kwh,
            gateway,
            owner,
        } => {
            let register_wh =
                parse_kwh(&register_kwh).map_err(|e| anyhow::anyhow!("--register-kwh: {e}"))?;
            let mut acts = vec![MeterAct::ReplaceRegister { register_wh }];
            if let Some(gateway) = gateway {
                let gateway = pubkey_arg(&gateway)?;
                acts.push(MeterAct::RotateGateway { gateway });
            }
            change(globals, &meter_id, &acts, owner).await
        }
        MeterCommand::Show { meter_id } => {
            let client = globals.reader();
            let (grid_address, _) = load_grid(globals, &client).await?;
            show(globals, &client, &grid_address, &meter_id).await
        }
        MeterCommand::List => {
            let client = globals.reader();
            let (grid_address, grid) = load_grid(globals, &client).await?;
            let meters = client.meters(&grid_address, grid.meter_count).await?;
            let owners: Vec<Pubkey> = meters.iter().map(|(_, m)| m.owner).collect();
            let owners = client.resident_ids(&owners).await?;
            let rows = meters
                .iter()
                .map(|(address, m)| MeterView::new(address, m, &owners[&m.owner]))
                .collect();
            globals.output().show(&Rows::new(
                rows,
                "no meters yet (install one with `deu meter register`)",
            ));
            Ok(())
        }
        MeterCommand::RotateGateway {
            meter_id,
            gateway,
            owner,
        } => {
            let gateway = pubkey_arg(&gateway)?;
            let act = MeterAct::RotateGateway { gateway };
            change(globals, &meter_id, &[act], owner).await
        }
        MeterCommand::Deactivate { meter_id, owner } => deactivate(globals, &meter_id, owner).await,
        MeterCommand::Veto { ref meter_id } | MeterCommand::EmergencyCredit { ref meter_id } => {
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, state) = client.meter(&grid_address, meter_id).await?;
            let build = if matches!(command, MeterCommand::Veto { .. }) {
                instructions::veto_meter_change
            } else {
                instructions::take_emergency_credit
            };
            let ix = build(&client.payer(), &grid_address, &meter, &state.owner);
            client.send_without_events(&[ix], &[]).await?;
            show(globals, &client, &grid_address, meter_id).await
        }
        MeterCommand::Apply { meter_id } => {
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, state) = client.meter(&grid_address, &meter_id).await?;
            let ix = instructions::apply_meter_change(&grid_address, &meter, &state.owner);
            client.send_without_events(&[ix], &[]).await?;
            show(globals, &client, &grid_address, &meter_id).await
        }
        MeterCommand::Close { meter_id } => close(globals, &meter_id).await,
        MeterCommand::Pair {
            import_meter,
            export_meter,
        } => pair(globals, &import_meter, &export_meter).await,
    }
}

async fn pair(globals: &Globals, import_id: &str, export_id: &str) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    let (import, _) = client.meter(&grid_address, import_id).await?;
    let (export, _) = client.meter(&grid_address, export_id).await?;
    let ix = instructions::pair_meters(&client.payer(), &grid_address, &import, &export);
    client.send_without_events(&[ix], &[]).await?;
    show(globals, &client, &grid_address, import_id).await
}

/// Proposes `acts` for `meter_id` (the keypair: the grid's admin), co-signed by the owner's
/// wallet when given: applied at once then, else waiting for the grid's notice.
async fn change(
    globals: &Globals,
    meter_id: &str,
    acts: &[MeterAct],
    owner: OwnerSignature,
) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    send_change(&client, &grid_address, meter_id, acts, &owner).await?;
    show(globals, &client, &grid_address, meter_id).await
}

async fn send_change(
    client: &Client,
    grid: &Pubkey,
    meter_id: &str,
    acts: &[MeterAct],
    owner: &OwnerSignature,
) -> anyhow::Result<()> {
    let (meter, state) = client.meter(grid, meter_id).await?;
    let owner_wallet = owner
        .owner_keypair
        .as_deref()
        .map(read_keypair)
        .transpose()?;
    let owner_key = owner_wallet.as_ref().map(solana_signer::Signer::pubkey);
    let ixs: Vec<_> = acts
        .iter()
        .map(|act| {
            instructions::change_meter(
                &client.payer(),
                grid,
                &meter,
                &state.owner,
                owner_key.as_ref(),
                *act,
            )
        })
        .collect();
    let signers: Vec<&solana_keypair::Keypair> = owner_wallet.iter().collect();
    client.send_without_events(&ixs, &signers).await?;
    Ok(())
}

async fn register(globals: &Globals, flags: RegisterArgs) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    let (owner_address, _) = client.resident(&grid_address, &flags.owner).await?;
    let kind: MeterKind = flags.kind.into();
    let capacity_w = match &flags.capacity_kw {
        Some(kw) => kw_arg(kw, "--capacity-kw")?,
        None => default_capacity_w(kind),
    };
    let register_wh =
        parse_kwh(&flags.register_kwh).map_err(|e| anyhow::anyhow!("--register-kwh: {e}"))?;
    let meter_id = flags.meter_id;
    if client.meter(&grid_address, &meter_id).await.is_ok() {
        bail!("meter '{meter_id}' already exists in grid '{}'", grid.name);
    }
    let args = RegisterMeterArgs {
        meter_id: meter_id.clone(),
        kind,
        gateway: pubkey_arg(&flags.gateway)?,
        label: flags.label,
        latitude_micro: micro_degrees(flags.lat, 90.0, "lat")?,
        longitude_micro: micro_degrees(flags.lon, 180.0, "lon")?,
        capacity_w,
        register_wh,
    };
    client
        .register_meter(&grid_address, &owner_address, args)
        .await?;
    // The meter joins the grid's lookup tables, so the crank settles it in v0 batches.
    client.sync_lookup_tables(&grid_address).await?;
    show(globals, &client, &grid_address, &meter_id).await
}

async fn show(globals: &Globals, client: &Client, grid: &Pubkey, id: &str) -> anyhow::Result<()> {
    let (address, meter) = client.meter(grid, id).await?;
    let owners = client.resident_ids(&[meter.owner]).await?;
    let mut view = MeterView::new(&address, &meter, &owners[&meter.owner]);
    if meter.is_consumer() {
        let grid_state = client
            .account::<energy_utility_sdk::accounts::Grid>(grid)
            .await?;
        if let Some(grid_state) = grid_state {
            let now = client.cluster_time().await?;
            let told = energy_utility_sdk::history::History::new()
                .told(client, &[address])
                .await?;
            let forecast = energy_utility_sdk::history::forecast_now(
                &address,
                &meter,
                &told,
                &grid_state,
                now,
            );
            view = view.with_forecast(&meter, forecast);
        }
    }
    globals.output().show(&view);
    Ok(())
}

impl Row for MeterView {
    fn line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<20} {:<10} {:<12} {:>14} k  {:>12} kWh  {}",
            self.id,
            self.kind,
            self.owner,
            self.balance_k,
            self.lifetime_kwh,
            if self.connected {
                "connected"
            } else {
                "DISCONNECTED"
            }
        )
    }
}

async fn deactivate(
    globals: &Globals,
    meter_id: &str,
    owner: OwnerSignature,
) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    let (_, state) = client.meter(&grid_address, meter_id).await?;
    let owner_coins = pda::coins(&state.owner);
    let before = client.token_amount(&owner_coins).await?;
    send_change(
        &client,
        &grid_address,
        meter_id,
        &[MeterAct::Deactivate],
        &owner,
    )
    .await?;
    let (address, after) = client.meter(&grid_address, meter_id).await?;
    if after.active {
        // Waiting for the notice: the meter shows the pending retirement.
        return show(globals, &client, &grid_address, meter_id).await;
    }
    let refunded = client.token_amount(&owner_coins).await? - before;
    let owners = client.resident_ids(&[after.owner]).await?;
    globals.output().show(&Retired {
        meter: MeterView::new(&address, &after, &owners[&after.owner]),
        refunded_k: format_k(refunded),
        pending_readings: after.has_pending_readings(),
    });
    Ok(())
}

/// A meter just retired: the meter as it is now, and the spare coins its owner got back.
#[derive(Serialize)]
struct Retired {
    #[serde(flatten)]
    meter: MeterView,
    refunded_k: String,
    /// Whether readings still wait for settlement before the meter can be closed.
    #[serde(skip)]
    pending_readings: bool,
}

impl fmt::Display for Retired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Retired {}: {} k refunded to {}{}\n{}",
            self.meter.id,
            self.refunded_k,
            self.meter.owner,
            if self.pending_readings {
                "; its unsettled readings still settle, then `deu meter close` returns the rest and the rent"
            } else {
                "; `deu meter close` returns its rent"
            },
            self.meter
        )
    }
}

async fn close(globals: &Globals, meter_id: &str) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, _) = load_grid(globals, &client).await?;
    let (meter, state) = client.meter(&grid_address, meter_id).await?;
    let owner_coins = pda::coins(&state.owner);
    let before = client.token_amount(&owner_coins).await?;
    let rent_before = client.lamports(&state.rent_payer).await?;
    let ix = instructions::close_meter(
        &client.payer(),
        &grid_address,
        &meter,
        state.index,
        &state.owner,
        &state.rent_payer,
    );
    // What is left on the meter repays its debt first (the program's own rule); the rest of
    // the debt is written off.
    let mut closing = state.clone();
    let debt_repaid = closing.repay_debt_from_balance();
    let signature = client.send_without_events(&[ix], &[]).await?;
    let refunded = client.token_amount(&owner_coins).await? - before;
    let rent = client
        .lamports(&state.rent_payer)
        .await?
        .saturating_sub(rent_before);
    globals.output().show(&Closed {
        meter: meter_id.to_string(),
        closed: true,
        refunded_k: format_k(refunded),
        debt_repaid_k: format_k(debt_repaid),
        forgiven_debt_k: format_k(closing.debt_units),
        rent_lamports: rent,
        signature,
        rent_payer: state.rent_payer.to_string(),
        forgives_debt: closing.debt_units > 0,
    });
    Ok(())
}

/// A retired meter closed: the coins its owner got, the debt written off, the rent returned.
#[derive(Serialize)]
struct Closed {
    meter: String,
    closed: bool,
    refunded_k: String,
    debt_repaid_k: String,
    forgiven_debt_k: String,
    rent_lamports: u64,
    signature: String,
    #[serde(skip)]
    rent_payer: String,
    #[serde(skip)]
    forgives_debt: bool,
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Closed {}: {} k to its owner, {} lamports of rent back to {}",
            self.meter, self.refunded_k, self.rent_lamports, self.rent_payer
        )?;
        if self.debt_repaid_k != format_k(0) {
            write!(
                f,
                "; {} k of its debt repaid from its balance",
                self.debt_repaid_k
            )?;
        }
        if self.forgives_debt {
            write!(f, "; its {} k of debt is written off", self.forgiven_debt_k)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn carlos_house() -> MeterView {
        MeterView {
            id: "carlos-house".into(),
            address: "MeTeR".into(),
            kind: "household",
            owner: "carlos".into(),
            label: String::new(),
            gateway: "GaTe".into(),
            active: false,
            retired: true,
            connected: true,
            balance_k: "2.000000".into(),
            committed_k: "0.000000".into(),
            debt_k: "0.000000".into(),
            lifetime_kwh: "3.000".into(),
            lifetime_k: "3.000000".into(),
            funded_k: "5.000000".into(),
            last_epoch: Some(7),
            last_kwh: Some("3.000".into()),
            last_hours: Some(1),
            last_reported_epoch: Some(7),
            register_kwh: "3.000".into(),
            capacity_kw: "20.000".into(),
            silent: false,
            latitude: 0.0,
            longitude: 0.0,
            earns_from_epoch: 0,
            pending_change: None,
            partner: None,
            forecast: None,
            emergency_k: "0.000000".into(),
        }
    }

    #[test]
    fn a_listed_meter_is_one_line() {
        assert_eq!(
            Rows::new(vec![carlos_house()], "").to_string(),
            "carlos-house         household  carlos             2.000000 k         3.000 kWh  connected"
        );
    }

    #[test]
    fn a_retired_meter_is_the_meter_and_its_refund() {
        let retired = Retired {
            meter: carlos_house(),
            refunded_k: "2.000000".into(),
            pending_readings: true,
        };
        let mut expected = serde_json::to_value(carlos_house()).unwrap();
        expected["refunded_k"] = json!("2.000000");
        assert_eq!(serde_json::to_value(&retired).unwrap(), expected);
        assert_eq!(
            retired.to_string(),
            format!(
                "Retired carlos-house: 2.000000 k refunded to carlos; its unsettled readings still settle, then `deu meter close` returns the rest and the rent\n{}",
                carlos_house()
            )
        );
    }

    #[test]
    fn a_closed_meter_names_the_debt_it_forgives() {
        let mut closed = Closed {
            meter: "carlos-house".into(),
            closed: true,
            refunded_k: "0.000000".into(),
            debt_repaid_k: "0.000000".into(),
            forgiven_debt_k: "0.500000".into(),
            rent_lamports: 3_000_000,
            signature: "SiG".into(),
            rent_payer: "AdMiN".into(),
            forgives_debt: true,
        };
        assert_eq!(
            closed.to_string(),
            "Closed carlos-house: 0.000000 k to its owner, 3000000 lamports of rent back to AdMiN; its 0.500000 k of debt is written off"
        );
        assert_eq!(
            serde_json::to_value(&closed).unwrap(),
            json!({"meter": "carlos-house", "closed": true, "refunded_k": "0.000000",
                "debt_repaid_k": "0.000000", "forgiven_debt_k": "0.500000",
                "rent_lamports": 3_000_000, "signature": "SiG"})
        );
        (closed.forgiven_debt_k, closed.forgives_debt) = ("0.000000".into(), false);
        assert_eq!(
            closed.to_string(),
            "Closed carlos-house: 0.000000 k to its owner, 3000000 lamports of rent back to AdMiN"
        );
        closed.debt_repaid_k = "1.250000".into();
        assert_eq!(
            closed.to_string(),
            "Closed carlos-house: 0.000000 k to its owner, 3000000 lamports of rent back to AdMiN; 1.250000 k of its debt repaid from its balance"
        );
    }
}
