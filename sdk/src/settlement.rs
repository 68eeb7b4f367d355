//! Splitting an epoch's meters into settlement transactions that fit mainnet's limits.

use anchor_lang::prelude::Pubkey;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_instruction::Instruction;

use crate::instructions;

/// Solana's packet limit for one transaction, in bytes.
pub const MAX_TRANSACTION_BYTES: usize = 1_232;
/// Mainnet's limit of accounts one transaction may lock.
pub const MAX_ACCOUNT_LOCKS: usize = 64;
/// Compute units a settlement transaction asks for: a full batch on BPF may need more than
/// the 200,000 default, and asking costs nothing without a priority fee.
pub const SETTLE_COMPUTE_UNITS: u32 = 1_400_000;

/// Meters per settlement transaction: with the fee payer, the compute-budget instruction and
/// the settle instruction's fixed accounts, this many meters keep a legacy transaction within
/// 1,232 bytes (one more does not fit) and far within 64 account locks. Each reading costs
/// one account. Checked below and, in a real bank, by the integration test `scale.rs`.
pub const MAX_METERS_PER_SETTLE: usize = 24;

/// The instructions of one settlement transaction: a compute budget, then `settle`.
pub fn settle_transaction(grid: &Pubkey, epoch: u64, meters: &[Pubkey]) -> Vec<Instruction> {
    vec![
        ComputeBudgetInstruction::set_compute_unit_limit(SETTLE_COMPUTE_UNITS),
        instructions::settle(grid, epoch, meters),
    ]
}

/// Settlement batches for an epoch: consumers first (they fill the pool), then producers
/// (paid from it), each batch at most `MAX_METERS_PER_SETTLE` meters. Sending them in order
/// settles the epoch in `ceil(n / MAX)` transactions; any other order also converges, since
/// the program skips producers until every consumer is charged.
pub fn plan_batches(consumers: &[Pubkey], producers: &[Pubkey]) -> Vec<Vec<Pubkey>> {
    let all: Vec<Pubkey> = consumers.iter().chain(producers).copied().collect();
    if all.is_empty() {
        return vec![Vec::new()];
    }
    all.chunks(MAX_METERS_PER_SETTLE)
        .map(<[Pubkey]>::to_vec)
        .collect()
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
