//! Dollars and coins: the quotes the program applies (so a page or a command shows exactly
//! what the chain will do), payment ids, and which processor mode (test or live) a cluster
//! takes.

use energy_utility::constants::MAX_ID_LEN;
use energy_utility::math::{coins_bought_floor, coins_sold_ceil, payout_cents_floor};

/// Coin units `cents` buy at `price_cents` per k (rounded down), as `add_fiat` mints them.
pub fn quote_buy(cents: u64, price_cents: u64) -> Option<u64> {
    coins_bought_floor(cents, price_cents)
}

/// The fewest cents that buy at least `units` at `price_cents` per k (rounded up).
pub fn cents_to_buy_ceil(units: u64, price_cents: u64) -> Option<u64> {
    energy_utility::math::mul_div_ceil(
        units,
        price_cents,
        energy_utility::constants::UNITS_PER_COIN,
    )
}

/// Coin units a resident sells to be paid `cents` at `price_cents` per k (rounded up).
pub fn quote_sell_units(cents: u64, price_cents: u64) -> Option<u64> {
    coins_sold_ceil(cents, price_cents)
}

/// Cents a sale of `units` pays out at `price_cents` per k (rounded down), the amount
/// `lock_withdrawal` requires.
pub fn quote_payout_cents(units: u64, price_cents: u64) -> Option<u64> {
    payout_cents_floor(units, price_cents)
}

/// A sale of `units` that accepts no less than they are worth at `price_cents` per k (the price
/// in force when the resident signs): a lock after a price cut is refused, and the resident may
/// cancel and sign again.
pub fn sale_request(units: u64, price_cents: u64) -> Option<crate::instructions::SaleRequest> {
    Some(crate::instructions::SaleRequest {
        amount_units: units,
        min_cents: quote_payout_cents(units, price_cents)?,
    })
}

/// A processor payment id the program accepts: 1 to 32 bytes.
pub fn check_payment_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(format!(
            "a payment id is 1 to {MAX_ID_LEN} bytes, not {}",
            id.len()
        ));
    }
    Ok(())
}

/// The genesis hashes of Solana's public clusters: which cluster an RPC URL really serves.
pub const MAINNET_BETA_GENESIS: &str = "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d";
pub const DEVNET_GENESIS: &str = "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG";
pub const TESTNET_GENESIS: &str = "4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY";

/// A cluster as its genesis hash tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cluster {
    MainnetBeta,
    Devnet,
    Testnet,
    /// A local or private cluster (`deu localnet`, a test validator).
    Local,
}

impl Cluster {
    pub fn of_genesis(hash: &str) -> Self {
        match hash {
            MAINNET_BETA_GENESIS => Self::MainnetBeta,
            DEVNET_GENESIS => Self::Devnet,
            TESTNET_GENESIS => Self::Testnet,
            _ => Self::Local,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::MainnetBeta => "mainnet-beta",
            Self::Devnet => "devnet",
            Self::Testnet => "testnet",
            Self::Local => "a local cluster",
        }
    }
}

/// Test money and real coins never mix: a live processor key (real dollars) only against
/// mainnet-beta, and mainnet-beta only with a live key, so a test card can never mint coins
/// that are worth something, nor real dollars buy coins on a cluster anyone can reset.
pub fn check_money_mode(live_key: bool, cluster: Cluster) -> Result<(), String> {
    match (live_key, cluster) {
        (true, Cluster::MainnetBeta) | (false, Cluster::Devnet | Cluster::Testnet | Cluster::Local) => {
            Ok(())
        }
        (false, Cluster::MainnetBeta) => Err(
            "a test-mode processor key against mainnet-beta: test cards would mint real coins; use a live key (sk_live_…)"
                .into(),
        ),
        (true, other) => Err(format!(
            "a live processor key against {}: real dollars would buy coins on a cluster that is not mainnet-beta; use a test key (sk_test_…)",
            other.name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_and_live_never_mix() {
        let main = Cluster::of_genesis(MAINNET_BETA_GENESIS);
        assert_eq!(main, Cluster::MainnetBeta);
        assert!(check_money_mode(true, main).is_ok());
        let refused = check_money_mode(false, main).unwrap_err();
        assert!(
            refused.contains("test cards would mint real coins"),
            "{refused}"
        );
        for other in [
            DEVNET_GENESIS,
            TESTNET_GENESIS,
            "11111111111111111111111111111111",
        ] {
            let cluster = Cluster::of_genesis(other);
            assert_ne!(cluster, Cluster::MainnetBeta);
            assert!(check_money_mode(false, cluster).is_ok());
            let refused = check_money_mode(true, cluster).unwrap_err();
            assert!(refused.contains(cluster.name()), "{refused}");
        }
    }

    #[test]
    fn quotes_are_the_programs() {
        assert_eq!(quote_buy(150, 10), Some(15_000_000));
        assert_eq!(quote_sell_units(1, 3), Some(333_334));
        assert_eq!(quote_payout_cents(333_334, 3), Some(1));
        for units in [1, 333_333, 333_334, 10_000_000, 123_456_789] {
            let cents = cents_to_buy_ceil(units, 3).unwrap();
            assert!(quote_buy(cents, 3).unwrap() >= units);
            assert!(cents == 0 || quote_buy(cents - 1, 3).unwrap() < units);
        }
        assert!(check_payment_id("evt_1").is_ok());
        assert!(check_payment_id("").is_err());
        assert!(check_payment_id(&"x".repeat(33)).is_err());
    }
}
