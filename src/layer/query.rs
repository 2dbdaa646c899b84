//! The callback query string: `msg_signature`, `timestamp`, `nonce` and, on
//! GET, `echostr` (WeCom doc 接收消息与事件 概述).
//!
//! Each value is percent-decoded exactly once with a plain percent-decoder:
//! `+` stays `+` (echostr is standard base64; a form decoder that turns `+`
//! into a space is the classic cause of -40001 on URL verification).

use percent_encoding::percent_decode_str;

use super::rejection::RejectionKind;
use crate::crypto::is_signature_hex;

/// Longest `nonce` accepted, in bytes.
pub(crate) const MAX_NONCE_LEN: usize = 128;
/// Longest `echostr` accepted (after percent-decoding), in bytes.
pub(crate) const MAX_ECHOSTR_LEN: usize = 512;

/// Where one decoded value sits in [`Query::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: usize,
    end: usize,
}

/// The validated parameters. Which ones a request must carry depends on the
/// endpoint's kind; see [`Query::require`].
///
/// The decoded values sit back to back in one string (one allocation per
/// request, however many parameters), each found by its [`Span`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Query {
    /// The decoded values of the known parameters, back to back.
    text: String,
    msg_signature: Option<Span>,
    signature: Option<Span>,
    timestamp: Span,
    pub(crate) timestamp_secs: u64,
    nonce: Span,
    echostr: Option<Span>,
    encrypt_type: Option<Span>,
}

impl Query {
    /// The value of a parameter the endpoint's kind requires.
    pub(crate) fn require<'a>(
        value: Option<&'a str>,
        name: &'static str,
    ) -> Result<&'a str, RejectionKind> {
        value.ok_or(RejectionKind::MissingParameter(name))
    }

    fn value(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    fn optional(&self, span: Option<Span>) -> Option<&str> {
        span.map(|span| self.value(span))
    }

    /// `msg_signature` (WeCom; WeChat compatible and safe mode), 40
    /// lowercase hex digits when present.
    pub(crate) fn msg_signature(&self) -> Option<&str> {
        self.optional(self.msg_signature)
    }

    /// `signature` (WeChat plaintext signature), 40 lowercase hex digits
    /// when present.
    pub(crate) fn signature(&self) -> Option<&str> {
        self.optional(self.signature)
    }

    /// `timestamp`, as received (`timestamp_secs` is its value).
    pub(crate) fn timestamp(&self) -> &str {
        self.value(self.timestamp)
    }

    pub(crate) fn nonce(&self) -> &str {
        self.value(self.nonce)
    }

    pub(crate) fn echostr(&self) -> Option<&str> {
        self.optional(self.echostr)
    }

    /// `encrypt_type` (WeChat: `aes` in compatible and safe mode).
    pub(crate) fn encrypt_type(&self) -> Option<&str> {
        self.optional(self.encrypt_type)
    }
}

/// Appends `raw`, percent-decoded, to `text`; where it went.
fn decode(text: &mut String, raw: &str, name: &'static str) -> Result<Span, RejectionKind> {
    let start = text.len();
    if !raw.contains('%') {
        // Nothing to decode (the usual case: digits, hex, base64 with `+`).
        text.push_str(raw);
    } else {
        let decoded = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| RejectionKind::InvalidParameter(name))?;
        text.push_str(&decoded);
    }
    Ok(Span {
        start,
        end: text.len(),
    })
}

/// The parameters this module reads, in the order of [`parse_all`]'s slots.
const NAMES: [&str; 6] = [
    "msg_signature",
    "timestamp",
    "nonce",
    "echostr",
    "signature",
    "encrypt_type",
];

/// Which of [`NAMES`] `raw` is once percent-decoded (lossily: a name that
/// is not UTF-8 is no name this module knows). A name as sent, without
/// `%`, is found without decoding.
fn known_name(raw: &str) -> Option<usize> {
    let find = |key: &str| NAMES.iter().position(|n| *n == key);
    match find(raw) {
        Some(index) => Some(index),
        None if raw.contains('%') => find(&percent_decode_str(raw).decode_utf8_lossy()),
        None => None,
    }
}

/// `^[1-9][0-9]{0,9}$` as unix seconds.
fn parse_timestamp(value: &str) -> Option<u64> {
    let bytes = value.as_bytes();
    let first = *bytes.first()?;
    if bytes.len() > 10 || first == b'0' || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    value.parse().ok()
}

/// Parses `query`: each known parameter at most once, the `signature_name`
/// parameter (the one the endpoint's kind signs with), `timestamp` and
/// `nonce` required (reported in that order), all of them well-formed,
/// `msg_signature`, `signature` and `echostr` well-formed when present.
/// Unknown parameters (`openid`, …) are ignored.
pub(crate) fn parse_all(
    query: Option<&str>,
    signature_name: &'static str,
) -> Result<Query, RejectionKind> {
    let query = query.unwrap_or("");
    // Decoding never lengthens a value: one allocation holds them all.
    let mut text = String::with_capacity(query.len());
    let mut values: [Option<Span>; 6] = Default::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(index) = known_name(raw_key) else {
            continue;
        };
        let (Some(name), Some(slot)) = (NAMES.get(index), values.get_mut(index)) else {
            continue;
        };
        if slot.is_some() {
            return Err(RejectionKind::DuplicateParameter(name));
        }
        *slot = Some(decode(&mut text, raw_value, name)?);
    }
    let [
        msg_signature,
        timestamp,
        nonce,
        echostr,
        signature,
        encrypt_type,
    ] = values;
    let mut query = Query {
        text,
        msg_signature,
        signature,
        timestamp: Span::default(),
        timestamp_secs: 0,
        nonce: Span::default(),
        echostr,
        encrypt_type,
    };
    let signed = match signature_name {
        "signature" => query.signature(),
        _ => query.msg_signature(),
    };
    Query::require(signed, signature_name)?;
    for (value, name) in [
        (query.msg_signature(), "msg_signature"),
        (query.signature(), "signature"),
    ] {
        if value.is_some_and(|v| !is_signature_hex(v)) {
            return Err(RejectionKind::InvalidParameter(name));
        }
    }
    query.timestamp = timestamp.ok_or(RejectionKind::MissingParameter("timestamp"))?;
    query.nonce = nonce.ok_or(RejectionKind::MissingParameter("nonce"))?;
    query.timestamp_secs =
        parse_timestamp(query.timestamp()).ok_or(RejectionKind::InvalidParameter("timestamp"))?;
    let nonce = query.nonce();
    if nonce.is_empty()
        || nonce.len() > MAX_NONCE_LEN
        || !nonce.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(RejectionKind::InvalidParameter("nonce"));
    }
    if query
        .echostr()
        .is_some_and(|e| e.is_empty() || e.len() > MAX_ECHOSTR_LEN)
    {
        return Err(RejectionKind::InvalidParameter("echostr"));
    }
    Ok(query)
}

/// The WeCom reading of a query: `msg_signature` required, and `echostr`
/// too when `with_echostr` (the unit tests' entry point).
#[cfg(test)]
fn parse(query: Option<&str>, with_echostr: bool) -> Result<Query, RejectionKind> {
    let mut q = parse_all(query, "msg_signature")?;
    if with_echostr {
        Query::require(q.echostr(), "echostr")?;
    } else {
        q.echostr = None;
    }
    Ok(q)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use RejectionKind::*;

    const SIG: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";

    fn post(q: &str) -> Result<Query, RejectionKind> {
        parse(Some(q), false)
    }

    #[test]
    fn decodes_once_and_keeps_plus() {
        let q = parse(
            Some(&format!("msg_signature={SIG}&timestamp=1409659589&nonce=263014780&echostr=a%2Bb%2F%3D%3D+c%252B")),
            true,
        )
        .unwrap();
        assert_eq!(q.echostr(), Some("a+b/==+c%2B"));
        assert_eq!(q.timestamp_secs, 1_409_659_589);
        assert_eq!(q.nonce(), "263014780");
    }

    #[test]
    fn each_value_is_its_own_whatever_the_order() {
        let q = parse_all(
            Some(&format!(
                "encrypt_type=a%65s&openid=o%41&nonce=n%2B1&signature={SIG}&timestamp=1409659589\
                 &echostr=e%3D&msg_signature={SIG}"
            )),
            "msg_signature",
        )
        .unwrap();
        assert_eq!(q.encrypt_type(), Some("aes"));
        assert_eq!(q.nonce(), "n+1");
        assert_eq!(q.signature(), Some(SIG));
        assert_eq!(q.timestamp(), "1409659589");
        assert_eq!(q.echostr(), Some("e="));
        assert_eq!(q.msg_signature(), Some(SIG));
        let q = post(&format!("nonce=7&timestamp=12&msg_signature={SIG}")).unwrap();
        assert_eq!((q.nonce(), q.timestamp(), q.signature()), ("7", "12", None));
    }

    #[test]
    fn names_are_decoded_too() {
        let q = post(&format!(
            "msg%5Fsignature={SIG}&timestamp=1&%6Eonce=7&%FF=x"
        ))
        .unwrap();
        assert_eq!(q.msg_signature(), Some(SIG));
        assert_eq!(q.nonce(), "7");
        assert_eq!(
            post(&format!(
                "msg_signature={SIG}&timestamp=1&nonce=7&%6Eonce=8"
            )),
            Err(DuplicateParameter("nonce"))
        );
    }

    #[test]
    fn requires_each_parameter_once() {
        assert_eq!(
            post("timestamp=1&nonce=1"),
            Err(MissingParameter("msg_signature"))
        );
        assert_eq!(
            post(&format!("msg_signature={SIG}&nonce=1")),
            Err(MissingParameter("timestamp"))
        );
        assert_eq!(
            post(&format!("msg_signature={SIG}&timestamp=1")),
            Err(MissingParameter("nonce"))
        );
        assert_eq!(
            parse(
                Some(&format!("msg_signature={SIG}&timestamp=1&nonce=1")),
                true
            ),
            Err(MissingParameter("echostr"))
        );
        assert_eq!(
            post(&format!(
                "msg_signature={SIG}&timestamp=1&timestamp=1&nonce=1"
            )),
            Err(DuplicateParameter("timestamp"))
        );
        assert_eq!(parse(None, false), Err(MissingParameter("msg_signature")));
        assert!(post(&format!("msg_signature={SIG}&timestamp=1&nonce=1&openid=x")).is_ok());
    }

    #[test]
    fn validates_formats() {
        for ts in [
            "",
            "0",
            "01",
            "+1476422779",
            "%201476422779",
            "1476422779a",
            "-1",
            "0x1",
            "14764227791597",
            "99999999999",
        ] {
            assert_eq!(
                post(&format!("msg_signature={SIG}&timestamp={ts}&nonce=1")),
                Err(InvalidParameter("timestamp")),
                "{ts}"
            );
        }
        assert!(post(&format!("msg_signature={SIG}&timestamp=9999999999&nonce=1")).is_ok());
        for sig in [
            "",
            "5c45",
            &SIG.to_uppercase(),
            &format!("{SIG}0"),
            &format!("{}g", &SIG[..39]),
        ] {
            assert_eq!(
                post(&format!("msg_signature={sig}&timestamp=1&nonce=1")),
                Err(InvalidParameter("msg_signature")),
                "{sig}"
            );
        }
        for nonce in ["", "a%20b", "%00", &"1".repeat(129)] {
            assert_eq!(
                post(&format!("msg_signature={SIG}&timestamp=1&nonce={nonce}")),
                Err(InvalidParameter("nonce")),
                "{nonce}"
            );
        }
        assert_eq!(
            parse(
                Some(&format!(
                    "msg_signature={SIG}&timestamp=1&nonce=1&echostr={}",
                    "A".repeat(513)
                )),
                true
            ),
            Err(InvalidParameter("echostr"))
        );
        assert_eq!(
            post(&format!("msg_signature={SIG}&timestamp=1&nonce=%FF")),
            Err(InvalidParameter("nonce"))
        );
    }
}
