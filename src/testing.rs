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

use crate::crypto::{CryptoError, MsgCrypt, OsRandom, RandomSource, random_nonce};
use crate::envelope::ReplyEnvelope;
use crate::layer::clock::unix_secs;
use crate::layer::{Endpoint, SystemClock};
use crate::xml;

/// Builds requests as WeCom sends them to one endpoint, and opens replies.
#[derive(Debug, Clone)]
pub struct TestKit {
    path: String,
    crypt: MsgCrypt,
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
    /// The response carries no envelope (e.g. an empty 200).
    Empty,
}

impl fmt::Display for OpenReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body(e) => write!(f, "reading the reply body failed: {e}"),
            Self::Crypto(e) => write!(f, "the reply does not open: {e}"),
            Self::Empty => f.write_str("the response has an empty body, not an encrypted reply"),
        }
    }
}

impl std::error::Error for OpenReplyError {}

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

impl TestKit {
    /// A kit for `endpoint` served on `path`.
    pub fn new(path: &str, endpoint: &Endpoint) -> Self {
        Self {
            path: path.to_owned(),
            crypt: endpoint.crypt().clone(),
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
    /// string such as `1616140317555161061`): encrypted, signed, and
    /// percent-encoded once.
    pub fn verify_url(&self, echostr_plain: &str) -> Request<Full<Bytes>> {
        let sealed = self.seal(echostr_plain);
        self.request(
            Method::GET,
            &sealed.signature,
            &sealed.timestamp,
            &sealed.nonce,
            Some(&sealed.encrypt),
            Bytes::new(),
        )
    }

    /// The POST WeCom would send for the decrypted message `xml`: encrypted
    /// for the first receive id, in the `<xml><ToUserName/><AgentID/><Encrypt/></xml>`
    /// envelope, signed, with the current (or [`at`](Self::at)) timestamp.
    pub fn post(&self, message_xml: &str) -> Request<Full<Bytes>> {
        let sealed = self.seal(message_xml);
        let body = Self::envelope(
            self.crypt.receive_ids().first().map_or("", String::as_str),
            &sealed.encrypt,
        );
        self.request(
            Method::POST,
            &sealed.signature,
            &sealed.timestamp,
            &sealed.nonce,
            None,
            Bytes::from(body),
        )
    }

    /// Encrypts `plain` with a fresh prefix and signs it with the kit's
    /// timestamp and a fresh nonce, as WeCom does for echostr and Encrypt.
    fn seal(&self, plain: &str) -> Sealed {
        let (timestamp, nonce) = (self.timestamp(), Self::nonce());
        let encrypt = self
            .crypt
            .encrypt_with_prefix(plain.as_bytes(), Self::random_prefix())
            .unwrap_or_default();
        let signature = self.crypt.signature(&timestamp, &nonce, &encrypt);
        Sealed {
            timestamp,
            nonce,
            encrypt,
            signature,
        }
    }

    /// The POST envelope around `encrypt`, as WeCom lays it out.
    pub fn envelope(to_user_name: &str, encrypt: &str) -> String {
        let mut body = String::from("<xml>");
        xml::push_element(&mut body, "ToUserName", to_user_name);
        xml::push_element(&mut body, "AgentID", "1");
        xml::push_element(&mut body, "Encrypt", encrypt);
        body.push_str("</xml>");
        body
    }

    /// A request to the kit's path with the given raw (unencoded) query
    /// values and body. For building malformed requests in tests.
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
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        if let Ok(parsed) = uri.parse() {
            *request.uri_mut() = parsed;
        }
        request
    }

    /// The crypt behind the kit, to sign or encrypt by hand.
    pub fn crypt(&self) -> &MsgCrypt {
        &self.crypt
    }

    /// A WeCom text message, as decrypted XML (WeCom doc 消息格式, 文本消息).
    pub fn text_message(corp_id: &str, from_user_name: &str, content: &str) -> String {
        let mut xml = String::from("<xml>");
        xml::push_element(&mut xml, "ToUserName", corp_id);
        xml::push_element(&mut xml, "FromUserName", from_user_name);
        xml.push_str(&format!("<CreateTime>{}</CreateTime>", now_secs()));
        xml::push_element(&mut xml, "MsgType", "text");
        xml::push_element(&mut xml, "Content", content);
        xml.push_str("<MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>");
        xml
    }

    /// Reads an encrypted reply response, checks its `MsgSignature` and
    /// returns the decrypted reply XML, as WeCom would.
    ///
    /// # Errors
    /// [`OpenReplyError`] if the body cannot be read, is empty, or is not a
    /// correctly signed envelope for this endpoint.
    pub async fn open_reply<B>(&self, response: Response<B>) -> Result<String, OpenReplyError>
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
        if body.is_empty() {
            return Err(OpenReplyError::Empty);
        }
        let envelope = ReplyEnvelope::parse(&body).map_err(OpenReplyError::Crypto)?;
        self.crypt
            .decrypt(
                &envelope.msg_signature,
                &envelope.timestamp,
                &envelope.nonce,
                &envelope.encrypt,
            )
            .map(|d| d.into_msg())
            .map_err(OpenReplyError::Crypto)
    }
}
