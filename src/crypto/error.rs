//! Error types of the pure protocol code.
//!
//! Both are small opaque structs with a `#[non_exhaustive]` kind, following
//! the error codes of the vendor's WXBizMsgCrypt libraries (WeCom doc
//! 加解密库下载与返回码). Their `Display` names the failed step only: never a
//! key, token, signature, ciphertext or plaintext.

use std::fmt;

/// Why decrypting, verifying or encrypting failed.
///
/// Each kind maps to the vendor error code that the WXBizMsgCrypt libraries
/// return for it ([`CryptoError::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CryptoErrorKind {
    /// `msg_signature` is not the lowercase hex SHA-1 of the sorted token,
    /// timestamp, nonce and Encrypt (ValidateSignatureError, -40001).
    ValidateSignature,
    /// The POST body is not a well-formed envelope with exactly one
    /// `Encrypt` (ParseXmlError, -40002).
    ParseXml,
    /// The decrypted receive id is not the configured corp id, suite id or
    /// appid (ValidateCorpidError, -40005).
    ValidateReceiveId,
    /// The OS random source failed while encrypting (EncryptAESError, -40006).
    EncryptAes,
    /// The ciphertext is empty or not a multiple of the 16-byte AES block
    /// (DecryptAESError, -40007).
    DecryptAes,
    /// The decrypted buffer is malformed: not a multiple of 32 bytes, bad
    /// PKCS#7 padding, shorter than 20 bytes, or a length field that points
    /// past the end (IllegalBuffer, -40008).
    IllegalBuffer,
    /// `Encrypt` or `echostr` is not standard, padded base64
    /// (DecodeBase64Error, -40010).
    DecodeBase64,
    /// The decrypted message is not UTF-8 text (no vendor code; the vendor
    /// libraries hand back bytes).
    InvalidUtf8,
}

impl CryptoErrorKind {
    /// The WXBizMsgCrypt error code for this kind, or `None` where the
    /// vendor libraries have none.
    pub fn code(self) -> Option<i32> {
        Some(match self {
            Self::ValidateSignature => -40001,
            Self::ParseXml => -40002,
            Self::ValidateReceiveId => -40005,
            Self::EncryptAes => -40006,
            Self::DecryptAes => -40007,
            Self::IllegalBuffer => -40008,
            Self::DecodeBase64 => -40010,
            Self::InvalidUtf8 => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Self::ValidateSignature => "msg_signature does not match",
            Self::ParseXml => "envelope is not well-formed or lacks a single Encrypt",
            Self::ValidateReceiveId => "receive id does not match",
            Self::EncryptAes => "random source failed",
            Self::DecryptAes => "ciphertext length is not a positive multiple of 16 bytes",
            Self::IllegalBuffer => "decrypted buffer is malformed",
            Self::DecodeBase64 => "ciphertext is not valid base64",
            Self::InvalidUtf8 => "decrypted message is not UTF-8",
        }
    }
}

/// A failed verification, decryption or encryption.
///
/// ```
/// use wecom_callback::crypto::{CryptoErrorKind, MsgCrypt};
///
/// let crypt = MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
/// let err = crypt
///     .verify_url("0000000000000000000000000000000000000000", "1409659589", "263014780", "AAAA")
///     .unwrap_err();
/// assert_eq!(err.kind(), CryptoErrorKind::ValidateSignature);
/// assert_eq!(err.code(), Some(-40001));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoError {
    kind: CryptoErrorKind,
}

impl CryptoError {
    pub(crate) fn new(kind: CryptoErrorKind) -> Self {
        Self { kind }
    }

    /// What failed.
    pub fn kind(&self) -> CryptoErrorKind {
        self.kind
    }

    /// The WXBizMsgCrypt error code (-40001 …), see [`CryptoErrorKind::code`].
    pub fn code(&self) -> Option<i32> {
        self.kind.code()
    }
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(code) = self.code() {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CryptoError {}

impl From<CryptoErrorKind> for CryptoError {
    fn from(kind: CryptoErrorKind) -> Self {
        Self::new(kind)
    }
}

/// Why a configuration value was refused. Returned when building, never at
/// request time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The EncodingAESKey is not 43 characters of `[A-Za-z0-9]`
    /// (IllegalAesKey, -40004).
    IllegalAesKey,
    /// The Token is empty, longer than 32 characters, or not `[A-Za-z0-9]`
    /// (WeCom doc 回调配置: "由英文或数字组成且长度不超过32位").
    InvalidToken,
    /// A receive id (corp id, suite id, appid) is missing or not printable
    /// ASCII, or the callback kind needs one and none was given.
    InvalidReceiveId,
    /// A callback path does not start with `/`.
    InvalidPath,
}

/// A refused configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind) -> Self {
        Self { kind }
    }

    /// What was refused.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The WXBizMsgCrypt error code, where the vendor libraries have one
    /// (-40004 for the key).
    pub fn code(&self) -> Option<i32> {
        match self.kind {
            ConfigErrorKind::IllegalAesKey => Some(-40004),
            _ => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            ConfigErrorKind::IllegalAesKey => {
                "EncodingAESKey must be 43 characters of [A-Za-z0-9] (-40004)"
            }
            ConfigErrorKind::InvalidToken => "Token must be 1 to 32 characters of [A-Za-z0-9]",
            ConfigErrorKind::InvalidReceiveId => {
                "receive id (corp id, suite id or appid) is missing or not printable ASCII"
            }
            ConfigErrorKind::InvalidPath => "callback path must start with '/'",
        })
    }
}

impl std::error::Error for ConfigError {}
