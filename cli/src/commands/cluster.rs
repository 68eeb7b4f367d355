//! Cluster utilities: SOL from a faucet, the local cluster's clock, keypair files.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use energy_utility_sdk::amounts::{format_decimal, parse_decimal};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_rpc_client_api::request::RpcRequest;
use solana_signer::Signer;

use crate::context::{Cluster, Globals};

#[derive(Args)]
pub struct AirdropArgs {
    /// Amount of SOL, e.g. 2 or 0.5
    #[arg(allow_negative_numbers = true)]
    pub sol: String,
    /// Recipient: a public key or a keypair file [default: the keypair's address]
    pub pubkey: Option<String>,
}

#[derive(Subcommand)]
pub enum ClockCommand {
    /// Move the clock forward so that hourly epochs pass without waiting
    Advance {
        /// Hours to move forward
        #[arg(long)]
        hours: u32,
    },
    /// Show the cluster's clock
    Show,
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the keypair (a JSON array of 64 bytes, as solana-keygen writes)
    pub path: PathBuf,
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
}

pub async fn airdrop(globals: &Globals, args: AirdropArgs) -> anyhow::Result<()> {
    if matches!(globals.cluster(), Cluster::Mainnet) {
        bail!("there is no faucet on mainnet-beta");
    }
    let lamports = parse_decimal(&args.sol, 9).map_err(|e| anyhow!("invalid SOL amount: {e}"))?;
    if lamports == 0 {
        bail!("the amount must be more than zero");
    }
    let client = globals.reader();
    let to = match args.pubkey {
        Some(text) => crate::context::pubkey_arg(&text)?,
        None => globals.keypair()?.pubkey(),
    };
    let signature = client
        .airdrop(&to, lamports)
        .await
        .context("airdrop refused")?;
    let balance = client.lamports(&to).await?;
    globals.output().print(
        json!({"to": to.to_string(), "sol": format_decimal(lamports, 9), "balance_sol": format_decimal(balance, 9), "signature": signature}),
        || format!("{} SOL to {to}; balance {} SOL", format_decimal(lamports, 9), format_decimal(balance, 9)),
    );
    Ok(())
}

pub async fn clock(globals: &Globals, command: ClockCommand) -> anyhow::Result<()> {
    let client = globals.reader();
    let (method, params) = match command {
        ClockCommand::Advance { hours } => {
            if hours == 0 {
                bail!("--hours must be at least 1");
            }
            if globals.cluster() != Cluster::Local {
                bail!("only a local cluster's clock can be moved (`deu localnet`); {} keeps real time", globals.rpc_url());
            }
            ("deuAdvanceClock", json!([hours as i64 * 3_600]))
        }
        ClockCommand::Show => ("deuGetClock", json!([])),
    };
    let clock: Value = match client.rpc.send(RpcRequest::Custom { method }, params).await {
        Ok(value) => value,
        Err(e) if e.to_string().contains("Method not found") => {
            if method == "deuGetClock" {
                let now = client.cluster_time().await?;
                json!({"unixTimestamp": now, "offsetSeconds": 0})
            } else {
                bail!(
                    "{} is not a local cluster started with `deu localnet`",
                    globals.rpc_url()
                )
            }
        }
        Err(e) => return Err(e).context("the cluster refused"),
    };
    let now = clock["unixTimestamp"].as_i64().unwrap_or_default();
    let offset = clock["offsetSeconds"].as_i64().unwrap_or_default();
    globals.output().print(
        json!({"unix_timestamp": now, "offset_seconds": offset}),
        || {
            format!(
                "cluster clock: {now} (unix seconds), {:.1} h ahead of wall time",
                offset as f64 / 3600.0
            )
        },
    );
    Ok(())
}

pub fn keygen(globals: &Globals, args: KeygenArgs) -> anyhow::Result<()> {
    if args.path.exists() && !args.force {
        bail!(
            "{} already exists (pass --force to overwrite it)",
            args.path.display()
        );
    }
    if let Some(dir) = args.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let keypair = Keypair::new();
    solana_keypair::write_keypair_file(&keypair, &args.path)
        .map_err(|e| anyhow!("cannot write {}: {e}", args.path.display()))?;
    globals.output().print(
        json!({"pubkey": keypair.pubkey().to_string(), "path": args.path.display().to_string()}),
        || {
            format!(
                "Wrote a new keypair to {}\npubkey: {}",
                args.path.display(),
                keypair.pubkey()
            )
        },
    );
    Ok(())
}
