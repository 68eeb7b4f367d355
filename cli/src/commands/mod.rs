//! One module per command group.

pub mod cluster;
pub mod demo;
pub mod epoch;
pub mod fiat;
pub mod fund;
pub mod grid;
pub mod localnet;
pub mod meter;
pub mod report;
pub mod resident;
pub mod sandbox;
pub mod settle;
