//! The walkthrough in `docs/walkthrough.md`, run as written: `deu localnet` started in a folder
//! of its own as Terminal 1 says, then Terminal 2's block, unchanged, with `bash -euo pipefail`
//! in that folder, the built `deu` first on the PATH and `DEU_URL` naming the cluster (the
//! block relies on `deu`'s default cluster, which that variable sets). What the block's comments
//! promise is checked in what its commands printed, and in the chain afterwards. If a command
//! in the walkthrough stops working, this test fails: fix the walkthrough, not the test.

mod common;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, Localnet, DEU};
use serde_json::Value;

const WALKTHROUGH: &str = "docs/walkthrough.md";

fn walkthrough() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(WALKTHROUGH);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The first ```sh block after the paragraph that starts with `label`, exactly as written.
fn block_after(markdown: &str, label: &str) -> String {
    let mut lines = markdown.lines().skip_while(|line| !line.starts_with(label));
    assert!(
        lines.next().is_some(),
        "{WALKTHROUGH} has no paragraph starting with {label:?}"
    );
    let mut lines = lines.skip_while(|line| line.trim_end() != "```sh");
    assert!(
        lines.next().is_some(),
        "{WALKTHROUGH}: no ```sh block after {label:?}"
    );
    let mut block = String::new();
    for line in lines {
        if line.trim_end() == "```" {
            return block;
        }
        block.push_str(line);
        block.push('\n');
    }
    panic!("{WALKTHROUGH}: the ```sh block after {label:?} is not closed")
}

/// Terminal 1's `deu localnet` line, its comment left out: the arguments after `deu`.
fn localnet_args(terminal_1: &str) -> Vec<String> {
    let line = terminal_1
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .find(|line| line.starts_with("deu localnet"))
        .unwrap_or_else(|| panic!("Terminal 1 starts no `deu localnet`:\n{terminal_1}"));
    let args: Vec<String> = line.split_whitespace().skip(1).map(String::from).collect();
    assert!(
        !args.iter().any(|a| a.starts_with("--rpc-port")),
        "Terminal 1 names a port: {line}"
    );
    args
}

/// `deu localnet` as Terminal 1 starts it (its ledger in `dir`), on a free port instead of
/// 8899 so that tests run side by side.
fn start_localnet(dir: &Path, args: &[String]) -> Localnet {
    let port = free_port();
    let mut command = Command::new(DEU);
    command
        .args(args)
        .args(["--rpc-port", &port.to_string()])
        .current_dir(dir)
        .env("HOME", dir);
    Localnet::spawn(command, port, &dir.join("localnet.stderr"))
}

/// The environment Terminal 2 has, in the test's folder: the built `deu` first on the PATH
/// (as `export PATH="$PWD/target/debug:$PATH"` gives in the repository), `DEU_URL` for the
/// cluster, and nothing of the developer's own `deu` settings or keys.
fn terminal(command: &mut Command, dir: &Path, url: &str) {
    let bin = Path::new(DEU).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    command
        .current_dir(dir)
        .env("PATH", path)
        .env("HOME", dir)
        .env("DEU_URL", url)
        .env_remove("DEU_KEYPAIR")
        .env_remove("DEU_GRID")
        .env_remove("DEU_ENV_FILE");
}

/// What each command of the block printed: bash traces each command (`+ deu …`, on the same
/// stream as the commands' own output) before running it.
fn steps(log: &str) -> Vec<(String, String)> {
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in log.lines() {
        if let Some(command) = line.strip_prefix("+ ") {
            steps.push((command.to_string(), String::new()));
        } else if let Some((_, output)) = steps.last_mut() {
            output.push_str(line);
            output.push('\n');
        }
    }
    steps
}

fn printed<'a>(steps: &'a [(String, String)], command: &str) -> &'a str {
    steps
        .iter()
        .find(|(c, _)| c == command)
        .map(|(_, output)| output.as_str())
        .unwrap_or_else(|| panic!("the walkthrough ran no `{command}`"))
}

/// The row `deu meter list` prints for one meter (its id first).
fn meter_row<'a>(list: &'a str, id: &str) -> &'a str {
    list.lines()
        .find(|line| line.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("no meter {id} in:\n{list}"))
}

/// The line of `deu epoch show` that starts with `field`.
fn epoch_line<'a>(shown: &'a str, field: &str) -> &'a str {
    shown
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} line in:\n{shown}"))
}

#[test]
fn the_walkthrough_runs_as_written_and_does_what_its_comments_say() {
    let markdown = walkthrough();
    let terminal_1 = block_after(&markdown, "Terminal 1");
    let terminal_2 = block_after(&markdown, "Terminal 2");

    let dir = std::env::temp_dir().join(format!("deu-walkthrough-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let net = start_localnet(&dir, &localnet_args(&terminal_1));

    // Terminal 2's block, as written, on one stream with bash's trace of each command.
    let script = dir.join("terminal-2.sh");
    std::fs::write(&script, &terminal_2).unwrap();
    let log_path = dir.join("terminal-2.log");
    let log = File::create(&log_path).unwrap();
    let mut bash = Command::new("bash");
    bash.args(["-euo", "pipefail", "-x"])
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    terminal(&mut bash, &dir, &net.url);
    let mut child = bash.spawn().expect("run bash");
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "Terminal 2's block still ran after 10 minutes:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let log = std::fs::read_to_string(&log_path).unwrap();
    println!("{log}");
    assert!(
        status.success(),
        "Terminal 2's block in {WALKTHROUGH} failed ({status}); what it printed:\n{log}"
    );
    let steps = steps(&log);

    // `deu fiat add carlos 1.00 --payment-id evt_1  # the oracle mints 10 k for $1.00`
    let minted = printed(&steps, "deu fiat add carlos 1.00 --payment-id evt_1");
    assert!(minted.contains("10.000000 k"), "{minted}");
    // `deu meter list  # angel-roof 2.721818 k, bennie-roof 2.268181 k`
    let list = printed(&steps, "deu meter list");
    for (meter, earned) in [("angel-roof", "2.721818 k"), ("bennie-roof", "2.268181 k")] {
        let row = meter_row(list, meter);
        assert!(row.contains(earned), "{meter} should show {earned}: {row}");
    }
    // `deu epoch show  # charged 5 k, fee 0.01 k, paid 4.989999 k, carried 0.000001 k`
    let epoch = printed(&steps, "deu epoch show");
    for (field, amount) in [
        ("charged:", "5.000000 k"),
        ("fee:", "0.010000 k"),
        ("paid:", "4.989999 k"),
        ("carried:", "0.000001 k out"),
    ] {
        let line = epoch_line(epoch, field);
        assert!(line.contains(amount), "{field} should say {amount}: {line}");
    }
    // `deu fiat lock angel 0  # the oracle locks it for the $0.20 it is worth`
    let locked = printed(&steps, "deu fiat lock angel 0");
    assert!(locked.contains("$0.20"), "{locked}");
    // `deu meter rotate-gateway …  # the utility alone: waits 72 h, shown on the meter`
    let rotated = steps
        .iter()
        .find(|(c, _)| c.starts_with("deu meter rotate-gateway carlos-house"))
        .map(|(_, output)| output.as_str())
        .expect("the walkthrough rotates carlos-house's gateway");
    assert!(rotated.contains("PENDING:"), "{rotated}");

    // And the chain afterwards, through `deu --output json`, signing as the block does after
    // its `export DEU_KEYPAIR=keys/utility.json`.
    let deu = |args: &[&str]| -> Value {
        let mut command = Command::new(DEU);
        command.args(["--output", "json"]).args(args);
        terminal(&mut command, &dir, &net.url);
        command.env("DEU_KEYPAIR", "keys/utility.json");
        let out = command.output().expect("run deu");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "deu {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("deu {args:?}: {e}: {stdout}"))
    };
    // `deu grid init  # fee 0.01 k, tariff 1 k/kWh, $0.10 per k, hourly epochs`; the fees
    // collected.
    let grid = deu(&["grid", "show"]);
    println!("{grid:#}");
    assert_eq!(grid["name"], "village");
    assert_eq!(grid["fee_k"], "0.010000");
    assert_eq!(grid["tariff_k_per_kwh"], "1.000000");
    assert_eq!(grid["coin_price_usd"], "0.10");
    assert_eq!(grid["epoch_seconds"], 3_600);
    assert_eq!(grid["treasury_k"], "0.000000", "the utility took its fees");
    // `deu resident register utility && deu grid collect-fees  # … its 0.01 k of fees`
    assert_eq!(
        deu(&["resident", "show", "utility"])["balance_k"],
        "0.010000"
    );
    // `deu fiat add carlos 1.00  # the oracle mints 10 k for $1.00`, then 5 k to the house.
    let carlos = deu(&["resident", "show", "carlos"]);
    println!("{carlos:#}");
    assert_eq!(carlos["balance_k"], "5.000000");
    // `deu -k keys/angel.json collect angel-roof`, then a sale of 2 k paid.
    let angel = deu(&["resident", "show", "angel"]);
    println!("{angel:#}");
    assert_eq!(angel["balance_k"], "0.721818");
    assert_eq!(angel["payout_account"], "acct_angel");
    assert_eq!(
        deu(&["meter", "show", "angel-roof"])["balance_k"],
        "0.000000"
    );
    let sales = deu(&["-k", "keys/angel.json", "withdraw", "list"]);
    println!("{sales:#}");
    let sale = &sales.as_array().expect("sales")[0];
    assert_eq!(sale["number"], 0);
    assert_eq!(sale["status"], "paid", "{sale}");
    assert_eq!(sale["coins_k"], "2.000000");
    assert_eq!(sale["destination"], "acct_angel");
    assert_eq!(sale["usd"], "0.20", "locked for the $0.20 it is worth");
    assert_eq!(sale["payout_id"], "tr_1");
    // The rotation waited for the notice, Carlos turned it down: his gateway is unchanged.
    let house = deu(&["meter", "show", "carlos-house"]);
    println!("{house:#}");
    assert_eq!(house["pending_change"], Value::Null, "vetoed");
    let pubkey = |file: &str| {
        let keypair = solana_keypair::read_keypair_file(dir.join(file)).expect("a key file");
        solana_signer::Signer::pubkey(&keypair).to_string()
    };
    assert_eq!(house["gateway"], pubkey("keys/carlos-gw.json"));
    // `deu meter deactivate danny-house --owner-keypair keys/danny.json  # … at once`
    let danny_house = deu(&["meter", "show", "danny-house"]);
    println!("{danny_house:#}");
    assert_eq!(danny_house["retired"], true);
    assert_eq!(danny_house["balance_k"], "0.000000");
    assert_eq!(
        deu(&["resident", "show", "danny"])["balance_k"],
        "8.000000",
        "danny's 5 k left, and the house's 3 k not spent refunded"
    );

    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
