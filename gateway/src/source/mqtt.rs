//! A meter that publishes its cumulative register over MQTT: a Tasmota plug or IR reader, a
//! Shelly, an energy monitor, or a home automation hub forwarding a smart meter.
//!
//! ```text
//! mqtt://[user@]host[:port]/topic?pointer=/ENERGY/Total[&export=/ENERGY/ExportActive][&scale=1000]
//! mqtts://[user@]host[:port]/topic?pointer=...[&ca=/etc/deu/broker-ca.pem]
//! ```
//!
//! The source subscribes to `topic` (QoS 1) in a background thread as soon as it is made and
//! keeps the latest message. A read returns the latest message's cumulative register (the JSON
//! pointer `pointer` into the payload, a number or a numeric string, times `scale` in Wh), as
//! [`Registers::One`], or as [`Registers::Both`] with the export register at the JSON pointer
//! `export`. It fails, and never guesses, when no message has come yet, when the latest one is
//! older than `max_age`, when the broker is unreachable or refused the connection (the error
//! says why), when the latest payload lacks the pointer or holds no number there, or when the
//! value is NaN or negative.
//!
//! Options (after `?`, separated by `&`, values percent-decoded):
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `pointer` | (required) | JSON pointer (RFC 6901) to the import (or only) register; empty for a payload that is the bare number |
//! | `export` | none | JSON pointer to the export register: the source then reads both |
//! | `scale` | `1000` | multiplier to Wh: `1000` for kWh payloads, `1` for Wh |
//! | `max_age` | `180` | seconds after which the latest message is too old to read |
//! | `wait` | `10` | seconds a read waits for the first message after connecting |
//! | `password_file` | none | file holding the broker password (else `$DEU_MQTT_PASSWORD`) |
//! | `ca` | none | `mqtts` only: a PEM file of CA certificates, trusted besides the system's roots |
//! | `client_id` | `deu-gw-…` | the MQTT client id (unique per connection) |
//!
//! The password comes from the file `password_file` or the environment variable
//! `DEU_MQTT_PASSWORD`, never from the URL (a `user:password@` URL is refused, so the password
//! is never on a command line or in a log line); [`MeterSource::describe`] shows `user:***@`.
//! Default ports: 1883 (`mqtt`), 8883 (`mqtts`). TLS is rustls with the system's root
//! certificates plus `ca`, and checks the broker's name against `host`.
//!
//! A retained message counts from when it arrives: its age on the broker is unknown. When the
//! broker re-delivers the same retained payload after a reconnection, the source keeps the first
//! arrival time, so a device that went silent still goes stale after `max_age`.
//!
//! # Payloads and pointers
//!
//! **Tasmota** (a plug with an energy chip, or an IR reader's script), topic
//! `tele/<device>/SENSOR`, every `TelePeriod` (300 s by default: set `TelePeriod 60`, or raise
//! `max_age` above it), kWh:
//!
//! ```text
//! {"Time":"2025-05-01T12:00:00","ENERGY":{"TotalStartTime":"2024-01-01T00:00:00",
//!  "Total":1234.567,"Yesterday":3.210,"Today":1.234,"Power":420,"Voltage":231,"Current":1.82}}
//! mqtt://gateway@broker/tele/plug-1/SENSOR?pointer=/ENERGY/Total
//! ```
//!
//! A Tasmota smart-meter (SML) script names its own fields, e.g.
//! `{"Time":"…","SML":{"Total_in":12345.678,"Total_out":234.5,"Power_curr":-320}}`:
//! `?pointer=/SML/Total_in&export=/SML/Total_out`.
//!
//! **Shelly Gen2/Gen3 switch or plug** (Plus 1PM, Plus Plug S, Pro 4PM) with "generic status
//! update over MQTT" on, topic `<device-id>/status/switch:0`, Wh, so `scale=1`:
//!
//! ```text
//! {"id":0,"source":"timer","output":true,"apower":85.3,"voltage":230.1,"current":0.41,
//!  "aenergy":{"total":123456.789,"by_minute":[1419.9,1420.7,1418.4],"minute_ts":1714564800},
//!  "ret_aenergy":{"total":0.000,"by_minute":[0,0,0],"minute_ts":1714564800}}
//! mqtt://gateway@broker/shellyplus1pm-a8032ab12345/status/switch:0?pointer=/aenergy/total&scale=1
//! ```
//!
//! (`export=/ret_aenergy/total` where the device reports returned energy.)
//!
//! **Shelly EM / 3EM (Gen2, Pro)**: `<device-id>/status/em:0` carries power only (`act_power`),
//! the registers are in `<device-id>/status/emdata:0` (3EM) or `em1data:0` (Pro EM, one
//! channel: `total_act_energy`, `total_act_ret_energy`), Wh:
//!
//! ```text
//! {"id":0,"a_total_act_energy":4115.2,"a_total_act_ret_energy":0,"b_total_act_energy":4020.5,
//!  "b_total_act_ret_energy":0,"c_total_act_energy":4210.0,"c_total_act_ret_energy":890.1,
//!  "total_act":12345.67,"total_act_ret":890.12}
//! mqtt://gateway@broker/shellypro3em-a8032ab12345/status/emdata:0?pointer=/total_act&export=/total_act_ret&scale=1
//! ```
//!
//! A Gen1 Shelly EM publishes bare numbers, one per topic, in Wh
//! (`shellies/shellyem-<id>/emeter/0/total` → `4520.1`): `?pointer=&scale=1` (one register).
//!
//! **OpenEnergyMonitor** (emonPi, emonTx via emonhub), one topic per input, bare numbers; the
//! cumulative energy inputs are in Wh, e.g. `emon/emontx4/E1` → `123456`:
//! `mqtt://emonpi/emon/emontx4/E1?pointer=&scale=1`. With emonhub's JSON node format,
//! `emon/emontx4` → `{"P1":230,"E1":123456,"MSG":481}`: `?pointer=/E1&scale=1`.
//!
//! **Home Assistant** (MQTT statestream, or an automation republishing a meter's sensor), topic
//! `homeassistant/sensor/grid_import_energy/state` → `12345.678` (the sensor's unit, here kWh,
//! and a numeric string such as `"12345.678"` reads the same): `?pointer=` (default scale).
//! A Zigbee2MQTT plug, `zigbee2mqtt/<plug>` → `{"energy":12.34,"power":85}` (kWh):
//! `?pointer=/energy`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use rumqttc::{
    Client, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS,
    SubscribeReasonCode, TlsConfiguration, Transport,
};
use serde_json::Value;

use super::{MeterSource, Registers};

/// The environment variable holding the broker password (unless `password_file` is given).
pub const PASSWORD_ENV: &str = "DEU_MQTT_PASSWORD";

/// What an `mqtt://` or `mqtts://` spec says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttSpec {
    pub tls: bool,
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
    pub topic: String,
    /// JSON pointer to the import (or only) register.
    pub pointer: String,
    /// JSON pointer to the export register.
    pub export: Option<String>,
    /// Multiplier from the payload's unit to Wh.
    pub scale: Decimal,
    pub max_age: Duration,
    pub wait: Duration,
    pub password_file: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub client_id: Option<String>,
}

impl MqttSpec {
    pub fn parse(spec: &str) -> anyhow::Result<MqttSpec> {
        let (tls, rest) = if let Some(rest) = spec.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = spec.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            bail!("an MQTT source is mqtt://[user@]host[:port]/topic?pointer=/JSON/POINTER (or mqtts://…)");
        };
        let (authority, path) = rest.split_once('/').ok_or_else(|| {
            anyhow!("mqtt://host/topic: the topic is missing after the host (mqtt://host/tele/meter/SENSOR?pointer=...)")
        })?;
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                if userinfo.contains(':') {
                    // Not echoed: it holds a password.
                    bail!("the MQTT URL holds a password (user:password@): put it in ${PASSWORD_ENV} or a file given as password_file=PATH instead");
                }
                let user = percent_decode(userinfo).context("the MQTT user name")?;
                if user.is_empty() {
                    bail!("the MQTT user name before '@' is empty");
                }
                (Some(user), hostport)
            }
            None => (None, authority),
        };
        let default_port = if tls { 8883 } else { 1883 };
        let (host, port) = split_host_port(hostport, default_port)?;
        let (topic, query) = path.split_once('?').unwrap_or((path, ""));
        let topic = percent_decode(topic).context("the MQTT topic")?;
        if topic.is_empty() {
            bail!("the MQTT topic is empty (mqtt://host/TOPIC?pointer=...)");
        }
        if topic.contains(['+', '#']) {
            bail!("the MQTT topic '{topic}' has a wildcard (+ or #): give the one topic the meter publishes on");
        }
        let mut pointer = None;
        let mut export = None;
        let mut scale = Decimal::parse("1000").expect("a decimal");
        let mut max_age = Duration::from_secs(3 * 60);
        let mut wait = Duration::from_secs(10);
        let mut password_file = None;
        let mut ca = None;
        let mut client_id = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).with_context(|| format!("MQTT option {key}"))?;
            match key {
                "pointer" => pointer = Some(json_pointer(&value, "pointer")?),
                "export" => export = Some(json_pointer(&value, "export")?),
                "scale" => {
                    scale = Decimal::parse(&value)
                        .ok()
                        .filter(|s| !s.is_zero())
                        .ok_or_else(|| anyhow!("scale={value}: expected a positive number (1000 for kWh payloads, 1 for Wh)"))?
                }
                "max_age" => max_age = seconds(&value, "max_age")?,
                "wait" => wait = seconds(&value, "wait")?,
                "password_file" => password_file = Some(PathBuf::from(value)),
                "ca" if tls => ca = Some(PathBuf::from(value)),
                "ca" => bail!("ca=PATH is for mqtts:// (TLS) sources"),
                "client_id" if !value.is_empty() => client_id = Some(value),
                "password" | "pass" | "pw" => bail!(
                    "the broker password is never in the source spec: put it in ${PASSWORD_ENV} or a file given as password_file=PATH"
                ),
                _ => bail!("unknown MQTT option '{key}' (options: pointer, export, scale, max_age, wait, password_file, ca, client_id)"),
            }
        }
        let pointer = pointer.ok_or_else(|| {
            anyhow!("the MQTT source needs pointer=/JSON/POINTER to the register in the payload (e.g. ?pointer=/ENERGY/Total for Tasmota; pointer= for a bare number)")
        })?;
        if max_age.is_zero() {
            bail!("max_age must be at least 1 second");
        }
        if password_file.is_some() && user.is_none() {
            bail!("password_file needs a user name: mqtt://USER@host/...");
        }
        Ok(MqttSpec {
            tls,
            user,
            host,
            port,
            topic,
            pointer,
            export,
            scale,
            max_age,
            wait,
            password_file,
            ca,
            client_id,
        })
    }

    /// The source as a URL without secrets (`user:***@` when a password is used).
    pub fn describe(&self, with_password: bool) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        let user = match (&self.user, with_password) {
            (Some(user), true) => format!("{user}:***@"),
            (Some(user), false) => format!("{user}@"),
            (None, _) => String::new(),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let mut text = format!(
            "MQTT {scheme}://{user}{host}:{}/{} pointer '{}'",
            self.port, self.topic, self.pointer
        );
        if let Some(export) = &self.export {
            text.push_str(&format!(" export '{export}'"));
        }
        text.push_str(&format!(" x{} Wh", self.scale));
        text
    }
}

fn split_host_port(hostport: &str, default_port: u16) -> anyhow::Result<(String, u16)> {
    let port_of = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| anyhow!("the MQTT port '{p}' is not a port number"))
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| anyhow!("the MQTT host '[{rest}' lacks its closing ']'"))?;
        match after.strip_prefix(':') {
            Some(p) => (host.to_string(), port_of(p)?),
            None if after.is_empty() => (host.to_string(), default_port),
            None => bail!("unexpected '{after}' after the MQTT host [{host}]"),
        }
    } else {
        match hostport.split_once(':') {
            Some((host, p)) => (host.to_string(), port_of(p)?),
            None => (hostport.to_string(), default_port),
        }
    };
    if host.is_empty() {
        bail!("the MQTT broker's host is empty (mqtt://HOST/topic)");
    }
    Ok((host, port))
}

fn json_pointer(value: &str, key: &str) -> anyhow::Result<String> {
    if !value.is_empty() && !value.starts_with('/') {
        bail!("{key}={value}: a JSON pointer starts with '/' (e.g. /ENERGY/Total), or is empty for a bare number");
    }
    Ok(value.to_string())
}

fn seconds(value: &str, key: &str) -> anyhow::Result<Duration> {
    value
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| anyhow!("{key}={value}: expected a whole number of seconds"))
}

/// Decodes `%XX` escapes (for topics or paths with `?`, `&`, `#`, spaces).
fn percent_decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| anyhow!("a bad %-escape in '{text}'"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| anyhow!("'{text}' is not UTF-8 once %-decoded"))
}

/// A non-negative decimal number, exactly: `mantissa × 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: u128,
    exponent: i32,
}

impl Decimal {
    /// Parses `123`, `0.5`, `+1234.567`, `1.2e3` (what JSON and meters print). Refuses
    /// negative numbers, NaN, infinities and anything else.
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        if lower.contains("nan") || lower.contains("inf") {
            return Err(format!("'{text}' is not a finite number"));
        }
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (digits, exponent) = match unsigned.split_once(['e', 'E']) {
            Some((digits, exp)) => (
                digits,
                exp.parse::<i32>()
                    .ok()
                    .filter(|e| e.abs() <= 400)
                    .ok_or_else(|| format!("'{text}' is not a number"))?,
            ),
            None => (unsigned, 0),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(format!("'{text}' is not a number"));
        }
        let mut mantissa: u128 = 0;
        let mut exponent = exponent - frac.len() as i32;
        for b in int.bytes().chain(frac.bytes()) {
            match mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(u128::from(b - b'0')))
            {
                Some(m) => mantissa = m,
                // Past 38 digits: drop the rest (it is far below a Wh).
                None => exponent += 1,
            }
        }
        if negative && mantissa != 0 {
            return Err(format!("'{text}' is negative"));
        }
        Ok(Decimal { mantissa, exponent })
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// `self × scale`, rounded down to a whole number (a register counts whole Wh).
    pub fn times_floor(self, scale: Decimal) -> Result<u64, String> {
        let too_big = || format!("{self} x {scale} Wh does not fit a register");
        let (mut mantissa, mut exponent) = (self.mantissa, self.exponent + scale.exponent);
        let mut other = scale.mantissa;
        // Keep the product inside u128: trade the least significant digits of the factors.
        while mantissa.checked_mul(other).is_none() {
            if mantissa >= other {
                mantissa /= 10;
            } else {
                other /= 10;
            }
            exponent += 1;
        }
        let mut value = mantissa * other;
        while exponent < 0 && value != 0 {
            value /= 10;
            exponent += 1;
        }
        while exponent > 0 && value != 0 {
            value = value.checked_mul(10).ok_or_else(too_big)?;
            exponent -= 1;
        }
        u64::try_from(value).map_err(|_| too_big())
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let digits = self.mantissa.to_string();
        if self.exponent >= 0 {
            write!(f, "{digits}{}", "0".repeat(self.exponent as usize))
        } else {
            let frac = (-self.exponent) as usize;
            let padded = format!("{digits:0>width$}", width = frac + 1);
            let (int, frac) = padded.split_at(padded.len() - frac);
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                write!(f, "{int}")
            } else {
                write!(f, "{int}.{frac}")
            }
        }
    }
}

/// The registers in one payload.
pub fn registers_of(
    payload: &[u8],
    pointer: &str,
    export: Option<&str>,
    scale: Decimal,
) -> Result<Registers, String> {
    let json: Value = serde_json::from_slice(payload).map_err(|e| {
        let text = String::from_utf8_lossy(payload);
        let shown: String = text.chars().take(80).collect();
        format!("the payload is not JSON ({e}): '{shown}'")
    })?;
    let wh = |pointer: &str| -> Result<u64, String> {
        let name = if pointer.is_empty() {
            "the payload".to_string()
        } else {
            format!("'{pointer}'")
        };
        let value = json
            .pointer(pointer)
            .ok_or_else(|| format!("the payload has no {name}"))?;
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => return Err(format!("{name} is {other}, not a number")),
        };
        Decimal::parse(&text)
            .and_then(|d| d.times_floor(scale))
            .map_err(|e| format!("{name}: {e}"))
    };
    let import = wh(pointer)?;
    match export {
        None => Ok(Registers::One(import)),
        Some(export) => Ok(Registers::Both {
            import_wh: import,
            export_wh: wh(export)?,
        }),
    }
}

/// The latest message's registers (or why it holds none) and when it came.
struct Latest {
    at: Instant,
    payload: Vec<u8>,
    registers: Result<Registers, String>,
}

#[derive(Default)]
struct State {
    /// Why the connection is down (refused, unreachable, lost), while it is.
    down: Option<String>,
    latest: Option<Latest>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }
}

/// A meter read from an MQTT topic (see the module docs).
pub struct MqttSource {
    spec: MqttSpec,
    with_password: bool,
    shared: Arc<Shared>,
    client: Client,
}

impl MqttSource {
    /// Parses `spec` and subscribes in a background thread.
    pub fn connect(spec: &str) -> anyhow::Result<MqttSource> {
        let spec = MqttSpec::parse(spec)?;
        let password = match (&spec.user, &spec.password_file) {
            (Some(_), Some(path)) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the MQTT password file {}", path.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (Some(user), None) => Some(std::env::var(PASSWORD_ENV).map_err(|_| {
                anyhow!("the MQTT user '{user}' needs a password: set ${PASSWORD_ENV} or give password_file=PATH")
            })?),
            (None, _) => None,
        };
        let client_id = spec.client_id.clone().unwrap_or_else(default_client_id);
        let mut options = MqttOptions::new(client_id, spec.host.clone(), spec.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(true);
        if let (Some(user), Some(password)) = (&spec.user, &password) {
            options.set_credentials(user.clone(), password.clone());
        }
        if spec.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                Arc::new(tls_config(spec.ca.as_deref())?),
            )));
        }
        let (client, mut connection) = Client::new(options, 16);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let source = MqttSource {
            with_password: password.is_some(),
            spec: spec.clone(),
            shared: shared.clone(),
            client: client.clone(),
        };
        std::thread::Builder::new()
            .name("deu-mqtt".into())
            .spawn(move || {
                let mut backoff = Duration::from_secs(1);
                for event in connection.iter() {
                    if shared.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match event {
                        Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                            backoff = Duration::from_secs(1);
                            shared.update(|s| s.down = None);
                            if !ack.session_present {
                                if let Err(e) = client.try_subscribe(&spec.topic, QoS::AtLeastOnce)
                                {
                                    shared.update(|s| {
                                        s.down = Some(format!("could not subscribe: {e}"))
                                    });
                                }
                            }
                        }
                        Ok(Event::Incoming(Packet::SubAck(ack))) => {
                            if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                                let topic = &spec.topic;
                                shared.update(|s| {
                                    s.down = Some(format!("the broker refused the subscription to '{topic}' (is the user allowed to read it?)"))
                                });
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(publish))) if publish.topic == spec.topic => {
                            let registers = registers_of(
                                &publish.payload,
                                &spec.pointer,
                                spec.export.as_deref(),
                                spec.scale,
                            );
                            shared.update(|s| {
                                let at = match &s.latest {
                                    // The broker re-sent the retained message it sent before:
                                    // it is no newer than when it first came.
                                    Some(l) if publish.retain && l.payload[..] == publish.payload[..] => l.at,
                                    _ => Instant::now(),
                                };
                                s.latest = Some(Latest {
                                    at,
                                    payload: publish.payload.to_vec(),
                                    registers,
                                });
                            });
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let why = connection_error(&e, &spec);
                            shared.update(|s| s.down = Some(why));
                            // The next poll reconnects: wait a little, longer each time.
                            let until = Instant::now() + backoff;
                            while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            backoff = (backoff * 2).min(Duration::from_secs(30));
                        }
                    }
                    if shared.stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
            })
            .context("starting the MQTT thread")?;
        Ok(source)
    }

    /// How long ago the latest message came, if one did.
    pub fn latest_age(&self) -> Option<Duration> {
        self.shared.lock().latest.as_ref().map(|l| l.at.elapsed())
    }
}

impl Drop for MqttSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let _ = self.client.try_disconnect();
    }
}

impl MeterSource for MqttSource {
    fn read(&mut self, _now: i64) -> anyhow::Result<Registers> {
        let spec = &self.spec;
        let mut state = self.shared.lock();
        if state.latest.is_none() {
            // Just connected: give the broker a moment to deliver a retained or the next message.
            let deadline = Instant::now() + spec.wait;
            while state.latest.is_none() && state.down.is_none() {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    break;
                };
                state = self
                    .shared
                    .changed
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        if let Some(down) = &state.down {
            bail!("MQTT broker {}:{}: {down}", spec.host, spec.port);
        }
        let Some(latest) = &state.latest else {
            bail!(
                "no message on MQTT topic '{}' yet ({} s since connecting): is the meter publishing there?",
                spec.topic,
                spec.wait.as_secs()
            );
        };
        let age = latest.at.elapsed();
        if age > spec.max_age {
            bail!(
                "the latest message on MQTT topic '{}' is {} s old (max_age {} s): the meter stopped publishing",
                spec.topic,
                age.as_secs(),
                spec.max_age.as_secs()
            );
        }
        latest
            .registers
            .clone()
            .map_err(|e| anyhow!("the latest message on MQTT topic '{}': {e}", spec.topic))
    }

    fn describe(&self) -> String {
        self.spec.describe(self.with_password)
    }
}

fn default_client_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // At most 23 characters, what every MQTT 3.1.1 broker accepts.
    format!("deu-gw-{}-{:x}", std::process::id() % 10_000_000, nanos)
}

fn connection_error(e: &ConnectionError, spec: &MqttSpec) -> String {
    let credentials = || match &spec.user {
        Some(user) => format!(
            "user '{user}', the password from {}",
            match &spec.password_file {
                Some(path) => path.display().to_string(),
                None => format!("${PASSWORD_ENV}"),
            }
        ),
        None => "no user name: anonymous clients are refused? (mqtt://USER@host/...)".to_string(),
    };
    match e {
        ConnectionError::ConnectionRefused(code) => {
            let why = match code {
                ConnectReturnCode::BadUserNamePassword => {
                    format!("bad user name or password ({})", credentials())
                }
                ConnectReturnCode::NotAuthorized => format!(
                    "not authorized: a wrong password, or a user the broker does not let in ({})",
                    credentials()
                ),
                ConnectReturnCode::BadClientId => "bad client id".to_string(),
                ConnectReturnCode::ServiceUnavailable => "service unavailable".to_string(),
                ConnectReturnCode::RefusedProtocolVersion => {
                    "the broker does not speak MQTT 3.1.1".to_string()
                }
                ConnectReturnCode::Success => "refused".to_string(),
            };
            format!("the broker refused the connection: {why}")
        }
        ConnectionError::Tls(e) => format!("TLS: {e}"),
        other => format!("connection lost or refused: {other}"),
    }
}

/// rustls on ring with the system's root certificates plus those in `ca`.
fn tls_config(ca: Option<&std::path::Path>) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(ca) = ca {
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow!("reading the CA certificates in {}: {e}", ca.display()))?;
        if certs.is_empty() {
            bail!("{} holds no PEM certificate", ca.display());
        }
        for cert in certs {
            roots
                .add(cert)
                .with_context(|| format!("a CA certificate in {}", ca.display()))?;
        }
    }
    if roots.is_empty() {
        bail!("no root certificate to check the broker's with: install the system's CA certificates (ca-certificates) or give ca=PATH");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("the TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn decimals_scale_to_whole_wh_exactly() {
        let kwh = dec("1000");
        assert_eq!(dec("1234.567").times_floor(kwh), Ok(1_234_567));
        assert_eq!(dec("0.0015").times_floor(kwh), Ok(1));
        assert_eq!(dec("12345.67").times_floor(dec("1")), Ok(12_345));
        assert_eq!(dec("1.2e3").times_floor(kwh), Ok(1_200_000));
        assert_eq!(dec("+7").times_floor(dec("0.5")), Ok(3));
        assert_eq!(dec("-0.0").times_floor(kwh), Ok(0));
        assert!(Decimal::parse("-1").unwrap_err().contains("negative"));
        assert!(Decimal::parse("NaN").is_err());
        assert!(Decimal::parse("inf").is_err());
        assert!(Decimal::parse("12a").is_err());
        assert!(Decimal::parse(".").is_err());
        assert!(Decimal::parse("").is_err());
        assert!(dec("1e30").times_floor(kwh).is_err());
        assert_eq!(dec("1000").to_string(), "1000");
        assert_eq!(dec("0.50").to_string(), "0.5");
        assert_eq!(dec("12.05").to_string(), "12.05");
    }

    #[test]
    fn payloads_read_numbers_and_numeric_strings() {
        let kwh = dec("1000");
        let tasmota = br#"{"ENERGY":{"Total":1234.567,"Power":42}}"#;
        assert_eq!(
            registers_of(tasmota, "/ENERGY/Total", None, kwh),
            Ok(Registers::One(1_234_567))
        );
        assert_eq!(
            registers_of(br#"{"v":"12.5"}"#, "/v", None, kwh),
            Ok(Registers::One(12_500))
        );
        assert_eq!(
            registers_of(b"4520.1", "", None, dec("1")),
            Ok(Registers::One(4_520))
        );
        let shelly = br#"{"total_act":12345.67,"total_act_ret":890.12}"#;
        assert_eq!(
            registers_of(shelly, "/total_act", Some("/total_act_ret"), dec("1")),
            Ok(Registers::Both {
                import_wh: 12_345,
                export_wh: 890
            })
        );
        assert!(registers_of(tasmota, "/ENERGY/Today", None, kwh)
            .unwrap_err()
            .contains("no '/ENERGY/Today'"));
        assert!(registers_of(br#"{"v":null}"#, "/v", None, kwh).is_err());
        assert!(registers_of(br#"{"v":"NaN"}"#, "/v", None, kwh).is_err());
        assert!(registers_of(br#"{"v":-3}"#, "/v", None, kwh).is_err());
        assert!(registers_of(b"garbage", "", None, kwh).is_err());
    }

    #[test]
    fn specs_parse_and_describe_without_the_password() {
        let spec = MqttSpec::parse(
            "mqtts://gateway@broker.example:8884/shelly%2Fx/status/emdata:0?pointer=/total_act&export=/total_act_ret&scale=1&max_age=60&ca=/etc/ca.pem",
        )
        .unwrap();
        assert!(spec.tls);
        assert_eq!(spec.user.as_deref(), Some("gateway"));
        assert_eq!((spec.host.as_str(), spec.port), ("broker.example", 8884));
        assert_eq!(spec.topic, "shelly/x/status/emdata:0");
        assert_eq!(spec.export.as_deref(), Some("/total_act_ret"));
        assert_eq!(spec.max_age, Duration::from_secs(60));
        assert_eq!(
            spec.describe(true),
            "MQTT mqtts://gateway:***@broker.example:8884/shelly/x/status/emdata:0 pointer '/total_act' export '/total_act_ret' x1 Wh"
        );
        let plain = MqttSpec::parse("mqtt://[::1]/tele/m/SENSOR?pointer=/ENERGY/Total").unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("::1", 1883));
        assert_eq!(plain.max_age, Duration::from_secs(180));
        let secret = MqttSpec::parse("mqtt://u:hunter2@h/t?pointer=/a").unwrap_err();
        assert!(!format!("{secret:#}").contains("hunter2"));
        assert!(MqttSpec::parse("mqtt://h/t").is_err());
        assert!(MqttSpec::parse("mqtt://h/t/#?pointer=/a").is_err());
        assert!(MqttSpec::parse("mqtt://h/t?pointer=a").is_err());
        assert!(MqttSpec::parse("mqtt://h/t?pointer=/a&scale=0").is_err());
        assert!(MqttSpec::parse("mqtt://h/t?pointer=/a&ca=/x").is_err());
        assert!(MqttSpec::parse("mqtt://h/t?pointer=/a&bogus=1").is_err());
        assert!(MqttSpec::parse("mqtt://h:99999/t?pointer=/a").is_err());
        assert!(MqttSpec::parse("mqtt://h/?pointer=/a").is_err());
    }
}
