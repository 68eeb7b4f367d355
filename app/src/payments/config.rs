//! Payment settings: from flags or environment variables (`deu serve --help` lists them) and
//! an optional TOML file, checked before the server starts. A missing webhook secret stops
//! the server: without it anyone could make the oracle mint coins. The two secrets (the
//! webhook's and the processor key) come from the environment or from files, never from a
//! flag that `ps` shows, and are never printed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use energy_utility_payments::client::{key_mode, STRIPE_API_URL};
use energy_utility_sdk::amounts::parse_usd;
use serde::Deserialize;
use solana_keypair::Keypair;

/// Every setting, each optional until [`PaymentsSettings::resolve`] checks them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsSettings {
    /// The webhook endpoint's signing secret (Stripe: `whsec_…`).
    pub webhook_secret: Option<String>,
    /// A file holding the webhook secret (its first line).
    pub webhook_secret_file: Option<PathBuf>,
    /// The processor's API (default: Stripe's).
    pub processor_url: Option<String>,
    /// The processor's secret API key (Stripe: `sk_live_…` / `sk_test_…`).
    pub processor_key: Option<String>,
    /// A file holding the processor key (its first line).
    pub processor_key_file: Option<PathBuf>,
    /// The grid oracle's keypair file: it signs every mint and burn.
    pub oracle_keypair: Option<PathBuf>,
    /// Where residents reach this server (the processor sends them back here).
    pub public_url: Option<String>,
    /// The coin price shown to users, in dollars; must equal the grid's on-chain price.
    pub coin_price: Option<String>,
    /// A file that gets one JSON line per webhook delivery.
    pub delivery_log: Option<PathBuf>,
    /// The token the operator shows (`Authorization: Bearer …`) to read the delivery log.
    pub operator_token: Option<String>,
    /// A file holding the operator token (its first line).
    pub operator_token_file: Option<PathBuf>,
}

/// Settings checked and loaded.
pub struct PaymentsConfig {
    pub webhook_secret: String,
    pub processor_url: String,
    pub processor_key: String,
    pub oracle: Keypair,
    pub public_url: String,
    pub coin_price_cents: Option<u64>,
    pub delivery_log: Option<PathBuf>,
    /// Who may read the delivery log in `deu serve` (none: nobody over HTTP).
    pub operator_token: Option<String>,
}

impl PaymentsSettings {
    /// Reads a TOML file with the same keys (`webhook_secret = "whsec_…"`, …).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Each setting from `self`, else from `fallback`.
    pub fn or(self, fallback: Self) -> Self {
        Self {
            webhook_secret: self.webhook_secret.or(fallback.webhook_secret),
            webhook_secret_file: self.webhook_secret_file.or(fallback.webhook_secret_file),
            processor_url: self.processor_url.or(fallback.processor_url),
            processor_key: self.processor_key.or(fallback.processor_key),
            processor_key_file: self.processor_key_file.or(fallback.processor_key_file),
            oracle_keypair: self.oracle_keypair.or(fallback.oracle_keypair),
            public_url: self.public_url.or(fallback.public_url),
            coin_price: self.coin_price.or(fallback.coin_price),
            delivery_log: self.delivery_log.or(fallback.delivery_log),
            operator_token: self.operator_token.or(fallback.operator_token),
            operator_token_file: self.operator_token_file.or(fallback.operator_token_file),
        }
    }

    /// Checks every setting and loads the oracle keypair; names everything that is missing.
    pub fn resolve(self, default_public_url: &str) -> anyhow::Result<PaymentsConfig> {
        let present = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let webhook_secret = match present(self.webhook_secret) {
            Some(secret) => Some(secret),
            None => self
                .webhook_secret_file
                .as_deref()
                .map(read_secret)
                .transpose()?,
        };
        let processor_key = match present(self.processor_key) {
            Some(key) => Some(key),
            None => self
                .processor_key_file
                .as_deref()
                .map(read_secret)
                .transpose()?,
        };
        let mut missing = Vec::new();
        if webhook_secret.is_none() {
            missing.push(
                "the webhook secret (DEU_WEBHOOK_SECRET, --webhook-secret-file or webhook_secret_file): \
                 without it anyone could make the oracle mint coins",
            );
        }
        if processor_key.is_none() {
            missing.push(
                "the processor's API key (DEU_PROCESSOR_KEY, --processor-key-file or processor_key_file)",
            );
        }
        if self.oracle_keypair.is_none() {
            missing.push(
                "the oracle keypair (--oracle-keypair, DEU_ORACLE_KEYPAIR or oracle_keypair)",
            );
        }
        if !missing.is_empty() {
            bail!(
                "refusing to start the payment service; missing:\n  - {}\n(or start with --without-payments for a server that cannot buy or sell coins)",
                missing.join("\n  - ")
            );
        }
        let operator_token = match present(self.operator_token) {
            Some(token) => Some(token),
            None => self
                .operator_token_file
                .as_deref()
                .map(read_secret)
                .transpose()?,
        };
        let processor_key = processor_key.unwrap_or_default();
        if key_mode(processor_key.trim()).is_none() {
            bail!(
                "the processor key is not a secret key: Stripe's start sk_test_ or sk_live_ (restricted: rk_test_, rk_live_)"
            );
        }
        let oracle_path = self.oracle_keypair.unwrap_or_default();
        let oracle = read_keypair(&oracle_path)?;
        let coin_price_cents = self
            .coin_price
            .map(|price| {
                parse_usd(&price)
                    .map_err(|e| anyhow::anyhow!("invalid coin price '{price}': {e}"))
                    .and_then(|cents| {
                        if cents == 0 {
                            bail!("the coin price must be more than zero");
                        }
                        Ok(cents)
                    })
            })
            .transpose()?;
        Ok(PaymentsConfig {
            webhook_secret: webhook_secret.unwrap_or_default().trim().to_string(),
            processor_url: present(self.processor_url)
                .unwrap_or_else(|| STRIPE_API_URL.to_string())
                .trim_end_matches('/')
                .to_string(),
            processor_key: processor_key.trim().to_string(),
            oracle,
            public_url: present(self.public_url)
                .unwrap_or_else(|| default_public_url.to_string())
                .trim_end_matches('/')
                .to_string(),
            coin_price_cents,
            delivery_log: self.delivery_log,
            operator_token: operator_token.map(|t| t.trim().to_string()),
        })
    }
}

/// A secret kept in a file: its first line, trimmed; an empty file is an error.
pub fn read_secret(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the secret file {}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.is_empty() {
        bail!("the secret file {} is empty", path.display());
    }
    Ok(secret)
}

/// A keypair file as the Solana CLI writes it.
fn read_keypair(path: &Path) -> anyhow::Result<Keypair> {
    solana_keypair::read_keypair_file(path)
        .map_err(|e| anyhow::anyhow!("cannot read the oracle keypair {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_refuses_to_start_and_names_every_missing_setting() {
        let err = PaymentsSettings::default()
            .resolve("http://127.0.0.1:8080")
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("webhook secret"), "{err}");
        assert!(err.contains("API key"), "{err}");
        assert!(err.contains("oracle keypair"), "{err}");
        let not_a_key = PaymentsSettings {
            webhook_secret: Some("whsec_x".into()),
            processor_key: Some("pk_test_publishable".into()),
            oracle_keypair: Some("/nonexistent".into()),
            ..Default::default()
        };
        let err = not_a_key.resolve("x").err().expect("refused").to_string();
        assert!(err.contains("not a secret key"), "{err}");
        assert!(
            !err.contains("pk_test_publishable"),
            "the key is never echoed: {err}"
        );
        let blank = PaymentsSettings {
            webhook_secret: Some("  ".into()),
            processor_key: Some("sk_test_x".into()),
            oracle_keypair: Some("/nonexistent".into()),
            ..Default::default()
        };
        let err = blank.resolve("x").err().expect("refused").to_string();
        assert!(err.contains("webhook secret"), "{err}");
        assert!(!err.contains("API key"), "{err}");
    }

    #[test]
    fn flags_win_over_the_file_and_defaults_fill_the_rest() {
        let dir = std::env::temp_dir().join(format!("deu-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let keypair = dir.join("oracle.json");
        let bytes = Keypair::new().to_bytes().to_vec();
        std::fs::write(&keypair, serde_json::to_string(&bytes).unwrap()).unwrap();
        let file = dir.join("payments.toml");
        std::fs::write(
            &file,
            format!(
                "webhook_secret = \"whsec_file\"\nprocessor_key = \"sk_test_file\"\noracle_keypair = {:?}\ncoin_price = \"0.10\"\n",
                keypair.display().to_string()
            ),
        )
        .unwrap();
        let flags = PaymentsSettings {
            webhook_secret: Some("whsec_flag".into()),
            ..Default::default()
        };
        let config = flags
            .or(PaymentsSettings::from_file(&file).unwrap())
            .resolve("http://127.0.0.1:8080/")
            .unwrap();
        assert_eq!(config.webhook_secret, "whsec_flag");
        assert_eq!(config.processor_key, "sk_test_file");
        assert_eq!(config.processor_url, STRIPE_API_URL);
        assert_eq!(config.public_url, "http://127.0.0.1:8080");
        assert_eq!(config.coin_price_cents, Some(10));
        // Secrets from files: the first line, trimmed.
        let secret_file = dir.join("webhook-secret");
        std::fs::write(&secret_file, "whsec_from_file\n").unwrap();
        let key_file = dir.join("processor-key");
        std::fs::write(&key_file, "  sk_live_from_file  \n# a comment\n").unwrap();
        let from_files = PaymentsSettings {
            webhook_secret_file: Some(secret_file),
            processor_key_file: Some(key_file),
            oracle_keypair: Some(keypair.clone()),
            ..Default::default()
        }
        .resolve("http://x")
        .unwrap();
        assert_eq!(from_files.webhook_secret, "whsec_from_file");
        assert_eq!(from_files.processor_key, "sk_live_from_file");
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = PaymentsSettings {
            webhook_secret_file: Some(empty),
            ..Default::default()
        }
        .resolve("x")
        .err()
        .expect("refused")
        .to_string();
        assert!(err.contains("is empty"), "{err}");
        std::fs::write(&file, "webhook_secrt = \"typo\"\n").unwrap();
        let err = PaymentsSettings::from_file(&file).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");
    }
}
