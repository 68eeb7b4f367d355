//! The gateway daemon against a local cluster: register deltas become hourly readings, the
//! relay follows the chain's decision, readings wait on disk while the cluster is unreachable,
//! and a reading the chain already has is never counted twice.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn gateway(deu: &Deu, url: &str, register: &Path, relay: &Path, spool: &Path) -> Value {
    let source = format!("file:{}", register.display());
    let actuator = format!("command:echo >> {}", relay.display());
    let out = std::process::Command::new(DEU)
        .args(["-u", url, "--grid", "seed", "--output", "json", "-k"])
        .arg(deu.key("gw"))
        .args([
            "gateway",
            "--meter",
            "house",
            "--once",
            "--source",
            &source,
            "--actuator",
            &actuator,
            "--spool",
        ])
        .arg(spool)
        .output()
        .expect("run the gateway");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "gateway failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("gateway JSON")
}

fn relay_log(relay: &Path) -> Vec<String> {
    std::fs::read_to_string(relay)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_gateway_reports_hourly_spools_offline_and_never_doubles() {
    let dir = std::env::temp_dir().join(format!("deu-gateway-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let net = Localnet::start(&dir.join("ledger"), free_port());
    let url = net.url.clone();
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    let (register, relay, spool_dir) = (dir.join("register"), dir.join("relay"), dir.join("spool"));
    let spool_file = spool_dir.join("house.json");

    deu.pubkey("admin");
    deu.ok("admin", &["airdrop", "10"]);
    // A grace window of almost an hour, so that moving the clock one hour always lands inside it.
    deu.ok("admin", &["grid", "init", "--grace-seconds", "3599"]);
    deu.ok("admin", &["resident", "register", "hoa"]);
    deu.ok(
        "admin",
        &["fiat", "add", "hoa", "10", "--payment-id", "evt_hoa"],
    );
    let gw = deu.pubkey("gw");
    deu.ok("admin", &["airdrop", "1", &gw]);
    deu.ok(
        "admin",
        &[
            "meter",
            "register",
            "house",
            "--kind",
            "household",
            "--owner",
            "hoa",
            "--gateway",
            &gw,
            "--register-kwh",
            "100",
        ],
    );
    deu.ok("admin", &["fund", "house", "5"]);

    // First read: the baseline; nothing to report; the relay is told to connect.
    std::fs::write(&register, "100.000").unwrap();
    let first = gateway(&deu, &url, &register, &relay, &spool_dir);
    let epoch = first["epoch"].as_u64().unwrap();
    assert_eq!(first["reported"], serde_json::json!([]));
    assert_eq!(first["connected"], true);
    assert_eq!(relay_log(&relay), ["connect"]);

    // An hour later the register moved 2.5 kWh: that is the closed epoch's reading.
    std::fs::write(&register, "102.500").unwrap();
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let second = gateway(&deu, &url, &register, &relay, &spool_dir);
    assert_eq!(
        second["reported"],
        serde_json::json!([{"epoch": epoch, "register_kwh": "102.500", "kwh": "2.500", "hours": 1}])
    );
    assert_eq!(second["pending"], 0);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "2.500"
    );

    // The cluster is unreachable when the next hour closes: the reading waits in the spool.
    // (The gateway tells the epoch from the clock offset it learned; an hour of wall time is
    // simulated by moving that offset along with the cluster's clock.)
    std::fs::write(&register, "104.000").unwrap();
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let mut spool: Value =
        serde_json::from_str(&std::fs::read_to_string(&spool_file).unwrap()).unwrap();
    spool["clock_offset"] = (spool["clock_offset"].as_i64().unwrap() + 3_600).into();
    std::fs::write(&spool_file, spool.to_string()).unwrap();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let offline = gateway(&deu, &dead, &register, &relay, &spool_dir);
    assert_eq!(offline["online"], false);
    assert_eq!(offline["pending"], 1);
    let spooled = std::fs::read_to_string(&spool_file).unwrap();

    // Back online: the spooled reading is sent once.
    let back = gateway(&deu, &url, &register, &relay, &spool_dir);
    assert_eq!(
        back["reported"],
        serde_json::json!([{"epoch": epoch + 1, "register_kwh": "104.000", "kwh": "1.500", "hours": 1}])
    );
    assert_eq!(back["pending"], 0);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.000"
    );

    // A crash after sending but before the spool was updated: the reading is sent again, the
    // chain refuses the duplicate, and the gateway drops it. Nothing is counted twice. (Sent
    // again within the same 400 ms block, the very same signed bytes would be refused as
    // already processed and count as delivered: `durability.rs` in localnet tests that.)
    std::thread::sleep(std::time::Duration::from_millis(900));
    std::fs::write(&spool_file, &spooled).unwrap();
    let again = gateway(&deu, &url, &register, &relay, &spool_dir);
    assert_eq!(again["reported"], serde_json::json!([]));
    assert_eq!(again["pending"], 0);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.000"
    );

    // A heavy hour (6 kWh against 5 k prepaid, 4 k already committed): disconnect.
    std::fs::write(&register, "110.000").unwrap();
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let dark = gateway(&deu, &url, &register, &relay, &spool_dir);
    assert_eq!(dark["connected"], false);
    assert_eq!(relay_log(&relay), ["connect", "disconnect"]);

    // A neighbour funds the house beyond what its readings will cost: the next tick
    // reconnects the relay.
    deu.ok("admin", &["fund", "house", "10"]);
    let light = gateway(&deu, &url, &register, &relay, &spool_dir);
    assert_eq!(light["connected"], true);
    assert_eq!(light["reported"], serde_json::json!([]));
    assert_eq!(relay_log(&relay), ["connect", "disconnect", "connect"]);

    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A grid with one household meter, `house`, on a register starting at 0 kWh, funded with
/// 20 k; its gateway key is `gw`.
fn house_grid(name: &str) -> (std::path::PathBuf, Localnet, String) {
    let dir = std::env::temp_dir().join(format!("deu-gw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let net = Localnet::start(&dir.join("ledger"), free_port());
    let url = net.url.clone();
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    deu.pubkey("admin");
    deu.ok("admin", &["airdrop", "10"]);
    // A grace window of almost an hour, so that moving the clock one hour always lands inside it.
    deu.ok("admin", &["grid", "init", "--grace-seconds", "3599"]);
    deu.ok("admin", &["resident", "register", "hoa"]);
    deu.ok(
        "admin",
        &["fiat", "add", "hoa", "10", "--payment-id", "evt_hoa"],
    );
    let gw = deu.pubkey("gw");
    deu.ok("admin", &["airdrop", "1", &gw]);
    deu.ok(
        "admin",
        &[
            "meter",
            "register",
            "house",
            "--kind",
            "household",
            "--owner",
            "hoa",
            "--gateway",
            &gw,
        ],
    );
    deu.ok("admin", &["fund", "house", "20"]);
    (dir, net, url)
}

fn gateway_with(deu: &Deu, url: &str, dir: &Path, extra: &[&str]) -> (Value, String) {
    let source = format!("file:{}", dir.join("register").display());
    let actuator = format!("command:echo >> {}", dir.join("relay").display());
    let out = std::process::Command::new(DEU)
        .args(["-u", url, "--grid", "seed", "--output", "json", "-k"])
        .arg(deu.key("gw"))
        .args([
            "gateway",
            "--meter",
            "house",
            "--once",
            "--source",
            &source,
            "--actuator",
            &actuator,
            "--spool",
        ])
        .arg(dir.join("spool"))
        .args(extra)
        .output()
        .expect("run the gateway");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "gateway failed: {stdout}{stderr}");
    (
        serde_json::from_str(stdout.trim()).expect("gateway JSON"),
        stderr,
    )
}

fn set_register(dir: &Path, kwh: &str) {
    std::fs::write(dir.join("register"), kwh).unwrap();
}

#[test]
fn a_house_whose_gateway_is_unplugged_for_hours_is_dark_meanwhile_and_pays_every_kwh() {
    let (dir, net, url) = house_grid("silent");
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    set_register(&dir, "0.000");
    gateway_with(&deu, &url, &dir, &[]);
    set_register(&dir, "1.000");
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let (first, _) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(first["reported"][0]["kwh"], "1.000", "{first}");

    // Unplugged for four hours while the house draws 1 kWh an hour. The crank notices the
    // silence and disconnects it: no free power.
    deu.ok("admin", &["clock", "advance", "--hours", "4"]);
    deu.ok("admin", &["settle"]);
    let dark = deu.ok("admin", &["meter", "show", "house"]);
    assert_eq!(
        (dark["connected"].clone(), dark["silent"].clone()),
        (Value::Bool(false), Value::Bool(true)),
        "{dark}"
    );

    // Plugged back in: one report carries the four hours, billed in full, and the house
    // reconnects (its balance covers them).
    set_register(&dir, "5.000");
    let (back, log) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(back["reported"][0]["kwh"], "4.000", "{back}{log}");
    assert_eq!(back["reported"][0]["hours"], 4);
    assert_eq!(back["connected"], true);
    deu.ok("admin", &["clock", "advance", "--hours", "2"]);
    deu.ok("admin", &["settle"]);
    let house = deu.ok("admin", &["meter", "show", "house"]);
    assert_eq!(house["lifetime_kwh"], "5.000", "{house}");
    assert_eq!(house["lifetime_k"], "5.000000", "every kWh billed");
    // The unplugged gateway never heard the disconnection (a running one that cannot reach the
    // chain opens the relay itself: the fail-safe test below).
    assert_eq!(relay_log(&dir.join("relay")), ["connect"]);
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_gateway_whose_grid_is_paused_for_two_hours_delivers_every_kwh_afterwards() {
    let (dir, net, url) = house_grid("paused");
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    set_register(&dir, "0.000");
    gateway_with(&deu, &url, &dir, &[]);
    deu.ok("admin", &["grid", "pause"]);
    for (hour, register) in [(1, "1.000"), (2, "2.500")] {
        set_register(&dir, register);
        deu.ok("admin", &["clock", "advance", "--hours", "1"]);
        let (paused, log) = gateway_with(&deu, &url, &dir, &[]);
        assert_eq!(
            paused["pending"], 1,
            "hour {hour}: kept, not dropped: {paused}{log}"
        );
        assert!(log.contains("kept, retrying"), "{log}");
        assert!(log.contains("paused"), "{log}");
    }
    set_register(&dir, "4.000");
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    deu.ok("admin", &["grid", "resume"]);
    let (resumed, log) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(resumed["pending"], 0, "{resumed}{log}");
    assert_eq!(resumed["reported"][0]["kwh"], "4.000");
    assert_eq!(resumed["reported"][0]["hours"], 3);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.000"
    );
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_consumers_relay_opens_when_the_chain_is_out_of_reach_beyond_the_grace_unless_told_to_hold() {
    let (dir, net, url) = house_grid("failsafe");
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    set_register(&dir, "0.000");
    let (first, _) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(first["connected"], true);
    let dead = format!("http://127.0.0.1:{}", free_port());
    // Out of reach, but not for long: the relay stays as the chain decided.
    let (short, _) = gateway_with(&deu, &dead, &dir, &[]);
    assert_eq!(
        (short["online"].clone(), short["connected"].clone()),
        (Value::Bool(false), Value::Bool(true))
    );
    // The last decision is now older than the grace window (59:59).
    let spool_file = dir.join("spool").join("house.json");
    let mut spool: Value =
        serde_json::from_str(&std::fs::read_to_string(&spool_file).unwrap()).unwrap();
    spool["decided_at"] = (spool["decided_at"].as_i64().unwrap() - 3_600).into();
    std::fs::write(&spool_file, spool.to_string()).unwrap();
    let (held, _) = gateway_with(&deu, &dead, &dir, &["--fail-safe", "hold"]);
    assert_eq!(held["connected"], true, "told to hold");
    let (opened, log) = gateway_with(&deu, &dead, &dir, &[]);
    assert_eq!(opened["connected"], false, "{opened}");
    assert!(log.contains("fail-safe"), "{log}");
    assert_eq!(relay_log(&dir.join("relay")), ["connect", "disconnect"]);
    // Back in touch, the chain's decision rules again.
    let (again, _) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(again["connected"], true);
    assert_eq!(
        relay_log(&dir.join("relay")),
        ["connect", "disconnect", "connect"]
    );
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_spool_is_set_aside_and_the_gateway_goes_on_losing_no_energy() {
    let (dir, net, url) = house_grid("damaged");
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    set_register(&dir, "0.000");
    gateway_with(&deu, &url, &dir, &[]);
    set_register(&dir, "2.000");
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    gateway_with(&deu, &url, &dir, &[]);
    // A torn write from some other tool, a full disk, a bad sector.
    let spool_file = dir.join("spool").join("house.json");
    std::fs::write(&spool_file, "{\"last_read\": [12, 20").unwrap();
    set_register(&dir, "3.000");
    let (fresh, log) = gateway_with(&deu, &url, &dir, &[]);
    assert!(log.contains("damaged"), "{log}");
    assert_eq!(fresh["connected"], true);
    let aside: Vec<_> = std::fs::read_dir(dir.join("spool"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("damaged"))
        .collect();
    assert_eq!(aside.len(), 1);
    // The next closed hour reports the register: the chain bills from its own last register.
    set_register(&dir, "4.500");
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let (next, _) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(next["reported"][0]["kwh"], "2.500", "{next}");
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.500"
    );
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_gateway_killed_fifty_times_at_random_loses_and_doubles_no_kwh() {
    let (dir, net, url) = house_grid("sigkill");
    let deu = Deu {
        url: &url,
        dir: &dir,
    };
    deu.ok(
        "admin",
        &["fiat", "add", "hoa", "100", "--payment-id", "evt_more"],
    );
    deu.ok("admin", &["fund", "house", "500"]);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("sigkill test seed {seed}");
    let mut rng = seed | 1;
    let mut next = |bound: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };
    let source = format!("file:{}", dir.join("register").display());
    let mut register_wh = 0u64;
    set_register(&dir, "0.000");
    for round in 0..50 {
        // The meter turns; an hour passes now and then; the gateway runs and is killed at a
        // random point: while reading, spooling, sending, or waiting.
        register_wh += next(1_500);
        set_register(
            &dir,
            &format!("{}.{:03}", register_wh / 1_000, register_wh % 1_000),
        );
        if round % 2 == 0 {
            deu.ok("admin", &["clock", "advance", "--hours", "1"]);
        }
        let mut child = std::process::Command::new(DEU)
            .args(["-u", &url, "--grid", "seed", "--output", "json", "-k"])
            .arg(deu.key("gw"))
            .args([
                "gateway",
                "--meter",
                "house",
                "--interval",
                "1",
                "--source",
                &source,
                "--spool",
            ])
            .arg(dir.join("spool"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the gateway");
        std::thread::sleep(std::time::Duration::from_millis(next(1_200)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let spool =
            std::fs::read_to_string(dir.join("spool").join("house.json")).unwrap_or_default();
        assert!(
            spool.is_empty() || serde_json::from_str::<Value>(&spool).is_ok(),
            "round {round}: a torn spool: {spool}"
        );
    }
    // The crank catches up; one more closed hour and one calm tick deliver the last register.
    deu.ok("admin", &["clock", "advance", "--hours", "2"]);
    deu.ok("admin", &["settle", "--lookback", "80"]);
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let (last, log) = gateway_with(&deu, &url, &dir, &[]);
    assert_eq!(last["pending"], 0, "{last}{log}");
    let house = deu.ok("admin", &["meter", "show", "house"]);
    let total = format!("{}.{:03}", register_wh / 1_000, register_wh % 1_000);
    assert_eq!(
        house["register_kwh"], total,
        "the chain has the last register: {house}"
    );
    assert_eq!(
        house["lifetime_kwh"], total,
        "every Wh counted exactly once: {house}"
    );
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
