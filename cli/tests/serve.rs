//! `deu serve` with payments, as an operator runs it: the built binaries (`deu localnet`,
//! `deu sandbox`, `deu serve`) as processes, settings from a config file and environment
//! variables, a purchase through the sandbox's hosted checkout and a sale paid out, checked
//! with `deu resident show`. And `deu serve` refusing to start without a webhook secret.

mod common;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const PAYMENT_ENV: [&str; 8] = [
    "DEU_WEBHOOK_SECRET",
    "DEU_PROCESSOR_URL",
    "DEU_PROCESSOR_KEY",
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

    // Selling: this server holds no resident's key, so Carlos signs the sale himself, naming
    // the bank account the dollars go to.
    let unsigned = json!({"resident": "carlos", "usd": "1.00", "bank_account": "000123456789"});
    let (status, refused) = post("/api/sell", unsigned).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("deu withdraw request 10.000000 --to 000123456789 --from carlos"),
        "{refused}"
    );
    let signed = cli.ok(
        "carlos",
        &["withdraw", "request", "10", "--to", "000123456789"],
    );
    assert_eq!(signed["sale"], 0, "{signed}");
    assert_eq!(signed["status"], "requested");
    assert_eq!(signed["worth_usd"], "1.00");
    // Someone else cannot send its dollars to their own account.
    let (status, stolen) = post(
        "/api/sell",
        json!({"resident": "carlos", "sale": 0, "bank_account": "000111111116"}),
    )
    .await;
    assert_eq!(status, 403, "{stolen}");
    let (status, payout) = post(
        "/api/sell",
        json!({"resident": "carlos", "sale": 0, "bank_account": "000123456789"}),
    )
    .await;
    assert_eq!(status, 200, "{payout}");
    let after = until("the payout", &|r| {
        r["locked_k"] == "0.000000" && r["escrow_k"] == "0.000000"
    });
    assert_eq!(after["balance_k"], "20.000000");
    let sales = cli.ok("carlos", &["withdraw", "list"]);
    assert_eq!(sales[0]["status"], "paid", "{sales}");
    assert_eq!(sales[0]["usd"], "1.00");

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
    assert_eq!(
        applied,
        ["checkout.session.completed", "payout.paid"],
        "{lines:?}"
    );
    drop(cluster);
}
