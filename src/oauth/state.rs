//! The signed `state`: what the layer sends to the vendor's authorize page
//! and expects back, unchanged, on the callback.
//!
//! Layout before encoding (base62, so only `[0-9A-Za-z]`, at most 128
//! characters, WeChat doc 网页授权 and WeCom doc 构造网页授权链接):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | `0x10 + flow` (format 1, the [`Flow`] that was started) |
//! | 4 | issued at, Unix seconds, big-endian |
//! | 4 | random salt (two logins of one browser in one second differ) |
//! | 0..=68 | the [`ReturnPath`] |
//! | 16 | HMAC-SHA256 tag, first 16 bytes |
//!
//! The tag covers a domain label, every byte before it and the browser's
//! nonce, which is kept in an encrypted cookie and is not in the state: a
//! state only verifies in the browser that started the login (login-CSRF
//! protection). The tag also names the state for single use (the dedup
//! key, see [`callback`](super::callback)).

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::base62;
use super::flow::Flow;
use super::return_path::ReturnPath;

/// The longest `state` the vendors accept, in characters.
pub const MAX_STATE_LEN: usize = 128;

const FORMAT: u8 = 0x10;
const FIXED: usize = 1 + 4 + 4;
const TAG_LEN: usize = 16;
const DOMAIN: &[u8] = b"wecom-callback/oauth/state/v1\0";

/// How far in the future a `state`'s issue time may lie (clock skew between
/// instances).
const FUTURE_SKEW_SECS: u64 = 60;

/// The random value in the browser's nonce cookie that a `state` is bound
/// to: 16 bytes. `Debug` prints no byte of it.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserNonce(pub(crate) [u8; 16]);

impl BrowserNonce {
    /// A nonce from these bytes (tests and other randomness sources).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for BrowserNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrowserNonce(..)")
    }
}

/// What a `state` carries, once verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    /// The flow the login started with.
    pub flow: Flow,
    /// When the state was issued, Unix seconds.
    pub issued_at: u64,
    /// Where to send the browser after signing in.
    pub return_path: ReturnPath,
}

/// Why a `state` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateError {
    /// Not base62, longer than 128 characters, too short, or an unknown
    /// format or flow.
    Malformed,
    /// The tag does not match: forged, altered, or from another browser
    /// (the nonce cookie differs or is missing).
    BadSignature,
    /// Issued longer ago than the state lifetime allows.
    Expired,
    /// Issued more than a minute in the future.
    FromTheFuture,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "state is malformed",
            Self::BadSignature => "state is not signed for this browser",
            Self::Expired => "state has expired",
            Self::FromTheFuture => "state is issued in the future",
        })
    }
}

impl std::error::Error for StateError {}

/// Signs and checks `state` values with a 32-byte HMAC-SHA256 key.
/// `Debug` prints no key byte.
#[derive(Clone)]
pub(crate) struct StateSigner {
    /// Keyed and fed the domain label, cloned for each state.
    mac: Hmac<Sha256>,
}

impl fmt::Debug for StateSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StateSigner(..)")
    }
}

/// A verified state and its tag (the single-use name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) state: LoginState,
    pub(crate) tag: [u8; TAG_LEN],
}

impl StateSigner {
    /// A signer with `key`; `None` only if HMAC refused the key, which
    /// RFC 2104 HMAC never does (keys of any length are accepted).
    pub(crate) fn new(key: &[u8; 32]) -> Option<Self> {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
        Some(Self {
            mac: mac.chain_update(DOMAIN),
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        self.mac.clone()
    }

    /// The `state` for `login`, bound to `nonce`, with `salt`.
    pub(crate) fn seal(&self, login: &LoginState, salt: [u8; 4], nonce: &BrowserNonce) -> String {
        let path = login.return_path.as_str().as_bytes();
        let mut bytes = Vec::with_capacity(FIXED + path.len() + TAG_LEN);
        bytes.push(FORMAT | login.flow.tag());
        let issued = u32::try_from(login.issued_at).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&issued.to_be_bytes());
        bytes.extend_from_slice(&salt);
        bytes.extend_from_slice(path);
        let tag = self
            .mac()
            .chain_update(&bytes)
            .chain_update(nonce.0)
            .finalize();
        let tag = tag.into_bytes();
        bytes.extend_from_slice(tag.get(..TAG_LEN).unwrap_or_default());
        base62::encode(&bytes)
    }

    /// Checks `state` against `nonce` and the time `now` (Unix seconds):
    /// alphabet and length, tag (constant time), then age against
    /// `ttl_secs`.
    pub(crate) fn open(
        &self,
        state: &str,
        nonce: Option<&BrowserNonce>,
        now: u64,
        ttl_secs: u64,
    ) -> Result<Opened, StateError> {
        if state.len() > MAX_STATE_LEN {
            return Err(StateError::Malformed);
        }
        let bytes = base62::decode(state).ok_or(StateError::Malformed)?;
        let body_len = bytes
            .len()
            .checked_sub(TAG_LEN)
            .filter(|&n| n >= FIXED)
            .ok_or(StateError::Malformed)?;
        let (body, tag) = bytes.split_at(body_len);
        let nonce = nonce.ok_or(StateError::BadSignature)?;
        self.mac()
            .chain_update(body)
            .chain_update(nonce.0)
            .verify_truncated_left(tag)
            .map_err(|_| StateError::BadSignature)?;
        let (head, rest) = body.split_at(FIXED);
        let [format, t0, t1, t2, t3, ..] = *head else {
            return Err(StateError::Malformed);
        };
        if format & 0xf0 != FORMAT {
            return Err(StateError::Malformed);
        }
        let flow = Flow::from_tag(format & 0x0f).ok_or(StateError::Malformed)?;
        let issued_at = u64::from(u32::from_be_bytes([t0, t1, t2, t3]));
        if issued_at > now.saturating_add(FUTURE_SKEW_SECS) {
            return Err(StateError::FromTheFuture);
        }
        if now.saturating_sub(issued_at) >= ttl_secs {
            return Err(StateError::Expired);
        }
        let return_path = std::str::from_utf8(rest)
            .ok()
            .and_then(ReturnPath::parse)
            .ok_or(StateError::Malformed)?;
        let mut name = [0; TAG_LEN];
        name.copy_from_slice(tag);
        Ok(Opened {
            state: LoginState {
                flow,
                issued_at,
                return_path,
            },
            tag: name,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_796_000_000;

    fn login(path: &str) -> LoginState {
        LoginState {
            flow: Flow::WeComApp,
            issued_at: NOW,
            return_path: ReturnPath::parse(path).unwrap(),
        }
    }

    fn signer() -> StateSigner {
        StateSigner::new(&[7; 32]).unwrap()
    }

    #[test]
    fn round_trip_and_binding() {
        let nonce = BrowserNonce([1; 16]);
        let state = signer().seal(&login("/orders/42?tab=1"), [9; 4], &nonce);
        assert!(state.bytes().all(|c| c.is_ascii_alphanumeric()));
        let opened = signer().open(&state, Some(&nonce), NOW + 5, 600).unwrap();
        assert_eq!(opened.state, login("/orders/42?tab=1"));
        // Another browser's nonce, no nonce, another key: refused.
        let other = BrowserNonce([2; 16]);
        assert_eq!(
            signer().open(&state, Some(&other), NOW, 600),
            Err(StateError::BadSignature)
        );
        assert_eq!(
            signer().open(&state, None, NOW, 600),
            Err(StateError::BadSignature)
        );
        assert_eq!(
            StateSigner::new(&[8; 32])
                .unwrap()
                .open(&state, Some(&nonce), NOW, 600),
            Err(StateError::BadSignature)
        );
    }

    #[test]
    fn expiry_and_future() {
        let nonce = BrowserNonce([1; 16]);
        let state = signer().seal(&login("/"), [0; 4], &nonce);
        assert!(signer().open(&state, Some(&nonce), NOW + 599, 600).is_ok());
        assert_eq!(
            signer().open(&state, Some(&nonce), NOW + 600, 600),
            Err(StateError::Expired)
        );
        assert_eq!(
            signer().open(&state, Some(&nonce), NOW - 61, 600),
            Err(StateError::FromTheFuture)
        );
    }

    #[test]
    fn longest_path_fits_128_characters() {
        let path = format!("/{}", "x".repeat(ReturnPath::MAX_LEN - 1));
        let nonce = BrowserNonce([3; 16]);
        let state = signer().seal(&login(&path), [0xff; 4], &nonce);
        assert_eq!(state.len(), MAX_STATE_LEN);
        assert!(signer().open(&state, Some(&nonce), NOW, 600).is_ok());
    }

    #[test]
    fn every_flipped_character_is_refused() {
        let nonce = BrowserNonce([1; 16]);
        let state = signer().seal(&login("/me"), [4; 4], &nonce);
        for i in 0..state.len() {
            let mut bytes = state.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let forged = String::from_utf8(bytes).unwrap();
            assert!(
                signer().open(&forged, Some(&nonce), NOW, 600).is_err(),
                "position {i}"
            );
        }
        let long = "A".repeat(129);
        assert_eq!(
            signer().open(&long, Some(&nonce), NOW, 600),
            Err(StateError::Malformed)
        );
        assert_eq!(
            signer().open("STATE", Some(&nonce), NOW, 600),
            Err(StateError::Malformed)
        );
        assert_eq!(
            signer().open("", Some(&nonce), NOW, 600),
            Err(StateError::Malformed)
        );
    }

    #[test]
    fn debug_hides_key_and_nonce() {
        let text = format!(
            "{:?} {:?}",
            StateSigner::new(&[0xab; 32]).unwrap(),
            BrowserNonce([0xcd; 16])
        );
        assert!(!text.contains("171") && !text.contains("ab") && !text.contains("205"));
    }

    proptest! {
        #[test]
        fn open_never_panics(text in "[0-9A-Za-z]{0,130}") {
            let _ = signer().open(&text, Some(&BrowserNonce([0; 16])), NOW, 600);
        }
    }
}
