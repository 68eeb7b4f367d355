//! The gateway's monotonic clock. The wall clock can jump (a bad NTP answer, a dead RTC
//! battery, someone setting the date); a monotonic clock only moves forward, at the rate of
//! real time. While the cluster is out of reach the gateway bounds the chain's clock by what
//! it was at the last contact plus the monotonic time elapsed since, so a wall clock that jumps
//! ahead never makes it queue a register for an epoch the chain has not reached.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A reading of a monotonic clock, with the clock it was read on: two readings tell the time
/// between them only if they come from the same clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Monotonic {
    /// Which clock: `boot:<boot id>` (Linux: time since boot, across the gateway's restarts,
    /// not across a reboot) or `process:<pid>:<start>` (this process's `Instant`).
    pub clock: String,
    /// Milliseconds on that clock.
    pub ms: u64,
}

impl Monotonic {
    /// Now, on the host's boot clock where there is one (so that a restarted gateway still
    /// knows how long ago its last contact was), else on this process's `Instant`.
    pub fn now() -> Self {
        boot_clock().unwrap_or_else(process_clock)
    }

    /// Whole seconds from `earlier` to `self`, if both were read on the same clock.
    pub fn seconds_since(&self, earlier: &Monotonic) -> Option<u64> {
        (self.clock == earlier.clock && self.ms >= earlier.ms)
            .then(|| (self.ms - earlier.ms) / 1_000)
    }
}

/// Linux's time since boot (`/proc/uptime`: CLOCK_BOOTTIME, which setting the date does not
/// move and which counts a suspend), named by the boot's id.
fn boot_clock() -> Option<Monotonic> {
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let seconds: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Monotonic {
        clock: format!("boot:{}", boot_id.trim()),
        ms: (seconds * 1_000.0) as u64,
    })
}

/// This process's `Instant`, named so that no other process's readings match it.
fn process_clock() -> Monotonic {
    static START: OnceLock<(Instant, String)> = OnceLock::new();
    let (start, name) = START.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        (
            Instant::now(),
            format!("process:{}:{wall}", std::process::id()),
        )
    });
    Monotonic {
        clock: name.clone(),
        ms: start.elapsed().as_millis() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_readings_tell_the_time_between_them_only_on_the_same_clock() {
        let a = Monotonic::now();
        let b = Monotonic::now();
        assert_eq!(b.seconds_since(&a), Some(0));
        let later = Monotonic {
            ms: a.ms + 90_500,
            ..a.clone()
        };
        assert_eq!(later.seconds_since(&a), Some(90));
        assert_eq!(a.seconds_since(&later), None, "never backwards");
        let other = Monotonic {
            clock: "boot:another".into(),
            ms: a.ms + 5_000,
        };
        assert_eq!(other.seconds_since(&a), None, "another boot or process");
        let p1 = process_clock();
        let p2 = process_clock();
        assert_eq!(p2.seconds_since(&p1), Some(0));
    }
}
