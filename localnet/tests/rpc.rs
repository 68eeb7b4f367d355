//! The local cluster over real HTTP, through the stock nonblocking `RpcClient`: airdrops,
//! accounts, the cluster's own queries, JSON-RPC batches and errors, the clock, and what a
//! restart keeps. (Transactions sent to it: `transactions.rs`.)

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use energy_utility_localnet::{Localnet, LocalnetConfig};
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_message::{v0, Message};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::{hash::Hash, pubkey::Pubkey};
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::Transaction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::*;

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One raw HTTP POST of `body` to `/`; returns the parsed JSON answer.
async fn post_raw(localnet: &Localnet, body: &str) -> Value {
    let addr = localnet.rpc_url().trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airdrop_then_balance() {
    let cluster = Cluster::start("airdrop").await;
    let rpc = &cluster.rpc;

    let keypair = funded(rpc, 2 * SOL).await;
    assert_eq!(rpc.get_balance(&keypair.pubkey()).await.unwrap(), 2 * SOL);
    // A second, equal airdrop is a different transaction.
    let again = rpc
        .request_airdrop(&keypair.pubkey(), 2 * SOL)
        .await
        .unwrap();
    assert_eq!(
        rpc.get_signature_status(&again).await.unwrap(),
        Some(Ok(()))
    );
    assert_eq!(rpc.get_balance(&keypair.pubkey()).await.unwrap(), 4 * SOL);

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_info_of_missing_and_existing_accounts() {
    let cluster = Cluster::start("accounts").await;
    let rpc = &cluster.rpc;

    let existing = funded(rpc, 3 * SOL).await.pubkey();
    let missing = Pubkey::new_unique();

    let none = rpc
        .get_account_with_commitment(&missing, CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_eq!(none.value, None);
    assert!(rpc.get_account(&missing).await.is_err());

    let account = rpc.get_account(&existing).await.unwrap();
    assert_eq!(account.lamports, 3 * SOL);
    assert_eq!(account.owner, solana_sdk_ids::system_program::id());
    assert!(account.data.is_empty());
    assert!(!account.executable);

    let accounts = rpc
        .get_multiple_accounts(&[missing, existing, missing])
        .await
        .unwrap();
    assert_eq!(accounts.len(), 3);
    assert_eq!(accounts[0], None);
    assert_eq!(accounts[1].as_ref(), Some(&account));
    assert_eq!(accounts[2], None);

    // The raw shape: base64 data even when asked for base64+zstd, and `space`.
    let raw = post_raw(
        &cluster.localnet,
        &json!({
            "jsonrpc": "2.0", "id": 7, "method": "getAccountInfo",
            "params": [existing.to_string(), {"encoding": "base64+zstd"}],
        })
        .to_string(),
    )
    .await;
    assert_eq!(raw["id"], json!(7));
    assert_eq!(
        raw["result"]["value"],
        json!({
            "lamports": 3 * SOL,
            "data": ["", "base64"],
            "owner": "11111111111111111111111111111111",
            "executable": false,
            "rentEpoch": account.rent_epoch,
            "space": 0,
        })
    );

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_queries() {
    let cluster = Cluster::start("queries").await;
    let rpc = &cluster.rpc;

    rpc.get_health().await.unwrap();
    assert_eq!(rpc.get_version().await.unwrap().solana_core, "3.1.12");
    assert_eq!(
        rpc.get_minimum_balance_for_rent_exemption(0).await.unwrap(),
        890_880
    );
    assert_eq!(
        rpc.get_minimum_balance_for_rent_exemption(165)
            .await
            .unwrap(),
        2_039_280
    );
    let slot = rpc.get_slot().await.unwrap();
    let epoch = rpc.get_epoch_info().await.unwrap();
    assert_eq!(epoch.absolute_slot, slot);
    assert_eq!(epoch.epoch, 0);
    assert_eq!(epoch.slot_index, slot);
    assert_eq!(epoch.block_height, rpc.get_block_height().await.unwrap());
    assert_eq!(
        rpc.get_genesis_hash().await.unwrap(),
        rpc.get_genesis_hash().await.unwrap()
    );

    let (blockhash, last_valid) = rpc
        .get_latest_blockhash_with_commitment(CommitmentConfig::finalized())
        .await
        .unwrap();
    assert!(last_valid > rpc.get_block_height().await.unwrap());
    assert!(rpc
        .is_blockhash_valid(&blockhash, CommitmentConfig::processed())
        .await
        .unwrap());
    assert!(!rpc
        .is_blockhash_valid(&Hash::new_unique(), CommitmentConfig::processed())
        .await
        .unwrap());

    let payer = Pubkey::new_unique();
    let ix = system_instruction::transfer(&payer, &Pubkey::new_unique(), 1);
    let legacy = Message::new_with_blockhash(std::slice::from_ref(&ix), Some(&payer), &blockhash);
    assert_eq!(rpc.get_fee_for_message(&legacy).await.unwrap(), FEE);
    let v0 = v0::Message::try_compile(&payer, &[ix], &[], blockhash).unwrap();
    assert_eq!(rpc.get_fee_for_message(&v0).await.unwrap(), FEE);

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_batches_and_errors() {
    let cluster = Cluster::start("batch").await;

    let answer = post_raw(
        &cluster.localnet,
        r#"[{"jsonrpc":"2.0","id":1,"method":"getHealth"},
            {"jsonrpc":"2.0","id":"two","method":"noSuchMethod","params":[]},
            {"jsonrpc":"2.0","id":3,"method":"getBalance","params":["not a key"]},
            {"jsonrpc":"2.0","id":4,"method":"getVersion","params":null}]"#,
    )
    .await;
    let answers = answer.as_array().unwrap();
    assert_eq!(answers.len(), 4);
    assert_eq!(
        answers[0],
        json!({"jsonrpc": "2.0", "result": "ok", "id": 1})
    );
    assert_eq!(
        answers[1],
        json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "two"})
    );
    assert_eq!(answers[2]["error"]["code"], json!(-32602));
    assert_eq!(answers[2]["id"], json!(3));
    assert_eq!(
        answers[3]["result"],
        json!({"solana-core": "3.1.12", "feature-set": 3112})
    );

    let answer = post_raw(&cluster.localnet, "{not json").await;
    assert_eq!(answer["error"]["code"], json!(-32700));

    let rpc = &cluster.rpc;
    let err = custom(rpc, "getStakeMinimumDelegation", json!([]))
        .await
        .unwrap_err();
    assert_eq!(rpc_error(&err).0, -32601, "an unknown method");
    let err = custom(rpc, "getProgramAccounts", json!([]))
        .await
        .unwrap_err();
    assert_eq!(
        rpc_error(&err).0,
        -32602,
        "a known method without its parameters"
    );

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advance_clock_moves_the_clock_sysvar() {
    let cluster = Cluster::start("clock").await;
    let rpc = &cluster.rpc;

    let clock = custom(rpc, "deuGetClock", Value::Null).await.unwrap();
    assert_eq!(clock["offsetSeconds"], json!(0));
    let before = clock_sysvar_timestamp(rpc).await;
    assert_eq!(clock["unixTimestamp"], json!(before));

    let wall = now_unix();
    let advanced = custom(rpc, "deuAdvanceClock", json!([3 * 3600]))
        .await
        .unwrap();
    assert_eq!(advanced["offsetSeconds"], json!(10_800));
    let t = advanced["unixTimestamp"].as_i64().unwrap();
    assert!(t >= before + 10_800 && t >= wall + 10_800 && t <= now_unix() + 10_800);
    assert_eq!(clock_sysvar_timestamp(rpc).await, t);
    let clock = custom(rpc, "deuGetClock", json!([])).await.unwrap();
    assert_eq!(clock["offsetSeconds"], json!(10_800));

    for refused in [
        json!([-3600]),
        json!([0]),
        json!([1.5]),
        json!(["3600"]),
        json!([]),
    ] {
        let err = custom(rpc, "deuAdvanceClock", refused.clone())
            .await
            .unwrap_err();
        assert_eq!(rpc_error(&err).0, -32602, "{refused}");
    }
    let clock = custom(rpc, "deuGetClock", Value::Null).await.unwrap();
    assert_eq!(clock["offsetSeconds"], json!(10_800));

    // Transactions keep the clock where it is (or later), never earlier.
    let sender = funded(rpc, SOL).await;
    let tx = transfer_tx(rpc, &sender, &Pubkey::new_unique(), 1_000_000).await;
    rpc.send_and_confirm_transaction(&tx).await.unwrap();
    assert!(clock_sysvar_timestamp(rpc).await >= t);

    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_state_and_reset_forgets_it() {
    let ledger = ledger_dir("restart");

    // First run: balances, a program-owned account with data, and a clock offset.
    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    let alice = funded(&rpc, 3 * SOL).await;
    let bob = Keypair::new();
    let tx = transfer_tx(&rpc, &alice, &bob.pubkey(), SOL).await;
    rpc.send_and_confirm_transaction(&tx).await.unwrap();
    let data_account = Keypair::new();
    let owner = Pubkey::new_unique();
    let rent = rpc
        .get_minimum_balance_for_rent_exemption(100)
        .await
        .unwrap();
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let create = Transaction::new_signed_with_payer(
        &[system_instruction::create_account(
            &alice.pubkey(),
            &data_account.pubkey(),
            rent,
            100,
            &owner,
        )],
        Some(&alice.pubkey()),
        &[&alice, &data_account],
        blockhash,
    );
    rpc.send_and_confirm_transaction(&create).await.unwrap();
    let advanced = custom(&rpc, "deuAdvanceClock", json!([7200]))
        .await
        .unwrap();
    let t = advanced["unixTimestamp"].as_i64().unwrap();
    let alice_balance = 3 * SOL - SOL - FEE - rent - 2 * FEE;
    assert_eq!(
        rpc.get_balance(&alice.pubkey()).await.unwrap(),
        alice_balance
    );
    let saved = rpc.get_account(&data_account.pubkey()).await.unwrap();
    localnet.shutdown().await.unwrap();
    assert!(ledger.join("ledger.redb").exists());

    // Second run on the same ledger: all of it is back, and usable.
    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    assert_eq!(
        rpc.get_balance(&alice.pubkey()).await.unwrap(),
        alice_balance
    );
    assert_eq!(rpc.get_balance(&bob.pubkey()).await.unwrap(), SOL);
    let restored = rpc.get_account(&data_account.pubkey()).await.unwrap();
    assert_eq!(restored, saved);
    assert_eq!(restored.owner, owner);
    assert_eq!(restored.data, vec![0; 100]);
    assert_eq!(restored.lamports, rent);
    let clock = custom(&rpc, "deuGetClock", Value::Null).await.unwrap();
    assert_eq!(clock["offsetSeconds"], json!(7200));
    assert!(clock["unixTimestamp"].as_i64().unwrap() >= t);
    assert!(clock_sysvar_timestamp(&rpc).await >= t);
    let back = transfer_tx(&rpc, &bob, &alice.pubkey(), SOL / 2).await;
    rpc.send_and_confirm_transaction(&back).await.unwrap();
    assert_eq!(rpc.get_balance(&bob.pubkey()).await.unwrap(), SOL / 2 - FEE);
    localnet.shutdown().await.unwrap();

    // Third run, reset: nothing is left.
    let localnet = start_on(&ledger, true).await;
    let rpc = client(&localnet);
    assert_eq!(rpc.get_balance(&alice.pubkey()).await.unwrap(), 0);
    assert_eq!(rpc.get_balance(&bob.pubkey()).await.unwrap(), 0);
    let gone = rpc
        .get_account_with_commitment(&data_account.pubkey(), CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_eq!(gone.value, None);
    let clock = custom(&rpc, "deuGetClock", Value::Null).await.unwrap();
    assert_eq!(clock["offsetSeconds"], json!(0));
    localnet.shutdown().await.unwrap();

    std::fs::remove_dir_all(&ledger).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_until_stopped_then_saves() {
    let ledger = ledger_dir("run");
    // `run` does not report its address, so pick a free port first.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = LocalnetConfig::new(
        ledger.clone(),
        false,
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(energy_utility_localnet::run(config, async {
        let _ = stopped.await;
    }));
    let rpc = RpcClient::new(format!("http://127.0.0.1:{port}"));
    let mut healthy = false;
    for _ in 0..600 {
        if rpc.get_health().await.is_ok() {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "the cluster never answered");
    let advanced = custom(&rpc, "deuAdvanceClock", json!([60])).await.unwrap();
    assert_eq!(advanced["offsetSeconds"], json!(60));

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(rpc.get_health().await.is_err(), "still serving after stop");
    // The clock's offset was saved: a new run on the ledger keeps it.
    let localnet = start_on(&ledger, false).await;
    let clock = custom(&client(&localnet), "deuGetClock", json!([]))
        .await
        .unwrap();
    assert_eq!(clock["offsetSeconds"], json!(60));
    localnet.shutdown().await.unwrap();

    std::fs::remove_dir_all(&ledger).unwrap();
}

#[tokio::test]
async fn program_accounts_are_listed_with_data_size_and_memcmp_filters_across_a_restart() {
    use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
    use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};

    let ledger = ledger_dir("program-accounts");
    let localnet = start_on(&ledger, true).await;
    let rpc = client(&localnet);
    let payer = funded(&rpc, 10 * SOL).await;
    // Three accounts owned by a made-up program: two of 16 bytes, one of 32.
    let program = Pubkey::new_unique();
    let mut created = Vec::new();
    for size in [16u64, 16, 32] {
        let account = Keypair::new();
        let rent = rpc
            .get_minimum_balance_for_rent_exemption(size as usize)
            .await
            .unwrap();
        let ix = system_instruction::create_account(
            &payer.pubkey(),
            &account.pubkey(),
            rent,
            size,
            &program,
        );
        let blockhash = rpc.get_latest_blockhash().await.unwrap();
        let tx = Transaction::new_signed_with_payer(
            &[ix],
            Some(&payer.pubkey()),
            &[&payer, &account],
            blockhash,
        );
        rpc.send_and_confirm_transaction(&tx).await.unwrap();
        created.push(account.pubkey());
    }
    let query = |filters: Vec<RpcFilterType>| RpcProgramAccountsConfig {
        filters: Some(filters),
        account_config: RpcAccountInfoConfig {
            encoding: Some(solana_rpc_client_api::response::UiAccountEncoding::Base64),
            ..RpcAccountInfoConfig::default()
        },
        ..RpcProgramAccountsConfig::default()
    };
    async fn keys(
        rpc: &RpcClient,
        program: &Pubkey,
        config: RpcProgramAccountsConfig,
    ) -> Vec<Pubkey> {
        #[allow(deprecated)]
        let mut found: Vec<Pubkey> = rpc
            .get_program_accounts_with_config(program, config)
            .await
            .unwrap()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        found.sort();
        found
    }
    let mut all = created.clone();
    all.sort();
    assert_eq!(keys(&rpc, &program, query(vec![])).await, all);
    let sixteen = keys(&rpc, &program, query(vec![RpcFilterType::DataSize(16)])).await;
    assert_eq!(sixteen.len(), 2);
    assert!(!sixteen.contains(&created[2]));
    let zeros = Memcmp::new_raw_bytes(8, vec![0; 8]);
    assert_eq!(
        keys(&rpc, &program, query(vec![RpcFilterType::Memcmp(zeros)])).await,
        all
    );
    let one = Memcmp::new_base58_encoded(0, &[1]);
    assert!(
        keys(&rpc, &program, query(vec![RpcFilterType::Memcmp(one)]))
            .await
            .is_empty()
    );
    // Another program's accounts are not listed; a malformed filter is refused.
    assert!(keys(&rpc, &Pubkey::new_unique(), query(vec![]))
        .await
        .is_empty());
    let huge = Memcmp::new_raw_bytes(0, vec![0; 200]);
    #[allow(deprecated)]
    let refused = rpc
        .get_program_accounts_with_config(&program, query(vec![RpcFilterType::Memcmp(huge)]))
        .await;
    assert!(refused.is_err());

    // After a restart the cluster still knows them.
    localnet.shutdown().await.unwrap();
    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    assert_eq!(keys(&rpc, &program, query(vec![])).await, all);
    localnet.shutdown().await.unwrap();
}
