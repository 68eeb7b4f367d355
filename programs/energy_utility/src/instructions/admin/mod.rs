//! Signed by the grid's admin: create and tune the grid, install and manage meters.
#![allow(ambiguous_glob_reexports)]

pub mod close_meter;
pub mod collect_fees;
pub mod deactivate_meter;
pub mod initialize_grid;
pub mod record_lookup_table;
pub mod register_meter;
pub mod replace_meter_register;
pub mod rotate_gateway;
pub mod set_meter_capacity;
pub mod set_paused;
pub mod update_grid;

pub use close_meter::*;
pub use collect_fees::*;
pub use deactivate_meter::*;
pub use initialize_grid::*;
pub use record_lookup_table::*;
pub use register_meter::*;
pub use replace_meter_register::*;
pub use rotate_gateway::*;
pub use set_meter_capacity::*;
pub use set_paused::*;
pub use update_grid::*;
