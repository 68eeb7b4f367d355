//! The bank, on a thread of its own, answering JSON-RPC calls one at a time and producing a
//! block every 400 ms.
//!
//! The bank lives in a program-test context on a single-threaded tokio runtime whose clock is
//! paused: program-test's own ticker (a new blockhash every 6.4 ms of a running runtime) never
//! fires, and the only new blockhashes are the blocks this thread produces. So, as on a real
//! cluster, the slot and block height advance with wall time, one block every [`BLOCK_TIME`],
//! and a blockhash stays valid for 150 blocks (a minute). A restart continues after the slot
//! and block height clients saw, on a blockhash chain no earlier run issued: a transaction
//! signed before it is refused as expired, or as already processed.
//!
//! Methods are in `methods.rs` (reading) and `transactions.rs` (sending, history).

use std::{
    collections::BTreeSet,
    panic::AssertUnwindSafe,
    path::PathBuf,
    sync::{mpsc, Arc},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use solana_account::Account;
use solana_commitment_config::CommitmentLevel;
use solana_program_test::ProgramTestContext;
use solana_sdk::{clock::Clock, hash::Hash, pubkey::Pubkey, signature::Signature};
use solana_signer::Signer;
use solana_transaction_error::TransactionError;
use tokio::sync::{broadcast, oneshot, watch};

use crate::{
    rpc::{Params, RpcError, RpcResult},
    store::{Meta, Store},
};

/// How often a block is produced.
pub(crate) const BLOCK_TIME: Duration = Duration::from_millis(400);
/// The most transactions held for one durable commit.
pub(crate) const MAX_GROUP: usize = 256;
/// The version reported by `getVersion` (the Agave crates the bank comes from).
pub(crate) const VERSION: &str = "3.1.12";
/// `getVersion`'s feature set: a number, as clients check (this build's features are fixed).
pub(crate) const FEATURE_SET: u32 = 3_112;
/// How far ahead of the cluster the saved floors are put, and how close it may come to them
/// before they are moved (one small durable write every few minutes). Blocks: 600 is four
/// minutes; blockhash counter: a block uses one per tick, 64.
const FLOOR_AHEAD_BLOCKS: u64 = 600;
const FLOOR_MARGIN_BLOCKS: u64 = 150;
const FLOOR_AHEAD_HASHES: u64 = 100_000;
const FLOOR_MARGIN_HASHES: u64 = 25_000;
/// The largest clock advance accepted at once (a century).
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

pub(crate) enum Job {
    Run {
        work: Work,
        reply: oneshot::Sender<RpcResult>,
    },
    Shutdown {
        reply: oneshot::Sender<anyhow::Result<()>>,
    },
}

/// What happened on the cluster, for websocket subscribers.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    Slot { slot: u64, parent: u64 },
    Processed(Arc<Processed>),
}

/// A committed transaction: its outcome, its logs and the accounts it left.
#[derive(Debug)]
pub(crate) struct Processed {
    pub signature: Signature,
    pub slot: u64,
    pub err: Option<TransactionError>,
    pub logs: Vec<String>,
    pub account_keys: Vec<Pubkey>,
    /// The writable accounts as the transaction left them (`None`: closed).
    pub accounts: Vec<(Pubkey, Option<Account>)>,
}

/// The bank thread: send it jobs, join it when it has answered `Shutdown`.
pub(crate) struct BankThread {
    pub jobs: mpsc::Sender<Job>,
    pub thread: std::thread::JoinHandle<()>,
}

impl BankThread {
    /// Starts the bank (restored from the ledger) and returns once it is ready.
    pub async fn spawn(
        ledger: PathBuf,
        reset: bool,
        verbose: bool,
        events: broadcast::Sender<Event>,
        halt: watch::Sender<Option<String>>,
    ) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("localnet-bank".to_string())
            // The program runs natively on this thread unless it was built for BPF.
            .stack_size(64 << 20)
            .spawn(
                move || match Node::start(&ledger, reset, verbose, events, halt) {
                    Ok(node) => {
                        let _ = ready_tx.send(Ok(()));
                        node.serve(jobs_rx);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                },
            )
            .context("start the bank thread")?;
        match ready_rx.await {
            Ok(Ok(())) => Ok(Self {
                jobs: jobs_tx,
                thread,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(anyhow!("the bank failed while starting (it panicked)"))
            }
        }
    }
}

/// Sends one call to the bank thread and waits for the answer.
pub(crate) async fn call(jobs: &mpsc::Sender<Job>, method: String, params: Value) -> RpcResult {
    let (reply, answer) = oneshot::channel();
    let work = if method == "sendTransaction" {
        // Decoding and signature checks need no bank: done here, on the caller's task, in
        // parallel with the bank's thread.
        let (tx, config) =
            crate::transactions::checked_transaction(&crate::rpc::Params::new(params)?)?;
        Work::Send(Box::new(tx), config)
    } else {
        Work::Call(method, params)
    };
    jobs.send(Job::Run { work, reply })
        .map_err(|_| RpcError::internal("the local cluster is shutting down"))?;
    answer
        .await
        .map_err(|_| RpcError::internal("the local cluster stopped before answering"))?
}

/// Calls answered from the ledger's durable records, or from what no transaction changes:
/// they never wait for, nor close, a group of transactions (see `serve`).
const DURABLE_READS: &[&str] = &[
    "getSignatureStatuses",
    "getTransaction",
    "getSignaturesForAddress",
    "getLatestBlockhash",
    "isBlockhashValid",
    "getSlot",
    "getBlockHeight",
    "getVersion",
    "getHealth",
    "getIdentity",
    "getGenesisHash",
    "getEpochSchedule",
    "getMinimumBalanceForRentExemption",
    "getRecentPrioritizationFees",
    "getFeeForMessage",
];

/// What the bank's thread does for one call.
pub(crate) enum Work {
    /// `sendTransaction` decoded and its signatures verified by the caller's task, so the
    /// bank's thread only executes and commits.
    Send(
        Box<solana_transaction::versioned::VersionedTransaction>,
        solana_rpc_client_api::config::RpcSendTransactionConfig,
    ),
    /// Any other call, by its method's name.
    Call(String, Value),
}

pub(crate) struct Node {
    pub rt: tokio::runtime::Runtime,
    pub ctx: ProgramTestContext,
    pub store: Store,
    pub faucet: Pubkey,
    /// Every account key seen in a processed transaction (and every restored account).
    pub index: BTreeSet<Pubkey>,
    pub meta: Meta,
    /// Added to the bank's block height: a restart continues after the last height clients saw.
    pub height_offset: u64,
    pub last_airdrop_blockhash: Option<Hash>,
    pub verbose: bool,
    pub events: broadcast::Sender<Event>,
    /// Why the node stopped by itself (a ledger write failed), told to `Localnet::failed`.
    pub halt: watch::Sender<Option<String>>,
    pub halted: Option<String>,
    /// Group commit: while a group is open, saves are not synced (`dirty` says one waits) and
    /// what subscribers would hear waits too; `flush` syncs them all at once, then tells.
    pub grouping: bool,
    pub dirty: bool,
    pub deferred: Vec<Event>,
    /// What each account was left as by the last transaction that wrote it here: every
    /// change to a non-sysvar account goes through `process`, so this is the bank's state,
    /// read back without a round trip (sysvars and programs are never kept).
    pub accounts: std::collections::HashMap<Pubkey, Option<Account>>,
    /// The bank's slot and whether its clock holds `meta.unix_timestamp`, as this node last
    /// set them (only `produce_block` and the start move the slot).
    pub slot: std::cell::Cell<Option<u64>>,
    pub clock_set: bool,
    /// Fees the bank named, by what a fee depends on (see `fee_of`).
    pub fees: std::collections::HashMap<Vec<u8>, u64>,
    /// The open group's writes (each transaction's accounts and record), committed together.
    pub pending: Vec<crate::store::Write>,
}

/// The most accounts `Node::accounts` keeps before it starts again.
const CACHED_ACCOUNTS: usize = 500_000;

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether an account belongs in the ledger: programs, sysvars and builtins come back with
/// the bank itself, and the faucet is new at every start.
pub(crate) fn persistable(address: &Pubkey, account: &Account, faucet: &Pubkey) -> bool {
    address != faucet
        && !account.executable
        && account.owner != solana_sdk_ids::sysvar::id()
        && account.owner != solana_sdk_ids::native_loader::id()
}

/// Where `Hash::new_unique`'s counter (program-test's blockhashes) stands; takes one value.
fn hash_counter() -> u64 {
    let hash = Hash::new_unique().to_bytes();
    u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"))
}

/// Moves `Hash::new_unique`'s counter to `floor` (a few ms per million values).
fn burn_hashes_below(floor: u64) {
    while hash_counter() < floor {}
}

pub(crate) fn internal(e: impl std::fmt::Display) -> RpcError {
    RpcError::internal(e)
}

impl Node {
    fn start(
        ledger: &std::path::Path,
        reset: bool,
        verbose: bool,
        events: broadcast::Sender<Event>,
        halt: watch::Sender<Option<String>>,
    ) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .context("start the bank's runtime")?;
        let store = Store::open(ledger, reset)?;
        let meta = store.load_meta()?;
        let mut program_test = energy_utility_bank::program_test();
        let mut index = BTreeSet::new();
        for (address, account) in store.load_accounts()? {
            // No faucet exists yet; its key is new at every start.
            if persistable(&address, &account, &Pubkey::default()) {
                program_test.add_account(address, account);
                index.insert(address);
            }
        }
        // Past every blockhash an earlier run issued, before the bank registers any.
        burn_hashes_below(meta.hash_floor);
        let ctx = rt.block_on(program_test.start_with_context());
        energy_utility_bank::logs::capture_native_logs();
        let faucet = ctx.payer.pubkey();
        let mut node = Self {
            rt,
            ctx,
            store,
            faucet,
            index,
            meta,
            height_offset: 0,
            last_airdrop_blockhash: None,
            verbose,
            events,
            halt,
            halted: None,
            grouping: false,
            dirty: false,
            deferred: Vec::new(),
            accounts: std::collections::HashMap::new(),
            slot: std::cell::Cell::new(None),
            clock_set: false,
            fees: std::collections::HashMap::new(),
            pending: Vec::new(),
        };
        // Continue after the last slot clients saw, on a fresh blockhash chain.
        let bank_slot = node.bank_slot().map_err(|e| anyhow!(e.message))?;
        if meta.slot >= bank_slot {
            node.ctx
                .warp_to_slot(meta.slot + 1)
                .map_err(|e| anyhow!("move the bank past slot {}: {e}", meta.slot))?;
            node.slot.set(None);
        }
        let bank_height = node.bank_height().map_err(|e| anyhow!(e.message))?;
        node.height_offset = (meta.block_height + 1).saturating_sub(bank_height);
        node.apply_clock().map_err(|e| anyhow!(e.message))?;
        node.keep_floors_ahead(true)
            .map_err(|e| anyhow!("save the ledger's floors: {}", e.message))?;
        Ok(node)
    }

    /// Answers calls one at a time. Transactions (`sendTransaction`, `requestAirdrop`) that
    /// arrive together form a group: each is executed and written without a sync, its answer
    /// held; when no call waits any more (or [`MAX_GROUP`] are held, or another kind of call
    /// comes, or a block is due) one durable commit syncs the group and every held answer is
    /// sent. So nothing is answered, nor told to subscribers, before it is on disk.
    fn serve(mut self, jobs: mpsc::Receiver<Job>) {
        let mut next_block = Instant::now() + BLOCK_TIME;
        let mut held: Vec<(oneshot::Sender<RpcResult>, RpcResult)> = Vec::new();
        loop {
            if self.halted.is_none() && Instant::now() >= next_block {
                self.flush(&mut held);
                if let Err(e) = self.produce_block() {
                    eprintln!("localnet: producing a block failed: {}", e.message);
                }
                next_block = Instant::now() + BLOCK_TIME;
            }
            let job = if held.is_empty() {
                let wait = next_block.saturating_duration_since(Instant::now());
                jobs.recv_timeout(wait)
            } else {
                match jobs.try_recv() {
                    Ok(job) => Ok(job),
                    Err(mpsc::TryRecvError::Empty) => Err(mpsc::RecvTimeoutError::Timeout),
                    Err(mpsc::TryRecvError::Disconnected) => {
                        Err(mpsc::RecvTimeoutError::Disconnected)
                    }
                }
            };
            match job {
                Ok(Job::Shutdown { reply }) => {
                    self.flush(&mut held);
                    let _ = reply.send(self.finish());
                    return;
                }
                Ok(Job::Run { work, reply }) => {
                    let (grouped, durable_read) = match &work {
                        Work::Send(..) => (true, false),
                        // Calls that read only what is durable (the ledger's records) or what
                        // no transaction changes (blockhashes, the slot) are answered at once,
                        // without closing the open group: a client polling its signatures'
                        // statuses sees them once they are on disk, and does not cost a sync
                        // each time.
                        Work::Call(method, _) => (
                            method == "requestAirdrop",
                            DURABLE_READS.contains(&method.as_str()),
                        ),
                    };
                    if !grouped && !durable_read {
                        self.flush(&mut held);
                    }
                    self.grouping = grouped;
                    let answer = match &self.halted {
                        Some(reason) => Err(RpcError::internal(reason)),
                        None => std::panic::catch_unwind(AssertUnwindSafe(|| match work {
                            Work::Send(tx, config) => self.send_checked(*tx, &config),
                            Work::Call(method, params) => self.call(&method, params),
                        }))
                        .unwrap_or_else(|_| Err(RpcError::internal("the bank panicked"))),
                    };
                    self.grouping = false;
                    if self.dirty && !durable_read {
                        held.push((reply, answer));
                        if held.len() >= MAX_GROUP {
                            self.flush(&mut held);
                        }
                    } else {
                        let _ = reply.send(answer);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.flush(&mut held),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.flush(&mut held);
                    if let Err(e) = self.finish() {
                        eprintln!("localnet: saving the ledger failed: {e:#}");
                    }
                    return;
                }
            }
        }
    }

    /// Makes the group's writes durable with one synced commit, then tells subscribers what
    /// happened and sends the held answers. A failed sync stops the node (see `save`): the
    /// held calls are answered with the reason, their effects never told.
    fn flush(&mut self, held: &mut Vec<(oneshot::Sender<RpcResult>, RpcResult)>) {
        if !self.dirty && held.is_empty() && self.deferred.is_empty() {
            return;
        }
        // Already durable when a synced write came since (the floors, the clock).
        let synced = if self.dirty {
            self.halted.is_none() && self.save(None).is_ok()
        } else {
            self.halted.is_none()
        };
        self.dirty = false;
        let events = std::mem::take(&mut self.deferred);
        if synced {
            for event in events {
                let _ = self.events.send(event);
            }
        }
        for (reply, answer) in held.drain(..) {
            let answer = match (&self.halted, synced) {
                (_, true) => answer,
                (Some(reason), false) => Err(RpcError::internal(reason)),
                (None, false) => Err(RpcError::internal("the ledger could not be written")),
            };
            let _ = reply.send(answer);
        }
    }

    /// Tells subscribers `event`: at once, or once the open group is durable.
    pub fn publish(&mut self, event: Event) {
        if self.dirty {
            self.deferred.push(event);
        } else {
            let _ = self.events.send(event);
        }
    }

    /// One more block: the bank moves to the next slot (registering a new blockhash), the
    /// clock follows wall time, and subscribers hear of the slot.
    pub fn produce_block(&mut self) -> Result<(), RpcError> {
        let parent = self.bank_slot()?;
        self.ctx.warp_to_slot(parent + 1).map_err(internal)?;
        self.slot.set(Some(parent + 1));
        // The new bank computes its own clock: set ours again.
        self.clock_set = false;
        self.apply_clock()?;
        self.keep_floors_ahead(false)?;
        let _ = self.events.send(Event::Slot {
            slot: parent + 1,
            parent,
        });
        Ok(())
    }

    /// Keeps the saved slot, block height and blockhash floors ahead of the cluster: when it
    /// comes within a margin of them (or `now`), they are moved ahead and saved durably, before
    /// any client can see past them.
    pub fn keep_floors_ahead(&mut self, now: bool) -> Result<(), RpcError> {
        let slot = self.bank_slot()?;
        let height = self.block_height()?;
        let hashes = hash_counter();
        let near = |value: u64, floor: u64, margin: u64| value.saturating_add(margin) > floor;
        if now
            || near(slot, self.meta.slot, FLOOR_MARGIN_BLOCKS)
            || near(height, self.meta.block_height, FLOOR_MARGIN_BLOCKS)
            || near(hashes, self.meta.hash_floor, FLOOR_MARGIN_HASHES)
        {
            self.meta.slot = self.meta.slot.max(slot + FLOOR_AHEAD_BLOCKS);
            self.meta.block_height = self.meta.block_height.max(height + FLOOR_AHEAD_BLOCKS);
            self.meta.hash_floor = self.meta.hash_floor.max(hashes + FLOOR_AHEAD_HASHES);
            self.save(None)?;
        }
        Ok(())
    }

    /// Writes to the ledger, durably, what a transaction left and the counters. A write that
    /// fails stops the node: the bank already holds what the ledger does not, so from then on
    /// every call is refused with the reason (nothing is answered from a state the ledger
    /// lacks, nothing more is saved) and `Localnet::failed` tells the process. A restart
    /// continues from the last write that succeeded.
    pub fn save(&mut self, write: Option<crate::store::Write>) -> Result<(), RpcError> {
        self.pending.extend(write);
        // Inside a group: kept in memory, written with the group's one durable commit
        // (`flush`); nothing reads the ledger before that (every other call flushes first).
        if self.grouping {
            self.dirty = true;
            return Ok(());
        }
        let writes = std::mem::take(&mut self.pending);
        match self.store.commit(writes, &self.meta) {
            Ok(()) => {
                self.dirty = false;
                Ok(())
            }
            Err(e) => {
                let reason = format!(
                    "the local cluster stopped: writing its ledger failed ({e:#}). Nothing after the last \
                     write was kept; free disk space or fix the ledger folder's permissions, then start \
                     it again: it continues from its ledger"
                );
                eprintln!("localnet: {reason}");
                let _ = self.halt.send(Some(reason.clone()));
                self.halted = Some(reason.clone());
                Err(RpcError::internal(reason))
            }
        }
    }

    /// Whether a transaction with this signature was processed here (written, or in the open
    /// group).
    pub fn processed(&self, signature: &Signature) -> Result<bool, RpcError> {
        if self
            .pending
            .iter()
            .any(|(_, record)| record.as_ref().is_some_and(|(s, _)| s == signature))
        {
            return Ok(true);
        }
        Ok(self
            .store
            .transaction(signature)
            .map_err(|e| RpcError::internal(format!("{e:#}")))?
            .is_some())
    }

    /// Saves the counters and stops the bank (a node stopped by a failed write saves nothing).
    fn finish(mut self) -> anyhow::Result<()> {
        let saved = match &self.halted {
            Some(reason) => Err(anyhow!("{reason}")),
            None => self.save(None).map_err(|e| anyhow!(e.message)),
        };
        let Self { rt, ctx, .. } = self;
        {
            let _inside = rt.enter();
            drop(ctx);
        }
        drop(rt);
        saved
    }

    fn call(&mut self, method: &str, params: Value) -> RpcResult {
        if self.verbose {
            eprintln!("localnet: {method}");
        }
        let params = Params::new(params)?;
        match method {
            "getVersion" => Ok(json!({ "solana-core": VERSION, "feature-set": FEATURE_SET })),
            "getHealth" => Ok(json!("ok")),
            "getIdentity" => Ok(json!({ "identity": self.faucet.to_string() })),
            "getSlot" => self.get_slot(&params),
            "getBlockHeight" => Ok(json!(self.block_height()?)),
            "getTransactionCount" => Ok(json!(self.meta.transaction_count)),
            "getGenesisHash" => Ok(json!(self.ctx.genesis_config().hash().to_string())),
            "getEpochInfo" => self.get_epoch_info(&params),
            "getEpochSchedule" => self.get_epoch_schedule(),
            "getLatestBlockhash" => self.get_latest_blockhash(),
            "isBlockhashValid" => self.is_blockhash_valid(&params),
            "getFeeForMessage" => self.get_fee_for_message(&params),
            "getBalance" => self.get_balance(&params),
            "getAccountInfo" => self.get_account_info(&params),
            "getMultipleAccounts" => self.get_multiple_accounts(&params),
            "getProgramAccounts" => self.get_program_accounts(&params),
            "getTokenAccountsByOwner" => self.get_token_accounts_by_owner(&params),
            "getTokenAccountBalance" => self.get_token_account_balance(&params),
            "getTokenSupply" => self.get_token_supply(&params),
            // No fee market here: no recent prioritization fees to tell.
            "getRecentPrioritizationFees" => Ok(json!([])),
            "getMinimumBalanceForRentExemption" => self.get_minimum_balance(&params),
            "getSignatureStatuses" => self.get_signature_statuses(&params),
            "getTransaction" => self.get_transaction(&params),
            "getSignaturesForAddress" => self.get_signatures_for_address(&params),
            // `sendTransaction` arrives decoded and verified, as `Work::Send` (see `call`).
            "simulateTransaction" => self.simulate_transaction(&params),
            "requestAirdrop" => self.request_airdrop(&params),
            "deuAdvanceClock" => self.advance_clock(&params),
            "deuGetClock" => {
                self.apply_clock()?;
                self.clock_json()
            }
            _ => Err(RpcError::method_not_found()),
        }
    }

    // ---- the bank's position ----

    pub fn bank_slot(&self) -> Result<u64, RpcError> {
        if let Some(slot) = self.slot.get() {
            return Ok(slot);
        }
        let slot = self
            .rt
            .block_on(self.ctx.banks_client.get_root_slot())
            .map_err(internal)?;
        self.slot.set(Some(slot));
        Ok(slot)
    }

    /// An account as a transaction would find it: as the last transaction here left it, or
    /// read from the bank.
    pub fn account_before(&mut self, address: Pubkey) -> Result<Option<Account>, RpcError> {
        if let Some(account) = self.accounts.get(&address) {
            let account = account.clone();
            // Every test runs this check: what is remembered is what the bank holds.
            #[cfg(debug_assertions)]
            {
                let bank = self.account(address)?;
                assert_eq!(
                    account.as_ref().map(|a| (a.lamports, &a.data, a.owner)),
                    bank.as_ref().map(|a| (a.lamports, &a.data, a.owner)),
                    "the local cluster remembered {address} unlike the bank holds it"
                );
            }
            return Ok(account);
        }
        self.account(address)
    }

    /// Remembers what a transaction left `address` as (not sysvars, programs or builtins).
    pub fn remember(&mut self, address: Pubkey, account: &Option<Account>) {
        let kept = account.as_ref().is_none_or(|a| {
            !a.executable
                && a.owner != solana_sdk_ids::sysvar::ID
                && !solana_sdk_ids::sysvar::check_id(&address)
        });
        if !kept {
            return;
        }
        if self.accounts.len() >= CACHED_ACCOUNTS {
            self.accounts.clear();
        }
        self.accounts.insert(address, account.clone());
    }

    fn bank_height(&self) -> Result<u64, RpcError> {
        self.rt
            .block_on(self.ctx.banks_client.get_root_block_height())
            .map_err(internal)
    }

    /// The block height clients see: the bank's, continued across restarts.
    pub fn block_height(&self) -> Result<u64, RpcError> {
        Ok(self.bank_height()? + self.height_offset)
    }

    /// The bank transactions execute in (and every read here sees: program-test finalizes
    /// each block as it is produced), without a round trip through the banks server.
    pub fn bank(&self) -> Arc<solana_runtime::bank::Bank> {
        self.ctx
            .bank_forks()
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .working_bank()
    }

    pub fn account(&self, address: Pubkey) -> Result<Option<Account>, RpcError> {
        Ok(self.bank().get_account(&address).map(Account::from))
    }

    /// The latest blockhash and the last block height it is valid for.
    pub fn latest_blockhash(&self) -> Result<(Hash, u64), RpcError> {
        let (hash, last_valid) = self
            .rt
            .block_on(
                self.ctx
                    .banks_client
                    .get_latest_blockhash_with_commitment(CommitmentLevel::Finalized),
            )
            .map_err(internal)?
            .ok_or_else(|| RpcError::internal("the bank has no blockhash"))?;
        Ok((hash, last_valid + self.height_offset))
    }

    /// `{context, value}`, as most Solana methods answer.
    pub fn with_context(&self, value: Value) -> RpcResult {
        Ok(json!({
            "context": { "slot": self.bank_slot()?, "apiVersion": VERSION },
            "value": value,
        }))
    }

    // ---- the clock ----

    /// Sets the bank's clock to wall-clock time plus the offset, never earlier than it showed.
    pub fn apply_clock(&mut self) -> Result<i64, RpcError> {
        let wanted = now_unix()
            .saturating_add(self.meta.offset_seconds)
            .max(self.meta.unix_timestamp);
        if self.clock_set && wanted == self.meta.unix_timestamp {
            // The bank's clock already says so (this node set it, in this slot).
            return Ok(wanted);
        }
        let mut clock: Clock = self
            .rt
            .block_on(self.ctx.banks_client.get_sysvar::<Clock>())
            .map_err(internal)?;
        let target = now_unix()
            .saturating_add(self.meta.offset_seconds)
            .max(self.meta.unix_timestamp);
        if clock.unix_timestamp != target {
            clock.unix_timestamp = target;
            self.ctx.set_sysvar(&clock);
        }
        self.meta.unix_timestamp = target;
        self.clock_set = true;
        Ok(target)
    }

    fn clock_json(&self) -> RpcResult {
        Ok(json!({
            "unixTimestamp": self.meta.unix_timestamp,
            "offsetSeconds": self.meta.offset_seconds,
        }))
    }

    fn advance_clock(&mut self, params: &Params) -> RpcResult {
        let seconds: Value = params.required(0, "seconds")?;
        let seconds = seconds
            .as_i64()
            .filter(|s| (1..=MAX_ADVANCE_SECONDS).contains(s))
            .ok_or_else(|| {
                RpcError::invalid_params(format!(
                    "Invalid params: seconds must be a positive whole number of seconds (at \
                     most {MAX_ADVANCE_SECONDS}), not {seconds}"
                ))
            })?;
        let offset = self
            .meta
            .offset_seconds
            .checked_add(seconds)
            .ok_or_else(|| RpcError::invalid_params("Invalid params: the clock would overflow"))?;
        self.meta.offset_seconds = offset;
        self.apply_clock()?;
        self.save(None)?;
        self.clock_json()
    }
}
