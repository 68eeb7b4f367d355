//! Insiders cannot take from each other: a producer timing its reports, a consumer catching up
//! after a tariff change, the admin acting alone on a resident's meter or on the grid's
//! economics, the oracle locking a sale below what the resident accepted. One module per
//! insider; each attack either changes nothing or takes effect only after the grid's notice,
//! visible on chain and cancellable by the one it would hurt.

use energy_utility::error::EnergyError;
use energy_utility::instructions::UpdateGridArgs;
use energy_utility::state::{Meter, MeterAct, MeterKind};
use energy_utility_sdk::pda;
use energy_utility_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

mod admin;
mod consumer;
mod oracle;
mod producer;
