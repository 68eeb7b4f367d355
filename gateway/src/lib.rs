//! The gateway: the code that runs on the small computer next to a smart meter. It reads the
//! meter's cumulative register, turns register deltas into hourly reports, keeps them on disk
//! until the chain has them, and acts on the chain's connection decision.
//!
//! It depends on the SDK and an RPC client only (no local cluster, bank or web app), so that
//! its binary, `deu-gateway`, fits a board such as a Raspberry Pi or an industrial ARM gateway.
//! `deu gateway` runs the same code.

pub mod actuator;
pub mod clock;
pub mod daemon;
pub mod signer;
pub mod source;
pub mod spool;

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use energy_utility_sdk::{Client, Payer};
use serde::Serialize;

pub use actuator::Actuator;
pub use daemon::{run, FailSafe, GatewayArgs};
pub use signer::{PinSource, Pkcs11Key, Pkcs11Signer, TokenRef};
pub use source::MeterSource;
pub use spool::Spool;

/// The gateway's key: a keypair file, or a key pair that never leaves a PKCS#11 token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayKey {
    File(PathBuf),
    Pkcs11(Pkcs11Key),
}

/// Where the gateway reports and with which key.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The cluster's JSON-RPC URL.
    pub rpc_url: String,
    /// The gateway's key (the meter's gateway key).
    pub key: GatewayKey,
    /// The community grid's name.
    pub grid: String,
    /// One JSON value per tick on stdout instead of a line of text.
    pub json: bool,
}

impl Connection {
    /// A client that signs and pays with the gateway key.
    pub fn client(&self) -> anyhow::Result<Client> {
        match &self.key {
            GatewayKey::File(path) => {
                let keypair = solana_keypair::read_keypair_file(path)
                    .map_err(|e| anyhow::anyhow!("reading the keypair {}: {e}", path.display()))?;
                Ok(Client::new(&self.rpc_url, keypair))
            }
            GatewayKey::Pkcs11(key) => {
                let signer = Pkcs11Signer::open(key)?;
                Ok(Client::with_payer(
                    &self.rpc_url,
                    Payer::Signer(Arc::new(signer)),
                ))
            }
        }
    }

    /// Prints one result: its JSON, or its text.
    pub fn show<V: Serialize + Display>(&self, view: &V) {
        if self.json {
            match serde_json::to_string(view).context("the result does not serialize") {
                Ok(json) => println!("{json}"),
                Err(e) => tracing::info!(target: "deu", "{e:#}"),
            }
        } else {
            println!("{view}");
        }
    }
}
