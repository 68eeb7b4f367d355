//! The HTTP API against a real local cluster with the demo community: every endpoint, bad
//! input refused with a clear error and nothing changed on chain.

mod common;

use common::{answer, cluster};
use energy_utility_app::{demo, App};
use energy_utility_localnet::Localnet;
use energy_utility_sdk::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;

const BAD_REQUEST: StatusCode = StatusCode::BAD_REQUEST;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const CONFLICT: StatusCode = StatusCode::CONFLICT;

struct Demo {
    /// The cluster, when this server started it.
    net: Option<Localnet>,
    base: String,
    http: reqwest::Client,
}

async fn demo_app(name: &str) -> Demo {
    let (net, _) = cluster(name).await;
    let client = Client::new(&net.rpc_url(), Keypair::new());
    let custody = demo::seed(&client, "demo")
        .await
        .expect("seed the community");
    let app = App::new(client, "demo", Some(custody), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(energy_utility_app::serve(app, listener));
    Demo {
        net: Some(net),
        base,
        http: reqwest::Client::new(),
    }
}

impl Demo {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base))).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        answer(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    async fn post_raw(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let request = self.http.post(format!("{}{path}", self.base));
        answer(
            request
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    async fn meter(&self, id: &str) -> Value {
        let (status, meter) = self.get(&format!("/api/meters/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        meter
    }

    async fn resident_balance(&self, id: &str) -> String {
        let (_, resident) = self.get(&format!("/api/residents/{id}")).await;
        resident["balance_k"].as_str().unwrap().to_string()
    }
}

fn meter_in<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["meters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn state_pages_and_the_hourly_clock() {
    let d = demo_app("state").await;
    for page in [
        "/",
        "/resident.html",
        "/meter.html",
        "/static/js/map.js",
        "/static/js/wallet.js",
        "/static/style.css",
    ] {
        let response = d
            .http
            .get(format!("{}{page}", d.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
    }
    let (status, state) = d.get("/api/state").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state["demo"], true);
    assert_eq!(state["chain"], "solana:localnet");
    let meters = state["meters"].as_array().unwrap();
    assert_eq!(meters.len(), 16);
    let kinds = |k: &str| meters.iter().filter(|m| m["kind"] == k).count();
    assert_eq!(
        (
            kinds("producer"),
            kinds("household"),
            kinds("pole"),
            kinds("stadium")
        ),
        (5, 7, 3, 1)
    );
    // Two prosumer homes: each import side names its export side, and back.
    for home in ["ivy-home", "jon-home"] {
        let import = meter_in(&state, home);
        let export = meter_in(&state, &format!("{home}-export"));
        assert_eq!(import["partner"], export["address"], "{home}");
        assert_eq!(export["partner"], import["address"], "{home}");
    }
    assert!(meters
        .iter()
        .all(|m| (0.0..=1.0).contains(&m["x"].as_f64().unwrap())));
    assert_eq!(meter_in(&state, "carlos-house")["balance_k"], "20.000000");
    assert_eq!(meter_in(&state, "pole-3")["connected"], false);
    let epoch = state["clock"]["epoch"].as_u64().unwrap();

    // One hour passes: readings, settlement, payouts — all read back from the chain.
    let (status, after) = d.post("/api/clock/advance", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["clock"]["epoch"].as_u64().unwrap(), epoch + 1);
    assert_eq!(after["grid"]["treasury_k"], "0.010000");
    let ledger = &after["last_settlement"];
    assert_eq!(ledger["epoch"].as_u64().unwrap(), epoch);
    assert_eq!(ledger["state"], "settled");
    let consumed: f64 = ledger["consumed_kwh"].as_str().unwrap().parse().unwrap();
    let produced: f64 = ledger["produced_kwh"].as_str().unwrap().parse().unwrap();
    assert!(consumed > 0.0);
    assert!(
        (produced - consumed * 1.1).abs() < 0.01,
        "losses are 10%: {consumed} → {produced}"
    );
    // Three roofs and the two prosumer homes' export sides.
    assert_eq!(ledger["payouts"].as_array().unwrap().len(), 5);
    // The ratio of the demo's 10 % losses sits inside the grid's loss band.
    assert_eq!(ledger["outside_loss_band"], false);
    let ratio: f64 = ledger["loss_ratio"].as_str().unwrap().parse().unwrap();
    assert!((1.099..=1.100).contains(&ratio), "{ratio}");
    let carlos = meter_in(&after, "carlos-house");
    assert!(carlos["balance_k"].as_str().unwrap() < "20.000000");
    assert!(carlos["last_kwh"].is_string());
    // The demo's gateways report registers: the register moved by exactly the hour's kWh.
    assert_eq!(carlos["register_kwh"], carlos["last_kwh"], "{carlos}");
    assert_eq!(carlos["last_hours"], 1);
    assert_eq!(carlos["capacity_kw"], "20.000");
    // Producers' earnings were collected to their owners.
    assert_ne!(d.resident_balance("angel").await, "30.000000");
    let (_, angel) = d.get("/api/residents/angel").await;
    assert!(angel["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["kind"] == "payout"));
    let meter = d.meter("carlos-house").await;
    assert_eq!(meter["readings"][0]["epoch"].as_u64().unwrap(), epoch);
    assert_eq!(meter["readings"][0]["status"], "settled");
    // How long its coins last: the hour's use, at the tariff, against what is not yet spoken
    // for (the hour is settled: nothing committed), rounded down.
    use energy_utility_sdk::amounts::{parse_k, parse_kwh};
    let wh = parse_kwh(meter["last_kwh"].as_str().unwrap()).unwrap();
    let tariff = parse_k(after["grid"]["tariff_k_per_kwh"].as_str().unwrap()).unwrap();
    let spendable = parse_k(meter["balance_k"].as_str().unwrap()).unwrap()
        - parse_k(meter["committed_k"].as_str().unwrap()).unwrap();
    let forecast = &meter["forecast"];
    assert_eq!(forecast["kwh_per_hour"], meter["last_kwh"], "{forecast}");
    let hours = spendable / (wh * tariff).div_ceil(1_000);
    assert_eq!(
        forecast["hours_left"].as_u64().unwrap(),
        hours,
        "{forecast}"
    );
    assert!(
        forecast["words"].as_str().unwrap().starts_with('≈'),
        "{forecast}"
    );
    // A producer has none.
    assert!(d.meter("angel-roof").await["forecast"].is_null());

    let (status, payments) = d.get("/api/payments").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(payments["configured"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn funding_a_dark_pole_reconnects_it_and_bad_input_changes_nothing() {
    let d = demo_app("fund").await;
    assert_eq!(d.meter("pole-3").await["connected"], false);
    let before = d.resident_balance("carlos").await;
    let (status, funded) = d
        .post(
            "/api/fund",
            json!({"from": "carlos", "meter": "pole-3", "amount_k": "2.5"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{funded}");
    assert_eq!(funded["meter"]["connected"], true);
    assert_eq!(funded["meter"]["balance_k"], "2.500000");
    assert_eq!(funded["resident"]["balance_k"], "27.500000");
    assert_eq!(before, "30.000000");
    let pole = d.meter("pole-3").await;
    assert_eq!(pole["funders"][0]["resident"], "carlos");

    // (from, meter, amount_k) refused with (status, what the error says).
    #[rustfmt::skip]
    let cases = [
        ("nobody", "pole-3",     json!("1"),                    NOT_FOUND,   "resident 'nobody' not found"),
        ("carlos", "nowhere",    json!("1"),                    NOT_FOUND,   "meter 'nowhere' not found"),
        ("carlos", "pole-3",     json!("-1"),                   BAD_REQUEST, "must not be negative"),
        ("carlos", "pole-3",     json!("0"),                    BAD_REQUEST, "more than zero"),
        ("carlos", "pole-3",     json!("lots"),                 BAD_REQUEST, "not a decimal number"),
        ("carlos", "pole-3",     json!("1.0000001"),            BAD_REQUEST, "more than 6 decimals"),
        ("carlos", "pole-3",     json!("99999999999999999999"), BAD_REQUEST, "too large"),
        ("carlos", "pole-3",     json!("1000"),                 CONFLICT,    "Not enough coins"),
        ("carlos", "angel-roof", json!("1"),                    CONFLICT,    "Only consumer meters can be funded"),
        ("carlos", "pole-3",     json!(true),                   BAD_REQUEST, "decimal number"),
    ];
    let bodies = cases.map(|(from, meter, amount, status, message)| {
        (
            json!({"from": from, "meter": meter, "amount_k": amount}),
            status,
            message,
        )
    });
    let incomplete = (json!({"from": "carlos"}), BAD_REQUEST, "send");
    for (body, status, message) in bodies.into_iter().chain([incomplete]) {
        let (got, error) = d.post("/api/fund", body.clone()).await;
        assert_eq!(got, status, "{body}: {error}");
        assert!(
            error["error"].as_str().unwrap().contains(message),
            "{body}: {error}"
        );
    }
    let (status, error) = d.post_raw("/api/fund", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    // Nothing moved.
    assert_eq!(d.resident_balance("carlos").await, "27.500000");
    assert_eq!(d.meter("pole-3").await["balance_k"], "2.500000");

    let (status, error) = d.get("/api/residents/nobody").await;
    assert_eq!(
        (status, error["error"].as_str().unwrap()),
        (StatusCode::NOT_FOUND, "resident 'nobody' not found")
    );
    let (status, _) = d.get("/api/meters/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn solana_pay_returns_an_unsigned_fund_transaction_for_the_residents_wallet() {
    let d = demo_app("pay").await;
    let (status, label) = d
        .get("/api/pay/fund?from=carlos&meter=pole-3&amount_k=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(label["label"].is_string());
    let (_, carlos) = d.get("/api/residents/carlos").await;
    let wallet = carlos["owner"].as_str().unwrap();
    let (status, tx) = d
        .post(
            "/api/pay/fund?from=carlos&meter=pole-3&amount_k=1",
            json!({"account": wallet}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tx}");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(tx["transaction"].as_str().unwrap())
        .unwrap();
    let decoded: solana_transaction::Transaction = bincode::deserialize(&bytes).unwrap();
    assert_eq!(decoded.message.account_keys[0].to_string(), wallet);
    // The funding, and the memo that makes this request a transaction of its own.
    assert_eq!(decoded.message.instructions.len(), 2);
    let program = |i: usize| {
        decoded.message.account_keys[usize::from(decoded.message.instructions[i].program_id_index)]
    };
    assert_eq!(program(0), energy_utility_sdk::PROGRAM_ID);
    assert_eq!(
        program(1),
        energy_utility_sdk::instructions::MEMO_PROGRAM_ID
    );
    let (status, _) = d
        .post(
            "/api/pay/fund?from=carlos&meter=pole-3&amount_k=1",
            json!({"account": "11111111111111111111111111111111"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A second server over the same cluster, with nothing in memory.
async fn another_server(d: &Demo) -> Demo {
    let url = d
        .net
        .as_ref()
        .expect("the first server's cluster")
        .rpc_url();
    let client = Client::new(&url, Keypair::new());
    let app = App::new(client, "demo", None, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(energy_utility_app::serve(app, listener));
    Demo {
        net: None,
        base,
        http: reqwest::Client::new(),
    }
}

fn entries<'a>(history: &'a Value, kind: &str) -> Vec<&'a Value> {
    history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn histories_come_from_the_chain_and_another_server_tells_the_same() {
    let d = demo_app("history").await;
    let (status, after) = d.post("/api/clock/advance", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let epoch = after["last_settlement"]["epoch"].as_u64().unwrap();
    let payout = after["last_settlement"]["payouts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["owner"] == "angel")
        .unwrap()
        .clone();
    // Danny lights the dark pole.
    let (status, funded) = d
        .post(
            "/api/fund",
            json!({"from": "danny", "meter": "pole-3", "amount_k": "1.5"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{funded}");

    // Angel: bought coins at seeding, her roof was paid for the hour, the payout collected.
    let (_, angel) = d.get("/api/residents/angel").await;
    let history = &angel["history"];
    let fiat = entries(history, "fiat");
    assert_eq!(fiat.len(), 1, "{history}");
    assert!(fiat[0]["detail"]
        .as_str()
        .unwrap()
        .contains("(payment demo-buy-angel)"));
    let paid = entries(history, "payout");
    assert_eq!(paid.len(), 1, "{history}");
    assert_eq!(paid[0]["meter"], payout["meter"]);
    assert_eq!(paid[0]["epoch"].as_u64().unwrap(), epoch);
    assert_eq!(paid[0]["amount_k"], payout["payout_k"]);
    assert_eq!(
        paid[0]["detail"],
        format!(
            "{} kWh produced in hour {epoch}",
            payout["kwh"].as_str().unwrap()
        )
    );
    let collected = entries(history, "collected");
    assert_eq!(collected.len(), 1, "{history}");
    assert_eq!(collected[0]["amount_k"], payout["payout_k"]);
    // Newest first, each with the transaction that did it.
    let times: Vec<i64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["signature"].as_str().unwrap().len() >= 86));

    // Danny's funding is in his history and in the pole's funders.
    let (_, danny) = d.get("/api/residents/danny").await;
    let funded = entries(&danny["history"], "funded");
    assert_eq!(funded[0]["meter"], "pole-3", "{}", danny["history"]);
    assert_eq!(funded[0]["amount_k"], "1.500000");
    let pole = d.meter("pole-3").await;
    assert_eq!(pole["funders"][0]["resident"], "danny", "{pole}");
    assert_eq!(pole["funders"][0]["amount_k"], "1.500000");
    assert_eq!(pole["funders"][0]["signature"], funded[0]["signature"]);

    // A server started afterwards, with nothing in memory, tells all of it the same.
    let other = another_server(&d).await;
    for path in [
        "/api/residents/angel",
        "/api/residents/danny",
        "/api/residents/carlos",
    ] {
        let (_, here) = d.get(path).await;
        let (_, there) = other.get(path).await;
        assert_eq!(here["history"], there["history"], "{path}");
        assert!(!here["history"].as_array().unwrap().is_empty(), "{path}");
    }
    assert_eq!(
        d.meter("pole-3").await["funders"],
        other.meter("pole-3").await["funders"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn quotes_are_the_sdks_at_the_grid_price_and_bad_input_is_refused() {
    use energy_utility_sdk::amounts::{format_k, format_usd, parse_usd};
    use energy_utility_sdk::fiat;

    let d = demo_app("quote").await;
    let (_, state) = d.get("/api/state").await;
    let price_usd = state["grid"]["coin_price_usd"]
        .as_str()
        .unwrap()
        .to_string();
    let price = parse_usd(&price_usd).unwrap();
    let quote = |usd: u64, units: u64| (format_usd(usd), format_k(units));

    // From dollars: what they buy (rounded down); the coins a payout takes (rounded up) and the
    // payout those coins get.
    let sold = |cents| fiat::quote_sell_units(cents, price).unwrap();
    let bought_for = |units| fiat::cents_to_buy_ceil(units, price).unwrap();
    let cases = [
        (
            "buy",
            "usd=5",
            quote(500, fiat::quote_buy(500, price).unwrap()),
        ),
        (
            "buy",
            "usd=%242.57",
            quote(257, fiat::quote_buy(257, price).unwrap()),
        ),
        (
            "sell",
            "usd=1.00",
            quote(
                fiat::quote_payout_cents(sold(100), price).unwrap(),
                sold(100),
            ),
        ),
        (
            "sell",
            "usd=0.07",
            quote(fiat::quote_payout_cents(sold(7), price).unwrap(), sold(7)),
        ),
        // From coins: the fewest dollars that buy them (and all those buy), or a sale's payout.
        (
            "buy",
            "coins_k=1.234567",
            quote(
                bought_for(1_234_567),
                fiat::quote_buy(bought_for(1_234_567), price).unwrap(),
            ),
        ),
        (
            "sell",
            "coins_k=3.333333",
            quote(
                fiat::quote_payout_cents(3_333_333, price).unwrap(),
                3_333_333,
            ),
        ),
    ];
    for (side, amount, (usd, coins_k)) in cases {
        let query = format!("side={side}&{amount}");
        let (status, answer) = d.get(&format!("/api/quote?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {answer}");
        assert_eq!(answer["side"], side, "{query}");
        assert_eq!(answer["usd"], usd, "{query}");
        assert_eq!(answer["coins_k"], coins_k, "{query}");
        assert_eq!(answer["coin_price_usd"], price_usd.as_str(), "{query}");
    }

    let refused = [
        ("side=lend&usd=1", "side must be buy or sell"),
        ("usd=1", "side must be buy or sell"),
        (
            "side=buy&usd=abc",
            "invalid dollar amount: 'abc' is not a decimal number",
        ),
        (
            "side=sell&usd=1.005",
            "invalid dollar amount: the amount has more than 2 decimals",
        ),
        (
            "side=buy&usd=-1",
            "invalid dollar amount: the amount must not be negative",
        ),
        (
            "side=buy&coins_k=1.0000001",
            "invalid amount: the amount has more than 6 decimals",
        ),
        (
            "side=buy",
            "send one amount: usd (dollars) or coins_k (coins)",
        ),
        (
            "side=buy&usd=1&coins_k=1",
            "send one amount: usd (dollars) or coins_k (coins)",
        ),
        (
            "side=sell&usd=184467440737095516.15",
            "the amount is too large to quote",
        ),
    ];
    for (query, error) in refused {
        let (status, answer) = d.get(&format!("/api/quote?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
        assert_eq!(answer["error"], error, "{query}");
    }
}

/// Registrations take the grid's next directory slot by themselves (`Client::register_resident`
/// and `register_meter` read its counter): on a grid that already has a community, and when two
/// wallets race for the same slot, the one that loses it reads the counter again and lands next.
#[tokio::test(flavor = "multi_thread")]
async fn registrations_read_the_grids_counter_and_two_racing_for_one_slot_both_land() {
    use energy_utility_sdk::accounts::MeterKind;
    use energy_utility_sdk::events::Event;
    use energy_utility_sdk::instructions::RegisterMeterArgs;
    use energy_utility_sdk::meters::default_capacity_w;
    use energy_utility_sdk::pda;
    use solana_signer::Signer;

    let (net, _) = cluster("register").await;
    // The seeding client's payer is the grid's admin.
    let admin = Client::new(&net.rpc_url(), Keypair::new());
    demo::seed(&admin, "register").await.expect("seed");
    let (grid, before) = admin.grid("register").await.unwrap();
    assert!(before.resident_count > 0 && before.meter_count > 0);

    let (kai, jo) = (Keypair::new(), Keypair::new());
    for wallet in [&kai, &jo] {
        admin
            .airdrop(&wallet.pubkey(), 1_000_000_000)
            .await
            .unwrap();
    }
    let (a, b) = tokio::join!(
        admin.register_resident(&kai, &grid, "kai"),
        admin.register_resident(&jo, &grid, "jo"),
    );
    for (sent, id) in [
        (a.expect("kai registers"), "kai"),
        (b.expect("jo registers"), "jo"),
    ] {
        assert!(
            sent.events
                .iter()
                .any(|e| matches!(e, Event::ResidentRegistered(r) if r.id == id)),
            "{id}: {:?}",
            sent.events
        );
    }
    let (_, after) = admin.grid("register").await.unwrap();
    assert_eq!(after.resident_count, before.resident_count + 2);
    let residents = admin.residents(&grid, after.resident_count).await.unwrap();
    let mut newest: Vec<&str> = residents[residents.len() - 2..]
        .iter()
        .map(|(_, r)| r.id.as_str())
        .collect();
    newest.sort();
    assert_eq!(newest, ["jo", "kai"], "both listed in the grid's directory");

    let args = RegisterMeterArgs {
        meter_id: "kai-house".into(),
        kind: MeterKind::Household,
        gateway: Keypair::new().pubkey(),
        label: "Ivy's house".into(),
        latitude_micro: 0,
        longitude_micro: 0,
        capacity_w: default_capacity_w(MeterKind::Household),
        register_wh: 0,
    };
    let sent = admin
        .register_meter(&grid, &pda::resident(&grid, "kai"), args)
        .await
        .expect("the meter registers at the next slot");
    assert!(sent
        .events
        .iter()
        .any(|e| matches!(e, Event::MeterRegistered(m) if m.id == "kai-house")));
    let meters = admin.meters(&grid, before.meter_count + 1).await.unwrap();
    assert_eq!(meters.len() as u32, before.meter_count + 1);
    assert_eq!(meters.last().unwrap().1.id, "kai-house");
    net.shutdown().await.unwrap();
}
