//! The ledger folder: what survives a restart of the local cluster, in one embedded
//! transactional database (`<ledger>/ledger.redb`, redb).
//!
//! Every transaction is committed atomically with what it did: the accounts it touched, its
//! record (for `getTransaction` and signature statuses), the address index (for
//! `getSignaturesForAddress`), the clock, the slot and the counters. Transactions that arrive
//! together are committed by one durable commit (group commit); none is answered before that.
//! A kill at any moment leaves every account as it was before or after each transaction,
//! never between. A damaged file is reported with its path and what to do, never a panic.
//!
//! A group's commit appends it whole, as one entry of a log table keyed by its number, with
//! the counters: a few pages written, in order. Updating the tables keyed by account,
//! signature and address at every group would rewrite a page of each per transaction (their
//! keys fall anywhere), tens of kilobytes a report. So groups are merged into those tables
//! [`MERGE_EVERY`] transactions at a time, in one commit that also removes their log entries:
//! each page is then written once for many transactions. Until merged, what the log holds is
//! kept in memory too and every read looks there first; opening the ledger merges whatever a
//! stop or a kill left in the log.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use redb::{
    Database, MultimapTableDefinition, MultimapTableHandle, ReadableMultimapTable, ReadableTable,
    TableDefinition,
};
use serde::{Deserialize, Serialize};
use solana_account::Account;
use solana_sdk::{pubkey::Pubkey, signature::Signature};
use solana_transaction_error::TransactionError;

const FILE: &str = "ledger.redb";
/// What an older `deu` kept: one JSON file per account.
const OLD_ACCOUNTS_DIR: &str = "accounts";

const ACCOUNTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("accounts");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TRANSACTIONS: TableDefinition<&[u8; 64], &[u8]> = TableDefinition::new("transactions");
/// (address, then sequence number big-endian) → signature: an address's entries together,
/// oldest first.
const BY_ADDRESS: TableDefinition<&[u8; 40], &[u8; 64]> = TableDefinition::new("address_index");
/// The address index as ledgers before 0.1 kept it (one multimap entry per address), moved
/// into [`BY_ADDRESS`] when such a ledger opens.
const OLD_BY_ADDRESS: MultimapTableDefinition<&[u8; 32], &[u8; 72]> =
    MultimapTableDefinition::new("signatures_by_address");
/// Group number → the group's writes ([`Group`]), durable but not yet merged.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

/// How many logged transactions are merged into the tables at once.
pub(crate) const MERGE_EVERY: usize = 4_096;
/// Sets fewer, so that tests (the SIGKILL one) see merges often.
const MERGE_EVERY_VAR: &str = "DEU_LOCALNET_MERGE_EVERY";

const META_KEY: &str = "cluster";

/// The cluster's counters and clock, saved with every commit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Cluster time minus wall-clock time (`deuAdvanceClock` adds to it).
    pub offset_seconds: i64,
    /// The last timestamp the bank showed, so the clock never runs backwards across a restart.
    pub unix_timestamp: i64,
    /// At or above every slot and block height clients saw (kept ahead of them, see
    /// `Node::keep_floors_ahead`): a restart, even after a kill, continues above them.
    pub slot: u64,
    pub block_height: u64,
    /// Above every blockhash the cluster issued (program-test's blockhashes are
    /// `Hash::new_unique`, a counter that restarts with the process): a restart moves the
    /// counter past it, so no blockhash of an earlier run is ever valid again.
    #[serde(default)]
    pub hash_floor: u64,
    pub transaction_count: u64,
    /// Sequence number of the last recorded transaction.
    pub sequence: u64,
}

/// One transaction's writes, as `Store::commit` takes them: the accounts it left (`None`:
/// closed) and its record.
pub(crate) type Write<'a> = (
    &'a [(Pubkey, Option<Account>)],
    Option<(&'a Signature, &'a TransactionRecord)>,
);

/// A processed transaction, as `getTransaction` tells it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct TransactionRecord {
    pub sequence: u64,
    pub slot: u64,
    pub block_time: i64,
    pub err: Option<TransactionError>,
    pub fee: u64,
    /// The account keys in message order: static keys, then loaded writable, loaded readonly.
    pub account_keys: Vec<Pubkey>,
    pub loaded_writable: Vec<Pubkey>,
    pub loaded_readonly: Vec<Pubkey>,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
    pub logs: Vec<String>,
    pub compute_units_consumed: Option<u64>,
    /// The signed transaction, bincode (a `VersionedTransaction`).
    pub transaction: Vec<u8>,
}

/// One group's writes, as the log keeps them: the accounts (as the last of its transactions
/// left each) and the records.
#[derive(Serialize, Deserialize, Default)]
struct Group {
    accounts: Vec<(Pubkey, Option<Account>)>,
    records: Vec<(Signature, TransactionRecord)>,
}

/// What the log holds and the tables do not yet: every read looks here first.
#[derive(Default)]
struct Unmerged {
    /// The log entries' numbers, oldest first.
    groups: Vec<u64>,
    accounts: std::collections::BTreeMap<Pubkey, Option<Account>>,
    records: std::collections::HashMap<Signature, TransactionRecord>,
    /// Signatures in the order they were committed, and by address (oldest first).
    order: Vec<Signature>,
    by_address: std::collections::HashMap<Pubkey, Vec<(u64, Signature)>>,
}

impl Unmerged {
    fn add(&mut self, number: u64, group: Group) {
        self.groups.push(number);
        self.accounts.extend(group.accounts);
        for (signature, record) in group.records {
            for address in index_keys(&record) {
                self.by_address
                    .entry(address)
                    .or_default()
                    .push((record.sequence, signature));
            }
            self.order.push(signature);
            self.records.insert(signature, record);
        }
    }
}

/// The addresses a record is found by: each of its keys once.
fn index_keys(record: &TransactionRecord) -> Vec<Pubkey> {
    let mut keys = record.account_keys.clone();
    keys.sort();
    keys.dedup();
    keys
}

/// An address-index key: the address, then the sequence number (big-endian, so an address's
/// entries sort by it).
fn index_key(address: &[u8; 32], sequence: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(address);
    key[32..].copy_from_slice(&sequence.to_be_bytes());
    key
}

pub(crate) struct Store {
    db: Database,
    path: PathBuf,
    unmerged: Unmerged,
    /// The next log entry's number.
    next_group: u64,
    /// [`MERGE_EVERY`], or what `DEU_LOCALNET_MERGE_EVERY` says.
    merge_every: usize,
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!(
        "the local cluster's ledger {} is damaged ({e}); move it aside to keep it, or start afresh with `deu localnet --reset`",
        path.display()
    )
}

impl Store {
    /// Opens (creating) the ledger in `folder`; `reset` forgets what it holds first.
    pub fn open(folder: &Path, reset: bool) -> anyhow::Result<Self> {
        let path = folder.join(FILE);
        std::fs::create_dir_all(folder)
            .with_context(|| format!("create the ledger folder {}", folder.display()))?;
        let old = folder.join(OLD_ACCOUNTS_DIR);
        if reset {
            // Only what the cluster itself writes: a folder that holds other files keeps them.
            for file in [path.clone(), folder.join("clock.json")] {
                match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).with_context(|| format!("remove {}", file.display()))
                    }
                    _ => {}
                }
            }
            match std::fs::remove_dir_all(&old) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("remove {}", old.display()))
                }
                _ => {}
            }
        } else if old.is_dir() && !path.exists() {
            bail!(
                "the ledger folder {} was written by an older deu (one file per account); start afresh with `deu localnet --reset`",
                folder.display()
            );
        }
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => anyhow!(
                "the local cluster's ledger {} is in use by another `deu localnet`; stop it first, or give this one another --ledger",
                path.display()
            ),
            e => damaged(&path, e),
        })?;
        let mut store = Self {
            db,
            path,
            unmerged: Unmerged::default(),
            next_group: 0,
            merge_every: std::env::var(MERGE_EVERY_VAR)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n: &usize| *n > 0)
                .unwrap_or(MERGE_EVERY),
        };
        // Create the tables, so that reads of a fresh ledger find them.
        let write = store
            .db
            .begin_write()
            .map_err(|e| damaged(&store.path, e))?;
        {
            write
                .open_table(ACCOUNTS)
                .map_err(|e| damaged(&store.path, e))?;
            write
                .open_table(META)
                .map_err(|e| damaged(&store.path, e))?;
            write
                .open_table(TRANSACTIONS)
                .map_err(|e| damaged(&store.path, e))?;
            write
                .open_table(BY_ADDRESS)
                .map_err(|e| damaged(&store.path, e))?;
            write.open_table(LOG).map_err(|e| damaged(&store.path, e))?;
        }
        write.commit().map_err(|e| damaged(&store.path, e))?;
        store
            .move_old_index()
            .map_err(|e| damaged(&store.path, e))?;
        // What a stop or a kill left in the log goes into the tables now.
        let logged = store.logged().map_err(|e| damaged(&store.path, e))?;
        if !logged.is_empty() {
            for (number, group) in logged {
                store.next_group = number + 1;
                store.unmerged.add(number, group);
            }
            store.merge().map_err(|e| damaged(&store.path, e))?;
        }
        Ok(store)
    }

    /// A ledger written before the address index was one table: its entries moved into it.
    fn move_old_index(&self) -> anyhow::Result<()> {
        let read = self.db.begin_read()?;
        let old = read
            .list_multimap_tables()?
            .any(|t| t.name() == OLD_BY_ADDRESS.name());
        drop(read);
        if !old {
            return Ok(());
        }
        let write = self.db.begin_write()?;
        {
            let old = write.open_multimap_table(OLD_BY_ADDRESS)?;
            let mut index = write.open_table(BY_ADDRESS)?;
            for entry in old.iter()? {
                let (address, values) = entry?;
                for value in values {
                    let value = value?;
                    let bytes = value.value();
                    let sequence = u64::from_be_bytes(bytes[..8].try_into()?);
                    let signature: [u8; 64] = bytes[8..].try_into()?;
                    index.insert(&index_key(address.value(), sequence), &signature)?;
                }
            }
        }
        write.delete_multimap_table(OLD_BY_ADDRESS)?;
        write.commit()?;
        Ok(())
    }

    /// The log's entries, oldest first.
    fn logged(&self) -> anyhow::Result<Vec<(u64, Group)>> {
        let read = self.db.begin_read()?;
        let table = read.open_table(LOG)?;
        let mut groups = Vec::new();
        for entry in table.iter()? {
            let (number, bytes) = entry?;
            groups.push((number.value(), bincode::deserialize(bytes.value())?));
        }
        Ok(groups)
    }

    pub fn load_meta(&self) -> anyhow::Result<Meta> {
        let read = self.db.begin_read().map_err(|e| damaged(&self.path, e))?;
        let table = read.open_table(META).map_err(|e| damaged(&self.path, e))?;
        match table.get(META_KEY).map_err(|e| damaged(&self.path, e))? {
            None => Ok(Meta::default()),
            Some(bytes) => bincode::deserialize(bytes.value()).map_err(|e| damaged(&self.path, e)),
        }
    }

    /// Every saved account.
    pub fn load_accounts(&self) -> anyhow::Result<Vec<(Pubkey, Account)>> {
        let read = self.db.begin_read().map_err(|e| damaged(&self.path, e))?;
        let table = read
            .open_table(ACCOUNTS)
            .map_err(|e| damaged(&self.path, e))?;
        let mut accounts = Vec::new();
        for entry in table.iter().map_err(|e| damaged(&self.path, e))? {
            let (key, value) = entry.map_err(|e| damaged(&self.path, e))?;
            let account: Account =
                bincode::deserialize(value.value()).map_err(|e| damaged(&self.path, e))?;
            accounts.push((Pubkey::new_from_array(*key.value()), account));
        }
        Ok(accounts)
    }

    /// Writes what transactions left — the accounts (`None`: closed; an account several of
    /// them wrote, as the last left it) and their records — and the cluster's counters, in one
    /// durable commit: all of it or none, synced to disk before returning. The writes go into
    /// the log; every [`MERGE_EVERY`] transactions, into the tables (see the module's notes).
    pub fn commit(&mut self, writes: &[Write<'_>], meta: &Meta) -> anyhow::Result<()> {
        // An account many transactions of the group wrote (the epoch every report names) is
        // written once, as the last of them left it.
        let mut last: std::collections::BTreeMap<Pubkey, &Option<Account>> =
            std::collections::BTreeMap::new();
        for (accounts, _) in writes {
            for (address, account) in accounts.iter() {
                last.insert(*address, account);
            }
        }
        let group = Group {
            accounts: last.into_iter().map(|(a, v)| (a, v.clone())).collect(),
            records: writes
                .iter()
                .filter_map(|(_, record)| record.map(|(s, r)| (*s, r.clone())))
                .collect(),
        };
        let number = self.next_group;
        let write = self.db.begin_write().map_err(|e| damaged(&self.path, e))?;
        if !group.accounts.is_empty() || !group.records.is_empty() {
            write
                .open_table(LOG)?
                .insert(number, bincode::serialize(&group)?.as_slice())?;
        }
        write
            .open_table(META)?
            .insert(META_KEY, bincode::serialize(meta)?.as_slice())?;
        write
            .commit()
            .with_context(|| format!("commit to {}", self.path.display()))?;
        if !group.accounts.is_empty() || !group.records.is_empty() {
            self.next_group += 1;
            self.unmerged.add(number, group);
        }
        // The group is durable whatever becomes of the merge: one that fails (a full disk) is
        // tried again after the next group, and reads keep finding the log's in memory.
        if self.unmerged.order.len() >= self.merge_every {
            if let Err(e) = self.merge() {
                eprintln!("localnet: merging the ledger's log failed, tried again later: {e:#}");
            }
        }
        Ok(())
    }

    /// Moves what the log holds into the tables — accounts, records, the address index — and
    /// removes the log's entries, in one commit. Not synced itself: the next durable commit
    /// syncs it, and until then a kill leaves the log as it was, merged again at the next
    /// start.
    fn merge(&mut self) -> anyhow::Result<()> {
        let unmerged = &self.unmerged;
        let mut write = self.db.begin_write().map_err(|e| damaged(&self.path, e))?;
        write.set_durability(redb::Durability::None);
        {
            let mut accounts = write.open_table(ACCOUNTS)?;
            for (address, account) in &unmerged.accounts {
                match account {
                    Some(account) => {
                        accounts
                            .insert(&address.to_bytes(), bincode::serialize(account)?.as_slice())?;
                    }
                    None => {
                        accounts.remove(&address.to_bytes())?;
                    }
                }
            }
            // In key order: each page is reached once, while it is in the cache.
            let mut records: Vec<(&Signature, &TransactionRecord)> =
                unmerged.records.iter().collect();
            records.sort_unstable_by_key(|(signature, _)| **signature);
            let mut transactions = write.open_table(TRANSACTIONS)?;
            for (signature, record) in records {
                let key: [u8; 64] = (*signature).into();
                transactions.insert(&key, bincode::serialize(record)?.as_slice())?;
            }
            let mut entries: Vec<([u8; 40], &Signature)> = unmerged
                .by_address
                .iter()
                .flat_map(|(address, entries)| {
                    let address = address.to_bytes();
                    entries.iter().map(move |(sequence, signature)| {
                        (index_key(&address, *sequence), signature)
                    })
                })
                .collect();
            entries.sort_unstable_by_key(|(key, _)| *key);
            let mut by_address = write.open_table(BY_ADDRESS)?;
            for (key, signature) in entries {
                by_address.insert(&key, &<[u8; 64]>::from(*signature))?;
            }
            let mut log = write.open_table(LOG)?;
            for number in &unmerged.groups {
                log.remove(number)?;
            }
        }
        write
            .commit()
            .with_context(|| format!("commit to {}", self.path.display()))?;
        self.unmerged = Unmerged::default();
        Ok(())
    }

    pub fn transaction(&self, signature: &Signature) -> anyhow::Result<Option<TransactionRecord>> {
        if let Some(record) = self.unmerged.records.get(signature) {
            return Ok(Some(record.clone()));
        }
        let read = self.db.begin_read()?;
        let table = read.open_table(TRANSACTIONS)?;
        let key: [u8; 64] = (*signature).into();
        match table.get(&key)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(bincode::deserialize(bytes.value())?)),
        }
    }

    /// The signatures of transactions that named `address`, newest first: those older than
    /// `before` (if given), down to but not including `until`, at most `limit`.
    pub fn signatures_for(
        &self,
        address: &Pubkey,
        before: Option<&Signature>,
        until: Option<&Signature>,
        limit: usize,
    ) -> anyhow::Result<Vec<(Signature, TransactionRecord)>> {
        let read = self.db.begin_read()?;
        let index = read.open_table(BY_ADDRESS)?;
        let transactions = read.open_table(TRANSACTIONS)?;
        let sequence_of = |signature: &Signature| -> anyhow::Result<Option<u64>> {
            if let Some(record) = self.unmerged.records.get(signature) {
                return Ok(Some(record.sequence));
            }
            let key: [u8; 64] = (*signature).into();
            Ok(match transactions.get(&key)? {
                None => None,
                Some(bytes) => {
                    Some(bincode::deserialize::<TransactionRecord>(bytes.value())?.sequence)
                }
            })
        };
        let before = match before {
            Some(signature) => sequence_of(signature)?,
            None => None,
        };
        let until = match until {
            Some(signature) => sequence_of(signature)?,
            None => None,
        };
        let mut found = Vec::new();
        // The log's (newer than any the tables hold), newest first.
        let unmerged = self.unmerged.by_address.get(address);
        for (sequence, signature) in unmerged.into_iter().flatten().rev() {
            if before.is_some_and(|b| *sequence >= b) {
                continue;
            }
            if until.is_some_and(|u| *sequence <= u) || found.len() >= limit {
                return Ok(found);
            }
            if let Some(record) = self.unmerged.records.get(signature) {
                found.push((*signature, record.clone()));
            }
        }
        // The tables' entries for the address between `until` and `before`, newest first.
        let address = address.to_bytes();
        let Some(newest) = before.map_or(Some(u64::MAX), |b| b.checked_sub(1)) else {
            return Ok(found);
        };
        let oldest = until.map_or(0, |u| u.saturating_add(1));
        if oldest > newest {
            return Ok(found);
        }
        let (first, last) = (index_key(&address, oldest), index_key(&address, newest));
        let range = index.range::<&[u8; 40]>(&first..=&last)?;
        for entry in range.rev() {
            if found.len() >= limit {
                break;
            }
            let (_, signature) = entry?;
            let signature: [u8; 64] = *signature.value();
            if let Some(record) = transactions.get(&signature)? {
                found.push((
                    Signature::from(signature),
                    bincode::deserialize(record.value())?,
                ));
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let folder =
            std::env::temp_dir().join(format!("localnet-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        folder
    }

    fn record(sequence: u64, keys: &[Pubkey]) -> TransactionRecord {
        TransactionRecord {
            sequence,
            slot: sequence,
            block_time: 0,
            err: None,
            fee: 5_000,
            account_keys: keys.to_vec(),
            loaded_writable: Vec::new(),
            loaded_readonly: Vec::new(),
            pre_balances: Vec::new(),
            post_balances: Vec::new(),
            logs: vec![format!("transaction {sequence}")],
            compute_units_consumed: Some(sequence),
            transaction: vec![7; 200],
        }
    }

    fn account(lamports: u64) -> Account {
        Account {
            lamports,
            data: vec![1, 2, 3],
            owner: Pubkey::new_unique(),
            executable: false,
            rent_epoch: 0,
        }
    }

    /// Commits one group of transactions, each naming `shared` and an address of its own and
    /// leaving that address's account at `sequence` lamports; returns their signatures.
    fn commit_group(
        store: &mut Store,
        meta: &mut Meta,
        shared: &Pubkey,
        own: &[Pubkey],
    ) -> Vec<Signature> {
        let mut made = Vec::new();
        for address in own {
            meta.sequence += 1;
            let signature = Signature::from([meta.sequence as u8; 64]);
            let accounts = vec![(*address, Some(account(meta.sequence)))];
            made.push((
                accounts,
                signature,
                record(meta.sequence, &[*shared, *address]),
            ));
        }
        let writes: Vec<Write<'_>> = made
            .iter()
            .map(|(accounts, signature, record)| (accounts.as_slice(), Some((signature, record))))
            .collect();
        store.commit(&writes, meta).unwrap();
        made.iter().map(|(_, signature, _)| *signature).collect()
    }

    fn log_len(store: &Store) -> usize {
        store.logged().unwrap().len()
    }

    #[test]
    fn reads_find_what_the_log_holds_and_what_was_merged_alike() {
        let folder = folder("merge");
        let mut store = Store::open(&folder, true).unwrap();
        store.merge_every = 4;
        let mut meta = Meta::default();
        let shared = Pubkey::new_unique();
        let own: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();

        // Three transactions: in the log only.
        let first = commit_group(&mut store, &mut meta, &shared, &own);
        assert_eq!(log_len(&store), 1);
        // Three more: six past the threshold, merged (the log emptied).
        let second = commit_group(&mut store, &mut meta, &shared, &own);
        assert_eq!(log_len(&store), 0);
        // And two in the log again.
        let third = commit_group(&mut store, &mut meta, &shared, &own[..2]);
        assert_eq!(log_len(&store), 1);

        let all: Vec<Signature> = [&first, &second, &third]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for (i, signature) in all.iter().enumerate() {
            let found = store.transaction(signature).unwrap().expect("recorded");
            assert_eq!(found.sequence, i as u64 + 1);
        }
        // Newest first, across the log and the tables.
        let named = |found: Vec<(Signature, TransactionRecord)>| -> Vec<u64> {
            found.into_iter().map(|(_, r)| r.sequence).collect()
        };
        assert_eq!(
            named(store.signatures_for(&shared, None, None, 100).unwrap()),
            vec![8, 7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(
            named(store.signatures_for(&own[0], None, None, 100).unwrap()),
            vec![7, 4, 1]
        );
        // Pages that start in the log and end in the tables, and the other way round.
        assert_eq!(
            named(store.signatures_for(&shared, None, None, 3).unwrap()),
            vec![8, 7, 6]
        );
        assert_eq!(
            named(
                store
                    .signatures_for(&shared, Some(&all[7]), Some(&all[2]), 100)
                    .unwrap()
            ),
            vec![7, 6, 5, 4]
        );
        assert_eq!(
            named(
                store
                    .signatures_for(&shared, Some(&all[4]), None, 2)
                    .unwrap()
            ),
            vec![4, 3]
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn a_ledger_with_the_old_address_index_has_it_moved() {
        let folder = folder("old-index");
        std::fs::create_dir_all(&folder).unwrap();
        let address = Pubkey::new_unique();
        let signatures: Vec<Signature> = (1..=3u8).map(|i| Signature::from([i; 64])).collect();
        {
            // As an older `deu` left it: the records, and the index as a multimap.
            let db = Database::create(folder.join(FILE)).unwrap();
            let write = db.begin_write().unwrap();
            {
                let mut transactions = write.open_table(TRANSACTIONS).unwrap();
                let mut old = write.open_multimap_table(OLD_BY_ADDRESS).unwrap();
                for (i, signature) in signatures.iter().enumerate() {
                    let sequence = i as u64 + 1;
                    let key: [u8; 64] = (*signature).into();
                    let bytes = bincode::serialize(&record(sequence, &[address])).unwrap();
                    transactions.insert(&key, bytes.as_slice()).unwrap();
                    let mut entry = [0u8; 72];
                    entry[..8].copy_from_slice(&sequence.to_be_bytes());
                    entry[8..].copy_from_slice(&key);
                    old.insert(&address.to_bytes(), &entry).unwrap();
                }
            }
            write.commit().unwrap();
        }
        let store = Store::open(&folder, false).unwrap();
        let found: Vec<Signature> = store
            .signatures_for(&address, None, None, 10)
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(found, vec![signatures[2], signatures[1], signatures[0]]);
        let read = store.db.begin_read().unwrap();
        assert_eq!(
            read.list_multimap_tables().unwrap().count(),
            0,
            "the old table is gone"
        );
        drop(read);
        drop(store);
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn what_a_kill_left_in_the_log_is_merged_when_the_ledger_opens() {
        let folder = folder("reopen");
        let mut store = Store::open(&folder, true).unwrap();
        let mut meta = Meta::default();
        let shared = Pubkey::new_unique();
        let own: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();
        let first = commit_group(&mut store, &mut meta, &shared, &own);
        let second = commit_group(&mut store, &mut meta, &shared, &own[..1]);
        // The last group closes one of the accounts.
        let closed = [(own[2], None)];
        store.commit(&[(&closed, None)], &meta).unwrap();
        assert_eq!(log_len(&store), 3);
        // Nothing is written when the store goes: the process could have been killed here.
        drop(store);

        let store = Store::open(&folder, false).unwrap();
        assert_eq!(log_len(&store), 0, "the log is merged at open");
        assert_eq!(store.load_meta().unwrap(), meta);
        let mut accounts = store.load_accounts().unwrap();
        accounts.sort_by_key(|(a, _)| *a);
        let mut expected = vec![(own[0], 4), (own[1], 2)];
        expected.sort_by_key(|(a, _)| *a);
        assert_eq!(
            accounts
                .iter()
                .map(|(a, acc)| (*a, acc.lamports))
                .collect::<Vec<_>>(),
            expected,
            "each account as the last transaction left it, the closed one gone"
        );
        for signature in first.iter().chain(&second) {
            assert!(store.transaction(signature).unwrap().is_some());
        }
        let sequences: Vec<u64> = store
            .signatures_for(&shared, None, None, 100)
            .unwrap()
            .into_iter()
            .map(|(_, r)| r.sequence)
            .collect();
        assert_eq!(sequences, vec![4, 3, 2, 1]);
        drop(store);
        let _ = std::fs::remove_dir_all(&folder);
    }
}
