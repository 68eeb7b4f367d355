//! Cluster utilities: SOL from a faucet, the local cluster's clock, keypair files.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

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
#[command(after_long_help = "\
The key file is readable by its owner alone (mode 0600), whatever file was there before, and
written atomically: a temporary 0600 file in the same folder, fsynced, then renamed over the
path (without --force, linked only if the path is still free). A reader sees the old file or
the complete new key, never a torn one or one readable by others.")]
pub struct KeygenArgs {
    /// Where to write the keypair (a JSON array of 64 bytes, as solana-keygen writes), mode 0600
    pub path: PathBuf,
    /// Replace an existing file (the new one is 0600 whatever the old one's mode was)
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
    write_key_file(&keypair, &args.path, args.force)
        .with_context(|| format!("cannot write {}", args.path.display()))?;
    globals.output().show(&KeypairWritten {
        pubkey: keypair.pubkey().to_string(),
        path: args.path.display().to_string(),
    });
    Ok(())
}

/// Writes `keypair` to `path` readable by its owner alone, atomically: a temporary file created
/// 0600 in the same folder (so a rename can replace the path), written and fsynced, then put in
/// place: renamed over the old file with `replace` (the old file and its permissions are gone),
/// else hard-linked, which fails if another file appeared meanwhile. The folder is fsynced so
/// the new name survives a power cut.
fn write_key_file(keypair: &Keypair, path: &Path, replace: bool) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} names no file", path.display()))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{stamp}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let written = (|| -> anyhow::Result<()> {
        // The mode given to `open` is narrowed by the umask, never widened; set it exactly.
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        solana_keypair::write_keypair(keypair, &mut file).map_err(|e| anyhow!("{e}"))?;
        file.sync_all()?;
        if replace {
            std::fs::rename(&tmp, path)?;
        } else {
            match std::fs::hard_link(&tmp, path) {
                Ok(()) => std::fs::remove_file(&tmp)?,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    bail!("it already exists (pass --force to overwrite it)")
                }
                // A file system without hard links: the check before is all there is.
                Err(_) if path.exists() => {
                    bail!("it already exists (pass --force to overwrite it)")
                }
                Err(_) => std::fs::rename(&tmp, path)?,
            }
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
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
