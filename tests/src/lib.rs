//! Test harness: a community grid with named actors, running the real program inside a real
//! Agave bank (`solana-program-test`), with SPL Token as real BPF. The bank comes from
//! `energy-utility-bank`: native program, or the BPF build when `target/deploy` has one.
//!
//! `grid` builds the community, `bank` sends transactions and moves the clock,
//! `instructions` is one typed call per instruction (grouped by who signs), `accounts` reads
//! the chain back and checks the books, and `refusal` checks that a refused instruction fails
//! with its named error and changes nothing.

mod accounts;
mod bank;
mod grid;
mod instructions;
mod refusal;

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use energy_utility::constants::{UNITS_PER_COIN, WH_PER_KWH};

pub use energy_utility_bank::{program_test, MAINNET_ACCOUNT_LOCKS};
pub use grid::{meter_args, Actor, MeterRef, TestGrid};
pub use refusal::{
    assert_fails_with, assert_same, assert_unchanged, custom_error, grid_accounts, snapshot, watch,
    Watch,
};
pub use solana_instruction::error::InstructionError;

/// One coin `k` in base units.
pub const K: u64 = UNITS_PER_COIN;
/// One kWh in watt-hours.
pub const KWH: u64 = WH_PER_KWH;
/// The bank's clock at the start of every test: two minutes past an hour boundary
/// (1,800,000,000 is a multiple of 3,600).
pub const START_TS: i64 = 1_800_000_000 + 120;
/// Test meters' capacity unless a test sets one: 1 MW.
pub const DEFAULT_TEST_CAPACITY_W: u64 = 1_000_000;
/// The payout account each test resident binds when it registers (its sales are paid there).
pub fn test_payout_account(resident: &str) -> String {
    let id: String = resident
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("acct_test_{id}")
}
/// Mainnet's packet size limit for a transaction.
pub const MAINNET_TX_BYTES: usize = 1_232;

/// The SPL Token program id, for tests that build raw token instructions.
pub fn token_program_id() -> Pubkey {
    spl_token::ID
}
