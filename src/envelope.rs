//! The XML envelopes around `Encrypt`, pure.
//!
//! * In: the POST body of a callback (WeCom doc 接收消息与事件 概述):
//!   `<xml><ToUserName/><AgentID/><Encrypt/></xml>`, elements in any order,
//!   with or without CDATA, unknown elements ignored.
//! * Out: the passive-reply envelope (same doc, 被动响应包的数据格式):
//!   `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`.
//!
//! Only `Encrypt` is covered by the signature: `ToUserName` and `AgentID` of
//! the envelope are unauthenticated and kept for logging only. Route on the
//! decrypted message instead.
//!
//! The parser is strict where an attacker could exploit ambiguity: a
//! DOCTYPE, processing instructions, entity or character references, a
//! root other than `xml`, a second root, trailing data, nested elements, and
//! a missing, empty or repeated `Encrypt` are all refused with
//! [`CryptoErrorKind::ParseXml`] (-40002).
//!
//! ```
//! use wecom_callback::envelope::Envelope;
//!
//! let env = Envelope::parse(b"<xml><Encrypt><![CDATA[abc=]]></Encrypt><AgentID>1</AgentID></xml>")?;
//! assert_eq!(env.encrypt(), "abc=");
//! assert_eq!(env.agent_id(), Some("1"));
//! assert!(Envelope::parse(b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>").is_err());
//! # Ok::<(), wecom_callback::crypto::CryptoError>(())
//! ```

use std::borrow::Cow;

use crate::crypto::{
    CryptoError, CryptoErrorKind, Decrypted, MsgCrypt, RandomSource, ThreadRandom,
};
use crate::endpoint::BodyFormat;
use crate::xml;

/// The parsed POST envelope. Its text borrows from the body where it can
/// (`'a`: XML without references, the usual case), so that the Encrypt
/// text, most of a POST body, is not copied; [`Envelope::into_owned`]
/// detaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    encrypt: Cow<'a, str>,
    to_user_name: Option<Cow<'a, str>>,
    agent_id: Option<Cow<'a, str>>,
}

fn parse_error() -> CryptoError {
    CryptoError::new(CryptoErrorKind::ParseXml)
}

/// Whether `s` is non-empty and made of the standard base64 alphabet and
/// `=`. Checked 64 bytes at a time with a branch-free test, which the
/// compiler vectorises: `Encrypt` is most of a POST body.
fn is_base64_text(s: &str) -> bool {
    fn base64_byte(b: u8) -> bool {
        (b.wrapping_sub(b'A') < 26)
            | (b.wrapping_sub(b'a') < 26)
            | (b.wrapping_sub(b'0') < 10)
            | (b == b'+')
            | (b == b'/')
            | (b == b'=')
    }
    let all = |bytes: &[u8]| bytes.iter().fold(true, |ok, &b| ok & base64_byte(b));
    let chunks = s.as_bytes().chunks_exact(64);
    let rest = chunks.remainder();
    !s.is_empty() && chunks.into_iter().all(all) && all(rest)
}

/// Parses a flat `<xml>` document whose children are all plain text
/// without entity or character references (WeCom writes CDATA or bare
/// ASCII; a reference in an envelope is a sign of tampering).
///
/// `Encrypt` is checked by [`take_base64`], whose alphabet holds no
/// character XML cannot carry, so the reader need not check it as well
/// (see `xml::parse_trusting`).
fn parse_flat(body: &[u8]) -> Result<xml::Document<'_>, CryptoError> {
    parse_flat_text(crate::crypto::utf8(body).ok_or_else(parse_error)?)
}

/// [`parse_flat`] of a body already known to be UTF-8.
fn parse_flat_text(text: &str) -> Result<xml::Document<'_>, CryptoError> {
    let doc = xml::parse_trusting(text, "Encrypt").map_err(|_| parse_error())?;
    if doc.root != "xml" || doc.children.iter().any(|c| c.nested || c.has_ref) {
        return Err(parse_error());
    }
    Ok(doc)
}

/// Moves out the text of the only child called `name`: `None` when absent,
/// an error when repeated.
fn take<'a>(doc: &mut xml::Document<'a>, name: &str) -> Result<Option<Cow<'a, str>>, CryptoError> {
    let mut named = doc
        .children
        .iter()
        .enumerate()
        .filter(|(_, c)| xml::same_name(&c.name, name))
        .map(|(i, _)| i);
    match (named.next(), named.next()) {
        (None, _) => Ok(None),
        (Some(i), None) => Ok(Some(doc.children.swap_remove(i).text)),
        (Some(_), Some(_)) => Err(parse_error()),
    }
}

/// The text of the only child called `name`, which must be present.
fn take_required<'a>(doc: &mut xml::Document<'a>, name: &str) -> Result<Cow<'a, str>, CryptoError> {
    take(doc, name)?.ok_or_else(parse_error)
}

/// The one, non-empty, base64-alphabet text of `name`.
fn take_base64<'a>(doc: &mut xml::Document<'a>, name: &str) -> Result<Cow<'a, str>, CryptoError> {
    let text = take_required(doc, name)?;
    if is_base64_text(&text) {
        Ok(text)
    } else {
        Err(parse_error())
    }
}

impl<'a> Envelope<'a> {
    /// Parses a POST body in the given format: [`Envelope::parse`] for XML,
    /// [`Envelope::parse_json`] for JSON.
    ///
    /// # Errors
    /// As those.
    pub fn parse_as(body: &'a [u8], format: BodyFormat) -> Result<Self, CryptoError> {
        match format {
            BodyFormat::Xml => Self::parse(body),
            BodyFormat::Json => Self::parse_json(body),
        }
    }

    /// Parses a WeChat Official Account compatible-mode body (兼容模式,
    /// WeChat doc 消息加解密说明): the plaintext message elements *and*
    /// `Encrypt` side by side. Only `Encrypt` is read (and must follow the
    /// rules of [`Envelope::parse`]); the plaintext copy is not
    /// authenticated and is ignored, so its elements may nest or use
    /// references.
    ///
    /// # Errors
    /// [`CryptoErrorKind::ParseXml`] (-40002) as for [`Envelope::parse`].
    pub fn parse_compat(body: &'a [u8]) -> Result<Self, CryptoError> {
        let text = crate::crypto::utf8(body).ok_or_else(parse_error)?;
        let mut doc = xml::parse(text).map_err(|_| parse_error())?;
        if doc.root != "xml"
            || doc
                .children
                .iter()
                .any(|c| c.name == "Encrypt" && (c.nested || c.has_ref))
        {
            return Err(parse_error());
        }
        Ok(Self {
            encrypt: take_base64(&mut doc, "Encrypt")?,
            to_user_name: None,
            agent_id: None,
        })
    }

    /// Parses a JSON POST body: the robot's `{"encrypt": …}`, the vendor's
    /// JSON callback format `{"tousername", "encrypt", "agentid"}` and the
    /// WeChat JSON format `{"ToUserName", "Encrypt"}` (this project's
    /// PROTOCOL.md §6, from WeCom doc 智能机器人 回调和回复的加解密方案 and
    /// WeChat doc 消息推送). `encrypt` or `Encrypt`, exactly one of the two,
    /// a non-empty string of base64 characters; `tousername`/`ToUserName`
    /// a string and `agentid`/`AgentID` a string or number when present;
    /// other members are ignored.
    ///
    /// ```
    /// use wecom_callback::envelope::Envelope;
    ///
    /// let env = Envelope::parse_json(br#"{"tousername":"ww1","encrypt":"abc=","agentid":218}"#)?;
    /// assert_eq!((env.encrypt(), env.to_user_name(), env.agent_id()), ("abc=", Some("ww1"), Some("218")));
    /// assert!(Envelope::parse_json(br#"{"encrypt":"a","Encrypt":"b"}"#).is_err());
    /// # Ok::<(), wecom_callback::crypto::CryptoError>(())
    /// ```
    ///
    /// # Errors
    /// [`CryptoErrorKind::ParseXml`] (-40002; the vendor's JSON libraries
    /// call it ParseJsonError) for anything else.
    pub fn parse_json(body: &'a [u8]) -> Result<Self, CryptoError> {
        use serde_json::Value;
        let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
            return Err(parse_error());
        };
        let mut one_of = |lower: &str, upper: &str| -> Result<Option<Value>, CryptoError> {
            match (map.remove(lower), map.remove(upper)) {
                (Some(_), Some(_)) => Err(parse_error()),
                (a, b) => Ok(a.or(b)),
            }
        };
        let encrypt = match one_of("encrypt", "Encrypt")? {
            Some(Value::String(text)) if is_base64_text(&text) => Cow::Owned(text),
            _ => return Err(parse_error()),
        };
        let to_user_name = match one_of("tousername", "ToUserName")? {
            None => None,
            Some(Value::String(text)) => Some(Cow::Owned(text)),
            Some(_) => return Err(parse_error()),
        };
        let agent_id = match one_of("agentid", "AgentID")? {
            None => None,
            Some(Value::String(text)) => Some(Cow::Owned(text)),
            Some(Value::Number(n)) => Some(Cow::Owned(n.to_string())),
            Some(_) => return Err(parse_error()),
        };
        Ok(Self {
            encrypt,
            to_user_name,
            agent_id,
        })
    }

    /// Parses a POST body.
    ///
    /// # Errors
    /// [`CryptoErrorKind::ParseXml`] (-40002): not UTF-8, not well-formed,
    /// forbidden constructs (see the module docs), or not exactly one
    /// non-empty `Encrypt` of base64 characters.
    pub fn parse(body: &'a [u8]) -> Result<Self, CryptoError> {
        let text = crate::crypto::utf8(body).ok_or_else(parse_error)?;
        if let Some(envelope) = Self::scan(text) {
            return Ok(envelope);
        }
        let mut doc = parse_flat_text(text)?;
        Ok(Self {
            encrypt: take_base64(&mut doc, "Encrypt")?,
            to_user_name: take(&mut doc, "ToUserName")?,
            agent_id: take(&mut doc, "AgentID")?,
        })
    }

    /// [`Envelope::parse`] of a body in the vendor's flat shape, read in
    /// one scan without building the list of elements: `None` whenever
    /// anything is unusual (another shape, a text that needs a closer
    /// look, a repeated element, a missing or non-base64 `Encrypt`), and
    /// then `parse` reads the body the general way, which accepts it or
    /// names the error. When this returns an envelope, it is the one the
    /// general way returns (the same texts, checked by the same rules; a
    /// property test compares them).
    fn scan(text: &'a str) -> Option<Self> {
        Self::scan_unchecked(text).filter(|envelope| is_base64_text(&envelope.encrypt))
    }

    /// [`Envelope::scan`] without its last step, the check that `Encrypt`
    /// is of the base64 alphabet: for [`MsgCrypt::decrypt_msg`], which
    /// makes that check only when the decryption fails (a strict base64
    /// decoder refuses every text the check refuses, so a decryption that
    /// succeeds has passed it).
    fn scan_unchecked(text: &'a str) -> Option<Self> {
        let (mut encrypt, mut to_user_name, mut agent_id) = (None, None, None);
        xml::scan_canonical(text, |name, text| {
            let slot = match name {
                // Checked by `is_base64_text` (see `scan`), whose alphabet
                // holds no character XML forbids and no CR.
                "Encrypt" => return encrypt.replace(text).is_none(),
                "ToUserName" => &mut to_user_name,
                "AgentID" => &mut agent_id,
                _ => return xml::is_plain_xml_text(text),
            };
            xml::is_plain_xml_text(text) && slot.replace(text).is_none()
        })?;
        Some(Self {
            encrypt: Cow::Borrowed(encrypt?),
            to_user_name: to_user_name.map(Cow::Borrowed),
            agent_id: agent_id.map(Cow::Borrowed),
        })
    }

    /// The same envelope owning its text (no longer tied to the body).
    #[must_use]
    pub fn into_owned(self) -> Envelope<'static> {
        Envelope {
            encrypt: Cow::Owned(self.encrypt.into_owned()),
            to_user_name: self.to_user_name.map(|t| Cow::Owned(t.into_owned())),
            agent_id: self.agent_id.map(|t| Cow::Owned(t.into_owned())),
        }
    }

    /// The `Encrypt` text exactly as it appears (CDATA unwrapped).
    pub fn encrypt(&self) -> &str {
        &self.encrypt
    }

    /// `ToUserName` of the envelope (unauthenticated), if present.
    pub fn to_user_name(&self) -> Option<&str> {
        self.to_user_name.as_deref()
    }

    /// `AgentID` of the envelope (unauthenticated; empty on third-party
    /// instruction callbacks), if present.
    pub fn agent_id(&self) -> Option<&str> {
        self.agent_id.as_deref()
    }
}

/// Renders the passive-reply envelope in the layout the vendor Python/PHP
/// libraries print (byte-identical to wechatpy's expected output):
///
/// ```text
/// <xml>
/// <Encrypt><![CDATA[…]]></Encrypt>
/// <MsgSignature><![CDATA[…]]></MsgSignature>
/// <TimeStamp>…</TimeStamp>
/// <Nonce><![CDATA[…]]></Nonce>
/// </xml>
/// ```
///
/// Every value goes through CDATA escaping (and `timestamp` is written as
/// text with `<` and `&` escaped), so no argument can break the document.
pub fn reply(encrypt: &str, msg_signature: &str, timestamp: &str, nonce: &str) -> String {
    let mut out = String::with_capacity(reply_len(encrypt.len(), nonce.len()));
    out.push_str(REPLY_HEAD);
    xml::push_element(&mut out, "Encrypt", encrypt);
    push_reply_tail(&mut out, msg_signature, timestamp, nonce);
    out
}

/// What [`reply`] writes before `<Encrypt>`.
const REPLY_HEAD: &str = "<xml>\n";

/// Room for a reply envelope around an Encrypt of `encrypt_len` bytes
/// (markup, a 40-digit signature, a timestamp of up to 20 digits).
fn reply_len(encrypt_len: usize, nonce_len: usize) -> usize {
    encrypt_len + nonce_len + 200
}

/// What [`reply`] writes after `</Encrypt>`.
fn push_reply_tail(out: &mut String, msg_signature: &str, timestamp: &str, nonce: &str) {
    out.push('\n');
    xml::push_element(out, "MsgSignature", msg_signature);
    push_reply_end(out, timestamp, nonce);
}

/// What [`push_reply_tail`] writes after `MsgSignature`.
fn push_reply_end(out: &mut String, timestamp: &str, nonce: &str) {
    out.push_str("\n<TimeStamp>");
    xml::push_text(out, timestamp);
    out.push_str("</TimeStamp>\n");
    xml::push_element(out, "Nonce", nonce);
    out.push_str("\n</xml>");
}

/// The JSON passive-reply envelope of the robot and the vendor's JSON
/// callback libraries (WeCom doc 智能机器人 回调和回复的加解密方案):
/// `{"encrypt":…,"msgsignature":…,"timestamp":…,"nonce":…}`, all strings.
pub fn reply_json(encrypt: &str, msg_signature: &str, timestamp: &str, nonce: &str) -> String {
    serde_json::json!({
        "encrypt": encrypt,
        "msgsignature": msg_signature,
        "timestamp": timestamp,
        "nonce": nonce,
    })
    .to_string()
}

/// The reply envelope in `format`: [`reply`] or [`reply_json`].
pub fn reply_as(
    format: BodyFormat,
    encrypt: &str,
    msg_signature: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    match format {
        BodyFormat::Xml => reply(encrypt, msg_signature, timestamp, nonce),
        BodyFormat::Json => reply_json(encrypt, msg_signature, timestamp, nonce),
    }
}

/// A parsed passive-reply envelope, as WeCom reads it: the other side of
/// [`reply`]. Used by the test kit to open replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyEnvelope {
    /// `Encrypt`: base64 ciphertext.
    pub encrypt: String,
    /// `MsgSignature`: 40 lowercase hex digits.
    pub msg_signature: String,
    /// `TimeStamp`: unix seconds as decimal text.
    pub timestamp: String,
    /// `Nonce`.
    pub nonce: String,
}

impl ReplyEnvelope {
    /// Parses a JSON reply envelope (see [`reply_json`]); also accepts the
    /// WeChat JSON keys `Encrypt`, `MsgSignature`, `TimeStamp` (string or
    /// number), `Nonce`.
    ///
    /// # Errors
    /// [`CryptoErrorKind::ParseXml`] unless each member is present once.
    pub fn parse_json(body: &[u8]) -> Result<Self, CryptoError> {
        use serde_json::Value;
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return Err(parse_error());
        };
        let get = |lower: &str, upper: &str| -> Result<String, CryptoError> {
            match (map.get(lower), map.get(upper)) {
                (Some(Value::String(s)), None) | (None, Some(Value::String(s))) => Ok(s.clone()),
                (Some(Value::Number(n)), None) | (None, Some(Value::Number(n))) => {
                    Ok(n.to_string())
                }
                _ => Err(parse_error()),
            }
        };
        Ok(Self {
            encrypt: get("encrypt", "Encrypt")?,
            msg_signature: get("msgsignature", "MsgSignature")?,
            timestamp: get("timestamp", "TimeStamp")?,
            nonce: get("nonce", "Nonce")?,
        })
    }

    /// Parses a reply envelope.
    ///
    /// # Errors
    /// [`CryptoErrorKind::ParseXml`] if the document is not a flat `<xml>`
    /// with exactly one of each element.
    pub fn parse(body: &[u8]) -> Result<Self, CryptoError> {
        let mut doc = parse_flat(body)?;
        Ok(Self {
            encrypt: take_base64(&mut doc, "Encrypt")?.into_owned(),
            msg_signature: take_required(&mut doc, "MsgSignature")?.into_owned(),
            timestamp: take_required(&mut doc, "TimeStamp")?.into_owned(),
            nonce: take_required(&mut doc, "Nonce")?.into_owned(),
        })
    }
}

/// The envelope-aware halves of [`MsgCrypt`]: open a POST body, seal a
/// passive reply. They live here so that imports point one way (the
/// envelope uses the crypto, never the reverse).
impl MsgCrypt {
    /// Opens a POST body: parses the XML envelope
    /// (`<xml><ToUserName/><AgentID/><Encrypt/></xml>`, see
    /// [`crate::envelope`]), checks `msg_signature` over its Encrypt and
    /// decrypts it.
    ///
    /// # Errors
    /// [`CryptoErrorKind::ParseXml`] (-40002) for a bad envelope, then as
    /// [`MsgCrypt::decrypt`].
    pub fn decrypt_msg(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        post_body: &[u8],
    ) -> Result<Decrypted, CryptoError> {
        let text = crate::crypto::utf8(post_body).ok_or_else(parse_error)?;
        if let Some(envelope) = Envelope::scan_unchecked(text) {
            // What `Envelope::parse` then `decrypt` answer, with the
            // alphabet check of `Encrypt` (most of the body) made only when
            // the decryption fails: when it succeeds, the strict base64
            // decoder has refused every byte the check refuses. A text
            // that fails the check is a malformed envelope, whatever the
            // signature says, as `Envelope::parse` would have answered.
            let encrypt = envelope.encrypt();
            return self
                .decrypt(msg_signature, timestamp, nonce, encrypt)
                .map_err(|error| {
                    if is_base64_text(encrypt) {
                        error
                    } else {
                        parse_error()
                    }
                });
        }
        let envelope = Envelope::parse(post_body)?;
        self.decrypt(msg_signature, timestamp, nonce, envelope.encrypt())
    }

    /// Seals a passive reply into the envelope WeCom expects
    /// (`Encrypt`, `MsgSignature`, `TimeStamp`, `Nonce`; see
    /// [`reply`]) with a random prefix from [`ThreadRandom`] (a CSPRNG
    /// seeded from the operating system).
    /// `timestamp` and `nonce` are the reply's own (fresh ones are best).
    ///
    /// # Errors
    /// [`CryptoErrorKind::EncryptAes`] if the random source fails.
    pub fn encrypt_msg(
        &self,
        reply_msg: &str,
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CryptoError> {
        self.encrypt_msg_with(
            reply_msg,
            timestamp,
            nonce,
            self.primary_receive_id(),
            &ThreadRandom,
        )
    }

    /// As [`MsgCrypt::encrypt_msg`], with the receive id and random source
    /// given (the seam for deterministic tests).
    ///
    /// # Errors
    /// [`CryptoErrorKind::EncryptAes`] if `random` fails;
    /// [`CryptoErrorKind::ValidateReceiveId`] if `receive_id` is not one of
    /// the configured ids.
    pub fn encrypt_msg_with(
        &self,
        reply_msg: &str,
        timestamp: &str,
        nonce: &str,
        receive_id: &str,
        random: &dyn RandomSource,
    ) -> Result<String, CryptoError> {
        if !self.accepts(receive_id) {
            return Err(CryptoError::new(CryptoErrorKind::ValidateReceiveId));
        }
        let mut prefix = [0u8; 16];
        random
            .fill(&mut prefix)
            .map_err(|_| CryptoError::new(CryptoErrorKind::EncryptAes))?;
        self.seal_reply(
            BodyFormat::Xml,
            reply_msg.as_bytes(),
            receive_id,
            prefix,
            timestamp,
            nonce,
        )
    }

    /// Encrypts `reply_msg` for `receive_id` with `prefix`, signs it and
    /// writes the reply envelope in `format`: the same bytes as
    /// [`reply_as`] over [`MsgCrypt::encrypt_for`] and
    /// [`MsgCrypt::signature`]. For XML the base64 text is encoded straight
    /// into the envelope, which needs no escaping (base64 has no character
    /// CDATA must guard), instead of being built apart and copied through
    /// the CDATA writer.
    ///
    /// # Errors
    /// [`CryptoErrorKind::IllegalBuffer`] if `reply_msg` exceeds
    /// `u32::MAX` bytes.
    pub(crate) fn seal_reply(
        &self,
        format: BodyFormat,
        reply_msg: &[u8],
        receive_id: &str,
        prefix: [u8; 16],
        timestamp: &str,
        nonce: &str,
    ) -> Result<String, CryptoError> {
        if format == BodyFormat::Json {
            let encrypt = self.encrypt_for(reply_msg, receive_id, prefix)?;
            let signature = self.signature(timestamp, nonce, &encrypt);
            return Ok(reply_json(&encrypt, &signature, timestamp, nonce));
        }
        // Frame, padding and base64: 4/3 of the message plus a little.
        let encrypt_len = (reply_msg.len() + receive_id.len() + 52) / 3 * 4 + 4;
        let mut out = String::with_capacity(reply_len(encrypt_len, nonce.len()));
        out.push_str(REPLY_HEAD);
        out.push_str("<Encrypt><![CDATA[");
        let start = out.len();
        self.encrypt_into(reply_msg, receive_id, prefix, &mut out)?;
        let signature = self.signature_hex(timestamp, nonce, out.get(start..).unwrap_or_default());
        out.push_str("]]></Encrypt>");
        // The signature is 40 hex digits of our own: nothing the CDATA
        // writer would change, so it is copied as it is.
        out.push_str("\n<MsgSignature><![CDATA[");
        out.push_str(signature.as_str());
        out.push_str("]]></MsgSignature>");
        push_reply_end(&mut out, timestamp, nonce);
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rejected(body: &str) -> bool {
        Envelope::parse(body.as_bytes()).map_err(|e| e.kind()) == Err(CryptoErrorKind::ParseXml)
    }

    #[test]
    fn accepts_real_layouts() {
        let env = Envelope::parse(
            b"<xml>\n   <ToUserName><![CDATA[ww1]]></ToUserName>\n   <Encrypt><![CDATA[a+b/c=]]></Encrypt>\n   <AgentID><![CDATA[218]]></AgentID>\n</xml>\n",
        )
        .unwrap();
        assert_eq!(env.encrypt(), "a+b/c=");
        assert_eq!(env.to_user_name(), Some("ww1"));
        assert_eq!(env.agent_id(), Some("218"));
        // The vendor's layout is read by the one-scan path.
        let vendor = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[a+b/c=]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>";
        assert_eq!(Envelope::scan(vendor), Some(env));
        let env = Envelope::parse(
            b"<?xml version=\"1.0\"?><xml><Encrypt>abc</Encrypt><Other>1</Other></xml>",
        )
        .unwrap();
        assert_eq!(env.encrypt(), "abc");
        assert_eq!(env.to_user_name(), None);
        let env =
            Envelope::parse(b"<xml><Encrypt>abc</Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
                .unwrap();
        assert_eq!(env.agent_id(), Some(""));
    }

    #[test]
    fn refuses_ambiguous_or_dangerous_bodies() {
        for body in [
            "",
            "hello",
            "{\"encrypt\":\"abc\"}",
            "<xml></xml>",
            "<xml><ToUserName>a</ToUserName></xml>",
            "<xml><Encrypt></Encrypt></xml>",
            "<xml><Encrypt>a</Encrypt><Encrypt>a</Encrypt></xml>",
            "<xml><encrypt>a</encrypt></xml>",
            "<foo><Encrypt>a</Encrypt></foo>",
            "<xml><Encrypt>a</Encrypt></xml><xml><Encrypt>b</Encrypt></xml>",
            "<xml><Encrypt>a</Encrypt></xml>junk",
            "<xml><Encrypt><a>x</a></Encrypt></xml>",
            "<xml><Encrypt>a</Encrypt><Deep><a/></Deep></xml>",
            "<xml><Encrypt>&#65;</Encrypt></xml>",
            "<xml><Encrypt>a&amp;b</Encrypt></xml>",
            "<xml><Encrypt>&foo;</Encrypt></xml>",
            "<xml><Encrypt>ab c</Encrypt></xml>",
            "<!DOCTYPE x><xml><Encrypt>a</Encrypt></xml>",
            "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&xxe;</Encrypt></xml>",
            "<xml><ToUserName>a</ToUserName><ToUserName>b</ToUserName><Encrypt>a</Encrypt></xml>",
            "<xml><ToUserName>a&amp;b</ToUserName><Encrypt>a</Encrypt></xml>",
            "<xml><AgentID>&#49;</AgentID><Encrypt>a</Encrypt></xml>",
        ] {
            assert!(rejected(body), "{body}");
        }
        assert!(Envelope::parse(b"<xml><Encrypt>a</Encrypt>\xff</xml>").is_err());
    }

    #[test]
    fn reply_timestamp_cannot_break_the_document() {
        let text = reply(
            "ab+/=",
            "0123456789abcdef0123456789abcdef01234567",
            "17\u{1}\u{ffff}00",
            "n",
        );
        let env = ReplyEnvelope::parse(text.as_bytes()).unwrap();
        assert_eq!(env.timestamp, "1700");
    }

    #[test]
    fn reply_round_trips() {
        let text = reply(
            "ab+/=",
            "0123456789abcdef0123456789abcdef01234567",
            "1700000000",
            "n]]>1",
        );
        let env = ReplyEnvelope::parse(text.as_bytes()).unwrap();
        assert_eq!(env.encrypt, "ab+/=");
        assert_eq!(
            env.msg_signature,
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert_eq!(env.timestamp, "1700000000");
        assert_eq!(env.nonce, "n]]>1");
    }

    #[test]
    fn sealed_reply_is_the_envelope_around_encrypt_for() {
        use crate::crypto::FixedRandom;
        let crypt = MsgCrypt::new(
            "QDG6eK",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            "wx5823bf96d3bd56c7",
        )
        .unwrap();
        let random = FixedRandom::new(*b"0123456789abcdef");
        // Lengths around every padding value and base64 remainder.
        for len in (0..70).chain([1000, 4097]) {
            let msg = "x]]>\u{1}".repeat(len / 5 + 1);
            let msg = &msg[..len.min(msg.len())];
            let sealed = crypt
                .encrypt_msg_with(msg, "1700000000", "n]]>1", "wx5823bf96d3bd56c7", &random)
                .unwrap();
            let encrypt = crypt
                .encrypt_for(msg.as_bytes(), "wx5823bf96d3bd56c7", *b"0123456789abcdef")
                .unwrap();
            let signature = crypt.signature("1700000000", "n]]>1", &encrypt);
            assert_eq!(sealed, reply(&encrypt, &signature, "1700000000", "n]]>1"));
            let json = crypt
                .seal_reply(
                    BodyFormat::Json,
                    msg.as_bytes(),
                    "wx5823bf96d3bd56c7",
                    *b"0123456789abcdef",
                    "1700000000",
                    "n",
                )
                .unwrap();
            let signature = crypt.signature("1700000000", "n", &encrypt);
            assert_eq!(json, reply_json(&encrypt, &signature, "1700000000", "n"));
        }
    }

    #[test]
    fn cdata_writer_fast_path_agrees_with_the_rule_at_every_offset() {
        // The rule: drop what XML cannot carry, then split every `]]>`.
        fn expected(text: &str) -> String {
            let kept: String = text
                .chars()
                .filter(|&c| !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'))
                .collect();
            format!("<![CDATA[{}]]>", kept.replace("]]>", "]]]]><![CDATA[>"))
        }
        let specials = [
            "]]>",
            "]",
            "]]",
            ">",
            "\u{1}",
            "\t",
            "\n",
            "\u{ffff}",
            "\u{fffe}",
            "\u{efbf}",
            "中",
            "]]\u{ffff}>",
            "]\u{1}]>",
        ];
        for before in 0..70 {
            for special in specials {
                for after in [0, 1, 31, 32, 33, 64] {
                    let text = format!("{}{special}{}", "a".repeat(before), ">".repeat(after));
                    let mut out = String::new();
                    xml::push_cdata(&mut out, &text);
                    assert_eq!(out, expected(&text), "{text:?}");
                    let text = format!(
                        "{}{special}{special}{}",
                        "中".repeat(before),
                        "b".repeat(after)
                    );
                    let mut out = String::new();
                    xml::push_cdata(&mut out, &text);
                    assert_eq!(out, expected(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn base64_check_sees_every_byte_of_every_chunk() {
        let good = "A".repeat(200);
        assert!(is_base64_text(&good));
        assert!(is_base64_text("azAZ09+/="));
        assert!(!is_base64_text(""));
        for at in [0, 1, 63, 64, 65, 127, 128, 199] {
            for bad in ['-', '_', ' ', '\n', '@', '[', '`', '{', ':', '\u{0}', 'é'] {
                let mut text = good.clone();
                text.replace_range(at..=at, &bad.to_string());
                assert!(!is_base64_text(&text), "{bad:?} at {at}");
            }
        }
    }

    /// The reading before `xml::parse_trusting`: every character checked
    /// by the XML reader, then the same field rules.
    fn parse_checking_all(body: &[u8]) -> Result<Envelope<'_>, CryptoErrorKind> {
        let text = std::str::from_utf8(body).map_err(|_| CryptoErrorKind::ParseXml)?;
        let mut doc = xml::parse(text).map_err(|_| CryptoErrorKind::ParseXml)?;
        if doc.root != "xml" || doc.children.iter().any(|c| c.nested || c.has_ref) {
            return Err(CryptoErrorKind::ParseXml);
        }
        Ok(Envelope {
            encrypt: take_base64(&mut doc, "Encrypt").map_err(|e| e.kind())?,
            to_user_name: take(&mut doc, "ToUserName").map_err(|e| e.kind())?,
            agent_id: take(&mut doc, "AgentID").map_err(|e| e.kind())?,
        })
    }

    const PIECES: &[&str] = &[
        "<xml>",
        "</xml>",
        "<Encrypt>",
        "</Encrypt>",
        "<ToUserName>",
        "</ToUserName>",
        "<AgentID>",
        "</AgentID>",
        "<![CDATA[",
        "]]>",
        "aGVsbG8+/w==",
        "ww1",
        "218",
        "&amp;",
        "<",
        ">",
        " ",
        "\n",
        "\r",
        "\r\n",
        "\t",
        "\u{1}",
        "\u{b}",
        "\u{fffe}",
        "\u{ffff}",
        "\u{efbf}",
        "中",
    ];

    /// What `decrypt_msg` answered before it left the alphabet check of
    /// `Encrypt` to the end: the envelope parsed (every check), then
    /// decrypted.
    fn decrypt_msg_reference(
        crypt: &MsgCrypt,
        signature: &str,
        body: &[u8],
    ) -> Result<Decrypted, CryptoErrorKind> {
        let envelope = Envelope::parse(body).map_err(|e| e.kind())?;
        crypt
            .decrypt(signature, "1409659813", "1372623149", envelope.encrypt())
            .map_err(|e| e.kind())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Leaving the alphabet check of `Encrypt` to a failed decryption
        /// changes no outcome: good and bad signatures, Encrypt texts with
        /// bytes out of the alphabet (XML-forbidden ones too), misplaced
        /// `=`, cut short or emptied, in CDATA or not.
        #[test]
        fn decrypt_msg_is_parse_then_decrypt(
            msg in "[a-z中 ]{0,40}",
            edits in proptest::collection::vec(
                (0..400usize, proptest::sample::select(&["A", "+", "/", "=", "-", "_", " ", "\n", "\r", ".", "\u{1}", "é", "]", "&amp;", "\u{ffff}"][..])),
                0..3,
            ),
            keep in proptest::option::of(0..200usize),
            cdata in proptest::bool::ANY,
            sign_edited in proptest::bool::ANY,
        ) {
            let crypt = MsgCrypt::new(
                "QDG6eK",
                "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                "wx5823bf96d3bd56c7",
            )
            .unwrap();
            let original = crypt.encrypt_with_prefix(msg.as_bytes(), [5; 16]).unwrap();
            let mut encrypt = original.clone();
            for (at, with) in &edits {
                // `encrypt` stays ASCII up to the edits, which replace one byte.
                let at = at % encrypt.len().max(1);
                if encrypt.is_char_boundary(at) && encrypt.is_char_boundary(at + 1) {
                    encrypt.replace_range(at..at + 1, with);
                }
            }
            if let Some(keep) = keep {
                while !encrypt.is_char_boundary(keep.min(encrypt.len())) {
                    encrypt.pop();
                }
                encrypt.truncate(keep.min(encrypt.len()));
            }
            let signed = if sign_edited { &encrypt } else { &original };
            let signature = crypt.signature("1409659813", "1372623149", signed);
            let body = if cdata {
                format!("<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>218</AgentID></xml>")
            } else {
                format!("<xml><ToUserName>ww1</ToUserName><Encrypt>{encrypt}</Encrypt></xml>")
            };
            let answer = crypt
                .decrypt_msg(&signature, "1409659813", "1372623149", body.as_bytes())
                .map_err(|e| e.kind());
            proptest::prop_assert_eq!(answer, decrypt_msg_reference(&crypt, &signature, body.as_bytes()), "{:?}", body);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Skipping the character check of `Encrypt` (whose base64 check
        /// refuses what it would have refused) changes no outcome.
        #[test]
        fn trusting_encrypt_to_the_base64_check_changes_nothing(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..24),
            shaped in proptest::collection::vec(
                (
                    proptest::sample::select(&["Encrypt", "ToUserName", "AgentID"][..]),
                    proptest::collection::vec(proptest::sample::select(PIECES), 0..4),
                    proptest::bool::ANY,
                ),
                0..5,
            ),
        ) {
            let soup = pieces.concat();
            let mut vendor = String::from("<xml>");
            for (name, text, cdata) in &shaped {
                let text = text.concat();
                if *cdata {
                    vendor.push_str(&format!("<{name}><![CDATA[{text}]]></{name}>"));
                } else {
                    vendor.push_str(&format!("<{name}>{text}</{name}>"));
                }
            }
            vendor.push_str("</xml>");
            for body in [soup, vendor] {
                let expected = parse_checking_all(body.as_bytes());
                let fast = Envelope::parse(body.as_bytes()).map_err(|e| e.kind());
                proptest::prop_assert_eq!(&fast, &expected, "{:?}", body);
                // The one-scan reading, where it answers, answers the same.
                if let Some(scanned) = Envelope::scan(&body) {
                    proptest::prop_assert_eq!(Ok(scanned), expected, "{:?}", body);
                }
            }
        }
    }
}
