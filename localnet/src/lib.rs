//! A local Solana cluster (under construction).
