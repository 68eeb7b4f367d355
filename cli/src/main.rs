//! `deu`: the decentralized energy utility's command line. Every command works the same
//! against a local cluster (`deu localnet`), devnet or mainnet.

mod commands;
mod context;
mod output;

use clap::{Parser, Subcommand};

use crate::commands::*;
use crate::context::Globals;

#[derive(Parser)]
#[command(
    name = "deu",
    version,
    about = "Decentralized energy utility: prepaid metering and hourly settlement of a community grid on Solana",
    long_about = "Decentralized energy utility: prepaid metering and hourly settlement of a community grid on Solana.\n\n\
        See it work: deu demo, then open http://127.0.0.1:8080\n\n\
        A quick start on a local cluster:\n  \
        deu localnet                       (in one terminal)\n  \
        deu airdrop 10 && deu grid init    (in another)\n\n\
        Amounts are decimal: coins k with up to 6 decimals, kWh with up to 3, dollars with 2."
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start everything: a local cluster, a seeded community and the web app on :8080
    Demo(demo::DemoArgs),
    /// Serve the web app and the payment webhook over a cluster (-u), holding no resident's keys
    Serve(demo::ServeArgs),
    /// Run the sandbox payment processor (test mode: Stripe's wire format, no real money)
    Sandbox(sandbox::SandboxArgs),
    /// Run a local cluster with the program loaded, serving Solana JSON-RPC
    Localnet(localnet::LocalnetArgs),
    /// Request SOL from the cluster's faucet (local cluster and devnet)
    Airdrop(cluster::AirdropArgs),
    /// Move the local cluster's clock (local cluster only)
    #[command(subcommand)]
    Clock(cluster::ClockCommand),
    /// Write a new keypair file in the solana CLI format
    Keygen(cluster::KeygenArgs),
    /// Create or inspect the grid (--grid NAME)
    #[command(subcommand)]
    Grid(grid::GridCommand),
    /// Register or inspect residents
    #[command(subcommand)]
    Resident(resident::ResidentCommand),
    /// Register, list or inspect meters
    #[command(subcommand)]
    Meter(meter::MeterCommand),
    /// Move coins from your resident account to any consumer meter's prepaid balance
    Fund(fund::FundArgs),
    /// Report a meter's kWh for an epoch, signed with the meter's gateway keypair
    Report(report::ReportArgs),
    /// Run next to a smart meter: read it each epoch, report, drive its relay
    Gateway(energy_utility_gateway::GatewayArgs),
    /// Settle closed epochs (the permissionless crank)
    Settle(settle::SettleArgs),
    /// Inspect an epoch's settlement
    #[command(subcommand)]
    Epoch(epoch::EpochCommand),
    /// Re-check epoch N's settlement from chain data alone: each report's signer and register,
    /// every charge, the fee, each producer's payout and the carry; prints agree or the first
    /// disagreement (exit 1)
    Audit {
        /// The epoch to check
        epoch: u64,
    },
    /// Move a producer meter's earnings to its owner's coin account
    Collect(fund::CollectArgs),
    /// Mint or burn coins for dollars (the payment oracle's keypair)
    #[command(subcommand)]
    Fiat(fiat::FiatCommand),
    /// Set coins aside to sell for dollars, or take them back
    #[command(subcommand)]
    Withdraw(fiat::WithdrawCommand),
}

fn main() {
    // The settings file first, while this is the only thread (see `settings`).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = energy_utility_sdk::settings::load(&args) {
        eprintln!("deu: {e}");
        std::process::exit(2);
    }
    energy_utility_sdk::logs::init();
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| {
        eprintln!("deu: start the async runtime: {e}");
        std::process::exit(1);
    });
    runtime.block_on(run());
}

async fn run() {
    let cli = Cli::parse();
    let globals = cli.globals;
    let result = match cli.command {
        Command::Demo(args) => demo::demo(&globals, args).await,
        Command::Serve(args) => demo::serve(&globals, args).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Localnet(args) => localnet::run(args).await,
        Command::Airdrop(args) => cluster::airdrop(&globals, args).await,
        Command::Clock(command) => cluster::clock(&globals, command).await,
        Command::Keygen(args) => cluster::keygen(&globals, args),
        Command::Grid(command) => grid::run(&globals, command).await,
        Command::Resident(command) => resident::run(&globals, command).await,
        Command::Meter(command) => meter::run(&globals, command).await,
        Command::Fund(args) => fund::fund(&globals, args).await,
        Command::Collect(args) => fund::collect(&globals, args).await,
        Command::Report(args) => report::run(&globals, args).await,
        Command::Gateway(args) => {
            energy_utility_gateway::run(&globals.gateway_connection(), args).await
        }
        Command::Settle(args) => settle::run(&globals, args).await,
        Command::Epoch(command) => epoch::run(&globals, command).await,
        Command::Audit { epoch } => epoch::audit(&globals, epoch).await,
        Command::Fiat(command) => fiat::fiat(&globals, command).await,
        Command::Withdraw(command) => fiat::withdraw(&globals, command).await,
    };
    if let Err(err) = result {
        let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
        eprintln!("error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
