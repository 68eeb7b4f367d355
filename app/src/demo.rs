//! `deu demo`: seeds a community on a fresh local cluster, and moves its hour forward on a
//! click: every meter reports, the clock passes the grace window, the crank settles, and
//! producers' earnings are collected to their owners.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use anyhow::Context as _;
use energy_utility_sdk::accounts::Meter;
use energy_utility_sdk::amounts::{format_k, format_kwh};
use energy_utility_sdk::constants::UNITS_PER_COIN;
use energy_utility_sdk::instructions::{InitializeGridArgs, RegisterMeterArgs};
use energy_utility_sdk::views::EpochView;
use energy_utility_sdk::{instructions, pda, Client, SdkError};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::community::{consumption_wh, production_wh, Rng, METERS, RESIDENTS};
use crate::error::ApiError;
use crate::{App, Custody};

/// The map's corner in degrees, and its span: demo meters are placed inside it.
pub const MAP_LAT: f64 = 45.50;
pub const MAP_LON: f64 = -73.60;
pub const MAP_SPAN_LAT: f64 = 0.006;
pub const MAP_SPAN_LON: f64 = 0.010;

const SOL: u64 = 1_000_000_000;

/// The demo grid's notice: what the utility changes alone waits two hours (two clicks of the
/// clock), short enough to watch a change come, and to veto it.
pub const DEMO_NOTICE_SECONDS: u32 = 2 * 3_600;

/// The demo grid's rules of dollars: coins bought by card are held from sale for an hour (one
/// click of the clock; a real grid holds them 14 days, past a stolen card's dispute), and a
/// change of payout account waits two hours (a real grid: 48).
pub const DEMO_PAYMENT_RULES: energy_utility_sdk::accounts::PaymentRules =
    energy_utility_sdk::accounts::PaymentRules {
        card_hold_seconds: 3_600,
        payout_notice_seconds: 2 * 3_600,
    };

/// The demo grid's emergency credit: a consumer low on coins may run 2 k into debt, once per
/// top-up cycle. (Its tariff stays flat and it has no friendly hours: the pages' tests expect
/// the seed's figures at whatever hour the demo's clock shows.)
pub const DEMO_EMERGENCY_CREDIT_UNITS: u64 = 2_000_000;

/// The change the demo's utility proposes alone at the start, for the Tigers to see on their
/// page (and veto, or let through): the ballpark's lights to 600 kW.
pub const DEMO_PROPOSED_CAPACITY_W: u64 = 600_000;

/// Creates the grid and the community on a fresh cluster; returns the keys it holds.
pub async fn seed(client: &Client, grid_name: &str) -> anyhow::Result<Custody> {
    let utility = client
        .keypair()
        .context("the demo's client signs with a keypair it holds")?
        .insecure_clone();
    client.airdrop(&utility.pubkey(), 100 * SOL).await?;
    let defaults = InitializeGridArgs::with_defaults(grid_name, utility.pubkey());
    let args = InitializeGridArgs {
        notice_seconds: DEMO_NOTICE_SECONDS,
        payment_rules: DEMO_PAYMENT_RULES,
        params: energy_utility_sdk::accounts::EpochParams {
            credit: energy_utility_sdk::accounts::CreditRules {
                emergency_credit_units: DEMO_EMERGENCY_CREDIT_UNITS,
                ..defaults.params.credit
            },
            ..defaults.params
        },
        ..defaults
    };
    client
        .send_without_events(
            &[instructions::initialize_grid(&utility.pubkey(), args)],
            &[],
        )
        .await?;
    let (grid, _) = client.grid(grid_name).await?;
    let now = client.cluster_time().await?;

    let mut residents = BTreeMap::new();
    for plan in RESIDENTS {
        let wallet = Keypair::new();
        client.airdrop(&wallet.pubkey(), SOL).await?;
        client.register_resident(&wallet, &grid, plan.id).await?;
        let resident = pda::resident(&grid, plan.id);
        let payment_id = format!("demo-buy-{}", plan.id);
        let buy = instructions::add_fiat(
            &utility.pubkey(),
            &grid,
            &resident,
            plan.buys_usd_cents,
            &payment_id,
            now,
        );
        client.send_without_events(&[buy], &[]).await?;
        residents.insert(plan.id.to_string(), wallet);
    }

    // The roofs first: like any new producer they share the pool once the grid's notice has
    // passed, and the demo's clock starts at the first epoch they earn in. The consumers are
    // installed then, so their first reading is the first hour shown.
    let mut gateways = BTreeMap::new();
    let (producers, consumers): (Vec<_>, Vec<_>) =
        METERS.iter().partition(|plan| plan.kind.is_producer());
    for plan in producers {
        install(client, &grid, plan, &residents, &mut gateways).await?;
    }
    let (_, grid_state) = client.grid(grid_name).await?;
    let earning = client
        .meters(&grid, grid_state.meter_count)
        .await?
        .iter()
        .map(|(_, m)| m.earns_from_epoch)
        .max()
        .unwrap_or(0);
    let starts = grid_state.genesis_ts + earning as i64 * grid_state.epoch_seconds as i64;
    let now = client.cluster_time().await?;
    if starts > now {
        client.advance_clock(starts - now).await?;
    }
    for plan in consumers {
        install(client, &grid, plan, &residents, &mut gateways).await?;
    }
    // Each prosumer home's two sides become one bidirectional meter.
    for plan in METERS.iter().filter(|p| p.kind.is_producer()) {
        if let Some(import) = plan.partner {
            let ix = instructions::pair_meters(
                &utility.pubkey(),
                &grid,
                &pda::meter(&grid, import),
                &pda::meter(&grid, plan.id),
            );
            client.send_without_events(&[ix], &[]).await?;
        }
    }
    // Every meter in the grid's lookup tables: the crank settles the hour in v0 batches.
    client.sync_lookup_tables(&grid).await?;
    // The utility proposes, alone, bigger lights for the ballpark: it waits for the notice,
    // shown on the map and the Tigers' pages, where they may veto it.
    let stadium = pda::meter(&grid, "stadium");
    let tigers = pda::resident(&grid, "tigers");
    let act = instructions::MeterAct::SetCapacity {
        capacity_w: DEMO_PROPOSED_CAPACITY_W,
    };
    let propose =
        instructions::change_meter(&utility.pubkey(), &grid, &stadium, &tigers, None, act);
    client.send_without_events(&[propose], &[]).await?;
    Ok(Custody {
        utility,
        residents,
        gateways,
    })
}

/// Installs one of the demo's meters, with a gateway key the demo holds, and its prepaid
/// coins from the residents who fund it.
async fn install(
    client: &Client,
    grid: &Pubkey,
    plan: &crate::community::MeterPlan,
    residents: &BTreeMap<String, Keypair>,
    gateways: &mut BTreeMap<String, Keypair>,
) -> anyhow::Result<()> {
    // A prosumer's two sides share their gateway.
    let gateway = plan
        .partner
        .and_then(|other| gateways.get(other))
        .map_or_else(Keypair::new, Keypair::insecure_clone);
    let args = RegisterMeterArgs {
        meter_id: plan.id.to_string(),
        kind: plan.kind,
        gateway: gateway.pubkey(),
        label: plan.label.to_string(),
        latitude_micro: ((MAP_LAT + (1.0 - plan.y) * MAP_SPAN_LAT) * 1e6).round() as i32,
        longitude_micro: ((MAP_LON + plan.x * MAP_SPAN_LON) * 1e6).round() as i32,
        capacity_w: plan.nameplate_w(),
        register_wh: 0,
    };
    let owner = pda::resident(grid, plan.owner);
    client.register_meter(grid, &owner, args).await?;
    let meter = pda::meter(grid, plan.id);
    for (funder, k) in plan.funding {
        let wallet = &residents[*funder];
        let resident = pda::resident(grid, funder);
        let ix = instructions::fund(
            &wallet.pubkey(),
            grid,
            &resident,
            &meter,
            k * UNITS_PER_COIN,
        );
        client.send_without_events(&[ix], &[wallet]).await?;
    }
    gateways.insert(plan.id.to_string(), gateway);
    Ok(())
}

/// One hour passes (see the module comment). Returns a summary of the settlement.
pub async fn advance_hour(app: &App) -> Result<Value, ApiError> {
    let custody = app.custody.as_ref().ok_or_else(|| {
        ApiError::forbidden("moving the clock is only possible in the demo (deu demo)")
    })?;
    let _one_at_a_time = app.actions.lock().await;
    let client = &app.client;
    let (grid_address, grid) = client.grid(&app.grid_name).await?;
    let now = client.cluster_time().await?;
    let epoch = grid
        .epoch_at(now)
        .map_err(|_| ApiError::bad_request("the clock is before the grid's first epoch"))?;
    let meters = client.meters(&grid_address, grid.meter_count).await?;

    // Readings: consumers by the hour of day (nothing while disconnected), producers 10 % above.
    let mut rng = Rng::new(0x5EED ^ epoch.wrapping_mul(0x9E37_79B9));
    let mut readings: Vec<(Pubkey, &Meter, u64)> = Vec::new();
    let mut consumed = 0;
    for (address, meter) in meters.iter().filter(|(_, m)| m.is_consumer() && m.active) {
        let wh = if meter.connected {
            consumption_wh(meter.kind, epoch % 24, &mut rng)
        } else {
            0
        };
        consumed += wh;
        readings.push((*address, meter, wh));
    }
    let producers: Vec<&(Pubkey, Meter)> = meters
        .iter()
        .filter(|(_, m)| m.kind.is_producer() && m.active)
        .collect();
    let capacities: Vec<u64> = producers
        .iter()
        .map(|(_, m)| {
            METERS
                .iter()
                .find(|p| p.id == m.id)
                .map_or(3_000, |p| p.capacity_w)
        })
        .collect();
    for ((address, meter), wh) in producers
        .iter()
        .map(|(a, m)| (a, m))
        .zip(production_wh(consumed, &capacities))
    {
        readings.push((*address, meter, wh));
    }
    // Each meter's register moves by its hour's energy; the gateway reports the register (a
    // prosumer's, both registers together: sent with its import side).
    let payer = client.payer();
    for (address, meter, wh) in &readings {
        let Some(gateway) = custody.gateways.get(&meter.id) else {
            continue;
        };
        let ix = if meter.partner == Pubkey::default() {
            instructions::report(
                &gateway.pubkey(),
                &payer,
                &grid_address,
                address,
                epoch,
                meter.last_register_wh + wh,
            )
        } else if meter.is_consumer() {
            let Some((_, export, fed)) = readings.iter().find(|(a, _, _)| *a == meter.partner)
            else {
                continue;
            };
            let meters = instructions::ProsumerMeters {
                import: *address,
                export: meter.partner,
            };
            instructions::report_prosumer(
                &gateway.pubkey(),
                &payer,
                &grid_address,
                &meters,
                epoch,
                meter.last_register_wh + wh,
                export.last_register_wh + fed,
            )
        } else {
            continue;
        };
        match client.send_without_events(&[ix], &[gateway]).await {
            Ok(_) => {}
            Err(e) if e.program_error_name() == Some("DuplicateReading") => {}
            Err(e) => return Err(e.into()),
        }
    }

    // The hour and its grace window pass; the crank settles it.
    let closes = client.reports_close_at(&grid_address, &grid, epoch).await?;
    client.advance_clock(closes - now + 1).await?;
    let mut no_progress = |_: usize, _: usize| {};
    client
        .settle_epoch(&grid_address, grid.meter_count, epoch, &mut no_progress)
        .await?;
    client.disconnect_silent_meters(&grid_address).await?;
    // What the utility proposed and its notice has let through applies.
    client.apply_due_changes(&grid_address).await?;

    // Producers' earnings go to their owners.
    let mut payouts = Vec::new();
    for (address, _) in &producers {
        let Some(meter) = client.account::<Meter>(address).await? else {
            continue;
        };
        let owner = client
            .account::<energy_utility_sdk::accounts::Resident>(&meter.owner)
            .await?
            .map_or_else(|| meter.owner.to_string(), |r| r.id);
        let wh = readings
            .iter()
            .find(|(a, _, _)| a == address)
            .map_or(0, |(_, _, wh)| *wh);
        payouts.push(json!({"meter": meter.id, "owner": owner, "kwh": format_kwh(wh), "payout_k": format_k(meter.balance_units)}));
        if meter.balance_units > 0 {
            match client
                .send_without_events(
                    &[instructions::collect_earnings(
                        &grid_address,
                        address,
                        &meter.owner,
                    )],
                    &[],
                )
                .await
            {
                Ok(_) | Err(SdkError::Program(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut summary = match client.epoch(&grid_address, epoch).await? {
        Some(state) => {
            let mut row = json!(EpochView::new(epoch, &state));
            row["pool_k"] = json!(format_k(state.charged_units + state.carried_in_units));
            row["carried_in_k"] = json!(format_k(state.carried_in_units));
            row
        }
        None => json!({"epoch": epoch}),
    };
    summary["payouts"] = Value::Array(payouts);
    if let Ok(mut last) = app.last_settlement.lock() {
        *last = Some(summary.clone());
    }
    Ok(summary)
}
