//! The bank, on a thread of its own, answering JSON-RPC calls one at a time.
//!
//! The bank lives in a program-test context on a single-threaded tokio runtime that this thread
//! drives only while it answers a call, plus once per [`BLOCK_TIME`] when idle. Program-test
//! registers a new blockhash every time its background task gets to run (every 6.4 ms of a
//! freely running runtime, which would make a blockhash expire after about a second); driven
//! this way a new blockhash appears about every 400 ms, as on a real cluster, and a blockhash
//! stays valid for about a minute.

use std::{
    collections::{BTreeSet, HashMap},
    panic::AssertUnwindSafe,
    path::PathBuf,
    sync::mpsc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{anyhow, Context};
use base64::{prelude::BASE64_STANDARD, Engine};
use bincode::Options;
use serde_json::{json, Value};
use solana_account::Account;
use solana_commitment_config::CommitmentLevel;
use solana_message::{Message, VersionedMessage};
use solana_program_test::{BanksTransactionResultWithMetadata, ProgramTestContext};
use solana_rpc_client_api::{
    config::{
        RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig,
        RpcSimulateTransactionConfig, UiAccountEncoding, UiTransactionEncoding,
    },
    filter::RpcFilterType,
    response::{
        RpcBlockhash, RpcKeyedAccount, RpcSimulateTransactionResult, UiAccount, UiAccountData,
    },
};
use solana_sdk::{clock::Clock, hash::Hash, pubkey::Pubkey, signature::Signature};
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;
use tokio::sync::oneshot;

use crate::{
    ledger::{Ledger, SavedClock},
    rpc::{
        parse_hash, parse_pubkey, parse_signature, Params, RpcError, RpcResult, INVALID_REQUEST,
        PREFLIGHT_FAILURE, SIGNATURE_VERIFICATION_FAILURE,
    },
};

/// How often an idle cluster produces a new blockhash.
const BLOCK_TIME: Duration = Duration::from_millis(400);
/// The version reported by `getVersion` (the Agave crates the bank comes from).
const VERSION: &str = "3.1.12";
/// The largest transaction a cluster accepts (`PACKET_DATA_SIZE`).
const MAX_TRANSACTION_SIZE: usize = 1232;
/// The longest base58 / base64 text of a transaction of `MAX_TRANSACTION_SIZE` bytes.
const MAX_BASE58_SIZE: usize = 1683;
const MAX_BASE64_SIZE: usize = 1644;
/// Lookup-table accounts hold their addresses after a 56-byte header.
const LOOKUP_TABLE_META_SIZE: usize = 56;
const MAX_MULTIPLE_ACCOUNTS: usize = 100;
const MAX_SIGNATURE_STATUSES: usize = 256;
/// Accounts over 128 bytes cannot be returned base58.
const MAX_BASE58_ACCOUNT_DATA: usize = 128;
/// The largest clock advance accepted at once (a century).
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

pub(crate) enum Job {
    Call {
        method: String,
        params: Value,
        reply: oneshot::Sender<RpcResult>,
    },
    Shutdown {
        reply: oneshot::Sender<anyhow::Result<()>>,
    },
}

/// The bank thread: send it jobs, join it when it has answered `Shutdown`.
pub(crate) struct BankThread {
    pub jobs: mpsc::Sender<Job>,
    pub thread: std::thread::JoinHandle<()>,
}

impl BankThread {
    /// Starts the bank (restored from the ledger) and returns once it is ready.
    pub async fn spawn(ledger: PathBuf, reset: bool, verbose: bool) -> anyhow::Result<Self> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("localnet-bank".to_string())
            // The program runs natively on this thread unless it was built for BPF.
            .stack_size(64 << 20)
            .spawn(move || match Node::start(&ledger, reset, verbose) {
                Ok(node) => {
                    let _ = ready_tx.send(Ok(()));
                    node.serve(jobs_rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
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
    jobs.send(Job::Call {
        method,
        params,
        reply,
    })
    .map_err(|_| RpcError::internal("the local cluster is shutting down"))?;
    answer
        .await
        .map_err(|_| RpcError::internal("the local cluster stopped before answering"))?
}

struct Status {
    slot: u64,
    result: Result<(), TransactionError>,
}

/// What became of a transaction given to the bank.
enum Outcome {
    /// Executed and recorded (fees charged), successfully or not.
    Committed(Result<(), TransactionError>),
    /// Refused before execution (unknown blockhash, fee payer cannot pay, ...): nothing changed.
    Rejected(TransactionError),
}

struct Node {
    rt: tokio::runtime::Runtime,
    ctx: ProgramTestContext,
    ledger: Ledger,
    faucet: Pubkey,
    /// Every account key seen in a processed transaction (and every restored account).
    index: BTreeSet<Pubkey>,
    statuses: HashMap<Signature, Status>,
    clock: SavedClock,
    transaction_count: u64,
    last_airdrop_blockhash: Option<Hash>,
    verbose: bool,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether an account belongs in the ledger: programs, sysvars and builtins come back with
/// the bank itself, and the faucet is new at every start.
fn persistable(address: &Pubkey, account: &Account, faucet: &Pubkey) -> bool {
    address != faucet
        && !account.executable
        && account.owner != solana_sdk_ids::sysvar::id()
        && account.owner != solana_sdk_ids::native_loader::id()
}

fn internal(e: impl std::fmt::Display) -> RpcError {
    RpcError::internal(e)
}

fn decode_transaction(
    encoded: &str,
    encoding: UiTransactionEncoding,
) -> Result<VersionedTransaction, RpcError> {
    let (name, max_encoded, bytes) = match encoding {
        UiTransactionEncoding::Base58 | UiTransactionEncoding::Binary => (
            "base58",
            MAX_BASE58_SIZE,
            (encoded.len() <= MAX_BASE58_SIZE)
                .then(|| bs58::decode(encoded).into_vec().map_err(|e| e.to_string())),
        ),
        UiTransactionEncoding::Base64 => (
            "base64",
            MAX_BASE64_SIZE,
            (encoded.len() <= MAX_BASE64_SIZE)
                .then(|| BASE64_STANDARD.decode(encoded).map_err(|e| e.to_string())),
        ),
        other => {
            return Err(RpcError::invalid_params(format!(
                "unsupported encoding: {other}. Supported encodings: base58, base64"
            )))
        }
    };
    let too_large = |len: usize| {
        RpcError::invalid_params(format!(
            "{name} encoded solana_transaction::versioned::VersionedTransaction too large: \
             {len} bytes (max: encoded/raw {max_encoded}/{MAX_TRANSACTION_SIZE})"
        ))
    };
    let bytes = match bytes {
        None => return Err(too_large(encoded.len())),
        Some(Err(e)) => {
            return Err(RpcError::invalid_params(format!(
                "invalid {name} encoding of the transaction: {e}"
            )))
        }
        Some(Ok(bytes)) => bytes,
    };
    if bytes.len() > MAX_TRANSACTION_SIZE {
        return Err(too_large(bytes.len()));
    }
    bincode::options()
        .with_limit(MAX_TRANSACTION_SIZE as u64)
        .with_fixint_encoding()
        .allow_trailing_bytes()
        .deserialize_from(&bytes[..])
        .map_err(|e| {
            RpcError::invalid_params(format!(
                "failed to deserialize solana_transaction::versioned::VersionedTransaction: {e}"
            ))
        })
}

/// Checks the form of a transaction and all its signatures (the bank does not).
fn verify_transaction(tx: &VersionedTransaction) -> Result<(), RpcError> {
    tx.sanitize()
        .map_err(|e| RpcError::invalid_params(format!("invalid transaction: {e}")))?;
    if tx.verify_with_results().iter().all(|ok| *ok) {
        Ok(())
    } else {
        Err(RpcError::new(
            SIGNATURE_VERIFICATION_FAILURE,
            "Transaction signature verification failure",
        ))
    }
}

fn simulation_result(
    err: Option<TransactionError>,
    logs: Vec<String>,
    units_consumed: Option<u64>,
    loaded_accounts_data_size: Option<u32>,
    return_data: Option<solana_rpc_client_api::response::UiTransactionReturnData>,
    replacement_blockhash: Option<RpcBlockhash>,
) -> RpcSimulateTransactionResult {
    RpcSimulateTransactionResult {
        err: err.map(Into::into),
        logs: Some(logs),
        accounts: None,
        units_consumed,
        loaded_accounts_data_size,
        return_data,
        inner_instructions: None,
        replacement_blockhash,
        fee: None,
        pre_balances: None,
        post_balances: None,
        pre_token_balances: None,
        post_token_balances: None,
        loaded_addresses: None,
    }
}

/// Whether an account's data passes one `getProgramAccounts` filter.
fn passes(filter: &RpcFilterType, data: &[u8]) -> bool {
    match filter {
        RpcFilterType::DataSize(size) => data.len() as u64 == *size,
        RpcFilterType::Memcmp(memcmp) => memcmp.bytes_match(data),
        // An initialized SPL token account: 165 bytes, its state byte (offset 108) not zero.
        RpcFilterType::TokenAccountState => data.len() == 165 && data[108] != 0,
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> RpcResult {
    serde_json::to_value(value).map_err(internal)
}

impl Node {
    fn start(ledger: &std::path::Path, reset: bool, verbose: bool) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("start the bank's runtime")?;
        let ledger = Ledger::open(ledger, reset)?;
        let saved_clock = ledger.load_clock()?;
        let mut program_test = energy_utility_bank::program_test();
        let mut index = BTreeSet::new();
        for (address, account) in ledger.load_accounts()? {
            // No faucet exists yet; its key is new at every start.
            if persistable(&address, &account, &Pubkey::default()) {
                program_test.add_account(address, account);
                index.insert(address);
            }
        }
        let ctx = rt.block_on(program_test.start_with_context());
        let faucet = ctx.payer.pubkey();
        let mut node = Self {
            rt,
            ctx,
            ledger,
            faucet,
            index,
            statuses: HashMap::new(),
            clock: saved_clock,
            transaction_count: 0,
            last_airdrop_blockhash: None,
            verbose,
        };
        node.apply_clock().map_err(|e| anyhow!(e.message))?;
        Ok(node)
    }

    fn serve(mut self, jobs: mpsc::Receiver<Job>) {
        let mut next_block = Instant::now() + BLOCK_TIME;
        loop {
            if Instant::now() >= next_block {
                self.produce_block();
                next_block = Instant::now() + BLOCK_TIME;
            }
            let wait = next_block.saturating_duration_since(Instant::now());
            match jobs.recv_timeout(wait) {
                Ok(Job::Call {
                    method,
                    params,
                    reply,
                }) => {
                    let answer =
                        std::panic::catch_unwind(AssertUnwindSafe(|| self.call(&method, params)))
                            .unwrap_or_else(|_| Err(RpcError::internal("the bank panicked")));
                    let _ = reply.send(answer);
                }
                Ok(Job::Shutdown { reply }) => {
                    let _ = reply.send(self.finish());
                    return;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    if let Err(e) = self.finish() {
                        eprintln!("localnet: saving the ledger failed: {e:#}");
                    }
                    return;
                }
            }
        }
    }

    /// Lets program-test's background task register one new blockhash.
    fn produce_block(&self) {
        // The timer must be created inside the runtime, hence the async block.
        self.rt
            .block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
    }

    /// Saves everything and stops the bank.
    fn finish(self) -> anyhow::Result<()> {
        let saved = self.save_all();
        let Self { rt, ctx, .. } = self;
        {
            let _inside = rt.enter();
            drop(ctx);
        }
        drop(rt);
        saved
    }

    fn save_all(&self) -> anyhow::Result<()> {
        let keys: Vec<Pubkey> = self.index.iter().copied().collect();
        self.save_accounts(&keys)?;
        self.ledger.save_clock(&self.clock)
    }

    fn save_accounts(&self, keys: &[Pubkey]) -> anyhow::Result<()> {
        for address in keys {
            if *address == self.faucet {
                continue;
            }
            let account = self
                .rt
                .block_on(self.ctx.banks_client.get_account(*address))
                .map_err(|e| anyhow!("read account {address}: {e}"))?;
            let account = account.filter(|a| persistable(address, a, &self.faucet));
            self.ledger
                .save_account(address, account.as_ref())
                .with_context(|| {
                    format!("save account {address} in {}", self.ledger.root().display())
                })?;
        }
        Ok(())
    }

    fn call(&mut self, method: &str, params: Value) -> RpcResult {
        if self.verbose {
            eprintln!("localnet: {method}");
        }
        let params = Params::new(params)?;
        match method {
            "getVersion" => Ok(json!({ "solana-core": VERSION, "feature-set": null })),
            "getHealth" => Ok(json!("ok")),
            "getSlot" => Ok(json!(self.slot()?)),
            "getBlockHeight" => Ok(json!(self.block_height()?)),
            "getTransactionCount" => Ok(json!(self.transaction_count)),
            "getGenesisHash" => Ok(json!(self.ctx.genesis_config().hash().to_string())),
            "getEpochInfo" => self.get_epoch_info(),
            "getLatestBlockhash" => self.get_latest_blockhash(),
            "isBlockhashValid" => self.is_blockhash_valid(&params),
            "getFeeForMessage" => self.get_fee_for_message(&params),
            "getBalance" => self.get_balance(&params),
            "getAccountInfo" => self.get_account_info(&params),
            "getMultipleAccounts" => self.get_multiple_accounts(&params),
            "getProgramAccounts" => self.get_program_accounts(&params),
            "getMinimumBalanceForRentExemption" => self.get_minimum_balance(&params),
            "getSignatureStatuses" => self.get_signature_statuses(&params),
            "sendTransaction" => self.send_transaction(&params),
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

    // ---- reading the bank ----

    fn slot(&self) -> Result<u64, RpcError> {
        self.rt
            .block_on(self.ctx.banks_client.get_root_slot())
            .map_err(internal)
    }

    fn block_height(&self) -> Result<u64, RpcError> {
        self.rt
            .block_on(self.ctx.banks_client.get_root_block_height())
            .map_err(internal)
    }

    fn account(&self, address: Pubkey) -> Result<Option<Account>, RpcError> {
        self.rt
            .block_on(self.ctx.banks_client.get_account(address))
            .map_err(internal)
    }

    fn latest_blockhash(&self) -> Result<(Hash, u64), RpcError> {
        self.rt
            .block_on(
                self.ctx
                    .banks_client
                    .get_latest_blockhash_with_commitment(CommitmentLevel::Finalized),
            )
            .map_err(internal)?
            .ok_or_else(|| RpcError::internal("the bank has no blockhash"))
    }

    /// `{context, value}`, as most Solana methods answer.
    fn with_context(&self, value: Value) -> RpcResult {
        Ok(json!({
            "context": { "slot": self.slot()?, "apiVersion": VERSION },
            "value": value,
        }))
    }

    fn get_epoch_info(&self) -> RpcResult {
        let slot = self.slot()?;
        let schedule = &self.ctx.genesis_config().epoch_schedule;
        let (epoch, slot_index) = schedule.get_epoch_and_slot_index(slot);
        Ok(json!({
            "absoluteSlot": slot,
            "blockHeight": self.block_height()?,
            "epoch": epoch,
            "slotIndex": slot_index,
            "slotsInEpoch": schedule.get_slots_in_epoch(epoch),
            "transactionCount": self.transaction_count,
        }))
    }

    fn get_latest_blockhash(&self) -> RpcResult {
        let (blockhash, last_valid_block_height) = self.latest_blockhash()?;
        self.with_context(to_value(&RpcBlockhash {
            blockhash: blockhash.to_string(),
            last_valid_block_height,
        })?)
    }

    /// Whether a transaction with this blockhash would still be accepted: the bank has no
    /// direct question for it, so simulate an empty transaction from the faucet.
    fn blockhash_is_valid(&self, blockhash: Hash) -> Result<bool, RpcError> {
        let message = Message::new_with_blockhash(&[], Some(&self.faucet), &blockhash);
        let simulation = self
            .rt
            .block_on(
                self.ctx
                    .banks_client
                    .simulate_transaction(Transaction::new_unsigned(message)),
            )
            .map_err(internal)?;
        Ok(!matches!(
            simulation.result,
            Some(Err(TransactionError::BlockhashNotFound))
        ))
    }

    fn is_blockhash_valid(&self, params: &Params) -> RpcResult {
        let blockhash = parse_hash(&params.required::<String>(0, "blockhash")?)?;
        let valid = self.blockhash_is_valid(blockhash)?;
        self.with_context(json!(valid))
    }

    fn get_fee_for_message(&self, params: &Params) -> RpcResult {
        let encoded: String = params.required(0, "message")?;
        let bytes = BASE64_STANDARD
            .decode(encoded)
            .map_err(|e| RpcError::invalid_params(format!("invalid base64 message: {e}")))?;
        let message: VersionedMessage = bincode::options()
            .with_limit(MAX_TRANSACTION_SIZE as u64)
            .with_fixint_encoding()
            .allow_trailing_bytes()
            .deserialize_from(&bytes[..])
            .map_err(|e| RpcError::invalid_params(format!("invalid message: {e}")))?;
        // The bank prices legacy messages. The fee depends on the signatures and the
        // compute-budget instructions only, so a v0 message is priced as the legacy message of
        // its static keys (instruction accounts from lookup tables dropped).
        let legacy = match message {
            VersionedMessage::Legacy(message) => message,
            VersionedMessage::V0(message) => {
                let static_keys = message.account_keys.len();
                Message {
                    header: message.header,
                    account_keys: message.account_keys,
                    recent_blockhash: message.recent_blockhash,
                    instructions: message
                        .instructions
                        .into_iter()
                        .map(|mut ix| {
                            ix.accounts.retain(|i| usize::from(*i) < static_keys);
                            ix
                        })
                        .collect(),
                }
            }
        };
        let fee = self
            .rt
            .block_on(self.ctx.banks_client.get_fee_for_message(legacy))
            .map_err(internal)?;
        self.with_context(json!(fee))
    }

    fn get_balance(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "address")?;
        let lamports = self.account(address)?.map_or(0, |a| a.lamports);
        self.with_context(json!(lamports))
    }

    fn ui_account(account: Account, config: &RpcAccountInfoConfig) -> Result<UiAccount, RpcError> {
        let space = account.data.len() as u64;
        let data = match &config.data_slice {
            None => &account.data[..],
            Some(slice) => {
                let start = slice.offset.min(account.data.len());
                let end = start.saturating_add(slice.length).min(account.data.len());
                &account.data[start..end]
            }
        };
        let encoding = config.encoding.unwrap_or(UiAccountEncoding::Binary);
        let data = match encoding {
            UiAccountEncoding::Binary | UiAccountEncoding::Base58 => {
                if data.len() > MAX_BASE58_ACCOUNT_DATA {
                    return Err(RpcError::invalid_params(format!(
                        "Encoded binary (base 58) data should be less than {MAX_BASE58_ACCOUNT_DATA} \
                         bytes, please use Base64 encoding."
                    )));
                }
                let text = bs58::encode(data).into_string();
                if encoding == UiAccountEncoding::Binary {
                    UiAccountData::LegacyBinary(text)
                } else {
                    UiAccountData::Binary(text, UiAccountEncoding::Base58)
                }
            }
            // base64+zstd and jsonParsed are answered in plain base64, which every client
            // decodes.
            UiAccountEncoding::Base64
            | UiAccountEncoding::Base64Zstd
            | UiAccountEncoding::JsonParsed => {
                UiAccountData::Binary(BASE64_STANDARD.encode(data), UiAccountEncoding::Base64)
            }
        };
        Ok(UiAccount {
            lamports: account.lamports,
            data,
            owner: account.owner.to_string(),
            executable: account.executable,
            rent_epoch: account.rent_epoch,
            space: Some(space),
        })
    }

    fn get_account_info(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "address")?;
        let config: RpcAccountInfoConfig = params.optional(1, "config")?;
        let account = match self.account(address)? {
            Some(account) => Some(Self::ui_account(account, &config)?),
            None => None,
        };
        self.with_context(to_value(&account)?)
    }

    fn get_multiple_accounts(&self, params: &Params) -> RpcResult {
        let addresses: Vec<String> = params.required(0, "addresses")?;
        if addresses.len() > MAX_MULTIPLE_ACCOUNTS {
            return Err(RpcError::invalid_params(format!(
                "Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}"
            )));
        }
        let config: RpcAccountInfoConfig = params.optional(1, "config")?;
        let mut accounts = Vec::with_capacity(addresses.len());
        for address in &addresses {
            let account = match self.account(parse_pubkey(address)?)? {
                Some(account) => Some(Self::ui_account(account, &config)?),
                None => None,
            };
            accounts.push(account);
        }
        self.with_context(to_value(&accounts)?)
    }

    /// Every account the cluster knows that `program` owns and that passes every filter
    /// (`dataSize`, `memcmp`), from the cluster's own index of keys: the bank cannot scan.
    fn get_program_accounts(&self, params: &Params) -> RpcResult {
        let program = params.pubkey(0, "program id")?;
        let config: RpcProgramAccountsConfig = params.optional(1, "config")?;
        let filters = config.filters.unwrap_or_default();
        for filter in &filters {
            filter
                .verify()
                .map_err(|e| RpcError::invalid_params(format!("invalid filter: {e}")))?;
        }
        let mut matches = Vec::new();
        for address in &self.index {
            let Some(account) = self.account(*address)? else {
                continue;
            };
            if account.owner != program || !filters.iter().all(|f| passes(f, &account.data)) {
                continue;
            }
            matches.push(RpcKeyedAccount {
                pubkey: address.to_string(),
                account: Self::ui_account(account, &config.account_config)?,
            });
        }
        if config.with_context.unwrap_or(false) {
            self.with_context(to_value(&matches)?)
        } else {
            to_value(&matches)
        }
    }

    fn get_minimum_balance(&self, params: &Params) -> RpcResult {
        let len: usize = params.required(0, "data length")?;
        let rent = self
            .rt
            .block_on(self.ctx.banks_client.get_rent())
            .map_err(internal)?;
        Ok(json!(rent.minimum_balance(len).max(1)))
    }

    fn get_signature_statuses(&self, params: &Params) -> RpcResult {
        let signatures: Vec<String> = params.required(0, "signatures")?;
        if signatures.len() > MAX_SIGNATURE_STATUSES {
            return Err(RpcError::invalid_params(format!(
                "Too many inputs provided; max {MAX_SIGNATURE_STATUSES}"
            )));
        }
        let mut statuses = Vec::with_capacity(signatures.len());
        for signature in &signatures {
            let status = match self.statuses.get(&parse_signature(signature)?) {
                None => Value::Null,
                Some(status) => json!({
                    "slot": status.slot,
                    "confirmations": null,
                    "status": to_value(&status.result)?,
                    "err": to_value(&status.result.as_ref().err())?,
                    "confirmationStatus": "finalized",
                }),
            };
            statuses.push(status);
        }
        self.with_context(Value::Array(statuses))
    }

    // ---- the clock ----

    /// Moves the bank's clock to max(its time, wall-clock time + offset).
    fn apply_clock(&mut self) -> Result<i64, RpcError> {
        let mut clock: Clock = self
            .rt
            .block_on(self.ctx.banks_client.get_sysvar::<Clock>())
            .map_err(internal)?;
        let target = now_unix()
            .saturating_add(self.clock.offset_seconds)
            .max(self.clock.unix_timestamp);
        if target > clock.unix_timestamp {
            clock.unix_timestamp = target;
            self.ctx.set_sysvar(&clock);
        }
        self.clock.unix_timestamp = clock.unix_timestamp;
        Ok(clock.unix_timestamp)
    }

    fn clock_json(&self) -> RpcResult {
        Ok(json!({
            "unixTimestamp": self.clock.unix_timestamp,
            "offsetSeconds": self.clock.offset_seconds,
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
            .clock
            .offset_seconds
            .checked_add(seconds)
            .ok_or_else(|| RpcError::invalid_params("Invalid params: the clock would overflow"))?;
        self.clock.offset_seconds = offset;
        self.apply_clock()?;
        self.ledger.save_clock(&self.clock).map_err(internal)?;
        self.clock_json()
    }

    // ---- transactions ----

    /// Every account a transaction may touch: its static keys and the addresses it loads from
    /// lookup tables.
    fn transaction_keys(&self, tx: &VersionedTransaction) -> Result<Vec<Pubkey>, RpcError> {
        let mut keys = tx.message.static_account_keys().to_vec();
        for lookup in tx.message.address_table_lookups().unwrap_or_default() {
            keys.push(lookup.account_key);
            let Some(table) = self.account(lookup.account_key)? else {
                continue;
            };
            let addresses = table.data.get(LOOKUP_TABLE_META_SIZE..).unwrap_or_default();
            for index in lookup
                .writable_indexes
                .iter()
                .chain(&lookup.readonly_indexes)
            {
                let start = usize::from(*index) * 32;
                if let Some(bytes) = addresses.get(start..start + 32) {
                    if let Ok(bytes) = <[u8; 32]>::try_from(bytes) {
                        keys.push(Pubkey::new_from_array(bytes));
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// Gives a verified transaction to the bank, records its status and saves what it touched.
    fn process(&mut self, tx: VersionedTransaction) -> Result<(Signature, Outcome), RpcError> {
        let signature = tx
            .signatures
            .first()
            .copied()
            .ok_or_else(|| RpcError::invalid_params("invalid transaction: no signature"))?;
        let keys = self.transaction_keys(&tx)?;
        let BanksTransactionResultWithMetadata { result, metadata } = self
            .rt
            .block_on(self.ctx.banks_client.process_transaction_with_metadata(tx))
            .map_err(internal)?;
        if metadata.is_none() {
            if let Err(err) = result {
                return Ok((signature, Outcome::Rejected(err)));
            }
        }
        let slot = self.slot()?;
        self.statuses.insert(
            signature,
            Status {
                slot,
                result: result.clone(),
            },
        );
        self.transaction_count += 1;
        self.index.extend(keys.iter().copied());
        self.save_accounts(&keys).map_err(internal)?;
        self.ledger.save_clock(&self.clock).map_err(internal)?;
        Ok((signature, Outcome::Committed(result)))
    }

    fn rejected(err: TransactionError) -> RpcError {
        let data = simulation_result(Some(err.clone()), Vec::new(), None, None, None, None);
        RpcError {
            code: PREFLIGHT_FAILURE,
            message: format!("Transaction failed: {err}"),
            data: serde_json::to_value(&data).ok(),
        }
    }

    fn send_transaction(&mut self, params: &Params) -> RpcResult {
        let encoded: String = params.required(0, "transaction")?;
        let config: RpcSendTransactionConfig = params.optional(1, "config")?;
        let tx = decode_transaction(
            &encoded,
            config.encoding.unwrap_or(UiTransactionEncoding::Base58),
        )?;
        verify_transaction(&tx)?;
        self.apply_clock()?;
        if !config.skip_preflight {
            let simulation = self
                .rt
                .block_on(self.ctx.banks_client.simulate_transaction(tx.clone()))
                .map_err(internal)?;
            if let Some(Err(err)) = simulation.result {
                let details = simulation.simulation_details;
                let data = simulation_result(
                    Some(err.clone()),
                    details.as_ref().map(|d| d.logs.clone()).unwrap_or_default(),
                    details.as_ref().map(|d| d.units_consumed),
                    details.as_ref().map(|d| d.loaded_accounts_data_size),
                    details.and_then(|d| d.return_data).map(Into::into),
                    None,
                );
                return Err(RpcError {
                    code: PREFLIGHT_FAILURE,
                    message: format!("Transaction simulation failed: {err}"),
                    data: Some(to_value(&data)?),
                });
            }
        }
        match self.process(tx)? {
            (signature, Outcome::Committed(_)) => Ok(json!(signature.to_string())),
            (_, Outcome::Rejected(err)) => Err(Self::rejected(err)),
        }
    }

    fn simulate_transaction(&mut self, params: &Params) -> RpcResult {
        let encoded: String = params.required(0, "transaction")?;
        let config: RpcSimulateTransactionConfig = params.optional(1, "config")?;
        let mut tx = decode_transaction(
            &encoded,
            config.encoding.unwrap_or(UiTransactionEncoding::Base58),
        )?;
        if config.sig_verify && config.replace_recent_blockhash {
            return Err(RpcError::invalid_params(
                "sigVerify may not be used with replaceRecentBlockhash",
            ));
        }
        if config.sig_verify {
            verify_transaction(&tx)?;
        } else {
            tx.sanitize()
                .map_err(|e| RpcError::invalid_params(format!("invalid transaction: {e}")))?;
        }
        let replacement = if config.replace_recent_blockhash {
            let (blockhash, last_valid_block_height) = self.latest_blockhash()?;
            tx.message.set_recent_blockhash(blockhash);
            Some(RpcBlockhash {
                blockhash: blockhash.to_string(),
                last_valid_block_height,
            })
        } else {
            None
        };
        self.apply_clock()?;
        let simulation = self
            .rt
            .block_on(self.ctx.banks_client.simulate_transaction(tx))
            .map_err(internal)?;
        let err = simulation.result.and_then(Result::err);
        let details = simulation.simulation_details;
        let result = simulation_result(
            err,
            details.as_ref().map(|d| d.logs.clone()).unwrap_or_default(),
            details.as_ref().map(|d| d.units_consumed),
            details.as_ref().map(|d| d.loaded_accounts_data_size),
            details.and_then(|d| d.return_data).map(Into::into),
            replacement,
        );
        self.with_context(to_value(&result)?)
    }

    /// A blockhash no airdrop has used yet, so that two equal airdrops differ.
    fn fresh_blockhash(&mut self) -> Result<Hash, RpcError> {
        for _ in 0..1000 {
            let (blockhash, _) = self.latest_blockhash()?;
            if Some(blockhash) != self.last_airdrop_blockhash {
                self.last_airdrop_blockhash = Some(blockhash);
                return Ok(blockhash);
            }
            self.rt
                .block_on(async { tokio::time::sleep(Duration::from_millis(2)).await });
        }
        Err(RpcError::internal("no new blockhash"))
    }

    fn request_airdrop(&mut self, params: &Params) -> RpcResult {
        let recipient = params.pubkey(0, "address")?;
        let lamports: u64 = params.required(1, "lamports")?;
        if lamports == 0 {
            return Err(RpcError::invalid_params(
                "Invalid params: lamports must be positive",
            ));
        }
        self.apply_clock()?;
        let blockhash = self.fresh_blockhash()?;
        let transfer =
            solana_system_interface::instruction::transfer(&self.faucet, &recipient, lamports);
        let tx = Transaction::new_signed_with_payer(
            &[transfer],
            Some(&self.faucet),
            &[&self.ctx.payer],
            blockhash,
        );
        let airdrop_failed = |err: TransactionError| {
            RpcError::new(INVALID_REQUEST, format!("airdrop request failed: {err}"))
        };
        match self.process(VersionedTransaction::from(tx))? {
            (signature, Outcome::Committed(Ok(()))) => Ok(json!(signature.to_string())),
            (_, Outcome::Committed(Err(err)) | Outcome::Rejected(err)) => Err(airdrop_failed(err)),
        }
    }
}
