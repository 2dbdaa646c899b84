//! AES-256-CBC with the protocol's PKCS#7 padding to **32-byte** blocks
//! (WeCom doc 加解密方案说明: "AES采用CBC模式，数据采用PKCS#7填充至32字节的倍数").
//!
//! The cipher itself runs without padding (RustCrypto's `Pkcs7` pads to the
//! 16-byte AES block and would refuse pad values 17..=32, which WeCom sends);
//! padding is added and checked here, every pad byte included.

use aes::{Aes256Dec, Aes256Enc};
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::{GeneralPurposeConfig, Simd};
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};

use super::error::{CryptoError, CryptoErrorKind};
use super::key::EncodingAesKey;

/// The standard base64 alphabet with canonical `=` padding (RFC 4648 §4),
/// as `Encrypt` and `echostr` carry it: the same strict rules as
/// `base64::engine::general_purpose::STANDARD` (padding required, no
/// trailing bits), run by the base64 crate's own SIMD kernels (AVX2 on
/// x86-64, NEON on aarch64) when the CPU has them, and by its scalar code
/// otherwise. Chosen once, at first use.
pub(crate) static BASE64: LazyLock<Simd> =
    LazyLock::new(|| Simd::standard(GeneralPurposeConfig::new()));

/// The protocol's padding block: 32 bytes.
pub(crate) const PAD_BLOCK: usize = 32;
/// The AES block: 16 bytes.
const AES_BLOCK: usize = 16;

/// Plaintext bytes encrypted and base64-encoded at a time by
/// [`encrypt_to_base64`]: a multiple of 16 (whole AES blocks) and of 3 (so
/// that the pieces of base64 join without padding between them).
const STREAM_CHUNK: usize = 1536;

/// The AES-256 key schedules of one EncodingAESKey, expanded once (when the
/// [`MsgCrypt`](super::MsgCrypt) is built) rather than for every message,
/// and the CBC initialisation vector (the key's first 16 bytes).
#[derive(Clone)]
pub(crate) struct Ciphers {
    enc: Aes256Enc,
    dec: Aes256Dec,
    iv: [u8; 16],
}

impl Ciphers {
    pub(crate) fn new(key: &EncodingAesKey) -> Self {
        Self {
            enc: Aes256Enc::new(key.key().into()),
            dec: Aes256Dec::new(key.key().into()),
            iv: key.iv(),
        }
    }

    /// A CBC encryptor at the start of a message. It borrows the key
    /// schedule (the cipher crate implements the block cipher traits for
    /// `&Aes256Enc`) instead of copying it for every message.
    fn encryptor(&self) -> cbc::Encryptor<&Aes256Enc> {
        cbc::Encryptor::inner_iv_init(&self.enc, &self.iv.into())
    }

    /// A CBC decryptor at the start of a message, borrowing the schedule.
    fn decryptor(&self) -> cbc::Decryptor<&Aes256Dec> {
        cbc::Decryptor::inner_iv_init(&self.dec, &self.iv.into())
    }
}

/// Pads the concatenation of `parts` to a multiple of 32 bytes, encrypts it
/// and appends its standard base64 to `out`: the same text as
/// `base64(encrypt(parts.concat()))`, but through one stack buffer, so the
/// padded plaintext is never assembled whole and each piece is encoded while
/// it is still in cache.
pub(crate) fn encrypt_to_base64(ciphers: &Ciphers, parts: &[&[u8]], out: &mut String) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let pad = PAD_BLOCK - len % PAD_BLOCK;
    out.reserve((len + pad).div_ceil(3) * 4);
    // `pad` is 1..=32, so the cast cannot truncate.
    let padding = [pad as u8; PAD_BLOCK];
    let padding = padding.get(..pad).unwrap_or_default();
    // A short reply fits a small buffer, which costs less to set up (it is
    // zeroed first) than the streaming one; the output is the same.
    if len + pad <= SMALL_CHUNK {
        stream::<SMALL_CHUNK>(ciphers, parts, padding, out);
    } else {
        stream::<STREAM_CHUNK>(ciphers, parts, padding, out);
    }
}

/// Whole frames of up to this many bytes are encrypted in one piece
/// (a multiple of 16 and of 3, like [`STREAM_CHUNK`]).
const SMALL_CHUNK: usize = 480;

/// [`encrypt_to_base64`]'s work, through a stack buffer of `N` bytes.
fn stream<const N: usize>(ciphers: &Ciphers, parts: &[&[u8]], padding: &[u8], out: &mut String) {
    let mut encryptor = ciphers.encryptor();
    let mut buf = [0u8; N];
    let mut filled = 0;
    for part in parts.iter().copied().chain([padding]) {
        let mut rest = part;
        while !rest.is_empty() {
            let Some(free) = buf.get_mut(filled..) else {
                break;
            };
            let take = free.len().min(rest.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dest) = free.get_mut(..take) {
                dest.copy_from_slice(head);
            }
            rest = tail;
            filled += take;
            if filled == N {
                seal_chunk(&mut encryptor, &mut buf, out);
                filled = 0;
            }
        }
    }
    // The padded length is a multiple of 32, and so is every full chunk.
    if let Some(last) = buf.get_mut(..filled) {
        seal_chunk(&mut encryptor, last, out);
    }
}

/// Encrypts `chunk` (whole AES blocks) with the running CBC state and
/// appends its base64.
fn seal_chunk(encryptor: &mut cbc::Encryptor<&Aes256Enc>, chunk: &mut [u8], out: &mut String) {
    let (blocks, rest) = Array::slice_as_chunks_mut(chunk);
    debug_assert!(rest.is_empty());
    encryptor.encrypt_blocks(blocks);
    BASE64.encode_string(chunk, out);
}

/// Pads `plain` to a multiple of 32 bytes and encrypts it in place.
#[cfg(test)]
pub(crate) fn encrypt(ciphers: &Ciphers, mut plain: Vec<u8>) -> Vec<u8> {
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    // `pad` is 1..=32, so the cast cannot truncate.
    plain.resize(plain.len() + pad, pad as u8);
    let mut encryptor = ciphers.encryptor();
    let (blocks, rest) = Array::slice_as_chunks_mut(&mut plain);
    debug_assert!(rest.is_empty());
    encryptor.encrypt_blocks(blocks);
    plain
}

/// Decrypts `data` in place and strips the 32-byte PKCS#7 padding.
///
/// # Errors
/// * [`CryptoErrorKind::DecryptAes`]: `data` is empty or not a multiple of
///   16 bytes;
/// * [`CryptoErrorKind::IllegalBuffer`]: not a multiple of 32 bytes, or the
///   padding is not `p` bytes of value `p` with `1 <= p <= 32`.
#[cfg(test)]
pub(crate) fn decrypt(ciphers: &Ciphers, mut data: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    let unpadded = decrypt_in_place(ciphers, &mut data)?.len();
    data.truncate(unpadded);
    Ok(data)
}

/// Decrypts `data` in place and returns it without its 32-byte PKCS#7
/// padding: [`decrypt`] on a slice (the errors are the same).
pub(crate) fn decrypt_in_place<'a>(
    ciphers: &Ciphers,
    data: &'a mut [u8],
) -> Result<&'a [u8], CryptoError> {
    if data.is_empty() || data.len() % AES_BLOCK != 0 {
        return Err(CryptoError::new(CryptoErrorKind::DecryptAes));
    }
    if data.len() % PAD_BLOCK != 0 {
        return Err(CryptoError::new(CryptoErrorKind::IllegalBuffer));
    }
    let mut decryptor = ciphers.decryptor();
    let (blocks, _) = Array::slice_as_chunks_mut(data);
    decryptor.decrypt_blocks(blocks);
    let unpadded = unpad(data)?;
    Ok(data.get(..unpadded).unwrap_or_default())
}

/// Length of `data` without its padding.
fn unpad(data: &[u8]) -> Result<usize, CryptoError> {
    let illegal = || CryptoError::new(CryptoErrorKind::IllegalBuffer);
    let &pad = data.last().ok_or_else(illegal)?;
    let pad = usize::from(pad);
    if !(1..=PAD_BLOCK).contains(&pad) || pad > data.len() {
        return Err(illegal());
    }
    let keep = data.len() - pad;
    let tail = data.get(keep..).ok_or_else(illegal)?;
    // Checked after the signature, so there is no padding oracle; still,
    // look at every byte rather than stopping at the first difference.
    let mismatches = tail.iter().fold(0u8, |acc, &b| acc | (b ^ pad as u8));
    if mismatches != 0 {
        return Err(illegal());
    }
    Ok(keep)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The SIMD engine encodes exactly as the scalar `STANDARD` engine,
        /// at every length (the kernels work in blocks; the tails are scalar).
        #[test]
        fn simd_base64_encodes_as_standard(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            proptest::prop_assert_eq!(BASE64.encode(&bytes), STANDARD.encode(&bytes));
        }

        /// And decodes exactly as it: the same bytes, or an error where it
        /// errs, for text that is mostly base64 with stray bytes, padding
        /// in odd places and non-zero trailing bits.
        #[test]
        fn simd_base64_decodes_as_standard(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".to_vec()),
                    1 => proptest::sample::select(b"=-_ \n.\x00\xff".to_vec()),
                ],
                0..300,
            )
        ) {
            let simd = BASE64.decode(&text).map_err(|e| e.to_string());
            let scalar = STANDARD.decode(&text).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(simd, scalar);
        }
    }

    fn key() -> Ciphers {
        Ciphers::new(&EncodingAesKey::new("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap())
    }

    #[test]
    fn round_trips_every_pad_value() {
        for len in 0..=96 {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let sealed = encrypt(&key(), plain.clone());
            assert_eq!(sealed.len() % PAD_BLOCK, 0);
            let pad = sealed.len() - len;
            assert!((1..=32).contains(&pad), "len {len} pad {pad}");
            assert_eq!(decrypt(&key(), sealed).unwrap(), plain);
        }
    }

    #[test]
    fn streamed_encryption_is_base64_of_the_whole() {
        let lens = (0..=100).chain([
            429, 459, 460, 461, 462, 1535, 1536, 1537, 1568, 3071, 3072, 3073, 10_000,
        ]);
        for len in lens {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            for split in [0, 1, len / 3, len] {
                let (a, b) = msg.split_at(split.min(len));
                let mut out = String::from("x");
                encrypt_to_base64(&key(), &[b"0123456789abcdef", a, b, b"ww1"], &mut out);
                let mut whole = b"0123456789abcdef".to_vec();
                whole.extend_from_slice(&msg);
                whole.extend_from_slice(b"ww1");
                let expected = STANDARD.encode(encrypt(&key(), whole));
                assert_eq!(out, format!("x{expected}"), "len {len} split {split}");
            }
        }
    }

    #[test]
    fn refuses_bad_lengths() {
        let kind = |data: Vec<u8>| decrypt(&key(), data).unwrap_err().kind();
        assert_eq!(kind(vec![]), CryptoErrorKind::DecryptAes);
        assert_eq!(kind(vec![0; 15]), CryptoErrorKind::DecryptAes);
        assert_eq!(kind(vec![0; 48]), CryptoErrorKind::IllegalBuffer);
    }

    #[test]
    fn unpad_checks_every_byte() {
        let mut block = vec![b'x'; 32];
        assert!(unpad(&block).is_err()); // 'x' = 120 > 32
        block[31] = 0;
        assert!(unpad(&block).is_err());
        block[31] = 33;
        assert!(unpad(&block).is_err());
        let mut ok = vec![b'x'; 15];
        ok.extend([17u8; 17]);
        assert_eq!(unpad(&ok).unwrap(), 15);
        ok[20] = 16;
        assert!(unpad(&ok).is_err());
        assert_eq!(unpad(&[32u8; 32]).unwrap(), 0);
    }
}
