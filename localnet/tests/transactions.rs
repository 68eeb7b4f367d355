//! Transactions sent to the local cluster over real HTTP, through the stock nonblocking
//! `RpcClient`: confirmed and told back, refused (a bad signature, a failing preflight, an
//! oversize one), simulated without effect, and a blockhash valid for a while.

use std::time::Duration;

use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client_api::{
    config::{RpcSendTransactionConfig, UiTransactionEncoding},
    request::RpcResponseErrorData,
    response::TransactionConfirmationStatus,
};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Signature};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

mod common;
use common::*;

/// The system program's "insufficient lamports" (`SystemError::ResultWithNegativeLamports`).
const INSUFFICIENT_LAMPORTS: TransactionError =
    TransactionError::InstructionError(0, solana_sdk::instruction::InstructionError::Custom(1));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_confirm_system_transfer() {
    let cluster = Cluster::start("transfer").await;
    let rpc = &cluster.rpc;

    let sender = funded(rpc, 2 * SOL).await;
    let recipient = Pubkey::new_unique();
    let tx = transfer_tx(rpc, &sender, &recipient, SOL).await;
    let signature = rpc.send_and_confirm_transaction(&tx).await.unwrap();
    assert_eq!(signature, tx.signatures[0]);
    assert_eq!(rpc.get_balance(&recipient).await.unwrap(), SOL);
    assert_eq!(
        rpc.get_balance(&sender.pubkey()).await.unwrap(),
        2 * SOL - SOL - FEE
    );

    let statuses = rpc
        .get_signature_statuses(&[signature, Signature::default()])
        .await
        .unwrap()
        .value;
    assert_eq!(statuses.len(), 2);
    let status = statuses[0].clone().unwrap();
    assert_eq!(status.status, Ok(()));
    assert_eq!(status.err, None);
    assert_eq!(status.confirmations, None);
    assert_eq!(
        status.confirmation_status,
        Some(TransactionConfirmationStatus::Finalized)
    );
    assert_eq!(statuses[1], None);

    // base58, the default encoding of sendTransaction, works too.
    let tx = transfer_tx(rpc, &sender, &recipient, 2_000).await;
    let config = RpcSendTransactionConfig {
        encoding: Some(UiTransactionEncoding::Base58),
        ..RpcSendTransactionConfig::default()
    };
    let signature = rpc.send_transaction_with_config(&tx, config).await.unwrap();
    assert_eq!(
        rpc.get_signature_status(&signature).await.unwrap(),
        Some(Ok(()))
    );
    assert_eq!(rpc.get_balance(&recipient).await.unwrap(), SOL + 2_000);

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_is_refused() {
    let cluster = Cluster::start("badsig").await;
    let rpc = &cluster.rpc;

    let sender = funded(rpc, SOL).await;
    let recipient = Pubkey::new_unique();
    let mut tx = transfer_tx(rpc, &sender, &recipient, 1_000_000).await;
    // Signed by someone else.
    tx.signatures[0] = Keypair::new().sign_message(&tx.message_data());
    let err = rpc.send_transaction(&tx).await.unwrap_err();
    let (code, message, _) = rpc_error(&err);
    assert_eq!(code, -32003);
    assert_eq!(message, "Transaction signature verification failure");
    assert_eq!(rpc.get_balance(&sender.pubkey()).await.unwrap(), SOL);
    assert_eq!(rpc.get_balance(&recipient).await.unwrap(), 0);
    assert_eq!(
        rpc.get_signature_status(&tx.signatures[0]).await.unwrap(),
        None
    );

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_failure_returns_the_error() {
    let cluster = Cluster::start("preflight").await;
    let rpc = &cluster.rpc;

    let sender = funded(rpc, SOL).await;
    let recipient = Pubkey::new_unique();
    let tx = transfer_tx(rpc, &sender, &recipient, 5 * SOL).await;
    let err = rpc.send_and_confirm_transaction(&tx).await.unwrap_err();
    let (code, message, data) = rpc_error(&err);
    assert_eq!(code, -32002);
    assert_eq!(
        message,
        "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    );
    let RpcResponseErrorData::SendTransactionPreflightFailure(simulation) = data else {
        panic!("no simulation result in {data:?}");
    };
    assert_eq!(simulation.err, Some(INSUFFICIENT_LAMPORTS.into()));
    let logs = simulation.logs.clone().unwrap();
    assert_eq!(
        logs.first().map(String::as_str),
        Some("Program 11111111111111111111111111111111 invoke [1]")
    );
    assert!(
        logs.iter()
            .any(|l| l == "Transfer: insufficient lamports 999995000, need 5000000000"),
        "{logs:?}"
    );
    // Refused before the bank: no fee charged, nothing recorded.
    assert_eq!(rpc.get_balance(&sender.pubkey()).await.unwrap(), SOL);
    assert_eq!(
        rpc.get_signature_status(&tx.signatures[0]).await.unwrap(),
        None
    );

    // Without preflight the transaction lands, fails and pays its fee.
    let config = RpcSendTransactionConfig {
        skip_preflight: true,
        ..RpcSendTransactionConfig::default()
    };
    let signature = rpc.send_transaction_with_config(&tx, config).await.unwrap();
    assert_eq!(
        rpc.get_signature_status(&signature).await.unwrap(),
        Some(Err(INSUFFICIENT_LAMPORTS))
    );
    assert_eq!(rpc.get_balance(&sender.pubkey()).await.unwrap(), SOL - FEE);
    assert_eq!(rpc.get_balance(&recipient).await.unwrap(), 0);

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_transaction_is_refused() {
    let cluster = Cluster::start("oversize").await;
    let rpc = &cluster.rpc;

    let sender = funded(rpc, SOL).await;
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let big = Instruction::new_with_bytes(Pubkey::new_unique(), &[7; 1300], vec![]);
    let tx =
        Transaction::new_signed_with_payer(&[big], Some(&sender.pubkey()), &[&sender], blockhash);
    let err = rpc.send_transaction(&tx).await.unwrap_err();
    let (code, message, _) = rpc_error(&err);
    assert_eq!(code, -32602);
    assert!(message.contains("too large"), "{message}");
    // The cluster still serves.
    assert_eq!(rpc.get_balance(&sender.pubkey()).await.unwrap(), SOL);

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_changes_nothing() {
    let cluster = Cluster::start("simulate").await;
    let rpc = &cluster.rpc;

    let sender = funded(rpc, SOL).await;
    let recipient = Pubkey::new_unique();
    let tx = transfer_tx(rpc, &sender, &recipient, 1_000_000).await;
    let simulation = rpc.simulate_transaction(&tx).await.unwrap().value;
    assert_eq!(simulation.err, None);
    assert_eq!(
        simulation.logs.unwrap(),
        vec![
            "Program 11111111111111111111111111111111 invoke [1]".to_string(),
            "Program 11111111111111111111111111111111 success".to_string(),
        ]
    );
    assert_eq!(rpc.get_balance(&sender.pubkey()).await.unwrap(), SOL);
    assert_eq!(rpc.get_balance(&recipient).await.unwrap(), 0);

    let failing = transfer_tx(rpc, &sender, &recipient, 2 * SOL).await;
    let simulation = rpc.simulate_transaction(&failing).await.unwrap().value;
    assert_eq!(simulation.err, Some(INSUFFICIENT_LAMPORTS.into()));

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blockhash_stays_valid_for_seconds() {
    let cluster = Cluster::start("blockhash").await;
    let rpc = &cluster.rpc;

    let sender = funded(rpc, SOL).await;
    let recipient = Pubkey::new_unique();
    let tx = transfer_tx(rpc, &sender, &recipient, 1_000_000).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(rpc
        .is_blockhash_valid(&tx.message.recent_blockhash, CommitmentConfig::processed())
        .await
        .unwrap());
    rpc.send_and_confirm_transaction(&tx).await.unwrap();
    assert_eq!(rpc.get_balance(&recipient).await.unwrap(), 1_000_000);
    // New blockhashes keep coming meanwhile.
    assert_ne!(
        rpc.get_latest_blockhash().await.unwrap(),
        tx.message.recent_blockhash
    );

    cluster.finish().await;
}
