//! Where readings come from. A source returns the meter's cumulative registers in Wh; the
//! gateway reports them and the chain turns differences between reports into hourly readings.
//!
//! A source that fails (a broker down, a timeout, a CRC error, an exception code) returns an
//! error and never a guess: the gateway skips the tick with a log line, and the next read's
//! register carries the energy.

pub mod iec62056;
pub mod modbus;
pub mod mqtt;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{anyhow, bail, Context as _};
use energy_utility_sdk::amounts::parse_kwh;

/// What a meter's cumulative registers read, in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registers {
    /// A meter with one register: a consumer's import or a producer's export, whichever the
    /// meter is.
    One(u64),
    /// A bidirectional meter: energy drawn from the grid (import, OBIS 1.8.0) and fed into it
    /// (export, OBIS 2.8.0).
    Both { import_wh: u64, export_wh: u64 },
}

impl Registers {
    /// The register a one-way meter reports: import for a consumer, export for a producer.
    pub fn for_kind(self, consumer: bool) -> u64 {
        match self {
            Registers::One(wh) => wh,
            Registers::Both {
                import_wh,
                export_wh,
            } => {
                if consumer {
                    import_wh
                } else {
                    export_wh
                }
            }
        }
    }
}

pub trait MeterSource: Send {
    /// The meter's cumulative registers at cluster time `now`.
    fn read(&mut self, now: i64) -> anyhow::Result<Registers>;
    fn describe(&self) -> String;
    /// The registers' width in Wh when they wrap (a register map may say), else `None`.
    fn rollover_wh(&self) -> Option<u64> {
        None
    }
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
        "mqtt" | "mqtts" => Ok(Box::new(mqtt::MqttSource::connect(spec)?)),
        "modbus-tcp" | "modbus-rtu" => Ok(Box::new(modbus::ModbusSource::from_spec(kind, rest)?)),
        "iec62056" if !rest.is_empty() => Ok(Box::new(iec62056::Iec62056Source::from_spec(rest)?)),
        _ => bail!("--source must be simulated[:WATTS], file:PATH, command:CMD, modbus-tcp:HOST:PORT[?unit=1&map=PATH], modbus-rtu:DEVICE[?baud=9600&parity=N&unit=1&map=PATH], mqtt[s]://[USER@]HOST[:PORT]/TOPIC?pointer=/JSON/POINTER or iec62056:DEVICE (got '{spec}')"),
    }
}

/// A meter drawing (or producing) a steady `watts`, integrated over cluster time, so moving a
/// local cluster's clock forward makes energy flow.
pub struct Simulated {
    pub watts: u64,
    started: Option<i64>,
}

impl MeterSource for Simulated {
    fn read(&mut self, now: i64) -> anyhow::Result<Registers> {
        let start = *self.started.get_or_insert(now);
        let seconds = u64::try_from(now - start).unwrap_or(0);
        Ok(Registers::One(self.watts * seconds / 3_600))
    }

    fn describe(&self) -> String {
        format!("simulated meter at {} W", self.watts)
    }
}

/// A register in kWh (`12.345`), or a bidirectional meter's import and export (`12.345
/// 6.789`, separated by spaces).
pub fn parse_registers(text: &str) -> anyhow::Result<Registers> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.as_slice() {
        [one] => Ok(Registers::One(parse_kwh(one).map_err(|e| anyhow!("{e}"))?)),
        [import, export] => Ok(Registers::Both {
            import_wh: parse_kwh(import).map_err(|e| anyhow!("import: {e}"))?,
            export_wh: parse_kwh(export).map_err(|e| anyhow!("export: {e}"))?,
        }),
        _ => bail!("expected a register in kWh, or import and export in kWh separated by a space"),
    }
}

/// A file holding the register in kWh, or import and export (e.g. written by a reader script).
pub struct FileRegister {
    pub path: PathBuf,
}

impl MeterSource for FileRegister {
    fn read(&mut self, _now: i64) -> anyhow::Result<Registers> {
        let text = std::fs::read_to_string(&self.path)
            .with_context(|| format!("reading the register from {}", self.path.display()))?;
        parse_registers(&text).map_err(|e| anyhow!("{}: {e}", self.path.display()))
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
    fn read(&mut self, _now: i64) -> anyhow::Result<Registers> {
        let out = Command::new("sh")
            .args(["-c", &self.command])
            .output()
            .with_context(|| format!("running `{}`", self.command))?;
        if !out.status.success() {
            bail!("`{}` failed with {}", self.command, out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        parse_registers(&text)
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
        assert_eq!(s.read(1_000).unwrap(), Registers::One(0));
        assert_eq!(s.read(1_000 + 3_600).unwrap(), Registers::One(1_200));
        assert_eq!(s.read(1_000 + 5_400).unwrap(), Registers::One(1_800));
    }

    #[test]
    fn file_and_command_registers_read_kwh() {
        let path = std::env::temp_dir().join(format!("deu-register-{}", std::process::id()));
        std::fs::write(&path, "12.345\n").unwrap();
        let mut file = parse(&format!("file:{}", path.display())).unwrap();
        assert_eq!(file.read(0).unwrap(), Registers::One(12_345));
        std::fs::write(&path, "lots").unwrap();
        assert!(file.read(0).is_err());
        std::fs::remove_file(&path).unwrap();
        let mut command = parse("command:echo 7.5").unwrap();
        assert_eq!(command.read(0).unwrap(), Registers::One(7_500));
        let mut both = parse("command:echo 7.5 1.25").unwrap();
        assert_eq!(
            both.read(0).unwrap(),
            Registers::Both {
                import_wh: 7_500,
                export_wh: 1_250
            }
        );
        assert!(parse("command:echo 1 2 3").unwrap().read(0).is_err());
        assert!(parse("command:false").unwrap().read(0).is_err());
        assert!(parse("modbus:1").is_err());
    }
}
