//! The natively compiled program's logs, where a cluster's clients look for them: in the
//! transaction's log messages.
//!
//! Compiled for the host, `msg!` prints to the process's stdout and the program's events
//! (`energy_utility::events::emit`, `sol_log_data`) go to the syscall stubs, which print too;
//! neither reaches the bank's log collector,
//! so a transaction run natively carries only its invoke and success lines. With
//! [`capture_native_logs`] (the local cluster turns it on), both land in the collector as they
//! would on chain: `Program log: …` and `Program data: …`, in order. Program-test's wrapper
//! and CPI stub log each invoke and its ending a second time; those echoes are dropped, so the
//! logs read as a cluster writes them.
//!
//! How: the program is registered through [`native_builtin`], which notes the invoke context's
//! log collector while the program runs and points stdout at a pipe for that time; the syscall
//! stubs are wrapped so that `sol_log_data` writes `Program data:` lines to the noted collector,
//! after the `msg!` lines printed before it. With [`keep_events_in_logs`] (the benchmark) only
//! the events go to the collector, and when the bank records no logs they go nowhere, as on a
//! validator (program-test's stubs would format and print each one to stdout).

use std::cell::RefCell;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, Once};

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::Instruction;
use solana_program_runtime::invoke_context::BuiltinFunctionWithContext;
use solana_program_runtime::stable_log::program_data;
use solana_program_test::{
    get_runtime_environment_key, invoke_builtin_function, EbpfError, EbpfVm, InvokeContext,
};
use solana_svm_log_collector::LogCollector;
use solana_sysvar::program_stubs::{set_syscall_stubs, SyscallStubs};

type Collector = Rc<RefCell<LogCollector>>;

thread_local! {
    /// The log collector of the transaction running the program on this thread.
    static COLLECTOR: RefCell<Option<Collector>> = const { RefCell::new(None) };
}

/// Whether stdout is captured while the program runs.
static CAPTURE: AtomicBool = AtomicBool::new(false);
/// Whether the program's events go to the transaction's logs (without capturing stdout).
static EVENTS: AtomicBool = AtomicBool::new(false);
/// The pipe stdout is pointed at while the program runs, and the real stdout.
static PIPE: Mutex<Option<Pipe>> = Mutex::new(None);
/// Held while the program runs with stdout captured. The program never invokes itself, so a
/// run never waits for its own turn.
static RUNNING: Mutex<()> = Mutex::new(());

struct Pipe {
    read: i32,
    write: i32,
    stdout: i32,
}

/// The program's native entry point as a builtin (program-test's `processor!`, plus noting the
/// transaction's log collector and capturing stdout while the program runs).
pub fn native_builtin() -> Option<BuiltinFunctionWithContext> {
    Some(|vm, _arg0, _arg1, _arg2, _arg3, _arg4| {
        // SAFETY: the same cast program-test's `processor!` makes: the VM lies just before the
        // pointer the runtime hands a builtin.
        let vm = unsafe {
            &mut *((vm as *mut u64).offset(-(get_runtime_environment_key() as isize))
                as *mut EbpfVm<InvokeContext>)
        };
        let invoke_context: &mut InvokeContext = vm.context_object_pointer;
        let collector = invoke_context.get_log_collector();
        let start = collector.as_ref().map_or(0, |c| c.borrow().messages.len());
        let noted = COLLECTOR.with(|c| c.replace(collector.clone()));
        // Stdout is one per process: while this program prints into the pipe, no other bank
        // of the process runs it (a poisoned lock only means another run panicked).
        let turn = CAPTURE.load(Ordering::Relaxed).then(|| {
            RUNNING
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        });
        let captured = turn.is_some() && redirect_stdout();
        let result = invoke_builtin_function(crate::process_natively, vm.context_object_pointer);
        // The wrapper's last line (success or failure) goes after what the program printed.
        let ending = collector
            .as_ref()
            .and_then(|c| take_ending(&mut c.borrow_mut(), start));
        if captured {
            drain_into_collector();
            restore_stdout();
        }
        drop(turn);
        COLLECTOR.with(|c| c.replace(noted));
        if let Some(collector) = collector {
            let mut collector = collector.borrow_mut();
            if !drop_wrapper_echo(&mut collector, start) {
                collector.messages.extend(ending);
            }
        }
        vm.program_result = result.map_err(EbpfError::SyscallError).into();
    })
}

/// Wraps program-test's syscall stubs (once per process, after a bank was started): CPI and
/// logging stubs then run outside the heap count (`heap.rs`), and, with the capture on, log
/// into the running transaction. Calling it again does nothing.
pub fn install_stubs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let inner = set_syscall_stubs(Box::new(DefaultStubs));
        set_syscall_stubs(Box::new(CapturingStubs { inner }));
    });
}

/// Puts the program's events (`Program data:` lines) in the running transaction's logs, as a
/// validator does, and leaves `msg!` lines on stdout: the benchmark's bank, whose stdout is
/// /dev/null, then spends on an event what a cluster spends (encode, append) instead of a
/// formatted write to stdout per event. Call it once a bank was started; calling it again
/// does nothing.
pub fn keep_events_in_logs() {
    install_stubs();
    EVENTS.store(true, Ordering::Relaxed);
}

/// Turns the capture on for this process (once program-test has installed its syscall stubs,
/// that is after a bank was started; calling it again does nothing).
pub fn capture_native_logs() {
    static PIPE_ONCE: Once = Once::new();
    install_stubs();
    PIPE_ONCE.call_once(|| {
        let mut fds = [0i32; 2];
        // SAFETY: plain POSIX calls on descriptors this module owns.
        let pipe = unsafe {
            if libc::pipe(fds.as_mut_ptr()) != 0 {
                return;
            }
            let flags = libc::fcntl(fds[0], libc::F_GETFL);
            libc::fcntl(fds[0], libc::F_SETFL, flags | libc::O_NONBLOCK);
            let stdout = libc::dup(1);
            Pipe {
                read: fds[0],
                write: fds[1],
                stdout,
            }
        };
        if let Ok(mut slot) = PIPE.lock() {
            *slot = Some(pipe);
        }
        CAPTURE.store(true, Ordering::Relaxed);
    });
}

fn redirect_stdout() -> bool {
    let _ = std::io::stdout().flush();
    match PIPE.lock() {
        // SAFETY: dup2 onto stdout of a descriptor this module owns.
        Ok(pipe) => pipe
            .as_ref()
            .is_some_and(|p| unsafe { libc::dup2(p.write, 1) } == 1),
        Err(_) => false,
    }
}

fn restore_stdout() {
    let _ = std::io::stdout().flush();
    if let Ok(pipe) = PIPE.lock() {
        if let Some(p) = pipe.as_ref() {
            // SAFETY: puts the saved stdout back.
            unsafe { libc::dup2(p.stdout, 1) };
        }
    }
}

/// What the program printed so far, as `Program log:` lines in its collector.
fn drain_into_collector() {
    let _ = std::io::stdout().flush();
    let mut bytes = Vec::new();
    if let Ok(pipe) = PIPE.lock() {
        if let Some(p) = pipe.as_ref() {
            let mut buf = [0u8; 4096];
            loop {
                // SAFETY: reads into a stack buffer from a non-blocking pipe this module owns.
                let n = unsafe { libc::read(p.read, buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 {
                    break;
                }
                bytes.extend_from_slice(&buf[..n as usize]);
            }
        }
    }
    if bytes.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&bytes);
    COLLECTOR.with(|c| {
        if let Some(collector) = c.borrow().as_ref() {
            let mut collector = collector.borrow_mut();
            for line in text.lines() {
                collector.log(&format!("Program log: {line}"));
            }
        }
    });
}

/// Program-test logs a program's invoke line and how it ended (its CPI stub for the callee,
/// its builtin wrapper for this program), and the runtime logs them too: keeps one of each, as
/// a cluster writes them. `start` is where the first of the two invoke lines is.
fn drop_stub_echoes(collector: &mut LogCollector, start: usize, program: &Pubkey) {
    let invoke = format!("Program {program} invoke [");
    let messages = &mut collector.messages;
    if messages.len() > start + 1
        && messages[start].starts_with(&invoke)
        && messages[start + 1].starts_with(&invoke)
    {
        // Program-test's CPI stub writes the caller's depth; keep the deeper line, the
        // runtime's.
        let depth = |line: &str| {
            line[invoke.len()..]
                .trim_end_matches(']')
                .parse::<u32>()
                .ok()
        };
        let shallower = if depth(&messages[start]) < depth(&messages[start + 1]) {
            start
        } else {
            start + 1
        };
        messages.remove(shallower);
    }
    let n = messages.len();
    if n >= start + 2 {
        let success = format!("Program {program} success");
        let failed = format!("Program {program} failed");
        let (before, last) = (&messages[n - 2], &messages[n - 1]);
        if (before == &success && last == &success)
            || (before.starts_with(&failed) && last.starts_with(&failed))
        {
            messages.remove(n - 2);
        }
    }
}

/// The lines the runtime and program-test's wrapper log for this program (or their starts),
/// written once: every instruction compares against them.
static SUCCESS_LINE: LazyLock<String> =
    LazyLock::new(|| format!("Program {} success", energy_utility::ID));
static FAILED_LINE: LazyLock<String> =
    LazyLock::new(|| format!("Program {} failed", energy_utility::ID));
static INVOKE_LINE: LazyLock<String> =
    LazyLock::new(|| format!("Program {} invoke [", energy_utility::ID));

/// Program-test's wrapper (`invoke_builtin_function`) logs how the program ended; takes that
/// line off the end of the logs.
fn take_ending(collector: &mut LogCollector, start: usize) -> Option<String> {
    let messages = &mut collector.messages;
    let last = messages.last()?;
    (messages.len() > start && (last == &*SUCCESS_LINE || last.starts_with(&*FAILED_LINE)))
        .then(|| messages.pop())
        .flatten()
}

/// The runtime logs this program's invoke line before calling the builtin and how it ended
/// after it; program-test's wrapper logs both again, inside. Drops the wrapper's invoke line
/// when the runtime's is there, and says so (the wrapper's ending is then dropped too).
fn drop_wrapper_echo(collector: &mut LogCollector, start: usize) -> bool {
    let messages = &mut collector.messages;
    let echoed = start > 0
        && messages.len() > start
        && messages[start - 1].starts_with(&*INVOKE_LINE)
        && messages[start] == messages[start - 1];
    if echoed {
        messages.remove(start);
    }
    echoed
}

struct DefaultStubs;
impl SyscallStubs for DefaultStubs {}

impl CapturingStubs {
    fn log_data(&self, fields: &[&[u8]]) {
        let capture = CAPTURE.load(Ordering::Relaxed);
        if !(capture || EVENTS.load(Ordering::Relaxed)) {
            return self.inner.sol_log_data(fields);
        }
        // What the runtime's `sol_log_data` syscall does: a `Program data:` line in the
        // transaction's logs when they are recorded, nothing when they are not.
        let collector = COLLECTOR.with(|c| c.borrow().clone());
        if capture && collector.is_some() {
            drain_into_collector();
        }
        program_data(&collector, fields);
    }
}

/// Program-test's stubs, with `sol_log_data` going to the running transaction's logs.
struct CapturingStubs {
    inner: Box<dyn SyscallStubs>,
}

impl SyscallStubs for CapturingStubs {
    fn sol_log(&self, message: &str) {
        self.inner.sol_log(message)
    }
    fn sol_log_compute_units(&self) {
        self.inner.sol_log_compute_units()
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        self.inner.sol_remaining_compute_units()
    }
    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> ProgramResult {
        let collector = COLLECTOR.with(|c| c.borrow().clone());
        let Some(collector) = collector.filter(|_| CAPTURE.load(Ordering::Relaxed)) else {
            return crate::heap::paused(|| {
                self.inner
                    .sol_invoke_signed(instruction, account_infos, signers_seeds)
            });
        };
        // The callee logs into the same collector; what the caller printed comes first.
        drain_into_collector();
        let start = collector.borrow().messages.len();
        let result = crate::heap::paused(|| {
            self.inner
                .sol_invoke_signed(instruction, account_infos, signers_seeds)
        });
        drop_stub_echoes(&mut collector.borrow_mut(), start, &instruction.program_id);
        result
    }
    fn sol_get_sysvar(
        &self,
        sysvar_id_addr: *const u8,
        var_addr: *mut u8,
        offset: u64,
        length: u64,
    ) -> u64 {
        crate::heap::paused(|| {
            self.inner
                .sol_get_sysvar(sysvar_id_addr, var_addr, offset, length)
        })
    }
    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_clock_sysvar(var_addr))
    }
    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_epoch_schedule_sysvar(var_addr))
    }
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_fees_sysvar(var_addr))
    }
    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_rent_sysvar(var_addr))
    }
    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_epoch_rewards_sysvar(var_addr))
    }
    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_last_restart_slot(var_addr))
    }
    fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
        crate::heap::paused(|| self.inner.sol_get_epoch_stake(vote_address))
    }
    unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.sol_memcpy(dst, src, n) }
    }
    unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.sol_memmove(dst, src, n) }
    }
    unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.sol_memcmp(s1, s2, n, result) }
    }
    unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.sol_memset(s, c, n) }
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        crate::heap::paused(|| self.inner.sol_get_return_data())
    }
    fn sol_set_return_data(&self, data: &[u8]) {
        crate::heap::paused(|| self.inner.sol_set_return_data(data))
    }
    fn sol_log_data(&self, fields: &[&[u8]]) {
        crate::heap::paused(|| self.log_data(fields))
    }
    fn sol_get_processed_sibling_instruction(&self, index: usize) -> Option<Instruction> {
        self.inner.sol_get_processed_sibling_instruction(index)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.inner.sol_get_stack_height()
    }
}
