//! The grid's address lookup tables, which let a v0 settlement name a meter in one byte.

use anchor_lang::prelude::Pubkey;
use solana_message::AddressLookupTableAccount;

use super::{rpc_error, Client, Result, ACCOUNTS_PER_REQUEST};
use crate::accounts::LookupTableEntry;
use crate::{instructions, lookup, pda};

impl Client {
    /// The grid's lookup tables that are recorded and still active, with the addresses each
    /// lists (in order: table `k` lists meters `k * 256 ..`). A deactivated table is left out,
    /// so its meters settle in legacy transactions until `sync_lookup_tables` replaces it.
    pub async fn lookup_tables(
        &self,
        grid: &Pubkey,
        meter_count: u32,
    ) -> Result<lookup::GridTables> {
        let entries: Vec<Pubkey> = (0..lookup::tables_for(meter_count))
            .map(|k| pda::lookup_table_entry(grid, k))
            .collect();
        let tables: Vec<Pubkey> = self
            .accounts::<LookupTableEntry>(&entries)
            .await?
            .into_iter()
            .flatten()
            .map(|entry| entry.table)
            .collect();
        let mut found = Vec::with_capacity(tables.len());
        for chunk in tables.chunks(ACCOUNTS_PER_REQUEST) {
            let accounts = self
                .rpc
                .get_multiple_accounts(chunk)
                .await
                .map_err(rpc_error)?;
            for (key, account) in chunk.iter().zip(accounts) {
                let account = account.filter(|a| {
                    a.owner == lookup::LOOKUP_TABLE_PROGRAM && lookup::is_active(&a.data)
                });
                if let Some(account) = account {
                    found.push(AddressLookupTableAccount {
                        key: *key,
                        addresses: lookup::addresses(&account.data),
                    });
                }
            }
        }
        Ok(lookup::GridTables::new(found))
    }

    /// Brings the grid's lookup tables up to its meters (the payer must be the grid's admin,
    /// who owns the tables): each table is extended with the meters registered since, a new
    /// one created and recorded for every 256, and a table that lists anything else is
    /// replaced, as is one that was deactivated. Returns how many addresses were added. Ends once the cluster has moved past
    /// the slot of the last change, when the new addresses become usable.
    pub async fn sync_lookup_tables(&self, grid: &Pubkey) -> Result<usize> {
        let (_, state) = self.grid_at(grid).await?;
        let meters = self.meter_addresses(grid, state.meter_count).await?;
        let entries: Vec<Pubkey> = (0..lookup::tables_for(state.meter_count))
            .map(|k| pda::lookup_table_entry(grid, k))
            .collect();
        let recorded = self.accounts::<LookupTableEntry>(&entries).await?;
        let admin = self.payer();
        let mut added = 0;
        for (k, wanted) in meters
            .chunks(lookup::METERS_PER_LOOKUP_TABLE as usize)
            .enumerate()
        {
            let index = k as u32;
            let current = match &recorded[k] {
                Some(entry) => self
                    .rpc
                    .get_account(&entry.table)
                    .await
                    .ok()
                    .filter(|a| {
                        a.owner == lookup::LOOKUP_TABLE_PROGRAM && lookup::is_active(&a.data)
                    })
                    .map(|a| (entry.table, lookup::addresses(&a.data))),
                None => None,
            };
            let (table, listed) = match current {
                Some((table, listed)) if wanted.starts_with(&listed) => (table, listed.len()),
                _ => {
                    let slot = self.rpc.get_slot().await.map_err(rpc_error)?;
                    let (create, table) = lookup::create_table(&admin, &admin, slot);
                    self.send_without_events(&[create], &[]).await?;
                    self.send_without_events(
                        &[instructions::record_lookup_table(
                            &admin, grid, index, &table,
                        )],
                        &[],
                    )
                    .await?;
                    (table, 0)
                }
            };
            for chunk in wanted[listed..].chunks(lookup::EXTEND_CHUNK) {
                self.send_without_events(
                    &[lookup::extend_table(&table, &admin, &admin, chunk)],
                    &[],
                )
                .await?;
                added += chunk.len();
            }
        }
        if added > 0 {
            let changed = self.rpc.get_slot().await.map_err(rpc_error)?;
            for _ in 0..50 {
                if self.rpc.get_slot().await.map_err(rpc_error)? > changed {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        Ok(added)
    }
}
