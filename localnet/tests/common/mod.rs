//! Shared by the local cluster's tests: a fresh ledger folder, a cluster on it, a client, a
//! funded keypair, a signed transfer, the JSON-RPC calls and errors the stock client does not
//! name, and the runner of the tests that keep the process's stdout.
#![allow(dead_code)]

use std::{
    future::Future,
    path::{Path, PathBuf},
    pin::Pin,
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use energy_utility_localnet::{start, Localnet, LocalnetConfig};
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::{
    client_error::{Error as ClientError, ErrorKind},
    request::{RpcError, RpcRequest, RpcResponseErrorData},
};
use solana_sdk::pubkey::Pubkey;
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::Transaction;

pub const SOL: u64 = 1_000_000_000;
/// Program-test's fee per signature.
pub const FEE: u64 = 5_000;

/// A ledger folder no other test (or run) uses.
pub fn ledger_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "deu-localnet-test-{name}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The cluster on `ledger`, on a free port of the loopback.
pub fn config(ledger: &Path, reset: bool) -> LocalnetConfig {
    LocalnetConfig::new(ledger, reset, "127.0.0.1:0".parse().unwrap())
}

pub async fn start_on(ledger: &Path, reset: bool) -> Localnet {
    start(config(ledger, reset)).await.unwrap()
}

pub fn client(localnet: &Localnet) -> RpcClient {
    RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed())
}

/// A cluster on a ledger of its own, with a client; `finish` stops it and deletes the ledger.
pub struct Cluster {
    pub ledger: PathBuf,
    pub localnet: Localnet,
    pub rpc: RpcClient,
}

impl Cluster {
    pub async fn start(name: &str) -> Self {
        let ledger = ledger_dir(name);
        let localnet = start_on(&ledger, false).await;
        let rpc = client(&localnet);
        Self {
            ledger,
            localnet,
            rpc,
        }
    }

    pub async fn finish(self) {
        self.localnet.shutdown().await.unwrap();
        std::fs::remove_dir_all(&self.ledger).unwrap();
    }
}

/// A new keypair holding `lamports`, from the faucet.
pub async fn funded(rpc: &RpcClient, lamports: u64) -> Keypair {
    let keypair = Keypair::new();
    let signature = rpc
        .request_airdrop(&keypair.pubkey(), lamports)
        .await
        .unwrap();
    assert_eq!(
        rpc.get_signature_status(&signature).await.unwrap(),
        Some(Ok(()))
    );
    keypair
}

/// A transfer of `lamports`, signed under the latest blockhash.
pub async fn transfer_tx(
    rpc: &RpcClient,
    from: &Keypair,
    to: &Pubkey,
    lamports: u64,
) -> Transaction {
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    Transaction::new_signed_with_payer(
        &[system_instruction::transfer(&from.pubkey(), to, lamports)],
        Some(&from.pubkey()),
        &[from],
        blockhash,
    )
}

/// The JSON-RPC error code, message and data of a failed call.
pub fn rpc_error(err: &ClientError) -> (i64, String, &RpcResponseErrorData) {
    match err.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError {
            code,
            message,
            data,
        }) => (*code, message.clone(), data),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// A call of a method the stock client has no function for (`deuAdvanceClock`, ...).
pub async fn custom(
    rpc: &RpcClient,
    method: &'static str,
    params: Value,
) -> Result<Value, ClientError> {
    rpc.send::<Value>(RpcRequest::Custom { method }, params)
        .await
}

/// The Clock sysvar's `unix_timestamp`, read as an account.
pub async fn clock_sysvar_timestamp(rpc: &RpcClient) -> i64 {
    let account = rpc
        .get_account(&solana_sdk::sysvar::clock::id())
        .await
        .unwrap();
    i64::from_le_bytes(account.data[32..40].try_into().unwrap())
}

/// A test of a file run without libtest: its name and its body.
pub type Test = (&'static str, Pin<Box<dyn Future<Output = ()>>>);

/// The `main` of a test file without libtest's harness (`harness = false` in Cargo.toml):
/// libtest captures what the threads a test starts print, and a natively run program's `msg!`
/// lines are printed; here the process's stdout stays the program's, so the cluster can put
/// them in the transaction's logs, as `deu localnet` does. Arguments filter the tests by name,
/// as libtest's do.
pub fn run_tests(tests: Vec<Test>) {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        eprintln!("test {name} ...");
        runtime.block_on(test);
        eprintln!("test {name} ... ok");
    }
}
