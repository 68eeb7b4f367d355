//! Splitting an epoch's meters into settlement transactions that fit mainnet's limits: legacy
//! transactions (each meter's 32-byte key counts, so the 1,232 bytes bind at 24 meters) or v0
//! transactions over the grid's address lookup tables (a meter costs one byte, so the 64
//! account locks bind, at 55 meters).

use anchor_lang::prelude::Pubkey;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_message::{v0, CompileError};

use crate::accounts::{Epoch, Grid};
use crate::error::SdkError;
use crate::instructions;
use crate::lookup::GridTables;

/// Solana's packet limit for one transaction, in bytes.
pub const MAX_TRANSACTION_BYTES: usize = 1_232;
/// Mainnet's limit of accounts one transaction may lock.
pub const MAX_ACCOUNT_LOCKS: usize = 64;

/// Meters per legacy settlement transaction: with the fee payer, the compute-budget
/// instruction and the settle instruction's fixed accounts, this many meters keep a legacy
/// transaction within 1,232 bytes (one more does not fit) and far within 64 account locks.
/// Each reading costs one account. Checked below and, in a real bank, by `tests/tests/scale.rs`.
pub const MAX_METERS_PER_SETTLE: usize = 24;

/// Accounts a settlement transaction locks besides its meters: the fee payer, the grid, the
/// epoch, the vault, the pool, the treasury, the token program, this program and the
/// compute-budget program.
pub const SETTLE_FIXED_ACCOUNTS: usize = 9;

/// Meters per v0 settlement transaction over the grid's lookup tables: every account lock
/// left (64 − 9); the bytes (about 650 for a full batch over two tables) no longer bind.
pub const MAX_METERS_PER_SETTLE_V0: usize = MAX_ACCOUNT_LOCKS - SETTLE_FIXED_ACCOUNTS;

/// Compute units of a settlement call before its meters, and per meter, with margin. Derived,
/// not measured (nothing here runs SBF): Anchor's dispatch and the grid, epoch and three token
/// accounts read and written back (~20k), and three SPL Token transfers by CPI (~5k each), so
/// ~35k; then per meter a Borsh read and write of the ~500-byte account with its two strings,
/// the arithmetic and one or two events logged from the stack (~8k, a producer read twice in
/// the call that finishes charging ~11k). The constants leave about 50 % on top; in BPF mode
/// `tests/tests/scale.rs` prints what a full batch consumed.
pub const SETTLE_BASE_UNITS: u32 = 50_000;
pub const SETTLE_UNITS_PER_METER: u32 = 16_000;
/// The most one transaction may ask for.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;

/// The compute-unit limit a settlement call over `meters` meters asks for: priority fees are
/// paid on it, so it follows the batch instead of always asking the 1.4M maximum.
pub fn settle_compute_units(meters: usize) -> u32 {
    let meters = u32::try_from(meters).unwrap_or(u32::MAX);
    SETTLE_UNITS_PER_METER
        .saturating_mul(meters)
        .saturating_add(SETTLE_BASE_UNITS)
        .min(MAX_COMPUTE_UNITS)
}

/// The first second at which `epoch` stops taking reports and may be settled: the program's
/// rule (`Grid::reports_close_at`) with the epoch's own parameters once its account exists
/// (`epoch_state`), and the grid's parameters for that epoch before, as `report` decides.
pub fn reports_close_at(
    grid: &Grid,
    epoch_state: Option<&Epoch>,
    epoch: u64,
) -> Result<i64, SdkError> {
    let grace_seconds = epoch_state.map_or_else(
        || grid.params_for(epoch).grace_seconds,
        |state| state.params.grace_seconds,
    );
    grid.reports_close_at(epoch, grace_seconds)
        .map_err(|_| SdkError::Invalid(format!("epoch {epoch} is beyond the grid's clock")))
}

/// The instructions of one settlement transaction: a compute budget, then `settle`.
pub fn settle_transaction(grid: &Pubkey, epoch: u64, meters: &[Pubkey]) -> Vec<Instruction> {
    vec![
        ComputeBudgetInstruction::set_compute_unit_limit(settle_compute_units(meters.len())),
        instructions::settle(grid, epoch, meters),
    ]
}

/// One v0 settlement message over the grid's lookup tables (those that list some of the
/// batch's meters are used; the rest are left out).
pub fn settle_message_v0(
    payer: &Pubkey,
    grid: &Pubkey,
    epoch: u64,
    meters: &[Pubkey],
    tables: &GridTables,
    blockhash: Hash,
) -> Result<v0::Message, CompileError> {
    v0::Message::try_compile(
        payer,
        &settle_transaction(grid, epoch, meters),
        &tables.for_batch(meters),
        blockhash,
    )
}

/// Settlement batches for an epoch: consumers first (they fill the pool), then producers
/// (paid from it), each batch at most `per_transaction` meters. Sending them in order
/// settles the epoch in `ceil(n / per_transaction)` transactions; any other order also
/// converges, since the program skips producers until every consumer is charged.
pub fn plan_batches_of(
    consumers: &[Pubkey],
    producers: &[Pubkey],
    per_transaction: usize,
) -> Vec<Vec<Pubkey>> {
    let all: Vec<Pubkey> = consumers.iter().chain(producers).copied().collect();
    if all.is_empty() {
        return vec![Vec::new()];
    }
    all.chunks(per_transaction.max(1))
        .map(<[Pubkey]>::to_vec)
        .collect()
}

/// Legacy batches (`MAX_METERS_PER_SETTLE` meters each).
pub fn plan_batches(consumers: &[Pubkey], producers: &[Pubkey]) -> Vec<Vec<Pubkey>> {
    plan_batches_of(consumers, producers, MAX_METERS_PER_SETTLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_keypair::Keypair;
    use solana_signer::Signer;
    use solana_transaction::Transaction;

    fn meters(n: usize) -> Vec<Pubkey> {
        (0..n).map(|_| Pubkey::new_unique()).collect()
    }

    fn signed(grid: &Pubkey, batch: &[Pubkey], payer: &Keypair) -> Transaction {
        Transaction::new_signed_with_payer(
            &settle_transaction(grid, 9, batch),
            Some(&payer.pubkey()),
            &[payer],
            solana_hash::Hash::new_unique(),
        )
    }

    #[test]
    fn consumers_come_first_and_batches_are_capped() {
        let consumers = meters(30);
        let producers = meters(7);
        let batches = plan_batches(&consumers, &producers);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].len(), MAX_METERS_PER_SETTLE);
        assert_eq!(batches[0][0], consumers[0]);
        assert_eq!(batches[1].last(), producers.last());
        assert_eq!(batches.concat().len(), 37);
    }

    #[test]
    fn an_epoch_without_meters_still_gets_one_call() {
        assert_eq!(plan_batches(&[], &[]), vec![Vec::<Pubkey>::new()]);
    }

    #[test]
    fn every_settlement_transaction_fits_for_1_to_500_readings() {
        let payer = Keypair::new();
        let grid = Pubkey::new_unique();
        let all = meters(500);
        for n in 1..=500 {
            let producers = n / 5;
            let batches = plan_batches(&all[producers..n], &all[..producers]);
            assert_eq!(batches.len(), n.div_ceil(MAX_METERS_PER_SETTLE));
            for batch in &batches {
                let tx = signed(&grid, batch, &payer);
                let size = bincode::serialize(&tx).unwrap().len();
                assert!(size <= MAX_TRANSACTION_BYTES, "{n} readings: {size} bytes");
                assert!(tx.message.account_keys.len() <= MAX_ACCOUNT_LOCKS);
            }
        }
    }

    /// Tables listing `all` 256 at a time, as the grid keeps them.
    fn tables(all: &[Pubkey]) -> GridTables {
        GridTables::new(
            all.chunks(256)
                .map(|chunk| solana_message::AddressLookupTableAccount {
                    key: Pubkey::new_unique(),
                    addresses: chunk.to_vec(),
                })
                .collect(),
        )
    }

    #[test]
    fn every_v0_settlement_transaction_fits_for_1_to_600_readings_at_55_a_transaction() {
        use solana_message::VersionedMessage;
        use solana_transaction::versioned::VersionedTransaction;
        let payer = Keypair::new();
        let grid = Pubkey::new_unique();
        let all = meters(600);
        let tables = tables(&all);
        let mut largest = 0;
        for n in (1..=600).step_by(7).chain([55, 110, 256, 300, 600]) {
            let producers = n / 5;
            let batches = plan_batches_of(
                &all[producers..n],
                &all[..producers],
                MAX_METERS_PER_SETTLE_V0,
            );
            assert_eq!(batches.len(), n.div_ceil(MAX_METERS_PER_SETTLE_V0));
            for batch in &batches {
                let message = settle_message_v0(
                    &payer.pubkey(),
                    &grid,
                    9,
                    batch,
                    &tables,
                    Hash::new_unique(),
                )
                .unwrap();
                let locks = message.account_keys.len()
                    + message
                        .address_table_lookups
                        .iter()
                        .map(|l| l.writable_indexes.len() + l.readonly_indexes.len())
                        .sum::<usize>();
                assert!(locks <= MAX_ACCOUNT_LOCKS, "{n}: {locks} locks");
                assert_eq!(
                    message.account_keys.len(),
                    SETTLE_FIXED_ACCOUNTS,
                    "meters come from the tables"
                );
                let tx = VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer])
                    .unwrap();
                let size = bincode::serialize(&tx).unwrap().len();
                assert!(size <= MAX_TRANSACTION_BYTES, "{n} readings: {size} bytes");
                largest = largest.max(size);
            }
        }
        // A full batch across two tables is about half a packet.
        assert!(largest < 800, "{largest} bytes");
    }

    #[test]
    fn the_compute_budget_follows_the_batch() {
        assert_eq!(settle_compute_units(0), SETTLE_BASE_UNITS);
        assert!(settle_compute_units(MAX_METERS_PER_SETTLE) < 500_000);
        assert!(settle_compute_units(MAX_METERS_PER_SETTLE_V0) < 1_000_000);
        assert_eq!(settle_compute_units(1_000), MAX_COMPUTE_UNITS);
    }

    #[test]
    fn one_meter_more_than_the_cap_does_not_fit() {
        let payer = Keypair::new();
        let tx = signed(
            &Pubkey::new_unique(),
            &meters(MAX_METERS_PER_SETTLE + 1),
            &payer,
        );
        assert!(bincode::serialize(&tx).unwrap().len() > MAX_TRANSACTION_BYTES);
    }
}
