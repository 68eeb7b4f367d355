//! Shared by the end-to-end tests: a `deu localnet` child process in a folder of its own and a
//! `deu` runner.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const DEU: &str = env!("CARGO_BIN_EXE_deu");

pub struct Localnet {
    pub child: Child,
    pub url: String,
}

impl Localnet {
    pub fn start(ledger: &Path, port: u16) -> Self {
        // What it says goes to a file beside the ledger, told if it stops before listening.
        let log_path = ledger.with_extension("stderr");
        let mut command = Command::new(DEU);
        command
            .args(["localnet", "--rpc-port", &port.to_string(), "--ledger"])
            .arg(ledger);
        Self::spawn(command, port, &log_path)
    }

    /// Starts `command` (a `deu localnet` listening on `port`), its stderr to `log_path`, and
    /// returns once it listens; what it said is told if it stops before.
    pub fn spawn(mut command: Command, port: u16, log_path: &Path) -> Self {
        let log = std::fs::File::create(log_path).expect("create the localnet's log");
        let mut child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start deu localnet");
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self {
                    child,
                    url: format!("http://127.0.0.1:{port}"),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "deu localnet stopped ({status}) before listening on port {port}: {}",
                    std::fs::read_to_string(log_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("deu localnet did not listen on port {port}");
    }

    /// Ctrl-C, as a person would stop it, then wait for it to save and exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "localnet exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("deu localnet did not stop on Ctrl-C");
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A test's own folder (emptied first, for the keys and whatever else the test writes) with a
/// `deu localnet` on its `ledger`.
pub struct Cluster {
    pub dir: PathBuf,
    pub net: Localnet,
}

impl Cluster {
    pub fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("deu-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let net = Localnet::start(&dir.join("ledger"), free_port());
        Self { dir, net }
    }

    /// `deu` against this cluster, with its keys in the test's folder.
    pub fn deu(&self) -> Deu<'_> {
        Deu {
            url: &self.net.url,
            dir: &self.dir,
        }
    }

    /// Ctrl-C to the cluster, then the same ledger served again on the same port.
    pub fn restart(self) -> Self {
        let Cluster { dir, net } = self;
        let port: u16 = net.url.rsplit(':').next().unwrap().parse().unwrap();
        net.stop();
        let net = Localnet::start(&dir.join("ledger"), port);
        Cluster { dir, net }
    }

    /// Ctrl-C to the cluster, then the folder is deleted.
    pub fn stop(self) {
        self.net.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub struct Deu<'a> {
    pub url: &'a str,
    pub dir: &'a Path,
}

impl Deu<'_> {
    /// `deu` on this cluster and grid, signing with `keypair`, answering in JSON.
    pub fn command(&self, keypair: &str) -> Command {
        let mut command = Command::new(DEU);
        command
            .args(["-u", self.url, "--grid", "seed", "--output", "json", "-k"])
            .arg(self.key(keypair));
        command
    }

    pub fn run(&self, keypair: &str, args: &[&str]) -> Output {
        self.command(keypair).args(args).output().expect("run deu")
    }

    /// Runs a command that must succeed and returns its JSON.
    pub fn ok(&self, keypair: &str, args: &[&str]) -> Value {
        let out = self.run(keypair, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "deu {args:?} failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    }

    /// Runs a command that must succeed and returns what it prints for people (text output).
    pub fn text(&self, keypair: &str, args: &[&str]) -> String {
        let out = Command::new(DEU)
            .args(["-u", self.url, "--grid", "seed", "-k"])
            .arg(self.key(keypair))
            .args(args)
            .output()
            .expect("run deu");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "deu {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a command that must fail and returns its one-line error.
    pub fn fails(&self, keypair: &str, args: &[&str]) -> String {
        let out = self.run(keypair, args);
        assert!(!out.status.success(), "deu {args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        stderr
    }

    pub fn key(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    pub fn pubkey(&self, name: &str) -> String {
        let json = self.ok("admin", &["keygen", self.key(name).to_str().unwrap()]);
        json["pubkey"].as_str().unwrap().to_string()
    }
}

/// A free port whose next port is free too: `deu localnet` serves its websocket on the RPC
/// port + 1, and fails to start when that one is taken.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("found no free pair of ports");
}

/// The public key in a keypair file written by `deu keygen`.
pub fn solana_pubkey_of(deu: &Deu, name: &str) -> String {
    let bytes: Vec<u8> =
        serde_json::from_str(&std::fs::read_to_string(deu.key(name)).unwrap()).unwrap();
    let keypair = solana_keypair::Keypair::try_from(&bytes[..]).unwrap();
    solana_signer::Signer::pubkey(&keypair).to_string()
}

/// A grid for the gateway's tests: the admin's changes need no notice and the grace window is
/// almost an hour (so moving the clock one hour always lands inside it); resident `hoa` holds
/// 10 k; the gateway key `gw` is funded. Returns the cluster and the gateway's public key.
pub fn gateway_grid(name: &str) -> (Cluster, String) {
    let cluster = Cluster::start(name);
    let deu = cluster.deu();
    deu.pubkey("admin");
    deu.ok("admin", &["airdrop", "10"]);
    deu.ok(
        "admin",
        &[
            "grid",
            "init",
            "--grace-seconds",
            "3599",
            "--notice-hours",
            "0",
        ],
    );
    deu.ok("admin", &["resident", "register", "hoa"]);
    deu.ok(
        "admin",
        &["fiat", "add", "hoa", "10", "--payment-id", "evt_hoa"],
    );
    let gw = deu.pubkey("gw");
    deu.ok("admin", &["airdrop", "1", &gw]);
    (cluster, gw)
}

/// `gateway_grid` with one household meter, `house`, owned by `hoa`, its register at
/// `register_kwh`, funded with `fund_k` k; its gateway key is `gw`.
pub fn house_grid(name: &str, register_kwh: &str, fund_k: &str) -> Cluster {
    let (cluster, gw) = gateway_grid(name);
    let deu = cluster.deu();
    deu.ok(
        "admin",
        &[
            "meter",
            "register",
            "house",
            "--kind",
            "household",
            "--owner",
            "hoa",
            "--gateway",
            &gw,
            "--register-kwh",
            register_kwh,
        ],
    );
    deu.ok("admin", &["fund", "house", fund_k]);
    cluster
}
