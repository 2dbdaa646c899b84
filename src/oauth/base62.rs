//! Bytes as `[0-9A-Za-z]`: the only alphabet the vendor allows in `state`
//! ("state参数…只能包含a-zA-Z0-9的参数值，最多128字节", WeChat doc 网页授权;
//! WeCom doc 构造网页授权链接).
//!
//! Blocks of 8 bytes become 11 characters (62^11 > 2^64); a last block of
//! `k < 8` bytes becomes the fewest characters that can hold `256^k` values.
//! That is 0.73 bytes per character, against 0.5 for hex: 128 characters
//! carry 93 bytes. Decoding is strict (one text per byte string): a block
//! whose value does not fit its byte count, a character outside the
//! alphabet or a last block of an impossible length is refused.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters for a block of `k` bytes, `k` in 0..=8: the least `n` with
/// `62^n >= 256^k`.
const CHARS_FOR: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];

/// The number of characters `len` bytes encode to.
pub(crate) fn encoded_len(len: usize) -> usize {
    (len / 8) * 11 + CHARS_FOR.get(len % 8).copied().unwrap_or(0)
}

/// The most bytes that fit into `chars` characters.
pub(crate) fn max_bytes(chars: usize) -> usize {
    let rest = chars % 11;
    let tail = CHARS_FOR.iter().rposition(|&n| n <= rest).unwrap_or(0);
    (chars / 11) * 8 + tail
}

/// `bytes` in base62 blocks.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(bytes.len()));
    for block in bytes.chunks(8) {
        let mut value = block.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let n = CHARS_FOR.get(block.len()).copied().unwrap_or(0);
        let mut digits = [0u8; 11];
        for slot in digits.iter_mut().take(n).rev() {
            *slot = ALPHABET.get((value % 62) as usize).copied().unwrap_or(b'0');
            value /= 62;
        }
        for &d in digits.iter().take(n) {
            out.push(char::from(d));
        }
    }
    out
}

/// Reads what [`encode`] wrote; `None` for any other text.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max_bytes(text.len()));
    for block in text.as_bytes().chunks(11) {
        let k = CHARS_FOR.iter().position(|&n| n == block.len())?;
        let mut value: u128 = 0;
        for &c in block {
            value = value * 62 + u128::from(digit(c)?);
        }
        if value >> (8 * k) != 0 {
            return None;
        }
        for i in (0..k).rev() {
            out.push((value >> (8 * i)) as u8);
        }
    }
    Some(out)
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0]), "00");
        assert_eq!(encode(&[255]), "47");
        assert_eq!(encode(&[0xff; 8]), "LygHa16AHYF");
        assert_eq!(decode("LygHa16AHYF").unwrap(), vec![0xff; 8]);
        // 62^2 - 1 = 3843 does not fit one byte.
        assert_eq!(decode("zz"), None);
        // 4 characters is no block length.
        assert_eq!(decode("0000"), None);
        assert_eq!(decode("0-"), None);
        assert_eq!(max_bytes(128), 93);
        assert_eq!(encoded_len(93), 128);
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let text = encode(&bytes);
            prop_assert_eq!(text.len(), encoded_len(bytes.len()));
            prop_assert!(text.bytes().all(|c| c.is_ascii_alphanumeric()));
            prop_assert!(max_bytes(text.len()) >= bytes.len());
            prop_assert_eq!(decode(&text), Some(bytes));
        }

        #[test]
        fn decode_never_panics(text in "\\PC{0,140}") {
            if let Some(bytes) = decode(&text) {
                prop_assert_eq!(encode(&bytes), text);
            }
        }
    }
}
