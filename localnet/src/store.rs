//! The ledger folder: what survives a restart of the local cluster, in two embedded
//! transactional databases (redb): `<ledger>/log.redb`, what each commit appends, and
//! `<ledger>/ledger.redb`, the accounts, the transactions and the address index.
//!
//! Every transaction is committed atomically with what it did: the accounts it touched, its
//! record (for `getTransaction` and signature statuses), the address index (for
//! `getSignaturesForAddress`), the clock, the slot and the counters. Transactions that arrive
//! together are committed by one durable commit (group commit); none is answered before that.
//! A kill at any moment leaves every account as it was before or after each transaction,
//! never between. A damaged file is reported with its path and what to do, never a panic.
//!
//! A group's commit appends it whole to the log, as one entry keyed by its number, with the
//! counters: a few pages written, in order. Updating the tables keyed by account, signature
//! and address at every group would rewrite a page of each per transaction (their keys fall
//! anywhere), tens of kilobytes a report. So groups are merged into those tables
//! [`MERGE_EVERY`] transactions at a time, by a thread of their own (the bank's thread goes on
//! meanwhile), in one durable commit to `ledger.redb`; the next group's commit then removes
//! their log entries. Until then what the log holds is kept in memory too and every read looks
//! there first. Merging is idempotent (the same records and index entries, the accounts as the
//! last group left them), so opening the ledger merges whatever the log still holds, whether a
//! kill came before or after a merge was durable.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use anyhow::{anyhow, bail, Context};
use redb::{
    Database, MultimapTableDefinition, MultimapTableHandle, ReadableMultimapTable, ReadableTable,
    TableDefinition, TableHandle,
};
use serde::{Deserialize, Serialize};
use solana_account::Account;
use solana_sdk::{pubkey::Pubkey, signature::Signature};
use solana_transaction_error::TransactionError;

const FILE: &str = "ledger.redb";
const LOG_FILE: &str = "log.redb";
/// What an older `deu` kept: one JSON file per account.
const OLD_ACCOUNTS_DIR: &str = "accounts";

// In `ledger.redb`.
const ACCOUNTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("accounts");
const TRANSACTIONS: TableDefinition<&[u8; 64], &[u8]> = TableDefinition::new("transactions");
/// (address, then sequence number big-endian) → signature: an address's entries together,
/// oldest first.
const BY_ADDRESS: TableDefinition<&[u8; 40], &[u8; 64]> = TableDefinition::new("address_index");
/// The address index as earlier builds kept it (one multimap entry per address), moved into
/// [`BY_ADDRESS`] when such a ledger opens.
const OLD_BY_ADDRESS: MultimapTableDefinition<&[u8; 32], &[u8; 72]> =
    MultimapTableDefinition::new("signatures_by_address");

// In `log.redb` (earlier builds kept `META` in `ledger.redb`: copied over once).
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Group number → the group's writes ([`Group`]), durable but not yet merged.
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");

/// How many logged transactions are merged into the tables at once.
pub(crate) const MERGE_EVERY: usize = 4_096;
/// Sets fewer, so that tests (the SIGKILL one) see merges often.
const MERGE_EVERY_VAR: &str = "DEU_LOCALNET_MERGE_EVERY";
/// The log file's page cache: appends go through it, nothing reads them back but `open`.
const LOG_CACHE: usize = 16 << 20;
/// How far the log may grow past a merge still running before commits wait for it.
const MERGE_BACKLOG: usize = 4;

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
pub(crate) type Write = (
    Vec<(Pubkey, Option<Account>)>,
    Option<(Signature, TransactionRecord)>,
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

/// What the log holds and the tables may not yet: every read looks here first.
#[derive(Default)]
struct Unmerged {
    /// The log's groups, oldest first, with their numbers.
    groups: VecDeque<(u64, Arc<Group>)>,
    /// Where each of their records is: (its group's number, its place in the group).
    records: HashMap<Signature, (u64, usize)>,
    /// By address, oldest first: (sequence number, signature).
    by_address: HashMap<Pubkey, VecDeque<(u64, Signature)>>,
}

impl Unmerged {
    fn add(&mut self, number: u64, group: Group) {
        for (place, (signature, record)) in group.records.iter().enumerate() {
            for address in index_keys(record) {
                self.by_address
                    .entry(address)
                    .or_default()
                    .push_back((record.sequence, *signature));
            }
            self.records.insert(*signature, (number, place));
        }
        self.groups.push_back((number, Arc::new(group)));
    }

    /// How many transactions it holds.
    fn transactions(&self) -> usize {
        self.records.len()
    }

    fn record(&self, signature: &Signature) -> Option<&TransactionRecord> {
        let (number, place) = self.records.get(signature)?;
        let first = self.groups.front()?.0;
        let (_, group) = self.groups.get(usize::try_from(number - first).ok()?)?;
        group.records.get(*place).map(|(_, record)| record)
    }

    /// The oldest sequence number held: the tables answer only below it (a merge being
    /// written may already have put later ones there too).
    fn floor(&self) -> u64 {
        self.groups
            .iter()
            .find_map(|(_, g)| g.records.first().map(|(_, r)| r.sequence))
            .unwrap_or(u64::MAX)
    }

    /// Forgets the groups up to `through`, now in the tables; returns their numbers.
    fn forget_through(&mut self, through: u64) -> Vec<u64> {
        let mut numbers = Vec::new();
        while self.groups.front().is_some_and(|(n, _)| *n <= through) {
            let Some((number, group)) = self.groups.pop_front() else {
                break;
            };
            for (signature, record) in &group.records {
                self.records.remove(signature);
                for address in index_keys(record) {
                    if let Some(entries) = self.by_address.get_mut(&address) {
                        // An address's entries are in commit order: this record's is first.
                        entries.pop_front();
                        if entries.is_empty() {
                            self.by_address.remove(&address);
                        }
                    }
                }
            }
            numbers.push(number);
        }
        numbers
    }
}

/// Groups with their numbers, oldest first, as merges take them.
type Numbered = Vec<(u64, Arc<Group>)>;

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

/// Writes `groups` (oldest first) into the tables, in one durable commit.
fn merge_into(tables: &Database, groups: &[(u64, Arc<Group>)]) -> anyhow::Result<()> {
    // Each account as the last group left it; the rest in key order, so that each page is
    // reached once, while it is in the cache.
    let mut accounts: BTreeMap<&Pubkey, &Option<Account>> = BTreeMap::new();
    let mut records: Vec<(&Signature, &TransactionRecord)> = Vec::new();
    let mut entries: Vec<([u8; 40], [u8; 64])> = Vec::new();
    for (_, group) in groups {
        for (address, account) in &group.accounts {
            accounts.insert(address, account);
        }
        for (signature, record) in &group.records {
            records.push((signature, record));
            for address in index_keys(record) {
                entries.push((
                    index_key(&address.to_bytes(), record.sequence),
                    (*signature).into(),
                ));
            }
        }
    }
    records.sort_unstable_by_key(|(signature, _)| **signature);
    entries.sort_unstable();
    let write = tables.begin_write()?;
    {
        let mut table = write.open_table(ACCOUNTS)?;
        for (address, account) in accounts {
            match account {
                Some(account) => {
                    table.insert(&address.to_bytes(), bincode::serialize(account)?.as_slice())?;
                }
                None => {
                    table.remove(&address.to_bytes())?;
                }
            }
        }
        let mut table = write.open_table(TRANSACTIONS)?;
        for (signature, record) in records {
            let key: [u8; 64] = (*signature).into();
            table.insert(&key, bincode::serialize(record)?.as_slice())?;
        }
        let mut table = write.open_table(BY_ADDRESS)?;
        for (key, signature) in &entries {
            table.insert(key, signature)?;
        }
    }
    write.commit()?;
    Ok(())
}

/// The thread that merges: given groups, answers the last one's number once they are durable
/// in the tables (or why not).
struct Merger {
    groups: Option<mpsc::Sender<Numbered>>,
    merged: mpsc::Receiver<Result<u64, String>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// A merge is being written.
    running: bool,
}

impl Merger {
    fn start(tables: Arc<Database>) -> anyhow::Result<Self> {
        let (groups_tx, groups_rx) = mpsc::channel::<Numbered>();
        let (merged_tx, merged_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("localnet-merge".to_string())
            .spawn(move || {
                lower_priority();
                for groups in groups_rx {
                    let last = groups.last().map_or(0, |(n, _)| *n);
                    let merged = merge_into(&tables, &groups)
                        .map(|()| last)
                        .map_err(|e| format!("{e:#}"));
                    if merged_tx.send(merged).is_err() {
                        return;
                    }
                }
            })
            .context("start the ledger's merging thread")?;
        Ok(Self {
            groups: Some(groups_tx),
            merged: merged_rx,
            thread: Some(thread),
            running: false,
        })
    }
}

/// Merging waits for nothing but memory (see [`MERGE_BACKLOG`]): on a busy machine it takes
/// the CPU time the bank and the clients leave, at the lowest priority (nice 19, as `nice`
/// would start it). Linux keeps a nice value per thread.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` and `setpriority` take and return plain integers; this thread's own
    // nice value is all that changes.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, 19);
    }
}

impl Drop for Merger {
    /// Lets a merge being written finish (the tables' file is closed after it).
    fn drop(&mut self) {
        self.groups.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub(crate) struct Store {
    log: Database,
    tables: Arc<Database>,
    path: PathBuf,
    log_path: PathBuf,
    unmerged: Unmerged,
    /// Groups merged whose log entries the next commit removes.
    merged: Vec<u64>,
    /// The next log entry's number.
    next_group: u64,
    /// [`MERGE_EVERY`], or what `DEU_LOCALNET_MERGE_EVERY` says.
    merge_every: usize,
    merger: Merger,
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!(
        "the local cluster's ledger {} is damaged ({e}); move it aside to keep it, or start afresh with `deu localnet --reset`",
        path.display()
    )
}

/// Opens (creating) one of the ledger's files, with a page cache of `cache` bytes.
fn open_database(path: &Path, cache: usize) -> anyhow::Result<Database> {
    redb::Builder::new()
        .set_cache_size(cache)
        .create(path)
        .map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => anyhow!(
            "the local cluster's ledger {} is in use by another `deu localnet`; stop it first, or give this one another --ledger",
            path.display()
        ),
        e => damaged(path, e),
    })
}

impl Store {
    /// Opens (creating) the ledger in `folder`; `reset` forgets what it holds first.
    pub fn open(folder: &Path, reset: bool) -> anyhow::Result<Self> {
        let path = folder.join(FILE);
        let log_path = folder.join(LOG_FILE);
        std::fs::create_dir_all(folder)
            .with_context(|| format!("create the ledger folder {}", folder.display()))?;
        let old = folder.join(OLD_ACCOUNTS_DIR);
        if reset {
            // Only what the cluster itself writes: a folder that holds other files keeps them.
            for file in [path.clone(), log_path.clone(), folder.join("clock.json")] {
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
        // The tables are read by history calls and written by merges: redb's default cache
        // (1 GiB at most). The log is appended to and read only here: a small one.
        let tables = Arc::new(open_database(&path, 1 << 30)?);
        let log = open_database(&log_path, LOG_CACHE)?;
        // Create the tables, so that reads of a fresh ledger find them.
        let create = |db: &Database, at: &Path, log: bool| -> anyhow::Result<()> {
            let write = db.begin_write().map_err(|e| damaged(at, e))?;
            if log {
                write.open_table(META).map_err(|e| damaged(at, e))?;
                write.open_table(LOG).map_err(|e| damaged(at, e))?;
            } else {
                write.open_table(ACCOUNTS).map_err(|e| damaged(at, e))?;
                write.open_table(TRANSACTIONS).map_err(|e| damaged(at, e))?;
                write.open_table(BY_ADDRESS).map_err(|e| damaged(at, e))?;
            }
            write.commit().map_err(|e| damaged(at, e))?;
            Ok(())
        };
        create(&tables, &path, false)?;
        create(&log, &log_path, true)?;
        let merger = Merger::start(Arc::clone(&tables))?;
        let mut store = Self {
            log,
            tables,
            path,
            log_path,
            unmerged: Unmerged::default(),
            merged: Vec::new(),
            next_group: 0,
            merge_every: std::env::var(MERGE_EVERY_VAR)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n: &usize| *n > 0)
                .unwrap_or(MERGE_EVERY),
            merger,
        };
        store.upgrade().map_err(|e| damaged(&store.path, e))?;
        // What a stop or a kill left in the log goes into the tables now.
        let logged = store.logged().map_err(|e| damaged(&store.log_path, e))?;
        if let Some((last, _)) = logged.last() {
            store.next_group = last + 1;
            let groups: Numbered = logged.into_iter().map(|(n, g)| (n, Arc::new(g))).collect();
            merge_into(&store.tables, &groups).map_err(|e| damaged(&store.path, e))?;
            let write = store
                .log
                .begin_write()
                .map_err(|e| damaged(&store.log_path, e))?;
            {
                let mut table = write.open_table(LOG)?;
                for (number, _) in &groups {
                    table.remove(number)?;
                }
            }
            write.commit().map_err(|e| damaged(&store.log_path, e))?;
        }
        Ok(store)
    }

    /// A ledger from an earlier build: its counters copied into the log's file, its address
    /// index (a multimap) moved into the one table.
    fn upgrade(&self) -> anyhow::Result<()> {
        let read = self.tables.begin_read()?;
        let old_meta = read.list_tables()?.any(|t| t.name() == META.name());
        let old_index = read
            .list_multimap_tables()?
            .any(|t| t.name() == OLD_BY_ADDRESS.name());
        drop(read);
        if !old_meta && !old_index {
            return Ok(());
        }
        if old_meta {
            let read = self.tables.begin_read()?;
            let saved = read
                .open_table(META)?
                .get(META_KEY)?
                .map(|bytes| bytes.value().to_vec());
            drop(read);
            if let Some(saved) = saved {
                let write = self.log.begin_write()?;
                write.open_table(META)?.insert(META_KEY, saved.as_slice())?;
                write.commit()?;
            }
        }
        let write = self.tables.begin_write()?;
        if old_index {
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
        }
        if old_meta {
            write.delete_table(META)?;
        }
        write.commit()?;
        Ok(())
    }

    /// The log's entries, oldest first.
    fn logged(&self) -> anyhow::Result<Vec<(u64, Group)>> {
        let read = self.log.begin_read()?;
        let table = read.open_table(LOG)?;
        let mut groups = Vec::new();
        for entry in table.iter()? {
            let (number, bytes) = entry?;
            groups.push((number.value(), bincode::deserialize(bytes.value())?));
        }
        Ok(groups)
    }

    pub fn load_meta(&self) -> anyhow::Result<Meta> {
        let at = &self.log_path;
        let read = self.log.begin_read().map_err(|e| damaged(at, e))?;
        let table = read.open_table(META).map_err(|e| damaged(at, e))?;
        match table.get(META_KEY).map_err(|e| damaged(at, e))? {
            None => Ok(Meta::default()),
            Some(bytes) => bincode::deserialize(bytes.value()).map_err(|e| damaged(at, e)),
        }
    }

    /// Every saved account (the log is merged when the ledger opens, before this is asked).
    pub fn load_accounts(&self) -> anyhow::Result<Vec<(Pubkey, Account)>> {
        let read = self
            .tables
            .begin_read()
            .map_err(|e| damaged(&self.path, e))?;
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
    /// durable commit to the log: all of it or none, synced to disk before returning. Every
    /// [`MERGE_EVERY`] transactions the log is handed to the merging thread.
    pub fn commit(&mut self, writes: Vec<Write>, meta: &Meta) -> anyhow::Result<()> {
        self.take_merged(false);
        // An account many transactions of the group wrote (the epoch every report names) is
        // written once, as the last of them left it.
        let mut last: BTreeMap<Pubkey, Option<Account>> = BTreeMap::new();
        let mut records = Vec::new();
        for (accounts, record) in writes {
            last.extend(accounts);
            records.extend(record);
        }
        let group = Group {
            accounts: last.into_iter().collect(),
            records,
        };
        let logged = !group.accounts.is_empty() || !group.records.is_empty();
        let number = self.next_group;
        let write = self
            .log
            .begin_write()
            .map_err(|e| damaged(&self.log_path, e))?;
        {
            let mut log = write.open_table(LOG)?;
            if logged {
                log.insert(number, bincode::serialize(&group)?.as_slice())?;
            }
            for merged in &self.merged {
                log.remove(merged)?;
            }
        }
        write
            .open_table(META)?
            .insert(META_KEY, bincode::serialize(meta)?.as_slice())?;
        write
            .commit()
            .with_context(|| format!("commit to {}", self.log_path.display()))?;
        self.merged.clear();
        if logged {
            self.next_group += 1;
            self.unmerged.add(number, group);
        }
        // Past the threshold: handed to the merging thread, unless a merge is being written
        // (the log then grows, and the next merge takes more at once); far past it, the
        // commit waits for that merge first, so memory stays bounded.
        if self.merger.running && self.unmerged.transactions() >= self.merge_every * MERGE_BACKLOG {
            self.take_merged(true);
        }
        if !self.merger.running && self.unmerged.transactions() >= self.merge_every {
            self.start_merge();
        }
        Ok(())
    }

    /// Hands every group the log holds to the merging thread.
    fn start_merge(&mut self) {
        let groups: Numbered = self.unmerged.groups.iter().cloned().collect();
        if groups.is_empty() {
            return;
        }
        if let Some(sender) = &self.merger.groups {
            self.merger.running = sender.send(groups).is_ok();
        }
    }

    /// Takes the merging thread's answer (waiting for it with `wait`): merged groups leave
    /// memory, and the next commit removes their log entries. A failed merge (a full disk) is
    /// told and tried again at the next commit; the log keeps every group meanwhile.
    fn take_merged(&mut self, wait: bool) {
        if !self.merger.running {
            return;
        }
        let answer = if wait {
            self.merger.merged.recv().ok()
        } else {
            self.merger.merged.try_recv().ok()
        };
        match answer {
            None if !wait => {}
            None => {
                eprintln!("localnet: the ledger's merging thread stopped; the log keeps growing");
                self.merger.running = false;
            }
            Some(Ok(through)) => {
                self.merged.extend(self.unmerged.forget_through(through));
                self.merger.running = false;
            }
            Some(Err(e)) => {
                eprintln!("localnet: merging the ledger's log failed, tried again later: {e}");
                self.merger.running = false;
            }
        }
    }

    pub fn transaction(&self, signature: &Signature) -> anyhow::Result<Option<TransactionRecord>> {
        if let Some(record) = self.unmerged.record(signature) {
            return Ok(Some(record.clone()));
        }
        let read = self.tables.begin_read()?;
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
        let read = self.tables.begin_read()?;
        let index = read.open_table(BY_ADDRESS)?;
        let transactions = read.open_table(TRANSACTIONS)?;
        let sequence_of = |signature: &Signature| -> anyhow::Result<Option<u64>> {
            if let Some(record) = self.unmerged.record(signature) {
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
            if let Some(record) = self.unmerged.record(signature) {
                found.push((*signature, record.clone()));
            }
        }
        // The tables' entries for the address between `until` and `before`, below what the
        // log holds, newest first.
        let address = address.to_bytes();
        let below_log = self.unmerged.floor().checked_sub(1);
        let below_before = before.map_or(Some(u64::MAX), |b| b.checked_sub(1));
        let Some(newest) = below_log.zip(below_before).map(|(a, b)| a.min(b)) else {
            return Ok(found);
        };
        let oldest = until.map_or(0, |u| u.saturating_add(1));
        if oldest > newest {
            return Ok(found);
        }
        let (first, last) = (index_key(&address, oldest), index_key(&address, newest));
        for entry in index.range::<&[u8; 40]>(&first..=&last)?.rev() {
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
        let mut writes: Vec<Write> = Vec::new();
        for address in own {
            meta.sequence += 1;
            let signature = Signature::from([meta.sequence as u8; 64]);
            let accounts = vec![(*address, Some(account(meta.sequence)))];
            let record = record(meta.sequence, &[*shared, *address]);
            writes.push((accounts, Some((signature, record))));
        }
        let made = writes
            .iter()
            .filter_map(|(_, r)| r.as_ref().map(|(s, _)| *s))
            .collect();
        store.commit(writes, meta).unwrap();
        made
    }

    /// The sequence numbers `signatures_for` tells for `address`, newest first.
    fn sequences(store: &Store, address: &Pubkey) -> Vec<u64> {
        store
            .signatures_for(address, None, None, 100)
            .unwrap()
            .into_iter()
            .map(|(_, r)| r.sequence)
            .collect()
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

        // Every read, at every stage below, finds the same.
        let check = |store: &Store, all: &[Signature]| {
            for (i, signature) in all.iter().enumerate() {
                let found = store.transaction(signature).unwrap().expect("recorded");
                assert_eq!(found.sequence, i as u64 + 1);
            }
            assert_eq!(
                sequences(store, &shared),
                (1..=all.len() as u64).rev().collect::<Vec<_>>()
            );
        };
        // Three transactions: in the log only.
        let first = commit_group(&mut store, &mut meta, &shared, &own);
        assert_eq!(log_len(&store), 1);
        check(&store, &first);
        // Three more: six past the threshold, handed to the merging thread.
        let second = commit_group(&mut store, &mut meta, &shared, &own);
        let so_far: Vec<Signature> = first.iter().chain(&second).copied().collect();
        check(&store, &so_far);
        assert!(store.merger.running);
        // Once the merge is durable but not yet taken, both the tables and memory hold the
        // groups: each read still tells each transaction once.
        let in_tables = |signature: &Signature| {
            let read = store.tables.begin_read().unwrap();
            let table = read.open_table(TRANSACTIONS).unwrap();
            let key: [u8; 64] = (*signature).into();
            table.get(&key).unwrap().is_some()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !in_tables(&second[2]) {
            assert!(
                std::time::Instant::now() < deadline,
                "the merge never landed"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(store.unmerged.transactions(), 6);
        check(&store, &so_far);
        // Merged: gone from memory, found in the tables.
        store.take_merged(true);
        assert_eq!(store.unmerged.transactions(), 0);
        check(&store, &so_far);
        assert_eq!(log_len(&store), 2, "log entries go with the next commit");
        // Two more, in the log again; the merged entries removed with them.
        let third = commit_group(&mut store, &mut meta, &shared, &own[..2]);
        assert_eq!(log_len(&store), 1);

        let all: Vec<Signature> = [&first, &second, &third]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        check(&store, &all);
        // Newest first, across the log and the tables.
        let named = |found: Vec<(Signature, TransactionRecord)>| -> Vec<u64> {
            found.into_iter().map(|(_, r)| r.sequence).collect()
        };
        assert_eq!(sequences(&store, &shared), vec![8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(sequences(&store, &own[0]), vec![7, 4, 1]);
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
            // (Its counters were in the same file.)
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
                let meta = Meta {
                    sequence: 3,
                    ..Meta::default()
                };
                write
                    .open_table(META)
                    .unwrap()
                    .insert(META_KEY, bincode::serialize(&meta).unwrap().as_slice())
                    .unwrap();
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
        assert_eq!(store.load_meta().unwrap().sequence, 3, "the counters kept");
        let read = store.tables.begin_read().unwrap();
        assert_eq!(
            read.list_tables()
                .unwrap()
                .filter(|t| t.name() == "meta")
                .count(),
            0
        );
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
        store
            .commit(vec![(vec![(own[2], None)], None)], &meta)
            .unwrap();
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
        assert_eq!(sequences(&store, &shared), vec![4, 3, 2, 1]);
        drop(store);
        let _ = std::fs::remove_dir_all(&folder);
    }
}
