//! The Modbus source against real Modbus servers (tokio-modbus's TCP and RTU servers, the RTU
//! one over a socat pseudo-terminal pair): SunSpec meters and inverters found by their marker
//! with their scale factors applied, register maps of DIN-rail meters, and every failure (an
//! exception code, a wrong unit, a silent device, a CRC error) an error, never a guess.
//!
//! Needs `socat` (`bash gateway/tests/setup-modbus.sh`).

use std::collections::HashMap;
use std::future::{self, Future};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use energy_utility_gateway::source::modbus::crc16;
use energy_utility_gateway::source::{self, Registers};
use tokio_modbus::prelude::*;
use tokio_modbus::server::tcp::{accept_tcp_connection, Server};

/// A Modbus device: its unit id, its registers, and whether it has stopped answering.
#[derive(Clone)]
struct Device {
    unit: u8,
    holding: Arc<HashMap<u16, u16>>,
    input: Arc<HashMap<u16, u16>>,
    silent: Arc<AtomicBool>,
}

type Answer = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

impl tokio_modbus::server::Service for Device {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Answer;

    fn call(&self, req: Self::Request) -> Self::Future {
        if self.silent.load(Ordering::SeqCst) {
            return Box::pin(future::pending());
        }
        if req.slave != self.unit {
            return Box::pin(future::ready(Err(ExceptionCode::GatewayTargetDevice)));
        }
        let read =
            |map: &HashMap<u16, u16>, addr: u16, count: u16| -> Result<Vec<u16>, ExceptionCode> {
                (addr..addr + count)
                    .map(|a| {
                        map.get(&a)
                            .copied()
                            .ok_or(ExceptionCode::IllegalDataAddress)
                    })
                    .collect()
            };
        let answer = match req.request {
            Request::ReadHoldingRegisters(addr, count) => {
                read(&self.holding, addr, count).map(|w| Some(Response::ReadHoldingRegisters(w)))
            }
            Request::ReadInputRegisters(addr, count) => {
                read(&self.input, addr, count).map(|w| Some(Response::ReadInputRegisters(w)))
            }
            _ => Err(ExceptionCode::IllegalFunction),
        };
        Box::pin(future::ready(answer))
    }
}

impl Device {
    fn new(unit: u8, holding: HashMap<u16, u16>, input: HashMap<u16, u16>) -> Self {
        Self {
            unit,
            holding: Arc::new(holding),
            input: Arc::new(input),
            silent: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Serves the device over Modbus TCP on a free loopback port; returns `host:port`.
    fn serve_tcp(&self) -> String {
        let device = self.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let server = Server::new(listener);
                let on_connected = |stream, addr| {
                    let device = device.clone();
                    async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(device.clone()))) }
                };
                let _ = server.serve(&on_connected, |_| {}).await;
            });
        });
        rx.recv().unwrap().to_string()
    }
}

/// Registers `start..` holding `words`.
fn block(map: &mut HashMap<u16, u16>, start: u16, words: &[u16]) {
    for (i, w) in words.iter().enumerate() {
        map.insert(start + i as u16, *w);
    }
}

/// A SunSpec device at `base`: `SunS`, the common model, then `model` of `length` registers
/// whose data `fill` sets, then the end marker.
fn sunspec(base: u16, model: u16, length: u16, fill: impl Fn(&mut [u16])) -> HashMap<u16, u16> {
    let mut map = HashMap::new();
    block(&mut map, base, &[0x5375, 0x6e53, 1, 66]);
    block(&mut map, base + 4, &[0; 66]);
    let at = base + 4 + 66;
    let mut data = vec![0u16; usize::from(length)];
    fill(&mut data);
    block(&mut map, at, &[model, length]);
    block(&mut map, at + 2, &data);
    block(&mut map, at + 2 + length, &[0xFFFF, 0]);
    map
}

fn acc32(data: &mut [u16], at: usize, value: u32) {
    data[at] = (value >> 16) as u16;
    data[at + 1] = value as u16;
}

fn read(spec: &str) -> anyhow::Result<Registers> {
    source::parse(spec)?.read(0)
}

#[test]
fn a_sunspec_meter_and_inverter_are_found_by_their_marker_and_scaled() {
    // A three-phase meter (model 203): TotWhExp 98,765 and TotWhImp 1,234,567 at 10^-1 Wh.
    let meter = sunspec(40_000, 203, 105, |d| {
        acc32(d, 36, 98_765);
        acc32(d, 44, 1_234_567);
        d[52] = (-1i16) as u16;
    });
    let at = Device::new(1, meter, HashMap::new()).serve_tcp();
    assert_eq!(
        read(&format!("modbus-tcp:{at}")).unwrap(),
        Registers::Both {
            import_wh: 123_456,
            export_wh: 9_876
        }
    );
    // The binary prints the same.
    let out = Command::new(env!("CARGO_BIN_EXE_deu-gateway"))
        .args(["read", "--source", &format!("modbus-tcp:{at}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("import 123.456 kWh, export 9.876 kWh"),
        "{text}"
    );

    // A single-phase meter (201) at 10^2: the same layout.
    let single = sunspec(40_000, 201, 105, |d| {
        acc32(d, 36, 7);
        acc32(d, 44, 12_345);
        d[52] = 2;
    });
    let at = Device::new(1, single, HashMap::new()).serve_tcp();
    assert_eq!(
        read(&format!("modbus-tcp:{at}")).unwrap(),
        Registers::Both {
            import_wh: 1_234_500,
            export_wh: 700
        }
    );

    // A three-phase inverter (103) whose map starts at 0 (40000 answers an exception):
    // lifetime WH 4,321,000 at 10^0.
    let inverter = sunspec(0, 103, 50, |d| acc32(d, 22, 4_321_000));
    let at = Device::new(1, inverter, HashMap::new()).serve_tcp();
    assert_eq!(
        read(&format!("modbus-tcp:{at}")).unwrap(),
        Registers::One(4_321_000)
    );

    // "Not implemented" values are errors, not zeros or guesses.
    let unset = sunspec(40_000, 203, 105, |d| d[52] = 0x8000);
    let at = Device::new(1, unset, HashMap::new()).serve_tcp();
    let err = format!("{:#}", read(&format!("modbus-tcp:{at}")).unwrap_err());
    assert!(err.contains("not implemented"), "{err}");
    // A delta meter (204) found at 50000 that never fed in: export 0, import counted.
    let consumer = sunspec(50_000, 204, 105, |d| acc32(d, 44, 5));
    let at = Device::new(1, consumer, HashMap::new()).serve_tcp();
    assert_eq!(
        read(&format!("modbus-tcp:{at}")).unwrap(),
        Registers::Both {
            import_wh: 5,
            export_wh: 0
        }
    );
    // An import accumulator of 0 is "not implemented": refused.
    let unset = sunspec(40_000, 203, 105, |d| acc32(d, 36, 5));
    let at = Device::new(1, unset, HashMap::new()).serve_tcp();
    let err = format!("{:#}", read(&format!("modbus-tcp:{at}")).unwrap_err());
    assert!(err.contains("TotWhImp reads 0"), "{err}");
    // A device without SunSpec says so and asks for a map.
    let plain = Device::new(1, HashMap::new(), HashMap::new()).serve_tcp();
    let err = format!("{:#}", read(&format!("modbus-tcp:{plain}")).unwrap_err());
    assert!(err.contains("no SunSpec marker"), "{err}");
    assert!(err.contains("map=PATH"), "{err}");
}

fn maps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("maps")
}

fn f32_words(kwh: f32) -> [u16; 2] {
    let bits = kwh.to_bits();
    [(bits >> 16) as u16, bits as u16]
}

#[test]
fn din_rail_meters_read_through_their_register_maps() {
    // An Eastron SDM630: import 1,234.5 kWh and export 67.25 kWh as input-register floats.
    let mut input = HashMap::new();
    block(&mut input, 0x0048, &f32_words(1_234.5));
    block(&mut input, 0x004A, &f32_words(67.25));
    let at = Device::new(7, HashMap::new(), input).serve_tcp();
    let sdm = maps().join("eastron-sdm630.toml");
    // By name: every address `localhost` resolves to is tried (the server is on 127.0.0.1).
    let port = at.rsplit_once(':').unwrap().1;
    let spec = format!("modbus-tcp:localhost:{port}?unit=7&map={}", sdm.display());
    assert_eq!(
        read(&spec).unwrap(),
        Registers::Both {
            import_wh: 1_234_500,
            export_wh: 67_250
        }
    );
    // An ABB B23: u64 counters in 0.01 kWh.
    let mut holding = HashMap::new();
    block(&mut holding, 0x5000, &[0, 0, 0x0001, 0x86A0]); // 100,000 × 0.01 kWh
    block(&mut holding, 0x5004, &[0, 0, 0, 2_500]);
    let at = Device::new(1, holding, HashMap::new()).serve_tcp();
    let abb = maps().join("abb-b23.toml");
    assert_eq!(
        read(&format!("modbus-tcp:{at}?map={}", abb.display())).unwrap(),
        Registers::Both {
            import_wh: 1_000_000,
            export_wh: 25_000
        }
    );
    // A map with a width: the gateway takes a fall within it as a wrap.
    let dir = std::env::temp_dir().join(format!("deu-modbus-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrapping = dir.join("wrap.toml");
    std::fs::write(
        &wrapping,
        "rollover_kwh = 99999.9\n[import]\naddress = 0x5000\ntype = \"u64\"\nscale = 10\n",
    )
    .unwrap();
    let source = source::parse(&format!("modbus-tcp:{at}?map={}", wrapping.display())).unwrap();
    assert_eq!(source.rollover_wh(), Some(99_999_900));
    // A map with a typo is refused when the gateway starts, not at the first read.
    std::fs::write(
        &wrapping,
        "[import]\naddress = 1\ntype = \"f16\"\nscale = 1\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        source::parse(&format!("modbus-tcp:{at}?map={}", wrapping.display()))
            .err()
            .unwrap()
    );
    assert!(err.contains("f16"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn exceptions_wrong_units_and_silent_devices_are_errors_never_guesses() {
    let mut input = HashMap::new();
    block(&mut input, 0x0048, &f32_words(10.0));
    let device = Device::new(1, HashMap::new(), input);
    let at = device.serve_tcp();
    let sdm = maps().join("eastron-sdm630.toml");
    // The map asks for the export register, which this device does not have: exception 02.
    let mut source = source::parse(&format!("modbus-tcp:{at}?map={}", sdm.display())).unwrap();
    let err = format!("{:#}", source.read(0).unwrap_err());
    assert!(
        err.contains("exception 0x02 (illegal data address)"),
        "{err}"
    );
    // Another unit id: the gateway's exception 0x0b.
    let err = format!(
        "{:#}",
        read(&format!("modbus-tcp:{at}?unit=9&map={}", sdm.display())).unwrap_err()
    );
    assert!(err.contains("0x0b"), "{err}");
    // The device stops answering: an error within the timeout, then it answers again.
    let spec = format!("modbus-tcp:{at}?timeout=0.5");
    let mut source = source::parse(&spec).unwrap();
    device.silent.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let err = format!("{:#}", source.read(0).unwrap_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("waiting for the answer"), "{err}");
    // It answers again: the next read connects afresh and reads.
    device.silent.store(false, Ordering::SeqCst);
    let err = format!("{:#}", source.read(0).unwrap_err());
    assert!(err.contains("no SunSpec marker"), "{err}");
    let mut source = source::parse(&format!(
        "modbus-tcp:{at}?timeout=0.5&map={}",
        sdm.display()
    ))
    .unwrap();
    device.silent.store(true, Ordering::SeqCst);
    assert!(source.read(0).is_err());
    device.silent.store(false, Ordering::SeqCst);
    let err = format!("{:#}", source.read(0).unwrap_err());
    assert!(err.contains("exception 0x02"), "{err}");
    // Nothing listens: a refused connection.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = format!("{:#}", read(&format!("modbus-tcp:{closed}")).unwrap_err());
    assert!(err.contains("connecting to"), "{err}");
}

/// A socat pseudo-terminal pair: two device paths joined back to back.
struct PtyPair {
    child: Child,
    a: PathBuf,
    b: PathBuf,
    _dir: PathBuf,
}

impl PtyPair {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("deu-modbus-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat is missing: run `bash gateway/tests/setup-modbus.sh`");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !(a.exists() && b.exists()) {
            assert!(Instant::now() < deadline, "socat made no pty pair");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            a,
            b,
            _dir: dir,
        }
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_meter_on_rs485_answers_over_rtu_and_a_corrupted_answer_is_refused() {
    let pair = PtyPair::start("rtu");
    let mut input = HashMap::new();
    block(&mut input, 0x0048, &f32_words(512.25));
    block(&mut input, 0x004A, &f32_words(3.5));
    let device = Device::new(3, HashMap::new(), input);
    let server_path = pair.a.to_string_lossy().to_string();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let serial =
                tokio_serial::SerialStream::open(&tokio_serial::new(server_path, 9_600)).unwrap();
            let _ = tokio_modbus::server::rtu::Server::new(serial)
                .serve_forever(device)
                .await;
        });
    });
    std::thread::sleep(Duration::from_millis(200));
    let sdm = maps().join("eastron-sdm630.toml");
    let spec = format!(
        "modbus-rtu:{}?baud=9600&unit=3&map={}",
        pair.b.display(),
        sdm.display()
    );
    assert_eq!(
        read(&spec).unwrap(),
        Registers::Both {
            import_wh: 512_250,
            export_wh: 3_500
        }
    );
    drop(pair);

    // A line with noise: a stand-in answers with the right data and a wrong CRC.
    let pair = PtyPair::start("crc");
    let stand_in = pair.a.clone();
    std::thread::spawn(move || {
        let mut port = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&stand_in)
            .unwrap();
        let mut request = [0u8; 8];
        port.read_exact(&mut request).unwrap();
        let mut answer = vec![request[0], 0x04, 4];
        answer.extend_from_slice(
            &f32_words(1.0)
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect::<Vec<_>>(),
        );
        let crc = crc16(&answer) ^ 0x0101;
        answer.extend_from_slice(&crc.to_le_bytes());
        port.write_all(&answer).unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    std::thread::sleep(Duration::from_millis(100));
    let spec = format!(
        "modbus-rtu:{}?timeout=1&map={}",
        pair.b.display(),
        sdm.display()
    );
    let err = format!("{:#}", read(&spec).unwrap_err());
    assert!(err.contains("CRC error"), "{err}");
}
