//! The settlement crank within SBF's memory: a full v0 batch (55 readings) stays under 24 KB
//! of the 32 KB heap, and no instruction's accounts struct comes near SBF's 4 KB stack frame.
//!
//! How the heap is measured: this binary's global allocator counts every byte the program
//! allocates while its native entry runs on the bank's thread (`energy_utility_bank::heap`;
//! reallocations count their new size, since SBF's bump allocator never frees or grows in
//! place), with program-test's syscall stubs — syscalls on SBF, outside the program's heap —
//! left out. To that comes what SBF's entrypoint allocates before the program runs, computed
//! per account (`SBF_ENTRYPOINT_BYTES_PER_ACCOUNT`). The community uses the longest ids and
//! labels the program allows, the worst case for each meter's load.
//!
//! Without libtest's harness (`harness = false`): its output capture allocates in the threads
//! it watches.

use std::alloc::{GlobalAlloc, Layout, System};
use std::mem::size_of;

use energy_utility::instructions as on_chain;
use energy_utility::state::{EpochStatus, Meter, MeterKind};
use energy_utility_bank::heap::{self, SBF_ENTRYPOINT_BYTES_PER_ACCOUNT};
use energy_utility_sdk::settlement::{
    settle_transaction, MAX_METERS_PER_SETTLE, MAX_METERS_PER_SETTLE_V0,
};
use energy_utility_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

struct Counting;

// SAFETY: passes every call to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if heap::counting() {
            heap::add(layout.size());
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if heap::counting() {
            heap::add(layout.size());
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if heap::counting() {
            heap::add(new_size);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap a batch may use: 24 KB of SBF's 32 KB.
const HEAP_BUDGET: usize = 24 * 1024;
/// Accounts of `settle` besides its meters: grid, epoch, vault, pool, treasury, token program.
const SETTLE_ACCOUNTS: usize = 6;

/// `consumers` households and `producers` roofs with 32-character ids and 64-character labels,
/// funded and reported for epoch 0, which is closed for reports.
async fn worst_case_community(consumers: usize, producers: usize) -> TestGrid {
    let mut g = TestGrid::start().await;
    g.add_resident("hoa").await;
    g.buy("hoa", 1_000_000).await;
    for i in 0..consumers + producers {
        let producer = i >= consumers;
        let id = format!("{}-{i:0>27}", if producer { "roof" } else { "home" });
        assert_eq!(id.len(), 32);
        let kind = if producer {
            MeterKind::Producer
        } else {
            MeterKind::Household
        };
        let gateway = Keypair::new();
        let args = meter_args(&id, kind, &gateway.pubkey(), &"L".repeat(64));
        g.add_meter_from_args("hoa", gateway, args).await;
        if !producer {
            g.fund("hoa", &id, 10 * K).await.unwrap();
        }
        g.report(&id, 0, 500 + i as u64 * 37).await.unwrap();
    }
    g.close_epoch_window(0).await;
    g
}

/// Settles epoch 0 in one transaction over all meters (v0 when `tables` is given) and returns
/// the heap SBF would have used.
async fn settle_heap(v0: bool, consumers: usize, producers: usize) -> usize {
    let mut g = worst_case_community(consumers, producers).await;
    let grid = g.grid;
    let tables = if v0 {
        g.sync_lookup_tables().await
    } else {
        Vec::new()
    };
    energy_utility_bank::logs::install_stubs();
    let meters = g.meters_in_order().await;
    let instructions = settle_transaction(&grid, 0, &meters);
    if v0 {
        g.send_v0(&instructions, &[], &tables).await.unwrap();
    } else {
        g.send(&instructions, &[]).await.unwrap();
    }
    let program = heap::last_instruction_bytes();
    assert_eq!(g.epoch_state(0).await.status, EpochStatus::Settled);
    g.assert_books_balance().await;
    let entrypoint = (SETTLE_ACCOUNTS + meters.len()) * SBF_ENTRYPOINT_BYTES_PER_ACCOUNT;
    let total = program + entrypoint;
    println!(
        "settle, {} readings ({} consumers, {} producers): program {program} B + entrypoint {entrypoint} B = {total} B of the 32 KB heap",
        meters.len(),
        consumers,
        producers
    );
    assert!(
        program > 0,
        "nothing was counted: is the counting allocator installed?"
    );
    total
}

async fn a_full_batch_settles_within_24_kb_of_the_sbf_heap() {
    let legacy = settle_heap(false, MAX_METERS_PER_SETTLE - 4, 4).await;
    let full = settle_heap(true, MAX_METERS_PER_SETTLE_V0 - 5, 5).await;
    // All producers: each is loaded twice in the call that finishes charging.
    let producers = settle_heap(true, 1, MAX_METERS_PER_SETTLE_V0 - 1).await;
    let per_reading =
        (full - legacy) as f64 / (MAX_METERS_PER_SETTLE_V0 - MAX_METERS_PER_SETTLE) as f64;
    println!("about {per_reading:.0} B per reading");
    for (what, bytes) in [
        ("legacy batch", legacy),
        ("v0 batch", full),
        ("v0 batch of producers", producers),
    ] {
        assert!(
            bytes < HEAP_BUDGET,
            "{what}: {bytes} B, over {HEAP_BUDGET} B"
        );
    }
}

/// Each instruction's accounts struct lives in its handler's stack frame (4 KB on SBF):
/// program accounts are boxed (8 bytes each), so none comes near it. Sizes are measured here
/// from the compiled structs; SBF's pointers and `Pubkey`s have the same sizes.
fn accounts_structs_are_small() {
    let sizes = [
        (
            "initialize_grid",
            size_of::<on_chain::InitializeGrid<'static>>(),
        ),
        ("update_grid", size_of::<on_chain::UpdateGrid<'static>>()),
        ("set_paused", size_of::<on_chain::SetPaused<'static>>()),
        (
            "register_meter",
            size_of::<on_chain::RegisterMeter<'static>>(),
        ),
        ("change_meter", size_of::<on_chain::ChangeMeter<'static>>()),
        (
            "cancel_grid_changes",
            size_of::<on_chain::CancelGridChanges<'static>>(),
        ),
        (
            "propose_admin",
            size_of::<on_chain::ProposeAdmin<'static>>(),
        ),
        ("accept_admin", size_of::<on_chain::AcceptAdmin<'static>>()),
        ("close_meter", size_of::<on_chain::CloseMeter<'static>>()),
        ("collect_fees", size_of::<on_chain::CollectFees<'static>>()),
        (
            "record_lookup_table",
            size_of::<on_chain::RecordLookupTable<'static>>(),
        ),
        (
            "register_resident",
            size_of::<on_chain::RegisterResident<'static>>(),
        ),
        ("fund", size_of::<on_chain::Fund<'static>>()),
        (
            "collect_earnings",
            size_of::<on_chain::CollectEarnings<'static>>(),
        ),
        (
            "request_withdrawal",
            size_of::<on_chain::RequestWithdrawal<'static>>(),
        ),
        (
            "cancel_withdrawal",
            size_of::<on_chain::CancelWithdrawal<'static>>(),
        ),
        ("report", size_of::<on_chain::Report<'static>>()),
        (
            "veto_meter_change",
            size_of::<on_chain::VetoMeterChange<'static>>(),
        ),
        (
            "close_resident",
            size_of::<on_chain::CloseResident<'static>>(),
        ),
        (
            "disconnect_silent",
            size_of::<on_chain::DisconnectSilent<'static>>(),
        ),
        (
            "apply_grid_changes",
            size_of::<on_chain::ApplyGridChanges<'static>>(),
        ),
        (
            "apply_meter_change",
            size_of::<on_chain::ApplyMeterChange<'static>>(),
        ),
        ("settle", size_of::<on_chain::Settle<'static>>()),
        ("close_epoch", size_of::<on_chain::CloseEpoch<'static>>()),
        (
            "close_receipt",
            size_of::<on_chain::CloseReceipt<'static>>(),
        ),
        ("close_sale", size_of::<on_chain::CloseSale<'static>>()),
        ("add_fiat", size_of::<on_chain::AddFiat<'static>>()),
        (
            "lock_withdrawal",
            size_of::<on_chain::LockWithdrawal<'static>>(),
        ),
        ("payout_paid", size_of::<on_chain::PayoutPaid<'static>>()),
        (
            "payout_failed",
            size_of::<on_chain::PayoutFailed<'static>>(),
        ),
    ];
    println!("| instruction | accounts struct on the stack |\n|---|---|");
    for (name, size) in sizes {
        println!("| `{name}` | {size} B |");
        assert!(size <= 512, "{name}: {size} B");
    }
    // settle's loop holds one meter at a time in its frame.
    let meter = size_of::<anchor_lang::prelude::Account<'static, Meter>>();
    println!("settle's loop: one `Account<Meter>` of {meter} B at a time");
    assert!(meter <= 1024, "{meter} B");
}

fn main() {
    accounts_structs_are_small();
    eprintln!("test accounts_structs_are_small ... ok");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(a_full_batch_settles_within_24_kb_of_the_sbf_heap());
    eprintln!("test a_full_batch_settles_within_24_kb_of_the_sbf_heap ... ok");
}
