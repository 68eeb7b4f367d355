//! A meter read through its optical port (an IR probe on a USB serial adapter), in IEC 62056-21
//! mode C data readout: the local interface of most European electricity meters.
//!
//! ```text
//! iec62056:/dev/ttyUSB0[?baud=300&address=12345678&max_baud=9600&timeout=5&unit=kWh]
//! ```
//!
//! Each read is one session: the probe opens at `baud` (300 by default) with 7 data bits, even
//! parity, 1 stop bit, sends the request `/?<address>!` CR LF, reads the identification
//! `/XXXZ<ident>` CR LF (`XXX` the maker, `Z` the fastest baud rate the meter offers: `0` to `6`
//! for 300 to 19200), acknowledges with ACK `0` `Z` `0` CR LF (protocol control `0`, baud `Z`,
//! mode `0`: data readout), switches to that baud rate, and reads the data block
//! `STX … ! CR LF ETX BCC`, whose BCC (the XOR of every byte after STX up to and including ETX)
//! must match. Its lines carry OBIS data sets such as `1.8.0(012345.678*kWh)`,
//! `1-0:2.8.0*255(000123.4*kWh)` or `1.8.0(12345678*Wh)`: the totals 1.8.0 (import) and 2.8.0
//! (export) give [`Registers::Both`], 1.8.0 alone [`Registers::One`]. Tariff registers (1.8.1,
//! 1.8.2), billing-period values (`1.8.0*12`, `1.8.0&04`) and other media are ignored.
//!
//! A read fails, and never guesses, on a timeout (no byte for `timeout` seconds), a BCC
//! mismatch, a meter that does not speak mode C, a block without 1.8.0, or a value without a
//! unit (unless `unit=` says which the meter means).
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `baud` | `300` | the rate the session starts at (the standard's 300) |
//! | `address` | none | the meter's device address, for a probe on a bus of meters |
//! | `max_baud` | none | the fastest rate to accept (for a probe that cannot follow the meter's) |
//! | `timeout` | `5` | seconds to wait for the next byte |
//! | `unit` | none | `Wh`, `kWh` or `MWh`, for meters that print values without a unit |

use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use serialport::{DataBits, FlowControl, Parity, SerialPort, StopBits, TTYPort};

use super::mqtt::Decimal;
use super::{MeterSource, Registers};

const STX: u8 = 0x02;
const ETX: u8 = 0x03;
const ACK: u8 = 0x06;
/// The baud rates of mode C's codes `0` to `6`.
const BAUDS: [u32; 7] = [300, 600, 1200, 2400, 4800, 9600, 19200];
/// How long the reader waits after the identification before acknowledging (the standard's
/// reaction time is 200 ms to 1500 ms).
const REACTION: Duration = Duration::from_millis(250);
/// The longest data block accepted (a readout with load profiles is a few KiB).
const MAX_BLOCK: usize = 64 * 1024;

/// A meter read through an IEC 62056-21 optical probe (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iec62056Source {
    pub path: String,
    pub baud: u32,
    pub address: String,
    pub max_baud: Option<u32>,
    pub timeout: Duration,
    /// Wh per unit for values printed without a unit.
    pub unit_wh: Option<u64>,
    /// The meter's identification from the latest session.
    pub identification: Option<String>,
}

impl Iec62056Source {
    /// Parses what follows `iec62056:`: `/dev/ttyUSB0?baud=300&address=`.
    pub fn from_spec(rest: &str) -> anyhow::Result<Iec62056Source> {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            bail!("iec62056:DEVICE needs the probe's serial device, e.g. iec62056:/dev/ttyUSB0");
        }
        let mut source = Iec62056Source {
            path: path.to_string(),
            baud: 300,
            address: String::new(),
            max_baud: None,
            timeout: Duration::from_secs(5),
            unit_wh: None,
            identification: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "baud" => source.baud = baud(value, key)?,
                "max_baud" => source.max_baud = Some(baud(value, key)?),
                "address" => {
                    if value.len() > 32
                        || !value
                            .bytes()
                            .all(|b| b.is_ascii_graphic() && !b"/?!".contains(&b))
                    {
                        bail!("address={value}: a device address is up to 32 printable characters, without / ? !");
                    }
                    source.address = value.to_string();
                }
                "timeout" => {
                    let secs = Decimal::parse(value)
                        .and_then(|d| d.times_floor(Decimal::parse("1000")?))
                        .ok()
                        .filter(|ms| *ms > 0)
                        .ok_or_else(|| anyhow!("timeout={value}: expected seconds, e.g. 5 or 1.5"))?;
                    source.timeout = Duration::from_millis(secs);
                }
                "unit" => source.unit_wh = Some(unit_wh(value).ok_or_else(|| anyhow!("unit={value}: expected Wh, kWh or MWh"))?),
                _ => bail!("unknown iec62056 option '{key}' (options: baud, address, max_baud, timeout, unit)"),
            }
        }
        Ok(source)
    }

    /// One mode C session: the identification and the verified data block.
    fn session(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut port = serialport::new(&self.path, self.baud)
            .data_bits(DataBits::Seven)
            .parity(Parity::Even)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(self.timeout)
            .open_native()
            .with_context(|| format!("opening the optical probe {}", self.path))?;
        let result = self.exchange(&mut port);
        // Leave the device openable by the next session (a pty's other end may hold it open).
        let _ = port.set_exclusive(false);
        result
    }

    fn exchange(&mut self, port: &mut TTYPort) -> anyhow::Result<Vec<u8>> {
        let _ = port.clear(serialport::ClearBuffer::All);
        let request = format!("/?{}!\r\n", self.address);
        port.write_all(request.as_bytes())
            .and_then(|()| port.flush())
            .context("sending the request")?;
        let mut line = Line::new(port, self.timeout);
        let identification = loop {
            let text = line
                .line()
                .context("waiting for the meter's identification (is the probe on the meter's optical port?)")?;
            // An echo of the request (half-duplex probes), or noise before the answer.
            if text.is_empty() || text.starts_with("/?") {
                continue;
            }
            break text;
        };
        let Some(ident) = identification.strip_prefix('/').filter(|i| i.len() >= 4) else {
            bail!("the meter answered '{identification}', not an identification /XXXZ...");
        };
        let code = ident.as_bytes()[3];
        let offered = match code {
            b'0'..=b'6' => BAUDS[usize::from(code - b'0')],
            b'A'..=b'I' => bail!("the meter answers in mode B (baud letter '{}'): only mode C is read", code as char),
            _ => bail!("the meter's identification '{identification}' has no mode C baud code (0-6) in its 5th character"),
        };
        self.identification = Some(identification.clone());
        let chosen = BAUDS
            .iter()
            .rposition(|b| *b <= offered.min(self.max_baud.unwrap_or(u32::MAX)))
            .unwrap_or(0);
        std::thread::sleep(REACTION);
        let ack = [ACK, b'0', b'0' + chosen as u8, b'0', b'\r', b'\n'];
        let port = line.port;
        port.write_all(&ack)
            .and_then(|()| port.flush())
            .context("sending the acknowledgement")?;
        port.set_baud_rate(BAUDS[chosen])
            .with_context(|| format!("switching the probe to {} baud", BAUDS[chosen]))?;
        let mut line = Line::new(port, self.timeout);
        // Anything before STX: the echo of the acknowledgement.
        let mut skipped = 0;
        while line.byte().context("waiting for the data block")? != STX {
            skipped += 1;
            if skipped > 64 {
                bail!("no data block (STX) after the acknowledgement");
            }
        }
        let mut block = Vec::new();
        let mut bcc = 0u8;
        loop {
            let b = line.byte().context("reading the data block")?;
            bcc ^= b;
            if b == ETX {
                break;
            }
            if block.len() == MAX_BLOCK {
                bail!("the data block passes {MAX_BLOCK} bytes without ETX");
            }
            block.push(b);
        }
        let sent = line.byte().context("reading the data block's BCC")?;
        if sent != bcc {
            bail!("the data block's BCC is {sent:#04x}, its bytes give {bcc:#04x}: a transmission error (is the probe aligned?)");
        }
        Ok(block)
    }
}

/// Bytes from the port, 7 bits each, within a per-byte timeout.
struct Line<'a> {
    port: &'a mut TTYPort,
    timeout: Duration,
    buf: [u8; 256],
    start: usize,
    end: usize,
}

impl<'a> Line<'a> {
    fn new(port: &'a mut TTYPort, timeout: Duration) -> Line<'a> {
        Line {
            port,
            timeout,
            buf: [0; 256],
            start: 0,
            end: 0,
        }
    }

    fn byte(&mut self) -> anyhow::Result<u8> {
        while self.start == self.end {
            match self.port.read(&mut self.buf) {
                Ok(0) => bail!("the serial line closed"),
                Ok(n) => (self.start, self.end) = (0, n),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => bail!(
                    "timeout: the meter sent nothing for {:.1} s",
                    self.timeout.as_secs_f64()
                ),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("reading the serial line"),
            }
        }
        self.start += 1;
        Ok(self.buf[self.start - 1] & 0x7f)
    }

    /// A line without its CR LF.
    fn line(&mut self) -> anyhow::Result<String> {
        let mut text = Vec::new();
        loop {
            match self.byte()? {
                b'\n' => break,
                b'\r' => {}
                _ if text.len() > 128 => bail!("a line of more than 128 characters"),
                b => text.push(b),
            }
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    }
}

fn baud(value: &str, key: &str) -> anyhow::Result<u32> {
    value
        .parse()
        .ok()
        .filter(|b| BAUDS.contains(b))
        .ok_or_else(|| anyhow!("{key}={value}: expected one of {BAUDS:?}"))
}

fn unit_wh(unit: &str) -> Option<u64> {
    match unit.to_ascii_lowercase().as_str() {
        "wh" => Some(1),
        "kwh" => Some(1_000),
        "mwh" => Some(1_000_000),
        _ => None,
    }
}

/// Which total an OBIS address names: `Some(true)` for 1.8.0, `Some(false)` for 2.8.0.
fn total_of(address: &str) -> Option<bool> {
    let code = match address.split_once(':') {
        Some((ab, code)) => {
            // Medium A = 1: electricity.
            if ab.split('-').next() != Some("1") {
                return None;
            }
            code
        }
        None => address,
    };
    let (cde, f) = match code.find(['*', '&']) {
        Some(i) => (&code[..i], Some(&code[i..])),
        None => (code, None),
    };
    // Only the current value: F absent or 255; `*12` and `&04` are billing periods.
    if !matches!(f, None | Some("*255") | Some("*FF") | Some("*ff")) {
        return None;
    }
    match cde {
        "1.8.0" => Some(true),
        "2.8.0" => Some(false),
        _ => None,
    }
}

/// The registers in a data block (the bytes between STX and ETX).
pub fn parse_data_block(block: &[u8], default_unit_wh: Option<u64>) -> anyhow::Result<Registers> {
    let text = String::from_utf8_lossy(block);
    let body = text
        .trim_end_matches(['\r', '\n'])
        .strip_suffix('!')
        .ok_or_else(|| anyhow!("the data block does not end with '!' (an incomplete readout)"))?;
    let mut import: Option<u64> = None;
    let mut export: Option<u64> = None;
    for line in body.lines() {
        let mut rest = line.trim();
        while let Some(open) = rest.find('(') {
            let address = rest[..open].trim();
            let Some(close) = rest[open..].find(')') else {
                break;
            };
            let value = &rest[open + 1..open + close];
            rest = &rest[open + close + 1..];
            // Further values of the same data set (a time stamp): not read.
            while rest.starts_with('(') {
                match rest.find(')') {
                    Some(c) => rest = &rest[c + 1..],
                    None => rest = "",
                }
            }
            let Some(is_import) = total_of(address) else {
                continue;
            };
            let name = if is_import { "1.8.0" } else { "2.8.0" };
            let (number, unit) = match value.split_once('*') {
                Some((number, unit)) => (number, Some(unit)),
                None => (value, None),
            };
            let per_unit = match unit {
                Some(unit) => unit_wh(unit).ok_or_else(|| {
                    anyhow!("{name} is in '{unit}', not an energy unit (Wh, kWh, MWh): '{line}'")
                })?,
                None => default_unit_wh.ok_or_else(|| {
                    anyhow!("{name} has no unit: '{line}' (give unit=kWh or unit=Wh if the meter means one)")
                })?,
            };
            let wh = Decimal::parse(number)
                .and_then(|d| d.times_floor(Decimal::parse(&per_unit.to_string())?))
                .map_err(|e| anyhow!("{name}: {e} in '{line}'"))?;
            let slot = if is_import { &mut import } else { &mut export };
            match slot {
                Some(seen) if *seen != wh => {
                    bail!("the data block has two different {name} totals ({seen} Wh and {wh} Wh)")
                }
                _ => *slot = Some(wh),
            }
        }
    }
    let import = import.ok_or_else(|| {
        anyhow!("the data block has no total import register 1.8.0 (a meter with only tariff registers 1.8.1/1.8.2 is not read: their sum would be a guess)")
    })?;
    Ok(match export {
        Some(export_wh) => Registers::Both {
            import_wh: import,
            export_wh,
        },
        None => Registers::One(import),
    })
}

impl MeterSource for Iec62056Source {
    fn read(&mut self, _now: i64) -> anyhow::Result<Registers> {
        let block = self.session()?;
        parse_data_block(&block, self.unit_wh).with_context(|| match &self.identification {
            Some(ident) => format!("meter {ident} on {}", self.path),
            None => format!("meter on {}", self.path),
        })
    }

    fn describe(&self) -> String {
        let mut text = format!("IEC 62056-21 meter on {}", self.path);
        if !self.address.is_empty() {
            text.push_str(&format!(" address {}", self.address));
        }
        text
    }
}

/// The BCC of a data block's bytes after STX up to and including ETX.
pub fn bcc(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_blocks_give_the_totals() {
        let block = b"0.0.0(12345678)\r\n1.8.0(012345.678*kWh)\r\n1.8.1(010000.000*kWh)\r\n2.8.0(000001.234*kWh)\r\n!\r\n";
        assert_eq!(
            parse_data_block(block, None).unwrap(),
            Registers::Both {
                import_wh: 12_345_678,
                export_wh: 1_234
            }
        );
        let obis = b"1-0:1.8.0*255(00012345678*Wh)\r\n1-0:1.8.0*12(00000000001*Wh)\r\n7-0:2.8.0(5*kWh)\r\n1.6.0(01.234*kW)(2401011200)\r\n!\r\n";
        assert_eq!(
            parse_data_block(obis, None).unwrap(),
            Registers::One(12_345_678)
        );
        let no_unit = b"1.8.0(0001234.5)\r\n!\r\n";
        assert!(parse_data_block(no_unit, None).is_err());
        assert_eq!(
            parse_data_block(no_unit, Some(1000)).unwrap(),
            Registers::One(1_234_500)
        );
        assert!(parse_data_block(b"1.8.1(1*kWh)\r\n!\r\n", None).is_err());
        assert!(parse_data_block(b"1.8.0(1*kWh)\r\n", None).is_err());
        assert!(parse_data_block(b"1.8.0(1*kvarh)\r\n!\r\n", None).is_err());
        assert!(parse_data_block(b"1.8.0(1*kWh)1.8.0(2*kWh)\r\n!\r\n", None).is_err());
        assert_eq!(bcc(b"AB\x03"), 0x00);
        assert_eq!(bcc(b"1\x03"), 0x32);
    }

    #[test]
    fn specs_parse() {
        let s = Iec62056Source::from_spec(
            "/dev/ttyUSB0?baud=300&address=123&max_baud=9600&timeout=1.5&unit=kWh",
        )
        .unwrap();
        assert_eq!(s.path, "/dev/ttyUSB0");
        assert_eq!(s.address, "123");
        assert_eq!(s.max_baud, Some(9600));
        assert_eq!(s.timeout, Duration::from_millis(1500));
        assert_eq!(s.unit_wh, Some(1000));
        assert_eq!(Iec62056Source::from_spec("/dev/ttyAMA0").unwrap().baud, 300);
        assert!(Iec62056Source::from_spec("").is_err());
        assert!(Iec62056Source::from_spec("/dev/x?baud=1000").is_err());
        assert!(Iec62056Source::from_spec("/dev/x?address=a!b").is_err());
        assert!(Iec62056Source::from_spec("/dev/x?parity=odd").is_err());
    }
}
