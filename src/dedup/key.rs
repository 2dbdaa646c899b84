//! [`DedupKey`]: which message a delivery carries, in the [`DedupScope`] of
//! what authenticated it.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// Room a scope's text keeps for the key that follows it: the form's two
/// bytes (`m:`, `h:`, `d:`) and a 64-hex-digit digest.
const KEY_SUFFIX_CAPACITY: usize = 2 + 64;

/// The keyspace a message id lives in: everything the delivery was
/// authenticated as, so that no tenant, kind or mode can reach another's
/// keys.
///
/// The layer's scope has four parts, each escaped (ASCII letters, digits,
/// `-`, `_` and `.` stay, every other byte becomes `%XX`) and followed by
/// `:`:
///
/// 1. the callback kind with its mode ([`CallbackKind::name`](crate::CallbackKind::name):
///    `wecom_app`, `official_account_plain`, `official_account_safe`, …), so
///    an unauthenticated plaintext-mode message never shares a keyspace with
///    an encrypted one;
/// 2. the secret that verified the request: 16 hex digits of a SHA-256 over
///    its Token and EncodingAESKey (with a fixed domain-separation prefix;
///    the Token and key cannot be recovered from it), so two endpoints of the
///    same kind and name (two robots, two suites) never meet;
/// 3. the **authenticated receive id**: the corp id, suite id or appid the
///    decrypted frame carried (for a data callback, the authorized corp that
///    sent it); empty for the robot, individual suites and plaintext mode;
/// 4. the endpoint's name ([`Endpoint::named`](crate::Endpoint::named)).
///
/// [`DedupScope::named`] (or a `&str`, through `From`) is the one-part scope
/// of a name alone, for stores and tests that build keys by hand.
///
/// ```
/// use wecom_callback::dedup::{DedupKey, DedupScope};
///
/// let corp_a = DedupScope::new("wecom_suite_data", "00112233aabbccdd", "wwcorpA", "provider");
/// let corp_b = DedupScope::new("wecom_suite_data", "00112233aabbccdd", "wwcorpB", "provider");
/// assert_eq!(corp_a.as_str(), "wecom_suite_data:00112233aabbccdd:wwcorpA:provider:");
/// // One MsgId, two corps: two keys.
/// assert_ne!(DedupKey::msg_id(&corp_a, "42"), DedupKey::msg_id(&corp_b, "42"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupScope(String);

impl DedupScope {
    /// The layer's scope: callback kind (with mode), secret fingerprint,
    /// authenticated receive id and endpoint name, each escaped.
    #[must_use]
    pub fn new(kind: &str, secret_id: &str, receive_id: &str, app: &str) -> Self {
        let mut scope = String::with_capacity(
            kind.len() + secret_id.len() + receive_id.len() + app.len() + 4 + KEY_SUFFIX_CAPACITY,
        );
        for part in [kind, secret_id, receive_id, app] {
            push_escaped(&mut scope, part);
            scope.push(':');
        }
        Self(scope)
    }

    /// The scope of a name alone (`<app>:`): the key form of earlier
    /// versions, for hand-built keys. Never equal to a [`new`](Self::new)
    /// scope, which has four parts.
    #[must_use]
    pub fn named(app: &str) -> Self {
        let mut scope = String::with_capacity(app.len() + 1 + KEY_SUFFIX_CAPACITY);
        push_escaped(&mut scope, app);
        scope.push(':');
        Self(scope)
    }

    /// The 16-hex-digit fingerprint of a Token and EncodingAESKey (`None` in
    /// Official Account plaintext mode), the scope's second part: the first
    /// 8 bytes of SHA-256 over a fixed prefix, the Token, a NUL and the key.
    /// It identifies the secret without revealing it.
    #[must_use]
    pub fn secret_id(token: &str, encoding_aes_key: Option<&str>) -> String {
        let mut hash = Sha256::new();
        hash.update(b"wecom-callback dedup scope v1\0");
        hash.update(token.as_bytes());
        hash.update(b"\0");
        hash.update(encoding_aes_key.unwrap_or("").as_bytes());
        let digest = hash.finalize();
        let mut id = String::with_capacity(16);
        push_hex(&mut id, digest.get(..8).unwrap_or_default());
        id
    }

    /// The scope as text, ending with `:` (ASCII only).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for DedupScope {
    /// [`DedupScope::named`].
    fn from(app: &str) -> Self {
        Self::named(app)
    }
}

/// Which message a delivery carries, as a store key.
///
/// WeCom re-delivers a message when it gets no answer within five seconds
/// ("企业微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次") and
/// recommends deduplicating on `MsgId` where present (WeCom doc 接收消息与事件
/// 概述, /90238). Its key for events, `FromUserName + CreateTime`, drops
/// distinct events that share a second (WxJava #1745, #3311), so a message
/// without an id is keyed on the SHA-256 of its decrypted bytes instead.
///
/// Every key starts with its [`DedupScope`]: what authenticated the
/// delivery (kind and mode, secret, receive id, endpoint name). MsgIds are
/// unique per app only, so the scope is what keeps corp A's message from
/// answering corp B's.
///
/// The key is text, stable across versions and processes, so a shared store
/// (Redis) can use it as a key suffix:
///
/// | form | when |
/// |---|---|
/// | `<scope>m:<msg id>` | [`msg_id`](Self::msg_id) with an id of at most [`MAX_MSG_ID_LEN`](Self::MAX_MSG_ID_LEN) bytes |
/// | `<scope>h:<64 hex>` | [`msg_id`](Self::msg_id) with a longer id: SHA-256 of the id |
/// | `<scope>d:<64 hex>` | [`digest`](Self::digest): SHA-256 of the decrypted message |
///
/// The layer's keys look like
/// `wecom_app:3f2a…9c:wx5823bf96d3bd56c7:wx5823bf96d3bd56c7:m:1000002.1234567890123456`
/// (WeCom messages carry `<AgentID>.<MsgId>`).
///
/// The scope's parts and `<msg id>` are escaped: ASCII letters, digits,
/// `-`, `_` and `.` stay, every other byte becomes `%XX` (uppercase hex).
/// No part can therefore contain `:`, and two different (scope, id) pairs
/// never give the same key, whatever the id holds. The hex digests are
/// lowercase.
///
/// ```
/// use wecom_callback::dedup::DedupKey;
///
/// // A `&str` is the one-part scope of a name.
/// let key = DedupKey::msg_id("hr app", "1234567890123456").unwrap();
/// assert_eq!(key.as_str(), "hr%20app:m:1234567890123456");
///
/// let event = b"<xml><MsgType><![CDATA[event]]></MsgType></xml>";
/// let key = DedupKey::digest("hr", event);
/// assert!(key.as_str().starts_with("hr:d:"));
/// assert_eq!(key.as_str().len(), "hr:d:".len() + 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DedupKey(String);

impl DedupKey {
    /// Message ids longer than this many bytes are keyed on their SHA-256
    /// (the `h` form), so that a key stays short. WeCom's `MsgId` is a 64-bit
    /// decimal (at most 20 bytes); the robot's `msgid` is a short hex string.
    pub const MAX_MSG_ID_LEN: usize = 128;

    /// The key of the message with id `msg_id` (`MsgId` in XML callbacks,
    /// `msgid` in JSON ones) in `scope` (a [`DedupScope`], or a `&str` name).
    ///
    /// Keys of different scopes never collide. Returns `None` when `msg_id`
    /// is empty or only whitespace: use [`digest`](Self::digest) then (or
    /// [`for_message`](Self::for_message), which chooses).
    #[must_use]
    pub fn msg_id<'s>(scope: impl Into<ScopeRef<'s>>, msg_id: &str) -> Option<Self> {
        if msg_id.trim().is_empty() {
            return None;
        }
        Some(Self::with_id(scope.into().prefix(), msg_id))
    }

    /// `prefix` (a scope), then the `m:` or `h:` form of the non-blank
    /// `msg_id`.
    fn with_id(mut key: String, msg_id: &str) -> Self {
        if msg_id.len() > Self::MAX_MSG_ID_LEN {
            key.push_str("h:");
            push_hex(&mut key, &Sha256::digest(msg_id.as_bytes()));
        } else {
            key.push_str("m:");
            push_escaped(&mut key, msg_id);
        }
        Self(key)
    }

    /// `prefix` (a scope), then the `d:` form of `plaintext`.
    fn with_digest(mut key: String, plaintext: &[u8]) -> Self {
        key.push_str("d:");
        push_hex(&mut key, &Sha256::digest(plaintext));
        Self(key)
    }

    /// The key of a message without an id, in `scope`: the SHA-256 of
    /// `plaintext`, the decrypted message exactly as it came
    /// out of the frame (the `msg` part: without the 16-byte random prefix,
    /// the length and the receive id). Every field counts, so two distinct
    /// events in the same second never share a key (SECURITY.md §5).
    #[must_use]
    pub fn digest<'s>(scope: impl Into<ScopeRef<'s>>, plaintext: &[u8]) -> Self {
        Self::with_digest(scope.into().prefix(), plaintext)
    }

    /// The key the layer uses: by `msg_id` when it is present and not blank,
    /// otherwise by the digest of `plaintext` (see [`msg_id`](Self::msg_id)
    /// and [`digest`](Self::digest)).
    #[must_use]
    pub fn for_message<'s>(
        scope: impl Into<ScopeRef<'s>>,
        msg_id: Option<&str>,
        plaintext: &[u8],
    ) -> Self {
        let prefix = scope.into().prefix();
        match msg_id.filter(|id| !id.trim().is_empty()) {
            Some(id) => Self::with_id(prefix, id),
            None => Self::with_digest(prefix, plaintext),
        }
    }

    /// The key of the WeCom message with the numeric `MsgId` `msg_id` from
    /// the application with `AgentID` `agent_id` (ids are per application),
    /// in `scope`: exactly
    /// `msg_id(scope, &format!("{agent_id}.{msg_id}"))` (the id is never
    /// blank, never longer than [`MAX_MSG_ID_LEN`](Self::MAX_MSG_ID_LEN),
    /// and digits and `.` are never escaped), written straight into the key.
    #[cfg_attr(not(feature = "layer"), allow(dead_code))]
    pub(crate) fn agent_message<'s>(
        scope: impl Into<ScopeRef<'s>>,
        agent_id: u64,
        msg_id: u64,
    ) -> Self {
        let mut key = scope.into().prefix();
        // itoa, not `write!`: the formatting machinery cost about 500
        // instructions a request here.
        key.push_str("m:");
        key.push_str(itoa::Buffer::new().format(agent_id));
        key.push('.');
        key.push_str(itoa::Buffer::new().format(msg_id));
        Self(key)
    }

    /// Moves the key out, leaving an empty one behind (no allocation): for
    /// a holder that is done with its key and hands it to the store.
    #[cfg_attr(not(feature = "layer"), allow(dead_code))]
    pub(crate) fn take(&mut self) -> Self {
        Self(std::mem::take(&mut self.0))
    }

    /// The key as text (ASCII only), for logs and as a shared store's key
    /// suffix.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Length of the key in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a key holds at least its separators. Present for
    /// symmetry with [`len`](Self::len).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A scope as [`DedupKey`]'s constructors take it: a [`DedupScope`] (by
/// reference, or by value, when its text becomes the key's start without a
/// copy) or a name (`&str`, the one-part scope of [`DedupScope::named`]),
/// without building a `DedupScope` for a name.
#[derive(Debug, Clone)]
pub enum ScopeRef<'s> {
    /// A built scope.
    Scope(&'s DedupScope),
    /// A built scope, used once.
    Owned(DedupScope),
    /// A name alone.
    Named(&'s str),
}

impl ScopeRef<'_> {
    fn prefix(self) -> String {
        match self {
            Self::Scope(scope) => {
                let mut key = String::with_capacity(scope.0.len() + KEY_SUFFIX_CAPACITY);
                key.push_str(&scope.0);
                key
            }
            Self::Owned(scope) => scope.0,
            Self::Named(app) => DedupScope::named(app).0,
        }
    }
}

impl From<DedupScope> for ScopeRef<'static> {
    fn from(scope: DedupScope) -> Self {
        Self::Owned(scope)
    }
}

impl<'s> From<&'s DedupScope> for ScopeRef<'s> {
    fn from(scope: &'s DedupScope) -> Self {
        Self::Scope(scope)
    }
}

impl<'s> From<&'s str> for ScopeRef<'s> {
    fn from(app: &'s str) -> Self {
        Self::Named(app)
    }
}

impl<'s> From<&'s String> for ScopeRef<'s> {
    fn from(app: &'s String) -> Self {
        Self::Named(app)
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DedupKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The bytes [`push_escaped`] escapes: all but `[A-Za-z0-9._-]`.
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Appends `text`, keeping `[A-Za-z0-9._-]` and writing `%XX` (uppercase
/// hex) for every other byte.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for part in utf8_percent_encode(text, ESCAPED) {
        out.push_str(part);
    }
}

/// Appends `bytes` (a digest, at most 32 bytes) as lowercase hex.
fn push_hex(out: &mut String, bytes: &[u8]) {
    let mut buf = [0u8; 64];
    if let Some(digits) = buf.get_mut(..2 * bytes.len()) {
        if hex::encode_to_slice(bytes, digits).is_ok() {
            // Hex digits are ASCII.
            out.push_str(std::str::from_utf8(digits).unwrap_or_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        assert_eq!(
            DedupKey::msg_id("app", "1234567890123456")
                .unwrap()
                .as_str(),
            "app:m:1234567890123456"
        );
        // SHA-256("") is well known.
        assert_eq!(
            DedupKey::digest("app", b"").as_str(),
            "app:d:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let long = "9".repeat(DedupKey::MAX_MSG_ID_LEN + 1);
        let key = DedupKey::msg_id("app", &long).unwrap();
        assert!(key.as_str().starts_with("app:h:"));
        assert_eq!(key.len(), "app:h:".len() + 64);
        let at_limit = "9".repeat(DedupKey::MAX_MSG_ID_LEN);
        assert_eq!(
            DedupKey::msg_id("app", &at_limit).unwrap().as_str(),
            format!("app:m:{at_limit}")
        );
    }

    #[test]
    fn blank_ids_fall_back_to_the_digest() {
        assert_eq!(DedupKey::msg_id("app", ""), None);
        assert_eq!(DedupKey::msg_id("app", " \t"), None);
        let digest = DedupKey::digest("app", b"<xml/>");
        assert_eq!(DedupKey::for_message("app", None, b"<xml/>"), digest);
        assert_eq!(DedupKey::for_message("app", Some(" "), b"<xml/>"), digest);
        assert_eq!(
            DedupKey::for_message("app", Some("7"), b"<xml/>").as_str(),
            "app:m:7"
        );
    }

    #[test]
    fn separators_in_names_and_ids_are_escaped() {
        // Without escaping, ("a", "b:d:x") and ("a:m:b", digest) could meet.
        let key = DedupKey::msg_id("a:m:b", "x:d:y%").unwrap();
        assert_eq!(key.as_str(), "a%3Am%3Ab:m:x%3Ad%3Ay%25");
        assert_eq!(key.as_str().matches(':').count(), 2);
        assert_eq!(
            DedupKey::msg_id("应用", "\u{0}").unwrap().as_str(),
            "%E5%BA%94%E7%94%A8:m:%00"
        );
        assert_ne!(
            DedupKey::msg_id("a", "b").unwrap(),
            DedupKey::msg_id("b", "a").unwrap()
        );
    }

    #[test]
    fn agent_message_keys_are_the_msg_id_keys_of_agent_dot_id() {
        for (app, agent, id) in [
            ("app", 0, 1),
            ("hr app", 1_000_002, 1_234_567_890_123_456),
            ("应用:m:", u64::MAX, u64::MAX),
        ] {
            assert_eq!(
                Some(DedupKey::agent_message(app, agent, id)),
                DedupKey::msg_id(app, &format!("{agent}.{id}"))
            );
        }
    }

    #[test]
    fn display_is_the_key() {
        let key = DedupKey::msg_id("app", "1").unwrap();
        assert_eq!(key.to_string(), "app:m:1");
        assert_eq!(key.as_ref(), "app:m:1");
        assert!(!key.is_empty());
    }

    proptest! {
        /// Different (app, id) pairs give different keys, and every key is
        /// ASCII with exactly two `:` separators.
        #[test]
        fn keys_are_injective(
            app1 in ".{0,12}", id1 in ".{1,24}",
            app2 in ".{0,12}", id2 in ".{1,24}",
        ) {
            let k1 = DedupKey::msg_id(&app1, &id1);
            let k2 = DedupKey::msg_id(&app2, &id2);
            if let (Some(k1), Some(k2)) = (k1, k2) {
                prop_assert!(k1.as_str().is_ascii());
                prop_assert_eq!(k1.as_str().matches(':').count(), 2);
                prop_assert_eq!(k1 == k2, app1 == app2 && id1 == id2);
            }
        }

        /// The layer's key of a WeCom message is the `msg_id` key of
        /// `<AgentID>.<MsgId>`, whatever the app name.
        #[test]
        fn agent_message_is_msg_id(app in ".{0,12}", agent in any::<u64>(), id in any::<u64>()) {
            prop_assert_eq!(
                Some(DedupKey::agent_message(&app, agent, id)),
                DedupKey::msg_id(&app, &format!("{agent}.{id}"))
            );
        }

        /// An id key never equals a digest key, whatever the id.
        #[test]
        fn id_and_digest_keys_never_meet(app in ".{0,8}", id in ".{1,80}", msg in any::<Vec<u8>>()) {
            if let Some(by_id) = DedupKey::msg_id(&app, &id) {
                prop_assert_ne!(by_id, DedupKey::digest(&app, &msg));
            }
        }
    }
}
