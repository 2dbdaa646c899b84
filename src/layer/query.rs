//! The callback query string: `msg_signature`, `timestamp`, `nonce` and, on
//! GET, `echostr` (WeCom doc 接收消息与事件 概述).
//!
//! Each value is percent-decoded exactly once with a plain percent-decoder:
//! `+` stays `+` (echostr is standard base64; a form decoder that turns `+`
//! into a space is the classic cause of -40001 on URL verification).

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::rejection::RejectionKind;
use crate::crypto::parse_signature_hex;

/// Longest `nonce` accepted, in bytes.
pub(crate) const MAX_NONCE_LEN: usize = 128;
/// Longest `echostr` accepted (after percent-decoding), in bytes.
pub(crate) const MAX_ECHOSTR_LEN: usize = 512;

/// The validated parameters. Which ones a request must carry depends on the
/// endpoint's kind; see [`Query::require`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Query {
    /// `msg_signature` (WeCom; WeChat compatible and safe mode), 40
    /// lowercase hex digits when present.
    pub(crate) msg_signature: Option<String>,
    /// `signature` (WeChat plaintext signature), 40 lowercase hex digits
    /// when present.
    pub(crate) signature: Option<String>,
    pub(crate) timestamp: String,
    pub(crate) timestamp_secs: u64,
    pub(crate) nonce: String,
    pub(crate) echostr: Option<String>,
    /// `encrypt_type` (WeChat: `aes` in compatible and safe mode).
    pub(crate) encrypt_type: Option<String>,
}

impl Query {
    /// The value of a parameter the endpoint's kind requires.
    pub(crate) fn require<'a>(
        value: &'a Option<String>,
        name: &'static str,
    ) -> Result<&'a str, RejectionKind> {
        value
            .as_deref()
            .ok_or(RejectionKind::MissingParameter(name))
    }
}

fn decode(raw: &str, name: &'static str) -> Result<String, RejectionKind> {
    if !raw.contains('%') {
        // Nothing to decode (the usual case: digits, hex, base64 with `+`).
        return Ok(raw.to_owned());
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| RejectionKind::InvalidParameter(name))
}

/// A parameter name, percent-decoded (lossily: a name that is not UTF-8 is
/// no name this module knows).
fn decode_name(raw: &str) -> Cow<'_, str> {
    if raw.contains('%') {
        percent_decode_str(raw).decode_utf8_lossy()
    } else {
        Cow::Borrowed(raw)
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
    const NAMES: [&str; 6] = [
        "msg_signature",
        "timestamp",
        "nonce",
        "echostr",
        "signature",
        "encrypt_type",
    ];
    let mut values: [Option<String>; 6] = Default::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_name(raw_key);
        let Some(index) = NAMES.iter().position(|n| *n == key) else {
            continue;
        };
        let (Some(name), Some(slot)) = (NAMES.get(index), values.get_mut(index)) else {
            continue;
        };
        if slot.is_some() {
            return Err(RejectionKind::DuplicateParameter(name));
        }
        *slot = Some(decode(raw_value, name)?);
    }
    let [
        msg_signature,
        timestamp,
        nonce,
        echostr,
        signature,
        encrypt_type,
    ] = values;
    let signed = match signature_name {
        "signature" => &signature,
        _ => &msg_signature,
    };
    Query::require(signed, signature_name)?;
    for (value, name) in [(&msg_signature, "msg_signature"), (&signature, "signature")] {
        if value
            .as_deref()
            .is_some_and(|v| parse_signature_hex(v).is_none())
        {
            return Err(RejectionKind::InvalidParameter(name));
        }
    }
    let timestamp = timestamp.ok_or(RejectionKind::MissingParameter("timestamp"))?;
    let nonce = nonce.ok_or(RejectionKind::MissingParameter("nonce"))?;
    let timestamp_secs =
        parse_timestamp(&timestamp).ok_or(RejectionKind::InvalidParameter("timestamp"))?;
    if nonce.is_empty()
        || nonce.len() > MAX_NONCE_LEN
        || !nonce.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(RejectionKind::InvalidParameter("nonce"));
    }
    if echostr
        .as_deref()
        .is_some_and(|e| e.is_empty() || e.len() > MAX_ECHOSTR_LEN)
    {
        return Err(RejectionKind::InvalidParameter("echostr"));
    }
    Ok(Query {
        msg_signature,
        signature,
        timestamp,
        timestamp_secs,
        nonce,
        echostr,
        encrypt_type,
    })
}

/// The WeCom reading of a query: `msg_signature` required, and `echostr`
/// too when `with_echostr` (the unit tests' entry point).
#[cfg(test)]
fn parse(query: Option<&str>, with_echostr: bool) -> Result<Query, RejectionKind> {
    let mut q = parse_all(query, "msg_signature")?;
    if with_echostr {
        Query::require(&q.echostr, "echostr")?;
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
        assert_eq!(q.echostr.as_deref(), Some("a+b/==+c%2B"));
        assert_eq!(q.timestamp_secs, 1_409_659_589);
        assert_eq!(q.nonce, "263014780");
    }

    #[test]
    fn names_are_decoded_too() {
        let q = post(&format!(
            "msg%5Fsignature={SIG}&timestamp=1&%6Eonce=7&%FF=x"
        ))
        .unwrap();
        assert_eq!(q.msg_signature.as_deref(), Some(SIG));
        assert_eq!(q.nonce, "7");
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
