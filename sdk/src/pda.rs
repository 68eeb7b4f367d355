//! Program-derived addresses, from the seeds the program itself declares.

use anchor_lang::prelude::Pubkey;
use energy_utility::constants::*;
use energy_utility::ID;

fn find(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &ID).0
}

pub fn grid(name: &str) -> Pubkey {
    find(&[GRID_SEED, id_seed(name)])
}

pub fn mint(grid: &Pubkey) -> Pubkey {
    find(&[MINT_SEED, grid.as_ref()])
}

pub fn vault(grid: &Pubkey) -> Pubkey {
    find(&[VAULT_SEED, grid.as_ref()])
}

pub fn pool(grid: &Pubkey) -> Pubkey {
    find(&[POOL_SEED, grid.as_ref()])
}

pub fn treasury(grid: &Pubkey) -> Pubkey {
    find(&[TREASURY_SEED, grid.as_ref()])
}

pub fn escrow(grid: &Pubkey) -> Pubkey {
    find(&[ESCROW_SEED, grid.as_ref()])
}

pub fn resident(grid: &Pubkey, resident_id: &str) -> Pubkey {
    find(&[RESIDENT_SEED, grid.as_ref(), id_seed(resident_id)])
}

/// A resident's coin account.
pub fn coins(resident: &Pubkey) -> Pubkey {
    find(&[COINS_SEED, resident.as_ref()])
}

pub fn meter(grid: &Pubkey, meter_id: &str) -> Pubkey {
    find(&[METER_SEED, grid.as_ref(), id_seed(meter_id)])
}

/// The grid's `index`-th meter directory entry.
pub fn meter_entry(grid: &Pubkey, index: u32) -> Pubkey {
    find(&[METER_INDEX_SEED, grid.as_ref(), &index.to_le_bytes()])
}

/// The grid's `index`-th resident directory entry.
pub fn resident_entry(grid: &Pubkey, index: u32) -> Pubkey {
    find(&[RESIDENT_INDEX_SEED, grid.as_ref(), &index.to_le_bytes()])
}

pub fn epoch(grid: &Pubkey, epoch: u64) -> Pubkey {
    find(&[EPOCH_SEED, grid.as_ref(), &epoch.to_le_bytes()])
}

pub fn receipt(grid: &Pubkey, payment_id: &str) -> Pubkey {
    find(&[RECEIPT_SEED, grid.as_ref(), id_seed(payment_id)])
}

/// Entry `index` of the grid's lookup tables (which table lists meters `index * 256 ..`).
pub fn lookup_table_entry(grid: &Pubkey, index: u32) -> Pubkey {
    find(&[LOOKUP_TABLE_SEED, grid.as_ref(), &index.to_le_bytes()])
}

/// The `number`-th sale of coins for dollars of the resident registered at `resident` with
/// directory index `resident_index` (`Resident::index`).
pub fn sale(resident: &Pubkey, resident_index: u32, number: u32) -> Pubkey {
    find(&[
        SALE_SEED,
        resident.as_ref(),
        &resident_index.to_le_bytes(),
        &number.to_le_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_per_grid_and_id() {
        let a = grid("green-valley");
        let b = grid("hill-top");
        assert_ne!(a, b);
        assert_eq!(a, grid("green-valley"));
        assert_ne!(resident(&a, "angel"), resident(&b, "angel"));
        assert_ne!(meter(&a, "angel"), resident(&a, "angel"));
        assert_ne!(epoch(&a, 1), epoch(&a, 2));
        assert_ne!(meter_entry(&a, 0), resident_entry(&a, 0));
        assert_ne!(meter_entry(&a, 0), meter_entry(&a, 1));
        let carlos = resident(&a, "carlos");
        assert_ne!(sale(&carlos, 0, 0), sale(&carlos, 0, 1));
        assert_ne!(sale(&carlos, 0, 0), sale(&resident(&a, "danny"), 0, 0));
        // Carlos's id registered again (after he closed) never reaches his old sales.
        assert_ne!(sale(&carlos, 0, 0), sale(&carlos, 5, 0));
        let accounts = [mint(&a), vault(&a), pool(&a), treasury(&a), escrow(&a)];
        for (i, x) in accounts.iter().enumerate() {
            for y in &accounts[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
