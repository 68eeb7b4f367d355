//! Global flags (cluster, keypair, grid, output) and what they resolve to.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, ValueEnum};
use energy_utility_sdk::accounts::Grid;
use energy_utility_sdk::Client;
use solana_keypair::Keypair;

use crate::output::Output;

#[derive(Args)]
pub struct Globals {
    /// Cluster: localhost, devnet, mainnet-beta, or an RPC URL
    #[arg(
        short = 'u',
        long = "url",
        global = true,
        env = "DEU_URL",
        default_value = "localhost"
    )]
    pub url: String,
    /// Keypair file that signs and pays [default: ~/.config/solana/id.json]
    #[arg(short = 'k', long = "keypair", global = true, env = "DEU_KEYPAIR")]
    pub keypair: Option<PathBuf>,
    /// The community grid's name
    #[arg(long, global = true, env = "DEU_GRID", default_value = "village")]
    pub grid: String,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// A settings file: KEY=value lines of the DEU_… variables each flag lists (systemd's
    /// EnvironmentFile= and compose's env_file: format; see deploy/). Flags and the
    /// environment win over it
    #[arg(long, global = true, env = "DEU_ENV_FILE", value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cluster {
    Local,
    Devnet,
    Mainnet,
    Other,
}

impl Globals {
    pub fn rpc_url(&self) -> String {
        energy_utility_sdk::client::cluster_url(&self.url)
    }

    pub fn cluster(&self) -> Cluster {
        let url = self.rpc_url();
        if url.contains("127.0.0.1") || url.contains("localhost") {
            Cluster::Local
        } else if url.contains("devnet") {
            Cluster::Devnet
        } else if url.contains("mainnet") {
            Cluster::Mainnet
        } else {
            Cluster::Other
        }
    }

    pub fn keypair_path(&self) -> PathBuf {
        self.keypair.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".config/solana/id.json")
        })
    }

    pub fn keypair(&self) -> anyhow::Result<Keypair> {
        read_keypair(&self.keypair_path())
    }

    pub fn output(&self) -> Output {
        Output::new(self.output)
    }

    /// Where and as whom `deu gateway` reports (the same code as `deu-gateway run`).
    pub fn gateway_connection(&self) -> energy_utility_gateway::Connection {
        energy_utility_gateway::Connection {
            rpc_url: self.rpc_url(),
            key: energy_utility_gateway::GatewayKey::File(self.keypair_path()),
            grid: self.grid.clone(),
            json: self.output == Format::Json,
        }
    }

    /// A client that signs and pays with the keypair.
    pub fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::new(&self.rpc_url(), self.keypair()?))
    }

    /// A client for reading only: any keypair will do, and none is needed on disk.
    pub fn reader(&self) -> Client {
        Client::new(
            &self.rpc_url(),
            self.keypair().unwrap_or_else(|_| Keypair::new()),
        )
    }
}

/// A public key given as base58, or as the path of a keypair file (whose public key is used).
pub fn pubkey_arg(text: &str) -> anyhow::Result<anchor_lang::prelude::Pubkey> {
    if let Ok(key) = text.parse() {
        return Ok(key);
    }
    let path = Path::new(text);
    if path.is_file() {
        return Ok(solana_signer::Signer::pubkey(&read_keypair(path)?));
    }
    bail!("'{text}' is neither a public key nor a keypair file")
}

pub fn read_keypair(path: &Path) -> anyhow::Result<Keypair> {
    solana_keypair::read_keypair_file(path)
        .map_err(|e| anyhow!("cannot read keypair {}: {e}", path.display()))
}

/// Loads `--grid`, or says how to create it.
pub async fn load_grid(
    globals: &Globals,
    client: &Client,
) -> anyhow::Result<(anchor_lang::prelude::Pubkey, Grid)> {
    match client.grid(&globals.grid).await {
        Ok(found) => Ok(found),
        Err(energy_utility_sdk::SdkError::NotFound { .. }) => bail!(
            "grid '{}' does not exist on {} (create it with `deu grid init`, or pass --grid NAME)",
            globals.grid,
            globals.rpc_url()
        ),
        Err(e) => Err(e).context("reading the grid"),
    }
}

/// The cluster's current epoch for `grid`.
pub async fn current_epoch(client: &Client, grid: &Grid) -> anyhow::Result<u64> {
    let now = client.cluster_time().await?;
    grid.epoch_at(now)
        .map_err(|_| anyhow!("the cluster clock is before the grid's first epoch"))
}

/// The resident a wallet signs for: `--from ID`, or the first resident whose authority is it.
pub async fn my_resident(
    client: &Client,
    grid_address: &anchor_lang::prelude::Pubkey,
    grid: &Grid,
    from: Option<&str>,
) -> anyhow::Result<(
    anchor_lang::prelude::Pubkey,
    energy_utility_sdk::accounts::Resident,
)> {
    if let Some(id) = from {
        let (address, resident) = client.resident(grid_address, id).await?;
        if resident.authority != client.payer() {
            bail!(
                "resident '{id}' belongs to wallet {}, not to this keypair ({})",
                resident.authority,
                client.payer()
            );
        }
        return Ok((address, resident));
    }
    client
        .residents(grid_address, grid.resident_count)
        .await?
        .into_iter()
        .find(|(_, r)| r.authority == client.payer())
        .ok_or_else(|| {
            anyhow!(
                "this keypair ({}) is not a registered resident of grid '{}' (register with `deu resident register ID`)",
                client.payer(),
                grid.name
            )
        })
}
