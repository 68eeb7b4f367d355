//! How accounts and transactions look on the wire: the encodings Solana's JSON-RPC answers in
//! (base58, base64, JSON), so stock clients decode them unchanged.

use base64::{prelude::BASE64_STANDARD, Engine};
use serde_json::{json, Value};
use solana_account::Account;
use solana_message::VersionedMessage;
use solana_rpc_client_api::{
    config::{RpcAccountInfoConfig, UiAccountEncoding, UiTransactionEncoding},
    response::{UiAccount, UiAccountData},
};
use solana_sdk::pubkey::Pubkey;
use solana_transaction::versioned::VersionedTransaction;

use crate::rpc::RpcError;
use crate::store::TransactionRecord;

/// Accounts over 128 bytes cannot be returned base58.
const MAX_BASE58_ACCOUNT_DATA: usize = 128;

pub(crate) fn ui_account(
    account: Account,
    config: &RpcAccountInfoConfig,
) -> Result<UiAccount, RpcError> {
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

fn keys(keys: &[Pubkey]) -> Vec<String> {
    keys.iter().map(Pubkey::to_string).collect()
}

/// A message as `"encoding": "json"` shows it: raw instructions with base58 data.
fn json_message(message: &VersionedMessage) -> Value {
    let header = message.header();
    let instructions: Vec<Value> = message
        .instructions()
        .iter()
        .map(|ix| {
            json!({
                "programIdIndex": ix.program_id_index,
                "accounts": ix.accounts,
                "data": bs58::encode(&ix.data).into_string(),
                "stackHeight": null,
            })
        })
        .collect();
    let value = json!({
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "accountKeys": keys(message.static_account_keys()),
        "recentBlockhash": message.recent_blockhash().to_string(),
        "instructions": instructions,
    });
    with_table_lookups(value, message)
}

/// `value`, a message as shown, with the `addressTableLookups` a v0 message loads addresses
/// through (both encodings show them the same way).
fn with_table_lookups(mut value: Value, message: &VersionedMessage) -> Value {
    if let Some(lookups) = message.address_table_lookups() {
        value["addressTableLookups"] = Value::Array(
            lookups
                .iter()
                .map(|l| {
                    json!({
                        "accountKey": l.account_key.to_string(),
                        "writableIndexes": l.writable_indexes,
                        "readonlyIndexes": l.readonly_indexes,
                    })
                })
                .collect(),
        );
    }
    value
}

/// A message as `"encoding": "jsonParsed"` shows it, with instructions left unparsed.
fn parsed_message(message: &VersionedMessage, record: &TransactionRecord) -> Value {
    let static_keys = message.static_account_keys().len();
    let account_keys: Vec<Value> = record
        .account_keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            json!({
                "pubkey": key.to_string(),
                "signer": message.is_signer(i),
                "writable": message.is_maybe_writable(i, None),
                "source": if i < static_keys { "transaction" } else { "lookupTable" },
            })
        })
        .collect();
    let instructions: Vec<Value> = message
        .instructions()
        .iter()
        .map(|ix| {
            let key = |i: u8| {
                record
                    .account_keys
                    .get(usize::from(i))
                    .map_or_else(String::new, Pubkey::to_string)
            };
            json!({
                "programId": key(ix.program_id_index),
                "accounts": ix.accounts.iter().map(|i| key(*i)).collect::<Vec<_>>(),
                "data": bs58::encode(&ix.data).into_string(),
                "stackHeight": null,
            })
        })
        .collect();
    let value = json!({
        "accountKeys": account_keys,
        "recentBlockhash": message.recent_blockhash().to_string(),
        "instructions": instructions,
    });
    with_table_lookups(value, message)
}

/// `getTransaction`'s answer for a recorded transaction.
pub(crate) fn confirmed_transaction(
    record: &TransactionRecord,
    encoding: UiTransactionEncoding,
    max_supported_version: Option<u8>,
) -> Result<Value, RpcError> {
    let tx: VersionedTransaction = bincode::deserialize(&record.transaction)
        .map_err(|e| RpcError::internal(format!("a recorded transaction does not decode: {e}")))?;
    let version = match &tx.message {
        VersionedMessage::Legacy(_) => json!("legacy"),
        VersionedMessage::V0(_) => {
            if max_supported_version.is_none() {
                return Err(RpcError::new(
                    -32015,
                    "Transaction version (0) is not supported by the requesting client. Please \
                     try the request again with the following configuration parameter: \
                     \"maxSupportedTransactionVersion\": 0",
                ));
            }
            json!(0)
        }
    };
    let signatures: Vec<String> = tx.signatures.iter().map(ToString::to_string).collect();
    let transaction = match encoding {
        UiTransactionEncoding::Base64 => json!([
            BASE64_STANDARD.encode(bincode::serialize(&tx).map_err(RpcError::internal)?),
            "base64"
        ]),
        UiTransactionEncoding::Base58 | UiTransactionEncoding::Binary => json!([
            bs58::encode(bincode::serialize(&tx).map_err(RpcError::internal)?).into_string(),
            "base58"
        ]),
        UiTransactionEncoding::JsonParsed => json!({
            "signatures": signatures,
            "message": parsed_message(&tx.message, record),
        }),
        UiTransactionEncoding::Json => json!({
            "signatures": signatures,
            "message": json_message(&tx.message),
        }),
    };
    let status = match &record.err {
        None => json!({ "Ok": null }),
        Some(err) => json!({ "Err": err }),
    };
    let mut answer = json!({
        "slot": record.slot,
        "blockTime": record.block_time,
        "transaction": transaction,
        "meta": {
            "err": record.err,
            "status": status,
            "fee": record.fee,
            "preBalances": record.pre_balances,
            "postBalances": record.post_balances,
            "innerInstructions": [],
            "logMessages": record.logs,
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "loadedAddresses": {
                "writable": keys(&record.loaded_writable),
                "readonly": keys(&record.loaded_readonly),
            },
            "computeUnitsConsumed": record.compute_units_consumed,
        },
    });
    if max_supported_version.is_some() {
        answer["version"] = version;
    }
    Ok(answer)
}
