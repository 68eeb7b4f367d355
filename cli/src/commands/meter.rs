//! `deu meter`: install meters (admin), show and list them.

use anchor_lang::prelude::Pubkey;
use anyhow::bail;
use clap::{Subcommand, ValueEnum};
use energy_utility::instructions::RegisterMeterArgs;
use energy_utility_sdk::accounts::MeterKind;
use energy_utility_sdk::amounts::{format_k, format_kwh, parse_kwh};
use energy_utility_sdk::meters::default_capacity_w;
use energy_utility_sdk::{instructions, Client};
use serde_json::Value;

use crate::context::{load_grid, pubkey_arg, Globals};
use energy_utility_sdk::views::{kind_name, meter_json, meter_text};

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
    /// Install a meter (the grid's admin keypair)
    Register {
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
    },
    /// Change a meter's nameplate capacity, in kW (admin)
    SetCapacity {
        meter_id: String,
        capacity_kw: String,
    },
    /// A meter was replaced: readings go on from the new meter's register (admin). Report the
    /// old meter's last register first, or its last hours are not billed
    Replace {
        meter_id: String,
        /// The new meter's register, in kWh
        #[arg(long)]
        register_kwh: String,
        /// The new device's gateway key, if it has one of its own
        #[arg(long)]
        gateway: Option<String>,
    },
    /// Show a meter: balance, connection, lifetime kWh
    Show { meter_id: String },
    /// List the grid's meters
    List,
    /// Give a meter a new gateway key (admin)
    RotateGateway { meter_id: String, gateway: String },
    /// Retire a meter (admin): disconnected for good; its spare coins go back to its owner
    Deactivate { meter_id: String },
    /// Close a retired meter once its readings are settled (admin): the rest of its coins go to
    /// its owner, its rent back to the admin, and its id is free again
    Close { meter_id: String },
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
        MeterCommand::Register {
            meter_id,
            kind,
            owner,
            gateway,
            label,
            lat,
            lon,
            capacity_kw,
            register_kwh,
        } => {
            let client = globals.client()?;
            let (grid_address, grid) = load_grid(globals, &client).await?;
            let (owner_address, _) = client.resident(&grid_address, &owner).await?;
            let kind: MeterKind = kind.into();
            let capacity_w = match capacity_kw {
                Some(kw) => kw_arg(&kw, "--capacity-kw")?,
                None => default_capacity_w(kind),
            };
            let register_wh =
                parse_kwh(&register_kwh).map_err(|e| anyhow::anyhow!("--register-kwh: {e}"))?;
            if client.meter(&grid_address, &meter_id).await.is_ok() {
                bail!("meter '{meter_id}' already exists in grid '{}'", grid.name);
            }
            let args = RegisterMeterArgs {
                meter_id: meter_id.clone(),
                kind,
                gateway: pubkey_arg(&gateway)?,
                label,
                latitude_micro: micro_degrees(lat, 90.0, "lat")?,
                longitude_micro: micro_degrees(lon, 180.0, "lon")?,
                capacity_w,
                register_wh,
            };
            let ix = instructions::register_meter(
                &client.payer(),
                &grid_address,
                &owner_address,
                grid.meter_count,
                args,
            );
            client.send(&[ix], &[]).await?;
            // The meter joins the grid's lookup tables, so the crank settles it in v0 batches.
            client.sync_lookup_tables(&grid_address).await?;
            show(globals, &client, &grid_address, &meter_id).await
        }
        MeterCommand::SetCapacity {
            meter_id,
            capacity_kw,
        } => {
            let capacity_w = kw_arg(&capacity_kw, "capacity")?;
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, _) = client.meter(&grid_address, &meter_id).await?;
            let ix = instructions::set_meter_capacity(
                &client.payer(),
                &grid_address,
                &meter,
                capacity_w,
            );
            client.send(&[ix], &[]).await?;
            show(globals, &client, &grid_address, &meter_id).await
        }
        MeterCommand::Replace {
            meter_id,
            register_kwh,
            gateway,
        } => {
            let register_wh =
                parse_kwh(&register_kwh).map_err(|e| anyhow::anyhow!("--register-kwh: {e}"))?;
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, _) = client.meter(&grid_address, &meter_id).await?;
            let mut ixs = vec![instructions::replace_meter_register(
                &client.payer(),
                &grid_address,
                &meter,
                register_wh,
            )];
            if let Some(gateway) = gateway {
                ixs.push(instructions::rotate_gateway(
                    &client.payer(),
                    &grid_address,
                    &meter,
                    &pubkey_arg(&gateway)?,
                ));
            }
            client.send(&ixs, &[]).await?;
            show(globals, &client, &grid_address, &meter_id).await
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
            let rows: Vec<Value> = meters
                .iter()
                .map(|(address, m)| meter_json(address, m, &owners[&m.owner]))
                .collect();
            let lines: Vec<String> = meters
                .iter()
                .map(|(_, m)| {
                    format!(
                        "{:<20} {:<10} {:<12} {:>14} k  {:>12} kWh  {}",
                        m.id,
                        kind_name(m.kind),
                        owners[&m.owner],
                        format_k(m.balance_units),
                        format_kwh(m.lifetime_wh),
                        if m.connected {
                            "connected"
                        } else {
                            "DISCONNECTED"
                        }
                    )
                })
                .collect();
            globals.output().print(Value::Array(rows), || {
                if lines.is_empty() {
                    "no meters yet (install one with `deu meter register`)".to_string()
                } else {
                    lines.join("\n")
                }
            });
            Ok(())
        }
        MeterCommand::RotateGateway { meter_id, gateway } => {
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, _) = client.meter(&grid_address, &meter_id).await?;
            let new_gateway = pubkey_arg(&gateway)?;
            let ix =
                instructions::rotate_gateway(&client.payer(), &grid_address, &meter, &new_gateway);
            client.send(&[ix], &[]).await?;
            show(globals, &client, &grid_address, &meter_id).await
        }
        MeterCommand::Deactivate { meter_id } => {
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, state) = client.meter(&grid_address, &meter_id).await?;
            let owner_coins = energy_utility_sdk::pda::coins(&state.owner);
            let before = client.token_amount(&owner_coins).await?;
            let ix = instructions::deactivate_meter(
                &client.payer(),
                &grid_address,
                &meter,
                &state.owner,
            );
            client.send(&[ix], &[]).await?;
            let refunded = client.token_amount(&owner_coins).await? - before;
            let (address, after) = client.meter(&grid_address, &meter_id).await?;
            let owners = client.resident_ids(&[after.owner]).await?;
            let owner = &owners[&after.owner];
            let mut row = meter_json(&address, &after, owner);
            row["refunded_k"] = Value::String(format_k(refunded));
            globals.output().print(row, || {
                format!(
                    "Retired {meter_id}: {} k refunded to {owner}{}\n{}",
                    format_k(refunded),
                    if after.has_pending_readings() {
                        "; its unsettled readings still settle, then `deu meter close` returns the rest and the rent"
                    } else {
                        "; `deu meter close` returns its rent"
                    },
                    meter_text(&address, &after, owner)
                )
            });
            Ok(())
        }
        MeterCommand::Close { meter_id } => {
            let client = globals.client()?;
            let (grid_address, _) = load_grid(globals, &client).await?;
            let (meter, state) = client.meter(&grid_address, &meter_id).await?;
            let owner_coins = energy_utility_sdk::pda::coins(&state.owner);
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
            let signature = client.send(&[ix], &[]).await?;
            let refunded = client.token_amount(&owner_coins).await? - before;
            let rent = client
                .lamports(&state.rent_payer)
                .await?
                .saturating_sub(rent_before);
            globals.output().print(
                serde_json::json!({
                    "meter": meter_id,
                    "closed": true,
                    "refunded_k": format_k(refunded),
                    "forgiven_debt_k": format_k(state.debt_units),
                    "rent_lamports": rent,
                    "signature": signature,
                }),
                || {
                    format!(
                        "Closed {meter_id}: {} k to its owner, {} lamports of rent back to {}{}",
                        format_k(refunded),
                        rent,
                        state.rent_payer,
                        if state.debt_units > 0 {
                            format!(
                                "; its {} k of debt is written off",
                                format_k(state.debt_units)
                            )
                        } else {
                            String::new()
                        }
                    )
                },
            );
            Ok(())
        }
    }
}

async fn show(globals: &Globals, client: &Client, grid: &Pubkey, id: &str) -> anyhow::Result<()> {
    let (address, meter) = client.meter(grid, id).await?;
    let owners = client.resident_ids(&[meter.owner]).await?;
    let owner = &owners[&meter.owner];
    globals
        .output()
        .print(meter_json(&address, &meter, owner), || {
            meter_text(&address, &meter, owner)
        });
    Ok(())
}
