//! In native mode the program's `msg!` prints to this process's stdout (Anchor logs
//! `Instruction: Report` for every instruction): hundreds of thousands of lines at scale,
//! which would bury the table. While banks run, stdout points at /dev/null; the table is
//! printed after it is restored. Progress goes to stderr throughout.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

pub struct Silenced {
    saved: OwnedFd,
}

fn dup2(from: &impl AsRawFd) -> io::Result<()> {
    io::stdout().flush()?;
    // SAFETY: both descriptors are open for the duration of the call; dup2 atomically
    // replaces fd 1 and touches no memory of ours.
    let rc = unsafe { libc::dup2(from.as_raw_fd(), libc::STDOUT_FILENO) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Points stdout at /dev/null until `restore`.
pub fn silence() -> io::Result<Silenced> {
    let saved = io::stdout().as_fd().try_clone_to_owned()?;
    let null = File::options().write(true).open("/dev/null")?;
    dup2(&null)?;
    Ok(Silenced { saved })
}

impl Silenced {
    pub fn restore(self) -> io::Result<()> {
        dup2(&self.saved)
    }
}
