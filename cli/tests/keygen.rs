//! `deu keygen` (issue #24): a key file is readable by its owner alone (0600), whatever file
//! was there before, and it is written atomically: a new complete key or the old file, never a
//! torn or briefly world-readable one.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::DEU;
use serde_json::Value;

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deu-keygen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn keygen(path: &Path, extra: &[&str]) -> Output {
    Command::new(DEU)
        .args(["--output", "json", "keygen"])
        .arg(path)
        .args(extra)
        .output()
        .expect("run deu keygen")
}

/// The file's permission bits, in octal as `ls -l` people read them: "600".
fn mode(path: &Path) -> String {
    format!(
        "{:o}",
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    )
}

/// The public key of the keypair in `path` (a JSON array of 64 bytes).
fn pubkey_in(path: &Path) -> String {
    let bytes: Vec<u8> = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not a keypair file: {e}", path.display()));
    let keypair = solana_keypair::Keypair::try_from(&bytes[..]).expect("a valid keypair");
    solana_signer::Signer::pubkey(&keypair).to_string()
}

#[test]
fn keygen_force_over_a_world_readable_file_leaves_a_new_key_readable_by_its_owner_alone() {
    let dir = folder("force");
    let path = dir.join("gw.json");
    std::fs::write(&path, "an old key, readable by everyone").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

    let out = keygen(&path, &["--force"]);
    assert!(
        out.status.success(),
        "keygen --force failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mode(&path),
        "600",
        "the new key file must be readable by its owner alone, not keep the old file's 644"
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["pubkey"], pubkey_in(&path), "the key it printed");

    // Nothing else is left in the folder (no temporary file).
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["gw.json"]);

    // Without --force an existing key is never touched.
    let before = std::fs::read(&path).unwrap();
    let out = keygen(&path, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(mode(&path), "600");

    // A fresh file, in a folder that does not exist yet, is 0600 too.
    let fresh = dir.join("keys").join("new.json");
    let out = keygen(&fresh, &[]);
    assert!(out.status.success());
    assert_eq!(mode(&fresh), "600");
    pubkey_in(&fresh);
    std::fs::remove_dir_all(&dir).unwrap();
}
