//! Splitting an epoch's meters into settlement transactions that fit mainnet's limits.

use anchor_lang::prelude::Pubkey;

/// Meters per settlement instruction in a legacy transaction signed by one fee payer: the
/// fixed accounts (payer, program, grid, epoch, vault, pool, treasury, token program) plus
/// this many meters stay within 1232 bytes and 64 account locks. The integration test
/// `scale.rs` builds this transaction and checks both limits.
pub const MAX_METERS_PER_SETTLE: usize = 25;

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

    #[test]
    fn consumers_come_first_and_batches_are_capped() {
        let consumers: Vec<Pubkey> = (0..30).map(|_| Pubkey::new_unique()).collect();
        let producers: Vec<Pubkey> = (0..7).map(|_| Pubkey::new_unique()).collect();
        let batches = plan_batches(&consumers, &producers);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].len(), MAX_METERS_PER_SETTLE);
        assert_eq!(batches[0][0], consumers[0]);
        assert_eq!(batches[1].last(), producers.last());
        let flat: Vec<Pubkey> = batches.concat();
        assert_eq!(flat.len(), 37);
    }

    #[test]
    fn an_epoch_without_meters_still_gets_one_call() {
        assert_eq!(plan_batches(&[], &[]), vec![Vec::<Pubkey>::new()]);
    }
}
