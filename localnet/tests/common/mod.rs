//! Shared by the local cluster's tests: a fresh ledger folder, a cluster on it, a client, a
//! funded keypair and a signed transfer.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use energy_utility_localnet::{start, Localnet, LocalnetConfig};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::pubkey::Pubkey;
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::Transaction;

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
    LocalnetConfig {
        ledger: ledger.to_path_buf(),
        reset,
        bind: "127.0.0.1:0".parse().unwrap(),
    }
}

pub async fn start_on(ledger: &Path, reset: bool) -> Localnet {
    start(config(ledger, reset)).await.unwrap()
}

pub fn client(localnet: &Localnet) -> RpcClient {
    RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed())
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
