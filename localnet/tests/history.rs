//! What a wallet or an explorer reads back from the local cluster with the stock `RpcClient`:
//! a program transaction with the program's own logs (captured although the program runs
//! natively), history by address, token accounts and balances, and v0 transactions that load
//! addresses from a lookup table.

use std::time::Duration;

use energy_utility::instructions::InitializeGridArgs;
use energy_utility_sdk::{events, instructions, lookup, pda};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::{
    config::{RpcTransactionConfig, UiTransactionEncoding},
    request::TokenAccountsFilter,
};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Signature};
use solana_signer::Signer;
use solana_system_interface::instruction as system_instruction;
use solana_transaction::{
    versioned::{TransactionVersion, VersionedTransaction},
    Transaction,
};
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiLoadedAddresses,
};

mod common;
use common::*;

async fn send(rpc: &RpcClient, instructions: &[Instruction], signers: &[&Keypair]) -> Signature {
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        instructions,
        Some(&signers[0].pubkey()),
        signers,
        blockhash,
    );
    rpc.send_and_confirm_transaction(&tx).await.unwrap()
}

async fn fetch(
    rpc: &RpcClient,
    signature: &Signature,
    encoding: UiTransactionEncoding,
) -> EncodedConfirmedTransactionWithStatusMeta {
    rpc.get_transaction_with_config(
        signature,
        RpcTransactionConfig {
            encoding: Some(encoding),
            commitment: Some(CommitmentConfig::confirmed()),
            max_supported_transaction_version: Some(0),
        },
    )
    .await
    .unwrap()
}

fn logs(tx: &EncodedConfirmedTransactionWithStatusMeta) -> Vec<String> {
    let meta = tx
        .transaction
        .meta
        .clone()
        .expect("a transaction without meta");
    Option::<Vec<String>>::from(meta.log_messages).expect("no log messages")
}

async fn a_program_transaction_is_told_back_with_its_logs_history_and_token_accounts() {
    let ledger = ledger_dir("program");
    let localnet = start_on(&ledger, true).await;
    let rpc = client(&localnet);
    let admin = funded(&rpc, 10 * SOL).await;
    let name = "history";
    let grid = pda::grid(name);
    let before = rpc.get_balance(&admin.pubkey()).await.unwrap();
    let signature = send(
        &rpc,
        &[instructions::initialize_grid(
            &admin.pubkey(),
            InitializeGridArgs::with_defaults(name, Pubkey::new_unique()),
        )],
        &[&admin],
    )
    .await;

    let tx = fetch(&rpc, &signature, UiTransactionEncoding::Json).await;
    let lines = logs(&tx);
    let program = energy_utility::ID.to_string();
    let token = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
    // The whole story, in order, each line once: the program's invocation, its own log, the
    // CPIs to the real SPL Token program, the event, success.
    assert_eq!(
        lines.first().unwrap(),
        &format!("Program {program} invoke [1]")
    );
    assert_eq!(lines.last().unwrap(), &format!("Program {program} success"));
    let count = |text: &str| lines.iter().filter(|l| l.as_str() == text).count();
    assert_eq!(
        count("Program log: Instruction: InitializeGrid"),
        1,
        "{lines:#?}"
    );
    assert_eq!(
        count(&format!("Program {program} invoke [1]")),
        1,
        "{lines:#?}"
    );
    // Each CPI once: as many invokes as successes, at depth 2.
    let system = "11111111111111111111111111111111";
    for (callee, at_least) in [(token, 4), (system, 5)] {
        let cpis = count(&format!("Program {callee} invoke [2]"));
        assert!(cpis >= at_least, "{callee}: {lines:#?}");
        assert_eq!(
            count(&format!("Program {callee} success")),
            cpis,
            "{lines:#?}"
        );
        assert_eq!(
            count(&format!("Program {callee} invoke [1]")),
            0,
            "{lines:#?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("Program data: ")),
        "{lines:#?}"
    );
    let decoded = events::decode_logs(&lines);
    assert!(
        matches!(decoded.as_slice(), [events::Event::GridInitialized(e)] if e.grid == grid),
        "{decoded:?}"
    );
    // Meta: fee, balances, slot and time.
    let meta = tx.transaction.meta.clone().unwrap();
    assert_eq!(meta.err, None);
    assert_eq!(meta.fee, FEE);
    let after = rpc.get_balance(&admin.pubkey()).await.unwrap();
    assert_eq!(meta.pre_balances[0], before);
    assert_eq!(meta.post_balances[0], after);
    assert!(Option::<u64>::from(meta.compute_units_consumed).is_some());
    assert!(tx.slot > 0);
    assert!(tx.block_time.unwrap() > 0);
    // The same transaction, base64-encoded, decodes to what was signed.
    let raw = fetch(&rpc, &signature, UiTransactionEncoding::Base64).await;
    let decoded_tx: VersionedTransaction = raw.transaction.transaction.decode().unwrap();
    assert_eq!(decoded_tx.signatures[0], signature);
    assert!(decoded_tx.verify_with_results().iter().all(|ok| *ok));

    // History by address, newest first.
    let for_grid = rpc.get_signatures_for_address(&grid).await.unwrap();
    assert_eq!(for_grid.len(), 1);
    assert_eq!(for_grid[0].signature, signature.to_string());
    assert_eq!(for_grid[0].slot, tx.slot);
    let for_admin = rpc
        .get_signatures_for_address(&admin.pubkey())
        .await
        .unwrap();
    assert_eq!(for_admin.len(), 2, "the airdrop, then the grid");
    assert_eq!(for_admin[0].signature, signature.to_string());
    assert!(rpc
        .get_signatures_for_address(&Pubkey::new_unique())
        .await
        .unwrap()
        .is_empty());

    // The grid's token accounts, from the cluster's own index, and one balance.
    let mint = pda::mint(&grid);
    let owned = rpc
        .get_token_accounts_by_owner(&grid, TokenAccountsFilter::Mint(mint))
        .await
        .unwrap();
    let mut found: Vec<String> = owned.iter().map(|a| a.pubkey.clone()).collect();
    found.sort();
    let mut expected: Vec<String> = [
        pda::vault(&grid),
        pda::pool(&grid),
        pda::treasury(&grid),
        pda::escrow(&grid),
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    expected.sort();
    assert_eq!(found, expected);
    let by_program = rpc
        .get_token_accounts_by_owner(&grid, TokenAccountsFilter::ProgramId(spl_token_id()))
        .await
        .unwrap();
    assert_eq!(by_program.len(), 4);
    assert!(rpc
        .get_token_accounts_by_owner(&admin.pubkey(), TokenAccountsFilter::Mint(mint))
        .await
        .unwrap()
        .is_empty());
    let balance = rpc
        .get_token_account_balance(&pda::vault(&grid))
        .await
        .unwrap();
    assert_eq!(balance.amount, "0");
    assert_eq!(balance.decimals, 6);
    assert!(
        rpc.get_token_account_balance(&grid).await.is_err(),
        "the grid is not a token account"
    );
    let supply = rpc.get_token_supply(&mint).await.unwrap();
    assert_eq!((supply.amount.as_str(), supply.decimals), ("0", 6));
    assert!(
        rpc.get_token_supply(&pda::vault(&grid)).await.is_err(),
        "a token account is not a mint"
    );

    // After a restart all of it is still told.
    localnet.shutdown().await.unwrap();
    let localnet = start_on(&ledger, false).await;
    let rpc = client(&localnet);
    assert_eq!(
        logs(&fetch(&rpc, &signature, UiTransactionEncoding::Json).await),
        lines
    );
    assert_eq!(
        rpc.get_signatures_for_address(&grid).await.unwrap()[0].signature,
        signature.to_string()
    );
    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}

async fn next_slot(rpc: &RpcClient, after: u64) {
    while rpc.get_slot().await.unwrap() <= after {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn spl_token_id() -> Pubkey {
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
        .parse()
        .unwrap()
}

async fn a_v0_transaction_loads_its_accounts_from_a_lookup_table() {
    let ledger = ledger_dir("v0");
    let localnet = start_on(&ledger, true).await;
    let rpc = client(&localnet);
    let payer = funded(&rpc, 10 * SOL).await;
    let recipients: Vec<Pubkey> = (0..3).map(|_| Pubkey::new_unique()).collect();

    // Create, extend, then wait a block: addresses added in a slot are usable after it.
    // The table's slot must be a past one (in the SlotHashes sysvar); the confirmed slot is,
    // at once.
    let recent_slot = rpc.get_slot().await.unwrap();
    let (create, table) = lookup::create_table(&payer.pubkey(), &payer.pubkey(), recent_slot);
    send(&rpc, &[create], &[&payer]).await;
    send(
        &rpc,
        &[lookup::extend_table(
            &table,
            &payer.pubkey(),
            &payer.pubkey(),
            &recipients,
        )],
        &[&payer],
    )
    .await;
    let table_account = rpc.get_account(&table).await.unwrap();
    assert_eq!(table_account.owner, lookup::LOOKUP_TABLE_PROGRAM);
    assert_eq!(table_account.data.len(), 56 + 32 * recipients.len());
    next_slot(&rpc, rpc.get_slot().await.unwrap()).await;

    let lookup = AddressLookupTableAccount {
        key: table,
        addresses: recipients.clone(),
    };
    let transfers: Vec<Instruction> = recipients
        .iter()
        .enumerate()
        .map(|(i, to)| system_instruction::transfer(&payer.pubkey(), to, (i as u64 + 1) * SOL))
        .collect();
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let message =
        v0::Message::try_compile(&payer.pubkey(), &transfers, &[lookup], blockhash).unwrap();
    // The recipients are not in the message: the table supplies them.
    assert_eq!(message.account_keys.len(), 2);
    assert_eq!(
        message.address_table_lookups[0].writable_indexes,
        vec![0, 1, 2]
    );
    let tx = VersionedTransaction::try_new(VersionedMessage::V0(message), &[&payer]).unwrap();
    let signature = rpc.send_and_confirm_transaction(&tx).await.unwrap();
    for (i, to) in recipients.iter().enumerate() {
        assert_eq!(rpc.get_balance(to).await.unwrap(), (i as u64 + 1) * SOL);
    }

    // Told back as version 0 with the loaded addresses...
    let told = fetch(&rpc, &signature, UiTransactionEncoding::Json).await;
    assert_eq!(
        told.transaction.version,
        Some(TransactionVersion::Number(0))
    );
    let meta = told.transaction.meta.unwrap();
    let loaded = Option::from(meta.loaded_addresses).expect("no loaded addresses");
    let UiLoadedAddresses { writable, readonly } = loaded;
    assert_eq!(
        writable,
        recipients.iter().map(|k| k.to_string()).collect::<Vec<_>>()
    );
    assert!(readonly.is_empty());
    assert_eq!(
        meta.post_balances.len(),
        5,
        "payer, system program, three recipients"
    );
    assert_eq!(&meta.post_balances[2..], &[SOL, 2 * SOL, 3 * SOL]);
    // ...and refused to a client that says it cannot read v0.
    let legacy_only = rpc
        .get_transaction_with_config(
            &signature,
            RpcTransactionConfig {
                encoding: Some(UiTransactionEncoding::Json),
                commitment: Some(CommitmentConfig::confirmed()),
                max_supported_transaction_version: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        legacy_only
            .to_string()
            .contains("Transaction version (0) is not supported"),
        "{legacy_only}"
    );
    // A recipient's history includes the transaction that reached it through the table.
    let history = rpc
        .get_signatures_for_address(&recipients[1])
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].signature, signature.to_string());
    localnet.shutdown().await.unwrap();
    std::fs::remove_dir_all(&ledger).unwrap();
}

/// Without libtest's harness, so that the program's logs reach the cluster (see `run_tests`).
fn main() {
    run_tests(vec![
        (
            "a_program_transaction_is_told_back_with_its_logs_history_and_token_accounts",
            Box::pin(a_program_transaction_is_told_back_with_its_logs_history_and_token_accounts()),
        ),
        (
            "a_v0_transaction_loads_its_accounts_from_a_lookup_table",
            Box::pin(a_v0_transaction_loads_its_accounts_from_a_lookup_table()),
        ),
    ]);
}
