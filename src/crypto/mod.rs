//! The WXBizMsgCrypt scheme, pure: bytes and strings in, bytes and strings
//! out, no HTTP.
//!
//! This is what the vendor's `WXBizMsgCrypt` sample libraries do, with the
//! checks they skip: [`MsgCrypt::verify_url`] answers the GET URL
//! verification, [`MsgCrypt::decrypt_msg`] opens a POST body and
//! [`MsgCrypt::encrypt_msg`] seals a passive reply (those two live with the
//! envelope they read and write, in [`crate::envelope`], so that this
//! module does not depend on it).
//!
//! Source: WeCom doc 加解密方案说明 (and the WeChat Official Account doc
//! 消息加解密说明, which uses the same scheme with the appid as receive id).
//!
//! * `msg_signature = hex(sha1(sort(token, timestamp, nonce, Encrypt)))`,
//!   compared in constant time;
//! * `Encrypt = base64(AES-256-CBC(key, iv = key[0..16], pkcs7_32(random(16) ‖ u32be(len) ‖ msg ‖ receive_id)))`.
//!
//! Decryption checks, in this order: signature (before touching the
//! ciphertext), strict base64, length, padding (every byte), length field
//! (checked arithmetic), receive id (exact bytes), UTF-8.
//!
//! # Example
//! ```
//! use wecom_callback::crypto::{CryptoErrorKind, MsgCrypt};
//!
//! // The vendor's sample credentials and URL-verification request.
//! let crypt = MsgCrypt::new("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
//! let echo = crypt.verify_url(
//!     "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
//!     "1409659589",
//!     "263014780",
//!     "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
//! )?;
//! assert_eq!(echo, "1616140317555161061");
//!
//! // A `+` turned into a space by a form decoder no longer verifies.
//! let err = crypt
//!     .verify_url(
//!         "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
//!         "1409659589",
//!         "263014780",
//!         "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp 4RPcs8TgAE7OaBO FZXvnaqQ==",
//!     )
//!     .unwrap_err();
//! assert_eq!(err.kind(), CryptoErrorKind::ValidateSignature);
//!
//! // Seal a reply and open it again.
//! let envelope = crypt.encrypt_msg("<xml>…</xml>", "1409659590", "123456")?;
//! assert!(envelope.starts_with("<xml>\n<Encrypt><![CDATA["));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cipher;
mod error;
mod frame;
mod key;
mod random;
mod signature;

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;

pub use error::{ConfigError, ConfigErrorKind, CryptoError, CryptoErrorKind};
pub use key::{ENCODING_AES_KEY_LEN, EncodingAesKey};
pub use random::{FixedRandom, OsRandom, RandomSource, RandomUnavailable, ThreadRandom};
pub use signature::{SIGNATURE_HEX_LEN, msg_signature, plain_signature, verify_plain_signature};

#[cfg(feature = "test-util")]
pub(crate) use random::nonce as random_nonce;
pub(crate) use signature::SignatureHex;
#[cfg(feature = "layer")]
pub(crate) use signature::is_hex as is_signature_hex;

/// Decoded `Encrypt` texts of up to this many bytes are opened in a stack
/// buffer (a 100-byte message's frame is about 350 bytes).
const OPEN_ON_STACK: usize = 512;

/// Longest Token the vendor consoles accept (WeCom doc 回调配置).
pub const MAX_TOKEN_LEN: usize = 32;

/// One callback URL's secrets: Token, EncodingAESKey and the acceptable
/// receive ids (corp id, suite id, appid, or `""`). The counterpart of the
/// vendor's `WXBizMsgCrypt(token, encoding_aes_key, receive_id)`.
///
/// Which receive id to configure depends on the callback kind (WeCom doc
/// 加解密方案说明, 附注 ReceiveId 含义): the corp id for a self-built app, the
/// suite id for third-party instruction callbacks, `""` for the intelligent
/// robot and individual-subject third-party apps, the appid for WeChat
/// Official Accounts. An empty configured id matches only an empty receive
/// id; the check is never skipped.
///
/// `Debug` shows the receive ids but never the Token or the key.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    /// The EncodingAESKey's AES schedules, expanded once (the decoded key
    /// itself is not kept beside them).
    ciphers: cipher::Ciphers,
    receive_ids: Vec<String>,
    accept: Option<ReceiveIdPredicate>,
}

/// A caller-supplied check of receive ids beyond the listed ones, e.g. "is
/// this corp one that authorized our suite?" for third-party data callbacks.
pub type ReceiveIdPredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A decrypted message: the `msg` text and the receive id it carried.
#[derive(Clone, PartialEq, Eq)]
pub struct Decrypted {
    msg: String,
    receive_id: String,
}

impl Decrypted {
    /// The decrypted `msg`: XML for WeCom apps, JSON for the robot.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// Takes the decrypted `msg`.
    pub fn into_msg(self) -> String {
        self.msg
    }

    /// The receive id found after `msg` (one of the configured ones).
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// Takes both, without copying either: `(msg, receive_id)`, the
    /// decrypted message (XML, or JSON for the robot) and the receive id
    /// that followed it in the plaintext frame (the corp id, suite id or
    /// appid it was sealed for; WeCom doc 加解密方案说明: `random(16B) +
    /// msg_len(4B) + msg + receiveid`).
    pub fn into_parts(self) -> (String, String) {
        (self.msg, self.receive_id)
    }
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field("msg", &format_args!("<{} bytes>", self.msg.len()))
            .field("receive_id", &self.receive_id)
            .finish()
    }
}

fn check_token(token: &str) -> Result<(), ConfigError> {
    if token.is_empty()
        || token.len() > MAX_TOKEN_LEN
        || !token.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ConfigError::new(ConfigErrorKind::InvalidToken));
    }
    Ok(())
}

fn check_receive_id(receive_id: &str) -> Result<(), ConfigError> {
    if receive_id.len() > 128 || !receive_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(ConfigErrorKind::InvalidReceiveId));
    }
    Ok(())
}

impl MsgCrypt {
    /// Builds a crypt for one receive id.
    ///
    /// * `token`: the Token of the callback settings, 1 to 32 characters of
    ///   `[A-Za-z0-9]`;
    /// * `encoding_aes_key`: the EncodingAESKey, 43 characters of `[A-Za-z0-9]`;
    /// * `receive_id`: corp id, suite id, appid, or `""` (printable ASCII, at
    ///   most 128 bytes).
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`], [`ConfigErrorKind::IllegalAesKey`]
    /// (-40004) or [`ConfigErrorKind::InvalidReceiveId`].
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, ConfigError> {
        Self::with_receive_ids(token, encoding_aes_key, [receive_id])
    }

    /// Builds a crypt that accepts any of several receive ids, e.g. the
    /// authorized corps of a third-party data callback. Replies are sealed
    /// with the receive id of the message they answer; [`encrypt_msg`]
    /// uses the first one.
    ///
    /// # Errors
    /// As [`MsgCrypt::new`]; [`ConfigErrorKind::InvalidReceiveId`] also when
    /// `receive_ids` is empty.
    ///
    /// [`encrypt_msg`]: MsgCrypt::encrypt_msg
    pub fn with_receive_ids<I, S>(
        token: &str,
        encoding_aes_key: &str,
        receive_ids: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        check_token(token)?;
        let key = EncodingAesKey::new(encoding_aes_key)?;
        let receive_ids: Vec<String> = receive_ids.into_iter().map(Into::into).collect();
        if receive_ids.is_empty() {
            return Err(ConfigError::new(ConfigErrorKind::InvalidReceiveId));
        }
        for id in &receive_ids {
            check_receive_id(id)?;
        }
        Ok(Self {
            token: token.to_owned(),
            ciphers: cipher::Ciphers::new(&key),
            receive_ids,
            accept: None,
        })
    }

    /// Builds a crypt that accepts no receive id until
    /// [`accept_receive_ids`](Self::accept_receive_ids) adds a check: for
    /// WeCom third-party data callbacks whose authorized corps are only
    /// known at run time.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidToken`], [`ConfigErrorKind::IllegalAesKey`].
    pub fn with_receive_id_predicate(
        token: &str,
        encoding_aes_key: &str,
    ) -> Result<Self, ConfigError> {
        check_token(token)?;
        Ok(Self {
            token: token.to_owned(),
            ciphers: cipher::Ciphers::new(&EncodingAesKey::new(encoding_aes_key)?),
            receive_ids: Vec::new(),
            accept: None,
        })
    }

    /// Also accepts every receive id for which `accept` returns `true`
    /// (checked after the listed ids, only once the signature, padding and
    /// length are valid). For a WeCom third-party data callback (数据回调)
    /// whose authorized corps are only known at run time. Replies may be
    /// sealed for such ids too.
    #[must_use]
    pub fn accept_receive_ids(mut self, accept: ReceiveIdPredicate) -> Self {
        self.accept = Some(accept);
        self
    }

    pub(crate) fn accepts(&self, receive_id: &str) -> bool {
        self.receive_ids.iter().any(|id| id == receive_id)
            || self
                .accept
                .as_ref()
                .is_some_and(|accept| accept(receive_id))
    }

    /// Checks `msg_signature` (40 lowercase hex digits) against
    /// `sha1(sort(token, timestamp, nonce, encrypt))` in constant time,
    /// without decrypting anything: the cheap first step, and how a layer
    /// serving several apps on one path finds which app a request is for.
    ///
    /// # Errors
    /// [`CryptoErrorKind::ValidateSignature`] (-40001).
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptoError> {
        signature::verify(msg_signature, &self.token, timestamp, nonce, encrypt)
    }

    /// The acceptable receive ids, the one used for replies first.
    pub fn receive_ids(&self) -> &[String] {
        &self.receive_ids
    }

    pub(crate) fn primary_receive_id(&self) -> &str {
        self.receive_ids.first().map_or("", String::as_str)
    }

    /// `msg_signature` of `encrypt` under this Token (see [`msg_signature`]).
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        msg_signature(&self.token, timestamp, nonce, encrypt)
    }

    /// [`signature`](Self::signature) on the stack.
    pub(crate) fn signature_hex(
        &self,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> SignatureHex {
        signature::msg_signature_hex(&self.token, timestamp, nonce, encrypt)
    }

    /// Checks `msg_signature`, then decrypts `encrypt` (the Encrypt text or
    /// `echostr`, exactly as received, after URL or XML decoding).
    ///
    /// # Errors
    /// In the order checked: [`CryptoErrorKind::ValidateSignature`] (-40001),
    /// [`DecodeBase64`](CryptoErrorKind::DecodeBase64) (-40010),
    /// [`DecryptAes`](CryptoErrorKind::DecryptAes) (-40007),
    /// [`IllegalBuffer`](CryptoErrorKind::IllegalBuffer) (-40008),
    /// [`ValidateReceiveId`](CryptoErrorKind::ValidateReceiveId) (-40005),
    /// [`InvalidUtf8`](CryptoErrorKind::InvalidUtf8).
    pub fn decrypt(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<Decrypted, CryptoError> {
        self.verify_signature(msg_signature, timestamp, nonce, encrypt)?;
        self.open(encrypt)
    }

    /// Decrypts `encrypt` **without** checking a signature: for callers that
    /// verified it themselves, and for tests. Same errors as
    /// [`MsgCrypt::decrypt`] minus the signature.
    pub fn decrypt_unsigned(&self, encrypt: &str) -> Result<Decrypted, CryptoError> {
        self.open(encrypt)
    }

    fn open(&self, encrypt: &str) -> Result<Decrypted, CryptoError> {
        let bad_base64 = || CryptoError::new(CryptoErrorKind::DecodeBase64);
        // A short message is decoded and decrypted in a buffer on the
        // stack, a longer one on the heap; its text is copied out into the
        // `Decrypted` either way, so the first saves an allocation.
        if base64::decoded_len_estimate(encrypt.len()) <= OPEN_ON_STACK {
            let mut buffer = [0u8; OPEN_ON_STACK];
            let len = cipher::BASE64
                .decode_slice(encrypt, &mut buffer)
                .map_err(|_| bad_base64())?;
            let data = buffer.get_mut(..len).unwrap_or_default();
            return self.read_frame(cipher::decrypt_in_place(&self.ciphers, data)?);
        }
        let mut data = cipher::BASE64.decode(encrypt).map_err(|_| bad_base64())?;
        self.read_frame(cipher::decrypt_in_place(&self.ciphers, &mut data)?)
    }

    /// The checks after decryption: the frame's length field, the receive
    /// id, UTF-8; then the message's text copied out.
    fn read_frame(&self, plain: &[u8]) -> Result<Decrypted, CryptoError> {
        let (msg, receive_id) = frame::open(plain)?;
        let receive_id = std::str::from_utf8(receive_id)
            .ok()
            .filter(|id| self.accepts(id))
            .ok_or_else(|| CryptoError::new(CryptoErrorKind::ValidateReceiveId))?
            .to_owned();
        // `msg` is validated where it lies and copied out. Core's
        // `String::from_utf8` would keep the buffer, but its validation
        // takes about 11 instructions a byte on Chinese text (one fast path:
        // ASCII); simdutf8's takes a fraction of one, and the copy replaces
        // the move that dropping the frame's header in place needed.
        let msg = utf8(msg)
            .ok_or_else(|| CryptoError::new(CryptoErrorKind::InvalidUtf8))?
            .to_owned();
        Ok(Decrypted { msg, receive_id })
    }

    /// Answers the GET URL verification (WeCom doc 接收消息与事件 概述, 验证URL有效性):
    /// checks `msg_signature` over `echostr` and returns the decrypted
    /// plaintext, which the server must send back as the whole response body.
    ///
    /// `echostr` must be the query value percent-decoded exactly once (a
    /// `+` stays a `+`).
    ///
    /// # Errors
    /// As [`MsgCrypt::decrypt`].
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, CryptoError> {
        self.decrypt(msg_signature, timestamp, nonce, echostr)
            .map(Decrypted::into_msg)
    }

    /// Encrypts `msg` for the first receive id with a caller-chosen random
    /// prefix, returning the base64 Encrypt text. Deterministic: this is the
    /// seam for known-answer tests. Production code should let
    /// [`MsgCrypt::encrypt_msg`] draw the prefix from the OS.
    ///
    /// # Errors
    /// [`CryptoErrorKind::IllegalBuffer`] if `msg` exceeds `u32::MAX` bytes.
    pub fn encrypt_with_prefix(
        &self,
        msg: &[u8],
        random_prefix: [u8; 16],
    ) -> Result<String, CryptoError> {
        self.encrypt_for(msg, self.primary_receive_id(), random_prefix)
    }

    /// As [`MsgCrypt::encrypt_with_prefix`] with an explicit receive id.
    pub(crate) fn encrypt_for(
        &self,
        msg: &[u8],
        receive_id: &str,
        random_prefix: [u8; 16],
    ) -> Result<String, CryptoError> {
        let mut encrypt = String::new();
        self.encrypt_into(msg, receive_id, random_prefix, &mut encrypt)?;
        Ok(encrypt)
    }

    /// As [`MsgCrypt::encrypt_for`], appending the base64 Encrypt text to
    /// `out` (so that a reply envelope can be written around it without a
    /// second copy).
    pub(crate) fn encrypt_into(
        &self,
        msg: &[u8],
        receive_id: &str,
        random_prefix: [u8; 16],
        out: &mut String,
    ) -> Result<(), CryptoError> {
        let len = frame::length_field(msg)?;
        let parts: [&[u8]; 4] = [&random_prefix, &len, msg, receive_id.as_bytes()];
        cipher::encrypt_to_base64(&self.ciphers, &parts, out);
        Ok(())
    }
}

impl fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("token", &"<redacted>")
            .field("key", &format_args!("EncodingAesKey(<redacted>)"))
            .field("receive_ids", &self.receive_ids)
            .field("accepts_more", &self.accept.is_some())
            .finish()
    }
}

/// `bytes` as text if they are UTF-8: simdutf8's vectorised validation
/// under the feature `simd-utf8` (a default), else core's, which has a fast
/// path for ASCII only. For decrypted messages and request envelopes.
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    #[cfg(feature = "simd-utf8")]
    let text = simdutf8::basic::from_utf8(bytes).ok();
    #[cfg(not(feature = "simd-utf8"))]
    let text = std::str::from_utf8(bytes).ok();
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    // The sealing tests read the envelope back (test-only dependency).
    use crate::envelope::Envelope;

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    #[test]
    fn config_is_checked_at_construction() {
        let kind = |r: Result<MsgCrypt, ConfigError>| r.unwrap_err().kind();
        assert_eq!(
            kind(MsgCrypt::new("", KEY, "ww1")),
            ConfigErrorKind::InvalidToken
        );
        assert_eq!(
            kind(MsgCrypt::new(&"a".repeat(33), KEY, "ww1")),
            ConfigErrorKind::InvalidToken
        );
        assert_eq!(
            kind(MsgCrypt::new("to ken", KEY, "ww1")),
            ConfigErrorKind::InvalidToken
        );
        assert_eq!(
            kind(MsgCrypt::new("t", &KEY[1..], "ww1")),
            ConfigErrorKind::IllegalAesKey
        );
        assert_eq!(
            kind(MsgCrypt::new("t", KEY, "ww 1")),
            ConfigErrorKind::InvalidReceiveId
        );
        assert_eq!(
            kind(MsgCrypt::with_receive_ids("t", KEY, Vec::<String>::new())),
            ConfigErrorKind::InvalidReceiveId
        );
        assert!(MsgCrypt::new("t", KEY, "").is_ok());
    }

    #[test]
    fn debug_hides_secrets() {
        let crypt = MsgCrypt::new("SecretToken", KEY, "ww1").unwrap();
        let debug = format!("{crypt:?}");
        assert!(!debug.contains("SecretToken"));
        assert!(!debug.contains(KEY));
        assert!(debug.contains("ww1"));
    }

    #[test]
    fn several_receive_ids_and_replies_for_the_matching_one() {
        let a = MsgCrypt::new("t", KEY, "corpA").unwrap();
        let b = MsgCrypt::new("t", KEY, "corpB").unwrap();
        let both = MsgCrypt::with_receive_ids("t", KEY, ["corpA", "corpB"]).unwrap();
        let from_b = b.encrypt_with_prefix(b"hi", [1; 16]).unwrap();
        assert_eq!(
            both.decrypt_unsigned(&from_b).unwrap().receive_id(),
            "corpB"
        );
        assert_eq!(
            a.decrypt_unsigned(&from_b).unwrap_err().kind(),
            CryptoErrorKind::ValidateReceiveId
        );
        let sealed = both
            .encrypt_msg_with("reply", "1", "2", "corpB", &FixedRandom::new([3; 16]))
            .unwrap();
        let env = Envelope::parse(sealed.as_bytes()).unwrap();
        assert_eq!(b.decrypt_unsigned(env.encrypt()).unwrap().msg(), "reply");
        assert_eq!(
            both.encrypt_msg_with("x", "1", "2", "corpC", &OsRandom)
                .unwrap_err()
                .kind(),
            CryptoErrorKind::ValidateReceiveId
        );
    }

    #[test]
    fn two_encryptions_differ_in_the_first_block() {
        let crypt = MsgCrypt::new("t", KEY, "ww1").unwrap();
        let a = crypt.encrypt_msg("same", "1", "2").unwrap();
        let b = crypt.encrypt_msg("same", "1", "2").unwrap();
        let ea = Envelope::parse(a.as_bytes()).unwrap();
        let eb = Envelope::parse(b.as_bytes()).unwrap();
        assert_ne!(ea.encrypt()[..22], eb.encrypt()[..22]);
    }

    #[test]
    fn stack_and_heap_openings_agree_around_the_boundary() {
        // Frames from well below to well above OPEN_ON_STACK, decoded on the
        // stack or on the heap: the same messages and the same refusals.
        let crypt = MsgCrypt::new("t", KEY, "ww1").unwrap();
        for len in (420..=540).step_by(3) {
            let msg = "中a".repeat(len / 4) + &"b".repeat(len % 4);
            let sealed = crypt.encrypt_with_prefix(msg.as_bytes(), [9; 16]).unwrap();
            assert_eq!(crypt.decrypt_unsigned(&sealed).unwrap().msg(), msg);
            let kind = |text: &str| crypt.decrypt_unsigned(text).unwrap_err().kind();
            let mut data = cipher::BASE64.decode(&sealed).unwrap();
            let cut = |by: usize| cipher::BASE64.encode(&data[..data.len() - by]);
            // Not whole AES blocks; whole blocks, but not 32-byte ones.
            assert_eq!(kind(&cut(8)), CryptoErrorKind::DecryptAes);
            assert_eq!(kind(&cut(16)), CryptoErrorKind::IllegalBuffer);
            let mut bad = sealed.clone();
            bad.replace_range(10..11, "-");
            assert_eq!(kind(&bad), CryptoErrorKind::DecodeBase64);
            // A changed last block breaks the padding (or, rarely, the length).
            let at = data.len() - 20;
            data[at] ^= 0x55;
            let tampered = cipher::BASE64.encode(&data);
            assert!(matches!(
                kind(&tampered),
                CryptoErrorKind::IllegalBuffer | CryptoErrorKind::ValidateReceiveId
            ));
        }
    }

    #[test]
    fn non_utf8_message_is_refused() {
        let crypt = MsgCrypt::new("t", KEY, "ww1").unwrap();
        let sealed = crypt.encrypt_with_prefix(b"\xff\xfe", [0; 16]).unwrap();
        assert_eq!(
            crypt.decrypt_unsigned(&sealed).unwrap_err().kind(),
            CryptoErrorKind::InvalidUtf8
        );
    }
}
