//! Buying and selling coins for dollars through the payment processor, the trusted oracle for
//! fiat: checkout sessions for purchases, connected accounts residents are paid to, transfers
//! for sales, and the webhook that applies the processor's events (payments, transfers,
//! refunds, disputes) on chain with the oracle key.

pub mod config;
pub(crate) mod connect;
pub mod deliveries;
pub(crate) mod orders;
mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;
use energy_utility_payments::client::Processor;
use energy_utility_payments::signature::DEFAULT_TOLERANCE_SECS;
use energy_utility_sdk::amounts::format_usd;
use energy_utility_sdk::{fiat, Client};

pub use config::{PaymentsConfig, PaymentsSettings};
pub use deliveries::{Delivery, DeliveryLog};

use crate::App;

/// The path the processor delivers events to.
pub const WEBHOOK_PATH: &str = "/webhooks/processor";

/// Metadata this service puts on every checkout, connected account and transfer it creates:
/// the grid's name (an event without it is not ours and is ignored), the resident's id, and a
/// transfer's sale.
pub const META_GRID: &str = "grid";
pub const META_RESIDENT: &str = "resident";
pub const META_SALE: &str = "sale";

/// How often expired receipts and ended sales are closed (their rent returned).
pub const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3_600);

pub struct Payments {
    pub processor: Processor,
    webhook_secret: String,
    /// Who may read the delivery log in `deu serve`.
    operator_token: Option<String>,
    /// How old a signed delivery may be (Stripe's default: 5 minutes).
    pub tolerance_secs: i64,
    /// Signs with the grid's oracle key and pays its fees.
    pub oracle: Client,
    /// Where residents reach this server.
    pub public_url: String,
    pub deliveries: DeliveryLog,
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Payments {
    /// Connects to the cluster and checks that the keypair is the grid's oracle and that the
    /// configured coin price is the grid's.
    pub async fn connect(
        config: PaymentsConfig,
        rpc_url: &str,
        grid_name: &str,
    ) -> anyhow::Result<Self> {
        let oracle = Client::new(rpc_url, config.oracle);
        let processor = Processor::new(&config.processor_url, &config.processor_key);
        // Test money and real coins never mix: the cluster's genesis tells which it is,
        // whatever its URL says.
        let genesis = oracle
            .genesis_hash()
            .await
            .map_err(|e| anyhow::anyhow!("cannot ask the cluster which it is: {e}"))?;
        let cluster = fiat::Cluster::of_genesis(&genesis);
        if let Err(refusal) = fiat::check_money_mode(processor.live_mode(), cluster) {
            anyhow::bail!("refusing to start the payment service: {refusal}");
        }
        let (_, grid) = oracle.grid(grid_name).await?;
        if grid.oracle != oracle.payer() {
            anyhow::bail!(
                "the oracle keypair ({}) is not grid '{grid_name}''s oracle ({})",
                oracle.payer(),
                grid.oracle
            );
        }
        if let Some(cents) = config.coin_price_cents {
            if cents != grid.coin_price_cents {
                anyhow::bail!(
                    "the configured coin price ${} differs from grid '{grid_name}''s price ${} per k; fix the setting or the grid",
                    format_usd(cents),
                    format_usd(grid.coin_price_cents)
                );
            }
        }
        Ok(Self {
            processor,
            webhook_secret: config.webhook_secret,
            operator_token: config.operator_token,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            oracle,
            public_url: config.public_url,
            deliveries: DeliveryLog::new(config.delivery_log),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// The lock that deliveries of one payment id take in turn.
    fn payment_lock(&self, payment_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.entry(payment_id.to_string()).or_default().clone()
    }

    /// Closes the grid's receipts and ended sales past their retention, returning the rent
    /// the oracle (and residents) paid. Logged; a failure waits for the next sweep.
    pub async fn sweep(&self, grid_name: &str) {
        let grid = energy_utility_sdk::pda::grid(grid_name);
        match self.oracle.close_expired(&grid).await {
            Ok((0, 0)) => {}
            Ok((receipts, sales)) => tracing::warn!(target: "deu",
                "payments: closed {receipts} expired receipts and {sales} ended sales; their rent went back to who paid it"
            ),
            Err(err) => {
                tracing::warn!(target: "deu", "payments: closing expired receipts failed (retried in an hour): {err}")
            }
        }
    }

    /// Whether `header` (an `Authorization` value) is the operator's token.
    pub fn is_operator(&self, header: Option<&str>) -> bool {
        let Some(token) = self.operator_token.as_deref() else {
            return false;
        };
        let given = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("")
            .trim();
        // Compared in constant time: the token's letters do not leak through timing.
        given.len() == token.len()
            && given
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    fn release_payment_lock(&self, payment_id: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        drop(lock);
        if in_flight
            .get(payment_id)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            in_flight.remove(payment_id);
        }
    }
}

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(WEBHOOK_PATH, post(webhook::receive))
        .route("/api/payments", get(orders::status))
        .route("/api/payments/deliveries", get(orders::deliveries))
        .route("/api/payments/checkouts/{session}", get(orders::checkout))
        .route("/api/buy", post(orders::buy))
        .route("/api/sell", post(orders::sell))
        .route("/api/connect", post(connect::start))
        .route("/api/connect/{account}", get(connect::status))
        .route("/api/payout-account", post(connect::bind))
        .route("/api/payout-account/cancel", post(connect::cancel))
}
