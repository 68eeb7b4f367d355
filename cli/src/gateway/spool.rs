//! The gateway's memory on disk: the last register read and the register waiting to be
//! reported. The chain turns registers into readings, so only the latest unsent register
//! matters: a later one includes all the energy of an earlier one, and nothing is lost or
//! counted twice whatever happens to the gateway. Written atomically and fsynced before
//! anything is sent; a damaged file is set aside, never fatal.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// A register to report: the meter's cumulative Wh when `epoch` closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub epoch: u64,
    pub register_wh: u64,
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
        if epoch <= last_epoch {
            return Observed::Same;
        }
        let pending = Pending {
            epoch: epoch - 1,
            register_wh,
        };
        self.pending = Some(pending);
        Observed::Closed {
            pending,
            skipped: epoch - 1 - last_epoch,
        }
    }

    /// The epoch at wall time `wall_now`, from what the chain told us last.
    pub fn epoch_offline(&self, wall_now: i64) -> Option<u64> {
        let now = wall_now + self.clock_offset;
        (self.epoch_seconds > 0 && now >= self.genesis_ts)
            .then(|| (now - self.genesis_ts) as u64 / self.epoch_seconds as u64)
    }

    /// A report was refused for now: wait before the next try, twice as long each time (from
    /// 5 s up to 5 minutes).
    pub fn back_off(&mut self, wall_now: i64) {
        self.retry_delay_secs = (self.retry_delay_secs * 2).clamp(5, 300);
        self.retry_at = wall_now + self.retry_delay_secs as i64;
    }

    pub fn may_send(&self, wall_now: i64) -> bool {
        wall_now >= self.retry_at
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
                register_wh: 1_005
            })
        );
        assert_eq!(back.epoch_offline(7_200 + 3 * 3_600 - 60), Some(3));

        std::fs::write(&path, "{not json").unwrap();
        let (fresh, aside) = Spool::load(&path).unwrap();
        assert_eq!(fresh, Spool::default());
        let aside = aside.expect("set aside");
        assert_eq!(std::fs::read_to_string(&aside).unwrap(), "{not json");
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
