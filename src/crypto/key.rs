//! The EncodingAESKey: 43 characters of `[A-Za-z0-9]` that decode to the
//! 32-byte AES-256 key.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::error::{ConfigError, ConfigErrorKind};

/// Length of an EncodingAESKey in characters.
pub const ENCODING_AES_KEY_LEN: usize = 43;

/// Standard alphabet that ignores the two unused low bits of the 43rd
/// character: most real keys (the vendor's sample keys among them) have them
/// set, and the vendor libraries ignore them.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded EncodingAESKey: the AES-256 key, whose first 16 bytes are also
/// the CBC initialisation vector.
///
/// Source: WeCom doc 加解密方案说明 ("AESKey = Base64_Decode(EncodingAESKey + \"=\")",
/// "IV初始向量大小为16字节，取AESKey前16字节").
///
/// `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodingAesKey {
    key: [u8; 32],
}

impl EncodingAesKey {
    /// Decodes an EncodingAESKey as shown in the WeCom/WeChat admin console.
    ///
    /// # Errors
    /// [`ConfigErrorKind::IllegalAesKey`] (vendor code -40004) unless `encoding_aes_key`
    /// is exactly 43 characters of `[A-Za-z0-9]`. The unused low bits of the
    /// last character are ignored, as every vendor library does.
    pub fn new(encoding_aes_key: &str) -> Result<Self, ConfigError> {
        let illegal = || ConfigError::new(ConfigErrorKind::IllegalAesKey);
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN
            || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(illegal());
        }
        let mut key = [0u8; 32];
        let written = LENIENT
            .decode_slice(encoding_aes_key, &mut key)
            .map_err(|_| illegal())?;
        if written != key.len() {
            return Err(illegal());
        }
        Ok(Self { key })
    }

    /// The 32-byte AES-256 key.
    pub(crate) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The CBC initialisation vector: the key's first 16 bytes.
    pub(crate) fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        let (head, _) = self.key.split_at(16);
        iv.copy_from_slice(head);
        iv
    }
}

impl fmt::Debug for EncodingAesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncodingAesKey(<redacted>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_vendor_keys_with_trailing_bits() {
        // The WeCom sample key: its last character carries non-zero unused bits.
        let key = EncodingAesKey::new("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
        assert_eq!(key.key()[..4], [0x8d, 0x69, 0x98, 0x9b]);
        assert_eq!(key.iv(), key.key()[..16]);
        EncodingAesKey::new("6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt").unwrap();
        assert_eq!(
            EncodingAesKey::new(&"A".repeat(43)).unwrap().key(),
            &[0u8; 32]
        );
    }

    #[test]
    fn rejects_wrong_length_or_alphabet() {
        for bad in [
            "",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2CC",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2+",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2/",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2-",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2=",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2é",
        ] {
            let err = EncodingAesKey::new(bad).unwrap_err();
            assert_eq!(err.kind(), ConfigErrorKind::IllegalAesKey, "{bad:?}");
            assert_eq!(err.code(), Some(-40004));
        }
    }

    #[test]
    fn debug_is_redacted() {
        let key = EncodingAesKey::new("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
        assert_eq!(format!("{key:?}"), "EncodingAesKey(<redacted>)");
    }
}
