//! The operator's tools against the demo community on a real local cluster:
//! `GET /api/audit/{epoch}` and `energy_utility_sdk::audit` (a settled hour re-checked from
//! chain data alone agrees; a tampered copy of what the chain said disagrees, at the first
//! thing that does not add up), and `GET /metrics` scraped.

mod common;

use anchor_lang::prelude::Pubkey;
use common::{answer, demo_served};
use energy_utility_sdk::audit::{audit, record};
use energy_utility_sdk::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;

/// The value of the sample `line_start` (a metric name with its labels) in a scrape.
fn sample(scrape: &str, line_start: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(line_start)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_scraped_with_requests_latencies_and_the_grids_figures() {
    let (net, base) = demo_served("metrics").await;
    let http = reqwest::Client::new();
    for path in [
        "/api/state",
        "/api/state",
        "/api/meters/pole-3",
        "/api/meters/nope",
    ] {
        http.get(format!("{base}{path}")).send().await.unwrap();
    }
    let (status, _) = answer(
        http.post(format!("{base}/api/clock/advance"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let response = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let scrape = response.text().await.unwrap();
    let state = |route: &str, status: &str| {
        sample(
            &scrape,
            &format!(
                "deu_http_requests_total{{route=\"{route}\",method=\"GET\",status=\"{status}\"}}"
            ),
        )
    };
    assert!(state("/api/state", "200") >= Some(2.0), "{scrape}");
    assert!(state("/api/meters/{id}", "200") >= Some(1.0), "{scrape}");
    assert!(state("/api/meters/{id}", "404") >= Some(1.0), "{scrape}");
    assert!(
        sample(
            &scrape,
            "deu_http_request_duration_seconds_count{route=\"/api/state\"}"
        ) >= Some(2.0)
    );
    assert_eq!(sample(&scrape, "deu_grid_up"), Some(1.0));
    assert_eq!(sample(&scrape, "deu_meters"), Some(16.0));
    // The crank settled the hour the clock let pass: nothing waits.
    assert_eq!(sample(&scrape, "deu_unsettled_epochs"), Some(0.0));
    assert_eq!(sample(&scrape, "deu_pending_admin_changes"), Some(0.0));
    assert_eq!(sample(&scrape, "deu_silent_meters"), Some(0.0));
    // The mint budget is the grid's, read at the scrape.
    let chain = Client::new(&net.rpc_url(), Keypair::new());
    let (_, grid) = chain.grid("demo").await.unwrap();
    let budget = sample(&scrape, "deu_mint_budget_units").unwrap();
    let now = chain.cluster_time().await.unwrap();
    assert!(
        (budget - grid.mint_budget_at(now) as f64).abs()
            <= grid.oracle_limits.mint_limit_units as f64 / 1e3,
        "{budget}"
    );
    net.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settled_hour_agrees_and_every_tampered_copy_disagrees() {
    let (net, base) = demo_served("audit").await;
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
    let original = record(
        &chain,
        &energy_utility_sdk::history::History::new(),
        &grid_address,
        &grid,
        epoch,
    )
    .await
    .unwrap();
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
