//! Gateway keys that never leave a token: an Ed25519 key pair inside a PKCS#11 token (an HSM,
//! a secure element, a TPM through its PKCS#11 module, or SoftHSM2 for tests), generated there
//! as sensitive and non-extractable, and used through [`Pkcs11Signer`], a
//! [`solana_signer::Signer`] that asks the token for each signature (`CKM_EDDSA`, pure Ed25519)
//! and checks it against the public key before handing it out.
//!
//! The user PIN comes from the environment ([`PIN_ENV`]) or from a file, never from a command
//! line flag (which other users of the board could read in the process list).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, bail, Context as _};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use solana_signature::Signature;
use solana_signer::{Signer, SignerError};

/// The environment variable the user PIN is read from, unless a PIN file is given.
pub const PIN_ENV: &str = "DEU_PKCS11_PIN";

/// `CKA_EC_PARAMS` for Ed25519: the DER of the RFC 8410 object identifier `id-Ed25519`
/// (1.3.101.112), which SoftHSM2 and most tokens accept...
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// ...and the DER of the PrintableString "edwards25519", the curve name PKCS#11 3.0 prefers,
/// tried when a token refuses the identifier.
const EDWARDS25519_NAME: [u8; 14] = [
    0x13, 0x0c, b'e', b'd', b'w', b'a', b'r', b'd', b's', b'2', b'5', b'5', b'1', b'9',
];

/// What `open` signs to check that the token's private and public keys belong together.
const PROBE: &[u8] = b"deu-gateway: PKCS#11 key check";

/// Which token holds the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRef {
    /// The token's label (`CKA_LABEL` of the token, as `softhsm2-util --show-slots` lists it).
    Label(String),
    /// The slot's id.
    Slot(u64),
}

impl fmt::Display for TokenRef {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TokenRef::Label(label) => write!(f, "token '{label}'"),
            TokenRef::Slot(id) => write!(f, "the token in slot {id}"),
        }
    }
}

/// Where the token's user PIN comes from. Never the PIN itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinSource {
    /// An environment variable (normally [`PIN_ENV`]).
    Env(String),
    /// A file holding the PIN (one line; a trailing newline is ignored).
    File(PathBuf),
}

impl Default for PinSource {
    fn default() -> Self {
        PinSource::Env(PIN_ENV.to_string())
    }
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PinSource::Env(var) => write!(f, "${var}"),
            PinSource::File(path) => write!(f, "the PIN file {}", path.display()),
        }
    }
}

impl PinSource {
    /// Reads the PIN.
    pub fn read(&self) -> anyhow::Result<AuthPin> {
        let mut pin = match self {
            PinSource::Env(var) => std::env::var(var).map_err(|_| {
                anyhow!("the token's user PIN is missing: set {var} (or give a PIN file)")
            })?,
            PinSource::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the PIN file {}", path.display()))?,
        };
        pin.truncate(pin.trim_end_matches(['\r', '\n']).len());
        if pin.is_empty() {
            bail!("the token's user PIN from {self} is empty");
        }
        Ok(AuthPin::from(pin))
    }
}

/// A key in a PKCS#11 token: the module, the token, the key's label and where the PIN comes
/// from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Key {
    /// The token's PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    pub token: TokenRef,
    /// The key pair's `CKA_LABEL`.
    pub key_label: String,
    pub pin: PinSource,
}

impl fmt::Display for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "key '{}' in {} ({})",
            self.key_label,
            self.token,
            self.module.display()
        )
    }
}

/// An open, logged-in session and the private key's handle in it.
struct Open {
    session: Session,
    key: ObjectHandle,
}

/// A [`Signer`] whose Ed25519 private key stays in a PKCS#11 token. It keeps one session and,
/// after a token error, reopens it (and logs in again) once before giving up.
pub struct Pkcs11Signer {
    key: Pkcs11Key,
    pkcs11: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    pubkey: Pubkey,
    open: Mutex<Option<Open>>,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("key", &self.key)
            .field("slot", &self.slot.id())
            .field("pubkey", &self.pubkey)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Loads the module, finds the token, logs in with the PIN, finds the key pair by its
    /// label, and checks with one signature that the private key matches the public key.
    pub fn open(key: &Pkcs11Key) -> anyhow::Result<Self> {
        let pin = key.pin.read()?;
        let pkcs11 = load(&key.module)?;
        let slot = find_slot(&pkcs11, &key.token)?;
        require_mechanism(&pkcs11, slot, &key.token, MechanismType::EDDSA, "CKM_EDDSA")?;
        let (open, pubkey) = connect(&pkcs11, slot, &pin, key)?;
        Ok(Self {
            key: key.clone(),
            pkcs11,
            slot,
            pin,
            pubkey,
            open: Mutex::new(Some(open)),
        })
    }

    /// Which key this is.
    pub fn key(&self) -> &Pkcs11Key {
        &self.key
    }

    /// Signs with the token: with the open session, then, after an error, once more with a
    /// fresh one.
    fn sign(&self, message: &[u8]) -> anyhow::Result<Signature> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let first_error = match open.as_ref() {
            Some(current) => match sign_checked(current, &self.pubkey, message) {
                Ok(signature) => return Ok(signature),
                Err(e) => {
                    *open = None;
                    Some(e)
                }
            },
            None => None,
        };
        let fresh = match connect(&self.pkcs11, self.slot, &self.pin, &self.key) {
            Ok((fresh, pubkey)) if pubkey == self.pubkey => fresh,
            Ok((_, pubkey)) => bail!(
                "the {} now has public key {pubkey}, not {}: the key was replaced",
                self.key,
                self.pubkey
            ),
            Err(e) => {
                return Err(match first_error {
                    Some(first) => e.context(format!(
                        "signing with the {} failed ({first:#}) and reopening the session failed",
                        self.key
                    )),
                    None => e.context(format!("reopening the session for the {}", self.key)),
                })
            }
        };
        let signature = sign_checked(&fresh, &self.pubkey, message)
            .with_context(|| format!("signing with the {}", self.key))?;
        *open = Some(fresh);
        Ok(signature)
    }
}

impl Signer for Pkcs11Signer {
    fn try_pubkey(&self) -> Result<Pubkey, SignerError> {
        Ok(self.pubkey)
    }

    fn try_sign_message(&self, message: &[u8]) -> Result<Signature, SignerError> {
        self.sign(message)
            .map_err(|e| SignerError::Custom(format!("PKCS#11: {e:#}")))
    }

    fn is_interactive(&self) -> bool {
        false
    }
}

/// Generates an Ed25519 key pair in the token (`CKM_EC_EDWARDS_KEY_PAIR_GEN`): a private key
/// that is sensitive, non-extractable, on the token and only for signing, and its public key
/// under the same label. Refuses when the token already holds an object with that label.
/// Returns the public key (what the utility registers as the meter's gateway key).
pub fn generate(key: &Pkcs11Key) -> anyhow::Result<Pubkey> {
    let pin = key.pin.read()?;
    let pkcs11 = load(&key.module)?;
    let slot = find_slot(&pkcs11, &key.token)?;
    require_mechanism(
        &pkcs11,
        slot,
        &key.token,
        MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
        "CKM_EC_EDWARDS_KEY_PAIR_GEN",
    )?;
    require_mechanism(&pkcs11, slot, &key.token, MechanismType::EDDSA, "CKM_EDDSA")?;
    let session = pkcs11
        .open_rw_session(slot)
        .with_context(|| format!("opening a read-write session with {}", key.token))?;
    login(&session, &pin, key)?;
    let label = key.key_label.as_bytes().to_vec();
    let existing = session
        .find_objects(&[Attribute::Label(label.clone())])
        .with_context(|| format!("looking for objects labelled '{}'", key.key_label))?;
    if !existing.is_empty() {
        bail!(
            "{} already holds a key labelled '{}'; choose another --key-label (keygen never replaces a key)",
            key.token,
            key.key_label
        );
    }
    let mut refused = Vec::new();
    for params in [&ED25519_OID[..], &EDWARDS25519_NAME[..]] {
        let public = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::EcParams(params.to_vec()),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(label.clone()),
            Attribute::Id(label.clone()),
        ];
        let private = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.clone()),
            Attribute::Id(label.clone()),
        ];
        match session.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private) {
            Ok(_) => {
                drop(session);
                let signer =
                    Pkcs11Signer::open(key).with_context(|| format!("checking the new {key}"))?;
                return Ok(signer.pubkey);
            }
            // A token that wants the other encoding of the curve says one of these.
            Err(CkError::Pkcs11(
                rv @ (RvError::CurveNotSupported
                | RvError::AttributeValueInvalid
                | RvError::DomainParamsInvalid
                | RvError::TemplateInconsistent
                | RvError::GeneralError
                | RvError::FunctionFailed),
                _,
            )) => refused.push(rv),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("generating an Ed25519 key pair in {}", key.token))
            }
        }
    }
    bail!(
        "{} refused to generate an Ed25519 key pair with either CKA_EC_PARAMS encoding (the id-Ed25519 OID: {}; the name \"edwards25519\": {})",
        key.token,
        refused[0],
        refused[1]
    )
}

/// Loads and initializes a PKCS#11 module (already initialized in this process is fine).
fn load(module: &Path) -> anyhow::Result<Pkcs11> {
    let pkcs11 = Pkcs11::new(module)
        .with_context(|| format!("loading the PKCS#11 module {}", module.display()))?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(pkcs11),
        Err(e) => {
            Err(e).with_context(|| format!("initializing the PKCS#11 module {}", module.display()))
        }
    }
}

/// The slot of the token with this label, or this slot (which must hold a token).
fn find_slot(pkcs11: &Pkcs11, token: &TokenRef) -> anyhow::Result<Slot> {
    match token {
        TokenRef::Slot(id) => pkcs11
            .get_slots_with_token()
            .context("listing the PKCS#11 slots")?
            .into_iter()
            .find(|slot| slot.id() == *id)
            .ok_or_else(|| anyhow!("no token in PKCS#11 slot {id}")),
        TokenRef::Label(label) => {
            let mut labels = Vec::new();
            let mut found = Vec::new();
            let slots = pkcs11
                .get_slots_with_initialized_token()
                .context("listing the PKCS#11 slots")?;
            for slot in slots {
                let info = pkcs11
                    .get_token_info(slot)
                    .with_context(|| format!("reading the token in slot {}", slot.id()))?;
                let this = info.label().trim_end();
                if this == label.trim_end() {
                    found.push(slot);
                }
                labels.push(format!("'{this}' (slot {})", slot.id()));
            }
            match found.as_slice() {
                [slot] => Ok(*slot),
                [] if labels.is_empty() => {
                    bail!("no token labelled '{label}': the PKCS#11 module shows no initialized token")
                }
                [] => bail!(
                    "no token labelled '{label}'; the module has {}",
                    labels.join(", ")
                ),
                _ => bail!(
                    "{} tokens are labelled '{label}': choose one by its slot",
                    found.len()
                ),
            }
        }
    }
}

fn require_mechanism(
    pkcs11: &Pkcs11,
    slot: Slot,
    token: &TokenRef,
    mechanism: MechanismType,
    name: &str,
) -> anyhow::Result<()> {
    let mechanisms = pkcs11
        .get_mechanism_list(slot)
        .with_context(|| format!("listing the mechanisms of {token}"))?;
    if !mechanisms.contains(&mechanism) {
        bail!("{token} does not support Ed25519 ({name})");
    }
    Ok(())
}

fn login(session: &Session, pin: &AuthPin, key: &Pkcs11Key) -> anyhow::Result<()> {
    match session.login(UserType::User, Some(pin)) {
        // The login is per application: another session of this process already did it.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => bail!(
            "wrong user PIN for {} (from {}); the token locks after too many wrong PINs",
            key.token,
            key.pin
        ),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => bail!(
            "the user PIN of {} is locked: the token's security officer must unlock it",
            key.token
        ),
        Err(CkError::Pkcs11(RvError::PinLenRange, _)) => bail!(
            "the user PIN for {} (from {}) has a length the token does not accept",
            key.token,
            key.pin
        ),
        Err(e) => Err(e).with_context(|| format!("logging in to {}", key.token)),
    }
}

/// Opens a session, logs in, finds the key pair and checks that it signs.
fn connect(
    pkcs11: &Pkcs11,
    slot: Slot,
    pin: &AuthPin,
    key: &Pkcs11Key,
) -> anyhow::Result<(Open, Pubkey)> {
    let session = pkcs11
        .open_ro_session(slot)
        .with_context(|| format!("opening a session with {}", key.token))?;
    login(&session, pin, key)?;
    let label = Attribute::Label(key.key_label.as_bytes().to_vec());
    let private = only_one(
        session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), label.clone()])
            .with_context(|| format!("looking for the private key of the {key}"))?,
        "private key",
        key,
    )?;
    let key_type = session
        .get_attributes(private, &[AttributeType::KeyType])
        .with_context(|| format!("reading the private key of the {key}"))?;
    if !matches!(key_type.as_slice(), [Attribute::KeyType(t)] if *t == KeyType::EC_EDWARDS) {
        bail!("the {key} is not an Ed25519 (CKK_EC_EDWARDS) key");
    }
    let public = only_one(
        session
            .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY), label])
            .with_context(|| format!("looking for the public key of the {key}"))?,
        "public key",
        key,
    )?;
    let point = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .with_context(|| format!("reading the public key of the {key}"))?;
    let pubkey = match point.as_slice() {
        [Attribute::EcPoint(point)] => {
            ed25519_point(point).with_context(|| format!("decoding CKA_EC_POINT of the {key}"))?
        }
        _ => bail!("the public key of the {key} has no CKA_EC_POINT"),
    };
    let open = Open {
        session,
        key: private,
    };
    sign_checked(&open, &pubkey, PROBE).with_context(|| {
        format!("checking that the private and public keys of the {key} belong together")
    })?;
    Ok((open, pubkey))
}

fn only_one(
    objects: Vec<ObjectHandle>,
    what: &str,
    key: &Pkcs11Key,
) -> anyhow::Result<ObjectHandle> {
    match objects.as_slice() {
        [object] => Ok(*object),
        [] => bail!(
            "{} holds no {what} labelled '{}' (make one with `deu-gateway keygen`)",
            key.token,
            key.key_label
        ),
        _ => bail!(
            "{} holds {} objects of class {what} labelled '{}': the label must name one key",
            key.token,
            objects.len(),
            key.key_label
        ),
    }
}

/// One pure Ed25519 signature from the token, checked against the public key.
fn sign_checked(open: &Open, pubkey: &Pubkey, message: &[u8]) -> anyhow::Result<Signature> {
    let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
    let bytes = open
        .session
        .sign(&mechanism, open.key, message)
        .context("the token refused to sign (CKM_EDDSA)")?;
    let bytes = <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow!(
            "the token returned a {}-byte signature, not a 64-byte Ed25519 one",
            bytes.len()
        )
    })?;
    let signature = Signature::from(bytes);
    if !signature.verify(pubkey.as_ref(), message) {
        bail!("the token's signature does not verify with the public key {pubkey}");
    }
    Ok(signature)
}

/// The Ed25519 public key in a `CKA_EC_POINT`: the DER of an OCTET STRING holding the 32-byte
/// point (PKCS#11 3.0), or, from some older tokens, the 32 bytes alone.
pub fn ed25519_point(ec_point: &[u8]) -> anyhow::Result<Pubkey> {
    let point = match ec_point {
        [0x04, 0x20, point @ ..] if point.len() == 32 => point,
        [0x04, 0x81, 0x20, point @ ..] if point.len() == 32 => point,
        point if point.len() == 32 => point,
        _ => bail!(
            "expected a DER OCTET STRING of a 32-byte Ed25519 point, got {} bytes",
            ec_point.len()
        ),
    };
    let bytes = <[u8; 32]>::try_from(point).map_err(|_| anyhow!("not 32 bytes"))?;
    Ok(Pubkey::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_decodes_der_and_raw() {
        let point = [7u8; 32];
        let mut der = vec![0x04, 0x20];
        der.extend_from_slice(&point);
        assert_eq!(ed25519_point(&der).unwrap(), Pubkey::from(point));
        let mut long = vec![0x04, 0x81, 0x20];
        long.extend_from_slice(&point);
        assert_eq!(ed25519_point(&long).unwrap(), Pubkey::from(point));
        assert_eq!(ed25519_point(&point).unwrap(), Pubkey::from(point));
        assert!(ed25519_point(&der[..33]).is_err());
        assert!(ed25519_point(&[0x03, 0x21, 0x00]).is_err());
    }

    #[test]
    fn pin_file_drops_the_newline_and_refuses_empty() {
        let dir = std::env::temp_dir().join(format!("deu-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pin");
        std::fs::write(&file, "1234\n").unwrap();
        use secrecy::ExposeSecret as _;
        let pin = PinSource::File(file.clone()).read().unwrap();
        assert_eq!(pin.expose_secret(), "1234");
        std::fs::write(&file, "\n").unwrap();
        assert!(PinSource::File(file).read().is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
