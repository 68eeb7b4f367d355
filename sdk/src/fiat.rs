//! Dollars and coins: the quotes the program applies (so a page or a command shows exactly
//! what the chain will do), payment ids, and the hash that binds a sale to its payout
//! destination without putting the destination itself on chain.

use energy_utility::constants::MAX_ID_LEN;
use energy_utility::math::{coins_bought_floor, coins_sold_ceil, payout_cents_floor};
use sha2::{Digest, Sha256};

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

/// A sale of `units` to `destination` that accepts no less than they are worth at
/// `price_cents` per k (the price in force when the resident signs): a lock after a price cut
/// is refused, and the resident may cancel and sign again.
pub fn sale_request(
    units: u64,
    destination: &str,
    price_cents: u64,
) -> Option<crate::instructions::SaleRequest> {
    Some(crate::instructions::SaleRequest {
        amount_units: units,
        destination_hash: destination_hash(destination),
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

/// A payout destination as the processor knows it: a bank account number typed with spaces
/// or dashes is the same account without them.
pub fn normalize_destination(destination: &str) -> String {
    destination
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect()
}

/// What a sale commits to on chain: SHA-256 of a domain tag and the normalized destination.
/// The chain never sees the account number; the payment service shows the same hash before it
/// pays, so it can only pay where the resident said.
pub fn destination_hash(destination: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"deu-payout-destination\0");
    hasher.update(normalize_destination(destination).as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_account_typed_differently_hashes_the_same() {
        let a = destination_hash("000123456789");
        assert_eq!(a, destination_hash(" 000-123 456789 "));
        assert_ne!(a, destination_hash("000111111116"));
        assert_ne!(a, [0; 32]);
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
