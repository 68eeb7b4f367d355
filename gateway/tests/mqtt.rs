//! The MQTT meter source against a real Mosquitto broker (run `gateway/tests/setup-mqtt.sh` once
//! to install it): each test starts its own `mosquitto -c <conf>` on free loopback ports, with
//! anonymous clients refused and a password file made by `mosquitto_passwd`, publishes
//! device-shaped payloads with a plain MQTT client (rumqttc), and kills the broker at the end.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use energy_utility_gateway::source::{self, MeterSource, Registers};
use rumqttc::{Client, Event, MqttOptions, Outgoing, Packet, QoS};

const GATEWAY_PASSWORD: &str = "gw-s3cret-pw";
const METER_PASSWORD: &str = "meter-pw";

fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{name} is missing: run gateway/tests/setup-mqtt.sh (it apt-get installs mosquitto and socat)")
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A CA and a broker certificate for `localhost` and 127.0.0.1, as PEM files.
struct Certs {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_certs(dir: &Path) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("a CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "deu-gateway test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("the CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("a broker key");
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("broker params");
    let cert = params
        .signed_by(&key, &issuer)
        .expect("the broker certificate");
    let certs = Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("broker.pem"),
        key: dir.join("broker.key"),
    };
    std::fs::write(&certs.ca, ca_cert.pem()).unwrap();
    std::fs::write(&certs.cert, cert.pem()).unwrap();
    std::fs::write(&certs.key, key.serialize_pem()).unwrap();
    certs
}

/// A Mosquitto broker of this test: a plain listener on `port`, and a TLS one on `tls_port`.
struct Broker {
    child: Child,
    dir: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    certs: Option<Certs>,
}

impl Broker {
    fn start(tls: bool) -> Broker {
        static N: AtomicUsize = AtomicUsize::new(0);
        let mosquitto = tool("mosquitto");
        let passwd_tool = tool("mosquitto_passwd");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "deu-gateway-mqtt-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let passwd = dir.join("passwd");
        for (i, (user, password)) in [("gateway", GATEWAY_PASSWORD), ("meter", METER_PASSWORD)]
            .into_iter()
            .enumerate()
        {
            let mut command = Command::new(&passwd_tool);
            if i == 0 {
                command.arg("-c");
            }
            let out = command
                .arg("-b")
                .arg(&passwd)
                .args([user, password])
                .output()
                .expect("running mosquitto_passwd");
            assert!(
                out.status.success(),
                "mosquitto_passwd: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = free_port();
        let mut conf = format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {}\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlistener {port} 127.0.0.1\n",
            passwd.display()
        );
        let (tls_port, certs) = if tls {
            let certs = make_certs(&dir);
            let tls_port = free_port();
            conf.push_str(&format!(
                "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
                certs.ca.display(),
                certs.cert.display(),
                certs.key.display()
            ));
            (Some(tls_port), Some(certs))
        } else {
            (None, None)
        };
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let log = std::fs::File::create(dir.join("mosquitto.log")).unwrap();
        let mut child = Command::new(mosquitto)
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting mosquitto");
        let deadline = Instant::now() + Duration::from_secs(10);
        let ports: Vec<u16> = [Some(port), tls_port].into_iter().flatten().collect();
        while !ports
            .iter()
            .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "mosquitto exited ({status}): {}",
                    std::fs::read_to_string(dir.join("mosquitto.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen in 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker {
            child,
            dir,
            port,
            tls_port,
            certs,
        }
    }

    fn password_file(&self, password: &str) -> PathBuf {
        static FILES: AtomicUsize = AtomicUsize::new(0);
        let path = self.dir.join(format!(
            "password-{}",
            FILES.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, format!("{password}\n")).unwrap();
        path
    }

    /// An `mqtt://gateway@…` spec for `topic` with `query`, the password in a file.
    fn spec(&self, topic: &str, query: &str) -> String {
        format!(
            "mqtt://gateway@127.0.0.1:{}/{topic}?{query}&password_file={}",
            self.port,
            self.password_file(GATEWAY_PASSWORD).display()
        )
    }

    /// Publishes as the meter (QoS 1), returning once the broker acknowledged.
    fn publish(&self, topic: &str, payload: &str, retain: bool) {
        let mut options = MqttOptions::new(
            format!("test-meter-{}", std::process::id()),
            "127.0.0.1",
            self.port,
        );
        options.set_credentials("meter", METER_PASSWORD);
        let (client, mut connection) = Client::new(options, 10);
        client
            .publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec())
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("the broker acknowledges the publication in 10 s");
            match connection.recv_timeout(left) {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => break,
                Ok(Ok(_)) => {}
                other => panic!("publishing to the test broker: {other:?}"),
            }
        }
        client.disconnect().unwrap();
        for event in connection.iter() {
            if matches!(event, Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_)) {
                break;
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads until `done` holds for the result, for up to 10 s; returns that result.
fn read_until(
    source: &mut dyn MeterSource,
    done: impl Fn(&anyhow::Result<Registers>) -> bool,
) -> anyhow::Result<Registers> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = source.read(0);
        if done(&result) || Instant::now() > deadline {
            return result;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn error_of(result: anyhow::Result<Registers>) -> String {
    match result {
        Ok(registers) => panic!("expected an error, read {registers:?}"),
        Err(e) => format!("{e:#}"),
    }
}

const TASMOTA: &str = r#"{"Time":"2025-05-01T12:00:00","ENERGY":{"TotalStartTime":"2024-01-01T00:00:00","Total":1234.567,"Yesterday":3.210,"Today":1.234,"Period":12,"Power":420,"ApparentPower":431,"ReactivePower":96,"Factor":0.97,"Voltage":231,"Current":1.867}}"#;

#[test]
fn a_retained_tasmota_message_reads_exact_wh_also_through_deu_gateway_read() {
    let broker = Broker::start(false);
    broker.publish("tele/plug-1/SENSOR", TASMOTA, true);

    let mut meter = source::parse(&broker.spec("tele/plug-1/SENSOR", "pointer=/ENERGY/Total"))
        .expect("an MQTT source");
    assert_eq!(meter.read(0).unwrap(), Registers::One(1_234_567));
    let describe = meter.describe();
    assert!(
        describe.contains("mqtt://gateway:***@127.0.0.1:") && !describe.contains(GATEWAY_PASSWORD),
        "{describe}"
    );

    // The binary, the password in the environment.
    let spec = format!(
        "mqtt://gateway@127.0.0.1:{}/tele/plug-1/SENSOR?pointer=/ENERGY/Total",
        broker.port
    );
    let out = Command::new(env!("CARGO_BIN_EXE_deu-gateway"))
        .args(["read", "--source", &spec])
        .env("DEU_MQTT_PASSWORD", GATEWAY_PASSWORD)
        .output()
        .expect("running deu-gateway");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "deu-gateway read: {stdout}{stderr}");
    assert!(stdout.contains("1234.567 kWh"), "{stdout}");
    assert!(
        !stdout.contains(GATEWAY_PASSWORD) && !stderr.contains(GATEWAY_PASSWORD),
        "{stdout}{stderr}"
    );

    // Without the password: a clear error, no connection attempt.
    let out = Command::new(env!("CARGO_BIN_EXE_deu-gateway"))
        .args(["read", "--source", &spec])
        .env_remove("DEU_MQTT_PASSWORD")
        .output()
        .expect("running deu-gateway");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("DEU_MQTT_PASSWORD"), "{stderr}");
}

#[test]
fn a_shelly_emdata_message_reads_import_and_export_and_follows_new_ones() {
    let broker = Broker::start(false);
    let topic = "shellypro3em-a8032ab12345/status/emdata:0";
    let payload = |import: &str, export: &str| {
        format!(
            r#"{{"id":0,"a_total_act_energy":4115.2,"a_total_act_ret_energy":0,"b_total_act_energy":4020.5,"b_total_act_ret_energy":0,"c_total_act_energy":4210.0,"c_total_act_ret_energy":890.1,"total_act":{import},"total_act_ret":{export}}}"#
        )
    };
    broker.publish(topic, &payload("12345.67", "890.12"), true);
    let mut meter =
        source::parse(&broker.spec(topic, "pointer=/total_act&export=/total_act_ret&scale=1"))
            .unwrap();
    assert_eq!(
        meter.read(0).unwrap(),
        Registers::Both {
            import_wh: 12_345,
            export_wh: 890
        }
    );
    broker.publish(topic, &payload("12400.01", "\"905.9\""), false);
    let next = Registers::Both {
        import_wh: 12_400,
        export_wh: 905,
    };
    assert_eq!(
        read_until(meter.as_mut(), |r| matches!(r, Ok(r) if *r == next)).unwrap(),
        next
    );
}

#[test]
fn a_wrong_password_or_a_silent_topic_is_a_clear_error() {
    let broker = Broker::start(false);
    let spec = format!(
        "mqtt://gateway@127.0.0.1:{}/tele/plug-1/SENSOR?pointer=/ENERGY/Total&password_file={}",
        broker.port,
        broker.password_file("not-the-password").display()
    );
    let started = Instant::now();
    let e = error_of(source::parse(&spec).unwrap().read(0));
    // Mosquitto answers "not authorized" to a wrong password, other brokers "bad user name or
    // password": either way the error names the user and where the password came from.
    assert!(e.contains("refused the connection"), "{e}");
    assert!(e.contains("password"), "{e}");
    assert!(e.contains("user 'gateway'"), "{e}");
    assert!(e.contains("/password-"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    let anonymous = format!(
        "mqtt://127.0.0.1:{}/tele/plug-1/SENSOR?pointer=/ENERGY/Total",
        broker.port
    );
    let e = error_of(source::parse(&anonymous).unwrap().read(0));
    assert!(e.contains("refused the connection"), "{e}");
    assert!(e.contains("anonymous"), "{e}");

    // Connected, but nothing ever published on the topic.
    let mut silent =
        source::parse(&broker.spec("tele/nobody/SENSOR", "pointer=/ENERGY/Total&wait=1")).unwrap();
    let e = error_of(silent.read(0));
    assert!(
        e.contains("no message on MQTT topic 'tele/nobody/SENSOR'"),
        "{e}"
    );
}

#[test]
fn a_silent_meter_or_a_dead_broker_is_an_error_never_a_stale_value() {
    let mut broker = Broker::start(false);
    let topic = "tele/plug-2/SENSOR";
    broker.publish(topic, TASMOTA, true);
    let mut meter = source::parse(&broker.spec(topic, "pointer=/ENERGY/Total&max_age=2")).unwrap();
    assert_eq!(meter.read(0).unwrap(), Registers::One(1_234_567));

    // The meter goes silent: the value goes stale after max_age.
    std::thread::sleep(Duration::from_millis(2_500));
    let e = error_of(meter.read(0));
    assert!(e.contains("s old (max_age 2 s)"), "{e}");

    // It publishes again: read again.
    broker.publish(
        topic,
        &TASMOTA.replace("\"Total\":1234.567", "\"Total\":1234.600"),
        false,
    );
    assert_eq!(
        read_until(meter.as_mut(), |r| r.is_ok()).unwrap(),
        Registers::One(1_234_600)
    );

    // The broker dies: the connection error, at once and still after max_age.
    broker.kill();
    let e = error_of(read_until(meter.as_mut(), |r| r.is_err()));
    assert!(
        e.contains(&format!("MQTT broker 127.0.0.1:{}", broker.port)),
        "{e}"
    );
    assert!(e.contains("connection"), "{e}");
    std::thread::sleep(Duration::from_millis(2_500));
    let e = error_of(meter.read(0));
    assert!(e.contains("connection"), "{e}");
}

#[test]
fn a_message_without_the_pointer_is_an_error_and_the_next_good_one_reads() {
    let broker = Broker::start(false);
    let topic = "tele/plug-3/SENSOR";
    broker.publish(topic, TASMOTA, true);
    let mut meter = source::parse(&broker.spec(topic, "pointer=/ENERGY/Total")).unwrap();
    assert_eq!(meter.read(0).unwrap(), Registers::One(1_234_567));

    for (payload, expected) in [
        (
            r#"{"Time":"2025-05-01T12:05:00","ENERGY":{"Power":410}}"#,
            "the payload has no '/ENERGY/Total'",
        ),
        (r#"{"ENERGY":{"Total":"n/a"}}"#, "'n/a' is not a number"),
        (r#"{"ENERGY":{"Total":null}}"#, "is null, not a number"),
        (r#"{"ENERGY":{"Total":"NaN"}}"#, "not a finite number"),
        (r#"{"ENERGY":{"Total":-1.5}}"#, "negative"),
        ("offline", "the payload is not JSON"),
    ] {
        broker.publish(topic, payload, false);
        let e = error_of(read_until(
            meter.as_mut(),
            |r| matches!(r, Err(e) if format!("{e:#}").contains(expected)),
        ));
        assert!(e.contains(expected), "{payload}: {e}");
        assert!(e.contains("tele/plug-3/SENSOR"), "{e}");
    }

    broker.publish(topic, r#"{"ENERGY":{"Total":"1300.5"}}"#, false);
    assert_eq!(
        read_until(meter.as_mut(), |r| r.is_ok()).unwrap(),
        Registers::One(1_300_500)
    );
}

#[test]
fn mqtts_reads_through_a_broker_certificate_of_a_private_ca() {
    let broker = Broker::start(true);
    let certs = broker.certs.as_ref().unwrap();
    let tls_port = broker.tls_port.unwrap();
    let topic = "tele/plug-4/SENSOR";
    broker.publish(topic, TASMOTA, true);
    let password = broker.password_file(GATEWAY_PASSWORD);

    let spec = format!(
        "mqtts://gateway@localhost:{tls_port}/{topic}?pointer=/ENERGY/Total&ca={}&password_file={}",
        certs.ca.display(),
        password.display()
    );
    let mut meter = source::parse(&spec).unwrap();
    assert_eq!(meter.read(0).unwrap(), Registers::One(1_234_567));
    assert!(meter
        .describe()
        .starts_with("MQTT mqtts://gateway:***@localhost:"));

    // Without the private CA, the system's roots do not vouch for the broker.
    let untrusted = format!(
        "mqtts://gateway@localhost:{tls_port}/{topic}?pointer=/ENERGY/Total&password_file={}",
        password.display()
    );
    let e = match source::parse(&untrusted) {
        Ok(mut meter) => error_of(meter.read(0)),
        // A machine without the system's CA certificates.
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains("TLS") && e.contains("UnknownIssuer") || e.contains("root certificate"),
        "{e}"
    );

    // Plain MQTT against the TLS port is no way around it.
    let plain = format!(
        "mqtt://gateway@localhost:{tls_port}/{topic}?pointer=/ENERGY/Total&password_file={}&wait=2",
        password.display()
    );
    assert!(source::parse(&plain).unwrap().read(0).is_err());
}
