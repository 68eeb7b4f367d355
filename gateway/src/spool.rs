//! The gateway's memory on disk: the last register read and the register waiting to be
//! reported. The chain turns registers into readings, so only the latest unsent register
//! matters: a later one includes all the energy of an earlier one, and nothing is lost or
//! counted twice whatever happens to the gateway. Written atomically and fsynced before
//! anything is sent; a damaged file is set aside, never fatal.
//!
//! The host's wall clock is not trusted to tell the chain's epoch: while the cluster is out of
//! reach the epoch is bounded by the chain's clock at the last contact plus the monotonic time
//! elapsed since (`clock.rs`), so a clock that jumps ahead never queues a register for an epoch
//! the chain has not reached; and a spool that holds one (an older version, a hand edit) is
//! discarded as soon as the chain tells the real epoch, never left to block the real epochs.

use std::fmt;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use energy_utility_sdk::amounts::format_kwh;
use serde::{Deserialize, Serialize};

use super::clock::Monotonic;

/// How far the chain's clock may run ahead of the bound the monotonic clock gives (clock drift,
/// the cluster's own timestamps), in seconds.
pub const CLOCK_TOLERANCE_SECS: i64 = 60;

/// A register to report: the meter's cumulative Wh when `epoch` closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub epoch: u64,
    /// The meter's register: a consumer's import, a producer's export, a prosumer's import.
    pub register_wh: u64,
    /// A prosumer's export register, reported with its import.
    #[serde(default)]
    pub export_wh: Option<u64>,
}

/// A register that wraps at its width (e.g. 99,999.9 kWh): the raw value last read and how
/// much the wraps seen so far add to it, so that the register reported keeps counting up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrap {
    pub last_raw_wh: Option<u64>,
    pub offset_wh: u64,
}

/// What a raw register read turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unwrapped {
    /// It counted up (or is the first read): reported as is, plus the wraps before.
    Counted(u64),
    /// It passed its width and started again: `wh` includes the wrap.
    Wrapped {
        wh: u64,
        from_raw_wh: u64,
        to_raw_wh: u64,
    },
    /// It went back by more than a wrap can explain within the meter's capacity: a reset or
    /// a replaced meter. `wh` goes back with it and the chain refuses it (never a huge
    /// reading); the utility records the new register (`deu meter replace`).
    Reset {
        wh: u64,
        from_raw_wh: u64,
        to_raw_wh: u64,
    },
}

impl Wrap {
    /// Takes a raw read. A fall is a wrap when the register has a width (`rollover_wh`) and
    /// the energy it implies, `rollover - last + raw`, is at most `plausible_wh` (what the
    /// meter's capacity delivers since the last read); anything else is a reset.
    pub fn take(
        &mut self,
        raw_wh: u64,
        rollover_wh: Option<u64>,
        plausible_wh: Option<u64>,
    ) -> Unwrapped {
        let last = self.last_raw_wh.replace(raw_wh);
        let Some(last) = last.filter(|last| raw_wh < *last) else {
            return Unwrapped::Counted(raw_wh.saturating_add(self.offset_wh));
        };
        let wrapped = rollover_wh
            .filter(|width| *width > last)
            .map(|width| width - last + raw_wh)
            .filter(|moved| plausible_wh.is_some_and(|p| *moved <= p));
        match wrapped {
            Some(_) => {
                self.offset_wh = self.offset_wh.saturating_add(rollover_wh.unwrap_or(0));
                Unwrapped::Wrapped {
                    wh: raw_wh.saturating_add(self.offset_wh),
                    from_raw_wh: last,
                    to_raw_wh: raw_wh,
                }
            }
            None => Unwrapped::Reset {
                wh: raw_wh.saturating_add(self.offset_wh),
                from_raw_wh: last,
                to_raw_wh: raw_wh,
            },
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spool {
    /// (epoch, register Wh) of the last read.
    pub last_read: Option<(u64, u64)>,
    /// The register waiting to be reported, if any.
    pub pending: Option<Pending>,
    /// Cluster time minus wall time at the last contact, to tell the epoch while offline.
    pub clock_offset: i64,
    pub genesis_ts: i64,
    pub epoch_seconds: u32,
    /// The grid's grace window: how long the relay may go without a decision from the chain.
    pub grace_seconds: u32,
    /// Whether the meter is a consumer (its relay opens when the chain is out of reach).
    pub consumer: Option<bool>,
    /// The last decision applied to the relay.
    pub connected: Option<bool>,
    /// Wall time of the last decision read from the chain.
    pub decided_at: Option<i64>,
    /// A refused-for-now report waits until this wall time, and the wait doubles each time.
    pub retry_at: i64,
    pub retry_delay_secs: u64,
    /// The cluster's clock at the last contact, and the host's monotonic clock then: while the
    /// cluster is out of reach, the chain's clock is at most the one plus the time the other
    /// counted since (plus `CLOCK_TOLERANCE_SECS`). Absent in spools of older versions.
    #[serde(default)]
    pub contact_chain_time: Option<i64>,
    #[serde(default)]
    pub contact_monotonic: Option<Monotonic>,
    /// The meter is one side of a prosumer's meter (as the chain said last): both registers
    /// are read and reported together.
    #[serde(default)]
    pub prosumer: bool,
    /// A prosumer's export register at the last read.
    #[serde(default)]
    pub last_export_wh: Option<u64>,
    /// The meter's nameplate power as the chain holds it: how much energy a wrap may imply.
    #[serde(default)]
    pub capacity_w: Option<u64>,
    /// Wraps of the meter's register, and of a prosumer's export register.
    #[serde(default)]
    pub wrap: Wrap,
    #[serde(default)]
    pub export_wrap: Wrap,
}

/// The epoch told while the cluster is out of reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offline {
    /// The chain's clock, as far as the gateway can tell.
    pub now: i64,
    pub epoch: u64,
    /// The wall clock said a later epoch, which the chain cannot have reached.
    pub ahead: Option<ClockAhead>,
}

/// The host's wall clock is ahead of anything the chain's clock can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockAhead {
    /// The epoch the wall clock said.
    pub wall_epoch: u64,
    /// The epoch counted instead.
    pub epoch: u64,
    /// The chain's clock at the last contact.
    pub contact: i64,
    /// Seconds since, by the monotonic clock (`None`: the host restarted since).
    pub elapsed: Option<u64>,
}

impl fmt::Display for ClockAhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the host's clock says epoch {}, which the chain has not reached (its clock read {} at the last contact, ",
            self.wall_epoch, self.contact
        )?;
        match self.elapsed {
            Some(s) => write!(f, "{s} s ago by the monotonic clock")?,
            None => write!(f, "before the host restarted")?,
        }
        write!(
            f,
            "): is the host's clock ahead? Counting epoch {} until the cluster answers; the next register carries the energy",
            self.epoch
        )
    }
}

/// What `Spool::discard_future` threw away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discarded {
    /// The epoch of the last read, ahead of the chain's.
    pub read_epoch: u64,
    /// The register queued for an epoch the chain has not closed, if any.
    pub pending: Option<Pending>,
    /// The chain's epoch.
    pub chain_epoch: u64,
    /// The epoch this tick's register goes to if it closes one.
    pub resume_epoch: u64,
}

impl fmt::Display for Discarded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pending {
            Some(p) => write!(
                f,
                "discarded the spooled register {} kWh for epoch {} (read in epoch {})",
                format_kwh(p.register_wh),
                p.epoch,
                self.read_epoch
            )?,
            None => write!(
                f,
                "discarded the spool's last read, in epoch {}",
                self.read_epoch
            )?,
        }
        write!(
            f,
            ", which the chain has not reached: it is in epoch {}. Was the host's clock ahead? Reads go on from epoch {}; no energy is lost or counted twice (the next register carries it)",
            self.chain_epoch, self.resume_epoch
        )
    }
}

/// What one register read did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// First read: nothing to report yet.
    Started,
    /// Still the same epoch.
    Same,
    /// An epoch closed: its register is queued (replacing an unsent one, whose energy it
    /// includes). `skipped` epochs passed unobserved (the gateway was down).
    Closed { pending: Pending, skipped: u64 },
    /// The register is below the last one read: the meter was replaced or reset.
    WentBack { from_wh: u64, to_wh: u64 },
}

impl Spool {
    pub fn path(dir: &Path, meter: &str) -> PathBuf {
        dir.join(format!("{meter}.json"))
    }

    /// Reads the spool. A file that cannot be read as one is renamed `….damaged-<time>` and a
    /// fresh spool is used: the chain holds the register, so a new start loses no energy.
    /// Returns the spool and, if one was set aside, where it went.
    pub fn load(path: &Path) -> anyhow::Result<(Self, Option<PathBuf>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Self::default(), None))
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => String::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        match serde_json::from_str(&text) {
            Ok(spool) => Ok((spool, None)),
            Err(_) => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let aside = path.with_extension(format!("json.damaged-{stamp}"));
                std::fs::rename(path, &aside).with_context(|| {
                    format!("setting the damaged spool {} aside", path.display())
                })?;
                Ok((Self::default(), Some(aside)))
            }
        }
    }

    /// Writes atomically and durably: a temporary file, fsynced, renamed over the old one,
    /// and the folder fsynced so the rename itself survives a power cut.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension("json.tmp");
        let mut file = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        file.write_all(&serde_json::to_vec_pretty(self)?)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))
    }

    /// Records a register read taken during `epoch`.
    pub fn observe(&mut self, epoch: u64, register_wh: u64) -> Observed {
        self.observe_both(epoch, register_wh, None)
    }

    /// The most energy the meter can have moved between the last read and a read in
    /// `epoch`, by its capacity: what a wrap may imply. `None` while the capacity is unknown.
    pub fn plausible_wh(&self, epoch: u64) -> Option<u64> {
        let capacity = self.capacity_w?;
        let (last_epoch, _) = self.last_read?;
        let epochs = epoch.saturating_sub(last_epoch).saturating_add(1);
        let seconds = epochs.saturating_mul(u64::from(self.epoch_seconds));
        Some(capacity.saturating_mul(seconds) / 3_600)
    }

    /// Records a read taken during `epoch` of the meter's register and, for a prosumer, of
    /// its export register: an epoch that closed queues both.
    pub fn observe_both(
        &mut self,
        epoch: u64,
        register_wh: u64,
        export_wh: Option<u64>,
    ) -> Observed {
        let last_export = std::mem::replace(&mut self.last_export_wh, export_wh);
        let Some((last_epoch, last_wh)) = self.last_read else {
            self.last_read = Some((epoch, register_wh));
            return Observed::Started;
        };
        self.last_read = Some((epoch.max(last_epoch), register_wh));
        if register_wh < last_wh {
            return Observed::WentBack {
                from_wh: last_wh,
                to_wh: register_wh,
            };
        }
        if let (Some(export), Some(last)) = (export_wh, last_export) {
            if export < last {
                return Observed::WentBack {
                    from_wh: last,
                    to_wh: export,
                };
            }
        }
        if epoch <= last_epoch {
            return Observed::Same;
        }
        let pending = Pending {
            epoch: epoch - 1,
            register_wh,
            export_wh,
        };
        self.pending = Some(pending);
        Observed::Closed {
            pending,
            skipped: epoch - 1 - last_epoch,
        }
    }

    /// The grid's epoch at chain time `now`, as the cluster told it last.
    pub fn epoch_at(&self, now: i64) -> Option<u64> {
        (self.epoch_seconds > 0 && now >= self.genesis_ts)
            .then(|| (now - self.genesis_ts) as u64 / self.epoch_seconds as u64)
    }

    /// The cluster answered: its clock reads `chain_now` at wall time `wall_now` and monotonic
    /// time `monotonic`.
    pub fn contact(&mut self, chain_now: i64, wall_now: i64, monotonic: Monotonic) {
        self.clock_offset = chain_now - wall_now;
        self.contact_chain_time = Some(chain_now);
        self.contact_monotonic = Some(monotonic);
    }

    /// The latest the chain's clock can read at monotonic time `monotonic_now`: at the last
    /// contact, plus the monotonic time elapsed since (none if the host restarted since: how
    /// long it was down is unknown), plus `CLOCK_TOLERANCE_SECS`. A spool of an older version
    /// takes its last contact from its last decision. Returns the bound, the contact's chain
    /// time and the seconds elapsed.
    fn chain_time_bound(&self, monotonic_now: &Monotonic) -> Option<(i64, i64, Option<u64>)> {
        let (contact, elapsed) = match self.contact_chain_time {
            Some(contact) => (
                contact,
                self.contact_monotonic
                    .as_ref()
                    .and_then(|then| monotonic_now.seconds_since(then)),
            ),
            None => (self.decided_at? + self.clock_offset, None),
        };
        let elapsed_secs = elapsed.map_or(0, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let bound = contact
            .saturating_add(elapsed_secs)
            .saturating_add(CLOCK_TOLERANCE_SECS);
        Some((bound, contact, elapsed))
    }

    /// The chain's time and epoch while the cluster is out of reach: the wall clock plus the
    /// offset the cluster gave last, but never beyond what the chain's clock can have reached
    /// by the monotonic clock: a wall clock that jumped ahead must not queue a register for an
    /// epoch the chain has not reached (it would be refused, and block the real epochs).
    pub fn offline(&self, wall_now: i64, monotonic_now: &Monotonic) -> Option<Offline> {
        let by_wall = wall_now.saturating_add(self.clock_offset);
        let wall_epoch = self.epoch_at(by_wall)?;
        let Some((bound, contact, elapsed)) = self.chain_time_bound(monotonic_now) else {
            return Some(Offline {
                now: by_wall,
                epoch: wall_epoch,
                ahead: None,
            });
        };
        let now = by_wall.min(bound);
        let epoch = self.epoch_at(now)?;
        Some(Offline {
            now,
            epoch,
            ahead: (wall_epoch > epoch).then_some(ClockAhead {
                wall_epoch,
                epoch,
                contact,
                elapsed,
            }),
        })
    }

    /// The chain is in `epoch` (and has a report up to `last_reported`, if any): a spool whose
    /// last read or queued register is for an epoch the chain has not reached (written by an
    /// older version while the host's clock was ahead, or edited by hand) would have every
    /// real epoch taken as "the same epoch" and its register refused until the chain caught
    /// up, the meter silent meanwhile. Such a read and register are discarded: reads go on
    /// from the latest closed epoch the chain has no report for, so this tick's register goes
    /// to it and carries the discarded energy (registers are cumulative). Returns what was
    /// discarded, to be logged.
    pub fn discard_future(&mut self, epoch: u64, last_reported: Option<u64>) -> Option<Discarded> {
        let (read_epoch, read_wh) = self.last_read?;
        let future_pending = self.pending.filter(|p| p.epoch >= epoch);
        if read_epoch <= epoch && future_pending.is_none() {
            return None;
        }
        let resume_epoch = match epoch.checked_sub(1) {
            Some(closed) if last_reported.is_none_or(|r| r < closed) => closed,
            _ => epoch,
        };
        if future_pending.is_some() {
            self.pending = None;
            self.retry_at = 0;
            self.retry_delay_secs = 0;
        }
        self.last_read = Some((resume_epoch.min(read_epoch), read_wh));
        Some(Discarded {
            read_epoch,
            pending: future_pending,
            chain_epoch: epoch,
            resume_epoch,
        })
    }

    /// A last decision recorded by a clock that was ahead counts from now: otherwise a clock
    /// set back would hold off the fail-safe by as much as it jumped. (A retry time from such
    /// a clock: see `may_send`.)
    pub fn forget_future_decision(&mut self, wall_now: i64) {
        self.decided_at = self.decided_at.map(|at| at.min(wall_now));
    }

    /// A report was refused for now: wait before the next try, twice as long each time (from
    /// 5 s up to 5 minutes).
    pub fn back_off(&mut self, wall_now: i64) {
        self.retry_delay_secs = (self.retry_delay_secs * 2).clamp(5, 300);
        self.retry_at = wall_now + self.retry_delay_secs as i64;
    }

    /// Whether the backoff is over (a wait longer than the one asked means the clock went back
    /// since: it is over too).
    pub fn may_send(&self, wall_now: i64) -> bool {
        wall_now >= self.retry_at || self.retry_at - wall_now > self.retry_delay_secs as i64
    }

    /// The report went through (or can never go through): start afresh.
    pub fn sent(&mut self) {
        self.pending = None;
        self.retry_at = 0;
        self.retry_delay_secs = 0;
    }

    /// With no decision from the chain for longer than the grace window, a consumer's relay
    /// should open: a meter the chain cannot see must not draw power for free.
    pub fn fail_safe_due(&self, wall_now: i64) -> bool {
        self.consumer == Some(true)
            && self.connected != Some(false)
            && self
                .decided_at
                .is_some_and(|at| wall_now - at > self.grace_seconds as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_closed_epoch_queues_its_register_and_a_later_one_replaces_it() {
        let mut s = Spool::default();
        assert_eq!(s.observe(5, 10_000), Observed::Started);
        assert_eq!(s.observe(5, 10_700), Observed::Same);
        let first = Pending {
            epoch: 5,
            register_wh: 12_500,
            export_wh: None,
        };
        assert_eq!(
            s.observe(6, 12_500),
            Observed::Closed {
                pending: first,
                skipped: 0
            }
        );
        assert_eq!(s.pending, Some(first));
        // Down for epochs 6 to 8; back in 9: one register for epoch 8 carries it all.
        let later = Pending {
            epoch: 8,
            register_wh: 13_000,
            export_wh: None,
        };
        assert_eq!(
            s.observe(9, 13_000),
            Observed::Closed {
                pending: later,
                skipped: 2
            }
        );
        assert_eq!(s.pending, Some(later));
        assert_eq!(
            s.observe(9, 100),
            Observed::WentBack {
                from_wh: 13_000,
                to_wh: 100
            }
        );
    }

    #[test]
    fn refusals_back_off_from_five_seconds_to_five_minutes() {
        let mut s = Spool::default();
        assert!(s.may_send(0));
        s.back_off(1_000);
        assert_eq!(s.retry_at, 1_005);
        assert!(!s.may_send(1_004));
        for _ in 0..10 {
            s.back_off(1_000);
        }
        assert_eq!(s.retry_delay_secs, 300);
        s.sent();
        assert!(s.may_send(0));
    }

    #[test]
    fn the_relay_opens_only_for_a_consumer_out_of_touch_beyond_the_grace() {
        let mut s = Spool {
            grace_seconds: 600,
            consumer: Some(true),
            connected: Some(true),
            decided_at: Some(1_000),
            ..Default::default()
        };
        assert!(!s.fail_safe_due(1_600));
        assert!(s.fail_safe_due(1_601));
        s.consumer = Some(false);
        assert!(
            !s.fail_safe_due(10_000),
            "a producer keeps feeding the grid"
        );
    }

    fn mono(ms: u64) -> Monotonic {
        Monotonic {
            clock: "boot:test".into(),
            ms,
        }
    }

    /// Hourly epochs from 0; the cluster was last seen at 10:30 into epoch 10 (wall = chain).
    fn seen_in_epoch_ten() -> Spool {
        let mut s = Spool {
            epoch_seconds: 3_600,
            ..Default::default()
        };
        s.contact(10 * 3_600 + 1_800, 10 * 3_600 + 1_800, mono(1_000_000));
        s
    }

    #[test]
    fn offline_a_wall_clock_two_days_ahead_counts_no_epoch_the_chain_has_not_reached() {
        let s = seen_in_epoch_ten();
        let seen = 10 * 3_600 + 1_800;
        // Ten minutes later, by both clocks: epoch 10.
        let ten_min = mono(1_000_000 + 600_000);
        assert_eq!(
            s.offline(seen + 600, &ten_min),
            Some(Offline {
                now: seen + 600,
                epoch: 10,
                ahead: None
            })
        );
        // An hour later by both clocks: epoch 11, as the wall clock says.
        let hour = mono(1_000_000 + 3_600_000);
        assert_eq!(s.offline(seen + 3_600, &hour).unwrap().epoch, 11);
        // Ten minutes later, but the wall clock says two days: still epoch 10, and why.
        let jumped = s.offline(seen + 600 + 2 * 86_400, &ten_min).unwrap();
        assert_eq!(jumped.epoch, 10);
        assert_eq!(jumped.now, seen + 600 + CLOCK_TOLERANCE_SECS);
        let ahead = jumped.ahead.expect("the jump is told");
        assert_eq!((ahead.wall_epoch, ahead.elapsed), (10 + 48, Some(600)));
        assert!(
            ahead
                .to_string()
                .contains("which the chain has not reached"),
            "{ahead}"
        );
        // A wall clock behind is harmless (the register goes to a later epoch): it is used.
        assert_eq!(s.offline(seen - 3_600, &ten_min).unwrap().epoch, 9);
        // After a reboot (another boot's clock) nothing tells how long it was: the epoch of
        // the last contact, until the cluster answers.
        let rebooted = Monotonic {
            clock: "boot:other".into(),
            ms: 5_000,
        };
        let after = s.offline(seen + 86_400, &rebooted).unwrap();
        assert_eq!((after.epoch, after.ahead.unwrap().elapsed), (10, None));
        // A spool of an older version takes its last contact from its last decision.
        let old = Spool {
            epoch_seconds: 3_600,
            clock_offset: 100,
            decided_at: Some(seen - 100),
            ..Default::default()
        };
        assert_eq!(
            old.offline(seen - 100 + 2 * 86_400, &ten_min)
                .unwrap()
                .epoch,
            10
        );
        // No contact at all: the wall clock, as before.
        let never = Spool {
            epoch_seconds: 3_600,
            ..Default::default()
        };
        assert_eq!(never.offline(seen, &ten_min).unwrap().epoch, 10);
    }

    #[test]
    fn a_spool_ahead_of_the_chain_is_discarded_and_the_next_register_carries_its_energy() {
        // Read in epoch 58 (the clock two days ahead); the chain is in epoch 11 and has the
        // report for epoch 9.
        let mut s = Spool {
            last_read: Some((58, 1_400)),
            pending: Some(Pending {
                epoch: 57,
                register_wh: 1_400,
                export_wh: None,
            }),
            retry_at: 99,
            retry_delay_secs: 40,
            ..Default::default()
        };
        let discarded = s.discard_future(11, Some(9)).expect("discarded");
        assert_eq!(
            discarded,
            Discarded {
                read_epoch: 58,
                pending: Some(Pending {
                    epoch: 57,
                    register_wh: 1_400,
                    export_wh: None,
                }),
                chain_epoch: 11,
                resume_epoch: 10,
            }
        );
        assert!(discarded
            .to_string()
            .contains("register 1.400 kWh for epoch 57 (read in epoch 58), which the chain has not reached: it is in epoch 11"));
        assert_eq!((s.pending, s.retry_at, s.retry_delay_secs), (None, 0, 0));
        // This tick's register goes to epoch 10 and carries the 1.4 kWh and what came since.
        assert_eq!(
            s.observe(11, 2_000),
            Observed::Closed {
                pending: Pending {
                    epoch: 10,
                    register_wh: 2_000,
                    export_wh: None,
                },
                skipped: 0
            }
        );
        assert_eq!(s.discard_future(11, Some(9)), None, "once");

        // The chain already has epoch 10: reads go on from the open epoch.
        let mut s = Spool {
            last_read: Some((58, 1_400)),
            ..Default::default()
        };
        assert_eq!(s.discard_future(11, Some(10)).unwrap().resume_epoch, 11);
        assert_eq!(s.observe(11, 2_000), Observed::Same);
        assert_eq!(
            s.observe(12, 3_000),
            Observed::Closed {
                pending: Pending {
                    epoch: 11,
                    register_wh: 3_000,
                    export_wh: None,
                },
                skipped: 0
            }
        );

        // Nothing ahead: nothing discarded, a register waiting for a closed epoch kept.
        let mut s = Spool {
            last_read: Some((11, 1_400)),
            pending: Some(Pending {
                epoch: 10,
                register_wh: 1_400,
                export_wh: None,
            }),
            ..Default::default()
        };
        let before = s.clone();
        assert_eq!(s.discard_future(11, Some(9)), None);
        assert_eq!(s, before);
    }

    #[test]
    fn times_written_by_a_clock_that_was_ahead_hold_nothing_off() {
        // Backed off while the clock was two days ahead, then the clock was set right.
        let mut s = Spool::default();
        s.back_off(1_000 + 2 * 86_400);
        assert!(s.may_send(1_000), "the wait is over, not two days away");
        s.back_off(1_000);
        assert!(!s.may_send(1_000 + 5), "a real backoff is waited out");
        // A decision recorded two days ahead: the grace window counts from now.
        let mut s = Spool {
            grace_seconds: 600,
            consumer: Some(true),
            connected: Some(true),
            decided_at: Some(1_000 + 2 * 86_400),
            ..Default::default()
        };
        s.forget_future_decision(1_000);
        assert_eq!(s.decided_at, Some(1_000));
        assert!(s.fail_safe_due(1_601));
    }

    #[test]
    fn the_spool_survives_a_restart_and_a_damaged_one_is_set_aside() {
        let dir = std::env::temp_dir().join(format!("deu-spool-{}", std::process::id()));
        let path = Spool::path(&dir, "m1");
        assert_eq!(Spool::load(&path).unwrap(), (Spool::default(), None));
        let mut s = Spool {
            epoch_seconds: 3_600,
            genesis_ts: 7_200,
            clock_offset: 60,
            ..Default::default()
        };
        s.observe(1, 5);
        s.observe(2, 1_005);
        s.save(&path).unwrap();
        let (back, aside) = Spool::load(&path).unwrap();
        assert_eq!((back.clone(), aside), (s, None));
        assert_eq!(
            back.pending,
            Some(Pending {
                epoch: 1,
                register_wh: 1_005,
                export_wh: None,
            })
        );
        assert_eq!(back.epoch_at(7_200 + 3 * 3_600), Some(3));

        std::fs::write(&path, "{not json").unwrap();
        let (fresh, aside) = Spool::load(&path).unwrap();
        assert_eq!(fresh, Spool::default());
        let aside = aside.expect("set aside");
        assert_eq!(std::fs::read_to_string(&aside).unwrap(), "{not json");
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fall_is_a_wrap_only_within_the_register_width_and_the_meters_capacity() {
        let mut wrap = Wrap::default();
        let width = Some(99_999_900);
        assert_eq!(
            wrap.take(99_998_000, width, Some(5_000)),
            Unwrapped::Counted(99_998_000)
        );
        // 99,999.9 − 99,998.0 + 0.5 = 2.4 kWh within 5 kWh: a wrap, counted on.
        assert_eq!(
            wrap.take(500, width, Some(5_000)),
            Unwrapped::Wrapped {
                wh: 100_000_400,
                from_raw_wh: 99_998_000,
                to_raw_wh: 500
            }
        );
        assert_eq!(
            wrap.take(900, width, Some(5_000)),
            Unwrapped::Counted(100_000_800)
        );
        // From 0.9 to 0.1 would be 99,999.1 kWh: a reset, and the register goes back.
        assert!(matches!(
            wrap.take(100, width, Some(5_000)),
            Unwrapped::Reset {
                wh: 100_000_000,
                ..
            }
        ));
        // No width, or no known capacity: every fall is a reset.
        let mut plain = Wrap::default();
        plain.take(99_998_000, None, Some(5_000));
        assert!(matches!(
            plain.take(500, None, Some(5_000)),
            Unwrapped::Reset { .. }
        ));
        let mut unknown = Wrap::default();
        unknown.take(99_998_000, width, None);
        assert!(matches!(
            unknown.take(500, width, None),
            Unwrapped::Reset { .. }
        ));
    }
}
