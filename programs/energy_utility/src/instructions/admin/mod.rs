//! Signed by the grid's admin: create and tune the grid, install and manage meters, hand the
//! role on. What the admin changes alone about a resident's meter or the grid's economics
//! waits for the grid's notice.
#![allow(ambiguous_glob_reexports)]

pub mod accept_admin;
pub mod cancel_grid_changes;
pub mod change_meter;
pub mod close_meter;
pub mod collect_fees;
pub mod initialize_grid;
pub mod pair_meters;
pub mod propose_admin;
pub mod record_lookup_table;
pub mod register_meter;
pub mod set_paused;
pub mod update_grid;

pub use accept_admin::*;
pub use cancel_grid_changes::*;
pub use change_meter::*;
pub use close_meter::*;
pub use collect_fees::*;
pub use initialize_grid::*;
pub use pair_meters::*;
pub use propose_admin::*;
pub use record_lookup_table::*;
pub use register_meter::*;
pub use set_paused::*;
pub use update_grid::*;
