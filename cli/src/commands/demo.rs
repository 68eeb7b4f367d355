//! `deu demo`: the whole thing on an embedded cluster — a local cluster, a seeded community,
//! a sandbox payment processor and the web app. `deu serve`: the web app and the payment
//! webhook over any cluster, holding no resident's keys.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use energy_utility_app::payments::{self, PaymentsConfig, PaymentsSettings};
use energy_utility_app::{demo, App, Payments};
use energy_utility_localnet::LocalnetConfig;
use energy_utility_payments::sandbox::SandboxConfig;
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
    /// Port of the sandbox payment processor (test mode) on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub sandbox_port: u16,
    /// Meters and residents the map page lists whole; a bigger grid's page draws the map in
    /// groups, and pages and searches its lists (try 5 to see the demo as a big grid would be)
    #[arg(long, default_value_t = energy_utility_app::api::LIST_LIMIT)]
    pub list_limit: usize,
    #[command(flatten)]
    pub alerts: AlertsArgs,
}

/// Low-balance and disconnection alerts (one notice per crossing, kept across restarts).
#[derive(Args, Default)]
pub struct AlertsArgs {
    /// Keep owners' alert thresholds and what was sent in this file, and watch their meters
    /// (demo default: alerts.json in the ledger folder)
    #[arg(long, env = "DEU_ALERTS_FILE", value_name = "FILE")]
    pub alerts_file: Option<PathBuf>,
    /// HOST:PORT of an SMTP relay for the e-mails (plain SMTP: a relay on this host or network)
    #[arg(long, env = "DEU_SMTP", value_name = "HOST:PORT")]
    pub smtp: Option<String>,
    /// The e-mails' sender
    #[arg(long, env = "DEU_ALERTS_FROM", default_value = "grid@localhost")]
    pub alerts_from: String,
    /// Post each notice, signed (Deu-Signature: t=…,v1=HMAC-SHA256), to this URL (an SMS
    /// gateway's); the secret from DEU_ALERTS_WEBHOOK_SECRET or --alerts-webhook-secret-file
    #[arg(long, env = "DEU_ALERTS_WEBHOOK", value_name = "URL")]
    pub alerts_webhook: Option<String>,
    #[arg(long, env = "DEU_ALERTS_WEBHOOK_SECRET_FILE", value_name = "FILE")]
    pub alerts_webhook_secret_file: Option<PathBuf>,
    /// Seconds between looks at the subscribed meters
    #[arg(long, env = "DEU_ALERTS_EVERY", default_value_t = 30)]
    pub alerts_every: u64,
}

impl AlertsArgs {
    /// The alerts to run, with `default_file` when none is named (the demo's).
    pub fn config(
        &self,
        default_file: Option<PathBuf>,
    ) -> anyhow::Result<Option<energy_utility_app::alerts::AlertsConfig>> {
        let Some(file) = self.alerts_file.clone().or(default_file) else {
            return Ok(None);
        };
        let webhook = match &self.alerts_webhook {
            Some(url) => {
                let secret = match (&self.alerts_webhook_secret_file, std::env::var("DEU_ALERTS_WEBHOOK_SECRET")) {
                    (Some(path), _) => energy_utility_app::payments::config::read_secret(path)?,
                    (None, Ok(secret)) => secret,
                    (None, Err(_)) => anyhow::bail!(
                        "--alerts-webhook needs its secret: DEU_ALERTS_WEBHOOK_SECRET or --alerts-webhook-secret-file"
                    ),
                };
                Some((url.clone(), secret))
            }
            None => None,
        };
        Ok(Some(energy_utility_app::alerts::AlertsConfig {
            file,
            smtp: self.smtp.clone(),
            from: self.alerts_from.clone(),
            webhook,
            every: std::time::Duration::from_secs(self.alerts_every.max(1)),
        }))
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// Port of the web app
    #[arg(long, default_value_t = 8080, env = "DEU_PORT")]
    pub port: u16,
    /// The address it listens on: 127.0.0.1 behind a reverse proxy on the same machine, 0.0.0.0
    /// in a container (name the public host with --allowed-host or --public-url)
    #[arg(long, default_value = "127.0.0.1", env = "DEU_LISTEN")]
    pub listen: std::net::IpAddr,
    /// Serve without buying and selling coins (no payment settings needed)
    #[arg(long, env = "DEU_WITHOUT_PAYMENTS")]
    pub without_payments: bool,
    /// A TOML file with the payment settings below (keys: webhook_secret or
    /// webhook_secret_file, processor_url, processor_key or processor_key_file,
    /// oracle_keypair, public_url, coin_price, delivery_log); flags and environment variables
    /// win over it
    #[arg(long, env = "DEU_PAYMENTS_CONFIG")]
    pub config: Option<PathBuf>,
    /// A file whose first line is the processor's webhook signing secret (Stripe: whsec_…);
    /// or set DEU_WEBHOOK_SECRET. Required. Secrets are never taken from flags, which `ps`
    /// shows to every user of the machine
    #[arg(long, env = "DEU_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// The processor's API [default: https://api.stripe.com]; a sandbox's URL in test mode
    #[arg(long, env = "DEU_PROCESSOR_URL")]
    pub processor_url: Option<String>,
    /// A file whose first line is the processor's secret key (Stripe: sk_live_… against
    /// mainnet-beta, sk_test_… against devnet, testnet or a local cluster); or set
    /// DEU_PROCESSOR_KEY. Required
    #[arg(long, env = "DEU_PROCESSOR_KEY_FILE")]
    pub processor_key_file: Option<PathBuf>,
    /// Refused: a secret on the command line is visible to every user (`ps`)
    #[arg(long, hide = true)]
    pub webhook_secret: Option<String>,
    /// Refused: a secret on the command line is visible to every user (`ps`)
    #[arg(long, hide = true)]
    pub processor_key: Option<String>,
    /// The grid oracle's keypair file, which signs every mint and burn; required
    #[arg(long, env = "DEU_ORACLE_KEYPAIR")]
    pub oracle_keypair: Option<PathBuf>,
    /// Where residents reach this server [default: http://127.0.0.1:PORT]
    #[arg(long, env = "DEU_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The coin price in dollars shown to users; must equal the grid's price
    #[arg(long, env = "DEU_COIN_PRICE")]
    pub coin_price: Option<String>,
    /// Append one JSON line per webhook delivery to this file
    #[arg(long, env = "DEU_DELIVERY_LOG")]
    pub delivery_log: Option<PathBuf>,
    /// A file whose first line is the operator's token, shown as `Authorization: Bearer …` to
    /// read GET /api/payments/deliveries; or set DEU_OPERATOR_TOKEN. Without one, nobody reads
    /// the delivery log over HTTP (it is on stderr and in --delivery-log)
    #[arg(long, env = "DEU_OPERATOR_TOKEN_FILE")]
    pub operator_token_file: Option<PathBuf>,
    /// A host name (and port) this server answers to besides 127.0.0.1 and localhost and the
    /// public URL's, e.g. grid.example behind a reverse proxy; repeatable. Requests that change
    /// something and name another host are refused (DNS rebinding)
    #[arg(
        long = "allowed-host",
        env = "DEU_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// A keypair file whose SOL pays the fees and the rent of the resident acts of wallets that
    /// hold no SOL (register, fund, sell, cancel, collect, payout account, veto, emergency
    /// credit, close): the wallet still signs; the server adds this key's signature as fee
    /// payer for those acts only, within a budget per wallet and per resident. The rent comes
    /// back to it when the accounts close
    #[arg(long, env = "DEU_SPONSOR_KEYPAIR")]
    pub sponsor_keypair: Option<PathBuf>,
    /// The cluster's websocket URL, which the server's index of the grid subscribes at
    /// [default: the RPC URL's: ws/wss, an explicit port plus one]
    #[arg(long, env = "DEU_WS_URL")]
    pub ws_url: Option<String>,
    /// Meters and residents `/api/state` and the map page list whole; a bigger grid's pages
    /// ask `/api/meters`, `/api/residents` (paged, searched) and `/api/map` (in groups)
    #[arg(long, env = "DEU_LIST_LIMIT", default_value_t = energy_utility_app::api::LIST_LIMIT)]
    pub list_limit: usize,
    #[command(flatten)]
    pub alerts: AlertsArgs,
}

/// The environment variables that carry the secrets.
pub const WEBHOOK_SECRET_ENV: &str = "DEU_WEBHOOK_SECRET";
pub const PROCESSOR_KEY_ENV: &str = "DEU_PROCESSOR_KEY";
pub const OPERATOR_TOKEN_ENV: &str = "DEU_OPERATOR_TOKEN";

/// Refuses a secret given as a flag (without echoing it), naming where it goes instead.
pub fn refuse_secret_flags(flags: &[(&str, bool, &str)]) -> anyhow::Result<()> {
    for (flag, given, instead) in flags {
        if *given {
            anyhow::bail!(
                "--{flag} is refused: a secret on the command line is visible to every user of this machine (ps, /proc); use {instead}"
            );
        }
    }
    Ok(())
}

impl ServeArgs {
    fn payment_settings(&self) -> anyhow::Result<PaymentsSettings> {
        refuse_secret_flags(&[
            (
                "webhook-secret",
                self.webhook_secret.is_some(),
                "DEU_WEBHOOK_SECRET or --webhook-secret-file",
            ),
            (
                "processor-key",
                self.processor_key.is_some(),
                "DEU_PROCESSOR_KEY or --processor-key-file",
            ),
        ])?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let given = PaymentsSettings {
            webhook_secret: env(WEBHOOK_SECRET_ENV),
            webhook_secret_file: self.webhook_secret_file.clone(),
            processor_url: self.processor_url.clone(),
            processor_key: env(PROCESSOR_KEY_ENV),
            processor_key_file: self.processor_key_file.clone(),
            operator_token: env(OPERATOR_TOKEN_ENV),
            operator_token_file: self.operator_token_file.clone(),
            oracle_keypair: self.oracle_keypair.clone(),
            public_url: self.public_url.clone(),
            coin_price: self.coin_price.clone(),
            delivery_log: self.delivery_log.clone(),
        };
        Ok(match &self.config {
            Some(path) => given.or(PaymentsSettings::from_file(path)?),
            None => given,
        })
    }
}

async fn listen(ip: std::net::IpAddr, port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let address = SocketAddr::from((ip, port));
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

pub async fn demo(globals: &Globals, args: DemoArgs) -> anyhow::Result<()> {
    let listener = listen(Ipv4Addr::LOCALHOST.into(), args.port).await?;
    let net = energy_utility_localnet::start(LocalnetConfig::new(
        args.ledger.clone(),
        true,
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.rpc_port)),
    ))
    .await?;
    tracing::info!(target: "deu",
        "deu demo: cluster at {}; seeding the community…",
        net.rpc_url()
    );
    let client = Client::new(&net.rpc_url(), Keypair::new());
    let custody = demo::seed(&client, &globals.grid).await?;
    let public_url = format!("http://127.0.0.1:{}", args.port);
    let webhook_secret = energy_utility_payments::random_id("whsec_");
    let api_key = energy_utility_payments::random_id("sk_test_");
    let processor = energy_utility_payments::sandbox::start(SandboxConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.sandbox_port)),
        api_key.clone(),
        Some(format!("{public_url}{}", payments::WEBHOOK_PATH)),
        webhook_secret.clone(),
    ))
    .await
    .with_context(|| {
        format!(
            "cannot start the sandbox processor on port {}",
            args.sandbox_port
        )
    })?;
    let config = PaymentsConfig {
        webhook_secret,
        processor_url: processor.url(),
        processor_key: api_key,
        oracle: custody.utility.insecure_clone(),
        public_url,
        coin_price_cents: None,
        delivery_log: None,
        operator_token: None,
    };
    let payments = Payments::connect(config, &net.rpc_url(), &globals.grid).await?;
    tracing::info!(target: "deu",
        "deu demo: sandbox payment processor (TEST MODE, no real money) at {}",
        processor.url()
    );
    let app = App::new(client, &globals.grid, Some(custody), Some(payments));
    app.set_list_limit(args.list_limit);
    if let Some(config) = args.alerts.config(Some(args.ledger.join("alerts.json")))? {
        let _ = app
            .alerts
            .set(energy_utility_app::alerts::Alerts::open(config)?);
    }
    tracing::info!(target: "deu",
        "deu demo: open http://127.0.0.1:{} (demo custody: this server holds the demo residents' keys and signs for them). Ctrl-C stops.",
        args.port
    );
    tokio::select! {
        served = energy_utility_app::serve(app, listener) => served?,
        _ = tokio::signal::ctrl_c() => {}
        reason = net.failed() => {
            processor.shutdown().await?;
            let _ = net.shutdown().await;
            anyhow::bail!(reason);
        }
    }
    processor.shutdown().await?;
    net.shutdown().await?;
    Ok(())
}

pub async fn serve(globals: &Globals, args: ServeArgs) -> anyhow::Result<()> {
    let local = format!("http://127.0.0.1:{}", args.port);
    let payments = if args.without_payments {
        None
    } else {
        let config = args.payment_settings()?.resolve(&local)?;
        Some(Payments::connect(config, &globals.rpc_url(), &globals.grid).await?)
    };
    let listener = listen(args.listen, args.port).await?;
    let what = match &payments {
        Some(p) => format!(
            "buying and selling through {}{}; webhook at {}{}",
            p.processor.base_url(),
            if p.processor.test_mode() {
                " (test mode)"
            } else {
                ""
            },
            p.public_url,
            payments::WEBHOOK_PATH
        ),
        None => "without payments".to_string(),
    };
    let app = App::new(globals.reader(), &globals.grid, None, payments);
    if let Some(url) = &args.ws_url {
        let _ = app.ws_url.set(url.clone());
    }
    app.set_list_limit(args.list_limit);
    if let Some(config) = args.alerts.config(None)? {
        let _ = app
            .alerts
            .set(energy_utility_app::alerts::Alerts::open(config)?);
    }
    app.extra_hosts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .extend(
            args.allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase()),
        );
    let sponsoring = match &args.sponsor_keypair {
        Some(path) => {
            let key = crate::context::read_keypair(path)?;
            let sponsor = energy_utility_app::sponsor::Sponsor::new(
                key,
                energy_utility_app::sponsor::DEFAULT_BUDGET,
            );
            let said = format!(
                " {} pays the fees and rent of wallets holding no SOL.",
                sponsor.pubkey()
            );
            let _ = app.sponsor.set(sponsor);
            said
        }
        None => String::new(),
    };
    tracing::info!(target: "deu",
        "deu serve: {local} over {}, {what}. Residents sign with their own wallets.{sponsoring} Ctrl-C stops.",
        globals.rpc_url()
    );
    tokio::select! {
        served = energy_utility_app::serve(app, listener) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
