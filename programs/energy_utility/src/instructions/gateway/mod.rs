//! Signed by a meter's gateway key: hourly readings, of one register or of a prosumer's two.
#![allow(ambiguous_glob_reexports)]

pub mod report;
pub mod report_prosumer;

pub use report::*;
pub use report_prosumer::*;
