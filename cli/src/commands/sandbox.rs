//! `deu sandbox`: the test-mode payment processor on its own, for `deu serve` in test mode.
//! It speaks Stripe's API and webhook format; no real money moves.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use clap::Args;
use energy_utility_payments::sandbox::{self, SandboxConfig};

#[derive(Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Where to deliver events, e.g. http://127.0.0.1:8080/webhooks/processor
    #[arg(long, env = "DEU_SANDBOX_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// The webhook signing secret, shared with `deu serve --webhook-secret`
    #[arg(long, env = "DEU_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: String,
    /// The API key clients must send (`deu serve --processor-key`); must start with sk_test_
    #[arg(long, env = "DEU_PROCESSOR_KEY", hide_env_values = true)]
    pub api_key: String,
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    if !args.api_key.starts_with("sk_test_") {
        anyhow::bail!("the sandbox only accepts test keys: --api-key must start with sk_test_");
    }
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = sandbox::start(SandboxConfig::new(
        bind,
        args.api_key,
        args.webhook_url.clone(),
        args.webhook_secret,
    ))
    .await
    .with_context(|| format!("cannot start the sandbox on {bind}"))?;
    eprintln!(
        "deu sandbox: TEST MODE payment processor at {} (dashboard at /), delivering events to {}. Ctrl-C stops.",
        server.url(),
        args.webhook_url.as_deref().unwrap_or("nowhere (no --webhook-url)")
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await
}
