//! A ledger write that fails (a full disk, simulated with the process's file-size limit:
//! writes past it fail with EFBIG) stops the node: no answer ever reflects a transaction the
//! ledger does not hold, the reason reaches whoever runs the cluster, and a restart continues
//! from what was saved. Its own test binary: the limit applies to the whole process.

use energy_utility_localnet::start;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_signer::Signer;

mod common;
use common::*;

/// Limits (or, with `None`, frees) how far into a file this process may write.
fn limit_file_size(bytes: Option<u64>) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        limit.rlim_cur = bytes.unwrap_or(limit.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_ledger_write_stops_the_node_and_no_answer_runs_ahead_of_the_ledger() {
    // A write past the limit then fails with EFBIG instead of killing the process.
    // SAFETY: ignoring a signal is process-wide and this binary holds only this test.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let ledger = ledger_dir("full-disk");
    let localnet = start(config(&ledger, true)).await.unwrap();
    let rpc = client(&localnet);
    let alice = funded(&rpc, 10 * SOL).await;
    let bob = funded(&rpc, SOL).await.pubkey();
    let paid = transfer_tx(&rpc, &alice, &bob, SOL / 10).await;
    rpc.send_and_confirm_transaction(&paid).await.unwrap();
    let bob_saved = rpc.get_balance(&bob).await.unwrap();
    assert_eq!(bob_saved, SOL + SOL / 10);

    // The disk fills up.
    limit_file_size(Some(64 * 1024));
    let lost = transfer_tx(&rpc, &alice, &bob, SOL / 5).await;
    let config = RpcSendTransactionConfig {
        skip_preflight: true,
        ..RpcSendTransactionConfig::default()
    };
    let refused = rpc.send_transaction_with_config(&lost, config).await;
    let refused =
        refused.expect_err("a transaction the ledger could not keep was answered as sent");
    assert!(
        refused.to_string().contains("writing its ledger failed"),
        "{refused}"
    );
    // Nothing is answered from what the bank holds and the ledger does not.
    match rpc.get_balance(&bob).await {
        Ok(balance) => assert_eq!(
            balance, bob_saved,
            "answered a balance that counts a transaction the ledger does not hold"
        ),
        Err(e) => assert!(e.to_string().contains("stopped"), "{e}"),
    }
    match rpc.get_signature_status(&lost.signatures[0]).await {
        Ok(status) => assert_eq!(
            status, None,
            "answered the unsaved transaction as processed"
        ),
        Err(e) => assert!(e.to_string().contains("stopped"), "{e}"),
    }
    // Whoever runs the cluster is told, with the reason.
    let reason = tokio::time::timeout(std::time::Duration::from_secs(5), localnet.failed())
        .await
        .expect("the cluster did not report that it stopped");
    assert!(reason.contains("writing its ledger failed"), "{reason}");
    assert!(reason.contains("start it again"), "{reason}");

    // Space again; a restart continues from the ledger: the unsaved transfer never happened.
    limit_file_size(None);
    let _ = localnet.shutdown().await;
    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), bob_saved);
    assert_eq!(
        rpc.get_signature_status(&lost.signatures[0]).await.unwrap(),
        None
    );
    // And it works on.
    let after = transfer_tx(&rpc, &alice, &bob, SOL / 5).await;
    rpc.send_and_confirm_transaction(&after).await.unwrap();
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), bob_saved + SOL / 5);
    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}
