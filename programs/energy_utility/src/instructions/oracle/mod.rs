//! Signed by the grid's payment oracle: coins minted for dollars paid, burned for dollars paid out.

pub mod add_fiat;

pub use add_fiat::*;
