//! The gateway's memory on disk: the register at the start of the open epoch, and readings
//! not yet on chain. Written before anything is sent, so a crash or restart never loses a
//! reading; a reading the chain already has is refused as a duplicate and then dropped, so
//! nothing is counted twice.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub epoch: u64,
    pub wh: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spool {
    /// (epoch, register Wh) when the open epoch's first read was taken.
    pub baseline: Option<(u64, u64)>,
    pub pending: Vec<Pending>,
    /// Cluster time minus wall time at the last contact, to tell the epoch while offline.
    pub clock_offset: i64,
    pub genesis_ts: i64,
    pub epoch_seconds: u32,
    /// The last decision applied to the relay.
    pub connected: Option<bool>,
}

/// What one register read did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// First read: the baseline is set, nothing to report yet.
    Started,
    /// Still the same epoch.
    Same,
    /// A new epoch began: the previous one's reading is queued.
    Closed(Pending),
    /// Epochs passed while the gateway was down; the energy is attributed to the epoch the
    /// baseline belongs to (its report may be refused if that epoch is closed).
    ClosedAfterGap { reading: Pending, skipped: u64 },
    /// The register went backwards (meter replaced or reset): start again from here.
    Reset { from_wh: u64, to_wh: u64 },
}

impl Spool {
    pub fn path(dir: &Path, meter: &str) -> PathBuf {
        dir.join(format!("{meter}.json"))
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("the spool {} is damaged", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes atomically: a temporary file renamed over the old one.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
    }

    /// Records a register read taken during `epoch`.
    pub fn observe(&mut self, epoch: u64, register_wh: u64) -> Observed {
        let Some((base_epoch, base_wh)) = self.baseline else {
            self.baseline = Some((epoch, register_wh));
            return Observed::Started;
        };
        if register_wh < base_wh {
            self.baseline = Some((epoch, register_wh));
            return Observed::Reset {
                from_wh: base_wh,
                to_wh: register_wh,
            };
        }
        if epoch <= base_epoch {
            return Observed::Same;
        }
        let reading = Pending {
            epoch: base_epoch,
            wh: register_wh - base_wh,
        };
        self.pending.push(reading);
        self.baseline = Some((epoch, register_wh));
        match epoch - base_epoch - 1 {
            0 => Observed::Closed(reading),
            skipped => Observed::ClosedAfterGap { reading, skipped },
        }
    }

    /// The epoch at wall time `wall_now`, from what the chain told us last.
    pub fn epoch_offline(&self, wall_now: i64) -> Option<u64> {
        let now = wall_now + self.clock_offset;
        (self.epoch_seconds > 0 && now >= self.genesis_ts)
            .then(|| (now - self.genesis_ts) as u64 / self.epoch_seconds as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_deltas_become_hourly_readings() {
        let mut s = Spool::default();
        assert_eq!(s.observe(5, 10_000), Observed::Started);
        assert_eq!(s.observe(5, 10_700), Observed::Same);
        assert_eq!(
            s.observe(6, 12_500),
            Observed::Closed(Pending {
                epoch: 5,
                wh: 2_500
            })
        );
        assert_eq!(s.observe(6, 12_900), Observed::Same);
        assert_eq!(
            s.observe(9, 13_000),
            Observed::ClosedAfterGap {
                reading: Pending { epoch: 6, wh: 500 },
                skipped: 2
            }
        );
        assert_eq!(
            s.pending,
            vec![
                Pending {
                    epoch: 5,
                    wh: 2_500
                },
                Pending { epoch: 6, wh: 500 }
            ]
        );
        assert_eq!(
            s.observe(9, 100),
            Observed::Reset {
                from_wh: 13_000,
                to_wh: 100
            }
        );
        assert_eq!(
            s.observe(10, 400),
            Observed::Closed(Pending { epoch: 9, wh: 300 })
        );
    }

    #[test]
    fn the_spool_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("deu-spool-{}", std::process::id()));
        let path = Spool::path(&dir, "m1");
        assert_eq!(Spool::load(&path).unwrap(), Spool::default());
        let mut s = Spool {
            epoch_seconds: 3_600,
            genesis_ts: 7_200,
            clock_offset: 60,
            ..Default::default()
        };
        s.observe(1, 5);
        s.observe(2, 1_005);
        s.save(&path).unwrap();
        let back = Spool::load(&path).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            back.pending,
            vec![Pending {
                epoch: 1,
                wh: 1_000
            }]
        );
        assert_eq!(back.epoch_offline(7_200 + 3 * 3_600 - 60), Some(3));
        std::fs::write(&path, "{not json").unwrap();
        assert!(Spool::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
