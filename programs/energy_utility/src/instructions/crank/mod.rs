//! Permissionless: anyone may crank settlement and reclaim settled epochs' rent for its payer.
#![allow(ambiguous_glob_reexports)]

pub mod close_epoch;
pub mod settle;

pub use close_epoch::*;
pub use settle::*;
