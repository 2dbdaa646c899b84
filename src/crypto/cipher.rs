//! AES-256-CBC with the protocol's PKCS#7 padding to **32-byte** blocks
//! (WeCom doc 加解密方案说明: "AES采用CBC模式，数据采用PKCS#7填充至32字节的倍数").
//!
//! The cipher itself runs without padding (RustCrypto's `Pkcs7` pads to the
//! 16-byte AES block and would refuse pad values 17..=32, which WeCom sends);
//! padding is added and checked here, every pad byte included.

use aes::Aes256;
use cbc::cipher::array::Array;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

use super::error::{CryptoError, CryptoErrorKind};
use super::key::EncodingAesKey;

/// The protocol's padding block: 32 bytes.
pub(crate) const PAD_BLOCK: usize = 32;
/// The AES block: 16 bytes.
const AES_BLOCK: usize = 16;

/// Pads `plain` to a multiple of 32 bytes and encrypts it in place.
pub(crate) fn encrypt(key: &EncodingAesKey, mut plain: Vec<u8>) -> Vec<u8> {
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    // `pad` is 1..=32, so the cast cannot truncate.
    plain.resize(plain.len() + pad, pad as u8);
    let mut encryptor = cbc::Encryptor::<Aes256>::new(key.key().into(), &key.iv().into());
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
pub(crate) fn decrypt(key: &EncodingAesKey, mut data: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    if data.is_empty() || data.len() % AES_BLOCK != 0 {
        return Err(CryptoError::new(CryptoErrorKind::DecryptAes));
    }
    if data.len() % PAD_BLOCK != 0 {
        return Err(CryptoError::new(CryptoErrorKind::IllegalBuffer));
    }
    let mut decryptor = cbc::Decryptor::<Aes256>::new(key.key().into(), &key.iv().into());
    let (blocks, _) = Array::slice_as_chunks_mut(&mut data);
    decryptor.decrypt_blocks(blocks);
    let unpadded = unpad(&data)?;
    data.truncate(unpadded);
    Ok(data)
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

    fn key() -> EncodingAesKey {
        EncodingAesKey::new("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap()
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
