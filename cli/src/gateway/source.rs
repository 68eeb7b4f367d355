//! Where readings come from. A source returns the meter's cumulative register in Wh; the
//! gateway turns differences between reads into hourly readings. A Modbus/SunSpec or DLMS
//! reader is one more implementation of `MeterSource`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{anyhow, bail, Context as _};
use energy_utility_sdk::amounts::parse_kwh;

pub trait MeterSource: Send {
    /// The register's cumulative energy, in Wh, at cluster time `now`.
    fn read_register_wh(&mut self, now: i64) -> anyhow::Result<u64>;
    fn describe(&self) -> String;
}

/// Parses `simulated[:WATTS]`, `file:PATH` or `command:SHELL COMMAND`.
pub fn parse(spec: &str) -> anyhow::Result<Box<dyn MeterSource>> {
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    match kind {
        "simulated" => {
            let watts = if rest.is_empty() {
                800
            } else {
                rest.parse()
                    .map_err(|_| anyhow!("simulated:WATTS needs a whole number of watts"))?
            };
            Ok(Box::new(Simulated {
                watts,
                started: None,
            }))
        }
        "file" if !rest.is_empty() => Ok(Box::new(FileRegister { path: rest.into() })),
        "command" if !rest.is_empty() => Ok(Box::new(CommandRegister {
            command: rest.to_string(),
        })),
        _ => bail!("--source must be simulated[:WATTS], file:PATH or command:CMD (got '{spec}')"),
    }
}

/// A meter drawing (or producing) a steady `watts`, integrated over cluster time, so moving a
/// local cluster's clock forward makes energy flow.
pub struct Simulated {
    pub watts: u64,
    started: Option<i64>,
}

impl MeterSource for Simulated {
    fn read_register_wh(&mut self, now: i64) -> anyhow::Result<u64> {
        let start = *self.started.get_or_insert(now);
        let seconds = u64::try_from(now - start).unwrap_or(0);
        Ok(self.watts * seconds / 3_600)
    }

    fn describe(&self) -> String {
        format!("simulated meter at {} W", self.watts)
    }
}

/// A file holding the register in kWh (e.g. written by a reader script).
pub struct FileRegister {
    pub path: PathBuf,
}

impl MeterSource for FileRegister {
    fn read_register_wh(&mut self, _now: i64) -> anyhow::Result<u64> {
        let text = std::fs::read_to_string(&self.path)
            .with_context(|| format!("reading the register from {}", self.path.display()))?;
        parse_kwh(text.trim()).map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }

    fn describe(&self) -> String {
        format!("register file {}", self.path.display())
    }
}

/// A command that prints the register in kWh.
pub struct CommandRegister {
    pub command: String,
}

impl MeterSource for CommandRegister {
    fn read_register_wh(&mut self, _now: i64) -> anyhow::Result<u64> {
        let out = Command::new("sh")
            .args(["-c", &self.command])
            .output()
            .with_context(|| format!("running `{}`", self.command))?;
        if !out.status.success() {
            bail!("`{}` failed with {}", self.command, out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        parse_kwh(text.trim())
            .map_err(|e| anyhow!("`{}` printed '{}': {e}", self.command, text.trim()))
    }

    fn describe(&self) -> String {
        format!("register command `{}`", self.command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_register_integrates_power_over_time() {
        let mut s = Simulated {
            watts: 1_200,
            started: None,
        };
        assert_eq!(s.read_register_wh(1_000).unwrap(), 0);
        assert_eq!(s.read_register_wh(1_000 + 3_600).unwrap(), 1_200);
        assert_eq!(s.read_register_wh(1_000 + 5_400).unwrap(), 1_800);
    }

    #[test]
    fn file_and_command_registers_read_kwh() {
        let path = std::env::temp_dir().join(format!("deu-register-{}", std::process::id()));
        std::fs::write(&path, "12.345\n").unwrap();
        let mut file = parse(&format!("file:{}", path.display())).unwrap();
        assert_eq!(file.read_register_wh(0).unwrap(), 12_345);
        std::fs::write(&path, "lots").unwrap();
        assert!(file.read_register_wh(0).is_err());
        std::fs::remove_file(&path).unwrap();
        let mut command = parse("command:echo 7.5").unwrap();
        assert_eq!(command.read_register_wh(0).unwrap(), 7_500);
        assert!(parse("command:false").unwrap().read_register_wh(0).is_err());
        assert!(parse("modbus:1").is_err());
    }
}
