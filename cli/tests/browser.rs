//! Real-browser tests of the demo web app: `node --test` on `app/tests/browser/`, which drives
//! headless Debian Chromium (through playwright-core) against this build's `deu demo`.
//!
//! Needs Node.js 20+, Chromium and the folder's node_modules: `bash app/tests/browser/setup.sh`.
//! Without them this test fails (it never passes silently).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const SETUP: &str = "run `bash app/tests/browser/setup.sh` from the workspace root first";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ lies in the workspace")
        .to_path_buf()
}

/// Prints each line of `stream` as it comes (through the test harness, so `--nocapture` streams it).
fn relay(stream: impl Read + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(line) => println!("{line}"),
                Err(_) => break,
            }
        }
    })
}

#[test]
fn browser_tests_pass_in_headless_chromium() {
    let root = workspace_root();
    let folder = root.join("app/tests/browser");

    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.is_file(),
        "Chromium is missing at {}: {SETUP}",
        chromium.display()
    );
    assert!(
        folder.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules/playwright-core is missing: {SETUP}",
        folder.display()
    );
    let node = Command::new("node").arg("--version").output();
    let version = match node {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        _ => panic!("node (Node.js 20 or newer) is not on PATH: install it, then {SETUP}"),
    };

    // The folder's test files, named explicitly: Node 20 searches a directory argument, but
    // Node 21+ takes arguments as glob patterns and would try to load the directory itself.
    let mut files: Vec<OsString> = std::fs::read_dir(&folder)
        .expect("read app/tests/browser")
        .map(|entry| entry.expect("list app/tests/browser").path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(".test.mjs"))
        })
        .map(|path| {
            path.strip_prefix(&root)
                .expect("under the workspace")
                .into()
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test.mjs in {}", folder.display());

    println!(
        "node {version}: node --test {files:?} (DEU_BIN={})",
        env!("CARGO_BIN_EXE_deu")
    );
    let started = Instant::now();
    let mut child = Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .args(&files)
        .current_dir(&root)
        .env("DEU_BIN", env!("CARGO_BIN_EXE_deu"))
        .env("CHROMIUM", &chromium)
        .env("FORCE_COLOR", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node --test");
    let out = relay(child.stdout.take().expect("node's stdout"));
    let err = relay(child.stderr.take().expect("node's stderr"));
    let status = child.wait().expect("wait for node --test");
    out.join().expect("relay node's stdout");
    err.join().expect("relay node's stderr");
    println!(
        "node --test finished in {:.1} s: {status}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        status.success(),
        "the browser tests failed ({status}); their output is above. Screenshots of passing steps are in target/screenshots/"
    );
}
