//! The grid's address lookup tables: table `k` lists the grid's meters `k * 256 ..` in
//! registration order, so a settlement transaction names each meter with one byte instead of
//! 32 and fills to the 64-account-lock limit (see `settlement.rs`). The admin creates and
//! extends them (`Client::sync_lookup_tables`) and records each with `record_lookup_table`;
//! any crank finds them from the grid's entries.
//!
//! The table program's instructions are built here by hand (bincode: a `u32` variant, then the
//! fields), as its interface crate speaks another version of `Pubkey`.

use std::collections::HashMap;

use anchor_lang::prelude::{AccountMeta, Pubkey};
use solana_instruction::Instruction;
use solana_message::AddressLookupTableAccount;

pub use energy_utility::constants::{LOOKUP_TABLE_PROGRAM, METERS_PER_LOOKUP_TABLE};

/// A table's addresses follow a 56-byte header.
const TABLE_HEADER: usize = 56;
/// Addresses added per `extend` transaction: each costs 32 bytes of the 1,232, and the rest
/// of a transaction paid by the table's authority takes 250 (tested below).
pub const EXTEND_CHUNK: usize = 30;

/// Which table lists the grid's `meter_index`-th meter, and where in it.
pub fn position(meter_index: u32) -> (u32, usize) {
    (
        meter_index / METERS_PER_LOOKUP_TABLE,
        (meter_index % METERS_PER_LOOKUP_TABLE) as usize,
    )
}

/// How many tables list `meter_count` meters.
pub fn tables_for(meter_count: u32) -> u32 {
    meter_count.div_ceil(METERS_PER_LOOKUP_TABLE)
}

/// Whether a lookup table account is still active: its deactivation slot (after the table's
/// 4-byte type) is `u64::MAX` until its authority deactivates it. A deactivated table soon
/// stops resolving and can be closed, so nothing should be sent through it.
pub fn is_active(data: &[u8]) -> bool {
    data.get(4..12)
        .and_then(|slot| slot.try_into().ok())
        .is_some_and(|slot| u64::from_le_bytes(slot) == u64::MAX)
}

/// The addresses a lookup table account lists.
pub fn addresses(data: &[u8]) -> Vec<Pubkey> {
    data.get(TABLE_HEADER..)
        .unwrap_or_default()
        .chunks_exact(32)
        .map(|chunk| Pubkey::new_from_array(chunk.try_into().expect("32 bytes")))
        .collect()
}

/// `CreateLookupTable`: a new table owned by `authority`, at the address derived from it and
/// `recent_slot` (a slot the cluster still remembers).
pub fn create_table(authority: &Pubkey, payer: &Pubkey, recent_slot: u64) -> (Instruction, Pubkey) {
    let (table, bump) = Pubkey::find_program_address(
        &[authority.as_ref(), &recent_slot.to_le_bytes()],
        &LOOKUP_TABLE_PROGRAM,
    );
    let mut data = 0u32.to_le_bytes().to_vec();
    data.extend(recent_slot.to_le_bytes());
    data.push(bump);
    let ix = Instruction {
        program_id: LOOKUP_TABLE_PROGRAM,
        accounts: vec![
            AccountMeta::new(table, false),
            AccountMeta::new_readonly(*authority, true),
            AccountMeta::new(*payer, true),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
        ],
        data,
    };
    (ix, table)
}

/// `ExtendLookupTable`: appends `new` to `table` (the payer funds the larger account).
pub fn extend_table(
    table: &Pubkey,
    authority: &Pubkey,
    payer: &Pubkey,
    new: &[Pubkey],
) -> Instruction {
    let mut data = 2u32.to_le_bytes().to_vec();
    data.extend((new.len() as u64).to_le_bytes());
    for address in new {
        data.extend(address.to_bytes());
    }
    Instruction {
        program_id: LOOKUP_TABLE_PROGRAM,
        accounts: vec![
            AccountMeta::new(*table, false),
            AccountMeta::new_readonly(*authority, true),
            AccountMeta::new(*payer, true),
            AccountMeta::new_readonly(anchor_lang::system_program::ID, false),
        ],
        data,
    }
}

/// The grid's lookup tables with an index of the meters they list, so a batch finds its
/// tables in one hash lookup per meter, however many tables the grid has (a million meters
/// are 3,907 tables).
#[derive(Clone, Debug, Default)]
pub struct GridTables {
    tables: Vec<AddressLookupTableAccount>,
    table_of: HashMap<Pubkey, usize>,
}

impl GridTables {
    pub fn new(tables: Vec<AddressLookupTableAccount>) -> Self {
        let mut table_of = HashMap::new();
        for (t, table) in tables.iter().enumerate() {
            for address in &table.addresses {
                table_of.entry(*address).or_insert(t);
            }
        }
        Self { tables, table_of }
    }

    pub fn tables(&self) -> &[AddressLookupTableAccount] {
        &self.tables
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Whether some table lists `meter`.
    pub fn lists(&self, meter: &Pubkey) -> bool {
        self.table_of.contains_key(meter)
    }

    /// The tables that list `meters` (each once, in the grid's order); meters no table lists
    /// are left for the transaction's own keys.
    pub fn for_batch(&self, meters: &[Pubkey]) -> Vec<AddressLookupTableAccount> {
        let mut used: Vec<usize> = meters
            .iter()
            .filter_map(|m| self.table_of.get(m).copied())
            .collect();
        used.sort_unstable();
        used.dedup();
        used.into_iter().map(|t| self.tables[t].clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_map_to_tables_of_256() {
        assert_eq!(position(0), (0, 0));
        assert_eq!(position(255), (0, 255));
        assert_eq!(position(256), (1, 0));
        assert_eq!(tables_for(0), 0);
        assert_eq!(tables_for(1), 1);
        assert_eq!(tables_for(256), 1);
        assert_eq!(tables_for(257), 2);
    }

    #[test]
    fn a_table_is_active_until_its_deactivation_slot_is_set() {
        let mut data = vec![0u8; TABLE_HEADER];
        data[..4].copy_from_slice(&1u32.to_le_bytes());
        data[4..12].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(is_active(&data));
        data[4..12].copy_from_slice(&1_234u64.to_le_bytes());
        assert!(!is_active(&data));
        assert!(!is_active(&[0u8; 6]));
    }

    #[test]
    fn table_addresses_follow_the_header() {
        let a = Pubkey::new_unique();
        let b = Pubkey::new_unique();
        let mut data = vec![0u8; TABLE_HEADER];
        data.extend(a.to_bytes());
        data.extend(b.to_bytes());
        assert_eq!(addresses(&data), vec![a, b]);
        assert!(addresses(&[0u8; 10]).is_empty());
    }

    #[test]
    fn a_batch_finds_only_the_tables_that_list_it() {
        let meters: Vec<Pubkey> = (0..600).map(|_| Pubkey::new_unique()).collect();
        let tables: Vec<AddressLookupTableAccount> = meters
            .chunks(METERS_PER_LOOKUP_TABLE as usize)
            .map(|chunk| AddressLookupTableAccount {
                key: Pubkey::new_unique(),
                addresses: chunk.to_vec(),
            })
            .collect();
        let grid = GridTables::new(tables.clone());
        assert!(grid.lists(&meters[599]) && !grid.lists(&Pubkey::new_unique()));
        let used = grid.for_batch(&meters[250..262]);
        assert_eq!(
            used.iter().map(|t| t.key).collect::<Vec<_>>(),
            vec![tables[0].key, tables[1].key]
        );
        assert!(grid.for_batch(&[Pubkey::new_unique()]).is_empty());
        assert!(GridTables::default().is_empty());
    }

    #[test]
    fn an_extend_of_a_full_chunk_fits_a_transaction_and_one_more_does_not() {
        use solana_keypair::Keypair;
        use solana_signer::Signer;
        use solana_transaction::Transaction;
        let admin = Keypair::new();
        let size = |n: usize| {
            let new: Vec<Pubkey> = (0..n).map(|_| Pubkey::new_unique()).collect();
            let extend = extend_table(
                &Pubkey::new_unique(),
                &admin.pubkey(),
                &admin.pubkey(),
                &new,
            );
            let tx = Transaction::new_signed_with_payer(
                &[extend],
                Some(&admin.pubkey()),
                &[&admin],
                solana_hash::Hash::new_unique(),
            );
            bincode::serialize(&tx).unwrap().len()
        };
        assert!(size(EXTEND_CHUNK) <= 1_232, "{} bytes", size(EXTEND_CHUNK));
        assert!(size(EXTEND_CHUNK + 1) > 1_232);
    }
}
