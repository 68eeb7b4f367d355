//! What survives a restart of the local cluster, and what does not come back: signed
//! transactions are applied once, the slot and block height only move forward, and a damaged
//! ledger is one clear error.

use std::time::Duration;

use energy_utility_localnet::start;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client_api::{client_error::Error as ClientError, config::RpcSendTransactionConfig};
use solana_sdk::pubkey::Pubkey;
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction_error::TransactionError;

mod common;
use common::*;

/// The transaction error a refused `sendTransaction` carries.
fn refusal(err: &ClientError) -> TransactionError {
    err.get_transaction_error()
        .unwrap_or_else(|| panic!("expected a refused transaction, got {err:?}"))
}

fn skip_preflight() -> RpcSendTransactionConfig {
    RpcSendTransactionConfig {
        skip_preflight: true,
        ..RpcSendTransactionConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_signed_before_a_restart_is_applied_once() {
    let ledger = ledger_dir("replay");
    let localnet = start(config(&ledger, true)).await.unwrap();
    let rpc = client(&localnet);
    let alice = funded(&rpc, 2 * SOL).await;
    let bob = Pubkey::new_unique();
    let sent = transfer_tx(&rpc, &alice, &bob, SOL / 10).await;
    let signature = rpc.send_and_confirm_transaction(&sent).await.unwrap();
    // Signed now, never sent before the restart.
    let unsent = transfer_tx(&rpc, &alice, &bob, SOL / 5).await;
    // Sending the same bytes again while the cluster runs is refused too.
    let again = rpc.send_transaction(&sent).await.unwrap_err();
    assert_eq!(refusal(&again), TransactionError::AlreadyProcessed);
    localnet.shutdown().await.unwrap();

    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    let alice_before = rpc.get_balance(&alice.pubkey()).await.unwrap();
    assert_eq!(alice_before, 2 * SOL - SOL / 10 - FEE);
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), SOL / 10);
    // The status of what was processed is remembered...
    assert_eq!(
        rpc.get_signature_status(&signature).await.unwrap(),
        Some(Ok(()))
    );
    // ...and the same signed bytes are refused, with and without preflight.
    let replay = rpc.send_transaction(&sent).await.unwrap_err();
    assert_eq!(refusal(&replay), TransactionError::AlreadyProcessed);
    let replay = rpc
        .send_transaction_with_config(&sent, skip_preflight())
        .await
        .unwrap_err();
    assert_eq!(refusal(&replay), TransactionError::AlreadyProcessed);
    // The one signed before the restart but never sent names a blockhash this cluster no
    // longer knows: expired.
    assert!(!rpc
        .is_blockhash_valid(
            &unsent.message.recent_blockhash,
            CommitmentConfig::confirmed()
        )
        .await
        .unwrap());
    let expired = rpc
        .send_transaction_with_config(&unsent, skip_preflight())
        .await
        .unwrap_err();
    assert_eq!(refusal(&expired), TransactionError::BlockhashNotFound);
    assert_eq!(
        rpc.get_signature_status(&unsent.signatures[0])
            .await
            .unwrap(),
        None
    );
    // Nothing moved.
    assert_eq!(
        rpc.get_balance(&alice.pubkey()).await.unwrap(),
        alice_before
    );
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), SOL / 10);
    // A fresh one goes through.
    let fresh = transfer_tx(&rpc, &alice, &bob, SOL / 10).await;
    rpc.send_and_confirm_transaction(&fresh).await.unwrap();
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), SOL / 5);
    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_and_block_height_advance_with_wall_time_and_continue_after_a_restart() {
    let ledger = ledger_dir("slots");
    let localnet = start(config(&ledger, true)).await.unwrap();
    let rpc = client(&localnet);
    let slot = rpc.get_slot().await.unwrap();
    let height = rpc.get_block_height().await.unwrap();
    let (blockhash, last_valid) = rpc
        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_eq!(last_valid, height + 150);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let later_slot = rpc.get_slot().await.unwrap();
    let later_height = rpc.get_block_height().await.unwrap();
    // ~400 ms a block: at least two in 1.3 s, and not wildly more.
    assert!(
        (slot + 2..=slot + 6).contains(&later_slot),
        "{slot} -> {later_slot}"
    );
    assert!(
        (height + 2..=height + 6).contains(&later_height),
        "{height} -> {later_height}"
    );
    let epoch = rpc.get_epoch_info().await.unwrap();
    assert!(epoch.absolute_slot >= later_slot);
    assert!(epoch.block_height >= later_height);
    // A new block, a new blockhash; the old one stays valid.
    let (newer, _) = rpc
        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_ne!(newer, blockhash);
    assert!(rpc
        .is_blockhash_valid(&blockhash, CommitmentConfig::confirmed())
        .await
        .unwrap());
    localnet.shutdown().await.unwrap();

    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    let restarted_slot = rpc.get_slot().await.unwrap();
    let restarted_height = rpc.get_block_height().await.unwrap();
    assert!(
        restarted_slot > later_slot,
        "{later_slot} -> {restarted_slot}"
    );
    assert!(
        restarted_height > later_height,
        "{later_height} -> {restarted_height}"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(rpc.get_slot().await.unwrap() > restarted_slot);
    assert!(rpc.get_block_height().await.unwrap() > restarted_height);
    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_ledger_is_one_clear_error_and_reset_recovers() {
    let ledger = ledger_dir("damaged");
    let localnet = start(config(&ledger, true)).await.unwrap();
    let rpc = client(&localnet);
    let alice = funded(&rpc, SOL).await;
    // Two clusters on one ledger: the second is told, not corrupted.
    let second = start(config(&ledger, false))
        .await
        .err()
        .expect("a second cluster started");
    let message = format!("{second:#}");
    assert!(message.contains("in use by another"), "{message}");
    assert!(message.contains("ledger.redb"), "{message}");
    localnet.shutdown().await.unwrap();

    // Scribble over the middle of the file, as a failing disk would.
    let file = ledger.join("ledger.redb");
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 8192, "{} bytes", bytes.len());
    for byte in &mut bytes[..4096] {
        *byte = 0xA5;
    }
    std::fs::write(&file, &bytes).unwrap();
    let error = start(config(&ledger, false))
        .await
        .err()
        .expect("started on a damaged ledger");
    let message = format!("{error:#}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("damaged"), "{message}");
    assert!(message.contains("deu localnet --reset"), "{message}");
    // The damaged file is left for the operator: not silently replaced.
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // A file that is not a ledger at all: the same.
    std::fs::write(&file, b"not a ledger").unwrap();
    let error = start(config(&ledger, false))
        .await
        .err()
        .expect("started on a text file");
    let message = format!("{error:#}");
    assert!(
        message.contains("damaged") && message.contains("--reset"),
        "{message}"
    );

    // --reset starts afresh.
    let localnet = start(config(&ledger, true)).await.unwrap();
    let rpc = client(&localnet);
    assert_eq!(rpc.get_balance(&alice.pubkey()).await.unwrap(), 0);
    funded(&rpc, SOL).await;
    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_sending_the_same_instructions_twice_in_a_block_gets_the_first_outcome() {
    let ledger = ledger_dir("same-bytes");
    let localnet = start(config(&ledger, true)).await.unwrap();
    let rpc = client(&localnet);
    let alice = funded(&rpc, 2 * SOL).await;
    let bob = Pubkey::new_unique();
    let sdk = energy_utility_sdk::Client::new(&localnet.rpc_url(), alice.insecure_clone());
    let transfer = system_instruction::transfer(&alice.pubkey(), &bob, SOL / 10);
    // A process that crashed after sending and sends again at once signs the very same bytes
    // (same blockhash): the cluster refuses them as already processed, and the SDK answers
    // with their outcome instead of an error. Tried until both sends fall in one block.
    let mut sent = 0;
    for _ in 0..10 {
        let first = sdk
            .send(std::slice::from_ref(&transfer), &[])
            .await
            .unwrap();
        let second = sdk
            .send(std::slice::from_ref(&transfer), &[])
            .await
            .unwrap();
        sent += if first == second { 1 } else { 2 };
        assert_eq!(rpc.get_balance(&bob).await.unwrap(), sent * (SOL / 10));
        if first == second {
            localnet.shutdown().await.unwrap();
            std::fs::remove_dir_all(&ledger).unwrap();
            return;
        }
    }
    panic!("ten tries, never two sends in one block");
}
