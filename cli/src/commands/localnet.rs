//! `deu localnet`: the program in a real Agave bank behind a Solana JSON-RPC server.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;
use energy_utility_localnet::LocalnetConfig;

#[derive(Args)]
pub struct LocalnetArgs {
    /// Folder that keeps the cluster's accounts and clock across restarts
    #[arg(long, default_value = "deu-ledger")]
    pub ledger: PathBuf,
    /// Start from an empty ledger
    #[arg(long)]
    pub reset: bool,
    /// Port of the JSON-RPC server on 127.0.0.1
    #[arg(long, default_value_t = 8899)]
    pub rpc_port: u16,
}

pub async fn run(args: LocalnetArgs) -> anyhow::Result<()> {
    let config = LocalnetConfig::new(
        args.ledger.clone(),
        args.reset,
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.rpc_port)),
    );
    eprintln!(
        "deu localnet: JSON-RPC on http://127.0.0.1:{}, ledger {} (Ctrl-C saves and stops)",
        args.rpc_port,
        args.ledger.display()
    );
    energy_utility_localnet::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    eprintln!(
        "deu localnet: stopped, state saved in {}",
        args.ledger.display()
    );
    Ok(())
}
