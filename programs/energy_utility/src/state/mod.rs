//! Account types, one per file, with the small methods that keep their invariants.

pub mod calendar;
pub mod directory;
pub mod epoch;
pub mod grid;
pub mod meter;
pub mod meter_change;
pub mod receipt;
pub mod resident;
pub mod resident_payouts;
pub mod sale;

pub use calendar::*;
pub use directory::*;
pub use epoch::*;
pub use grid::*;
pub use meter::*;
pub use meter_change::*;
pub use receipt::*;
pub use resident::*;
pub use resident_payouts::*;
pub use sale::*;

use crate::constants::MAX_ID_LEN;
use crate::error::EnergyError;
use anchor_lang::prelude::*;

/// Grid names, resident ids and meter ids are PDA seeds and show on poles and pages:
/// 1 to 32 bytes of ASCII letters, digits, `-`, `_` and `.`.
pub fn validate_id(id: &str) -> Result<()> {
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    require!(valid, EnergyError::InvalidId);
    Ok(())
}

/// Payment and payout ids are the processor's (`evt_…`, `po_…`) and a receipt's PDA seed: 1 to
/// 32 bytes, otherwise unchecked.
pub fn validate_payment_id(payment_id: &str) -> Result<()> {
    require!(
        !payment_id.is_empty() && payment_id.len() <= MAX_ID_LEN,
        EnergyError::InvalidPaymentId
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `result` is the refusal `error`, by its code.
    #[track_caller]
    pub fn refused<T: std::fmt::Debug>(result: Result<T>, error: EnergyError) {
        assert_eq!(result.unwrap_err(), error.into());
    }
}
