//! Real meters through `deu gateway`: a register that wraps at its width is counted on, a
//! reset is reported and never billed, and a prosumer's two registers go to the chain
//! together, its import charged and its export paid.

mod common;

use std::process::Command;

use common::*;
use serde_json::{json, Value};

fn register_meter(deu: &Deu, gw: &str, id: &str, kind: &str, register_kwh: &str) {
    deu.ok(
        "admin",
        &[
            "meter",
            "register",
            id,
            "--kind",
            kind,
            "--owner",
            "hoa",
            "--gateway",
            gw,
            "--register-kwh",
            register_kwh,
            "--capacity-kw",
            "5",
        ],
    );
}

/// One tick of `deu gateway --once` for `meter` reading the file `register`: its JSON and
/// what it logged.
fn tick(deu: &Deu, meter: &str, extra: &[&str]) -> (Value, String) {
    let mut command: Command = deu.command("gw");
    command
        .args(["gateway", "--once", "--meter", meter, "--source"])
        .arg(format!("file:{}", deu.dir.join("register").display()))
        .arg("--spool")
        .arg(deu.dir.join("spool"))
        .args(extra);
    let out = command.output().expect("run the gateway");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "gateway failed: {stdout}{stderr}");
    (
        serde_json::from_str(stdout.trim()).expect("gateway JSON"),
        stderr,
    )
}

fn an_hour_passes(deu: &Deu, register: &str) {
    std::fs::write(deu.dir.join("register"), register).unwrap();
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
}

#[test]
fn a_register_that_wraps_is_counted_on_and_a_reset_is_never_billed() {
    let (cluster, gw) = gateway_grid("gwm-wrap");
    let deu = cluster.deu();
    register_meter(&deu, &gw, "house", "household", "99998");
    deu.ok("admin", &["fund", "house", "8"]);
    let width = ["--rollover-kwh", "99999.9"];

    std::fs::write(deu.dir.join("register"), "99998.000").unwrap();
    let (first, _) = tick(&deu, "house", &width);
    let epoch = first["epoch"].as_u64().unwrap();

    // The register passes 99,999.9 and starts again at 0.5: 2.4 kWh, within 5 kW for an hour.
    an_hour_passes(&deu, "0.500");
    let (wrapped, log) = tick(&deu, "house", &width);
    assert!(
        log.contains("wrapped from 99999.000") || log.contains("wrapped"),
        "{log}"
    );
    assert_eq!(
        wrapped["reported"],
        json!([{"epoch": epoch, "register_kwh": "100000.400", "kwh": "2.400", "hours": 1}])
    );

    // Then it reads 0.1: a fall a wrap cannot explain within the meter's capacity (it would
    // be 99,999.5 kWh in an hour). Reported plainly, never billed.
    an_hour_passes(&deu, "0.100");
    let (reset, log) = tick(&deu, "house", &width);
    assert!(log.contains("went back from 0.500 to 0.100 kWh"), "{log}");
    assert!(log.contains("It is not billed"), "{log}");
    assert_eq!(reset["reported"], json!([]));
    let house = deu.ok("admin", &["meter", "show", "house"]);
    assert_eq!(house["lifetime_kwh"], "2.400");
    // What the 2.4 kWh will cost is committed, nothing more.
    assert_eq!(house["committed_k"], "2.400000");
    cluster.stop();
}

#[test]
fn a_prosumers_import_and_export_are_reported_together_charged_and_paid() {
    let (cluster, gw) = gateway_grid("gwm-prosumer");
    let deu = cluster.deu();
    register_meter(&deu, &gw, "home-in", "household", "100");
    register_meter(&deu, &gw, "home-out", "producer", "40");
    deu.ok("admin", &["fund", "home-in", "5"]);
    // A one-register meter reports on its own before the pairing...
    let paired = deu.ok("admin", &["meter", "pair", "home-in", "home-out"]);
    assert!(paired["partner"].is_string(), "{paired}");
    // ...and a source that reads one register is refused for a prosumer, saying why.
    std::fs::write(deu.dir.join("register"), "100.000").unwrap();
    let out = deu
        .command("gw")
        .args(["gateway", "--once", "--meter", "home-in", "--source"])
        .arg(format!("file:{}", deu.dir.join("register").display()))
        .arg("--spool")
        .arg(deu.dir.join("spool"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must read both registers"), "{err}");

    // Import and export on one line, as a bidirectional meter's reader prints them.
    std::fs::write(deu.dir.join("register"), "100.000 40.000").unwrap();
    let (first, _) = tick(&deu, "home-in", &[]);
    let epoch = first["epoch"].as_u64().unwrap();
    an_hour_passes(&deu, "101.200 43.500");
    let (hour, _) = tick(&deu, "home-in", &[]);
    assert_eq!(
        hour["reported"],
        json!([
            {"epoch": epoch, "register_kwh": "101.200", "kwh": "1.200", "hours": 1},
            {"epoch": epoch, "register_kwh": "43.500", "kwh": "3.500", "hours": 1},
        ])
    );
    // The crank settles the hour: the import is charged as a consumer's, the export paid.
    deu.ok("admin", &["clock", "advance", "--hours", "1"]);
    deu.ok("admin", &["settle"]);
    let import = deu.ok("admin", &["meter", "show", "home-in"]);
    assert_eq!(import["lifetime_kwh"], "1.200");
    assert_eq!(import["balance_k"], "3.800000");
    let export = deu.ok("admin", &["meter", "show", "home-out"]);
    assert_eq!(export["lifetime_kwh"], "3.500");
    // The only consumer paid 1.2 k; the fee 0.01 k; the rest is the only producer's.
    assert_eq!(export["balance_k"], "1.190000");
    cluster.stop();
}
