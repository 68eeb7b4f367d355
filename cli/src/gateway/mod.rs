//! The code that runs next to a smart meter: read the register, turn register deltas into
//! hourly readings, keep them on disk until the chain has them, and act on the connection
//! decision.

pub mod actuator;
pub mod clock;
pub mod source;
pub mod spool;

pub use actuator::Actuator;
pub use source::MeterSource;
pub use spool::Spool;
