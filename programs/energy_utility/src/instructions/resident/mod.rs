//! Signed by residents (or anyone, for collecting earnings): register, fund meters, set
//! coins aside to sell.
#![allow(ambiguous_glob_reexports)]

pub mod cancel_withdrawal;
pub mod collect_earnings;
pub mod fund;
pub mod register_resident;
pub mod request_withdrawal;

pub use cancel_withdrawal::*;
pub use collect_earnings::*;
pub use fund::*;
pub use register_resident::*;
pub use request_withdrawal::*;
