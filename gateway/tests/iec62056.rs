//! The IEC 62056-21 optical-probe source over a pseudo-terminal pair (run
//! `gateway/tests/setup-mqtt.sh` once to install socat): `socat` joins two ptys, the source opens
//! one as its probe, and a meter stand-in thread on the other answers as a meter in mode C does
//! (identification, then after the acknowledgement the data block and its BCC). A pty accepts
//! the source's 7E1 settings and baud-rate switches and ignores them: the bytes pass as they are.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use energy_utility_gateway::source::{self, Registers};

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// Two joined pseudo-terminals: `probe` for the source, `meter` for the stand-in.
struct PtyPair {
    socat: Child,
    dir: PathBuf,
    probe: PathBuf,
    meter: PathBuf,
}

impl PtyPair {
    fn new() -> PtyPair {
        static N: AtomicUsize = AtomicUsize::new(0);
        let socat = ["/usr/bin/socat", "/usr/local/bin/socat", "/bin/socat"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .or_else(|| {
                Command::new("socat")
                    .arg("-V")
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|_| PathBuf::from("socat"))
            })
            .unwrap_or_else(|| {
                panic!("socat is missing: run gateway/tests/setup-mqtt.sh (it apt-get installs mosquitto and socat)")
            });
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "deu-gateway-iec62056-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (probe, meter) = (dir.join("probe"), dir.join("meter"));
        let log = File::create(dir.join("socat.log")).unwrap();
        let mut socat = Command::new(socat)
            .arg("-d")
            .arg("-d")
            .arg(format!("pty,raw,echo=0,link={}", probe.display()))
            .arg(format!("pty,raw,echo=0,link={}", meter.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting socat");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(probe.exists() && meter.exists()) {
            if let Some(status) = socat.try_wait().unwrap() {
                panic!(
                    "socat exited ({status}): {}",
                    std::fs::read_to_string(dir.join("socat.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "socat made no ptys in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        PtyPair {
            socat,
            dir,
            probe,
            meter,
        }
    }

    fn spec(&self, query: &str) -> String {
        format!("iec62056:{}?timeout=2{query}", self.probe.display())
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        let _ = self.socat.kill();
        let _ = self.socat.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the stand-in meter behaves.
#[derive(Clone)]
struct Meter {
    identification: &'static str,
    /// The data block's lines, without STX, `!`, ETX and BCC.
    lines: &'static str,
    answer: bool,
    echo: bool,
    bad_bcc: bool,
}

const DATA: &str = "0.0.0(1ISK0012345678)\r\nF.F(00000000)\r\n1.8.0(012345.678*kWh)\r\n1.8.1(010000.000*kWh)\r\n1.8.2(002345.678*kWh)\r\n2.8.0(000001.234*kWh)\r\n16.7.0(000420*W)\r\n";

impl Default for Meter {
    fn default() -> Meter {
        Meter {
            identification: "/ISK5MT174-0001",
            lines: DATA,
            answer: true,
            echo: false,
            bad_bcc: false,
        }
    }
}

/// What the stand-in received: the request line and the acknowledgement line.
type Heard = (String, Vec<u8>);

fn read_line(port: &mut File) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.last() != Some(&b'\n') {
        if port.read(&mut byte)? == 0 {
            break;
        }
        line.push(byte[0]);
    }
    Ok(line)
}

/// Serves one session on the meter side; what it heard comes on the channel.
fn serve(pty: &PtyPair, meter: Meter) -> mpsc::Receiver<Heard> {
    let path = pty.meter.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut port = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("opening the meter's pty");
        let request = read_line(&mut port).expect("reading the request");
        if meter.echo {
            port.write_all(&request).unwrap();
        }
        if !meter.answer {
            let _ = tx.send((String::from_utf8_lossy(&request).into_owned(), Vec::new()));
            // A meter that hears but never answers: hold the line until the test ends.
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
        port.write_all(format!("{}\r\n", meter.identification).as_bytes())
            .unwrap();
        let ack = read_line(&mut port).expect("reading the acknowledgement");
        if meter.echo {
            port.write_all(&ack).unwrap();
        }
        let mut block = meter.lines.as_bytes().to_vec();
        block.extend_from_slice(b"!\r\n");
        block.push(ETX);
        let mut bcc = block.iter().fold(0u8, |acc, b| acc ^ b);
        if meter.bad_bcc {
            bcc ^= 0x01;
        }
        let mut frame = vec![STX];
        frame.extend_from_slice(&block);
        frame.push(bcc);
        std::thread::sleep(Duration::from_millis(50));
        port.write_all(&frame).unwrap();
        port.flush().unwrap();
        let _ = tx.send((String::from_utf8_lossy(&request).into_owned(), ack));
        // Keep the pty open until the source has read it all.
        std::thread::sleep(Duration::from_millis(500));
    });
    rx
}

fn heard(rx: &mpsc::Receiver<Heard>) -> Heard {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the stand-in meter finished its session")
}

#[test]
fn a_mode_c_meter_gives_its_import_and_export_totals() {
    let pty = PtyPair::new();
    let rx = serve(&pty, Meter::default());
    let mut meter = source::parse(&pty.spec("")).expect("an IEC 62056-21 source");
    assert_eq!(
        meter.read(0).unwrap(),
        Registers::Both {
            import_wh: 12_345_678,
            export_wh: 1_234
        }
    );
    let (request, ack) = heard(&rx);
    assert_eq!(request, "/?!\r\n");
    // ACK, protocol control 0, the meter's baud code 5 (9600), mode 0 (data readout).
    assert_eq!(ack, b"\x06050\r\n");
    assert!(
        meter.describe().contains("IEC 62056-21"),
        "{}",
        meter.describe()
    );

    // An addressed meter behind an echoing probe, capped to 2400 baud, OBIS codes in full and
    // Wh, billing-period values and no export register.
    let rx = serve(
        &pty,
        Meter {
            identification: "/LGZ4ZMD3104100.B32",
            lines: "1-0:0.0.0*255(12345678)\r\n1-0:1.8.0*255(00012345678*Wh)\r\n1-0:1.8.0*12(00011111111*Wh)\r\n1-0:2.8.0&04(00000000100*Wh)\r\n",
            echo: true,
            ..Meter::default()
        },
    );
    let mut meter = source::parse(&pty.spec("&address=12345678&max_baud=2400")).unwrap();
    assert_eq!(meter.read(0).unwrap(), Registers::One(12_345_678));
    let (request, ack) = heard(&rx);
    assert_eq!(request, "/?12345678!\r\n");
    assert_eq!(ack, b"\x06030\r\n");
}

#[test]
fn deu_gateway_read_prints_the_meters_registers() {
    let pty = PtyPair::new();
    let rx = serve(&pty, Meter::default());
    let out = Command::new(env!("CARGO_BIN_EXE_deu-gateway"))
        .args(["read", "--source", &pty.spec("")])
        .output()
        .expect("running deu-gateway");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "deu-gateway read: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("import 12345.678 kWh, export 1.234 kWh"),
        "{stdout}"
    );
    heard(&rx);
}

#[test]
fn a_wrong_bcc_or_a_block_without_1_8_0_is_an_error() {
    let pty = PtyPair::new();
    let rx = serve(
        &pty,
        Meter {
            bad_bcc: true,
            ..Meter::default()
        },
    );
    let mut meter = source::parse(&pty.spec("")).unwrap();
    let e = format!("{:#}", meter.read(0).unwrap_err());
    assert!(e.contains("BCC"), "{e}");
    heard(&rx);

    let rx = serve(
        &pty,
        Meter {
            lines: "1.8.1(010000.000*kWh)\r\n1.8.2(002345.678*kWh)\r\n",
            ..Meter::default()
        },
    );
    let e = format!("{:#}", meter.read(0).unwrap_err());
    assert!(e.contains("no total import register 1.8.0"), "{e}");
    assert!(e.contains("/ISK5MT174-0001"), "{e}");
    heard(&rx);
}

#[test]
fn a_meter_that_never_answers_is_a_timeout() {
    let pty = PtyPair::new();
    let rx = serve(
        &pty,
        Meter {
            answer: false,
            ..Meter::default()
        },
    );
    let mut meter = source::parse(&format!("iec62056:{}?timeout=1", pty.probe.display())).unwrap();
    let started = Instant::now();
    let e = format!("{:#}", meter.read(0).unwrap_err());
    assert!(e.contains("timeout"), "{e}");
    assert!(e.contains("identification"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(heard(&rx).0, "/?!\r\n");

    // No such device: a clear error too.
    let e = format!(
        "{:#}",
        source::parse("iec62056:/dev/deu-no-such-probe")
            .unwrap()
            .read(0)
            .unwrap_err()
    );
    assert!(
        e.contains("opening the optical probe /dev/deu-no-such-probe"),
        "{e}"
    );
}
