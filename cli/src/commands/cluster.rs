//! Cluster utilities: SOL from a faucet, the local cluster's clock, keypair files.

use std::fmt;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use energy_utility_sdk::amounts::{format_decimal, parse_decimal};
use serde::{Deserialize, Serialize};
use serde_json::json;
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
    globals.output().show(&Airdropped {
        to: to.to_string(),
        sol: format_decimal(lamports, 9),
        balance_sol: format_decimal(balance, 9),
        signature,
    });
    Ok(())
}

/// SOL the faucet sent, and the recipient's balance after it.
#[derive(Serialize)]
struct Airdropped {
    to: String,
    sol: String,
    balance_sol: String,
    signature: String,
}

impl fmt::Display for Airdropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} SOL to {}; balance {} SOL",
            self.sol, self.to, self.balance_sol
        )
    }
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
    let clock: ClusterClock = match client.rpc.send(RpcRequest::Custom { method }, params).await {
        Ok(clock) => clock,
        Err(e) if e.to_string().contains("Method not found") => {
            if method == "deuGetClock" {
                // Any other cluster keeps real time: its clock is simply its time.
                ClusterClock {
                    unix_timestamp: client.cluster_time().await?,
                    offset_seconds: 0,
                }
            } else {
                bail!(
                    "{} is not a local cluster started with `deu localnet`",
                    globals.rpc_url()
                )
            }
        }
        Err(e) => return Err(e).context("the cluster refused"),
    };
    globals.output().show(&clock);
    Ok(())
}

/// The cluster's clock as `deu localnet` answers `deuGetClock` and `deuAdvanceClock` (camelCase
/// on the wire), shown in snake_case like every other result.
#[derive(Default, Deserialize, Serialize)]
#[serde(rename_all(deserialize = "camelCase"), default)]
struct ClusterClock {
    unix_timestamp: i64,
    offset_seconds: i64,
}

impl fmt::Display for ClusterClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cluster clock: {} (unix seconds), {:.1} h ahead of wall time",
            self.unix_timestamp,
            self.offset_seconds as f64 / 3600.0
        )
    }
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
    globals.output().show(&KeypairWritten {
        pubkey: keypair.pubkey().to_string(),
        path: args.path.display().to_string(),
    });
    Ok(())
}

/// A keypair file just written, and its public key.
#[derive(Serialize)]
struct KeypairWritten {
    pubkey: String,
    path: String,
}

impl fmt::Display for KeypairWritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Wrote a new keypair to {}\npubkey: {}",
            self.path, self.pubkey
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_clock_is_read_in_camel_case_and_shown_in_snake_case() {
        let clock: ClusterClock =
            serde_json::from_value(json!({"unixTimestamp": 1_700_000_000, "offsetSeconds": 7_200}))
                .unwrap();
        assert_eq!(
            serde_json::to_value(&clock).unwrap(),
            json!({"unix_timestamp": 1_700_000_000, "offset_seconds": 7_200})
        );
        assert_eq!(
            clock.to_string(),
            "cluster clock: 1700000000 (unix seconds), 2.0 h ahead of wall time"
        );
    }
}
