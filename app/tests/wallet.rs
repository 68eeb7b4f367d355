//! Residents' own wallets in serve mode (no custody): every action as an unsigned transaction
//! the wallet signs (here a real keypair, as a wallet would), relayed by `POST /api/send`;
//! and what the relay refuses, with nothing changed.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{service_with, Service, Setup};
use energy_utility_sdk::accounts::Meter;
use energy_utility_sdk::{instructions, pda};
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

const K: u64 = 1_000_000;

fn serve_mode() -> Setup {
    Setup {
        custody: false,
        payout_delay: Duration::from_millis(300),
        ..Setup::default()
    }
}

/// The wallet's signature on a transaction the server built.
fn sign(transaction: &Value, wallet: &Keypair) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(transaction.as_str().expect("a base64 transaction"))
        .unwrap();
    let mut tx: Transaction = bincode::deserialize(&bytes).unwrap();
    assert_eq!(
        tx.message.account_keys[0],
        wallet.pubkey(),
        "the wallet pays"
    );
    let blockhash = tx.message.recent_blockhash;
    tx.try_partial_sign(&[wallet], blockhash).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&tx).unwrap())
}

/// Asks for `path`'s transaction for `wallet`, signs it and sends it; the signature.
async fn act(s: &Service, path: &str, wallet: &Keypair) -> String {
    let (status, request) = s
        .post(path, json!({"account": wallet.pubkey().to_string()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{path}: {request}");
    assert!(request["message"].is_string(), "{request}");
    let (status, sent) = s
        .post(
            "/api/send",
            json!({"transaction": sign(&request["transaction"], wallet)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{path}: {sent}");
    sent["signature"].as_str().unwrap().to_string()
}

async fn funded_wallet(s: &Service) -> Keypair {
    let wallet = Keypair::new();
    s.chain
        .airdrop(&wallet.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    wallet
}

/// An hour reported by the carlos-house and angel-roof gateways and settled, earnings left on
/// the roof for its owner to collect.
async fn an_hour_with_earnings(s: &Service) {
    let utility = s.utility();
    let (_, grid) = s.chain.grid(common::GRID).await.unwrap();
    let epoch = grid
        .epoch_at(s.chain.cluster_time().await.unwrap())
        .unwrap();
    for (id, kwh) in [("carlos-house", 2_000u64), ("angel-roof", 2_200)] {
        let (address, meter) = s.chain.meter(&s.grid, id).await.unwrap();
        let gateway = s.keys.gateways[id].insecure_clone();
        let ix = instructions::report(
            &gateway.pubkey(),
            &utility.payer(),
            &s.grid,
            &address,
            epoch,
            meter.register_wh + kwh,
        );
        utility.send(&[ix], &[&gateway]).await.unwrap();
    }
    let closes = utility
        .reports_close_at(&s.grid, &grid, epoch)
        .await
        .unwrap();
    let now = s.chain.cluster_time().await.unwrap();
    utility.advance_clock(closes - now + 1).await.unwrap();
    let mut quiet = |_: usize, _: usize| {};
    utility
        .settle_epoch(&s.grid, grid.meter_count, epoch, &mut quiet)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wallet_registers_funds_sells_cancels_and_collects_with_its_own_signature() {
    let s = service_with("wallet-flow", serve_mode()).await;
    let zoe = funded_wallet(&s).await;
    let me = zoe.pubkey().to_string();
    let (_, mine) = s.get(&format!("/api/wallets/{me}")).await;
    assert_eq!(mine["residents"], json!([]));

    // Zoe registers herself; the id is then hers and taken.
    act(&s, "/api/pay/register?id=zoe", &zoe).await;
    let (_, mine) = s.get(&format!("/api/wallets/{me}")).await;
    assert_eq!(mine["residents"], json!(["zoe"]));
    let (status, _) = s.get("/api/residents/zoe").await;
    assert_eq!(status, StatusCode::OK);
    let taken = s
        .post("/api/pay/register?id=zoe", json!({"account": me}))
        .await;
    assert_eq!(taken.0, StatusCode::CONFLICT, "{}", taken.1);
    let bad = s
        .post("/api/pay/register?id=Zoe%20Smith", json!({"account": me}))
        .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);

    // The oracle sells her 10 k; she lights the dark pole with 1.5 k of them.
    let utility = s.utility();
    let now = s.chain.cluster_time().await.unwrap();
    let resident = pda::resident(&s.grid, "zoe");
    utility
        .send(
            &[instructions::add_fiat(
                &utility.payer(),
                &s.grid,
                &resident,
                100,
                "evt_zoe_1",
                now,
            )],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(s.coins("zoe").await, 10 * K);
    let pole_before = s.chain.meter(&s.grid, "pole-3").await.unwrap().1;
    assert!(!pole_before.connected);
    let signature = act(&s, "/api/pay/fund?from=zoe&meter=pole-3&amount_k=1.5", &zoe).await;
    let pole = s.chain.meter(&s.grid, "pole-3").await.unwrap().1;
    assert_eq!(pole.balance_units, pole_before.balance_units + 1_500_000);
    assert!(pole.connected, "funded, the pole reconnects");
    assert_eq!(s.coins("zoe").await, 8_500_000);

    // To sell she opens a connected account and binds it with her own signature; the wallet
    // message names it with its bank.
    let account = s.onboard("zoe").await;
    let bind = format!("/api/pay/payout-account?from=zoe&account={account}");
    let (status, request) = s.post(&bind, json!({"account": me})).await;
    assert_eq!(status, StatusCode::OK, "{request}");
    let message = request["message"].as_str().unwrap();
    assert!(
        message.contains(&account) && message.contains("••6789"),
        "{message}"
    );
    act(&s, &bind, &zoe).await;
    assert_eq!(s.resident("zoe").await.payout_account, account);
    // Coins bought by card sell once the grid's card hold has passed.
    let early = s
        .post("/api/pay/sell?from=zoe&amount_k=2", json!({"account": me}))
        .await;
    assert_eq!(early.0, StatusCode::OK, "{}", early.1);
    let (status, sent) = s
        .post(
            "/api/send",
            json!({"transaction": sign(&early.1["transaction"], &zoe)}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{sent}");
    assert!(sent["error"].as_str().unwrap().contains("hold"), "{sent}");
    s.chain.advance_clock(3_600).await.unwrap();

    // She sets 2 k aside to sell, then changes her mind.
    act(&s, "/api/pay/sell?from=zoe&amount_k=2", &zoe).await;
    assert_eq!(s.coins("zoe").await, 6_500_000);
    assert!(s.sale("zoe", 0).await.is_some());
    act(&s, "/api/pay/cancel?from=zoe&sale=0", &zoe).await;
    assert_eq!(s.coins("zoe").await, 8_500_000);
    let again = s
        .post("/api/pay/cancel?from=zoe&sale=0", json!({"account": me}))
        .await;
    assert!(
        matches!(again.0, StatusCode::CONFLICT | StatusCode::NOT_FOUND),
        "{}",
        again.1
    );

    // The chain's history tells it, each line with its transaction.
    let (_, page) = s.get("/api/residents/zoe").await;
    let history = page["history"].as_array().unwrap();
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["sale", "sale", "payout-account", "funded", "fiat"],
        "{}",
        page["history"]
    );
    assert!(history.iter().any(|e| e["signature"] == signature.as_str()));

    // Another wallet cannot act for Zoe.
    let mallory = funded_wallet(&s).await;
    let refused = s
        .post(
            "/api/pay/fund?from=zoe&meter=pole-3&amount_k=1",
            json!({"account": mallory.pubkey().to_string()}),
        )
        .await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);

    // Anyone's wallet may collect a roof's earnings: they go to its owner.
    an_hour_with_earnings(&s).await;
    let (roof_address, roof) = s.chain.meter(&s.grid, "angel-roof").await.unwrap();
    assert!(roof.balance_units > 0);
    let angel_before = s.coins("angel").await;
    act(&s, "/api/pay/collect?meter=angel-roof", &zoe).await;
    assert_eq!(s.coins("angel").await, angel_before + roof.balance_units);
    let roof_after: Meter = s.chain.account(&roof_address).await.unwrap().unwrap();
    assert_eq!(roof_after.balance_units, 0);
    let nothing = s
        .post("/api/pay/collect?meter=angel-roof", json!({"account": me}))
        .await;
    assert_eq!(nothing.0, StatusCode::CONFLICT, "{}", nothing.1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_vetoes_what_the_utility_proposed_alone_with_their_own_wallet() {
    let s = service_with("wallet-veto", serve_mode()).await;
    // The demo's utility proposed bigger lights for the Tigers' ballpark: it waits.
    let (_, stadium) = s.get("/api/meters/stadium").await;
    assert!(stadium["pending_change"]["act"]
        .as_str()
        .unwrap()
        .contains("600.000 kW"));
    let watched = s.chain.meter(&s.grid, "stadium").await.unwrap().1;
    // Without custody the server vetoes for nobody; another wallet cannot veto it either.
    let (status, said) = s.post("/api/veto", json!({"meter": "stadium"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{said}");
    let danny = s.keys.resident("danny").unwrap().insecure_clone();
    let (status, said) = s
        .post(
            "/api/pay/veto?meter=stadium",
            json!({"account": danny.pubkey().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{said}");
    let unchanged = s.chain.meter(&s.grid, "stadium").await.unwrap().1;
    assert_eq!(unchanged.pending_change, watched.pending_change);
    // The Tigers' own wallet signs the veto; the server relays it.
    let tigers = s.keys.resident("tigers").unwrap().insecure_clone();
    act(&s, "/api/pay/veto?meter=stadium", &tigers).await;
    let (_, meter) = s.chain.meter(&s.grid, "stadium").await.unwrap();
    assert_eq!(meter.pending_change, None);
    assert_eq!(meter.capacity_w, watched.capacity_w);
    // Nothing is left to veto.
    let (status, said) = s
        .post(
            "/api/pay/veto?meter=stadium",
            json!({"account": tigers.pubkey().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_meters_owner_takes_the_emergency_credit_with_their_own_wallet_once() {
    let s = service_with("wallet-emergency", serve_mode()).await;
    // pole-3 starts dry and off; the demo's grid offers 2 k of emergency credit.
    let (_, pole) = s.get("/api/meters/pole-3").await;
    assert_eq!(pole["connected"], false);
    assert_eq!(pole["emergency_credit"]["can_take"], true, "{pole}");
    let owner_id = pole["owner"].as_str().unwrap().to_string();
    let watched = s.chain.meter(&s.grid, "pole-3").await.unwrap().1;
    // Without custody the server takes it for nobody; another wallet cannot either.
    let (status, said) = s
        .post("/api/emergency-credit", json!({"meter": "pole-3"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{said}");
    let stranger = if owner_id == "danny" {
        "carlos"
    } else {
        "danny"
    };
    let stranger = s.keys.resident(stranger).unwrap().insecure_clone();
    let (status, said) = s
        .post(
            "/api/pay/emergency-credit?meter=pole-3",
            json!({"account": stranger.pubkey().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{said}");
    let unchanged = s.chain.meter(&s.grid, "pole-3").await.unwrap().1;
    assert_eq!(
        (
            unchanged.emergency_units,
            unchanged.connected,
            unchanged.balance_units
        ),
        (
            watched.emergency_units,
            watched.connected,
            watched.balance_units
        )
    );
    // The owner's wallet signs it (the message names the credit); the server relays it.
    let owner = s.keys.resident(&owner_id).unwrap().insecure_clone();
    let (status, request) = s
        .post(
            "/api/pay/emergency-credit?meter=pole-3",
            json!({"account": owner.pubkey().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{request}");
    assert!(
        request["message"]
            .as_str()
            .unwrap()
            .starts_with("Take the grid's emergency credit of 2.000000 k on pole-3"),
        "{request}"
    );
    act(&s, "/api/pay/emergency-credit?meter=pole-3", &owner).await;
    let (_, meter) = s.chain.meter(&s.grid, "pole-3").await.unwrap();
    assert_eq!(meter.emergency_units, 2_000_000);
    assert!(meter.connected);
    // Once per top-up cycle: the program's rule refuses a second one before anything is signed.
    let (status, said) = s
        .post(
            "/api/pay/emergency-credit?meter=pole-3",
            json!({"account": owner.pubkey().to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{said}");
    assert!(
        said["error"].as_str().unwrap().contains("taken already"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_sends_only_signed_transactions_of_the_grid_program() {
    let s = service_with("wallet-relay", serve_mode()).await;
    let carlos = s.keys.resident("carlos").unwrap().insecure_clone();
    let coins = s.coins("carlos").await;
    let lamports = s.chain.lamports(&carlos.pubkey()).await.unwrap();

    // Unsigned: refused.
    let (_, request) = s
        .post(
            "/api/pay/fund?from=carlos&meter=pole-3&amount_k=1",
            json!({"account": carlos.pubkey().to_string()}),
        )
        .await;
    let unsigned = s
        .post("/api/send", json!({"transaction": request["transaction"]}))
        .await;
    assert_eq!(unsigned.0, StatusCode::BAD_REQUEST, "{}", unsigned.1);
    assert!(unsigned.1["error"].as_str().unwrap().contains("not signed"));

    // Signed, but not the grid's program: refused.
    let blockhash = s.chain.rpc.get_latest_blockhash().await.unwrap();
    let transfer = Transaction::new_signed_with_payer(
        &[solana_system_interface::instruction::transfer(
            &carlos.pubkey(),
            &Keypair::new().pubkey(),
            1_000_000,
        )],
        Some(&carlos.pubkey()),
        &[&carlos],
        blockhash,
    );
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&transfer).unwrap());
    let foreign = s.post("/api/send", json!({"transaction": encoded})).await;
    assert_eq!(foreign.0, StatusCode::BAD_REQUEST, "{}", foreign.1);
    assert!(foreign.1["error"]
        .as_str()
        .unwrap()
        .contains("only the grid program"));

    // Not a transaction at all.
    for junk in ["", "!!!", "aGVsbG8="] {
        let refused = s.post("/api/send", json!({"transaction": junk})).await;
        assert_eq!(refused.0, StatusCode::BAD_REQUEST, "{junk}: {}", refused.1);
    }

    // Signed over a blockhash the cluster does not know (as one that expired): sign again.
    let mut stale: Transaction = bincode::deserialize(
        &base64::engine::general_purpose::STANDARD
            .decode(request["transaction"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let unknown = solana_hash::Hash::new_from_array([7; 32]);
    stale.message.recent_blockhash = unknown;
    stale.try_partial_sign(&[&carlos], unknown).unwrap();
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(bincode::serialize(&stale).unwrap());
    let expired = s.post("/api/send", json!({"transaction": encoded})).await;
    assert_eq!(expired.0, StatusCode::BAD_REQUEST, "{}", expired.1);
    assert!(
        expired.1["error"]
            .as_str()
            .unwrap()
            .contains("sign it again"),
        "{}",
        expired.1
    );

    // The program's own refusal, by name: more coins than Carlos has.
    let (_, request) = s
        .post(
            "/api/pay/fund?from=carlos&meter=pole-3&amount_k=100000",
            json!({"account": carlos.pubkey().to_string()}),
        )
        .await;
    let refused = s
        .post(
            "/api/send",
            json!({"transaction": sign(&request["transaction"], &carlos)}),
        )
        .await;
    assert_eq!(refused.0, StatusCode::CONFLICT, "{}", refused.1);
    assert!(
        refused.1["error"]
            .as_str()
            .unwrap()
            .contains("Not enough coins"),
        "{}",
        refused.1
    );

    // Nothing moved but the failed transaction's fee.
    assert_eq!(s.coins("carlos").await, coins);
    let after = s.chain.lamports(&carlos.pubkey()).await.unwrap();
    assert!(lamports - after <= 5_000, "{lamports} -> {after}");
}
