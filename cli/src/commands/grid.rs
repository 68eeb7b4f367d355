//! `deu grid`: create the community grid, change its parameters, inspect it.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use energy_utility::constants::{DEFAULT_EPOCH_SECONDS, DEFAULT_GRACE_SECONDS};
use energy_utility::instructions::{InitializeGridArgs, UpdateGridArgs};
use energy_utility::state::EpochParams;
use energy_utility_sdk::amounts::{parse_k, parse_kwh, parse_usd};
use energy_utility_sdk::{instructions, pda};

use crate::context::{current_epoch, load_grid, pubkey_arg, Globals};
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
    },
    /// Show the grid's parameters, clock and accounts
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
    },
    /// Stop every coin movement and report until resumed (admin)
    Pause,
    /// Resume a paused grid (admin)
    Resume,
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
                },
                coin_price_cents: parse_usd(&coin_price_usd)
                    .map_err(|e| anyhow!("--coin-price-usd: {e}"))?,
                epoch_seconds,
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
                coin_price_cents: coin_price_usd
                    .map(|p| parse_usd(&p))
                    .transpose()
                    .map_err(|e| anyhow!("--coin-price-usd: {e}"))?,
                oracle: oracle.map(|o| pubkey_arg(&o)).transpose()?,
            };
            if args == UpdateGridArgs::default() {
                bail!("nothing to change: pass at least one of --fee, --tariff, --coin-price-usd, --grace-seconds, --max-kwh, --oracle");
            }
            client
                .send(
                    &[instructions::update_grid(&client.payer(), &grid, args)],
                    &[],
                )
                .await?;
            show(globals, &client).await
        }
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

async fn show(globals: &Globals, client: &energy_utility_sdk::Client) -> anyhow::Result<()> {
    let (address, grid) = load_grid(globals, client).await?;
    let view = GridView {
        address,
        current_epoch: current_epoch(client, &grid).await?,
        treasury_units: client.token_amount(&pda::treasury(&address)).await?,
        pool_units: client.token_amount(&pda::pool(&address)).await?,
        grid: &grid,
    };
    globals.output().print(view.json(), || view.text());
    Ok(())
}
