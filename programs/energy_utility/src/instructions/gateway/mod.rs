//! Signed by a meter's gateway key: hourly readings.

pub mod report;

pub use report::*;
