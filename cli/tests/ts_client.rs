//! The TypeScript client (`clients/ts`, on `@solana/kit`) against a real `deu localnet`: its
//! generated code is what the IDL gives, it builds, and its tests under `node --test` drive a
//! community through it (see `clients/ts/test/`).
//!
//! The node packages come from `clients/ts/setup.sh` (`scripts/test` runs it).

mod common;

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
};

use common::{free_port, Localnet};

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../clients/ts")
}

/// `npm run <script>` in clients/ts, with the output shown as it comes; the output and
/// whether it succeeded.
fn npm(script: &str, env: &[(&str, String)]) -> (bool, String) {
    let mut command = Command::new("npm");
    command
        .current_dir(client_dir())
        .args(["run", "--silent", script])
        .stdout(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .expect("run npm (Node.js 20.18 or newer is needed)");
    let mut output = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        eprintln!("{line}");
        output.push_str(&line);
        output.push('\n');
    }
    (child.wait().unwrap().success(), output)
}

#[test]
fn the_typescript_client_drives_a_community_on_deu_localnet() {
    let dir = client_dir();
    assert!(
        dir.join("node_modules/@solana/kit").is_dir(),
        "the client's packages are not installed: run `bash {}/setup.sh` (scripts/test does)",
        dir.display()
    );
    let (fresh, output) = npm("check-generated", &[]);
    assert!(fresh, "{output}");
    let (built, output) = npm("build", &[]);
    assert!(built, "tsc failed:\n{output}");

    let ledger = std::env::temp_dir().join(format!(
        "deu-ts-client-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let port = free_port();
    let net = Localnet::start(&ledger, port);
    let (passed, report) = npm(
        "test",
        &[
            ("DEU_RPC_URL", net.url.clone()),
            ("DEU_WS_URL", format!("ws://127.0.0.1:{}", port + 1)),
        ],
    );
    net.stop();
    assert!(passed, "the client's tests failed");
    assert!(report.contains("# fail 0"), "{report}");
    let count: usize = report
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(count >= 6, "only {count} client tests passed");
    let _ = std::fs::remove_dir_all(&ledger);
}
