//! `deu serve` with payments, as an operator runs it: the built binaries (`deu localnet`,
//! `deu sandbox`, `deu serve`) as processes, settings from a config file and environment
//! variables, a purchase through the sandbox's hosted checkout, the resident's connected
//! account onboarded and bound, and a sale transferred after the card hold, checked with
//! `deu resident show`. And `deu serve` refusing to start without a webhook secret, with a
//! secret on its command line, or with test money on mainnet-beta (live money elsewhere).

mod common;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const PAYMENT_ENV: [&str; 10] = [
    "DEU_WEBHOOK_SECRET",
    "DEU_WEBHOOK_SECRET_FILE",
    "DEU_PROCESSOR_URL",
    "DEU_PROCESSOR_KEY",
    "DEU_PROCESSOR_KEY_FILE",
    "DEU_ORACLE_KEYPAIR",
    "DEU_PUBLIC_URL",
    "DEU_COIN_PRICE",
    "DEU_DELIVERY_LOG",
    "DEU_PAYMENTS_CONFIG",
];

fn deu() -> Command {
    let mut command = Command::new(DEU);
    for var in PAYMENT_ENV {
        command.env_remove(var);
    }
    command
}

/// A child process killed when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first form of an HTML page: its action and its inputs' names and values.
fn form_of(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].replace("&amp;", "&"))
    };
    let form = &html[html.find("<form").expect("a form")..];
    let form = &form[..form.find("</form>").expect("the form's end")];
    let action = attr(&form[..form.find('>').unwrap()], "action").unwrap_or_default();
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("<input") {
        let end = rest[at..].find('>').unwrap() + at;
        if let Some(name) = attr(&rest[at..end], "name") {
            fields.push((name, attr(&rest[at..end], "value").unwrap_or_default()));
        }
        rest = &rest[end..];
    }
    (action, fields)
}

fn wait_for_port(port: u16, what: &str, child: &mut Running) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("{what} exited with {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on port {port}");
}

#[test]
fn serve_refuses_to_start_without_a_webhook_secret() {
    let dir = std::env::temp_dir().join(format!("deu-serve-refuses-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port().to_string();
    let out = deu().args(["serve", "--port", &port]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("webhook secret"), "{stderr}");
    assert!(stderr.contains("--without-payments"), "{stderr}");

    // A config file with everything but the secret is refused the same way.
    let config = dir.join("payments.toml");
    std::fs::write(
        &config,
        "processor_key = \"sk_test_x\"\noracle_keypair = \"/nonexistent.json\"\n",
    )
    .unwrap();
    let out = deu()
        .args(["serve", "--port", &port, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("webhook secret"), "{stderr}");
    assert!(!stderr.contains("API key"), "{stderr}");
    // Nothing listens on the port.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_the_sandbox_buys_and_sells_coins_over_http() {
    let cluster = Cluster::start("serve");
    let cli = cluster.deu();
    let (url, dir) = (cli.url, cli.dir);
    cli.pubkey("admin");
    cli.ok("admin", &["airdrop", "10"]);
    let carlos = cli.pubkey("carlos");
    cli.ok("admin", &["airdrop", "1", &carlos]);
    cli.ok("admin", &["grid", "init"]);
    cli.ok("carlos", &["resident", "register", "carlos"]);

    let (serve_port, sandbox_port) = (free_port(), free_port());
    let base = format!("http://127.0.0.1:{serve_port}");
    let secret = "whsec_serve_test_secret";
    let sandbox = deu()
        .args(["sandbox", "--port", &sandbox_port.to_string()])
        .args(["--webhook-url", &format!("{base}/webhooks/processor")])
        .env("DEU_WEBHOOK_SECRET", secret)
        .env("DEU_PROCESSOR_KEY", "sk_test_serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sandbox = Running(sandbox);
    wait_for_port(sandbox_port, "deu sandbox", &mut sandbox);

    // The secret from the environment, the rest from a config file.
    let log = dir.join("deliveries.jsonl");
    let config = dir.join("payments.toml");
    let mut file = std::fs::File::create(&config).unwrap();
    writeln!(file, "processor_url = \"http://127.0.0.1:{sandbox_port}\"").unwrap();
    writeln!(file, "processor_key = \"sk_test_serve\"").unwrap();
    writeln!(
        file,
        "oracle_keypair = {:?}",
        cli.key("admin").display().to_string()
    )
    .unwrap();
    writeln!(file, "coin_price = \"0.10\"").unwrap();
    writeln!(file, "delivery_log = {:?}", log.display().to_string()).unwrap();
    let serve = deu()
        .args([
            "-u",
            url,
            "--grid",
            "seed",
            "serve",
            "--port",
            &serve_port.to_string(),
        ])
        .arg("--config")
        .arg(&config)
        .env("DEU_WEBHOOK_SECRET", secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Running(serve);
    wait_for_port(serve_port, "deu serve", &mut serve);

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let show = || cli.ok("carlos", &["resident", "show", "carlos"]);
    let until = |what: &str, check: &dyn Fn(&Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let shown = show();
            if check(&shown) {
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {shown}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    };

    // Buy $3.00 of coins: checkout at the sandbox, the card, the webhook, 30 k minted.
    let (status, order) = post("/api/buy", json!({"resident": "carlos", "usd": "3.00"})).await;
    assert_eq!(status, 200, "{order}");
    let checkout = order["checkout_url"].as_str().unwrap();
    assert!(checkout.starts_with(&format!("http://127.0.0.1:{sandbox_port}/")));
    let paid = http
        .post(checkout)
        .form(&[
            ("card_number", "4242 4242 4242 4242"),
            ("card_expiry", "12 / 34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 303);
    until("the purchase", &|r| r["balance_k"] == "30.000000");

    // Selling: Carlos opens a connected account (the sandbox's hosted onboarding, its test
    // data) and binds it with his own keypair.
    let (status, link) = post("/api/connect", json!({"resident": "carlos"})).await;
    assert_eq!(status, 200, "{link}");
    let account = link["account"].as_str().unwrap().to_string();
    let page = http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (action, fields) = form_of(&page);
    let done = http
        .post(format!("http://127.0.0.1:{sandbox_port}{action}"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 303, "onboarded");
    let bound = cli.ok("carlos", &["resident", "payout-account", "set", &account]);
    assert_eq!(bound["payout_account"], json!(account), "{bound}");

    // This server holds no resident's key: Carlos signs the sale himself. His card-bought coins
    // wait for the grid's 14-day hold.
    let unsigned = json!({"resident": "carlos", "usd": "1.00"});
    let (status, refused) = post("/api/sell", unsigned).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("deu withdraw request 10.000000 --from carlos"),
        "{refused}"
    );
    let held = cli.fails("carlos", &["withdraw", "request", "10"]);
    assert!(held.contains("held from sale"), "{held}");
    cli.ok("admin", &["clock", "advance", "--hours", "337"]);
    let signed = cli.ok("carlos", &["withdraw", "request", "10"]);
    assert_eq!(signed["sale"], 0, "{signed}");
    assert_eq!(signed["status"], "requested");
    assert_eq!(signed["worth_usd"], "1.00");
    assert_eq!(signed["destination"], json!(account));
    // Nobody can send its dollars elsewhere.
    let (status, stolen) = post(
        "/api/sell",
        json!({"resident": "carlos", "sale": 0, "to": "acct_attacker"}),
    )
    .await;
    assert_eq!(status, 400, "{stolen}");
    let (status, transfer) = post("/api/sell", json!({"resident": "carlos", "sale": 0})).await;
    assert_eq!(status, 200, "{transfer}");
    assert_eq!(transfer["destination"], json!(account), "{transfer}");
    let after = until("the transfer", &|r| {
        r["locked_k"] == "0.000000" && r["escrow_k"] == "0.000000"
    });
    assert_eq!(after["balance_k"], "20.000000");
    let sales = cli.ok("carlos", &["withdraw", "list"]);
    assert_eq!(sales[0]["status"], "paid", "{sales}");
    assert_eq!(sales[0]["usd"], "1.00");
    assert_eq!(sales[0]["payout_id"], transfer["transfer_id"]);

    // Every delivery is in the log file, one JSON line each.
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let applied: Vec<&str> = lines
        .iter()
        .filter(|l| l["result"] == "applied")
        .map(|l| l["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(applied[0], "checkout.session.completed", "{lines:?}");
    // The sale recorded its transfer when it was made, and so does the processor's event:
    // whichever came second found it done.
    let deadline = Instant::now() + Duration::from_secs(30);
    let transfer_events = loop {
        let found: Vec<Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["event_type"] == "transfer.created")
            .collect();
        if !found.is_empty() {
            break found;
        }
        assert!(Instant::now() < deadline, "no transfer.created delivery");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(transfer_events.len(), 1, "{transfer_events:?}");
    assert!(
        ["applied", "duplicate"].contains(&transfer_events[0]["result"].as_str().unwrap()),
        "{transfer_events:?}"
    );
    drop(cluster);
}

#[test]
fn serve_takes_secrets_only_from_the_environment_or_files_never_from_flags() {
    let dir = std::env::temp_dir().join(format!("deu-serve-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port().to_string();
    for (flag, value) in [
        ("--webhook-secret", "whsec_visible_to_ps"),
        ("--processor-key", "sk_test_visible_to_ps"),
    ] {
        let out = deu()
            .args(["serve", "--port", &port, flag, value])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("is refused"), "{stderr}");
        assert!(stderr.contains("ps"), "{stderr}");
        assert!(
            !stderr.contains(value),
            "the secret is not echoed: {stderr}"
        );
    }
    // From files: read, and never printed, whatever else goes wrong.
    let secret = dir.join("webhook-secret");
    std::fs::write(&secret, "whsec_from_a_file_xyz\n").unwrap();
    let key = dir.join("processor-key");
    std::fs::write(&key, "sk_test_from_a_file_xyz\n").unwrap();
    let out = deu()
        .args([
            "serve",
            "--port",
            &port,
            "--oracle-keypair",
            "/nonexistent.json",
        ])
        .arg("--webhook-secret-file")
        .arg(&secret)
        .arg("--processor-key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("oracle keypair"), "{stderr}");
    assert!(
        !stderr.contains("whsec_from_a_file_xyz") && !stderr.contains("sk_test_from_a_file_xyz"),
        "{stderr}"
    );
}

/// A JSON-RPC endpoint that tells it is mainnet-beta (its genesis hash) and forwards every
/// other call to the local cluster at `upstream`: what `deu serve` sees when pointed at
/// mainnet.
async fn mainnet_lookalike(upstream: String) -> String {
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let http = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        post(move |body: axum::Json<Value>| {
            let (http, upstream) = (http.clone(), upstream.clone());
            async move {
                let axum::Json(request) = body;
                if request["method"] == "getGenesisHash" {
                    return axum::Json(json!({"jsonrpc": "2.0", "id": request["id"],
                        "result": "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"}));
                }
                let answer: Value = http
                    .post(&upstream)
                    .json(&request)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                axum::Json(answer)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_test_money_on_mainnet_beta_and_live_money_on_a_local_cluster() {
    let cluster = Cluster::start("serve-modes");
    let cli = cluster.deu();
    cli.pubkey("admin");
    cli.ok("admin", &["airdrop", "10"]);
    cli.ok("admin", &["grid", "init"]);
    let mainnet = mainnet_lookalike(cli.url.to_string()).await;
    let start = |rpc: &str, key: &str| {
        let port = free_port();
        let out = deu()
            .args(["-u", rpc, "--grid", "seed", "serve", "--port"])
            .arg(port.to_string())
            .arg("--oracle-keypair")
            .arg(cli.key("admin"))
            .env("DEU_WEBHOOK_SECRET", "whsec_modes")
            .env("DEU_PROCESSOR_KEY", key)
            .env("DEU_PROCESSOR_URL", "http://127.0.0.1:9")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = Running(out);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                return (Some(status), stderr);
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                || Instant::now() > deadline
            {
                return (None, String::new());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // A test key against mainnet-beta: test cards would mint real coins.
    let (status, stderr) = tokio::task::block_in_place(|| start(&mainnet, "sk_test_modes"));
    assert!(status.is_some_and(|s| !s.success()), "{stderr}");
    assert!(stderr.contains("mainnet-beta"), "{stderr}");
    assert!(
        stderr.contains("test cards would mint real coins"),
        "{stderr}"
    );
    assert!(!stderr.contains("sk_test_modes"), "{stderr}");
    // A live key against the local cluster: real dollars for coins anyone can reset.
    let (status, stderr) = tokio::task::block_in_place(|| start(cli.url, "sk_live_modes"));
    assert!(status.is_some_and(|s| !s.success()), "{stderr}");
    assert!(
        stderr.contains("a live processor key against a local cluster"),
        "{stderr}"
    );
    // The live key against mainnet-beta passes the check (and then serves).
    let (status, stderr) = tokio::task::block_in_place(|| start(&mainnet, "sk_live_modes"));
    assert!(status.is_none(), "the live key on mainnet starts: {stderr}");
}
