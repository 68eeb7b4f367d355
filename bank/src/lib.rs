//! The `energy_utility` program inside a real Agave bank (`solana-program-test`), shared by the
//! integration tests and the local cluster (`deu localnet`).
//!
//! The program runs natively (compiled for the host) unless `target/deploy/energy_utility.so`
//! exists (or `ENERGY_UTILITY_SO` names one, or `SBF_OUT_DIR`/`BPF_OUT_DIR` hold one): then it
//! runs as BPF, the way `anchor test` runs it. `ENERGY_UTILITY_NATIVE=1` forces native mode.

use std::path::PathBuf;

use anchor_lang::prelude::{AccountInfo, Pubkey, Rent};
use solana_account::Account;
use solana_program_test::ProgramTest;

pub mod heap;
pub mod logs;

/// Mainnet's account-lock limit per transaction (program-test defaults to 128).
pub const MAINNET_ACCOUNT_LOCKS: usize = 64;

// Anchor's entry wants the slice and its AccountInfos to share one lifetime; the bank's
// accounts outlive the call, so unifying them is sound. The target type is Anchor's own
// signature, inferred, which is why the transmute carries no annotation.
#[allow(clippy::missing_transmute_annotations)]
pub(crate) fn process_natively(
    program_id: &Pubkey,
    accounts: &[AccountInfo],
    data: &[u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    heap::enter();
    let result = energy_utility::entry(program_id, unsafe { std::mem::transmute(accounts) }, data);
    heap::exit();
    result
}

/// The compiled BPF program, if one was built.
pub fn bpf_program_path() -> Option<PathBuf> {
    if std::env::var("ENERGY_UTILITY_NATIVE").is_ok_and(|v| v == "1") {
        return None;
    }
    let mut candidates = Vec::new();
    if let Ok(path) = std::env::var("ENERGY_UTILITY_SO") {
        candidates.push(PathBuf::from(path));
    }
    for var in ["SBF_OUT_DIR", "BPF_OUT_DIR"] {
        if let Ok(dir) = std::env::var(var) {
            candidates.push(PathBuf::from(dir).join("energy_utility.so"));
        }
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    candidates.push(workspace.join("target/deploy/energy_utility.so"));
    candidates.into_iter().find(|p| p.exists())
}

/// The bank logs every instruction at debug level unless `RUST_LOG` says otherwise; tests
/// assert state, not logs, so keep the output to errors by default.
fn quiet_bank_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "error");
        }
    });
}

/// A bank with the program loaded (BPF if built, native otherwise) and mainnet's lock limit.
pub fn program_test() -> ProgramTest {
    quiet_bank_logs();
    let mut pt = ProgramTest::default();
    pt.prefer_bpf(false);
    pt.set_transaction_account_lock_limit(MAINNET_ACCOUNT_LOCKS);
    match bpf_program_path() {
        Some(path) => {
            let data = std::fs::read(&path).expect("read the BPF program");
            pt.add_account(
                energy_utility::ID,
                Account {
                    lamports: Rent::default().minimum_balance(data.len()).max(1),
                    data,
                    owner: solana_sdk_ids::bpf_loader::id(),
                    executable: true,
                    rent_epoch: 0,
                },
            );
        }
        None => pt.add_program("energy_utility", energy_utility::ID, logs::native_builtin()),
    }
    pt
}
