//! How much heap the natively running program allocates per instruction, for tests that hold
//! it to the SBF heap (32 KB, a bump allocator that never frees: every allocation counts).
//!
//! A test binary installs a counting global allocator that calls [`add`] for each allocation
//! (and reallocation: on SBF a growing vector allocates anew) while [`counting`] is true on the
//! allocating thread. The program's native entry turns counting on for its own code only:
//! program-test's syscall stubs (CPI, logging), which on SBF are syscalls outside the program's
//! heap, run with counting paused (`bank/src/logs.rs`). What SBF's entrypoint allocates before
//! the program runs — the `AccountInfo`s — is not seen here; [`SBF_ENTRYPOINT_BYTES_PER_ACCOUNT`]
//! gives it per account.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What SBF's entrypoint (`solana_program_entrypoint::deserialize`) allocates per account:
/// its `AccountInfo` in the vector (48 bytes), an `Rc<RefCell<&mut u64>>` for the lamports
/// (16 bytes of counts, 8 of borrow flag, 8 of reference) and an `Rc<RefCell<&mut [u8]>>` for
/// the data (16 + 8 + 16).
pub const SBF_ENTRYPOINT_BYTES_PER_ACCOUNT: usize = 48 + 32 + 40;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

/// The program's allocations in the last instruction it ran (on whichever bank thread).
static LAST: AtomicUsize = AtomicUsize::new(0);

/// Whether the program is running on this thread (and not inside a stub).
pub fn counting() -> bool {
    COUNTING.with(Cell::get)
}

/// Notes `bytes` allocated by the program.
pub fn add(bytes: usize) {
    BYTES.with(|b| b.set(b.get().saturating_add(bytes)));
}

/// The program's own allocations in the last instruction it ran.
pub fn last_instruction_bytes() -> usize {
    LAST.load(Ordering::SeqCst)
}

pub(crate) fn enter() {
    BYTES.with(|b| b.set(0));
    COUNTING.with(|c| c.set(true));
}

pub(crate) fn exit() {
    COUNTING.with(|c| c.set(false));
    LAST.store(BYTES.with(Cell::get), Ordering::SeqCst);
}

/// Runs `f` (a syscall stub) without counting its allocations.
pub(crate) fn paused<T>(f: impl FnOnce() -> T) -> T {
    let was = COUNTING.with(|c| c.replace(false));
    let out = f();
    COUNTING.with(|c| c.set(was));
    out
}
