//! The gateway daemon against a local cluster: register deltas become hourly readings, the
//! relay follows the chain's decision, readings wait on disk while the cluster is unreachable,
//! and a reading the chain already has is never counted twice.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

/// `deu gateway` for `house`, signed by `gw`: the register and the spool in the test's folder.
fn gateway_command(deu: &Deu) -> Command {
    let mut command = deu.command("gw");
    command
        .args(["gateway", "--meter", "house", "--source"])
        .arg(format!("file:{}", deu.dir.join("register").display()))
        .arg("--spool")
        .arg(deu.dir.join("spool"));
    command
}

/// One tick of the gateway (`--once`) with its relay logged to `relay`: its JSON and what it
/// logged.
fn gateway(deu: &Deu, extra: &[&str]) -> (Value, String) {
    let actuator = format!("command:echo >> {}", deu.dir.join("relay").display());
    let out = gateway_command(deu)
        .args(["--once", "--actuator", &actuator])
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

/// `deu` as seen from a gateway that cannot reach the cluster (nothing listens at its URL).
fn out_of_reach<'a>(deu: &Deu<'a>, dead: &'a str) -> Deu<'a> {
    Deu {
        url: dead,
        dir: deu.dir,
    }
}

/// What the relay was told, in order.
fn relay_log(deu: &Deu) -> Vec<String> {
    std::fs::read_to_string(deu.dir.join("relay"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The meter's register now reads `kwh`.
fn set_register(deu: &Deu, kwh: &str) {
    std::fs::write(deu.dir.join("register"), kwh).unwrap();
}

/// An hour closes with the register at `kwh`: the cluster's clock moves one hour.
fn an_hour_passes(deu: &Deu, kwh: &str) {
    set_register(deu, kwh);
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
}

fn spool_file(deu: &Deu) -> PathBuf {
    deu.dir.join("spool").join("house.json")
}

/// Moves the spool's `field` (unix seconds) by `seconds`.
fn shift_spool(deu: &Deu, field: &str, seconds: i64) {
    let mut spool: Value =
        serde_json::from_str(&std::fs::read_to_string(spool_file(deu)).unwrap()).unwrap();
    spool[field] = (spool[field].as_i64().unwrap() + seconds).into();
    std::fs::write(spool_file(deu), spool.to_string()).unwrap();
}

#[test]
fn the_gateway_reports_hourly_spools_offline_and_never_doubles() {
    let grid = house_grid("gw-hourly", "100", "5");
    let deu = grid.deu();

    // First read: the baseline; nothing to report; the relay is told to connect.
    set_register(&deu, "100.000");
    let (first, _) = gateway(&deu, &[]);
    let epoch = first["epoch"].as_u64().unwrap();
    assert_eq!(first["reported"], serde_json::json!([]));
    assert_eq!(first["connected"], true);
    assert_eq!(relay_log(&deu), ["connect"]);

    // An hour later the register moved 2.5 kWh: that is the closed epoch's reading.
    an_hour_passes(&deu, "102.500");
    let (second, _) = gateway(&deu, &[]);
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
    // (The gateway tells the epoch from the clock offset it learned, bounded by the chain's
    // clock at the last contact plus the monotonic time since; an hour of wall and monotonic
    // time is simulated by moving both along with the cluster's clock.)
    an_hour_passes(&deu, "104.000");
    shift_spool(&deu, "clock_offset", 3_600);
    shift_spool(&deu, "contact_chain_time", 3_600);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (offline, _) = gateway(&out_of_reach(&deu, &dead), &[]);
    assert_eq!(offline["online"], false);
    assert_eq!(offline["pending"], 1);
    let spooled = std::fs::read_to_string(spool_file(&deu)).unwrap();

    // Back online: the spooled reading is sent once.
    let (back, _) = gateway(&deu, &[]);
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
    std::fs::write(spool_file(&deu), &spooled).unwrap();
    let (again, _) = gateway(&deu, &[]);
    assert_eq!(again["reported"], serde_json::json!([]));
    assert_eq!(again["pending"], 0);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.000"
    );

    // A heavy hour (6 kWh against 5 k prepaid, 4 k already committed): disconnect.
    an_hour_passes(&deu, "110.000");
    let (dark, _) = gateway(&deu, &[]);
    assert_eq!(dark["connected"], false);
    assert_eq!(relay_log(&deu), ["connect", "disconnect"]);

    // A neighbour funds the house beyond what its readings will cost: the next tick
    // reconnects the relay.
    deu.ok("admin", &["fund", "house", "10"]);
    let (light, _) = gateway(&deu, &[]);
    assert_eq!(light["connected"], true);
    assert_eq!(light["reported"], serde_json::json!([]));
    assert_eq!(relay_log(&deu), ["connect", "disconnect", "connect"]);

    grid.stop();
}

#[test]
fn a_house_whose_gateway_is_unplugged_for_hours_is_dark_meanwhile_and_pays_every_kwh() {
    let grid = house_grid("gw-silent", "0", "20");
    let deu = grid.deu();
    set_register(&deu, "0.000");
    gateway(&deu, &[]);
    an_hour_passes(&deu, "1.000");
    let (first, _) = gateway(&deu, &[]);
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
    set_register(&deu, "5.000");
    let (back, log) = gateway(&deu, &[]);
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
    assert_eq!(relay_log(&deu), ["connect"]);
    grid.stop();
}

#[test]
fn a_gateway_whose_grid_is_paused_for_two_hours_delivers_every_kwh_afterwards() {
    let grid = house_grid("gw-paused", "0", "20");
    let deu = grid.deu();
    set_register(&deu, "0.000");
    gateway(&deu, &[]);
    deu.ok("admin", &["grid", "pause"]);
    for (hour, register) in [(1, "1.000"), (2, "2.500")] {
        an_hour_passes(&deu, register);
        let (paused, log) = gateway(&deu, &[]);
        assert_eq!(
            paused["pending"], 1,
            "hour {hour}: kept, not dropped: {paused}{log}"
        );
        assert!(log.contains("kept, retrying"), "{log}");
        assert!(log.contains("paused"), "{log}");
    }
    an_hour_passes(&deu, "4.000");
    deu.ok("admin", &["grid", "resume"]);
    let (resumed, log) = gateway(&deu, &[]);
    assert_eq!(resumed["pending"], 0, "{resumed}{log}");
    assert_eq!(resumed["reported"][0]["kwh"], "4.000");
    assert_eq!(resumed["reported"][0]["hours"], 3);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.000"
    );
    grid.stop();
}

#[test]
fn a_consumers_relay_opens_when_the_chain_is_out_of_reach_beyond_the_grace_unless_told_to_hold() {
    let grid = house_grid("gw-failsafe", "0", "20");
    let deu = grid.deu();
    set_register(&deu, "0.000");
    let (first, _) = gateway(&deu, &[]);
    assert_eq!(first["connected"], true);
    let dead = format!("http://127.0.0.1:{}", free_port());
    let offline = out_of_reach(&deu, &dead);
    // Out of reach, but not for long: the relay stays as the chain decided.
    let (short, _) = gateway(&offline, &[]);
    assert_eq!(
        (short["online"].clone(), short["connected"].clone()),
        (Value::Bool(false), Value::Bool(true))
    );
    // The last decision is now older than the grace window (59:59).
    shift_spool(&deu, "decided_at", -3_600);
    let (held, _) = gateway(&offline, &["--fail-safe", "hold"]);
    assert_eq!(held["connected"], true, "told to hold");
    let (opened, log) = gateway(&offline, &[]);
    assert_eq!(opened["connected"], false, "{opened}");
    assert!(log.contains("fail-safe"), "{log}");
    assert_eq!(relay_log(&deu), ["connect", "disconnect"]);
    // Back in touch, the chain's decision rules again.
    let (again, _) = gateway(&deu, &[]);
    assert_eq!(again["connected"], true);
    assert_eq!(relay_log(&deu), ["connect", "disconnect", "connect"]);
    grid.stop();
}

#[test]
fn a_damaged_spool_is_set_aside_and_the_gateway_goes_on_losing_no_energy() {
    let grid = house_grid("gw-damaged", "0", "20");
    let deu = grid.deu();
    set_register(&deu, "0.000");
    gateway(&deu, &[]);
    an_hour_passes(&deu, "2.000");
    gateway(&deu, &[]);
    // A torn write from some other tool, a full disk, a bad sector.
    std::fs::write(spool_file(&deu), "{\"last_read\": [12, 20").unwrap();
    set_register(&deu, "3.000");
    let (fresh, log) = gateway(&deu, &[]);
    assert!(log.contains("damaged"), "{log}");
    assert_eq!(fresh["connected"], true);
    let aside: Vec<_> = std::fs::read_dir(deu.dir.join("spool"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("damaged"))
        .collect();
    assert_eq!(aside.len(), 1);
    // The next closed hour reports the register: the chain bills from its own last register.
    an_hour_passes(&deu, "4.500");
    let (next, _) = gateway(&deu, &[]);
    assert_eq!(next["reported"][0]["kwh"], "2.500", "{next}");
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.500"
    );
    grid.stop();
}

#[test]
fn a_gateway_killed_fifty_times_at_random_loses_and_doubles_no_kwh() {
    let grid = house_grid("gw-sigkill", "0", "20");
    let deu = grid.deu();
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
    let mut register_wh = 0u64;
    set_register(&deu, "0.000");
    for round in 0..50 {
        // The meter turns; an hour passes now and then; the gateway runs and is killed at a
        // random point: while reading, spooling, sending, or waiting.
        register_wh += next(1_500);
        set_register(
            &deu,
            &format!("{}.{:03}", register_wh / 1_000, register_wh % 1_000),
        );
        if round % 2 == 0 {
            deu.ok("admin", &["clock", "advance", "--hours", "1"]);
        }
        let mut child = gateway_command(&deu)
            .args(["--interval", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the gateway");
        std::thread::sleep(std::time::Duration::from_millis(next(1_200)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let spool = std::fs::read_to_string(spool_file(&deu)).unwrap_or_default();
        assert!(
            spool.is_empty() || serde_json::from_str::<Value>(&spool).is_ok(),
            "round {round}: a torn spool: {spool}"
        );
    }
    // The crank catches up; one more closed hour and one calm tick deliver the last register.
    deu.ok("admin", &["clock", "advance", "--hours", "2"]);
    deu.ok("admin", &["settle", "--lookback", "80"]);
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    let (last, log) = gateway(&deu, &[]);
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
    grid.stop();
}
