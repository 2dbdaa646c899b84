//! Test kit (feature `test-util`): build signed, encrypted callback requests
//! the way WeCom does, and open encrypted replies, so handlers can be unit
//! tested with `tower::ServiceExt::oneshot`.
//!
//! # Example
//! ```
//! use axum::{Router, routing::post};
//! use http::StatusCode;
//! use tower::ServiceExt;
//! use wecom_callback::testing::TestKit;
//! use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
//! let kit = TestKit::new("/cb", &endpoint);
//! let app = Router::new()
//!     .route("/cb", post(|m: Message| async move { Reply::text(format!("hi {}", m.from_user_name())) }))
//!     .layer(WeComCallbackLayer::new("/cb", endpoint)?);
//!
//! let request = kit.post(&TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "hello"));
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! let reply = kit.open_reply(response).await?;
//! assert!(reply.contains("<Content><![CDATA[hi zhangsan]]></Content>"));
//! # Ok(())
//! # }
//! ```

use std::fmt;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::crypto::{
    CryptoError, CryptoErrorKind, MsgCrypt, OsRandom, RandomSource, plain_signature, random_nonce,
};
use crate::endpoint::{BodyFormat, CallbackKind, Endpoint, OfficialAccountMode, Scheme};
use crate::envelope::ReplyEnvelope;
use crate::layer::SystemClock;
use crate::layer::clock::unix_secs;
use crate::xml;

/// Builds requests as WeCom or WeChat sends them to one endpoint, of any
/// [`CallbackKind`], and opens replies as they read them.
#[derive(Debug, Clone)]
pub struct TestKit {
    path: String,
    endpoint: Endpoint,
    receive_id: Option<String>,
    timestamp: Option<u64>,
}

/// Why [`TestKit::open_reply`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenReplyError {
    /// The response body could not be read.
    Body(Box<dyn std::error::Error + Send + Sync>),
    /// The body is not a reply envelope, its signature is wrong, or it does
    /// not decrypt.
    Crypto(CryptoError),
    /// The response carries no envelope (e.g. an empty 200 or `success`).
    Empty,
}

impl fmt::Display for OpenReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body(e) => write!(f, "reading the reply body failed: {e}"),
            Self::Crypto(e) => write!(f, "the reply does not open: {e}"),
            Self::Empty => {
                f.write_str("the response is an acknowledgement, not an encrypted reply")
            }
        }
    }
}

impl std::error::Error for OpenReplyError {}

/// What a response to a callback means to the platform, as
/// [`TestKit::open`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Opened {
    /// The kind's acknowledgement: an empty body, or `success` where the
    /// kind expects it.
    Ack,
    /// A passive reply: the decrypted plaintext (XML, or JSON for the
    /// robot), or the plaintext XML of an Official Account in plaintext
    /// mode.
    Reply(String),
}

/// Query values and Encrypt text of one sealed plaintext.
struct Sealed {
    timestamp: String,
    nonce: String,
    encrypt: String,
    signature: String,
}

fn now_secs() -> u64 {
    unix_secs(&SystemClock)
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// A fresh 63-bit message id, so that test messages are never duplicates
/// of each other.
fn fresh_msg_id() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = OsRandom.fill(&mut bytes);
    u64::from_be_bytes(bytes) >> 1
}

impl TestKit {
    /// A kit for `endpoint` served on `path`.
    pub fn new(path: &str, endpoint: &Endpoint) -> Self {
        Self {
            path: path.to_owned(),
            endpoint: endpoint.clone(),
            receive_id: None,
            timestamp: None,
        }
    }

    /// Uses `timestamp` (unix seconds) in every request instead of the
    /// current time, e.g. to pair with a [`FixedClock`](crate::FixedClock).
    #[must_use]
    pub fn at(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Encrypts POSTs for `receive_id` instead of the endpoint's own, e.g.
    /// an authorized corp's id for a suite's data callback.
    #[must_use]
    pub fn receive_id(mut self, receive_id: &str) -> Self {
        self.receive_id = Some(receive_id.to_owned());
        self
    }

    fn timestamp(&self) -> String {
        self.timestamp.unwrap_or_else(now_secs).to_string()
    }

    fn nonce() -> String {
        // Any nonce works; fall back to a constant if the OS source fails.
        random_nonce(&OsRandom).unwrap_or_else(|_| "1".to_owned())
    }

    fn random_prefix() -> [u8; 16] {
        let mut prefix = [0u8; 16];
        let _ = OsRandom.fill(&mut prefix);
        prefix
    }

    /// The URL-verification GET for `echostr_plain` (WeCom sends a decimal
    /// string such as `1616140317555161061`): for WeCom kinds encrypted for
    /// the GET receive id and signed with `msg_signature`; for WeChat kinds
    /// sent as is with the plaintext `signature`. Percent-encoded once.
    pub fn verify_url(&self, echostr_plain: &str) -> Request<Full<Bytes>> {
        if let Scheme::WeChat { .. } = self.endpoint.kind().scheme() {
            let (timestamp, nonce) = (self.timestamp(), Self::nonce());
            let signature = plain_signature(self.endpoint.token(), &timestamp, &nonce);
            let uri = format!(
                "{}?signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr={}",
                self.path,
                encode(echostr_plain)
            );
            return Self::build(Method::GET, &uri, Bytes::new());
        }
        let sealed = self.seal(echostr_plain, self.endpoint.get_receive_id());
        self.request(
            Method::GET,
            &sealed.signature,
            &sealed.timestamp,
            &sealed.nonce,
            Some(&sealed.encrypt),
            Bytes::new(),
        )
    }

    /// The POST the platform would send for the decrypted message
    /// `message` (XML, or JSON for the robot), for the endpoint's kind:
    /// encrypted for its receive id (or [`receive_id`](Self::receive_id)),
    /// in its envelope (XML `ToUserName`/`AgentID`/`Encrypt`, JSON
    /// `encrypt`, WeChat `ToUserName`/`Encrypt`, compatible mode's
    /// plaintext-plus-`Encrypt`, Open Platform `AppId`/`Encrypt`; the
    /// plaintext itself in plaintext mode), signed the kind's way, with the
    /// current (or [`at`](Self::at)) timestamp.
    pub fn post(&self, message: &str) -> Request<Full<Bytes>> {
        let kind = self.endpoint.kind();
        let receive_id = self
            .receive_id
            .as_deref()
            .unwrap_or(self.endpoint.post_receive_id());
        if let Scheme::WeChat { encrypted } = kind.scheme() {
            let (timestamp, nonce) = (self.timestamp(), Self::nonce());
            let signature = plain_signature(self.endpoint.token(), &timestamp, &nonce);
            let mut uri = format!(
                "{}?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=oTESTOPENID",
                self.path
            );
            if !encrypted {
                return Self::build(Method::POST, &uri, Bytes::from(message.to_owned()));
            }
            let sealed = self.seal_at(message, receive_id, timestamp, nonce);
            uri.push_str("&encrypt_type=aes&msg_signature=");
            uri.push_str(&sealed.signature);
            let body = match kind {
                CallbackKind::OfficialAccount(OfficialAccountMode::Compatible) => {
                    let mut encrypt = String::new();
                    xml::push_element(&mut encrypt, "Encrypt", &sealed.encrypt);
                    match message.rfind("</xml>") {
                        Some(end) => {
                            let (head, tail) = message.split_at(end);
                            format!("{head}{encrypt}{tail}")
                        }
                        None => format!("<xml>{encrypt}</xml>"),
                    }
                }
                CallbackKind::OpenPlatform => {
                    let mut body = String::from("<xml>");
                    xml::push_element(&mut body, "AppId", receive_id);
                    xml::push_element(&mut body, "Encrypt", &sealed.encrypt);
                    body.push_str("</xml>");
                    body
                }
                _ => {
                    let mut body = String::from("<xml>");
                    xml::push_element(&mut body, "ToUserName", "gh_test");
                    xml::push_element(&mut body, "Encrypt", &sealed.encrypt);
                    body.push_str("</xml>");
                    body
                }
            };
            return Self::build(Method::POST, &uri, Bytes::from(body));
        }
        let sealed = self.seal(message, receive_id);
        let body = match (kind, self.endpoint.format()) {
            (CallbackKind::WeComBot, _) => {
                serde_json::json!({ "encrypt": sealed.encrypt }).to_string()
            }
            (_, BodyFormat::Json) => serde_json::json!({
                "tousername": receive_id,
                "encrypt": sealed.encrypt,
                "agentid": "1",
            })
            .to_string(),
            (_, BodyFormat::Xml) => Self::envelope(receive_id, &sealed.encrypt),
        };
        self.request(
            Method::POST,
            &sealed.signature,
            &sealed.timestamp,
            &sealed.nonce,
            None,
            Bytes::from(body),
        )
    }

    /// Encrypts `plain` for `receive_id` with a fresh prefix and signs it
    /// with the kit's timestamp and a fresh nonce, as WeCom does for
    /// echostr and Encrypt.
    fn seal(&self, plain: &str, receive_id: &str) -> Sealed {
        self.seal_at(plain, receive_id, self.timestamp(), Self::nonce())
    }

    fn seal_at(&self, plain: &str, receive_id: &str, timestamp: String, nonce: String) -> Sealed {
        let (encrypt, signature) = match self.endpoint.crypt() {
            Some(crypt) => {
                let encrypt = crypt
                    .encrypt_for(plain.as_bytes(), receive_id, Self::random_prefix())
                    .unwrap_or_default();
                let signature = crypt.signature(&timestamp, &nonce, &encrypt);
                (encrypt, signature)
            }
            None => (String::new(), String::new()),
        };
        Sealed {
            timestamp,
            nonce,
            encrypt,
            signature,
        }
    }

    /// The WeCom POST envelope around `encrypt`, as WeCom lays it out.
    pub fn envelope(to_user_name: &str, encrypt: &str) -> String {
        let mut body = String::from("<xml>");
        xml::push_element(&mut body, "ToUserName", to_user_name);
        xml::push_element(&mut body, "AgentID", "1");
        xml::push_element(&mut body, "Encrypt", encrypt);
        body.push_str("</xml>");
        body
    }

    fn build(method: Method, uri: &str, body: Bytes) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        if let Ok(parsed) = uri.parse() {
            *request.uri_mut() = parsed;
        }
        request
    }

    /// A request to the kit's path with the given raw (unencoded) WeCom
    /// query values and body. For building malformed requests in tests.
    pub fn request(
        &self,
        method: Method,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: Option<&str>,
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        let mut uri = format!(
            "{}?msg_signature={}&timestamp={}&nonce={}",
            self.path,
            encode(msg_signature),
            encode(timestamp),
            encode(nonce)
        );
        if let Some(echostr) = echostr {
            uri.push_str("&echostr=");
            uri.push_str(&encode(echostr));
        }
        Self::build(method, &uri, body)
    }

    /// The endpoint's current crypt, to sign or encrypt by hand; `None` in
    /// Official Account plaintext mode.
    pub fn crypt(&self) -> Option<&MsgCrypt> {
        self.endpoint.crypt()
    }

    /// A WeCom text message, as decrypted XML (WeCom doc 消息格式, 文本消息),
    /// with the current time and a fresh `MsgId`.
    pub fn text_message(corp_id: &str, from_user_name: &str, content: &str) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "ToUserName", corp_id);
        xml::push_element(&mut xml, "FromUserName", from_user_name);
        xml.push_str(&format!("<CreateTime>{}</CreateTime>", now_secs()));
        xml::push_element(&mut xml, "MsgType", "text");
        xml::push_element(&mut xml, "Content", content);
        xml.push_str(&format!(
            "<MsgId>{}</MsgId><AgentID>1</AgentID></xml>",
            fresh_msg_id()
        ));
        xml
    }

    /// A WeCom or WeChat event (WeCom doc 事件格式): `MsgType` `event`,
    /// `Event`, and `extra` elements such as `("EventKey", "menu_1")`.
    pub fn event_message(
        to_user_name: &str,
        from_user_name: &str,
        event: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "ToUserName", to_user_name);
        xml::push_element(&mut xml, "FromUserName", from_user_name);
        xml.push_str(&format!("<CreateTime>{}</CreateTime>", now_secs()));
        xml::push_element(&mut xml, "MsgType", "event");
        xml::push_element(&mut xml, "Event", event);
        for (name, text) in extra {
            xml::push_element(&mut xml, name, text);
        }
        xml.push_str("</xml>");
        xml
    }

    /// A suite's `suite_ticket` push (WeCom doc 推送suite_ticket).
    pub fn suite_ticket(suite_id: &str, ticket: &str) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "SuiteId", suite_id);
        xml::push_element(&mut xml, "InfoType", "suite_ticket");
        xml.push_str(&format!("<TimeStamp>{}</TimeStamp>", now_secs()));
        xml::push_element(&mut xml, "SuiteTicket", ticket);
        xml.push_str("</xml>");
        xml
    }

    /// An Open Platform `component_verify_ticket` push (WeChat Open Platform
    /// doc 验证票据).
    pub fn component_verify_ticket(component_appid: &str, ticket: &str) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "AppId", component_appid);
        xml.push_str(&format!("<CreateTime>{}</CreateTime>", now_secs()));
        xml::push_element(&mut xml, "InfoType", "component_verify_ticket");
        xml::push_element(&mut xml, "ComponentVerifyTicket", ticket);
        xml.push_str("</xml>");
        xml
    }

    /// A robot text message (WeCom doc 智能机器人 接收消息), as decrypted JSON,
    /// with a fresh `msgid`.
    pub fn bot_text(from_user_id: &str, content: &str) -> String {
        serde_json::json!({
            "msgid": format!("m{}", fresh_msg_id()),
            "aibotid": "AIBOTID",
            "chattype": "single",
            "from": {"userid": from_user_id},
            "response_url": "https://example.invalid/response",
            "msgtype": "text",
            "text": {"content": content},
        })
        .to_string()
    }

    /// Reads a response as the platform would: the kind's acknowledgement,
    /// or a passive reply whose envelope signature and receive id are
    /// checked and whose ciphertext is decrypted.
    ///
    /// # Errors
    /// [`OpenReplyError::Body`] if the body cannot be read,
    /// [`OpenReplyError::Crypto`] if it is neither the acknowledgement nor a
    /// correctly signed reply for this endpoint.
    pub async fn open<B>(&self, response: Response<B>) -> Result<Opened, OpenReplyError>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| OpenReplyError::Body(e.into()))?
            .to_bytes();
        let ack = self.endpoint.kind().ack_body();
        if body.is_empty() || body.as_ref() == ack.as_bytes() {
            return Ok(Opened::Ack);
        }
        let Some(crypt) = self.endpoint.crypt() else {
            // Plaintext mode: the reply is the plaintext XML.
            return String::from_utf8(body.to_vec())
                .map(Opened::Reply)
                .map_err(|_| {
                    OpenReplyError::Crypto(CryptoError::new(CryptoErrorKind::InvalidUtf8))
                });
        };
        let envelope = match self.endpoint.format() {
            BodyFormat::Xml => ReplyEnvelope::parse(&body),
            BodyFormat::Json => ReplyEnvelope::parse_json(&body),
        }
        .map_err(OpenReplyError::Crypto)?;
        crypt
            .decrypt(
                &envelope.msg_signature,
                &envelope.timestamp,
                &envelope.nonce,
                &envelope.encrypt,
            )
            .map(|d| Opened::Reply(d.into_msg()))
            .map_err(OpenReplyError::Crypto)
    }

    /// As [`open`](Self::open), for a response that must be a passive
    /// reply: returns its plaintext.
    ///
    /// # Errors
    /// As [`open`](Self::open); [`OpenReplyError::Empty`] for an
    /// acknowledgement.
    pub async fn open_reply<B>(&self, response: Response<B>) -> Result<String, OpenReplyError>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match self.open(response).await? {
            Opened::Reply(plain) => Ok(plain),
            Opened::Ack => Err(OpenReplyError::Empty),
        }
    }
}
