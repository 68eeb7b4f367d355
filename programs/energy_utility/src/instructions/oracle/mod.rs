//! Signed by the grid's payment oracle: coins minted for dollars paid in; a resident's sale
//! locked for a payout to the destination they committed, then burned when it is paid or
//! returned when it fails (minted back if it fails after it was paid).
#![allow(ambiguous_glob_reexports)]

pub mod add_fiat;
pub mod claw_back;
pub mod lock_withdrawal;
pub mod payout_failed;
pub mod payout_paid;
pub mod restore_dispute;

pub use add_fiat::*;
pub use claw_back::*;
pub use lock_withdrawal::*;
pub use payout_failed::*;
pub use payout_paid::*;
pub use restore_dispute::*;
