//! Settings files for `deu serve`, the crank (`deu settle --watch`) and `deu-gateway run`:
//! `KEY=value` lines naming the commands' environment variables (each flag's `[env: DEU_…]`
//! in `--help`), the format of systemd's `EnvironmentFile=` and compose's `env_file:`, so one
//! file serves a service unit, a container and a shell alike (`--env-file FILE`, or
//! `DEU_ENV_FILE`). Blank lines and `#` comments are skipped; `export ` and quotes around a
//! value are allowed. A flag on the command line wins over the environment, and the
//! environment over the file. Only `DEU_*` and `RUST_LOG` keys are taken (a typo is an error
//! naming its line), and a file that holds a secret (`DEU_WEBHOOK_SECRET`, `DEU_PROCESSOR_KEY`,
//! `DEU_OPERATOR_TOKEN`, `DEU_PKCS11_PIN`) must not be readable by other users.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Keys whose values are secrets: a file holding one must be private to its owner.
const SECRETS: &[&str] = &[
    "DEU_WEBHOOK_SECRET",
    "DEU_PROCESSOR_KEY",
    "DEU_OPERATOR_TOKEN",
    "DEU_PKCS11_PIN",
];

/// The settings file named by `--env-file FILE` (or `--env-file=FILE`) in `args`, else by
/// `DEU_ENV_FILE`.
pub fn env_file_in(args: &[OsString]) -> Option<PathBuf> {
    let mut found = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--env-file" {
            found = iter.next().map(PathBuf::from);
        } else if let Some(path) = text.strip_prefix("--env-file=") {
            found = Some(PathBuf::from(path));
        }
    }
    found.or_else(|| std::env::var_os("DEU_ENV_FILE").map(PathBuf::from))
}

/// The `(key, value)` pairs of a settings file's text; an error names the line.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {}: expected KEY=value, found '{line}'",
                n + 1
            ));
        };
        let key = key.trim();
        if !(key.starts_with("DEU_") || key == "RUST_LOG")
            || !key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "line {}: '{key}' is not a setting (the keys are the DEU_… variables `--help` lists)",
                n + 1
            ));
        }
        let value = value.trim();
        let value = match (value.chars().next(), value.chars().last()) {
            (Some('"'), Some('"')) | (Some('\''), Some('\'')) if value.len() >= 2 => {
                &value[1..value.len() - 1]
            }
            _ => value,
        };
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// Reads `path` and returns the settings the environment does not already set.
pub fn read(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("read the settings file {}: {e}", path.display()))?;
    let pairs = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    if pairs.iter().any(|(k, _)| SECRETS.contains(&k.as_str())) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} holds a secret and is readable by other users (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            ));
        }
    }
    Ok(pairs
        .into_iter()
        .filter(|(k, _)| std::env::var_os(k).is_none())
        .collect())
}

/// Loads the settings file `args` name into the environment, before anything else reads it
/// (call it first thing in `main`, before any thread starts).
pub fn load(args: &[OsString]) -> Result<(), String> {
    let Some(path) = env_file_in(args) else {
        return Ok(());
    };
    for (key, value) in read(&path)? {
        // Single-threaded still: nothing reads the environment concurrently.
        std::env::set_var(key, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_comments_quotes_and_refusals() {
        let pairs = parse(
            "# the crank\nDEU_URL=https://api.devnet.solana.com\n\nexport DEU_GRID=\"village\"\nRUST_LOG='info'\n",
        )
        .unwrap();
        assert_eq!(
            pairs,
            [
                ("DEU_URL".into(), "https://api.devnet.solana.com".into()),
                ("DEU_GRID".into(), "village".into()),
                ("RUST_LOG".into(), "info".into()),
            ]
        );
        assert!(parse("PATH=/tmp").unwrap_err().contains("line 1: 'PATH'"));
        assert!(parse("DEU_URL").unwrap_err().contains("expected KEY=value"));
        let args: Vec<OsString> = ["deu", "--env-file", "a.env", "serve"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(env_file_in(&args), Some(PathBuf::from("a.env")));
        let args: Vec<OsString> = ["deu", "--env-file=b.env"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(env_file_in(&args), Some(PathBuf::from("b.env")));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_with_a_secret_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("deu-settings-{}.env", std::process::id()));
        std::fs::write(&path, "DEU_WEBHOOK_SECRET=whsec_x\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read(&path).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
        std::fs::remove_file(&path).unwrap();
    }
}
