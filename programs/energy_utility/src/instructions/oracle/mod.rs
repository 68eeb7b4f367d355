//! Signed by the grid's payment oracle: coins minted for dollars paid in; escrowed coins locked
//! for a payout, burned when it is paid, returned when it fails.

pub mod add_fiat;
pub mod lock_withdrawal;
pub mod return_withdrawal;

pub use add_fiat::*;
pub use lock_withdrawal::*;
pub use return_withdrawal::*;
