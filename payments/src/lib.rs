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
