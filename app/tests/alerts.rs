//! Alerts against real servers: a real SMTP server (Debian's aiosmtpd, started here: see
//! app/tests/setup-smtp.sh) and an HTTP receiver that checks the webhook's signature. One
//! e-mail and one webhook per crossing, none again while it lasts, none after a restart, one
//! more for the next crossing; a subscription signed by someone else is refused.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use common::{answer, cluster};
use energy_utility_app::alerts::{Alerts, AlertsConfig, Subscription};
use energy_utility_app::{demo, App};
use energy_utility_sdk::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

const SECRET: &str = "whsec_alerts_test";

/// A Python with aiosmtpd (Debian's python3-aiosmtpd).
fn python() -> &'static str {
    for candidate in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(candidate)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return candidate;
        }
    }
    panic!("aiosmtpd is missing: run bash app/tests/setup-smtp.sh");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_email_and_one_webhook_per_crossing_across_a_restart() {
    // The SMTP server: every message it takes is printed; we count the notices' headers.
    let smtp_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut smtp = Command::new(python())
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Debugging",
            "stdout",
            "-l",
        ])
        .arg(format!("127.0.0.1:{smtp_port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let mails: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let mails = mails.clone();
        let out = smtp.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(id) = line.strip_prefix("X-Deu-Notice: ") {
                    mails.lock().unwrap().push(id.to_string());
                }
            }
        });
    }
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The operator's webhook: keeps what it got, refusing a bad signature.
    let hooks: Arc<Mutex<Vec<Value>>> = Arc::default();
    let receiver = {
        let hooks = hooks.clone();
        axum::Router::new().route(
            "/sms",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let hooks = hooks.clone();
                async move {
                    let header = headers["deu-signature"].to_str().unwrap().to_string();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs() as i64;
                    if energy_utility_payments::signature::verify(
                        SECRET,
                        &header,
                        body.as_bytes(),
                        now,
                        300,
                    )
                    .is_err()
                    {
                        return StatusCode::BAD_REQUEST;
                    }
                    hooks
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap());
                    StatusCode::OK
                }
            }),
        )
    };
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/sms", hook_listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(hook_listener, receiver).await });

    // The demo community with alerts.
    let dir = std::env::temp_dir().join(format!("deu-alerts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = AlertsConfig {
        file: dir.join("alerts.json"),
        smtp: Some(format!("127.0.0.1:{smtp_port}")),
        from: "grid@village.example".into(),
        webhook: Some((hook_url, SECRET.into())),
        every: Duration::from_millis(200),
    };
    let (net, _) = cluster("alerts").await;
    let client = Client::new(&net.rpc_url(), Keypair::new());
    let custody = demo::seed(&client, "demo").await.expect("seed");
    let carlos_wallet = custody.resident("carlos").unwrap().insecure_clone();
    let app = App::new(client, "demo", Some(custody), None);
    let _ = app.alerts.set(Alerts::open(config.clone()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(energy_utility_app::serve(app.clone(), listener));
    let http = reqwest::Client::new();
    let post_json = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body);
    let settle = || async { tokio::time::sleep(Duration::from_millis(1_500)).await };
    let counts = || {
        let mails = mails.lock().unwrap().clone();
        let hooks = hooks.lock().unwrap().clone();
        (mails, hooks)
    };

    // carlos-house, its threshold above its free coins: one crossing. pole-3, dry and off:
    // one disconnection (its threshold 0 is never crossed).
    let (_, house) = answer(http.get(format!("{base}/api/meters/carlos-house"))).await;
    let free = house["forecast"]["spendable_k"]
        .as_str()
        .unwrap()
        .parse::<f64>()
        .unwrap();
    let (status, said) = answer(post_json(
        "/api/alerts",
        json!({"meter": "carlos-house", "threshold_k": format!("{}", free + 1.0), "email": "carlos@village.example"}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    let (status, said) = answer(post_json(
        "/api/alerts",
        json!({"meter": "pole-3", "threshold_k": "0", "email": "angel@village.example"}),
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{said}");
    settle().await;
    let (mails, hooks) = counts();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    let whats: Vec<(String, String)> = hooks
        .iter()
        .map(|h| {
            (
                h["meter"].as_str().unwrap().into(),
                h["what"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        whats.contains(&("carlos-house".into(), "low".into())),
        "{whats:?}"
    );
    assert!(
        whats.contains(&("pole-3".into(), "disconnected".into())),
        "{whats:?}"
    );
    for hook in &hooks {
        assert!(
            mails.contains(&hook["id"].as_str().unwrap().to_string()),
            "the same notice both ways"
        );
    }

    // An hour passes: still low, still off: nothing more.
    let (status, _) = answer(post_json("/api/clock/advance", json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    settle().await;
    assert_eq!(counts().0.len(), 2);
    assert_eq!(counts().1.len(), 2);

    // A restart: the alerts read back what they sent, and send nothing again.
    let restarted = Alerts::open(config.clone()).unwrap();
    for _ in 0..3 {
        restarted.check(&app).await.unwrap();
    }
    assert_eq!(counts().0.len(), 2);
    assert_eq!(counts().1.len(), 2);

    // Someone else's signature: refused, the threshold unchanged.
    let stranger = Keypair::new();
    let at = net_time(&net).await;
    let message = Subscription::message("demo", "carlos-house", 1, "", at);
    let signature = stranger.sign_message(message.as_bytes()).to_string();
    let (status, said) = answer(post_json(
        "/api/alerts",
        json!({"meter": "carlos-house", "threshold_k": "0.000001", "signed_at": at, "signature": signature}),
    ))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{said}");
    let (_, sub) = answer(http.get(format!("{base}/api/alerts/carlos-house"))).await;
    assert_ne!(sub["threshold_k"], "0.000001");
    assert_eq!(sub["email"], "c…@village.example");

    // Carlos's own wallet signs a lower threshold: the crossing is over (re-armed), then a
    // higher one: exactly one more e-mail and webhook.
    for (k, expected) in [("0.000001", 2), ("1000000", 3)] {
        let at = net_time(&net).await + expected;
        let units = energy_utility_sdk::amounts::parse_k(k).unwrap();
        let message =
            Subscription::message("demo", "carlos-house", units, "carlos@village.example", at);
        let signature = carlos_wallet.sign_message(message.as_bytes()).to_string();
        let (status, said) = answer(post_json(
            "/api/alerts",
            json!({"meter": "carlos-house", "threshold_k": k, "email": "carlos@village.example", "signed_at": at, "signature": signature}),
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{said}");
        settle().await;
        assert_eq!(counts().1.len(), expected as usize, "{:?}", counts().1);
    }
    assert_eq!(counts().0.len(), 3);
    let _ = smtp.kill();
    let _ = smtp.wait();
    net.shutdown().await.unwrap();
}

async fn net_time(net: &energy_utility_localnet::Localnet) -> i64 {
    Client::new(&net.rpc_url(), Keypair::new())
        .cluster_time()
        .await
        .unwrap()
}
