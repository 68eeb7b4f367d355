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
        serde_json::json!([{"epoch": epoch, "kwh": "2.500"}])
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
        serde_json::json!([{"epoch": epoch + 1, "kwh": "1.500"}])
    );
    assert_eq!(back["pending"], 0);
    assert_eq!(
        deu.ok("admin", &["meter", "show", "house"])["lifetime_kwh"],
        "4.000"
    );

    // A crash after sending but before the spool was updated: the reading is sent again, the
    // chain refuses the duplicate, and the gateway drops it. Nothing is counted twice.
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
