//! The index behind the pages (`app/src/index.rs`): pages answer from memory, follow the chain
//! through the subscription, cost the cluster nothing per view, and a big grid is paged,
//! searched and drawn in cells.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use energy_utility_app::App;
use energy_utility_localnet::Localnet;
use energy_utility_sdk::accounts::MeterKind;
use energy_utility_sdk::instructions::{self as ix, InitializeGridArgs, RegisterMeterArgs};
use energy_utility_sdk::{pda, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

use common::{answer, cluster};

async fn served(
    net: &Localnet,
    grid: &str,
    custody: Option<energy_utility_app::Custody>,
) -> (std::sync::Arc<App>, String) {
    let app = App::new(
        Client::new(&net.rpc_url(), Keypair::new()),
        grid,
        custody,
        None,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(energy_utility_app::serve(app.clone(), listener));
    assert!(
        app.index.wait_ready(Duration::from_secs(20)).await,
        "the index loaded the grid"
    );
    (app, base)
}

async fn get(base: &str, path: &str) -> (StatusCode, Value) {
    answer(reqwest::Client::new().get(format!("{base}{path}"))).await
}

/// Cluster calls made while `views` run, less the index's own (its clock reads, which run once
/// a second whatever the traffic).
async fn calls_of(net: &Localnet, app: &App, views: impl std::future::Future<Output = ()>) -> u64 {
    let own = || app.index.stats.requests.load(Ordering::SeqCst);
    let (calls, requests) = (net.calls(), own());
    views.await;
    (net.calls() - calls).saturating_sub(own() - requests)
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_answer_from_the_index_follow_the_chain_and_cost_the_cluster_nothing() {
    let (net, _) = cluster("index-follow").await;
    let client = Client::new(&net.rpc_url(), Keypair::new());
    let custody = energy_utility_app::demo::seed(&client, "demo")
        .await
        .expect("seed");
    let danny = custody.resident("danny").unwrap().insecure_clone();
    let (app, base) = served(&net, "demo", Some(custody)).await;

    // What the index answers is what the chain holds.
    let (status, state) = get(&base, "/api/state").await;
    assert_eq!(status, StatusCode::OK, "{state}");
    let (grid_address, grid) = client.grid("demo").await.unwrap();
    let meters = client
        .meters(&grid_address, grid.meter_count)
        .await
        .unwrap();
    assert_eq!(state["meters"].as_array().unwrap().len(), meters.len());
    assert_eq!(state["counts"]["meters"], json!(meters.len()));
    for ((address, meter), row) in meters.iter().zip(state["meters"].as_array().unwrap()) {
        assert_eq!(row["address"], json!(address.to_string()));
        assert_eq!(row["id"], json!(meter.id), "registration order");
        assert_eq!(
            row["balance_k"],
            json!(energy_utility_sdk::amounts::format_k(meter.balance_units))
        );
    }
    let residents = client
        .residents(&grid_address, grid.resident_count)
        .await
        .unwrap();
    for ((_, resident), row) in residents.iter().zip(state["residents"].as_array().unwrap()) {
        let coins = client.token_amount(&resident.coins).await.unwrap();
        assert_eq!(row["id"], json!(resident.id));
        assert_eq!(
            row["balance_k"],
            json!(energy_utility_sdk::amounts::format_k(coins))
        );
    }

    // Page views cost the cluster nothing: the map, the lists, a meter's and a resident's
    // page once their histories are cached.
    get(&base, "/api/meters/pole-3").await;
    get(&base, "/api/residents/danny").await;
    let spent = calls_of(&net, &app, async {
        for _ in 0..10 {
            for path in [
                "/api/state",
                "/api/meters?q=house",
                "/api/residents?limit=3",
                "/api/map",
                "/api/meters/pole-3",
                "/api/residents/danny",
                "/api/community/series",
                "/metrics",
            ] {
                let (status, body) = get(&base, path).await;
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
            }
        }
    })
    .await;
    assert_eq!(spent, 0, "80 page views asked the cluster {spent} times");

    // A change made behind the server's back reaches it through the subscription.
    let before = get(&base, "/api/meters/pole-3").await.1["balance_k"].clone();
    let sender = Client::new(&net.rpc_url(), danny.insecure_clone());
    sender
        .send(
            &[ix::fund(
                &danny.pubkey(),
                &grid_address,
                &pda::resident(&grid_address, "danny"),
                &pda::meter(&grid_address, "pole-3"),
                2_000_000,
            )],
            &[],
        )
        .await
        .unwrap();
    let (_, pole) = wait_for(&base, "/api/meters/pole-3", |p| p["balance_k"] != before).await;
    let chain = client.meter(&grid_address, "pole-3").await.unwrap().1;
    assert_eq!(
        pole["balance_k"],
        json!(energy_utility_sdk::amounts::format_k(chain.balance_units)),
        "was {before}"
    );
    // …and its history, cached until the meter changed, names the new funding.
    assert_eq!(pole["funders"][0]["resident"], "danny", "{pole}");
    assert_eq!(pole["funders"][0]["amount_k"], "2.000000");

    // A second server keeps its own index from the chain and tells the same.
    let (_, other) = served(&net, "demo", None).await;
    let (_, a) = get(&base, "/api/meters?limit=200").await;
    let (_, b) = get(&other, "/api/meters?limit=200").await;
    assert_eq!(a, b, "two servers, one chain");

    // An account closed on chain (which no subscription tells) leaves at the next reload.
    let (_, page) = get(&base, "/api/residents?q=zed").await;
    assert_eq!(page["total"], 0);
    let zed = Keypair::new();
    client.airdrop(&zed.pubkey(), 1_000_000_000).await.unwrap();
    let zed_client = Client::new(&net.rpc_url(), zed.insecure_clone());
    zed_client
        .register_resident(&zed, &grid_address, "zed")
        .await
        .unwrap();
    wait_for(&base, "/api/residents?q=zed", |p| p["total"] == 1).await;
    let index = client.resident(&grid_address, "zed").await.unwrap().1.index;
    zed_client
        .send(
            &[ix::close_resident(
                &zed.pubkey(),
                &grid_address,
                &pda::resident(&grid_address, "zed"),
                index,
                &zed.pubkey(),
            )],
            &[],
        )
        .await
        .unwrap();
    assert!(
        client.resident(&grid_address, "zed").await.is_err(),
        "closed"
    );
    app.index.load(&client).await.unwrap();
    let (status, gone) = get(&base, "/api/residents/zed").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    let (_, page) = get(&base, "/api/residents?q=zed").await;
    assert_eq!(page["total"], 0, "{page}");
    net.shutdown().await.unwrap();
}

async fn wait_for(base: &str, path: &str, ready: impl Fn(&Value) -> bool) -> (StatusCode, Value) {
    let mut last = get(base, path).await;
    for _ in 0..50 {
        if ready(&last.1) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = get(base, path).await;
    }
    panic!("{path} never became what was awaited: {}", last.1);
}

/// A grid of `meters` meters owned by one resident, spread over a square of the map.
async fn big_grid(net: &Localnet, name: &str, meters: u32) -> Pubkey {
    let admin = Keypair::new();
    let client = Client::new(&net.rpc_url(), admin.insecure_clone());
    client
        .airdrop(&admin.pubkey(), 100_000_000_000)
        .await
        .unwrap();
    let args = InitializeGridArgs {
        notice_seconds: 0,
        ..InitializeGridArgs::with_defaults(name, admin.pubkey())
    };
    client
        .send(&[ix::initialize_grid(&admin.pubkey(), args)], &[])
        .await
        .unwrap();
    let grid = pda::grid(name);
    for (i, id) in ["owner", "alice", "bob"].iter().enumerate() {
        client
            .send(
                &[ix::register_resident(
                    &admin.pubkey(),
                    &admin.pubkey(),
                    &grid,
                    i as u32,
                    id,
                )],
                &[],
            )
            .await
            .unwrap();
    }
    let owner = pda::resident(&grid, "owner");
    let registrations: Vec<_> = (0..meters)
        .map(|i| {
            let kind = if i % 5 == 4 {
                MeterKind::Producer
            } else {
                MeterKind::Household
            };
            let args = RegisterMeterArgs {
                meter_id: format!("m{i}"),
                kind,
                gateway: Keypair::new().pubkey(),
                label: String::new(),
                // A 30 × 20 square of streets.
                latitude_micro: 45_500_000 + (i / 30) as i32 * 1_000,
                longitude_micro: -73_500_000 + (i % 30) as i32 * 1_000,
                capacity_w: energy_utility_sdk::meters::default_capacity_w(kind),
                register_wh: 0,
            };
            ix::register_meter(&admin.pubkey(), &grid, &owner, i, args)
        })
        .collect();
    for batch in registrations.chunks(4) {
        client.send(batch, &[]).await.unwrap();
    }
    grid
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_grid_is_paged_searched_and_drawn_in_cells() {
    let (net, _) = cluster("index-big").await;
    let count = energy_utility_app::api::LIST_LIMIT as u32 + 100;
    big_grid(&net, "big", count).await;
    let (_, base) = served(&net, "big", None).await;

    // The state no longer lists every meter: it counts them.
    let (status, state) = get(&base, "/api/state").await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["listed"], false);
    assert!(state.get("meters").is_none(), "no list of {count} meters");
    assert_eq!(state["counts"]["meters"], count);
    assert_eq!(state["counts"]["residents"], 3);
    assert_eq!(state["counts"]["producers"], count / 5);

    // Pages in registration order.
    let (_, first) = get(&base, "/api/meters?limit=50").await;
    assert_eq!(first["total"], count);
    let ids: Vec<&str> = first["meters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, (0..50).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let (_, last) = get(
        &base,
        &format!("/api/meters?offset={}&limit=50", count - 10),
    )
    .await;
    assert_eq!(last["meters"].as_array().unwrap().len(), 10);
    assert_eq!(last["meters"][9]["id"], format!("m{}", count - 1));

    // Search by id, filter by kind.
    let (_, found) = get(&base, "/api/meters?q=M59&limit=200").await;
    let found: Vec<&str> = found["meters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    let mut expected = vec!["m59".to_string()];
    expected.extend((590..600).map(|i| format!("m{i}")));
    assert_eq!(found, expected);
    let (_, producers) = get(&base, "/api/meters?filter=producer&limit=10").await;
    assert_eq!(producers["total"], count / 5);
    assert!(producers["meters"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["kind"] == "producer"));
    let (_, owned) = get(&base, "/api/meters?q=owner&limit=1").await;
    assert_eq!(owned["total"], count, "searched by owner too");

    // Residents, paged.
    let (_, residents) = get(&base, "/api/residents?limit=2&offset=1").await;
    assert_eq!(residents["total"], 3);
    assert_eq!(residents["residents"][0]["id"], "alice");
    assert_eq!(residents["residents"][1]["id"], "bob");

    // The whole map in cells that hold every meter once; a cell's box, zoomed into, holds
    // its meters one by one.
    let (_, map) = get(&base, "/api/map").await;
    let cells = map["cells"].as_array().expect("cells at low zoom");
    assert!(map.get("meters").is_none());
    let counted: u64 = cells.iter().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, u64::from(count));
    let cell = &cells[0];
    let b = &cell["box"];
    let (_, zoomed) = get(
        &base,
        &format!(
            "/api/map?x0={}&y0={}&x1={}&y1={}",
            b["x0"], b["y0"], b["x1"], b["y1"]
        ),
    )
    .await;
    let meters = zoomed["meters"].as_array().expect("meters when zoomed in");
    assert_eq!(meters.len() as u64, cell["count"].as_u64().unwrap());
    assert!(meters.iter().all(|m| {
        let (x, y) = (m["x"].as_f64().unwrap(), m["y"].as_f64().unwrap());
        x >= b["x0"].as_f64().unwrap()
            && x <= b["x1"].as_f64().unwrap()
            && y >= b["y0"].as_f64().unwrap()
            && y <= b["y1"].as_f64().unwrap()
    }));

    // Bad asks are refused with what to send.
    for path in [
        "/api/meters?limit=0",
        "/api/meters?limit=201",
        "/api/meters?filter=dark",
        "/api/meters?offset=-1",
        "/api/map?x0=0.5&x1=0.2",
        "/api/map?x0=NaN",
        "/api/residents?limit=abc",
    ] {
        let (status, body) = get(&base, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}"
        );
    }
    net.shutdown().await.unwrap();
}
