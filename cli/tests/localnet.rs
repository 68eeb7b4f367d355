//! `deu localnet` as an operator treats it: killed with SIGKILL at random moments while a
//! stream of transfers flows, then started again on the same ledger. Every transaction it
//! answered survives; every account is as it was before or after each transaction, never
//! between; nothing is applied twice.

mod common;

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use common::{free_port, Localnet};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Signature};
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

const SOL: u64 = 1_000_000_000;
const FEE: u64 = 5_000;
const ACCOUNTS: usize = 16;
const TRANSACTIONS: usize = 1_000;

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("deu-{name}-{}-{nanos}", std::process::id()))
}

struct Sent {
    tx: Transaction,
    from: usize,
    to: usize,
    lamports: u64,
    /// `sendTransaction` answered (so the cluster said it was committed).
    answered: bool,
}

fn client(net: &Localnet) -> RpcClient {
    RpcClient::new_with_commitment(net.url.clone(), CommitmentConfig::confirmed())
}

fn balances(rpc: &RpcClient, keys: &[Keypair]) -> Vec<u64> {
    let pubkeys: Vec<Pubkey> = keys.iter().map(|k| k.pubkey()).collect();
    rpc.get_multiple_accounts(&pubkeys)
        .unwrap()
        .into_iter()
        .map(|a| a.map_or(0, |a| a.lamports))
        .collect()
}

#[test]
fn a_localnet_killed_at_random_during_a_thousand_transfers_keeps_every_account_whole() {
    let ledger = temp_dir("localnet-sigkill");
    let port = free_port();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("localnet sigkill test seed {seed}");
    let mut rng = seed | 1;
    let mut next = move |bound: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };

    let keys: Vec<Keypair> = (0..ACCOUNTS).map(|_| Keypair::new()).collect();
    let mut expected: Vec<u64> = vec![10 * SOL; ACCOUNTS];
    {
        let net = Localnet::start(&ledger, port);
        let rpc = client(&net);
        for key in &keys {
            let signature = rpc.request_airdrop(&key.pubkey(), 10 * SOL).unwrap();
            assert_eq!(rpc.get_signature_status(&signature).unwrap(), Some(Ok(())));
        }
        net.stop();
    }

    let mut sent_total = 0usize;
    let mut kills = 0usize;
    let mut in_flight_lost = 0usize;
    let config = RpcSendTransactionConfig {
        skip_preflight: true,
        ..RpcSendTransactionConfig::default()
    };
    let started = Instant::now();
    while sent_total < TRANSACTIONS {
        // The ledger's log merged into its tables every 16 transactions (not 4,096): kills
        // land before, during and after merges too.
        let mut command = Command::new(common::DEU);
        command
            .args(["localnet", "--rpc-port", &port.to_string(), "--ledger"])
            .arg(&ledger)
            .env("DEU_LOCALNET_MERGE_EVERY", "16");
        let net = Localnet::spawn(command, port, &ledger.with_extension("stderr"));
        let rpc = client(&net);
        assert_eq!(balances(&rpc, &keys), expected, "after restart {kills}");
        // The killer: SIGKILL after a random 0-1.5 s of traffic.
        let pid = net.child.id();
        let delay = Duration::from_millis(next(1_500));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .expect("kill -9");
        });
        let mut round: Vec<Sent> = Vec::new();
        let mut blockhash: Option<(Hash, Instant)> = None;
        loop {
            if sent_total + round.len() >= TRANSACTIONS {
                break;
            }
            let hash = match blockhash {
                Some((hash, at)) if at.elapsed() < Duration::from_secs(20) => hash,
                _ => match rpc.get_latest_blockhash() {
                    Ok(hash) => {
                        blockhash = Some((hash, Instant::now()));
                        hash
                    }
                    Err(_) => break,
                },
            };
            let from = next(ACCOUNTS as u64) as usize;
            let to = (from + 1 + next(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
            // A distinct amount per transfer, so no two are the same transaction.
            let lamports = 1_000 + (sent_total + round.len()) as u64;
            let tx = Transaction::new_signed_with_payer(
                &[system_instruction::transfer(
                    &keys[from].pubkey(),
                    &keys[to].pubkey(),
                    lamports,
                )],
                Some(&keys[from].pubkey()),
                &[&keys[from]],
                hash,
            );
            let answer = rpc.send_transaction_with_config(&tx, config);
            let answered = match &answer {
                Ok(signature) => {
                    assert_eq!(*signature, tx.signatures[0]);
                    true
                }
                Err(e) => {
                    assert!(
                        e.get_transaction_error().is_none(),
                        "a transfer was refused: {e}"
                    );
                    false
                }
            };
            round.push(Sent {
                tx,
                from,
                to,
                lamports,
                answered,
            });
            if !answered {
                break;
            }
        }
        killer.join().unwrap();
        let mut net = net;
        let deadline = Instant::now() + Duration::from_secs(30);
        while net.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the cluster outlived SIGKILL");
            std::thread::sleep(Duration::from_millis(20));
        }
        kills += 1;

        // Started again: what did it keep?
        let net = Localnet::start(&ledger, port);
        let rpc = client(&net);
        let signatures: Vec<Signature> = round.iter().map(|s| s.tx.signatures[0]).collect();
        let mut statuses = Vec::new();
        for chunk in signatures.chunks(256) {
            statuses.extend(rpc.get_signature_statuses(chunk).unwrap().value);
        }
        for (sent, status) in round.iter().zip(&statuses) {
            match status {
                Some(status) => {
                    assert_eq!(status.err, None, "transfer {}", sent.lamports);
                    expected[sent.from] -= sent.lamports + FEE;
                    expected[sent.to] += sent.lamports;
                }
                None => {
                    assert!(
                        !sent.answered,
                        "transfer {} was answered, then lost in the kill",
                        sent.lamports
                    );
                    in_flight_lost += 1;
                }
            }
        }
        assert_eq!(
            balances(&rpc, &keys),
            expected,
            "kill {kills} (seed {seed}): an account is between two transactions"
        );
        // The same signed bytes again: refused, whether they went through or not.
        for sent in round.iter().filter(|s| !s.answered) {
            let again = rpc
                .send_transaction_with_config(&sent.tx, config)
                .unwrap_err()
                .get_transaction_error();
            assert!(
                matches!(
                    again,
                    Some(TransactionError::AlreadyProcessed | TransactionError::BlockhashNotFound)
                ),
                "{again:?}"
            );
        }
        if let Some(first) = round.first() {
            let again = rpc
                .send_transaction_with_config(&first.tx, config)
                .unwrap_err()
                .get_transaction_error();
            assert!(
                matches!(
                    again,
                    Some(TransactionError::AlreadyProcessed | TransactionError::BlockhashNotFound)
                ),
                "{again:?}"
            );
        }
        assert_eq!(balances(&rpc, &keys), expected, "a replay moved coins");
        sent_total += round.len();
        net.stop();
    }
    // A clean stop and start keeps it all too.
    let net = Localnet::start(&ledger, port);
    assert_eq!(balances(&client(&net), &keys), expected);
    let total: u64 = expected.iter().sum();
    assert!(total < ACCOUNTS as u64 * 10 * SOL);
    net.stop();
    eprintln!(
        "{sent_total} transfers, {kills} SIGKILLs, {in_flight_lost} lost in flight (never answered), {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= 3, "only {kills} kills");
    std::fs::remove_dir_all(&ledger).unwrap();
}

#[test]
fn a_running_localnet_says_only_what_a_person_needs() {
    // Found running `deu localnet`: a warning from the banks' RPC library on every block, a
    // terminal flooded with lines that mean nothing to its user.
    let ledger = temp_dir("localnet-quiet");
    let port = free_port();
    let log = ledger.with_extension("stderr");
    let net = Localnet::start(&ledger, port);
    let rpc = client(&net);
    let key = Keypair::new();
    let signature = rpc.request_airdrop(&key.pubkey(), SOL).unwrap();
    assert_eq!(rpc.get_signature_status(&signature).unwrap(), Some(Ok(())));
    // Some ten blocks, each setting the clock.
    std::thread::sleep(Duration::from_secs(4));
    net.stop();
    let said = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.iter().all(|l| l.starts_with("deu localnet")),
        "only deu's own lines, not: {lines:#?}"
    );
    let _ = std::fs::remove_dir_all(&ledger);
    let _ = std::fs::remove_file(&log);
}
