//! Gateway keys in a PKCS#11 token, against a real SoftHSM2 (run `gateway/tests/setup-pkcs11.sh`
//! once to install it): a private SoftHSM2 configuration and token under Cargo's target tmp
//! directory, a key pair made by `deu-gateway keygen`, then the signer, the key's attributes,
//! a wrong PIN and a Solana transaction.
//!
//! PKCS#11 keeps one login per process and token, so the tests take turns (`turn()`), and the
//! PIN checks run `deu-gateway` in a process of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use anchor_lang::prelude::Pubkey;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use energy_utility_gateway::{
    Connection, GatewayKey, PinSource, Pkcs11Key, Pkcs11Signer, TokenRef,
};
use energy_utility_sdk::{Client, Payer};
use solana_signer::Signer;
use solana_transaction::Transaction;

const TOKEN: &str = "deu-gateway-test";
const KEY: &str = "meter-gateway";
const PIN: &str = "246810";
const SO_PIN: &str = "13579111";

struct Token {
    dir: PathBuf,
    conf: PathBuf,
    module: PathBuf,
    /// What `deu-gateway keygen` printed.
    keygen_pubkey: Pubkey,
}

impl Token {
    fn key(&self) -> Pkcs11Key {
        Pkcs11Key {
            module: self.module.clone(),
            token: TokenRef::Label(TOKEN.to_string()),
            key_label: KEY.to_string(),
            pin: self.pin_file(PIN),
        }
    }

    fn pin_file(&self, pin: &str) -> PinSource {
        let path = self.dir.join(format!("pin-{pin}"));
        std::fs::write(&path, format!("{pin}\n")).expect("writing a PIN file");
        PinSource::File(path)
    }

    /// `deu-gateway` with this token's configuration and `pin` in $DEU_PKCS11_PIN.
    fn gateway(&self, pin: Option<&str>, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deu-gateway"));
        command
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("DEU_PKCS11_PIN")
            .env_remove("DEU_PKCS11_PIN_FILE")
            .env_remove("DEU_PKCS11_SLOT")
            .env_remove("DEU_KEYPAIR")
            .arg("--pkcs11-module")
            .arg(&self.module)
            .args(["--token-label", TOKEN])
            .args(args);
        if let Some(pin) = pin {
            command.env("DEU_PKCS11_PIN", pin);
        }
        command.output().expect("running deu-gateway")
    }
}

fn module() -> PathBuf {
    std::env::var_os("DEU_TEST_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"))
}

/// The token, made once per test binary, and this test's turn with it.
fn turn() -> (MutexGuard<'static, ()>, &'static Token) {
    static TURN: Mutex<()> = Mutex::new(());
    static TOKEN_ONCE: OnceLock<Token> = OnceLock::new();
    let guard = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    (guard, TOKEN_ONCE.get_or_init(make_token))
}

fn make_token() -> Token {
    let module = module();
    let util = Command::new("softhsm2-util").arg("--version").output();
    if !matches!(util, Ok(ref out) if out.status.success()) || !module.exists() {
        panic!(
            "SoftHSM2 is missing (softhsm2-util, {}): run gateway/tests/setup-pkcs11.sh \
             (it apt-get installs softhsm2), or point DEU_TEST_PKCS11_MODULE at libsofthsm2.so",
            module.display()
        );
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("deu-gateway-pkcs11-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tokens")).expect("making the token directory");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            dir.join("tokens").display()
        ),
    )
    .expect("writing softhsm2.conf");
    // Before any PKCS#11 call of this process: SoftHSM2 reads it at C_Initialize.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", TOKEN])
        .args(["--so-pin", SO_PIN, "--pin", PIN])
        .output()
        .expect("running softhsm2-util");
    assert!(
        init.status.success(),
        "softhsm2-util --init-token: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut token = Token {
        dir,
        conf,
        module,
        keygen_pubkey: Pubkey::default(),
    };
    let out = token.gateway(
        Some(PIN),
        &["--key-label", KEY, "--output", "json", "keygen"],
    );
    assert!(
        out.status.success(),
        "deu-gateway keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("keygen prints JSON");
    token.keygen_pubkey = printed["pubkey"]
        .as_str()
        .expect("keygen prints the pubkey")
        .parse()
        .expect("a base58 public key");
    token
}

/// A session of this process's own with the token, logged in.
fn raw_session(token: &Token) -> Session {
    let pkcs11 = Pkcs11::new(&token.module).expect("loading the module");
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|slot| pkcs11.get_token_info(*slot).unwrap().label() == TOKEN)
        .expect("the test token");
    let session = pkcs11.open_ro_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(PIN.to_string()))) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

#[test]
fn keygen_prints_the_signers_pubkey() {
    let (_turn, token) = turn();
    let signer = Pkcs11Signer::open(&token.key()).expect("opening the signer");
    assert_eq!(signer.pubkey(), token.keygen_pubkey);
    assert_eq!(signer.try_pubkey().unwrap(), token.keygen_pubkey);
    assert!(!signer.is_interactive());

    // `deu-gateway pubkey` reads the same key, here with the PIN from a file.
    let PinSource::File(pin_file) = token.pin_file(PIN) else {
        unreachable!()
    };
    let out = token.gateway(
        None,
        &[
            "--key-label",
            KEY,
            "--pin-file",
            pin_file.to_str().unwrap(),
            "pubkey",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        token.keygen_pubkey.to_string()
    );

    // A second keygen with the same label refuses rather than adding a second key.
    let again = token.gateway(Some(PIN), &["--key-label", KEY, "keygen"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a key labelled"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn token_signatures_verify_with_ed25519() {
    let (_turn, token) = turn();
    let signer = Pkcs11Signer::open(&token.key()).expect("opening the signer");
    let pubkey = signer.pubkey();
    for message in [
        &b""[..],
        b"hour 2026-03-01T10:00Z: 1234.5 kWh",
        &[0xa5; 1232][..],
    ] {
        let signature = signer.try_sign_message(message).expect("signing");
        assert!(signature.verify(pubkey.as_ref(), message));
        assert!(!signature.verify(pubkey.as_ref(), b"another message"));
        // Pure Ed25519 is deterministic: the same message, the same signature.
        assert_eq!(signer.try_sign_message(message).unwrap(), signature);
    }
}

#[test]
fn private_key_never_leaves_the_token() {
    let (_turn, token) = turn();
    let session = raw_session(token);
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(KEY.as_bytes().to_vec()),
        ])
        .unwrap();
    let [key] = keys.as_slice() else {
        panic!(
            "expected one private key labelled {KEY}, found {}",
            keys.len()
        )
    };
    let flags = session
        .get_attributes(
            *key,
            &[
                AttributeType::Extractable,
                AttributeType::Sensitive,
                AttributeType::NeverExtractable,
                AttributeType::AlwaysSensitive,
                AttributeType::Token,
                AttributeType::Sign,
                AttributeType::Local,
            ],
        )
        .unwrap();
    for expected in [
        Attribute::Extractable(false),
        Attribute::Sensitive(true),
        Attribute::NeverExtractable(true),
        Attribute::AlwaysSensitive(true),
        Attribute::Token(true),
        Attribute::Sign(true),
        Attribute::Local(true),
    ] {
        assert!(
            flags.contains(&expected),
            "{expected:?} missing from {flags:?}"
        );
    }
    // CKA_VALUE, the private key itself, is sensitive: the token will not read it out.
    let info = session
        .get_attribute_info(*key, &[AttributeType::Value])
        .unwrap();
    assert!(
        matches!(info.as_slice(), [AttributeInfo::Sensitive]),
        "CKA_VALUE: {info:?}"
    );
    let value = session
        .get_attributes(*key, &[AttributeType::Value])
        .unwrap();
    assert!(
        value.iter().all(|a| !matches!(a, Attribute::Value(_))),
        "CKA_VALUE was read: {value:?}"
    );

    // The public key's CKA_EC_PARAMS name Ed25519 (the OID or the curve name).
    let public = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Label(KEY.as_bytes().to_vec()),
        ])
        .unwrap();
    let params = session
        .get_attributes(public[0], &[AttributeType::EcParams])
        .unwrap();
    assert!(
        matches!(params.as_slice(), [Attribute::EcParams(p)]
            if p == &[0x06, 0x03, 0x2b, 0x65, 0x70] || p.ends_with(b"edwards25519")),
        "{params:?}"
    );
}

#[test]
fn wrong_or_missing_pin_is_a_clear_error() {
    let (_turn, token) = turn();
    // In a process of its own: this process may already be logged in to the token.
    let out = token.gateway(Some("999999"), &["--key-label", KEY, "pubkey"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wrong user PIN") && stderr.contains(TOKEN),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = token.gateway(None, &["--key-label", KEY, "pubkey"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DEU_PKCS11_PIN"), "{stderr}");

    let key = Pkcs11Key {
        pin: PinSource::Env("DEU_TEST_PKCS11_PIN_UNSET".to_string()),
        ..token.key()
    };
    let error = Pkcs11Signer::open(&key).unwrap_err();
    assert!(format!("{error:#}").contains("DEU_TEST_PKCS11_PIN_UNSET"));

    let key = Pkcs11Key {
        key_label: "no-such-key".to_string(),
        ..token.key()
    };
    let error = format!("{:#}", Pkcs11Signer::open(&key).unwrap_err());
    assert!(
        error.contains("no private key labelled 'no-such-key'"),
        "{error}"
    );
}

#[test]
fn signer_logs_in_again_after_a_token_error() {
    let (_turn, token) = turn();
    let signer = Pkcs11Signer::open(&token.key()).expect("opening the signer");
    signer.try_sign_message(b"before").expect("signing");
    // Logging out (the login is the process's, not the session's) makes the signer's session
    // fail; the signer opens a new one and logs in again.
    raw_session(token).logout().expect("C_Logout");
    let signature = signer
        .try_sign_message(b"after")
        .expect("signing after a logout");
    assert!(signature.verify(signer.pubkey().as_ref(), b"after"));
}

#[tokio::test(flavor = "current_thread")]
async fn transaction_signed_in_the_token_verifies() {
    let (_turn, token) = turn();
    let signer = Arc::new(Pkcs11Signer::open(&token.key()).expect("opening the signer"));
    let payer = signer.pubkey();
    let memo = energy_utility_sdk::instructions::action_memo("pkcs11-test");
    let mut transaction = Transaction::new_with_payer(&[memo], Some(&payer));
    transaction
        .try_sign(&[signer.as_ref()], solana_hash::Hash::new_unique())
        .expect("signing the transaction in the token");
    transaction.verify().expect("the transaction verifies");
    assert_eq!(transaction.message.account_keys[0], payer);

    // The SDK's client pays with it, and so does the gateway's connection.
    let client = Client::with_payer("http://127.0.0.1:1", Payer::Signer(signer.clone()));
    assert_eq!(client.payer(), payer);
    assert!(client.keypair().is_none());
    let connection = Connection {
        rpc_url: "http://127.0.0.1:1".to_string(),
        key: GatewayKey::Pkcs11(token.key()),
        grid: "village".to_string(),
        json: false,
    };
    assert_eq!(connection.client().expect("a client").payer(), payer);
}
