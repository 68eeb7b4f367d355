//! Signed by residents (or anyone, for collecting earnings): register, fund meters, set
//! coins aside to sell, take a meter's emergency credit, veto what the admin proposed alone
//! for their meters, and close.
#![allow(ambiguous_glob_reexports)]

pub mod cancel_payout_account_change;
pub mod cancel_withdrawal;
pub mod close_resident;
pub mod collect_earnings;
pub mod fund;
pub mod register_resident;
pub mod request_withdrawal;
pub mod set_payout_account;
pub mod take_emergency_credit;
pub mod veto_meter_change;

pub use cancel_payout_account_change::*;
pub use cancel_withdrawal::*;
pub use close_resident::*;
pub use collect_earnings::*;
pub use fund::*;
pub use register_resident::*;
pub use request_withdrawal::*;
pub use set_payout_account::*;
pub use take_emergency_credit::*;
pub use veto_meter_change::*;
