//! The gateway runs on a small board: its dependency tree holds the SDK and an RPC client,
//! never the bank, the program runtime, the local cluster or the web app.

use std::process::Command;

/// Crates only a developer's machine or the utility's server needs.
const FORBIDDEN: &[&str] = &[
    "solana-program-test",
    "solana-runtime",
    "solana-svm",
    "solana-program-runtime",
    "solana-bpf-loader-program",
    "solana-banks-client",
    "solana-banks-server",
    "solana-ledger",
    "energy-utility-bank",
    "energy-utility-localnet",
    "energy-utility-app",
    "energy-utility-payments",
    "energy-utility-serve",
    "axum",
    "redb",
];

#[test]
fn the_gateway_depends_on_no_bank_runtime_cluster_or_web_crate() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "energy-utility-gateway",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"),
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    crates.sort_unstable();
    crates.dedup();
    assert!(crates.contains(&"energy-utility-sdk"), "{crates:?}");
    assert!(crates.contains(&"solana-rpc-client"), "{crates:?}");
    let found: Vec<&&str> = crates.iter().filter(|c| FORBIDDEN.contains(c)).collect();
    assert!(found.is_empty(), "the gateway pulls in {found:?}");
    println!(
        "deu-gateway: {} crates in its dependency tree",
        crates.len()
    );
}
