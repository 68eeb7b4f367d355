//! A client over Solana JSON-RPC (nonblocking `solana-rpc-client`): sends and confirms
//! transactions with retries and reads back the events they emitted (this file), reads
//! grids, residents, meters and epochs (`read`), registers residents and meters at the next
//! directory slot (`registry`), keeps the grid's lookup tables (`tables`) and runs the
//! settlement crank in as few transactions as fit (`crank`).

use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::SerializableTransaction;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{RpcTransactionConfig, UiTransactionEncoding};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::{versioned::VersionedTransaction, Transaction};
use solana_transaction_error::TransactionError;

use crate::error::SdkError;
use crate::events::{decode_logs, Event};
use crate::settlement;

mod crank;
mod read;
mod registry;
mod tables;

pub use crank::SettleOutcome;

/// How often a transaction whose blockhash expired is signed again and resent.
const SEND_ATTEMPTS: usize = 3;
/// How often `send` asks for a landed transaction's logs, and how long it waits between.
const READ_BACK_ATTEMPTS: usize = 3;
const READ_BACK_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);
/// `getMultipleAccounts` takes at most 100 addresses.
const ACCOUNTS_PER_REQUEST: usize = 100;

pub type Result<T> = std::result::Result<T, SdkError>;

/// Why a submitted transaction did not land.
enum Submitted {
    /// Its blockhash expired: sign it again.
    Expired(SdkError),
    Failed(SdkError),
}

/// A transaction that landed: its signature, its block's time (when the cluster keeps it)
/// and the events the program emitted, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub signature: String,
    pub block_time: Option<i64>,
    pub events: Vec<Event>,
    /// The keys that signed it (the fee payer first); empty when not read back.
    pub signers: Vec<Pubkey>,
}

/// The JSON-RPC URL for a cluster name (`localhost`/`l`, `devnet`/`d`, `mainnet-beta`/`m`) or
/// a URL given as is: what `deu -u` and `deu-gateway -u` take.
pub fn cluster_url(cluster: &str) -> String {
    match cluster {
        "localhost" | "l" => "http://127.0.0.1:8899".to_string(),
        "devnet" | "d" => "https://api.devnet.solana.com".to_string(),
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com".to_string(),
        url => url.to_string(),
    }
}

/// The websocket URL of a JSON-RPC URL, as Solana's clients derive it: `ws` for `http`, `wss`
/// for `https`, and an explicit port plus one (`:8899` → `:8900`); without a port the same
/// host (providers serve both on one).
pub fn websocket_url(rpc_url: &str) -> String {
    let (scheme, rest) = match rpc_url.split_once("://") {
        Some(("https", rest)) => ("wss", rest),
        Some((_, rest)) => ("ws", rest),
        None => ("ws", rpc_url),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            match port.parse::<u16>() {
                Ok(port) => format!("{host}:{}", port.wrapping_add(1)),
                Err(_) => authority.to_string(),
            }
        }
        _ => authority.to_string(),
    };
    format!("{scheme}://{authority}{path}")
}

/// Who signs and pays for a client's transactions: a keypair in memory, or any other signer
/// (a key in a hardware token that never leaves it).
pub enum Payer {
    Keypair(Box<Keypair>),
    Signer(std::sync::Arc<dyn Signer + Send + Sync>),
}

impl Payer {
    fn signer(&self) -> &(dyn Signer + Send + Sync) {
        match self {
            Payer::Keypair(keypair) => keypair.as_ref(),
            Payer::Signer(signer) => signer.as_ref(),
        }
    }
}

pub struct Client {
    pub rpc: RpcClient,
    payer: Payer,
}

impl Client {
    pub fn new(url: &str, payer: Keypair) -> Self {
        Self::with_payer(url, Payer::Keypair(Box::new(payer)))
    }

    /// A client whose transactions `payer` signs and pays for.
    pub fn with_payer(url: &str, payer: Payer) -> Self {
        Self {
            rpc: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()),
            payer,
        }
    }

    pub fn payer(&self) -> Pubkey {
        self.payer.signer().pubkey()
    }

    /// The payer's keypair, when it is one held in memory.
    pub fn keypair(&self) -> Option<&Keypair> {
        match &self.payer {
            Payer::Keypair(keypair) => Some(keypair.as_ref()),
            Payer::Signer(_) => None,
        }
    }

    /// Signs with the payer and `signers`, sends, waits for confirmation and reads back what
    /// the program said: the signature and the decoded events, in order. A transaction whose
    /// blockhash expired before it landed is signed again with a fresh one. The transaction
    /// has landed once this returns `Ok`: when the cluster cannot tell it back (a node that
    /// keeps no transaction history, or one still behind after a few tries) its events are
    /// empty rather than the send reported as failed.
    pub async fn send(&self, instructions: &[Instruction], signers: &[&Keypair]) -> Result<Sent> {
        let signature = self.send_without_events(instructions, signers).await?;
        for attempt in 0..READ_BACK_ATTEMPTS {
            if let Ok(sent) = self.landed(&signature).await {
                return Ok(sent);
            }
            if attempt + 1 < READ_BACK_ATTEMPTS {
                tokio::time::sleep(READ_BACK_PAUSE).await;
            }
        }
        Ok(Sent {
            signature,
            block_time: None,
            events: Vec::new(),
            signers: Vec::new(),
        })
    }

    /// `send` for one intended action, named `action_id` (a request's idempotency key, or a
    /// fresh random id): its instructions and [`crate::instructions::action_memo`], so two
    /// actions that happen to build the same instructions in one block are two transactions,
    /// each done or refused — never one answered twice.
    pub async fn send_action(
        &self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        action_id: &str,
    ) -> Result<Sent> {
        let mut all = instructions.to_vec();
        all.push(crate::instructions::action_memo(action_id));
        self.send(&all, signers).await
    }

    /// [`Client::send_action`] without reading the transaction back.
    pub async fn send_action_without_events(
        &self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        action_id: &str,
    ) -> Result<String> {
        let mut all = instructions.to_vec();
        all.push(crate::instructions::action_memo(action_id));
        self.send_without_events(&all, signers).await
    }

    /// `send` without reading the transaction back (one `getTransaction` fewer): for callers
    /// that only need it to land (a gateway's reports, the crank's batches, the demo's hour).
    pub async fn send_without_events(
        &self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<String> {
        let mut all: Vec<&(dyn Signer + Send + Sync)> = vec![self.payer.signer()];
        all.extend(
            signers
                .iter()
                .map(|s| *s as &(dyn Signer + Send + Sync))
                .filter(|s| s.pubkey() != self.payer()),
        );
        self.sign_and_submit(|blockhash| {
            let tx = Transaction::new_signed_with_payer(
                instructions,
                Some(&self.payer()),
                &all,
                blockhash,
            );
            check_size(&tx)?;
            Ok(tx)
        })
        .await
    }

    /// Signs with a fresh blockhash (`sign`), sends and waits for confirmation; a transaction
    /// whose blockhash expired before it landed is signed again, up to `SEND_ATTEMPTS` times.
    async fn sign_and_submit<T: SerializableTransaction + Sync>(
        &self,
        sign: impl Fn(Hash) -> Result<T>,
    ) -> Result<String> {
        let mut last_error = None;
        for _ in 0..SEND_ATTEMPTS {
            let blockhash = self.rpc.get_latest_blockhash().await.map_err(rpc_error)?;
            match self.submit(&sign(blockhash)?).await {
                Err(Submitted::Expired(err)) => last_error = Some(err),
                Err(Submitted::Failed(err)) => return Err(err),
                Ok(signature) => return Ok(signature),
            }
        }
        Err(last_error.unwrap_or_else(|| SdkError::Rpc("transaction expired".into())))
    }

    /// A confirmed transaction of this cluster: its time and the program's events.
    pub async fn landed(&self, signature: &str) -> Result<Sent> {
        let parsed = signature
            .parse::<Signature>()
            .map_err(|e| SdkError::Invalid(format!("'{signature}' is not a signature: {e}")))?;
        let tx = self
            .rpc
            .get_transaction_with_config(
                &parsed,
                RpcTransactionConfig {
                    encoding: Some(UiTransactionEncoding::Json),
                    commitment: Some(CommitmentConfig::confirmed()),
                    max_supported_transaction_version: Some(0),
                },
            )
            .await
            .map_err(rpc_error)?;
        // The signers: the message's first `num_required_signatures` keys.
        let signers = match &tx.transaction.transaction {
            solana_transaction_status_client_types::EncodedTransaction::Json(ui) => {
                match &ui.message {
                    solana_transaction_status_client_types::UiMessage::Raw(raw) => raw
                        .account_keys
                        .iter()
                        .take(usize::from(raw.header.num_required_signatures))
                        .filter_map(|k| k.parse().ok())
                        .collect(),
                    solana_transaction_status_client_types::UiMessage::Parsed(_) => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        let logs: Vec<String> = tx
            .transaction
            .meta
            .and_then(|meta| Option::from(meta.log_messages))
            .unwrap_or_default();
        Ok(Sent {
            signature: signature.to_string(),
            block_time: tx.block_time,
            events: decode_logs(&logs),
            signers,
        })
    }

    /// Sends a transaction someone else signed (a resident's wallet) and waits for
    /// confirmation. An expired one is refused with a sentence that says to sign it again.
    pub async fn send_signed(&self, tx: &VersionedTransaction) -> Result<String> {
        match self.submit(tx).await {
            Ok(signature) => Ok(signature),
            Err(Submitted::Failed(err)) => Err(err),
            Err(Submitted::Expired(_)) => Err(SdkError::Invalid(
                "the transaction expired before it reached the cluster (a blockhash lasts about a minute): sign it again".into(),
            )),
        }
    }

    /// Sends `tx` and waits for confirmation; the outcome of bytes already processed is theirs.
    async fn submit(
        &self,
        tx: &(impl SerializableTransaction + Sync),
    ) -> std::result::Result<String, Submitted> {
        let err = match self.rpc.send_and_confirm_transaction(tx).await {
            Ok(signature) => return Ok(signature.to_string()),
            Err(err) => err,
        };
        match err.get_transaction_error() {
            Some(TransactionError::BlockhashNotFound) => Err(Submitted::Expired(rpc_error(err))),
            // These very bytes went through before (the same instructions signed again within
            // one block, e.g. by a process that crashed after sending): their outcome is this
            // send's.
            Some(TransactionError::AlreadyProcessed) => {
                let signature = *tx.get_signature();
                match self.rpc.get_signature_status(&signature).await {
                    Ok(Some(Ok(()))) => Ok(signature.to_string()),
                    Ok(Some(Err(tx_err))) => {
                        Err(Submitted::Failed(SdkError::from_transaction_error(tx_err)))
                    }
                    Ok(None) => Err(Submitted::Failed(rpc_error(err))),
                    Err(e) => Err(Submitted::Failed(rpc_error(e))),
                }
            }
            Some(tx_err) => Err(Submitted::Failed(SdkError::from_transaction_error(tx_err))),
            None => Err(Submitted::Failed(rpc_error(err))),
        }
    }

    /// SOL from the cluster's faucet (local cluster, devnet), confirmed before returning the
    /// transaction's signature.
    pub async fn airdrop(&self, to: &Pubkey, lamports: u64) -> Result<String> {
        let signature = self
            .rpc
            .request_airdrop(to, lamports)
            .await
            .map_err(rpc_error)?;
        for _ in 0..120 {
            if self
                .rpc
                .confirm_transaction(&signature)
                .await
                .map_err(rpc_error)?
            {
                return Ok(signature.to_string());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Err(SdkError::Rpc(format!(
            "airdrop {signature} was not confirmed"
        )))
    }

    /// Moves a local cluster's clock forward (`deu localnet` only: other clusters refuse).
    /// Returns the new cluster time.
    pub async fn advance_clock(&self, seconds: i64) -> Result<i64> {
        let clock: serde_json::Value = self
            .rpc
            .send(
                solana_rpc_client_api::request::RpcRequest::Custom {
                    method: "deuAdvanceClock",
                },
                serde_json::json!([seconds]),
            )
            .await
            .map_err(|e| {
                if e.to_string().contains("Method not found") {
                    SdkError::Invalid("only a local cluster's clock can be moved".into())
                } else {
                    rpc_error(e)
                }
            })?;
        clock["unixTimestamp"]
            .as_i64()
            .ok_or_else(|| SdkError::Rpc("deuAdvanceClock returned no time".into()))
    }
}

fn check_size(tx: &Transaction) -> Result<()> {
    let size = bincode::serialize(tx)
        .map_err(|e| SdkError::Invalid(format!("transaction does not serialize: {e}")))?
        .len();
    if size > settlement::MAX_TRANSACTION_BYTES {
        return Err(SdkError::Invalid(format!(
            "transaction is {size} bytes, over Solana's {} byte limit",
            settlement::MAX_TRANSACTION_BYTES
        )));
    }
    Ok(())
}

pub(crate) fn rpc_error(err: ClientError) -> SdkError {
    SdkError::Rpc(err.to_string())
}

#[cfg(test)]
mod websocket_tests {
    #[test]
    fn websocket_urls_follow_solanas_rule() {
        use super::websocket_url as ws;
        assert_eq!(ws("http://127.0.0.1:8899"), "ws://127.0.0.1:8900");
        assert_eq!(
            ws("https://api.devnet.solana.com"),
            "wss://api.devnet.solana.com"
        );
        assert_eq!(
            ws("https://rpc.provider.example/abc123/"),
            "wss://rpc.provider.example/abc123/"
        );
        assert_eq!(ws("http://[::1]:8899"), "ws://[::1]:8900");
        assert_eq!(ws("http://localhost:3000/path"), "ws://localhost:3001/path");
    }
}
