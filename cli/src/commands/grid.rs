//! `deu grid`: create the community grid, change its parameters, inspect it.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility::constants::{DEFAULT_EPOCH_SECONDS, DEFAULT_GRACE_SECONDS};
use energy_utility::instructions::{InitializeGridArgs, UpdateGridArgs};
use energy_utility::state::{EpochParams, OracleLimits};
use energy_utility_sdk::amounts::{format_k, parse_k, parse_kwh, parse_ratio_permille, parse_usd};
use energy_utility_sdk::{instructions, pda};
use serde_json::json;

use crate::context::{load_grid, pubkey_arg, Globals};
use energy_utility_sdk::views::GridView;

#[derive(Subcommand)]
pub enum GridCommand {
    /// Create the grid named by --grid, with the keypair as its admin
    Init {
        /// The utility's fee per epoch, in k
        #[arg(long, default_value = "0.01")]
        fee: String,
        /// What consumers pay per kWh, in k
        #[arg(long, default_value = "1")]
        tariff: String,
        /// Dollar price of one coin k (the payment oracle mints and burns at it)
        #[arg(long, default_value = "0.10")]
        coin_price_usd: String,
        /// Epoch length in seconds (fixed for the grid's life)
        #[arg(long, default_value_t = DEFAULT_EPOCH_SECONDS)]
        epoch_seconds: u32,
        /// How long after an epoch ends late reports are accepted, in seconds
        #[arg(long, default_value_t = DEFAULT_GRACE_SECONDS)]
        grace_seconds: u32,
        /// The most one meter may report per epoch, in kWh
        #[arg(long, default_value = "1000")]
        max_kwh: String,
        /// The payment oracle's public key or keypair file [default: the keypair's]
        #[arg(long)]
        oracle: Option<String>,
        /// The highest fee per epoch the grid may ever charge, in k: fixed for good
        #[arg(long, default_value = "0.1")]
        fee_cap: String,
        #[command(flatten)]
        limits: OracleLimitArgs,
        #[command(flatten)]
        rules: ReadingRuleArgs,
    },
    /// Show the grid's parameters, clock, accounts and the oracle's mint budget
    Show,
    /// Change parameters (fee, tariff, limit and grace from the next epoch; price and oracle at once)
    Update {
        #[arg(long)]
        fee: Option<String>,
        #[arg(long)]
        tariff: Option<String>,
        #[arg(long)]
        coin_price_usd: Option<String>,
        #[arg(long)]
        grace_seconds: Option<u32>,
        #[arg(long)]
        max_kwh: Option<String>,
        #[arg(long)]
        oracle: Option<String>,
        #[command(flatten)]
        limits: OracleLimitArgs,
        #[command(flatten)]
        rules: ReadingRuleArgs,
    },
    /// Bring the grid's address lookup tables up to its meters, so the crank settles 55
    /// meters a transaction (admin; `deu meter register` does it after each registration)
    SyncTables,
    /// Move the utility's fees from the treasury to its own resident account, to sell (admin)
    CollectFees {
        /// Coins k to take [default: everything in the treasury]
        amount_k: Option<String>,
        /// The utility's resident id [default: the resident registered by the admin's keypair]
        #[arg(long)]
        to: Option<String>,
    },
    /// Stop every coin movement and report until resumed (admin)
    Pause,
    /// Resume a paused grid (admin)
    Resume,
}

/// How meters' readings are judged: silence and the loss band.
#[derive(clap::Args, Default)]
pub struct ReadingRuleArgs {
    /// A consumer silent for this many closed epochs is disconnected until it reports [init default: 2]
    #[arg(long)]
    max_silent_epochs: Option<u32>,
    /// The lowest plausible produced / consumed ratio of an epoch [init default: 1.0]
    #[arg(long)]
    loss_band_min: Option<String>,
    /// The highest plausible produced / consumed ratio of an epoch [init default: 1.3]
    #[arg(long)]
    loss_band_max: Option<String>,
}

impl ReadingRuleArgs {
    fn ratio(text: &Option<String>, name: &str) -> anyhow::Result<Option<u32>> {
        text.as_deref()
            .map(|t| {
                let permille = parse_ratio_permille(t).map_err(|e| anyhow!("{name}: {e}"))?;
                u32::try_from(permille).map_err(|_| anyhow!("{name} is too large"))
            })
            .transpose()
    }
}

/// The payment oracle's limits: a circuit breaker on minting and how long receipts are kept.
#[derive(clap::Args, Default)]
pub struct OracleLimitArgs {
    /// The most the oracle may mint per window, in k [init default: 100000]
    #[arg(long)]
    mint_limit: Option<String>,
    /// The mint limit's rolling window, in hours [init default: 24]
    #[arg(long)]
    mint_window_hours: Option<u32>,
    /// How long payment receipts are kept against replays, in days (at least 4) [init default: 35]
    #[arg(long)]
    receipt_retention_days: Option<u32>,
}

impl OracleLimitArgs {
    fn mint_limit_units(&self) -> anyhow::Result<Option<u64>> {
        self.mint_limit
            .as_deref()
            .map(parse_k)
            .transpose()
            .map_err(|e| anyhow!("--mint-limit: {e}"))
    }

    fn window_seconds(&self) -> anyhow::Result<Option<u32>> {
        self.mint_window_hours
            .map(|h| {
                h.checked_mul(3_600)
                    .ok_or_else(|| anyhow!("--mint-window-hours is too long"))
            })
            .transpose()
    }

    fn retention_seconds(&self) -> anyhow::Result<Option<u32>> {
        self.receipt_retention_days
            .map(|d| {
                d.checked_mul(86_400)
                    .ok_or_else(|| anyhow!("--receipt-retention-days is too long"))
            })
            .transpose()
    }
}

pub async fn run(globals: &Globals, command: GridCommand) -> anyhow::Result<()> {
    match command {
        GridCommand::Init {
            fee,
            tariff,
            coin_price_usd,
            epoch_seconds,
            grace_seconds,
            max_kwh,
            oracle,
            fee_cap,
            limits,
            rules,
        } => {
            let client = globals.client()?;
            if client.grid(&globals.grid).await.is_ok() {
                bail!("grid '{}' already exists", globals.grid);
            }
            let args = InitializeGridArgs {
                name: globals.grid.clone(),
                oracle: match oracle {
                    Some(key) => pubkey_arg(&key)?,
                    None => client.payer(),
                },
                params: EpochParams {
                    fee_units: parse_k(&fee).map_err(|e| anyhow!("--fee: {e}"))?,
                    tariff_units_per_kwh: parse_k(&tariff).map_err(|e| anyhow!("--tariff: {e}"))?,
                    max_wh_per_epoch: parse_kwh(&max_kwh).map_err(|e| anyhow!("--max-kwh: {e}"))?,
                    grace_seconds,
                    max_silent_epochs: rules
                        .max_silent_epochs
                        .unwrap_or(EpochParams::default().max_silent_epochs),
                    loss_band_min_permille: ReadingRuleArgs::ratio(
                        &rules.loss_band_min,
                        "--loss-band-min",
                    )?
                    .unwrap_or(EpochParams::default().loss_band_min_permille),
                    loss_band_max_permille: ReadingRuleArgs::ratio(
                        &rules.loss_band_max,
                        "--loss-band-max",
                    )?
                    .unwrap_or(EpochParams::default().loss_band_max_permille),
                },
                coin_price_cents: parse_usd(&coin_price_usd)
                    .map_err(|e| anyhow!("--coin-price-usd: {e}"))?,
                epoch_seconds,
                max_fee_units: parse_k(&fee_cap).map_err(|e| anyhow!("--fee-cap: {e}"))?,
                oracle_limits: {
                    let defaults = OracleLimits::default();
                    OracleLimits {
                        mint_limit_units: limits
                            .mint_limit_units()?
                            .unwrap_or(defaults.mint_limit_units),
                        mint_window_seconds: limits
                            .window_seconds()?
                            .unwrap_or(defaults.mint_window_seconds),
                        receipt_retention_seconds: limits
                            .retention_seconds()?
                            .unwrap_or(defaults.receipt_retention_seconds),
                    }
                },
            };
            client
                .send(&[instructions::initialize_grid(&client.payer(), args)], &[])
                .await?;
            show(globals, &client).await
        }
        GridCommand::Show => show(globals, &globals.reader()).await,
        GridCommand::Update {
            fee,
            tariff,
            coin_price_usd,
            grace_seconds,
            max_kwh,
            oracle,
            limits,
            rules,
        } => {
            let client = globals.client()?;
            let (grid, _) = load_grid(globals, &client).await?;
            let args = UpdateGridArgs {
                fee_units: fee
                    .map(|f| parse_k(&f))
                    .transpose()
                    .map_err(|e| anyhow!("--fee: {e}"))?,
                tariff_units_per_kwh: tariff
                    .map(|t| parse_k(&t))
                    .transpose()
                    .map_err(|e| anyhow!("--tariff: {e}"))?,
                max_wh_per_epoch: max_kwh
                    .map(|m| parse_kwh(&m))
                    .transpose()
                    .map_err(|e| anyhow!("--max-kwh: {e}"))?,
                grace_seconds,
                max_silent_epochs: rules.max_silent_epochs,
                loss_band_min_permille: ReadingRuleArgs::ratio(
                    &rules.loss_band_min,
                    "--loss-band-min",
                )?,
                loss_band_max_permille: ReadingRuleArgs::ratio(
                    &rules.loss_band_max,
                    "--loss-band-max",
                )?,
                coin_price_cents: coin_price_usd
                    .map(|p| parse_usd(&p))
                    .transpose()
                    .map_err(|e| anyhow!("--coin-price-usd: {e}"))?,
                oracle: oracle.map(|o| pubkey_arg(&o)).transpose()?,
                mint_limit_units: limits.mint_limit_units()?,
                mint_window_seconds: limits.window_seconds()?,
                receipt_retention_seconds: limits.retention_seconds()?,
            };
            if args == UpdateGridArgs::default() {
                bail!("nothing to change: pass at least one of --fee, --tariff, --coin-price-usd, --grace-seconds, --max-kwh, --oracle, --mint-limit, --mint-window-hours, --receipt-retention-days, --max-silent-epochs, --loss-band-min, --loss-band-max");
            }
            client
                .send(
                    &[instructions::update_grid(&client.payer(), &grid, args)],
                    &[],
                )
                .await?;
            show(globals, &client).await
        }
        GridCommand::CollectFees { amount_k, to } => collect_fees(globals, amount_k, to).await,
        GridCommand::SyncTables => sync_tables(globals).await,
        GridCommand::Pause | GridCommand::Resume => {
            let paused = matches!(command, GridCommand::Pause);
            let client = globals.client()?;
            let (grid, _) = load_grid(globals, &client).await?;
            client
                .send(
                    &[instructions::set_paused(&client.payer(), &grid, paused)],
                    &[],
                )
                .await?;
            show(globals, &client).await
        }
    }
}

async fn sync_tables(globals: &Globals) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if grid.admin != client.payer() {
        bail!(
            "only the grid's admin ({}) keeps its lookup tables; this keypair is {}",
            grid.admin,
            client.payer()
        );
    }
    let added = client.sync_lookup_tables(&grid_address).await?;
    let tables = client
        .lookup_tables(&grid_address, grid.meter_count)
        .await?;
    let listed = client
        .meter_addresses(&grid_address, grid.meter_count)
        .await?
        .iter()
        .filter(|m| tables.lists(m))
        .count();
    globals.output().print(
        json!({
            "meters": grid.meter_count,
            "listed": listed,
            "added": added,
            "tables": tables.tables().len(),
        }),
        || {
            format!(
                "{} of {} meters listed in {} lookup tables ({added} added now): the crank settles them in v0 transactions",
                listed,
                grid.meter_count,
                tables.tables().len()
            )
        },
    );
    Ok(())
}

async fn collect_fees(
    globals: &Globals,
    amount_k: Option<String>,
    to: Option<String>,
) -> anyhow::Result<()> {
    let client = globals.client()?;
    let (grid_address, grid) = load_grid(globals, &client).await?;
    if grid.admin != client.payer() {
        bail!(
            "only the grid's admin ({}) collects its fees; this keypair is {}",
            grid.admin,
            client.payer()
        );
    }
    let amount_units = amount_k
        .as_deref()
        .map(parse_k)
        .transpose()
        .map_err(|e| anyhow!("invalid amount: {e}"))?
        .unwrap_or(0);
    let (resident, state) = match to {
        Some(id) => client.resident(&grid_address, &id).await?,
        None => client
            .residents(&grid_address, grid.resident_count)
            .await?
            .into_iter()
            .find(|(_, r)| r.authority == client.payer())
            .ok_or_else(|| {
                anyhow!("the utility has no resident account to collect into: register one with this keypair first (deu resident register utility)")
            })?,
    };
    let treasury = pda::treasury(&grid_address);
    let before = client.token_amount(&treasury).await?;
    let ix = instructions::collect_fees(&client.payer(), &grid_address, &resident, amount_units);
    let signature = client.send(&[ix], &[]).await?;
    let after = client.token_amount(&treasury).await?;
    let balance = client.token_amount(&state.coins).await?;
    let collected = before - after;
    globals.output().print(
        json!({
            "resident": state.id,
            "collected_k": format_k(collected),
            "treasury_k": format_k(after),
            "balance_k": format_k(balance),
            "signature": signature,
        }),
        || {
            format!(
                "Collected {} k of fees into {}; the treasury holds {} k, {} has {} k to sell (deu withdraw request)",
                format_k(collected),
                state.id,
                format_k(after),
                state.id,
                format_k(balance)
            )
        },
    );
    Ok(())
}

async fn show(globals: &Globals, client: &energy_utility_sdk::Client) -> anyhow::Result<()> {
    let (address, grid) = load_grid(globals, client).await?;
    let now = client.cluster_time().await?;
    let view = GridView {
        address,
        now,
        current_epoch: grid.epoch_at(now).unwrap_or(0),
        treasury_units: client.token_amount(&pda::treasury(&address)).await?,
        pool_units: client.token_amount(&pda::pool(&address)).await?,
        grid: &grid,
    };
    globals.output().print(view.json(), || view.text());
    Ok(())
}
