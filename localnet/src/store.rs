//! The ledger folder: what survives a restart of the local cluster, in one embedded
//! transactional database (`<ledger>/ledger.redb`, redb).
//!
//! Every transaction is committed atomically with what it did: the accounts it touched, its
//! record (for `getTransaction` and signature statuses), the address index (for
//! `getSignaturesForAddress`), the clock, the slot and the counters. Transactions that arrive
//! together are committed one by one without waiting for the disk, then made durable by one
//! commit that syncs them all (group commit); none is answered before that. A commit is
//! durable when `sendTransaction` answers; a kill at any moment leaves every account as it was
//! before or after each transaction, never between. A damaged file is reported with its path and what to
//! do, never a panic.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use redb::{Database, MultimapTableDefinition, ReadableTable, TableDefinition};
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
/// address → (sequence number, big-endian, then signature): newest last.
const BY_ADDRESS: MultimapTableDefinition<&[u8; 32], &[u8; 72]> =
    MultimapTableDefinition::new("signatures_by_address");

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

pub(crate) struct Store {
    db: Database,
    path: PathBuf,
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
        let store = Self { db, path };
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
                .open_multimap_table(BY_ADDRESS)
                .map_err(|e| damaged(&store.path, e))?;
        }
        write.commit().map_err(|e| damaged(&store.path, e))?;
        Ok(store)
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
    /// them wrote, as the last left it), their records and the by-address index — and the
    /// cluster's counters, in one commit: all of it or none. `durable`: synced to disk before
    /// returning, with every commit before it; otherwise made durable by the next durable
    /// commit (lost, with every later one, by a kill before it).
    pub fn commit(&self, writes: &[Write<'_>], meta: &Meta, durable: bool) -> anyhow::Result<()> {
        let mut write = self.db.begin_write().map_err(|e| damaged(&self.path, e))?;
        if !durable {
            write.set_durability(redb::Durability::None);
        }
        {
            let mut table = write.open_table(ACCOUNTS)?;
            let mut transactions = write.open_table(TRANSACTIONS)?;
            let mut by_address = write.open_multimap_table(BY_ADDRESS)?;
            // An account many transactions of the group wrote (the epoch every report
            // names) is written once, as the last of them left it.
            let mut last: std::collections::BTreeMap<&Pubkey, &Option<Account>> =
                std::collections::BTreeMap::new();
            for (accounts, _) in writes {
                for (address, account) in accounts.iter() {
                    last.insert(address, account);
                }
            }
            for (address, account) in last {
                match account {
                    Some(account) => {
                        table
                            .insert(&address.to_bytes(), bincode::serialize(account)?.as_slice())?;
                    }
                    None => {
                        table.remove(&address.to_bytes())?;
                    }
                }
            }
            for (_, record) in writes {
                if let Some((signature, record)) = record {
                    let key: [u8; 64] = (**signature).into();
                    transactions.insert(&key, bincode::serialize(record)?.as_slice())?;
                    let mut entry = [0u8; 72];
                    entry[..8].copy_from_slice(&record.sequence.to_be_bytes());
                    entry[8..].copy_from_slice(&key);
                    let mut keys = record.account_keys.clone();
                    keys.sort();
                    keys.dedup();
                    for address in keys {
                        by_address.insert(&address.to_bytes(), &entry)?;
                    }
                }
            }
            let mut table = write.open_table(META)?;
            table.insert(META_KEY, bincode::serialize(meta)?.as_slice())?;
        }
        write
            .commit()
            .with_context(|| format!("commit to {}", self.path.display()))
    }

    pub fn transaction(&self, signature: &Signature) -> anyhow::Result<Option<TransactionRecord>> {
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
        let index = read.open_multimap_table(BY_ADDRESS)?;
        let transactions = read.open_table(TRANSACTIONS)?;
        let sequence_of = |signature: &Signature| -> anyhow::Result<Option<u64>> {
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
        for entry in index.get(&address.to_bytes())?.rev() {
            let entry = entry?;
            let bytes = entry.value();
            let sequence = u64::from_be_bytes(bytes[..8].try_into()?);
            if before.is_some_and(|b| sequence >= b) {
                continue;
            }
            if until.is_some_and(|u| sequence <= u) || found.len() >= limit {
                break;
            }
            let signature = Signature::from(<[u8; 64]>::try_from(&bytes[8..])?);
            if let Some(record) = transactions.get(&<[u8; 64]>::try_from(&bytes[8..])?)? {
                found.push((signature, bincode::deserialize(record.value())?));
            }
        }
        Ok(found)
    }
}
