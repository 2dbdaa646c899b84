//! Test kit (feature `test-util`): build signed, encrypted callback requests
//! the way WeCom (or WeChat) does, send them through a `Router` or any
//! Tower service, and open the replies as the platform would.
//!
//! * Make a kit from the layer ([`TestKit::for_layer`]: its endpoint and
//!   path) or from an endpoint ([`TestKit::for_route`], then
//!   [`path`](TestKit::path) for the URI the requests go to).
//! * Build decrypted messages with [`TestKit::text_message`],
//!   [`image_message`](TestKit::image_message),
//!   [`location_message`](TestKit::location_message),
//!   [`click_event`](TestKit::click_event), [`view_event`](TestKit::view_event),
//!   [`enter_agent`](TestKit::enter_agent),
//!   [`change_contact`](TestKit::change_contact),
//!   [`event_message`](TestKit::event_message),
//!   [`template_card_event`](TestKit::template_card_event), the Official
//!   Account's [`subscribe`](TestKit::subscribe),
//!   [`subscribe_by_scan`](TestKit::subscribe_by_scan) and
//!   [`scan`](TestKit::scan), a suite's [`suite_ticket`](TestKit::suite_ticket),
//!   [`create_auth`](TestKit::create_auth),
//!   [`change_auth`](TestKit::change_auth) and
//!   [`cancel_auth`](TestKit::cancel_auth), the Open Platform's
//!   [`component_verify_ticket`](TestKit::component_verify_ticket),
//!   [`authorized`](TestKit::authorized),
//!   [`updateauthorized`](TestKit::updateauthorized) and
//!   [`unauthorized`](TestKit::unauthorized),
//!   [`bot_text`](TestKit::bot_text); seal them into a request with
//!   [`post`](TestKit::post) (or [`verify_url`](TestKit::verify_url) for
//!   the GET).
//! * [`send`](TestKit::send) runs the request through a service and opens
//!   the answer: [`Opened::Ack`], or a reply to read as XML
//!   ([`Opened::xml`]: `MsgType`, [`Reply`], articles) or as the robot's
//!   JSON ([`Opened::json`]). A rejection comes back as
//!   [`OpenReplyError::Rejected`] with its status and reason.
//!
//! # Example
//! ```
//! use axum::{Router, routing::post};
//! use wecom_callback::testing::TestKit;
//! use wecom_callback::{Endpoint, Message, MessageKind, Reply, WeComCallbackLayer};
//!
//! async fn handler(message: Message) -> Reply {
//!     match message.kind() {
//!         MessageKind::Text(text) => Reply::text(format!("hi {}: {}", message.from_user_name(), text.content)),
//!         MessageKind::Image(image) => Reply::image(image.media_id.clone()),
//!         _ => Reply::ack(),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
//! let layer = WeComCallbackLayer::new("/cb", endpoint)?;
//! let kit = TestKit::for_layer(&layer); // same endpoint, same path
//! let mut app = Router::new().route("/cb", post(handler)).layer(layer);
//!
//! let text = TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "hello");
//! let reply = kit.send(&mut app, kit.post(&text)).await?.xml()?;
//! assert_eq!(reply.msg_type, "text");
//! assert_eq!(reply.content(), Some("hi zhangsan: hello"));
//! assert_eq!(reply.to_user_name, "zhangsan");
//!
//! let image = TestKit::image_message("wx5823bf96d3bd56c7", "zhangsan", "https://example.com/p.png", "MEDIA_1");
//! let reply = kit.send(&mut app, kit.post(&image)).await?.xml()?;
//! assert_eq!(reply.reply, Some(Reply::image("MEDIA_1")));
//!
//! let view = TestKit::view_event("wx5823bf96d3bd56c7", "zhangsan", "https://example.com/menu");
//! assert!(kit.send(&mut app, kit.post(&view)).await?.is_ack());
//!
//! // The URL verification is answered by the layer.
//! let response = kit.send(&mut app, kit.verify_url("1616140317555161061")).await?;
//! assert_eq!(response.text(), Some("1616140317555161061"));
//! # Ok(())
//! # }
//! ```

mod messages;
pub mod vendor;

use std::fmt;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use tower_service::Service;

use crate::crypto::{
    CryptoError, CryptoErrorKind, MsgCrypt, OsRandom, RandomSource, plain_signature, random_nonce,
};
use crate::endpoint::{BodyFormat, CallbackKind, Endpoint, OfficialAccountMode, Scheme};
use crate::envelope::ReplyEnvelope;
use crate::layer::clock::unix_secs;
use crate::layer::{Rejection, Route, SystemClock, WeComCallbackLayer};
use crate::message::{Article, Reply};
use crate::xml::{self, Child};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Builds requests as WeCom or WeChat sends them to one endpoint, of any
/// [`CallbackKind`], sends them through a service, and opens replies as
/// the platform reads them. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct TestKit {
    path: String,
    endpoint: Endpoint,
    receive_id: Option<String>,
    timestamp: Option<u64>,
}

/// Why sending a request or opening a reply failed ([`TestKit::send`],
/// [`TestKit::open`], [`TestKit::open_reply`], [`Opened::xml`],
/// [`Opened::json`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenReplyError {
    /// The response body could not be read.
    Body(Box<dyn std::error::Error + Send + Sync>),
    /// The body is not a reply envelope, its signature is wrong, or it does
    /// not decrypt: the message names the step ([`TestKit::open`]).
    Crypto(CryptoError),
    /// The response carries no envelope (e.g. an empty 200 or `success`).
    Empty,
    /// The service answered with a status other than 2xx ([`TestKit::send`],
    /// [`TestKit::open`]):
    /// a rejection by the layer (then `rejection` says why) or an error of
    /// the handler.
    Rejected {
        /// The response status.
        status: StatusCode,
        /// The layer's reason, when the layer answered.
        rejection: Option<Rejection>,
    },
    /// The service itself failed ([`TestKit::send`]).
    Service(Box<dyn std::error::Error + Send + Sync>),
    /// The opened reply is not the XML ([`Opened::xml`]) or JSON
    /// ([`Opened::json`]) asked for.
    Format(&'static str),
}

impl OpenReplyError {
    /// The status of a [`Rejected`](Self::Rejected) response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The layer's reason for a [`Rejected`](Self::Rejected) response.
    pub fn rejection(&self) -> Option<Rejection> {
        match self {
            Self::Rejected { rejection, .. } => *rejection,
            _ => None,
        }
    }
}

/// The URL verification's answer as the layer sends it: the `echostr`, in
/// plain text (WeCom: 1 to 64 alphanumerics once decrypted; WeChat: the
/// value as sent). Never an envelope, whose first byte is `<` or `{`.
fn echoed_text(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let looks_echoed = (1..=128).contains(&text.len())
        && !text.starts_with(['<', '{'])
        && text.bytes().all(|b| b.is_ascii_graphic());
    looks_echoed.then_some(text)
}

/// [`OpenReplyError::Rejected`] when `response`'s status is not 2xx, with
/// the layer's [`Rejection`] when the layer answered.
fn refused<B>(response: &Response<B>) -> Result<(), OpenReplyError> {
    if response.status().is_success() {
        return Ok(());
    }
    Err(OpenReplyError::Rejected {
        status: response.status(),
        rejection: response.extensions().get::<Rejection>().copied(),
    })
}

/// The step of opening a reply at which `error` stopped it.
fn open_step(error: &CryptoError) -> &'static str {
    match error.kind() {
        CryptoErrorKind::ParseXml => {
            "reading the reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce) failed: the 2xx body \
             is not one, nor the acknowledgement or an echoed echostr"
        }
        CryptoErrorKind::ValidateSignature => {
            "checking the envelope's MsgSignature failed: it is not signed with this endpoint's Token"
        }
        CryptoErrorKind::DecodeBase64
        | CryptoErrorKind::DecryptAes
        | CryptoErrorKind::IllegalBuffer => {
            "decrypting Encrypt failed: it was not sealed with this endpoint's EncodingAESKey"
        }
        CryptoErrorKind::ValidateReceiveId => {
            "checking the decrypted receive id failed: it is not this endpoint's"
        }
        CryptoErrorKind::InvalidUtf8 => "reading the decrypted reply failed: it is not UTF-8 text",
        _ => "the reply does not open",
    }
}

impl fmt::Display for OpenReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Body(e) => write!(f, "reading the reply body failed: {e}"),
            Self::Crypto(e) => write!(f, "{} ({e})", open_step(e)),
            Self::Empty => {
                f.write_str("the response is an acknowledgement, not an encrypted reply")
            }
            Self::Rejected {
                status,
                rejection: Some(rejection),
            } => write!(f, "the layer answered {status}: {rejection}"),
            Self::Rejected {
                status,
                rejection: None,
            } => write!(f, "the service answered {status}"),
            Self::Service(e) => write!(f, "the service failed: {e}"),
            Self::Format(what) => write!(f, "the reply is not {what}"),
        }
    }
}

impl std::error::Error for OpenReplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Body(e) | Self::Service(e) => Some(&**e),
            Self::Crypto(e) => Some(e),
            Self::Rejected {
                rejection: Some(r), ..
            } => Some(r),
            _ => None,
        }
    }
}

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
    /// mode. For a URL verification: the echoed `echostr`.
    Reply(String),
}

impl Opened {
    /// Whether this is the kind's acknowledgement.
    pub fn is_ack(&self) -> bool {
        *self == Self::Ack
    }

    /// The reply's plaintext; `None` for the acknowledgement.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Reply(text) => Some(text),
            Self::Ack => None,
        }
    }

    /// Reads the reply as the passive-reply XML of WeCom doc 被动回复消息格式
    /// (WeChat doc 被动回复用户消息).
    ///
    /// # Errors
    /// [`OpenReplyError::Empty`] for the acknowledgement,
    /// [`OpenReplyError::Format`] unless the plaintext is a well-formed
    /// `<xml>` reply with `ToUserName`, `FromUserName`, `CreateTime` and
    /// `MsgType`.
    pub fn xml(&self) -> Result<ReplyXml, OpenReplyError> {
        let text = self.text().ok_or(OpenReplyError::Empty)?;
        ReplyXml::parse(text).ok_or(OpenReplyError::Format("a passive-reply XML document"))
    }

    /// Reads the reply as JSON (the robot's replies, WeCom doc 智能机器人
    /// 被动回复消息), e.g. `value["text"]["content"]`.
    ///
    /// # Errors
    /// [`OpenReplyError::Empty`] for the acknowledgement,
    /// [`OpenReplyError::Format`] unless the plaintext is a JSON object.
    pub fn json(&self) -> Result<serde_json::Value, OpenReplyError> {
        let text = self.text().ok_or(OpenReplyError::Empty)?;
        match serde_json::from_str(text) {
            Ok(value @ serde_json::Value::Object(_)) => Ok(value),
            _ => Err(OpenReplyError::Format("a JSON object")),
        }
    }
}

/// A passive reply read back from its XML (WeCom doc 被动回复消息格式), as
/// [`Opened::xml`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyXml {
    /// `ToUserName`: the member (the message's `FromUserName`).
    pub to_user_name: String,
    /// `FromUserName`: the corp id or account (the message's `ToUserName`).
    pub from_user_name: String,
    /// `CreateTime`, unix seconds.
    pub create_time: u64,
    /// `MsgType` as sent.
    pub msg_type: String,
    /// The reply as a [`Reply`] value for `text`, `image`, `voice`, `video`
    /// and `news` (1 to 8 articles); `None` for other `MsgType`s, whose
    /// elements are in [`xml`](Self::xml).
    pub reply: Option<Reply>,
    /// The decrypted XML.
    pub xml: String,
}

fn child<'a>(children: &'a [Child<'a>], name: &str) -> Option<&'a Child<'a>> {
    children.iter().find(|c| c.name == name)
}

fn text_of(children: &[Child<'_>], name: &str) -> Option<String> {
    child(children, name).map(|c| c.text.clone().into_owned())
}

impl ReplyXml {
    fn parse(plain: &str) -> Option<Self> {
        let doc = xml::parse_tree(plain).ok()?;
        if doc.root != "xml" {
            return None;
        }
        let top = &doc.children;
        let msg_type = text_of(top, "MsgType")?;
        let media =
            |element: &str| child(top, element).and_then(|e| text_of(&e.children, "MediaId"));
        let reply = match msg_type.as_str() {
            "text" => text_of(top, "Content").map(Reply::text),
            "image" => media("Image").map(Reply::image),
            "voice" => media("Voice").map(Reply::voice),
            "video" => child(top, "Video").and_then(|video| {
                let mut reply = Reply::video(text_of(&video.children, "MediaId")?);
                if let Some(title) = text_of(&video.children, "Title") {
                    reply = reply.title(title);
                }
                if let Some(description) = text_of(&video.children, "Description") {
                    reply = reply.description(description);
                }
                Some(reply)
            }),
            "news" => child(top, "Articles").and_then(|articles| {
                let items = articles.children.iter().filter(|c| c.name == "item");
                Reply::news(items.map(|item| {
                    let mut article =
                        Article::new(text_of(&item.children, "Title").unwrap_or_default());
                    if let Some(description) = text_of(&item.children, "Description") {
                        article = article.description(description);
                    }
                    if let Some(url) = text_of(&item.children, "Url") {
                        article = article.url(url);
                    }
                    if let Some(pic_url) = text_of(&item.children, "PicUrl") {
                        article = article.pic_url(pic_url);
                    }
                    article
                }))
                .ok()
            }),
            _ => None,
        };
        Some(Self {
            to_user_name: text_of(top, "ToUserName")?,
            from_user_name: text_of(top, "FromUserName")?,
            create_time: text_of(top, "CreateTime")?.parse().ok()?,
            msg_type,
            reply,
            xml: plain.to_owned(),
        })
    }

    /// `Content` of a text reply.
    pub fn content(&self) -> Option<&str> {
        match &self.reply {
            Some(Reply::Text { content, .. }) => Some(content),
            _ => None,
        }
    }

    /// `MediaId` of an image, voice or video reply.
    pub fn media_id(&self) -> Option<&str> {
        match &self.reply {
            Some(
                Reply::Image { media_id, .. }
                | Reply::Voice { media_id, .. }
                | Reply::Video { media_id, .. },
            ) => Some(media_id),
            _ => None,
        }
    }

    /// The articles of a news reply (empty for other replies).
    pub fn articles(&self) -> &[Article] {
        match &self.reply {
            Some(Reply::News { articles, .. }) => articles,
            _ => &[],
        }
    }
}

/// Query values and Encrypt text of one sealed plaintext.
struct Sealed {
    timestamp: String,
    nonce: String,
    encrypt: String,
    signature: String,
}

async fn read_body<B>(response: Response<B>) -> Result<Bytes, OpenReplyError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    Ok(response
        .into_body()
        .collect()
        .await
        .map_err(|e| OpenReplyError::Body(e.into()))?
        .to_bytes())
}

/// The path requests for `route` go to by default.
fn route_path(route: &Route) -> &str {
    match route {
        Route::Exact(path) => path,
        Route::Any => "/",
    }
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
    /// A kit for `endpoint` whose requests go to `path` (a path, no query).
    /// [`for_layer`](Self::for_layer) takes both from the layer instead.
    pub fn new(path: &str, endpoint: &Endpoint) -> Self {
        Self {
            path: path.to_owned(),
            endpoint: endpoint.clone(),
            receive_id: None,
            timestamp: None,
        }
    }

    /// A kit for `endpoint` without a path of its own, for a layer made
    /// with [`WeComCallbackLayer::for_route`]: requests go to `/` until
    /// [`path`](Self::path) says where the route is (the full path, with
    /// any `nest` prefix and the values of path parameters).
    pub fn for_route(endpoint: &Endpoint) -> Self {
        Self::new("/", endpoint)
    }

    /// A kit for the first endpoint of `layer`, sending to its path (or to
    /// `/` for a [`for_route`](WeComCallbackLayer::for_route) layer; set it
    /// with [`path`](Self::path)). The layer keeps its endpoints, so build
    /// the kit before moving the layer into a router.
    pub fn for_layer(layer: &WeComCallbackLayer) -> Self {
        let (route, endpoint) = &layer.config().primary;
        Self::new(route_path(route), endpoint)
    }

    /// A kit for the endpoint of `layer` named `app` ([`Endpoint::named`],
    /// by default its receive id; for a suite's data callback the provider
    /// corp id, then [`receive_id`](Self::receive_id) for the authorized
    /// corp the POSTs come from), sending to its path; `None` if the layer
    /// has no endpoint of that name.
    pub fn for_layer_app(layer: &WeComCallbackLayer, app: &str) -> Option<Self> {
        layer
            .config()
            .all_endpoints()
            .find(|(_, endpoint)| endpoint.name() == app)
            .map(|(route, endpoint)| Self::new(route_path(route), endpoint))
    }

    /// Sends the requests to `path` instead (a path without query, e.g.
    /// `/hooks/wecom/sales`).
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        path.clone_into(&mut self.path);
        self
    }

    /// The endpoint the kit signs and encrypts for.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
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

    /// Reads a response as the platform would: the kind's acknowledgement,
    /// or a passive reply whose envelope signature and receive id are
    /// checked and whose ciphertext is decrypted. The answer to a URL
    /// verification (a GET) is the echoed `echostr`, in plain text: it comes
    /// back as [`Opened::Reply`], as from [`send`](Self::send). The response
    /// does not say which request it answers, so any short body of printable
    /// ASCII that is no envelope (at most 128 bytes, not starting with `<`
    /// or `{`) is read as such an echo; [`send`](Self::send), which sees the
    /// request, opens a POST's answer only as a reply.
    ///
    /// ```
    /// # use axum::{Router, routing::post};
    /// # use tower::ServiceExt;
    /// # use wecom_callback::testing::TestKit;
    /// # use wecom_callback::{Endpoint, Reply, WeComCallbackLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
    /// # let layer = WeComCallbackLayer::new("/cb", endpoint)?;
    /// # let kit = TestKit::for_layer(&layer);
    /// # let app = Router::new().route("/cb", post(|| async { Reply::text("pong") })).layer(layer);
    /// let response = app.clone().oneshot(kit.verify_url("1616140317555161061")).await?;
    /// assert_eq!(kit.open(response).await?.text(), Some("1616140317555161061"));
    ///
    /// // A forged request: the status and the layer's reason.
    /// let mut forged = kit.verify_url("1616140317555161061");
    /// *forged.uri_mut() = forged.uri().to_string().replace("nonce=", "nonce=9").parse()?;
    /// let error = kit.open(app.oneshot(forged).await?).await.unwrap_err();
    /// assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
    /// assert_eq!(
    ///     error.rejection().map(|r| r.kind()),
    ///     Some(wecom_callback::RejectionKind::Crypto(wecom_callback::crypto::CryptoErrorKind::ValidateSignature)),
    /// );
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`OpenReplyError::Rejected`] for a status other than 2xx (with the
    /// layer's [`Rejection`] when it answered),
    /// [`OpenReplyError::Body`] if the body cannot be read,
    /// [`OpenReplyError::Crypto`] if it is neither the acknowledgement, an
    /// echoed `echostr` nor a correctly signed reply for this endpoint; its
    /// message names the step that failed (the envelope, its
    /// `MsgSignature`, the decryption, the receive id).
    pub async fn open<B>(&self, response: Response<B>) -> Result<Opened, OpenReplyError>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        refused(&response)?;
        let body = read_body(response).await?;
        self.open_body(&body, true)
    }

    /// Opens a 2xx body: the acknowledgement, an echoed `echostr` (when
    /// `echo` may be one), or a passive reply.
    fn open_body(&self, body: &Bytes, echo: bool) -> Result<Opened, OpenReplyError> {
        let ack = self.endpoint.kind().ack_body();
        if body.is_empty() || body.as_ref() == ack.as_bytes() {
            return Ok(Opened::Ack);
        }
        if let Some(echoed) = echoed_text(body).filter(|_| echo) {
            // The URL verification's answer: the echostr, not an envelope.
            return Ok(Opened::Reply(echoed.to_owned()));
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
            BodyFormat::Xml => ReplyEnvelope::parse(body),
            BodyFormat::Json => ReplyEnvelope::parse_json(body),
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

    /// Sends `request` through `service` (an axum `Router`, a service made
    /// with `ServiceBuilder`, anything Tower) and [`open`](Self::open)s the
    /// answer: one line per exchange in a test.
    ///
    /// ```
    /// # use axum::{Router, routing::post};
    /// # use wecom_callback::testing::TestKit;
    /// # use wecom_callback::{Endpoint, Reply, WeComCallbackLayer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
    /// # let layer = WeComCallbackLayer::new("/cb", endpoint)?;
    /// # let kit = TestKit::for_layer(&layer);
    /// # let mut app = Router::new().route("/cb", post(|| async { Reply::text("pong") })).layer(layer);
    /// let ping = TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "ping");
    /// let reply = kit.send(&mut app, kit.post(&ping)).await?.xml()?;
    /// assert_eq!(reply.content(), Some("pong"));
    ///
    /// // A stale request: the layer's reason comes back in the error.
    /// let stale = kit.clone().at(1_000_000_000).post(&ping);
    /// let error = kit.send(&mut app, stale).await.unwrap_err();
    /// assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
    /// assert_eq!(error.rejection().map(|r| r.kind()), Some(wecom_callback::RejectionKind::StaleTimestamp));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The answer to a URL verification (a GET) is the echoed `echostr`,
    /// as [`Opened::Reply`].
    ///
    /// # Errors
    /// [`OpenReplyError::Service`] if the service fails,
    /// [`OpenReplyError::Rejected`] for a status other than 2xx (with the
    /// layer's [`Rejection`] when it answered), else as
    /// [`open`](Self::open).
    pub async fn send<S, B>(
        &self,
        service: &mut S,
        request: Request<Full<Bytes>>,
    ) -> Result<Opened, OpenReplyError>
    where
        S: Service<Request<Full<Bytes>>, Response = Response<B>>,
        S::Error: Into<BoxError>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        let verification = request.method() == Method::GET;
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(|e| OpenReplyError::Service(e.into()))?;
        let response = service
            .call(request)
            .await
            .map_err(|e| OpenReplyError::Service(e.into()))?;
        refused(&response)?;
        let body = read_body(response).await?;
        if verification {
            // The URL verification's answer is the echostr, in plain text.
            return String::from_utf8(body.to_vec())
                .map(Opened::Reply)
                .map_err(|_| OpenReplyError::Format("UTF-8 text"));
        }
        self.open_body(&body, false)
    }
}
