//! The ledger folder: what survives a restart of the local cluster.
//!
//! The bank cannot list its accounts, so the cluster saves every account a transaction touched,
//! one JSON file per account under `accounts/<pubkey>.json`, and the clock offset in
//! `clock.json`. Every file is written to a temporary name first and renamed into place, so a
//! crash never leaves half a file behind.

use std::{
    fs,
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    str::FromStr,
};

use anyhow::{anyhow, Context};
use base64::{prelude::BASE64_STANDARD, Engine};
use serde::{Deserialize, Serialize};
use solana_account::Account;
use solana_sdk::pubkey::Pubkey;

const ACCOUNTS_DIR: &str = "accounts";
const CLOCK_FILE: &str = "clock.json";
const ACCOUNT_SUFFIX: &str = ".json";

/// One saved account, as stored on disk.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedAccount {
    lamports: u64,
    owner: String,
    executable: bool,
    rent_epoch: u64,
    /// The account data, base64.
    data: String,
}

/// The saved clock: the offset from wall-clock time, and the last timestamp the bank showed
/// (so the clock never runs backwards across a restart).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedClock {
    pub offset_seconds: i64,
    pub unix_timestamp: i64,
}

pub(crate) struct Ledger {
    root: PathBuf,
    accounts: PathBuf,
}

impl Ledger {
    /// Opens (creating) the ledger folder; `reset` forgets everything saved in it first.
    pub fn open(root: &Path, reset: bool) -> anyhow::Result<Self> {
        let ledger = Self {
            root: root.to_path_buf(),
            accounts: root.join(ACCOUNTS_DIR),
        };
        if reset {
            // Only what the cluster itself writes: a ledger pointed at a folder that also
            // holds other files must not lose them.
            remove_dir_if_exists(&ledger.accounts)?;
            remove_file_if_exists(&ledger.root.join(CLOCK_FILE))?;
        }
        fs::create_dir_all(&ledger.accounts)
            .with_context(|| format!("create the ledger folder {}", ledger.accounts.display()))?;
        Ok(ledger)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every saved account.
    pub fn load_accounts(&self) -> anyhow::Result<Vec<(Pubkey, Account)>> {
        let mut accounts = Vec::new();
        let entries = fs::read_dir(&self.accounts)
            .with_context(|| format!("read the ledger folder {}", self.accounts.display()))?;
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            // Temporary files of an interrupted write start with a dot.
            let Some(key) = name.strip_suffix(ACCOUNT_SUFFIX) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let address = Pubkey::from_str(key)
                .map_err(|e| anyhow!("{}: not an account address: {e}", path.display()))?;
            let text = fs::read(&path).with_context(|| format!("read {}", path.display()))?;
            let saved: SavedAccount = serde_json::from_slice(&text)
                .with_context(|| format!("{}: not a saved account", path.display()))?;
            let owner = Pubkey::from_str(&saved.owner)
                .map_err(|e| anyhow!("{}: bad owner: {e}", path.display()))?;
            let data = BASE64_STANDARD
                .decode(saved.data)
                .with_context(|| format!("{}: bad account data", path.display()))?;
            accounts.push((
                address,
                Account {
                    lamports: saved.lamports,
                    data,
                    owner,
                    executable: saved.executable,
                    rent_epoch: saved.rent_epoch,
                },
            ));
        }
        accounts.sort_by_key(|(address, _)| *address);
        Ok(accounts)
    }

    /// Saves an account, or forgets it when it no longer exists (`None`).
    pub fn save_account(&self, address: &Pubkey, account: Option<&Account>) -> anyhow::Result<()> {
        let path = self.accounts.join(format!("{address}{ACCOUNT_SUFFIX}"));
        match account {
            None => remove_file_if_exists(&path),
            Some(account) => {
                let saved = SavedAccount {
                    lamports: account.lamports,
                    owner: account.owner.to_string(),
                    executable: account.executable,
                    rent_epoch: account.rent_epoch,
                    data: BASE64_STANDARD.encode(&account.data),
                };
                write_atomically(&path, &serde_json::to_vec_pretty(&saved)?)
            }
        }
    }

    pub fn load_clock(&self) -> anyhow::Result<SavedClock> {
        let path = self.root.join(CLOCK_FILE);
        match fs::read(&path) {
            Ok(text) => serde_json::from_slice(&text)
                .with_context(|| format!("{}: not a saved clock", path.display())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(SavedClock::default()),
            Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
        }
    }

    pub fn save_clock(&self, clock: &SavedClock) -> anyhow::Result<()> {
        write_atomically(
            &self.root.join(CLOCK_FILE),
            &serde_json::to_vec_pretty(clock)?,
        )
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{}: no file name", path.display()))?;
    let temporary = path.with_file_name(format!(".{name}.tmp"));
    let mut file =
        fs::File::create(&temporary).with_context(|| format!("create {}", temporary.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("write {}", temporary.display()))?;
    drop(file);
    fs::rename(&temporary, path).with_context(|| format!("replace {}", path.display()))
}

fn remove_file_if_exists(path: &Path) -> anyhow::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn remove_dir_if_exists(path: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(e).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}
