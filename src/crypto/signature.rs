//! `msg_signature`: the lowercase hex SHA-1 of the sorted concatenation of
//! token, timestamp, nonce and Encrypt (WeCom doc 加解密方案说明, 消息体签名校验).

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::error::{CryptoError, CryptoErrorKind};

/// Length of a hex `msg_signature`: 40 lowercase hex digits.
pub const SIGNATURE_HEX_LEN: usize = 40;

/// Whether `a` sorts before `b` byte-wise. The parts nearly always differ
/// in their first or second byte, so those are compared inline before the
/// whole strings.
fn sorts_before(a: &str, b: &str) -> bool {
    let head = |s: &str| {
        u16::from_be_bytes([
            s.as_bytes().first().map_or(0, |&b| b),
            s.as_bytes().get(1).map_or(0, |&b| b),
        ])
    };
    let (a_head, b_head) = (head(a), head(b));
    if a.len() >= 2 && b.len() >= 2 && a_head != b_head {
        a_head < b_head
    } else {
        a < b
    }
}

/// SHA-1 of the byte-wise sorted concatenation of `parts`.
fn sorted_sha1_digest<const N: usize>(mut parts: [&str; N]) -> [u8; 20] {
    // Insertion sort of three or four parts, inline (the library's sort is
    // a call per element for so few).
    for i in 1..N {
        let mut j = i;
        while j > 0 {
            match (parts.get(j - 1), parts.get(j)) {
                (Some(a), Some(b)) if sorts_before(b, a) => parts.swap(j - 1, j),
                _ => break,
            }
            j -= 1;
        }
    }
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

/// Whether `given` is the lowercase hex of `expected`: what parsing
/// `given` as 40 lowercase hex digits and comparing the digests answers
/// (upper case, other lengths and non-hex digits never match), by
/// comparing the hex texts instead, as five 8-byte words in constant
/// time, which costs less than the parse.
fn matches_hex(given: &str, expected: &[u8; 20]) -> bool {
    let Ok(given) = <&[u8; SIGNATURE_HEX_LEN]>::try_from(given.as_bytes()) else {
        return false;
    };
    let expected = SignatureHex::new(expected);
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    given
        .chunks_exact(8)
        .zip(expected.0.chunks_exact(8))
        .fold(subtle::Choice::from(1), |equal, (a, b)| {
            equal & word(a).ct_eq(&word(b))
        })
        .into()
}

fn to_hex(digest: &[u8; 20]) -> String {
    SignatureHex::new(digest).as_str().to_owned()
}

/// A signature as 40 lowercase hex digits, on the stack (for the reply
/// envelope, which copies it at once).
pub(crate) struct SignatureHex([u8; SIGNATURE_HEX_LEN]);

impl SignatureHex {
    fn new(digest: &[u8; 20]) -> Self {
        let mut out = [b'0'; SIGNATURE_HEX_LEN];
        // 20 bytes fill the 40 digits exactly, so this cannot fail.
        let _ = hex::encode_to_slice(digest, &mut out);
        Self(out)
    }

    /// The digits.
    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII hex digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// [`msg_signature`] without the `String`.
pub(crate) fn msg_signature_hex(
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
) -> SignatureHex {
    SignatureHex::new(&sorted_sha1_digest([token, timestamp, nonce, encrypt]))
}

/// Whether `signature` is exactly 40 lowercase hex digits, the shape of a
/// `msg_signature` or `signature` (WeCom doc 加解密方案说明). Upper case is
/// refused: WeCom sends lower case and every vendor library compares
/// case-sensitively. The layer's query check (feature `layer`); the value
/// itself is compared as text later ([`matches_hex`]).
#[cfg_attr(not(feature = "layer"), allow(dead_code))]
pub(crate) fn is_hex(signature: &str) -> bool {
    signature.len() == SIGNATURE_HEX_LEN
        && signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The digest that `signature` spells, if [`is_hex`]: what
/// [`matches_hex`] must agree with.
#[cfg(test)]
fn parse_hex(signature: &str) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    (is_hex(signature) && hex::decode_to_slice(signature, &mut out).is_ok()).then_some(out)
}

/// Computes `msg_signature` over `token`, `timestamp`, `nonce` and `encrypt`
/// (the Encrypt element or `echostr` text exactly as received): 40 lowercase
/// hex digits. The same formula signs replies (`MsgSignature`).
///
/// The four strings are sorted as byte strings, not as numbers.
///
/// ```
/// // The worked example of WeCom doc 加解密方案说明.
/// let sig = wecom_callback::crypto::msg_signature(
///     "QDG6eK",
///     "1409659813",
///     "1372623149",
///     "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==",
/// );
/// assert_eq!(sig, "477715d11cdb4164915debcba66cb864d751f3e6");
/// ```
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    to_hex(&sorted_sha1_digest([token, timestamp, nonce, encrypt]))
}

/// Computes the plaintext-mode `signature` of WeChat Official Accounts, Mini
/// Programs and Open Platform (WeChat doc 消息推送): the lowercase hex SHA-1 of
/// the sorted token, timestamp and nonce.
pub fn plain_signature(token: &str, timestamp: &str, nonce: &str) -> String {
    to_hex(&sorted_sha1_digest([token, timestamp, nonce]))
}

/// Checks `msg_signature` in constant time over fixed-size digests.
///
/// # Errors
/// [`CryptoErrorKind::ValidateSignature`] when `msg_signature` is not 40
/// lowercase hex digits or does not match.
pub(crate) fn verify(
    msg_signature: &str,
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
) -> Result<(), CryptoError> {
    if matches_hex(
        msg_signature,
        &sorted_sha1_digest([token, timestamp, nonce, encrypt]),
    ) {
        Ok(())
    } else {
        Err(CryptoError::new(CryptoErrorKind::ValidateSignature))
    }
}

/// Checks a WeChat plaintext-mode `signature` (40 lowercase hex digits)
/// against `sha1(sort(token, timestamp, nonce))` in constant time (WeChat
/// doc 消息推送, 验证消息的确来自微信服务器).
///
/// # Errors
/// [`CryptoErrorKind::ValidateSignature`] (-40001).
pub fn verify_plain_signature(
    signature: &str,
    token: &str,
    timestamp: &str,
    nonce: &str,
) -> Result<(), CryptoError> {
    if matches_hex(signature, &sorted_sha1_digest([token, timestamp, nonce])) {
        Ok(())
    } else {
        Err(CryptoError::new(CryptoErrorKind::ValidateSignature))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let digest = sorted_sha1_digest(["b", "a"]);
        let hex = to_hex(&digest);
        assert_eq!(hex.len(), 40);
        assert_eq!(parse_hex(&hex), Some(digest));
        assert_eq!(parse_hex(&hex.to_uppercase()), None);
        assert_eq!(parse_hex(&hex[..39]), None);
        assert_eq!(parse_hex(&format!("{hex}0")), None);
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex(&format!("{}g", &hex[..39])), None);
    }

    #[test]
    fn hex_match_is_the_parse_and_compare() {
        let digest = sorted_sha1_digest(["b", "a"]);
        let hex = to_hex(&digest);
        assert!(matches_hex(&hex, &digest));
        let mut other = digest;
        for at in 0..20 {
            other[at] ^= 1;
            assert!(!matches_hex(&hex, &other), "byte {at}");
            other[at] ^= 1;
        }
        for bad in [
            hex.to_uppercase(),
            hex[..39].to_owned(),
            format!("{hex}0"),
            String::new(),
            format!("{}g", &hex[..39]),
        ] {
            assert!(!matches_hex(&bad, &digest), "{bad}");
            assert_eq!(parse_hex(&bad).filter(|d| *d == digest), None);
        }
    }

    #[test]
    fn sorts_as_strings_not_numbers() {
        // WeChat doc 消息推送: ["1714037059","486452656","AAAAA"].
        assert_eq!(
            plain_signature("AAAAA", "1714037059", "486452656"),
            plain_signature("AAAAA", "486452656", "1714037059"),
        );
        let mut hasher = Sha1::new();
        hasher.update(b"1714037059486452656AAAAA");
        let expected: [u8; 20] = hasher.finalize().into();
        assert_eq!(
            plain_signature("AAAAA", "1714037059", "486452656"),
            to_hex(&expected)
        );
    }

    #[test]
    fn verify_rejects_prefixes_and_empty() {
        let good = msg_signature("t", "1", "2", "x");
        assert!(verify(&good, "t", "1", "2", "x").is_ok());
        for bad in [
            "",
            &good[..1],
            &good[..39],
            "0000000000000000000000000000000000000000",
        ] {
            assert_eq!(
                verify(bad, "t", "1", "2", "x").unwrap_err().kind(),
                CryptoErrorKind::ValidateSignature
            );
        }
    }

    proptest::proptest! {
        /// The inline two-byte comparison sorts as the plain byte-wise
        /// order does.
        #[test]
        fn sorts_as_plain_byte_order(
            parts in proptest::collection::vec("[0-9a-c+/=中]{0,4}", 0..6)
        ) {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            let mut plain = parts.clone();
            plain.sort_unstable();
            let mut hasher = Sha1::new();
            for part in &plain {
                hasher.update(part.as_bytes());
            }
            let expected: [u8; 20] = hasher.finalize().into();
            let digest = match parts.as_slice() {
                [] => sorted_sha1_digest([]),
                [a] => sorted_sha1_digest([*a]),
                [a, b] => sorted_sha1_digest([*a, *b]),
                [a, b, c] => sorted_sha1_digest([*a, *b, *c]),
                [a, b, c, d] => sorted_sha1_digest([*a, *b, *c, *d]),
                [a, b, c, d, e] => sorted_sha1_digest([*a, *b, *c, *d, *e]),
                _ => unreachable!(),
            };
            proptest::prop_assert_eq!(digest, expected);
        }
    }
}
