//! Reading the cluster: accounts, programs' accounts, token accounts, blockhashes, fees, the
//! epoch.

use base64::{prelude::BASE64_STANDARD, Engine};
use bincode::Options;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentLevel;
use solana_message::{Message, VersionedMessage};
use solana_rpc_client_api::{
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig},
    filter::RpcFilterType,
    response::{RpcBlockhash, RpcKeyedAccount},
};
use solana_sdk::pubkey::Pubkey;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::{
    encoding::ui_account,
    node::{internal, Node},
    rpc::{parse_hash, parse_pubkey, Params, RpcError, RpcResult},
    transactions::MAX_TRANSACTION_SIZE,
};

const MAX_MULTIPLE_ACCOUNTS: usize = 100;
/// An SPL token account: 165 bytes, the mint at 0, the owner at 32, the amount at 64, the
/// state at 108.
const TOKEN_ACCOUNT_LEN: usize = 165;
/// An SPL mint's decimals are at byte 44.
const MINT_DECIMALS_OFFSET: usize = 44;
const MINT_LEN: usize = 82;

/// A Token mint is 82 bytes; a Token-2022 mint with extensions is longer and says so in its
/// account-type byte (1), after the padding up to a token account's length.
fn is_mint(data: &[u8]) -> bool {
    data.len() == MINT_LEN || (data.len() > TOKEN_ACCOUNT_LEN && data[TOKEN_ACCOUNT_LEN] == 1)
}

fn to_value<T: serde::Serialize>(value: &T) -> RpcResult {
    serde_json::to_value(value).map_err(internal)
}

/// Whether an account's data passes one `getProgramAccounts` filter.
fn passes(filter: &RpcFilterType, data: &[u8]) -> bool {
    match filter {
        RpcFilterType::DataSize(size) => data.len() as u64 == *size,
        RpcFilterType::Memcmp(memcmp) => memcmp.bytes_match(data),
        // An initialized SPL token account: its state byte is not zero.
        RpcFilterType::TokenAccountState => data.len() == TOKEN_ACCOUNT_LEN && data[108] != 0,
    }
}

fn is_token_program(owner: &Pubkey) -> bool {
    *owner == anchor_spl_ids::TOKEN || *owner == anchor_spl_ids::TOKEN_2022
}

/// SPL Token's program ids, spelled out so this crate needs no token dependency.
mod anchor_spl_ids {
    use solana_sdk::pubkey::Pubkey;
    pub const TOKEN: Pubkey = solana_sdk::pubkey!("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
    pub const TOKEN_2022: Pubkey =
        solana_sdk::pubkey!("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
}

/// `{amount, decimals, uiAmount, uiAmountString}` of a raw token amount.
fn token_amount(amount: u64, decimals: u8) -> Value {
    let scale = 10u64.pow(u32::from(decimals));
    let text = if decimals == 0 {
        amount.to_string()
    } else {
        let fraction = format!("{:0width$}", amount % scale, width = usize::from(decimals));
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            (amount / scale).to_string()
        } else {
            format!("{}.{fraction}", amount / scale)
        }
    };
    json!({
        "amount": amount.to_string(),
        "decimals": decimals,
        "uiAmount": amount as f64 / scale as f64,
        "uiAmountString": text,
    })
}

impl Node {
    /// The slot at a commitment: the tip when processed; one block behind it when confirmed
    /// and two when finalized (the default), as a cluster's commitments trail its tip. So a
    /// client may use the answer as a recent slot at once (an address lookup table's, which
    /// must already be among the SlotHashes when its transaction lands at the tip). Accounts,
    /// block heights and blockhashes are the tip's at every commitment.
    fn slot_at(&self, params: &Params) -> Result<u64, RpcError> {
        #[derive(serde::Deserialize, Default)]
        struct Config {
            commitment: Option<CommitmentLevel>,
        }
        let config: Config = params.optional(0, "config")?;
        let behind = match config.commitment.unwrap_or(CommitmentLevel::Finalized) {
            CommitmentLevel::Processed => 0,
            CommitmentLevel::Confirmed => 1,
            CommitmentLevel::Finalized => 2,
        };
        Ok(self.bank_slot()?.saturating_sub(behind))
    }

    pub fn get_slot(&self, params: &Params) -> RpcResult {
        Ok(json!(self.slot_at(params)?))
    }

    pub fn get_epoch_info(&self, params: &Params) -> RpcResult {
        let slot = self.slot_at(params)?;
        let schedule = &self.ctx.genesis_config().epoch_schedule;
        let (epoch, slot_index) = schedule.get_epoch_and_slot_index(slot);
        Ok(json!({
            "absoluteSlot": slot,
            "blockHeight": self.block_height()?,
            "epoch": epoch,
            "slotIndex": slot_index,
            "slotsInEpoch": schedule.get_slots_in_epoch(epoch),
            "transactionCount": self.meta.transaction_count,
        }))
    }

    pub fn get_epoch_schedule(&self) -> RpcResult {
        let schedule = &self.ctx.genesis_config().epoch_schedule;
        Ok(json!({
            "slotsPerEpoch": schedule.slots_per_epoch,
            "leaderScheduleSlotOffset": schedule.leader_schedule_slot_offset,
            "warmup": schedule.warmup,
            "firstNormalEpoch": schedule.first_normal_epoch,
            "firstNormalSlot": schedule.first_normal_slot,
        }))
    }

    pub fn get_latest_blockhash(&self) -> RpcResult {
        let (blockhash, last_valid_block_height) = self.latest_blockhash()?;
        self.with_context(to_value(&RpcBlockhash {
            blockhash: blockhash.to_string(),
            last_valid_block_height,
        })?)
    }

    /// Whether a transaction with this blockhash would still be accepted: the bank has no
    /// direct question for it, so simulate an empty transaction from the faucet.
    pub fn blockhash_is_valid(&self, blockhash: solana_sdk::hash::Hash) -> Result<bool, RpcError> {
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

    pub fn is_blockhash_valid(&self, params: &Params) -> RpcResult {
        let blockhash = parse_hash(&params.required::<String>(0, "blockhash")?)?;
        let valid = self.blockhash_is_valid(blockhash)?;
        self.with_context(json!(valid))
    }

    pub fn get_fee_for_message(&self, params: &Params) -> RpcResult {
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
        let fee = self.fee_for(&message)?;
        self.with_context(json!(fee))
    }

    /// The fee for a message, or `None` when its blockhash is unknown. The bank prices legacy
    /// messages; the fee depends on the signatures and the compute-budget instructions only, so
    /// a v0 message is priced as the legacy message of its static keys.
    pub fn fee_for(&self, message: &VersionedMessage) -> Result<Option<u64>, RpcError> {
        let legacy = match message.clone() {
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
        self.rt
            .block_on(self.ctx.banks_client.get_fee_for_message(legacy))
            .map_err(internal)
    }

    pub fn get_balance(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "address")?;
        let lamports = self.account(address)?.map_or(0, |a| a.lamports);
        self.with_context(json!(lamports))
    }

    pub fn get_account_info(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "address")?;
        let config: RpcAccountInfoConfig = params.optional(1, "config")?;
        let account = match self.account(address)? {
            Some(account) => Some(ui_account(account, &config)?),
            None => None,
        };
        self.with_context(to_value(&account)?)
    }

    pub fn get_multiple_accounts(&self, params: &Params) -> RpcResult {
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
                Some(account) => Some(ui_account(account, &config)?),
                None => None,
            };
            accounts.push(account);
        }
        self.with_context(to_value(&accounts)?)
    }

    /// The known accounts that `owner` owns and that pass every filter, from the cluster's own
    /// index of keys: the bank cannot scan.
    fn scan(
        &self,
        owner: &Pubkey,
        filters: &[RpcFilterType],
    ) -> Result<Vec<(Pubkey, solana_account::Account)>, RpcError> {
        let mut found = Vec::new();
        for address in &self.index {
            let Some(account) = self.account(*address)? else {
                continue;
            };
            if account.owner == *owner && filters.iter().all(|f| passes(f, &account.data)) {
                found.push((*address, account));
            }
        }
        Ok(found)
    }

    pub fn get_program_accounts(&self, params: &Params) -> RpcResult {
        let program = params.pubkey(0, "program id")?;
        let config: RpcProgramAccountsConfig = params.optional(1, "config")?;
        let filters = config.filters.unwrap_or_default();
        for filter in &filters {
            filter
                .verify()
                .map_err(|e| RpcError::invalid_params(format!("invalid filter: {e}")))?;
        }
        let matches = self
            .scan(&program, &filters)?
            .into_iter()
            .map(|(address, account)| {
                Ok(RpcKeyedAccount {
                    pubkey: address.to_string(),
                    account: ui_account(account, &config.account_config)?,
                })
            })
            .collect::<Result<Vec<_>, RpcError>>()?;
        if config.with_context.unwrap_or(false) {
            self.with_context(to_value(&matches)?)
        } else {
            to_value(&matches)
        }
    }

    /// `getTokenAccountsByOwner(owner, {mint} | {programId}, config)`.
    pub fn get_token_accounts_by_owner(&self, params: &Params) -> RpcResult {
        let owner = params.pubkey(0, "owner")?;
        let which: Value = params.required(1, "mint or programId")?;
        let config: RpcAccountInfoConfig = params.optional(2, "config")?;
        let (program, mint) = match (which.get("mint"), which.get("programId")) {
            (Some(Value::String(mint)), _) => {
                let mint = parse_pubkey(mint)?;
                let program = self
                    .account(mint)?
                    .map(|a| a.owner)
                    .filter(is_token_program)
                    .ok_or_else(|| {
                        RpcError::invalid_params(format!(
                            "Invalid param: could not find mint {mint}"
                        ))
                    })?;
                (program, Some(mint))
            }
            (_, Some(Value::String(program))) => {
                let program = parse_pubkey(program)?;
                if !is_token_program(&program) {
                    return Err(RpcError::invalid_params(format!(
                        "Invalid param: unrecognized Token program id {program}"
                    )));
                }
                (program, None)
            }
            _ => {
                return Err(RpcError::invalid_params(
                    "Invalid params: expected {\"mint\": …} or {\"programId\": …}",
                ))
            }
        };
        let mut filters = vec![
            RpcFilterType::TokenAccountState,
            RpcFilterType::Memcmp(solana_rpc_client_api::filter::Memcmp::new_raw_bytes(
                32,
                owner.to_bytes().to_vec(),
            )),
        ];
        if let Some(mint) = mint {
            filters.push(RpcFilterType::Memcmp(
                solana_rpc_client_api::filter::Memcmp::new_raw_bytes(0, mint.to_bytes().to_vec()),
            ));
        }
        let matches = self
            .scan(&program, &filters)?
            .into_iter()
            .map(|(address, account)| {
                Ok(RpcKeyedAccount {
                    pubkey: address.to_string(),
                    account: ui_account(account, &config)?,
                })
            })
            .collect::<Result<Vec<_>, RpcError>>()?;
        self.with_context(to_value(&matches)?)
    }

    pub fn get_token_account_balance(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "token account")?;
        let account = self
            .account(address)?
            .filter(|a| is_token_program(&a.owner) && a.data.len() >= TOKEN_ACCOUNT_LEN)
            .ok_or_else(|| {
                RpcError::invalid_params("Invalid param: not a Token account".to_string())
            })?;
        let mint = Pubkey::try_from(&account.data[..32]).map_err(internal)?;
        let amount = u64::from_le_bytes(account.data[64..72].try_into().map_err(internal)?);
        let decimals = self
            .account(mint)?
            .and_then(|m| m.data.get(MINT_DECIMALS_OFFSET).copied())
            .ok_or_else(|| RpcError::invalid_params("Invalid param: the mint is missing"))?;
        self.with_context(token_amount(amount, decimals))
    }

    pub fn get_token_supply(&self, params: &Params) -> RpcResult {
        let address = params.pubkey(0, "mint")?;
        let mint = self
            .account(address)?
            .filter(|a| is_token_program(&a.owner) && is_mint(&a.data))
            .ok_or_else(|| RpcError::invalid_params("Invalid param: not a Token mint"))?;
        // A mint: COption<authority> (36 bytes), then the supply, then the decimals.
        let supply = u64::from_le_bytes(mint.data[36..44].try_into().map_err(internal)?);
        self.with_context(token_amount(supply, mint.data[MINT_DECIMALS_OFFSET]))
    }

    pub fn get_minimum_balance(&self, params: &Params) -> RpcResult {
        let len: usize = params.required(0, "data length")?;
        let rent = self
            .rt
            .block_on(self.ctx.banks_client.get_rent())
            .map_err(internal)?;
        Ok(json!(rent.minimum_balance(len).max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts_read_as_decimals() {
        assert_eq!(token_amount(2_721_818, 6)["uiAmountString"], "2.721818");
        assert_eq!(token_amount(5_000_000, 6)["uiAmountString"], "5");
        assert_eq!(token_amount(10, 0)["uiAmountString"], "10");
        assert_eq!(token_amount(1, 6)["amount"], "1");
    }
}
