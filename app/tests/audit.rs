//! `GET /api/audit/{epoch}` and `energy_utility_sdk::audit`: a settled hour of the demo
//! community re-checked from chain data alone agrees; a tampered copy of what the chain said
//! disagrees, at the first thing that does not add up.

mod common;

use anchor_lang::prelude::Pubkey;
use common::{answer, cluster};
use energy_utility_app::{demo, App};
use energy_utility_sdk::audit::{audit, record};
use energy_utility_sdk::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;

#[tokio::test(flavor = "multi_thread")]
async fn a_settled_hour_agrees_and_every_tampered_copy_disagrees() {
    let (net, _) = cluster("audit").await;
    let client = Client::new(&net.rpc_url(), Keypair::new());
    let custody = demo::seed(&client, "demo").await.expect("seed");
    let app = App::new(client, "demo", Some(custody), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(energy_utility_app::serve(app, listener));
    let http = reqwest::Client::new();
    let post = |path: &str| http.post(format!("{base}{path}")).json(&json!({}));

    // Two hours pass: the second's readings continue the first's registers.
    let mut settled = Value::Null;
    for _ in 0..2 {
        let (status, state) = answer(post("/api/clock/advance")).await;
        assert_eq!(status, StatusCode::OK, "{state}");
        settled = state["last_settlement"].clone();
    }
    let epoch = settled["epoch"].as_u64().expect("a settled epoch");

    let (status, said) = answer(http.get(format!("{base}/api/audit/{epoch}"))).await;
    assert_eq!(status, StatusCode::OK, "{said}");
    assert_eq!(said["agree"], true, "{said}");
    let agreed = &said["agreement"];
    assert_eq!(agreed["charged_k"], settled["charged_k"]);
    assert_eq!(agreed["fee_k"], settled["fee_k"]);
    assert_eq!(agreed["paid_k"], settled["paid_k"]);
    assert_eq!(agreed["reports"], 16, "every meter reported: {agreed}");
    assert_eq!(
        agreed["unchecked"],
        json!([]),
        "every signer and register checked"
    );
    // An epoch nobody reported in: 404.
    let (status, _) = answer(http.get(format!("{base}/api/audit/{}", epoch + 1000))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same record, tampered with one thing at a time.
    let chain = Client::new(&net.rpc_url(), Keypair::new());
    let (grid_address, grid) = chain.grid("demo").await.unwrap();
    let original = record(&chain, &grid_address, &grid, epoch).await.unwrap();
    audit(&original).expect("the chain's record agrees");
    let disagrees = |what: &str, tamper: &dyn Fn(&mut energy_utility_sdk::audit::EpochRecord)| {
        let mut copy = original.clone();
        tamper(&mut copy);
        let found = audit(&copy).expect_err(what);
        assert!(found.what.contains(what), "{what}: {}", found.what);
    };
    disagrees("not signed by its gateway", &|r| {
        r.reports[0].signers = vec![Pubkey::new_unique()]
    });
    disagrees("does not continue its last recorded register", &|r| {
        let report = r.reports.iter_mut().find(|x| x.event.wh > 0).unwrap();
        report.event.register_wh += 1;
    });
    disagrees("was billed", &|r| r.charges[0].billed_units -= 1);
    disagrees("charged for", &|r| r.charges[0].wh += 1);
    disagrees("was paid", &|r| r.payouts[0].payout_units += 1);
    disagrees("the fee is", &|r| {
        r.fee.as_mut().unwrap().fee_units += 1;
    });
    disagrees("paid and", &|r| {
        r.settled.as_mut().unwrap().carried_out_units += 1;
    });
    disagrees("were charged", &|r| {
        r.settled.as_mut().unwrap().charged_units += 1;
    });
    disagrees("not settled", &|r| r.settled = None);
    net.shutdown().await.unwrap();
}
