//! Permissionless: anyone may crank settlement, apply what the admin proposed once its notice
//! has passed, and close what has served its time (settled epochs, old receipts, ended sales),
//! returning each account's rent to whoever paid it.
#![allow(ambiguous_glob_reexports)]

pub mod apply_grid_changes;
pub mod apply_meter_change;
pub mod close_epoch;
pub mod close_receipt;
pub mod close_sale;
pub mod disconnect_silent;
pub mod settle;

pub use apply_grid_changes::*;
pub use apply_meter_change::*;
pub use close_epoch::*;
pub use close_receipt::*;
pub use close_sale::*;
pub use disconnect_silent::*;
pub use settle::*;
