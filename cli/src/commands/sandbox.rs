//! `deu sandbox`: the test-mode payment processor on its own, for `deu serve` in test mode.
//! It speaks Stripe's API and webhook format; no real money moves.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use energy_utility_payments::sandbox::{self, SandboxConfig};

use super::demo::{refuse_secret_flags, PROCESSOR_KEY_ENV, WEBHOOK_SECRET_ENV};

#[derive(Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    /// Where to deliver events, e.g. http://127.0.0.1:8080/webhooks/processor
    #[arg(long, env = "DEU_SANDBOX_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// A file whose first line is the webhook signing secret, shared with `deu serve`; or
    /// set DEU_WEBHOOK_SECRET
    #[arg(long, env = "DEU_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// A file whose first line is the API key clients must send (`deu serve`); or set
    /// DEU_PROCESSOR_KEY. It must start with sk_test_
    #[arg(long, env = "DEU_PROCESSOR_KEY_FILE")]
    pub api_key_file: Option<PathBuf>,
    /// Refused: a secret on the command line is visible to every user (`ps`)
    #[arg(long, hide = true)]
    pub webhook_secret: Option<String>,
    /// Refused: a secret on the command line is visible to every user (`ps`)
    #[arg(long, hide = true)]
    pub api_key: Option<String>,
}

/// A secret from its environment variable, else the first line of its file.
fn secret(env: &str, file: Option<&Path>, what: &str) -> anyhow::Result<String> {
    if let Some(value) = std::env::var(env).ok().filter(|v| !v.trim().is_empty()) {
        return Ok(value.trim().to_string());
    }
    let Some(path) = file else {
        anyhow::bail!("the {what} is missing: set {env} or pass its file");
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    let value = text.lines().next().unwrap_or("").trim().to_string();
    if value.is_empty() {
        anyhow::bail!("the {what} file {} is empty", path.display());
    }
    Ok(value)
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    refuse_secret_flags(&[
        (
            "webhook-secret",
            args.webhook_secret.is_some(),
            "DEU_WEBHOOK_SECRET or --webhook-secret-file",
        ),
        (
            "api-key",
            args.api_key.is_some(),
            "DEU_PROCESSOR_KEY or --api-key-file",
        ),
    ])?;
    let webhook_secret = secret(
        WEBHOOK_SECRET_ENV,
        args.webhook_secret_file.as_deref(),
        "webhook secret",
    )?;
    let api_key = secret(PROCESSOR_KEY_ENV, args.api_key_file.as_deref(), "API key")?;
    if !api_key.starts_with("sk_test_") {
        anyhow::bail!("the sandbox only accepts test keys: the API key must start with sk_test_");
    }
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = sandbox::start(SandboxConfig::new(
        bind,
        api_key,
        args.webhook_url.clone(),
        webhook_secret,
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
