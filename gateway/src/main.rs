//! `deu-gateway`: the daemon next to a smart meter, on its own small binary.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use energy_utility_gateway::signer::{self, PinSource, Pkcs11Key, TokenRef, PIN_ENV};
use energy_utility_gateway::{source, Connection, GatewayArgs, GatewayKey};
use serde::Serialize;
use solana_signer::Signer as _;

#[derive(Parser)]
#[command(
    name = "deu-gateway",
    version,
    about = "The decentralized energy utility's meter gateway: reads a meter, reports each hour's register signed with the gateway key, and drives the relay",
    long_about = "The decentralized energy utility's meter gateway: reads a meter, reports each hour's register signed with the gateway key, and drives the relay.\n\n\
        Check the wiring first, without a cluster:\n  \
        deu-gateway read --source simulated:800\n\
        Then run it:\n  \
        deu-gateway -u https://rpc.example -k /etc/deu/gateway.json --grid village run --meter carlos-house --source ...\n\n\
        With a gateway key that never leaves a PKCS#11 token (HSM, secure element, TPM), the user PIN in $DEU_PKCS11_PIN or --pin-file:\n  \
        deu-gateway --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --token-label gateway --key-label meter keygen\n  \
        deu-gateway --pkcs11-module ... --token-label gateway --key-label meter run --meter carlos-house --source ..."
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
    /// The PKCS#11 module of the token holding the gateway key (used instead of -k), e.g.
    /// /usr/lib/softhsm/libsofthsm2.so
    #[arg(long, global = true, env = "DEU_PKCS11_MODULE", value_name = "PATH")]
    pkcs11_module: Option<PathBuf>,
    /// The token's label (with --pkcs11-module)
    #[arg(
        long,
        global = true,
        env = "DEU_PKCS11_TOKEN_LABEL",
        value_name = "LABEL"
    )]
    token_label: Option<String>,
    /// The token's slot id, instead of --token-label
    #[arg(long, global = true, env = "DEU_PKCS11_SLOT", value_name = "ID")]
    token_slot: Option<u64>,
    /// The key pair's label in the token (with --pkcs11-module)
    #[arg(
        long,
        global = true,
        env = "DEU_PKCS11_KEY_LABEL",
        value_name = "LABEL"
    )]
    key_label: Option<String>,
    /// A file holding the token's user PIN [default: the PIN in $DEU_PKCS11_PIN]
    #[arg(long, global = true, env = "DEU_PKCS11_PIN_FILE", value_name = "PATH")]
    pin_file: Option<PathBuf>,
    /// The community grid's name
    #[arg(long, global = true, env = "DEU_GRID", default_value = "village")]
    grid: String,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// A settings file: KEY=value lines of the DEU_… variables each flag lists (systemd's
    /// EnvironmentFile= format; see deploy/gateway.env). Flags and the environment win over it
    #[arg(long, global = true, env = "DEU_ENV_FILE", value_name = "FILE")]
    #[allow(dead_code)]
    env_file: Option<PathBuf>,
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
    /// Generate the gateway's Ed25519 key pair inside the PKCS#11 token (non-extractable) and
    /// print its public key: the key the utility registers as the meter's gateway
    Keygen,
    /// Print the gateway key's public key (from the token, or from the -k keypair file)
    Pubkey,
}

/// A gateway key's public key: the key alone as text, for scripts.
#[derive(Serialize)]
struct KeyView {
    pubkey: String,
    key: String,
}

impl std::fmt::Display for KeyView {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}", self.pubkey)
    }
}

fn main() {
    // The settings file first, while this is the only thread (see `settings`).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Err(e) = energy_utility_sdk::settings::load(&args) {
        eprintln!("deu-gateway: {e}");
        std::process::exit(2);
    }
    energy_utility_sdk::logs::init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("deu-gateway: start the async runtime: {e}");
            std::process::exit(1);
        });
    runtime.block_on(run());
}

async fn run() {
    let cli = Cli::parse();
    let result = dispatch(cli).await;
    if let Err(e) = result {
        eprintln!("deu-gateway: {e:#}");
        std::process::exit(1);
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // `read` needs no key: a bad key choice only matters to the commands that use it.
    let connection = connection(&cli);
    match cli.command {
        Command::Read { source } => read(&source, cli.output == Format::Json),
        Command::Run(args) => energy_utility_gateway::run(&connection?, args).await,
        Command::Keygen => keygen(&connection?),
        Command::Pubkey => pubkey(&connection?),
    }
}

fn connection(cli: &Cli) -> anyhow::Result<Connection> {
    Ok(Connection {
        rpc_url: energy_utility_sdk::client::cluster_url(&cli.url),
        key: gateway_key(cli)?,
        grid: cli.grid.clone(),
        json: cli.output == Format::Json,
    })
}

/// The PKCS#11 key when --pkcs11-module is given, else the -k keypair file.
fn gateway_key(cli: &Cli) -> anyhow::Result<GatewayKey> {
    let Some(module) = cli.pkcs11_module.clone() else {
        for (given, flag) in [
            (cli.token_label.is_some(), "--token-label"),
            (cli.token_slot.is_some(), "--token-slot"),
            (cli.key_label.is_some(), "--key-label"),
            (cli.pin_file.is_some(), "--pin-file"),
        ] {
            if given {
                bail!("{flag} needs --pkcs11-module (the token's PKCS#11 module)");
            }
        }
        let keypair = cli.keypair.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".config/solana/id.json")
        });
        return Ok(GatewayKey::File(keypair));
    };
    let token = match (&cli.token_label, cli.token_slot) {
        (Some(label), None) => TokenRef::Label(label.clone()),
        (None, Some(slot)) => TokenRef::Slot(slot),
        (None, None) => bail!("--pkcs11-module needs --token-label (or --token-slot)"),
        (Some(_), Some(_)) => bail!("give --token-label or --token-slot, not both"),
    };
    let Some(key_label) = cli.key_label.clone() else {
        bail!("--pkcs11-module needs --key-label (the key pair's label in the token)");
    };
    let pin = match &cli.pin_file {
        Some(path) => PinSource::File(path.clone()),
        None => PinSource::Env(PIN_ENV.to_string()),
    };
    Ok(GatewayKey::Pkcs11(Pkcs11Key {
        module,
        token,
        key_label,
        pin,
    }))
}

fn keygen(connection: &Connection) -> anyhow::Result<()> {
    let GatewayKey::Pkcs11(key) = &connection.key else {
        bail!("keygen makes the key inside a PKCS#11 token: give --pkcs11-module, --token-label and --key-label (for a keypair file, use solana-keygen)");
    };
    let pubkey = signer::generate(key)?;
    if !connection.json {
        eprintln!("deu-gateway: generated the Ed25519 {key}, non-extractable; its public key, to register as the meter's gateway key:");
    }
    connection.show(&KeyView {
        pubkey: pubkey.to_string(),
        key: key.to_string(),
    });
    Ok(())
}

fn pubkey(connection: &Connection) -> anyhow::Result<()> {
    let (pubkey, key) = match &connection.key {
        GatewayKey::File(path) => {
            let keypair = solana_keypair::read_keypair_file(path)
                .map_err(|e| anyhow::anyhow!("reading the keypair {}: {e}", path.display()))?;
            (keypair.pubkey(), format!("keypair file {}", path.display()))
        }
        GatewayKey::Pkcs11(key) => {
            let signer = energy_utility_gateway::Pkcs11Signer::open(key)?;
            (signer.pubkey(), key.to_string())
        }
    };
    connection.show(&KeyView {
        pubkey: pubkey.to_string(),
        key,
    });
    Ok(())
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
