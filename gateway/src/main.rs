//! `deu-gateway`: the daemon next to a smart meter, on its own small binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use energy_utility_gateway::{source, Connection, GatewayArgs};

#[derive(Parser)]
#[command(
    name = "deu-gateway",
    version,
    about = "The decentralized energy utility's meter gateway: reads a meter, reports each hour's register signed with the gateway key, and drives the relay",
    long_about = "The decentralized energy utility's meter gateway: reads a meter, reports each hour's register signed with the gateway key, and drives the relay.\n\n\
        Check the wiring first, without a cluster:\n  \
        deu-gateway read --source simulated:800\n\
        Then run it:\n  \
        deu-gateway -u https://rpc.example -k /etc/deu/gateway.json --grid village run --meter carlos-house --source ..."
)]
struct Cli {
    /// Cluster: localhost, devnet, mainnet-beta, or an RPC URL
    #[arg(
        short = 'u',
        long = "url",
        global = true,
        env = "DEU_URL",
        default_value = "localhost"
    )]
    url: String,
    /// The gateway's keypair file [default: ~/.config/solana/id.json]
    #[arg(short = 'k', long = "keypair", global = true, env = "DEU_KEYPAIR")]
    keypair: Option<PathBuf>,
    /// The community grid's name
    #[arg(long, global = true, env = "DEU_GRID", default_value = "village")]
    grid: String,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: read, report each closed hour, drive the relay
    Run(GatewayArgs),
    /// Read the meter's register once and print it (kWh), to check the wiring; no cluster needed
    Read {
        /// Where the register comes from (as for `run --source`)
        #[arg(long)]
        source: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => {
            let keypair = cli.keypair.unwrap_or_else(|| {
                let home = std::env::var_os("HOME").unwrap_or_default();
                PathBuf::from(home).join(".config/solana/id.json")
            });
            let connection = Connection {
                rpc_url: Connection::url_of(&cli.url),
                keypair,
                grid: cli.grid,
                json: cli.output == Format::Json,
            };
            energy_utility_gateway::run(&connection, args).await
        }
        Command::Read { source } => read(&source, cli.output == Format::Json),
    };
    if let Err(e) = result {
        eprintln!("deu-gateway: {e:#}");
        std::process::exit(1);
    }
}

fn read(spec: &str, json: bool) -> anyhow::Result<()> {
    let mut source = source::parse(spec)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let kwh = energy_utility_sdk::amounts::format_kwh;
    let (import, export) = match source.read(now)? {
        source::Registers::One(wh) => (kwh(wh), None),
        source::Registers::Both {
            import_wh,
            export_wh,
        } => (kwh(import_wh), Some(kwh(export_wh))),
    };
    if json {
        println!(
            "{}",
            serde_json::json!({ "source": source.describe(), "register_kwh": import, "export_kwh": export })
        );
    } else {
        match export {
            None => println!("{}: {import} kWh", source.describe()),
            Some(export) => println!(
                "{}: import {import} kWh, export {export} kWh",
                source.describe()
            ),
        }
    }
    Ok(())
}
