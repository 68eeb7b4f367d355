//! The payment processor, seen from the utility: Stripe's wire format and webhook signatures,
//! a client for its API, and a test-mode sandbox that speaks the same protocol.
//!
//! - [`signature`]: signing and verifying `Stripe-Signature` headers.
//! - [`wire`]: events, Checkout Sessions, payouts and error bodies as Stripe encodes them.
//! - [`client`]: [`client::Processor`], the API over HTTP (api.stripe.com or the sandbox).
//! - [`sandbox`]: a test-mode processor with hosted Checkout pages and webhook delivery.

pub mod client;
pub mod sandbox;
pub mod signature;
pub mod wire;

use std::time::{SystemTime, UNIX_EPOCH};

use rand::distributions::Alphanumeric;
use rand::Rng;

/// Seconds since the unix epoch on this machine's clock (0 if it is set before 1970): what
/// webhook signatures are timed by.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `prefix` followed by 24 random letters and digits, like Stripe's ids (`evt_…`, `po_…`):
/// 28 bytes for a four-byte prefix, within the program's 32-byte payment ids.
pub fn random_id(prefix: &str) -> String {
    let random: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}{random}")
}
