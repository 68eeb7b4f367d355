//! Client SDK for the `energy_utility` program: every off-chain user (CLI, web app, gateway,
//! crank, tests) derives addresses and builds instructions through it, never by hand.

pub mod accounts;
pub mod amounts;
pub mod audit;
pub mod calendar;
pub mod client;
pub mod error;
pub mod events;
pub mod fiat;
pub mod history;
pub mod instructions;
pub mod logs;
pub mod lookup;
pub mod meters;
pub mod metrics;
pub mod pda;
pub mod settings;
pub mod settlement;
pub mod views;

pub use client::{Client, Payer, Sent};
pub use energy_utility::{self as program, constants, ID as PROGRAM_ID};
pub use error::SdkError;
