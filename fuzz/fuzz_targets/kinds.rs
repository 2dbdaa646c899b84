//! The whole layer for every endpoint kind `pipeline` does not reach: the
//! WeCom app in the JSON callback format, the robot, the Official Account
//! in plaintext, compatible and safe mode, the Open Platform, the suite
//! instruction callback and the suite data callback. The request is built
//! the kind's way by `TestKit::post` (or `verify_url`), so the fuzzer's
//! plaintext gets past the signature; what the handler sees and what the
//! platform would read back are checked (SECURITY.md T24, T28; issue 19
//! points 6 and 7).
//!
//! Input: `[kind][flags][timestamp offset: i8 × 3 s][payload…]`
//! * kind (mod 8): 0 WeCom app, JSON format; 1 robot; 2 Official Account
//!   plaintext; 3 compatible; 4 safe; 5 Open Platform; 6 suite instruction;
//!   7 suite data (authorized corps A and B);
//! * flags bit 0: the payload is `FromUserName`, 0x00, `Content` of a
//!   message the target writes in the kind's own format (JSON for 0 and 1,
//!   XML otherwise; bit 1: XML texts in CDATA rather than with entities),
//!   bad characters kept; otherwise the payload is the plaintext as is
//!   (lossy UTF-8, except in plaintext mode, where the raw bytes are the
//!   body);
//! * bits 2–3: the handler's answer: 0 a text reply of the message's own
//!   text, 1 `Reply::ack()`, 2 an empty 200 without a `Reply`, 3 a reply
//!   the kind cannot carry;
//! * bits 4–5: the receive id the POST is encrypted for: 0 the endpoint's
//!   own, 1 corp B (suite data; others: own), 2 a foreign corp, 3 the
//!   provider's corp id (suite data) or `""` (others);
//! * bit 6: a GET URL verification whose echostr is the payload.
//!
//! Oracles: status is 200, or a 4xx, or (only for a reply the kind cannot
//! carry) a 500 `UnsupportedReply`; the handler is called iff the
//! timestamp is in the window, the receive id is one the kind accepts, the
//! compatible-mode body carries the signed `Encrypt` (`Envelope::parse_compat`)
//! and the kind's parser accepts the plaintext (`Message::parse`,
//! `Message::parse_json` for a JSON endpoint's `{…}`, `BotMessage::parse`),
//! and it then gets exactly that message, the plaintext as body and the
//! authenticated context. A written message is accepted iff its texts hold
//! only characters XML 1.0 allows, in JSON as in XML. A text reply opens
//! with `TestKit::open_reply` and reads back exactly (XML for a strict
//! parser, plain XML in plaintext mode, JSON for the robot); the
//! acknowledgement is the kind's own (`success` or empty); a GET answers
//! iff the echostr is 1 to 64 (WeCom) or 128 (WeChat) alphanumerics,
//! with exactly it.
#![no_main]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tower::ServiceExt;
use wecom_callback::crypto::FixedRandom;
use wecom_callback::envelope::Envelope;
use wecom_callback::testing::TestKit;
use wecom_callback::{
    AuthorizedCorps, BotMessage, CallbackBody, CallbackContext, CallbackKind, Endpoint, FixedClock,
    Message, OfficialAccountMode, Rejection, RejectionKind, Reply, WeComCallbackLayer,
};
use wecom_callback_fuzz::{
    CORP_ID, ENCODING_AES_KEY, Node, PATH, TOKEN, block_on, cdata_text, check_reply_xml, eol,
    escape_text, is_xml_char, percent_decode, reply_tree, split_at_byte,
};

const NOW: u64 = 1_409_659_700;
const TOLERANCE: u64 = 300;
/// The Official Account's appid and original id.
const APPID: &str = "wx2b3c4d5e6f708192";
const GH_ID: &str = "gh_7f083739789a";
/// The Open Platform component's appid.
const COMPONENT_APPID: &str = "wx3c4d5e6f70819203";
const SUITE_ID: &str = "ww4asffe99e54c0f";
/// The suite provider's own corp id and two corps that authorized it.
const PROVIDER: &str = "ww1a2b3c4d5e6f7080";
const CORP_A: &str = "wwa0000000000000a1";
const CORP_B: &str = "wwb0000000000000b2";
const FOREIGN: &str = "wwf0000000000000f3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AppJson,
    Bot,
    OaPlain,
    OaCompat,
    OaSafe,
    OpenPlatform,
    Suite,
    SuiteData,
}

impl Kind {
    fn from_byte(b: u8) -> Self {
        match b % 8 {
            0 => Self::AppJson,
            1 => Self::Bot,
            2 => Self::OaPlain,
            3 => Self::OaCompat,
            4 => Self::OaSafe,
            5 => Self::OpenPlatform,
            6 => Self::Suite,
            _ => Self::SuiteData,
        }
    }

    fn endpoint(self) -> Endpoint {
        let (t, k) = (TOKEN, ENCODING_AES_KEY);
        match self {
            Self::AppJson => Endpoint::wecom_app(t, k, CORP_ID).map(Endpoint::json),
            Self::Bot => Endpoint::wecom_bot(t, k),
            Self::OaPlain => Endpoint::official_account_plain(t, APPID),
            Self::OaCompat => Endpoint::official_account_compat(t, k, APPID),
            Self::OaSafe => Endpoint::official_account_safe(t, k, APPID),
            Self::OpenPlatform => Endpoint::open_platform(t, k, COMPONENT_APPID),
            Self::Suite => Endpoint::wecom_suite(t, k, SUITE_ID),
            Self::SuiteData => {
                Endpoint::wecom_suite_data(t, k, PROVIDER, AuthorizedCorps::list([CORP_A, CORP_B]))
            }
        }
        .expect("valid settings")
    }

    /// The receive id a POST carries by default.
    fn own_id(self) -> &'static str {
        match self {
            Self::AppJson => CORP_ID,
            Self::Bot | Self::OaPlain => "",
            Self::OaCompat | Self::OaSafe => APPID,
            Self::OpenPlatform => COMPONENT_APPID,
            Self::Suite => SUITE_ID,
            Self::SuiteData => CORP_A,
        }
    }

    /// The receive id the POST is encrypted for, by the input's choice.
    fn post_id(self, choice: u8) -> &'static str {
        match (choice, self) {
            (1, Self::SuiteData) => CORP_B,
            (2, _) => FOREIGN,
            (3, Self::SuiteData) => PROVIDER,
            (3, _) => "",
            _ => self.own_id(),
        }
    }

    /// Whether the layer must accept a POST encrypted for `id`.
    fn accepts_id(self, id: &str) -> bool {
        match self {
            // Nothing is encrypted: there is no receive id to check.
            Self::OaPlain => true,
            Self::SuiteData => id == CORP_A || id == CORP_B,
            _ => id == self.own_id(),
        }
    }

    fn json(self) -> bool {
        matches!(self, Self::AppJson | Self::Bot)
    }

    /// WeChat kinds: `signature` GETs with the echostr echoed, 1 to 128
    /// characters; WeCom kinds decrypt it and allow 1 to 64.
    fn max_echostr(self) -> usize {
        match self {
            Self::OaPlain | Self::OaCompat | Self::OaSafe | Self::OpenPlatform => 128,
            _ => 64,
        }
    }

    /// Whether the kind can carry a text reply (suite instruction callbacks
    /// and Open Platform pushes carry none).
    fn replies(self) -> bool {
        !matches!(self, Self::Suite | Self::OpenPlatform)
    }
}

/// A message of `kind` with the fuzzer's `from` and `content`, written as
/// the platform would: JSON for the WeCom app's JSON format and the robot
/// (serde_json escapes control characters as `\u00XX`, which the parser
/// decodes again), XML otherwise (texts escaped, or in CDATA). Characters
/// XML cannot carry are kept, so the parser sees them.
fn written(kind: Kind, receive_id: &str, from: &str, content: &str, cdata: bool) -> String {
    match kind {
        Kind::Bot => {
            return json!({
                "msgid": "m42",
                "aibotid": "AIBOTID",
                "chattype": "single",
                "from": {"userid": from},
                "response_url": "https://example.invalid/response",
                "msgtype": "text",
                "text": {"content": content},
            })
            .to_string();
        }
        Kind::AppJson => {
            return json!({
                "ToUserName": CORP_ID,
                "FromUserName": from,
                "CreateTime": NOW,
                "MsgType": "text",
                "Content": content,
                "MsgId": 42,
                "AgentID": 1,
            })
            .to_string();
        }
        _ => {}
    }
    let w = |text: &str| {
        if cdata {
            cdata_text(text)
        } else {
            escape_text(text)
        }
    };
    let (from, content) = (w(from), w(content));
    match kind {
        Kind::OpenPlatform => format!(
            "<xml><AppId>{COMPONENT_APPID}</AppId><CreateTime>{NOW}</CreateTime>\
             <InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid>{from}</AuthorizerAppid>\
             <Content>{content}</Content></xml>"
        ),
        Kind::Suite => format!(
            "<xml><SuiteId><![CDATA[{SUITE_ID}]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType>\
             <TimeStamp>{NOW}</TimeStamp><AuthCorpId>{from}</AuthCorpId><Content>{content}</Content></xml>"
        ),
        Kind::SuiteData => format!(
            "<xml><ToUserName><![CDATA[{receive_id}]]></ToUserName><FromUserName>{from}</FromUserName>\
             <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content>{content}</Content><MsgId>42</MsgId><AgentID>1</AgentID></xml>"
        ),
        // The Official Account in its three modes.
        _ => format!(
            "<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><FromUserName>{from}</FromUserName>\
             <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content>{content}</Content><MsgId>42</MsgId></xml>"
        ),
    }
}

/// What the kind's parser makes of the plaintext.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Message(Message),
    Bot(BotMessage),
}

fn parse(kind: Kind, plain: &str) -> Option<Parsed> {
    match kind {
        Kind::Bot => BotMessage::parse(plain).ok().map(Parsed::Bot),
        Kind::AppJson if plain.trim_start().starts_with('{') => {
            Message::parse_json(plain).ok().map(Parsed::Message)
        }
        _ => Message::parse(plain).ok().map(Parsed::Message),
    }
}

/// The text a handler answers with: the message's content, else its type.
fn reply_text(parsed: &Parsed) -> String {
    match parsed {
        Parsed::Message(m) => m.field("Content").unwrap_or(m.msg_type()).to_owned(),
        Parsed::Bot(b) => b.text_content().unwrap_or(b.msg_type()).to_owned(),
    }
}

/// The first value of `name` in the query of `uri`, percent-decoded.
fn query_value(uri: &http::Uri, name: &str) -> String {
    let query = uri.query().unwrap_or_default();
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .map(|v| String::from_utf8_lossy(&percent_decode(v)).into_owned())
        .unwrap_or_default()
}

/// What the handler saw: the message (or robot message), context, body.
type Seen = Arc<Mutex<Vec<(Option<Parsed>, Option<CallbackContext>, Bytes)>>>;

fn body_of(response: Response<CallbackBody<Full<Bytes>>>) -> Bytes {
    block_on(response.into_body().collect())
        .expect("body")
        .to_bytes()
}

fn all_xml_chars(texts: &[&str]) -> bool {
    texts.iter().all(|t| t.chars().all(is_xml_char))
}

fuzz_target!(|data: &[u8]| {
    let [kind, flags, offset, ref payload @ ..] = *data else {
        return;
    };
    let kind = Kind::from_byte(kind);
    let offset = i64::from(offset as i8) * 3;
    let write = flags & 1 != 0;
    let cdata = flags & 2 != 0;
    let handler = (flags >> 2) & 3;
    let receive_id = kind.post_id((flags >> 4) & 3);
    let get = flags & 0x40 != 0;

    let endpoint = kind.endpoint();
    let timestamp = NOW.saturating_add_signed(offset);
    let in_window = offset.unsigned_abs() <= TOLERANCE;
    let kit = TestKit::new(PATH, &endpoint)
        .at(timestamp)
        .receive_id(receive_id);
    let layer = WeComCallbackLayer::new(PATH, endpoint.clone())
        .expect("valid")
        .clock(FixedClock::from_unix(NOW))
        .random_source(FixedRandom::new([5; 16]));

    let seen: Seen = Arc::default();
    let inner_seen = Arc::clone(&seen);
    let inner = tower::service_fn(move |req: Request<CallbackBody<Full<Bytes>>>| {
        let seen = Arc::clone(&inner_seen);
        async move {
            let (parts, body) = req.into_parts();
            let body = body.collect().await.expect("buffered body").to_bytes();
            let parsed = match (
                parts.extensions.get::<Message>(),
                parts.extensions.get::<BotMessage>(),
            ) {
                (Some(m), None) => Some(Parsed::Message(m.clone())),
                (None, Some(b)) => Some(Parsed::Bot(b.clone())),
                (None, None) => None,
                (Some(_), Some(_)) => panic!("both a Message and a BotMessage"),
            };
            let context = parts.extensions.get::<CallbackContext>().cloned();
            let mut response = Response::new(Full::new(Bytes::new()));
            let reply = match (handler, &parsed) {
                (0, Some(parsed)) => Some(Reply::text(reply_text(parsed))),
                (1, _) => Some(Reply::ack()),
                (3, Some(Parsed::Bot(_))) => Some(Reply::image("MEDIA_ID")),
                (3, _) => Some(Reply::bot_json(json!({"msgtype": "text"}))),
                _ => None,
            };
            if let Some(reply) = reply {
                response.extensions_mut().insert(reply);
            }
            seen.lock()
                .expect("not poisoned")
                .push((parsed, context, body));
            Ok::<_, Infallible>(response)
        }
    });
    let service = tower::ServiceBuilder::new().layer(layer).service(inner);

    if get {
        let echostr = String::from_utf8_lossy(payload);
        let response = block_on(service.oneshot(kit.verify_url(&echostr))).expect("infallible");
        let status = response.status();
        assert!(
            seen.lock().expect("not poisoned").is_empty(),
            "the handler was called for a GET"
        );
        assert!(
            status == StatusCode::OK || status.is_client_error(),
            "GET answered {status}"
        );
        let echo_ok = (1..=kind.max_echostr()).contains(&echostr.len())
            && echostr.bytes().all(|b| b.is_ascii_alphanumeric());
        assert_eq!(
            status == StatusCode::OK,
            in_window && echo_ok,
            "{kind:?} GET answered {status}"
        );
        let body = body_of(response);
        if status == StatusCode::OK {
            assert_eq!(
                body,
                echostr.as_bytes(),
                "verification echoed something else"
            );
        }
        return;
    }

    // The plaintext, and for a message the target writes, whether its texts
    // are all characters XML 1.0 allows.
    let (plain, legal, content): (Vec<u8>, Option<bool>, Option<String>) = if write {
        let (from, content) = split_at_byte(payload, 0);
        let (from, content) = (
            String::from_utf8_lossy(from).into_owned(),
            String::from_utf8_lossy(content).into_owned(),
        );
        let text = written(kind, receive_id, &from, &content, cdata);
        let legal = all_xml_chars(&[&from, &content]);
        (text.into_bytes(), Some(legal), Some(content))
    } else if kind == Kind::OaPlain {
        (payload.to_vec(), None, None)
    } else {
        (
            String::from_utf8_lossy(payload).into_owned().into_bytes(),
            None,
            None,
        )
    };
    let plain_text = std::str::from_utf8(&plain).ok();
    let expected = plain_text.and_then(|p| parse(kind, p));
    if let Some(legal) = legal {
        // Issue 19 point 6: JSON refuses what XML refuses, and nothing else.
        assert_eq!(
            expected.is_some(),
            legal,
            "{kind:?}: the parser {} a written message: {:?}",
            if expected.is_some() {
                "accepts"
            } else {
                "refuses"
            },
            String::from_utf8_lossy(&plain)
        );
    }

    // Build the POST the kind's way; in plaintext mode the body is the
    // fuzzer's bytes as they are (the signature does not cover it).
    let request = kit.post(&String::from_utf8_lossy(&plain));
    let request = if kind == Kind::OaPlain {
        let (parts, _) = request.into_parts();
        Request::from_parts(parts, Full::new(Bytes::from(plain.clone())))
    } else {
        request
    };
    let nonce = query_value(request.uri(), "nonce");
    // Compatible mode: the body is the plaintext with `Encrypt` inserted,
    // and the layer reads the envelope from all of it: the signed
    // `Encrypt` must be the one found there.
    let (request, envelope_ok) = if kind == Kind::OaCompat {
        let (parts, body) = request.into_parts();
        let body = block_on(body.collect()).expect("body").to_bytes();
        let crypt = kit.crypt().expect("compatible mode encrypts");
        let signature = query_value(&parts.uri, "msg_signature");
        let found = Envelope::parse_compat(&body).ok().and_then(|e| {
            crypt
                .decrypt(&signature, &timestamp.to_string(), &nonce, e.encrypt())
                .ok()
        });
        let ok = found.is_some_and(|d| d.msg().as_bytes() == plain.as_slice());
        if legal == Some(true) && kind.accepts_id(receive_id) {
            assert!(ok, "a written message's compatible-mode body is not read");
        }
        (Request::from_parts(parts, Full::new(body)), ok)
    } else {
        (request, true)
    };

    let response = block_on(service.oneshot(request)).expect("infallible");
    let status = response.status();
    let calls = std::mem::take(&mut *seen.lock().expect("not poisoned"));

    let id_ok = kind.accepts_id(receive_id);
    let accepted = in_window && id_ok && envelope_ok && expected.is_some();
    assert_eq!(
        calls.len(),
        usize::from(accepted),
        "{kind:?}: handler calls for a request whose plaintext the parser {} \
         (in window: {in_window}, receive id ok: {id_ok}, envelope ok: {envelope_ok}), status {status}",
        if expected.is_some() {
            "accepts"
        } else {
            "refuses"
        },
    );
    let Some((parsed, context, body)) = calls.into_iter().next() else {
        assert!(status.is_client_error(), "{kind:?}: refused with {status}");
        assert!(body_of(response).len() < 200, "long rejection body");
        return;
    };
    let parsed = parsed.expect("the layer hands the handler the kind's message");
    let context = context.expect("the layer hands the handler a context");
    assert_eq!(Some(&parsed), expected.as_ref());
    assert_eq!(body, plain, "the handler gets the plaintext");
    assert_eq!(context.kind, endpoint.kind());
    assert_eq!(context.timestamp, timestamp);
    assert_eq!(context.nonce, nonce);
    let want_id = if kind == Kind::OaPlain {
        ""
    } else {
        receive_id
    };
    assert_eq!(context.receive_id, want_id);
    match &parsed {
        Parsed::Message(m) => assert_eq!(context.agent_id, m.agent_id()),
        Parsed::Bot(_) => assert_eq!(context.agent_id, None),
    }
    if let Some(content) = &content {
        match &parsed {
            Parsed::Bot(b) => assert_eq!(b.text_content(), Some(content.as_str())),
            Parsed::Message(m) if kind.json() => {
                assert_eq!(m.field("Content"), Some(content.as_str()))
            }
            // `Message::field`: CDATA verbatim; plain text (entities
            // resolved) trimmed of XML whitespace at either end.
            Parsed::Message(m) => {
                let want = if cdata {
                    content.as_str()
                } else {
                    content.trim_matches([' ', '\t', '\r', '\n'])
                };
                assert_eq!(
                    eol(m.field("Content").unwrap_or_default()),
                    eol(want),
                    "the written Content reads differently"
                );
            }
        }
    }

    let unsupported = handler == 3 || (handler == 0 && !kind.replies());
    if unsupported {
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{kind:?}: an unsupported reply"
        );
        assert_eq!(
            response
                .extensions()
                .get::<Rejection>()
                .map(Rejection::kind),
            Some(RejectionKind::UnsupportedReply)
        );
        return;
    }
    assert_eq!(status, StatusCode::OK, "{kind:?}: handled with {status}");
    if handler != 0 {
        let ack = endpoint.kind().ack_body();
        assert_eq!(
            body_of(response),
            ack.as_bytes(),
            "{kind:?}: not the kind's acknowledgement"
        );
        return;
    }
    let opened = match block_on(kit.open_reply(response)) {
        Ok(plain) => plain,
        Err(e) => panic!("{kind:?}: the reply does not open: {e}"),
    };
    let text = reply_text(&parsed);
    match &parsed {
        Parsed::Bot(_) => {
            let value: serde_json::Value = match serde_json::from_str(&opened) {
                Ok(v) => v,
                Err(e) => panic!("the robot's reply is not JSON ({e}): {opened:?}"),
            };
            assert_eq!(value, json!({"msgtype": "text", "text": {"content": text}}));
        }
        Parsed::Message(m) => {
            if endpoint.kind() == CallbackKind::OfficialAccount(OfficialAccountMode::Plaintext) {
                assert!(
                    opened.starts_with("<xml>"),
                    "plaintext mode answers plain XML"
                );
            }
            let want = reply_tree(
                m.from_user_name(),
                m.to_user_name(),
                NOW,
                "text",
                vec![Node::leaf("Content", &text)],
            );
            check_reply_xml(&opened, &want);
        }
    }
});
