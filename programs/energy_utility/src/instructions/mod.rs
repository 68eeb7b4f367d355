//! Instructions, grouped by who calls them: the utility's admin, residents, meter gateways,
//! the permissionless settlement crank, and the payment oracle.

// Every instruction module exports a `handler`; lib.rs calls each by its full path.
#![allow(ambiguous_glob_reexports)]

pub mod admin;
pub mod crank;
pub mod gateway;
pub mod oracle;
pub mod resident;

pub use admin::*;
pub use crank::*;
pub use gateway::*;
pub use oracle::*;
pub use resident::*;
