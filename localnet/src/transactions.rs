//! Transactions: decoding and checking what clients send, giving it to the bank, recording
//! what it did (durably, with the accounts it left), and telling it back (`getTransaction`,
//! `getSignaturesForAddress`, `getSignatureStatuses`).

use std::sync::Arc;

use base64::{prelude::BASE64_STANDARD, Engine};
use bincode::Options;
use serde::Deserialize;
use serde_json::{json, Value};
use solana_account::Account;
use solana_rpc_client_api::{
    config::{RpcSendTransactionConfig, RpcSimulateTransactionConfig, UiTransactionEncoding},
    response::{RpcBlockhash, RpcSimulateTransactionResult},
};
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Signature};
use solana_svm::{
    transaction_processing_result::{ProcessedTransaction, TransactionProcessingResult},
    transaction_processor::ExecutionRecordingConfig,
};
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;

use crate::{
    encoding::confirmed_transaction,
    node::{internal, persistable, Event, Node, Processed},
    rpc::{
        parse_signature, Params, RpcError, RpcResult, INVALID_REQUEST, PREFLIGHT_FAILURE,
        SIGNATURE_VERIFICATION_FAILURE,
    },
    store::TransactionRecord,
};

/// The largest transaction a cluster accepts (`PACKET_DATA_SIZE`).
pub(crate) const MAX_TRANSACTION_SIZE: usize = 1232;
/// The longest base58 / base64 text of a transaction of `MAX_TRANSACTION_SIZE` bytes.
const MAX_BASE58_SIZE: usize = 1683;
const MAX_BASE64_SIZE: usize = 1644;
/// Lookup-table accounts hold their addresses after a 56-byte header.
const LOOKUP_TABLE_META_SIZE: usize = 56;
const MAX_SIGNATURE_STATUSES: usize = 256;
const MAX_SIGNATURES_FOR_ADDRESS: usize = 1_000;
/// The most log bytes a transaction keeps (as `Bank::process_transaction_with_metadata`).
const LOG_MESSAGES_BYTES_LIMIT: usize = 1_000 * 1_000;

fn to_value<T: serde::Serialize>(value: &T) -> RpcResult {
    serde_json::to_value(value).map_err(internal)
}

/// What became of a transaction given to the bank.
pub(crate) enum Outcome {
    /// Executed and recorded (fees charged), successfully or not.
    Committed(Result<(), TransactionError>),
    /// Refused before execution (unknown blockhash, fee payer cannot pay, a replay, ...):
    /// nothing changed.
    Rejected(TransactionError),
    /// Preflight was asked for and the transaction failed: executed, but nothing committed.
    Refused(Box<Refusal>),
}

/// What a failed preflight tells: the error and what the execution did before it.
pub(crate) struct Refusal {
    err: TransactionError,
    logs: Vec<String>,
    units_consumed: Option<u64>,
    loaded_accounts_data_size: Option<u32>,
    return_data: Option<solana_rpc_client_api::response::UiTransactionReturnData>,
}

impl Refusal {
    /// The refusal a failed execution earns under preflight (`None`: it succeeded).
    fn of(result: &TransactionProcessingResult) -> Option<Self> {
        let plain = |err: &TransactionError| Refusal {
            err: err.clone(),
            logs: Vec::new(),
            units_consumed: None,
            loaded_accounts_data_size: None,
            return_data: None,
        };
        match result {
            Err(err) => Some(plain(err)),
            Ok(ProcessedTransaction::FeesOnly(fees_only)) => Some(plain(&fees_only.load_error)),
            Ok(ProcessedTransaction::Executed(executed)) => {
                let details = &executed.execution_details;
                let err = details.status.clone().err()?;
                Some(Refusal {
                    err,
                    logs: details.log_messages.clone().unwrap_or_default(),
                    units_consumed: Some(details.executed_units),
                    loaded_accounts_data_size: Some(
                        executed.loaded_transaction.loaded_accounts_data_size,
                    ),
                    return_data: details.return_data.clone().map(Into::into),
                })
            }
        }
    }

    /// `sendTransaction`'s error, as a cluster's preflight simulation words it.
    fn into_error(self) -> Result<RpcError, RpcError> {
        let data = simulation_result(
            Some(self.err.clone()),
            self.logs,
            self.units_consumed,
            self.loaded_accounts_data_size,
            self.return_data,
            None,
        );
        Ok(RpcError {
            code: PREFLIGHT_FAILURE,
            message: format!("Transaction simulation failed: {}", self.err),
            data: Some(to_value(&data)?),
        })
    }
}

/// A transaction's accounts: its static keys, then the addresses it loads from lookup tables.
struct Keys {
    all: Vec<Pubkey>,
    loaded_writable: Vec<Pubkey>,
    loaded_readonly: Vec<Pubkey>,
    /// Whether each of `all` may be written.
    writable: Vec<bool>,
}

pub(crate) fn decode_transaction(
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

/// `sendTransaction`'s parameters: the transaction, decoded, its form and every signature
/// checked, and the config.
pub(crate) fn checked_transaction(
    params: &Params,
) -> Result<(VersionedTransaction, RpcSendTransactionConfig), RpcError> {
    let encoded: String = params.required(0, "transaction")?;
    let config: RpcSendTransactionConfig = params.optional(1, "config")?;
    let tx = decode_transaction(
        &encoded,
        config.encoding.unwrap_or(UiTransactionEncoding::Base58),
    )?;
    verify_transaction(&tx)?;
    Ok((tx, config))
}

/// Checks the form of a transaction and all its signatures (the bank does not).
pub(crate) fn verify_transaction(tx: &VersionedTransaction) -> Result<(), RpcError> {
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

fn rejected(err: TransactionError) -> RpcError {
    let data = simulation_result(Some(err.clone()), Vec::new(), None, None, None, None);
    RpcError {
        code: PREFLIGHT_FAILURE,
        message: format!("Transaction failed: {err}"),
        data: serde_json::to_value(&data).ok(),
    }
}

/// `getTransaction`'s second parameter: an encoding name, or a config object.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TransactionConfig {
    encoding: Option<UiTransactionEncoding>,
    max_supported_transaction_version: Option<u8>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SignaturesConfig {
    limit: Option<usize>,
    before: Option<String>,
    until: Option<String>,
}

impl Node {
    /// Every account a transaction may touch: its static keys and the addresses it loads from
    /// lookup tables.
    fn transaction_keys(&mut self, tx: &VersionedTransaction) -> Result<Keys, RpcError> {
        let statics = tx.message.static_account_keys().to_vec();
        let mut writable: Vec<bool> = (0..statics.len())
            .map(|i| tx.message.is_maybe_writable(i, None))
            .collect();
        let mut loaded_writable = Vec::new();
        let mut loaded_readonly = Vec::new();
        for lookup in tx.message.address_table_lookups().unwrap_or_default() {
            let Some(table) = self.account_before(lookup.account_key)? else {
                continue;
            };
            let addresses = table.data.get(LOOKUP_TABLE_META_SIZE..).unwrap_or_default();
            let address = |index: &u8| {
                let start = usize::from(*index) * 32;
                addresses
                    .get(start..start + 32)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Pubkey::new_from_array)
            };
            loaded_writable.extend(lookup.writable_indexes.iter().filter_map(address));
            loaded_readonly.extend(lookup.readonly_indexes.iter().filter_map(address));
        }
        let mut all = statics;
        all.extend(&loaded_writable);
        writable.extend(loaded_writable.iter().map(|_| true));
        all.extend(&loaded_readonly);
        writable.extend(loaded_readonly.iter().map(|_| false));
        Ok(Keys {
            all,
            loaded_writable,
            loaded_readonly,
            writable,
        })
    }

    /// The fee the bank charges for `message`: it depends only on its signatures and its
    /// compute-budget and signature-verification instructions, so one bank answer serves every
    /// message alike (a report is always one signature and no such instruction).
    fn fee_of(&mut self, message: &solana_message::VersionedMessage) -> Result<u64, RpcError> {
        use solana_sdk_ids::{
            compute_budget, ed25519_program, secp256k1_program, secp256r1_program,
        };
        let keys = message.static_account_keys();
        let mut shape = message
            .header()
            .num_required_signatures
            .to_le_bytes()
            .to_vec();
        for ix in message.instructions() {
            let program = keys.get(usize::from(ix.program_id_index));
            let priced = program.is_some_and(|p| {
                [
                    compute_budget::ID,
                    ed25519_program::ID,
                    secp256k1_program::ID,
                    secp256r1_program::ID,
                ]
                .contains(p)
            });
            if priced {
                shape.extend(program.map(|p| p.to_bytes()).unwrap_or_default());
                shape.extend((ix.data.len() as u32).to_le_bytes());
                shape.extend(&ix.data);
            }
        }
        if let Some(fee) = self.fees.get(&shape) {
            return Ok(*fee);
        }
        let fee = self.fee_for(message)?.unwrap_or(0);
        if self.fees.len() < 10_000 {
            self.fees.insert(shape, fee);
        }
        Ok(fee)
    }

    /// Gives a verified transaction to the bank, and commits what it did (its record, the
    /// accounts it left and the counters) in one durable write; then tells subscribers.
    /// `preflight`: a transaction that fails is refused instead, nothing committed.
    pub fn process(
        &mut self,
        tx: VersionedTransaction,
        preflight: bool,
    ) -> Result<(Signature, Outcome), RpcError> {
        let signature = tx
            .signatures
            .first()
            .copied()
            .ok_or_else(|| RpcError::invalid_params("invalid transaction: no signature"))?;
        // Seen before (even before a restart, when its blockhash is no longer known): refused
        // as such, before the bank would call it expired.
        if self.processed(&signature)? {
            return Ok((
                signature,
                Outcome::Rejected(TransactionError::AlreadyProcessed),
            ));
        }
        let keys = self.transaction_keys(&tx)?;
        let before = keys
            .all
            .iter()
            .map(|k| self.account_before(*k))
            .collect::<Result<Vec<_>, _>>()?;
        let pre_balances: Vec<u64> = before
            .iter()
            .map(|a| a.as_ref().map_or(0, |a| a.lamports))
            .collect();
        let fee = self.fee_of(&tx.message)?;
        let bytes = bincode::serialize(&tx).map_err(internal)?;
        // Executed once, in the working bank, as `Bank::process_transaction_with_metadata`
        // does; under preflight a failure is refused between execution and commit (as a
        // cluster's preflight simulation would have refused it), so nothing is charged.
        let bank = self.bank();
        let batch = match bank.prepare_entry_batch(vec![tx]) {
            Ok(batch) => batch,
            Err(err) => return Ok((signature, Outcome::Rejected(err))),
        };
        let mut refusal = None;
        let executed = bank.load_execute_and_commit_transactions_with_pre_commit_callback(
            &batch,
            solana_clock::MAX_PROCESSING_AGE,
            ExecutionRecordingConfig {
                enable_cpi_recording: false,
                enable_log_recording: true,
                enable_return_data_recording: true,
                enable_transaction_balance_recording: false,
            },
            &mut solana_svm_timings::ExecuteTimings::default(),
            Some(LOG_MESSAGES_BYTES_LIMIT),
            |_, results| match results
                .first()
                .and_then(|r| preflight.then(|| Refusal::of(r)))
            {
                Some(Some(failed)) => {
                    let err = failed.err.clone();
                    refusal = Some(failed);
                    Err(err)
                }
                _ => Ok(None),
            },
        );
        drop(batch);
        if let Some(refusal) = refusal {
            return Ok((signature, Outcome::Refused(Box::new(refusal))));
        }
        let committed = executed
            .map_err(internal)?
            .0
            .into_iter()
            .next()
            .ok_or_else(|| RpcError::internal("the bank gave no result"))?;
        let committed = match committed {
            Ok(committed) => committed,
            Err(err) => return Ok((signature, Outcome::Rejected(err))),
        };
        let result = committed.status.clone();
        let slot = self.bank_slot()?;
        // Only writable accounts can have changed: the others are as they were.
        let mut left: Vec<(Pubkey, Option<Account>)> = Vec::new();
        let mut post_balances = Vec::with_capacity(keys.all.len());
        for ((key, writable), was) in keys.all.iter().zip(&keys.writable).zip(before) {
            let account = if *writable {
                let now = self.account(*key)?;
                self.remember(*key, &now);
                now
            } else {
                was
            };
            post_balances.push(account.as_ref().map_or(0, |a| a.lamports));
            left.push((*key, account));
        }
        self.meta.transaction_count += 1;
        self.meta.sequence += 1;
        let record = TransactionRecord {
            sequence: self.meta.sequence,
            slot,
            block_time: self.meta.unix_timestamp,
            err: result.clone().err(),
            fee,
            account_keys: keys.all.clone(),
            loaded_writable: keys.loaded_writable.clone(),
            loaded_readonly: keys.loaded_readonly.clone(),
            pre_balances,
            post_balances,
            logs: committed.log_messages.unwrap_or_default(),
            compute_units_consumed: Some(committed.executed_units),
            transaction: bytes,
        };
        let mut saved: Vec<(Pubkey, Option<Account>)> = Vec::new();
        for (key, account) in &left {
            let keep = match account {
                Some(a) => persistable(key, a, &self.faucet).then(|| Some(a.clone())),
                None => self.index.contains(key).then_some(None),
            };
            if let Some(account) = keep {
                saved.push((*key, account));
            }
        }
        saved.sort_by_key(|(k, _)| *k);
        saved.dedup_by_key(|(k, _)| *k);
        self.index.extend(keys.all.iter().copied());
        let (err, logs) = (record.err.clone(), record.logs.clone());
        self.save(Some((saved, Some((signature, record)))))?;
        if self.verbose {
            for line in &logs {
                eprintln!("localnet: {line}");
            }
        }
        let written: Vec<(Pubkey, Option<Account>)> = left
            .into_iter()
            .zip(&keys.writable)
            .filter(|(_, writable)| **writable)
            .map(|(account, _)| account)
            .collect();
        self.publish(Event::Processed(Arc::new(Processed {
            signature,
            slot,
            err,
            logs,
            account_keys: keys.all,
            accounts: written,
        })));
        Ok((signature, Outcome::Committed(result)))
    }

    /// `sendTransaction` of a transaction already decoded and its signatures verified (off
    /// the bank's thread: see `node::call`).
    pub fn send_checked(
        &mut self,
        tx: VersionedTransaction,
        config: &RpcSendTransactionConfig,
    ) -> RpcResult {
        self.apply_clock()?;
        match self.process(tx, !config.skip_preflight)? {
            (signature, Outcome::Committed(_)) => Ok(json!(signature.to_string())),
            (_, Outcome::Rejected(err)) => Err(rejected(err)),
            (_, Outcome::Refused(refusal)) => Err(refusal.into_error()?),
        }
    }

    pub fn simulate_transaction(&mut self, params: &Params) -> RpcResult {
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

    /// A blockhash no airdrop used yet (two airdrops of the same amount to the same address
    /// would otherwise be the same transaction): produces a block when needed.
    fn fresh_blockhash(&mut self) -> Result<Hash, RpcError> {
        let (mut blockhash, _) = self.latest_blockhash()?;
        if Some(blockhash) == self.last_airdrop_blockhash {
            self.produce_block()?;
            blockhash = self.latest_blockhash()?.0;
        }
        self.last_airdrop_blockhash = Some(blockhash);
        Ok(blockhash)
    }

    pub fn request_airdrop(&mut self, params: &Params) -> RpcResult {
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
        match self.process(VersionedTransaction::from(tx), true)? {
            (signature, Outcome::Committed(Ok(()))) => Ok(json!(signature.to_string())),
            (_, Outcome::Committed(Err(err)) | Outcome::Rejected(err)) => Err(airdrop_failed(err)),
            (_, Outcome::Refused(refusal)) => Err(airdrop_failed(refusal.err)),
        }
    }

    /// The status of a signature, as `getSignatureStatuses` and `signatureSubscribe` tell it.
    pub fn signature_status(&self, signature: &Signature) -> Result<Value, RpcError> {
        Ok(match self.store.transaction(signature).map_err(internal)? {
            None => Value::Null,
            Some(record) => json!({
                "slot": record.slot,
                "confirmations": null,
                "status": match &record.err {
                    None => json!({"Ok": null}),
                    Some(err) => json!({"Err": err}),
                },
                "err": record.err,
                "confirmationStatus": "finalized",
            }),
        })
    }

    pub fn get_signature_statuses(&self, params: &Params) -> RpcResult {
        let signatures: Vec<String> = params.required(0, "signatures")?;
        if signatures.len() > MAX_SIGNATURE_STATUSES {
            return Err(RpcError::invalid_params(format!(
                "Too many inputs provided; max {MAX_SIGNATURE_STATUSES}"
            )));
        }
        let statuses = signatures
            .iter()
            .map(|s| self.signature_status(&parse_signature(s)?))
            .collect::<Result<Vec<_>, RpcError>>()?;
        self.with_context(Value::Array(statuses))
    }

    pub fn get_transaction(&self, params: &Params) -> RpcResult {
        let signature = parse_signature(&params.required::<String>(0, "signature")?)?;
        let config = match params.optional::<Value>(1, "config")? {
            Value::String(encoding) => TransactionConfig {
                encoding: Some(
                    serde_json::from_value(Value::String(encoding))
                        .map_err(|e| RpcError::invalid_params(format!("Invalid params: {e}")))?,
                ),
                max_supported_transaction_version: None,
            },
            Value::Null => TransactionConfig::default(),
            other => serde_json::from_value(other)
                .map_err(|e| RpcError::invalid_params(format!("Invalid params: config: {e}")))?,
        };
        match self.store.transaction(&signature).map_err(internal)? {
            None => Ok(Value::Null),
            Some(record) => confirmed_transaction(
                &record,
                config.encoding.unwrap_or(UiTransactionEncoding::Json),
                config.max_supported_transaction_version,
            ),
        }
    }

    pub fn get_signatures_for_address(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "address")?;
        let config: SignaturesConfig = params.optional(1, "config")?;
        let limit = config.limit.unwrap_or(MAX_SIGNATURES_FOR_ADDRESS);
        if !(1..=MAX_SIGNATURES_FOR_ADDRESS).contains(&limit) {
            return Err(RpcError::invalid_params(format!(
                "Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}"
            )));
        }
        let before = config.before.as_deref().map(parse_signature).transpose()?;
        let until = config.until.as_deref().map(parse_signature).transpose()?;
        let found = self
            .store
            .signatures_for(&address, before.as_ref(), until.as_ref(), limit)
            .map_err(internal)?;
        Ok(Value::Array(
            found
                .into_iter()
                .map(|(signature, record)| {
                    json!({
                        "signature": signature.to_string(),
                        "slot": record.slot,
                        "err": record.err,
                        "memo": null,
                        "blockTime": record.block_time,
                        "confirmationStatus": "finalized",
                    })
                })
                .collect(),
        ))
    }
}
