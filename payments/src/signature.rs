//! Stripe's webhook signatures: `Stripe-Signature: t=<unix secs>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<raw body>"`, checked the way Stripe's own libraries check them.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The HTTP header that carries the signature.
pub const HEADER: &str = "Stripe-Signature";

/// How far the signed timestamp may be from now, either way, before a delivery is refused
/// (Stripe's libraries use five minutes).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// The only signature scheme Stripe uses for live signatures; `v0` entries are test-only and ignored.
const SCHEME: &str = "v1";

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The header is not a comma-separated list of `key=value` pairs.
    Malformed(String),
    /// The header has no `t=` entry, or its value is not a number of seconds.
    NoTimestamp,
    /// The header has no `v1=` entry.
    NoSignature,
    /// No `v1` signature matches the body under this secret.
    Mismatch,
    /// The signed timestamp is further from now than the tolerance (in the past or the future).
    Stale {
        /// `now - t`: positive for an old delivery, negative for one from the future.
        age_secs: i64,
    },
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "the {HEADER} header is malformed: {why}"),
            Self::NoTimestamp => write!(f, "the {HEADER} header has no timestamp (t=)"),
            Self::NoSignature => write!(f, "the {HEADER} header has no v1 signature"),
            Self::Mismatch => write!(
                f,
                "no signature in the {HEADER} header matches the body; is the webhook secret right?"
            ),
            Self::Stale { age_secs } if *age_secs < 0 => write!(
                f,
                "the signature's timestamp is {} s in the future, beyond the tolerance",
                -age_secs
            ),
            Self::Stale { age_secs } => write!(
                f,
                "the signature is {age_secs} s old, beyond the tolerance (a replayed delivery?)"
            ),
        }
    }
}

impl std::error::Error for SignatureError {}

/// The header value Stripe would send: `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},{SCHEME}={}",
        hex(&mac(secret, timestamp, body))
    )
}

/// Checks a `Stripe-Signature` header against the raw request body and returns the signed timestamp.
///
/// The delivery is genuine when any `v1` entry matches (several appear while a secret is rotated)
/// and the timestamp is within `tolerance_secs` of `now`.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for entry in header.split(',') {
        let entry = entry.trim();
        let (key, value) = entry.split_once('=').ok_or_else(|| {
            SignatureError::Malformed(format!("entry {entry:?} is not key=value"))
        })?;
        match key {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::NoTimestamp)?,
                )
            }
            SCHEME => candidates.push(value),
            _ => {} // v0 and future schemes
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::NoTimestamp)?;
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let expected = hex(&mac(secret, timestamp, body));
    let matches = candidates
        .iter()
        .any(|candidate| bool::from(candidate.as_bytes().ct_eq(expected.as_bytes())));
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let age_secs = now.saturating_sub(timestamp);
    if age_secs.unsigned_abs() > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Stale { age_secs });
    }
    Ok(timestamp)
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this construction cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_energy_utility_test";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: i64 = 1_700_000_000;

    #[test]
    fn signed_header_verifies_and_returns_its_timestamp() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, T + 10, DEFAULT_TOLERANCE_SECS),
            Ok(T)
        );
    }

    #[test]
    fn matches_a_vector_computed_independently() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_energy_utility_test",
        //   b"1700000000.{\"id\":\"evt_1\",\"object\":\"event\"}", hashlib.sha256).hexdigest())'
        let expected =
            "t=1700000000,v1=0190e29ef08919f40f019049b08c4cb6dc67fbdba6d86dcb828fba29d7b4c4a9";
        assert_eq!(sign(SECRET, T, BODY), expected);
        assert_eq!(
            verify(SECRET, expected, BODY, T, DEFAULT_TOLERANCE_SECS),
            Ok(T)
        );
    }

    #[test]
    fn wrong_secret_is_a_mismatch() {
        let header = sign("whsec_other", T, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn altered_body_is_a_mismatch() {
        let header = sign(SECRET, T, BODY);
        let altered = br#"{"id":"evt_2","object":"event"}"#;
        assert_eq!(
            verify(SECRET, &header, altered, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn altered_timestamp_is_a_mismatch() {
        let header = sign(SECRET, T, BODY).replace("t=1700000000", "t=1700000001");
        assert_eq!(
            verify(SECRET, &header, BODY, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_signature_is_stale() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T + 300, 300), Ok(T));
        assert_eq!(
            verify(SECRET, &header, BODY, T + 301, 300),
            Err(SignatureError::Stale { age_secs: 301 })
        );
    }

    #[test]
    fn future_signature_beyond_tolerance_is_stale() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T - 300, 300), Ok(T));
        assert_eq!(
            verify(SECRET, &header, BODY, T - 301, 300),
            Err(SignatureError::Stale { age_secs: -301 })
        );
    }

    #[test]
    fn empty_header_is_malformed() {
        assert!(matches!(
            verify(SECRET, "", BODY, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_header_is_malformed() {
        assert!(matches!(
            verify(SECRET, "not a signature", BODY, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn header_without_timestamp_is_refused() {
        let header = sign(SECRET, T, BODY);
        let without_t = header.split(',').nth(1).unwrap_or_default().to_string();
        assert_eq!(
            verify(SECRET, &without_t, BODY, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::NoTimestamp)
        );
    }

    #[test]
    fn non_numeric_timestamp_is_refused() {
        assert_eq!(
            verify(SECRET, "t=yesterday,v1=00", BODY, T, DEFAULT_TOLERANCE_SECS),
            Err(SignatureError::NoTimestamp)
        );
    }

    #[test]
    fn header_without_v1_is_refused_even_with_v0() {
        assert_eq!(
            verify(
                SECRET,
                "t=1700000000,v0=abcdef",
                BODY,
                T,
                DEFAULT_TOLERANCE_SECS
            ),
            Err(SignatureError::NoSignature)
        );
    }

    #[test]
    fn any_matching_v1_among_several_is_enough() {
        let good = sign(SECRET, T, BODY);
        let good_v1 = good
            .split_once(",v1=")
            .map(|(_, v1)| v1)
            .unwrap_or_default();
        let rotated = sign("whsec_retired", T, BODY);
        let old_v1 = rotated
            .split_once(",v1=")
            .map(|(_, v1)| v1)
            .unwrap_or_default();
        let header = format!("t={T},v1={old_v1},v0=deadbeef,v1={good_v1}");
        assert_eq!(
            verify(SECRET, &header, BODY, T, DEFAULT_TOLERANCE_SECS),
            Ok(T)
        );
    }

    #[test]
    fn errors_read_as_sentences() {
        assert!(SignatureError::Stale { age_secs: 400 }
            .to_string()
            .contains("400 s old"));
        assert!(SignatureError::Stale { age_secs: -400 }
            .to_string()
            .contains("in the future"));
        assert!(SignatureError::Mismatch
            .to_string()
            .contains("webhook secret"));
    }
}
