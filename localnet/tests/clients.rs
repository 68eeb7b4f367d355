//! The stock TypeScript clients — `@solana/web3.js` 1.x and `@solana/kit` — run unchanged
//! against the local cluster (`localnet/tests/clients/*.test.mjs`, under `node --test`).
//! This test starts the cluster, puts one program transaction on it (a grid's creation, whose
//! logs, history and account the clients then read back) and runs them.
//!
//! The node packages come from `localnet/tests/clients/setup.sh` (`scripts/test` runs it).

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    time::Duration,
};

use anchor_lang::Discriminator;
use energy_utility::{instructions::InitializeGridArgs, state::Grid};
use energy_utility_sdk::{instructions, pda};
use solana_sdk::pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::Transaction;

mod common;
use common::*;

async fn web3js_and_kit_work_against_the_local_cluster_unchanged() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    assert!(
        here.join("node_modules/@solana/kit").is_dir()
            && here.join("node_modules/@solana/web3.js").is_dir(),
        "the client libraries are not installed: run `bash {}/setup.sh` (scripts/test does)",
        here.display()
    );
    let ledger = ledger_dir("clients");
    let localnet = start_on(&ledger, true).await;
    let rpc = client(&localnet);

    // One program transaction for the clients to find.
    let admin = funded(&rpc, 10 * SOL).await;
    let name = "clients";
    let grid = pda::grid(name);
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[instructions::initialize_grid(
            &admin.pubkey(),
            InitializeGridArgs::with_defaults(name, Pubkey::new_unique()),
        )],
        Some(&admin.pubkey()),
        &[&admin],
        blockhash,
    );
    let signature = rpc.send_and_confirm_transaction(&tx).await.unwrap();
    let grid_size = rpc.get_account(&grid).await.unwrap().data.len();

    let mut node = Command::new("node");
    node.current_dir(&here)
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-timeout=120000",
            "--test-reporter=tap",
            "web3js.test.mjs",
            "kit.test.mjs",
        ])
        .env("DEU_RPC_URL", localnet.rpc_url())
        .env("DEU_WS_URL", localnet.ws_url())
        .env("DEU_PROGRAM_ID", energy_utility::ID.to_string())
        .env("DEU_PROGRAM_SIGNATURE", signature.to_string())
        .env("DEU_GRID", grid.to_string())
        .env(
            "DEU_GRID_DISCRIMINATOR",
            bs58::encode(Grid::DISCRIMINATOR).into_string(),
        )
        .env("DEU_GRID_SIZE", grid_size.to_string())
        .stdout(Stdio::piped());
    // The report is shown as it comes (a hang shows where it is) and kept for the checks.
    let run = tokio::task::spawn_blocking(move || {
        let mut child = node
            .spawn()
            .expect("run node (Node.js 20.18 or newer is needed)");
        let mut report = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            eprintln!("{line}");
            report.push_str(&line);
            report.push('\n');
        }
        (child.wait().unwrap(), report)
    });
    let (status, report) = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the client tests took over 10 minutes")
        .unwrap();
    assert!(status.success(), "the client tests failed ({status})");
    // Both files ran, every test passed.
    assert!(report.contains("# fail 0"), "{report}");
    let passed: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(passed >= 13, "only {passed} client tests passed");

    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}

/// Without libtest's harness, so that the program's logs reach the cluster (see `run_tests`).
fn main() {
    run_tests(vec![(
        "web3js_and_kit_work_against_the_local_cluster_unchanged",
        Box::pin(web3js_and_kit_work_against_the_local_cluster_unchanged()),
    )]);
}
