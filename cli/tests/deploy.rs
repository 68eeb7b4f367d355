//! Deployment as written in deploy/: the gateway, the crank and `deu serve` started from the
//! example settings files (only what differs on this machine — the cluster's URL, keys,
//! folders, ports — given in the environment, which wins over the file), each scraped through
//! its Prometheus endpoint; the systemd units name those files and commands; a settings file
//! holding a secret and readable by others is refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

/// `deu` on the local cluster, the grid named as the examples name it ("village").
fn deu(url: &str, dir: &Path, key: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(DEU)
        .args(["-u", url, "--grid", "village", "--output", "json", "-k"])
        .arg(dir.join(format!("{key}.json")))
        .args(args)
        .output()
        .expect("run deu");
    assert!(
        out.status.success(),
        "deu {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn keygen(dir: &Path, name: &str) -> String {
    let out = Command::new(DEU)
        .arg("keygen")
        .arg(dir.join(format!("{name}.json")))
        .args(["--output", "json"])
        .output()
        .expect("keygen");
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).expect("keygen JSON");
    made["pubkey"].as_str().unwrap().to_string()
}

/// A child process killed when dropped (a failed assertion leaves nothing running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `deu` started from the settings file `file`, with `env` for what this machine differs in.
fn started(file: &str, args: &[&str], env: &[(&str, String)], log: &Path) -> Running {
    let mut command = Command::new(DEU);
    command
        .arg("--env-file")
        .arg(deploy(file))
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
    Running(command.spawn().expect("start deu"))
}

/// GET `path` on `port` (status line and body).
fn get(port: u16, path: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// A sample's value in a scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Scrapes `port` until `ready` holds (60 s at most); the last scrape.
fn scrape_until(port: u16, log: &Path, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some((status, body)) = get(port, "/metrics") {
            assert!(status.contains("200"), "{status}");
            if ready(&body) {
                return body;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!(
        "not ready: {last}\n--- its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn stop(child: Running) {
    drop(child);
}

#[test]
fn the_gateway_the_crank_and_serve_start_from_the_example_settings_and_are_scraped() {
    let dir = std::env::temp_dir().join(format!("deu-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let net = Localnet::start(&dir.join("ledger"), port);
    let url = net.url.clone();

    // The grid the examples name: "village", with the meter "house-12".
    let gw = keygen(&dir, "gw");
    keygen(&dir, "admin");
    let crank = keygen(&dir, "crank");
    deu(&url, &dir, "admin", &["airdrop", "10"]);
    deu(&url, &dir, "admin", &["airdrop", "1", &gw]);
    deu(&url, &dir, "admin", &["airdrop", "1", &crank]);
    deu(
        &url,
        &dir,
        "admin",
        &[
            "grid",
            "init",
            "--notice-hours",
            "0",
            "--grace-seconds",
            "60",
        ],
    );
    deu(&url, &dir, "admin", &["resident", "register", "hoa"]);
    deu(
        &url,
        &dir,
        "admin",
        &["fiat", "add", "hoa", "10", "--payment-id", "evt_hoa"],
    );
    deu(
        &url,
        &dir,
        "admin",
        &[
            "meter",
            "register",
            "house-12",
            "--kind",
            "household",
            "--owner",
            "hoa",
            "--gateway",
            &gw,
        ],
    );
    deu(
        &url,
        &dir,
        "admin",
        &["fund", "house-12", "5", "--from", "hoa"],
    );

    // The gateway, from deploy/gateway.env.
    std::fs::write(dir.join("register"), "1.5").unwrap();
    let metrics = free_port();
    let log = dir.join("gateway.log");
    let gateway = started(
        "gateway.env",
        &["gateway"],
        &[
            ("DEU_URL", url.clone()),
            ("DEU_KEYPAIR", dir.join("gw.json").display().to_string()),
            (
                "DEU_SOURCE",
                format!("file:{}", dir.join("register").display()),
            ),
            ("DEU_ACTUATOR", "log".into()),
            ("DEU_SPOOL", dir.join("spool").display().to_string()),
            ("DEU_INTERVAL", "1".into()),
            ("DEU_METRICS", format!("127.0.0.1:{metrics}")),
            ("DEU_LOG_FORMAT", "json".into()),
        ],
        &log,
    );
    // It reads the register each tick and reports it once its hour is over.
    scrape_until(metrics, &log, |s| {
        sample(s, "deu_gateway_ticks_total") >= Some(1.0)
    });
    std::fs::write(dir.join("register"), "2.5").unwrap();
    deu(&url, &dir, "admin", &["clock", "advance", "--hours", "1"]);
    let scrape = scrape_until(metrics, &log, |s| {
        sample(s, "deu_gateway_reports_total{outcome=\"reported\"}") >= Some(1.0)
            && sample(s, "deu_gateway_last_report_age_seconds").is_some()
    });
    assert_eq!(
        sample(&scrape, "deu_gateway_spool_depth"),
        Some(0.0),
        "{scrape}"
    );
    assert_eq!(
        sample(&scrape, "deu_gateway_relay_connected"),
        Some(1.0),
        "{scrape}"
    );
    assert!(get(metrics, "/healthz").unwrap().1.starts_with("ok"));
    stop(gateway);
    // Its log, in JSON (DEU_LOG_FORMAT=json): one object a line, with level, target and message.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines
        .iter()
        .all(|l| l["target"] == "deu" && l["level"].is_string() && l["timestamp"].is_string()));
    assert!(lines.iter().any(|l| l["fields"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("metrics on http://")));

    // The crank, from deploy/crank.env: the hour closes and it settles it.
    deu(&url, &dir, "admin", &["clock", "advance", "--hours", "1"]);
    let metrics = free_port();
    let log = dir.join("crank.log");
    let crank = started(
        "crank.env",
        &["settle"],
        &[
            ("DEU_URL", url.clone()),
            ("DEU_KEYPAIR", dir.join("crank.json").display().to_string()),
            ("DEU_SETTLE_INTERVAL", "1".into()),
            ("DEU_METRICS", format!("127.0.0.1:{metrics}")),
        ],
        &log,
    );
    let scrape = scrape_until(metrics, &log, |s| {
        sample(s, "deu_crank_epochs_settled_total") >= Some(1.0)
    });
    assert_eq!(sample(&scrape, "deu_crank_pass_ok"), Some(1.0), "{scrape}");
    assert!(sample(&scrape, "deu_crank_last_settled_epoch").is_some());
    stop(crank);

    // deu serve, from deploy/serve.env.
    let web = free_port();
    let log = dir.join("serve.log");
    let serve = started(
        "serve.env",
        &["serve"],
        &[("DEU_URL", url.clone()), ("DEU_PORT", web.to_string())],
        &log,
    );
    let scrape = scrape_until(web, &log, |s| sample(s, "deu_grid_up") == Some(1.0));
    assert_eq!(sample(&scrape, "deu_meters"), Some(1.0), "{scrape}");
    assert_eq!(
        sample(&scrape, "deu_unsettled_epochs"),
        Some(0.0),
        "{scrape}"
    );
    assert!(get(web, "/readyz").unwrap().0.contains("200"));
    stop(serve);

    // A settings file with a secret that others can read is refused, saying how to fix it.
    let leaky = dir.join("leaky.env");
    std::fs::write(&leaky, "DEU_WEBHOOK_SECRET=whsec_example\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&leaky, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = Command::new(DEU)
        .arg("--env-file")
        .arg(&leaky)
        .args(["grid", "show"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));

    // The systemd units run those commands with those files.
    for (unit, file, exec) in [
        ("deu-serve.service", "serve.env", "/usr/local/bin/deu serve"),
        (
            "deu-crank.service",
            "crank.env",
            "/usr/local/bin/deu settle",
        ),
        (
            "deu-gateway.service",
            "gateway.env",
            "/usr/local/bin/deu-gateway run",
        ),
    ] {
        let text = std::fs::read_to_string(deploy(&format!("systemd/{unit}"))).unwrap();
        assert!(
            text.contains(&format!("EnvironmentFile=/etc/deu/{file}")),
            "{unit}"
        );
        assert!(text.contains(&format!("ExecStart={exec}\n")), "{unit}");
        assert!(deploy(file).exists());
    }
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
