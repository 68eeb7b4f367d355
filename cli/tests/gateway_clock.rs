//! The gateway against a host clock that jumps (issue #24): a register is never queued for an
//! epoch the chain has not reached, and a spool that holds one (from an older version, or a
//! jump) is discarded rather than left to block the real epochs. Registers are cumulative, so
//! the energy of a refused or discarded register goes with the next one: nothing lost, nothing
//! counted twice, and the meter never goes silent.

mod common;

use std::path::PathBuf;

use common::*;
use serde_json::{json, Value};

const TWO_DAYS: i64 = 2 * 24 * 3_600;

/// One tick of `deu gateway --once` for `house`, signed by `gw`, its register and spool in the
/// test's folder: its JSON and what it logged.
fn gateway(deu: &Deu) -> (Value, String) {
    let actuator = format!("command:echo >> {}", deu.dir.join("relay").display());
    let out = deu
        .command("gw")
        .args([
            "gateway",
            "--meter",
            "house",
            "--once",
            "--actuator",
            &actuator,
        ])
        .arg("--source")
        .arg(format!("file:{}", deu.dir.join("register").display()))
        .arg("--spool")
        .arg(deu.dir.join("spool"))
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

fn read_spool(deu: &Deu) -> Value {
    serde_json::from_str(&std::fs::read_to_string(spool_file(deu)).unwrap()).unwrap()
}

/// The crank runs; the meter must still be connected, not silent, and have counted `kwh`.
fn settled_and_connected(deu: &Deu, kwh: &str) {
    deu.ok("admin", &["settle"]);
    let house = deu.ok("admin", &["meter", "show", "house"]);
    assert_eq!(
        (
            house["connected"].clone(),
            house["silent"].clone(),
            house["lifetime_kwh"].clone()
        ),
        (json!(true), json!(false), json!(kwh)),
        "never silent, every kWh counted once: {house}"
    );
}

#[test]
fn a_gateway_whose_clock_jumps_two_days_ahead_while_offline_stalls_no_epoch_and_loses_no_kwh() {
    let grid = house_grid("gwclock-jump", "0", "20");
    let deu = grid.deu();
    set_register(&deu, "0.000");
    let (first, _) = gateway(&deu);
    let epoch = first["epoch"].as_u64().unwrap();
    an_hour_passes(&deu, "1.000");
    let (reported, log) = gateway(&deu);
    assert_eq!(reported["reported"][0]["kwh"], "1.000", "{reported}{log}");

    // The cluster is out of reach, and for one tick the host's clock is two days ahead (a bad
    // NTP answer, a dead RTC battery): the same as the offset the gateway learned being two
    // days off.
    set_register(&deu, "1.400");
    let mut spool = read_spool(&deu);
    spool["clock_offset"] = (spool["clock_offset"].as_i64().unwrap() + TWO_DAYS).into();
    std::fs::write(spool_file(&deu), spool.to_string()).unwrap();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (jumped, jump_log) = gateway(&out_of_reach(&deu, &dead));
    assert_eq!(jumped["online"], false);

    // The clock is right again and the cluster back: every real hour is reported on time,
    // the 0.4 kWh of the jumped tick included, once.
    for (hour, register) in [(1u64, "2.000"), (2, "3.000"), (3, "4.000")] {
        an_hour_passes(&deu, register);
        let (tick, log) = gateway(&deu);
        assert_eq!(
            tick["reported"],
            json!([{"epoch": epoch + hour, "register_kwh": register, "kwh": "1.000", "hours": 1}]),
            "hour {hour} after the jump is reported on time, not stalled behind a future epoch: {tick}\n{log}"
        );
        assert_eq!(tick["pending"], 0, "{tick}{log}");
    }
    settled_and_connected(&deu, "4.000");

    // The jumped tick counted the epoch the chain could have reached, not the one its clock said.
    assert!(
        jumped["epoch"].as_u64().unwrap() <= epoch + 1,
        "the offline tick claimed epoch {} while the chain was in {}: {jumped}\n{jump_log}",
        jumped["epoch"],
        epoch + 1
    );
    assert!(
        jump_log.contains("the chain has not reached"),
        "the gateway says why: {jump_log}"
    );
    grid.stop();
}

#[test]
fn a_spool_holding_an_epoch_the_chain_has_not_reached_is_discarded_and_the_meter_never_goes_silent()
{
    let grid = house_grid("gwclock-future", "0", "20");
    let deu = grid.deu();
    set_register(&deu, "0.000");
    let (first, _) = gateway(&deu);
    let epoch = first["epoch"].as_u64().unwrap();
    an_hour_passes(&deu, "1.000");
    let (reported, log) = gateway(&deu);
    assert_eq!(reported["reported"][0]["kwh"], "1.000", "{reported}{log}");

    // What an older gateway left after its clock jumped two days ahead while offline: its last
    // read two days on, and that read's register queued for the epoch before.
    let ahead = epoch + 1 + 48;
    let mut spool = read_spool(&deu);
    spool["last_read"] = json!([ahead, 1_400]);
    spool["pending"] = json!({"epoch": ahead - 1, "register_wh": 1_400});
    std::fs::write(spool_file(&deu), spool.to_string()).unwrap();

    let mut logs = String::new();
    for (hour, register) in [(1u64, "2.000"), (2, "3.000"), (3, "4.000")] {
        an_hour_passes(&deu, register);
        let (tick, log) = gateway(&deu);
        assert_eq!(
            tick["reported"],
            json!([{"epoch": epoch + hour, "register_kwh": register, "kwh": "1.000", "hours": 1}]),
            "hour {hour}: reported on time, not stalled behind epoch {ahead}: {tick}\n{log}"
        );
        assert_eq!(tick["pending"], 0, "{tick}{log}");
        logs.push_str(&log);
    }
    settled_and_connected(&deu, "4.000");
    assert!(
        logs.contains("the chain has not reached"),
        "the discarded register is logged: {logs}"
    );
    assert_eq!(
        logs.matches("the chain has not reached").count(),
        1,
        "once: {logs}"
    );
    grid.stop();
}
