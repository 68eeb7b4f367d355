//! What residents read about their own usage, against the chain: the meter's chart series,
//! its readings as CSV, and the monthly statement, whose totals equal the accounts' own
//! lifetime counters (the demo community's whole life falls in the months asked).

mod common;

use common::{answer, demo_served};
use energy_utility_sdk::accounts::Meter;
use energy_utility_sdk::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;

/// The months (`YYYY-MM`) from `first_ts` to `last_ts`, in UTC (the demo's offset).
fn months(first_ts: i64, last_ts: i64) -> Vec<String> {
    let month = |ts: i64| {
        let day = ts.div_euclid(86_400);
        energy_utility_sdk::calendar::format_day(day)[..7].to_string()
    };
    let mut out = vec![month(first_ts)];
    if month(last_ts) != out[0] {
        out.push(month(last_ts));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn series_csv_and_statements_add_up_to_what_the_chain_holds() {
    let (net, base) = demo_served("statements").await;
    let http = reqwest::Client::new();
    let chain = Client::new(&net.rpc_url(), Keypair::new());
    let (grid_address, _) = chain.grid("demo").await.unwrap();
    let started = chain.cluster_time().await.unwrap();
    for _ in 0..2 {
        let (status, _) = answer(
            http.post(format!("{base}/api/clock/advance"))
                .json(&json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let now = chain.cluster_time().await.unwrap();
    let get = |path: String| {
        let http = http.clone();
        let base = base.clone();
        async move { answer(http.get(format!("{base}{path}"))).await }
    };

    // The chart's hours: each reading the meter's account holds is its bar, to the Wh.
    let (_, carlos) = chain.meter(&grid_address, "carlos-house").await.unwrap();
    let (status, series) = get("/api/meters/carlos-house/series".into()).await;
    assert_eq!(status, StatusCode::OK, "{series}");
    let hourly = series["hourly"].as_array().unwrap();
    // 48 hours, or every hour since the grid began.
    let epoch = series["epoch"].as_u64().unwrap();
    assert_eq!(hourly.len() as u64, (epoch + 1).min(48));
    for reading in carlos.readings.iter().filter(|r| r.hours > 0) {
        let bar = hourly
            .iter()
            .find(|p| p["epoch"] == reading.epoch)
            .expect("the reading's hour is charted");
        assert_eq!(bar["wh"], reading.wh, "epoch {}", reading.epoch);
    }
    let charted: u64 = hourly.iter().map(|p| p["wh"].as_u64().unwrap()).sum();
    assert_eq!(
        charted, carlos.lifetime_wh,
        "every Wh the meter ever read is in the last 48 h"
    );
    let billed: u64 = hourly.iter().map(|p| p["units"].as_u64().unwrap()).sum();
    assert_eq!(
        billed, carlos.lifetime_units,
        "billed = charged: carlos never ran dry"
    );
    let daily: u64 = series["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["wh"].as_u64().unwrap())
        .sum();
    assert_eq!(daily, carlos.lifetime_wh);

    // The readings as CSV: one line per reading, the energy summing to the meter's.
    let response = http
        .get(format!("{base}/api/meters/carlos-house/readings.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("carlos-house-readings.csv"));
    let text = response.text().await.unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(rows.len() >= 2, "{text}");
    let wh: f64 = rows
        .iter()
        .map(|r| r.split(',').nth(4).unwrap().parse::<f64>().unwrap() * 1000.0)
        .sum();
    assert_eq!(wh.round() as u64, carlos.lifetime_wh, "{text}");

    // Statements: every resident's months, summed, equal the chain's counters.
    let (_, state) = get("/api/state".into()).await;
    for resident in state["residents"].as_array().unwrap() {
        let id = resident["id"].as_str().unwrap();
        let mut sum = (0u64, 0u64, 0u64);
        let mut meters: std::collections::BTreeMap<String, (u64, u64, u64, u64)> =
            Default::default();
        for month in months(started, now) {
            let (status, st) = get(format!("/api/residents/{id}/statement?month={month}")).await;
            assert_eq!(status, StatusCode::OK, "{st}");
            sum.0 += st["purchases_units"].as_u64().unwrap();
            sum.1 += st["fundings_units"].as_u64().unwrap();
            sum.2 += st["collected_units"].as_u64().unwrap();
            for m in st["meters"].as_array().unwrap() {
                let e = meters
                    .entry(m["meter"].as_str().unwrap().into())
                    .or_default();
                e.0 += m["wh"].as_u64().unwrap();
                e.1 += m["charged_units"].as_u64().unwrap();
                e.2 += m["earned_units"].as_u64().unwrap();
                e.3 += m["funded_units"].as_u64().unwrap();
            }
        }
        // What came in, less what went out, is what the resident holds now.
        let (_, r) = chain.resident(&grid_address, id).await.unwrap();
        let coins = chain.token_amount(&r.coins).await.unwrap();
        assert_eq!(
            sum.0 + sum.2 - sum.1,
            coins,
            "{id}: bought + collected - funded"
        );
        for (meter_id, (wh, charged, earned, funded)) in meters {
            let (_, m): (_, Meter) = chain.meter(&grid_address, &meter_id).await.unwrap();
            assert_eq!(wh, m.lifetime_wh, "{meter_id} energy");
            assert_eq!(funded, m.lifetime_funded_units, "{meter_id} funded");
            let money = if m.is_consumer() { charged } else { earned };
            assert_eq!(money, m.lifetime_units, "{meter_id} charged or earned");
        }
    }
    // The same as CSV; a malformed month is refused.
    let response = http
        .get(format!("{base}/api/residents/carlos/statement.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.starts_with("resident,month,item,meter,kind,kwh,k,usd\n"),
        "{text}"
    );
    assert!(text.contains(",charged,carlos-house,household,"), "{text}");
    let (status, said): (StatusCode, Value) =
        get("/api/residents/carlos/statement?month=2026-13".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{said}");

    // The community's last 24 hours: the settled hour's consumption and production.
    let (_, community) = get("/api/community/series".into()).await;
    let settled = &state["last_settlement"];
    let hour = community["hours"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["epoch"] == settled["epoch"])
        .expect("the settled hour is in the last 24");
    assert_eq!(hour["consumed_kwh"], settled["consumed_kwh"]);
    assert_eq!(hour["produced_kwh"], settled["produced_kwh"]);
    net.shutdown().await.unwrap();
}
