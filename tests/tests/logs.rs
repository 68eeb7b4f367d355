//! The program's events where a validator puts them, with the benchmark's setting
//! (`energy_utility_bank::logs::keep_events_in_logs`): a `Program data:` line in the
//! transaction's logs when the bank records logs, nothing when it does not — and never a
//! formatted line on stdout, which is what program-test's stubs print for every event (a write
//! per event that no validator makes, and most of what an event cost the benchmark's bank).
//!
//! Without libtest's harness (`harness = false`): its output capture would take the stubs'
//! `println!` before it reached the process's stdout, where this test looks.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anchor_lang::{AnchorDeserialize, Discriminator};
use energy_utility::events::ReadingReported;
use energy_utility_tests::*;

/// What the process wrote to its stdout (fd 1) while `run` ran.
async fn stdout_of<T>(run: impl std::future::Future<Output = T>) -> (T, String) {
    std::io::stdout().flush().unwrap();
    let (mut reader, writer) = std::io::pipe().expect("a pipe");
    // SAFETY: plain POSIX calls on descriptors this test owns; fd 1 is put back below.
    let saved = unsafe { OwnedFd::from_raw_fd(libc::dup(1)) };
    assert_eq!(unsafe { libc::dup2(writer.as_raw_fd(), 1) }, 1);
    let out = run.await;
    std::io::stdout().flush().unwrap();
    assert_eq!(unsafe { libc::dup2(saved.as_raw_fd(), 1) }, 1);
    drop(writer);
    let mut printed = String::new();
    reader.read_to_string(&mut printed).unwrap();
    (out, printed)
}

/// One report of `meter` for the current epoch, `wh` past its last register, signed and ready.
async fn report(g: &mut TestGrid, meter: &str, wh: u64) -> solana_transaction::Transaction {
    let epoch = g.current_epoch().await;
    let register = g.meter_state(meter).await.last_register_wh + wh;
    g.report_transaction(meter, epoch, register)
        .await
        .expect("sign a report")
}

async fn events_land_where_a_validator_puts_them() {
    let mut g = TestGrid::seed_community().await;
    // Program-test's stubs as the tests use them: the event is printed, not logged.
    let tx = report(&mut g, "carlos-house", 1_000).await;
    let (result, printed) =
        stdout_of(g.ctx.banks_client.process_transaction_with_metadata(tx)).await;
    let logs = result.unwrap().metadata.unwrap().log_messages;
    assert!(
        printed.lines().any(|l| l.starts_with("data: ")),
        "{printed}"
    );
    assert!(
        !logs.iter().any(|l| l.starts_with("Program data: ")),
        "{logs:?}"
    );

    energy_utility_bank::logs::keep_events_in_logs();

    // Logs recorded (a simulation, an RPC node): the event is in them, and only there.
    let tx = report(&mut g, "danny-house", 2_000).await;
    let (result, printed) =
        stdout_of(g.ctx.banks_client.process_transaction_with_metadata(tx)).await;
    let logs = result.unwrap().metadata.unwrap().log_messages;
    assert!(!printed.contains("data: "), "{printed}");
    let data: Vec<&str> = logs
        .iter()
        .filter_map(|l| l.strip_prefix("Program data: "))
        .collect();
    assert_eq!(data.len(), 1, "{logs:?}");
    let bytes = base64_decode(data[0]);
    assert_eq!(&bytes[..8], ReadingReported::DISCRIMINATOR);
    let event = ReadingReported::deserialize(&mut &bytes[8..]).unwrap();
    assert_eq!(
        (event.meter, event.wh),
        (g.meter("danny-house").address, 2_000)
    );

    // Logs not recorded (the benchmark's bank, a validator without transaction history):
    // the report lands and its event goes nowhere.
    let tx = report(&mut g, "angel-roof", 3_000).await;
    let (result, printed) = stdout_of(g.ctx.banks_client.process_transaction(tx)).await;
    result.unwrap();
    assert!(!printed.contains("data: "), "{printed}");
    assert_eq!(g.meter_state("angel-roof").await.lifetime_wh, 3_000);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(events_land_where_a_validator_puts_them());
    eprintln!("test events_land_where_a_validator_puts_them ... ok");
}
