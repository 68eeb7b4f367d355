//! `deu demo`: the whole thing on an embedded cluster — a local cluster, a seeded community,
//! and the web app. `deu serve`: the web app over any cluster, holding no keys.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use energy_utility_app::{demo, App};
use energy_utility_localnet::LocalnetConfig;
use energy_utility_sdk::Client;
use solana_keypair::Keypair;

use crate::context::Globals;

#[derive(Args)]
pub struct DemoArgs {
    /// Port of the web app on 127.0.0.1
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Port of the embedded cluster's JSON-RPC on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 8899)]
    pub rpc_port: u16,
    /// Ledger folder of the embedded cluster (started afresh each time)
    #[arg(long, default_value = "deu-demo-ledger")]
    pub ledger: PathBuf,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Port of the web app on 127.0.0.1
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

async fn listen(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

pub async fn demo(globals: &Globals, args: DemoArgs) -> anyhow::Result<()> {
    let listener = listen(args.port).await?;
    let net = energy_utility_localnet::start(LocalnetConfig {
        ledger: args.ledger.clone(),
        reset: true,
        bind: SocketAddr::from((Ipv4Addr::LOCALHOST, args.rpc_port)),
    })
    .await?;
    eprintln!(
        "deu demo: cluster at {}; seeding the community…",
        net.rpc_url()
    );
    let client = Client::new(&net.rpc_url(), Keypair::new());
    let (custody, history) = demo::seed(&client, &globals.grid).await?;
    let app = App::new(client, &globals.grid, Some(custody));
    for entry in history {
        app.record(entry);
    }
    eprintln!(
        "deu demo: open http://127.0.0.1:{} (demo custody: this server holds the demo residents' keys and signs for them). Ctrl-C stops.",
        args.port
    );
    tokio::select! {
        served = energy_utility_app::serve(app, listener) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    net.shutdown().await?;
    Ok(())
}

pub async fn serve(globals: &Globals, args: ServeArgs) -> anyhow::Result<()> {
    let listener = listen(args.port).await?;
    let app = App::new(globals.reader(), &globals.grid, None);
    eprintln!(
        "deu serve: http://127.0.0.1:{} over {} (read-only; residents sign with their own wallets). Ctrl-C stops.",
        args.port,
        globals.rpc_url()
    );
    tokio::select! {
        served = energy_utility_app::serve(app, listener) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
