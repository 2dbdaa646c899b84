//! Typed inbound messages and outbound passive replies of every callback
//! kind (see [`CallbackKind`](crate::CallbackKind)).
//!
//! * [`Message`] is the decrypted XML (or the vendor's JSON form) that
//!   WeCom or WeChat pushes: the common [`Header`] (`ToUserName`,
//!   `FromUserName`, `CreateTime`, `MsgType`, `AgentID`, `MsgId`, `Event`,
//!   or `InfoType` for system pushes) and a [`MessageKind`] with the typed
//!   elements of every message, event and push of this project's
//!   MESSAGES.md catalog: WeCom app messages and events (WeCom doc 消息格式,
//!   事件格式), contact and customer-contact events, the suite's instruction
//!   callbacks (WeCom doc 回调通知), the Official Account's events (WeChat doc
//!   接收事件推送) and the Open Platform's pushes (验证票据, 授权变更通知推送).
//!   Anything else, or a known name whose elements do not fit, parses too,
//!   as [`MessageKind::Other`] with the [`problem`](Message::problem); its
//!   elements stay readable through [`Message::field`] and
//!   [`Message::raw_xml`]. **Only text that is not well-formed XML (or not a
//!   JSON object) is refused**: an authentic message always reaches the
//!   handler.
//! * [`BotMessage`] is the WeCom intelligent robot's JSON callback.
//! * [`Reply`] is a passive reply (WeCom doc 被动回复消息格式, WeChat doc
//!   被动回复用户消息, WeCom doc 智能机器人 被动回复消息): text, image, voice,
//!   video, news, music, card updates, customer-service transfer, the
//!   robot's JSON replies. [`Reply::to_xml`] and [`Reply::to_bot_json`]
//!   render the plaintext that is then encrypted into the reply envelope;
//!   [`Reply::check_for`] says whether a kind can carry it.
//!
//! Pure code: no HTTP types. The XML reader refuses DOCTYPEs, processing
//! instructions, unknown entities, characters XML forbids and deep
//! nesting; see [`MessageError`].
//!
//! # Example
//!
//! ```
//! use wecom_callback::message::{Article, Message, MessageKind, Reply};
//!
//! // The text message sample of WeCom doc 消息格式.
//! let message = Message::parse(
//!     "<xml>
//!        <ToUserName><![CDATA[toUser]]></ToUserName>
//!        <FromUserName><![CDATA[fromUser]]></FromUserName>
//!        <CreateTime>1348831860</CreateTime>
//!        <MsgType><![CDATA[text]]></MsgType>
//!        <Content><![CDATA[this is a test]]></Content>
//!        <MsgId>1234567890123456</MsgId>
//!        <AgentID>1</AgentID>
//!     </xml>",
//! )?;
//! assert_eq!(message.from_user_name(), "fromUser");
//! assert_eq!(message.agent_id(), Some(1));
//! let MessageKind::Text(text) = message.kind() else { panic!("not text") };
//! assert_eq!(text.content, "this is a test");
//!
//! // Answer the member: ToUserName is the member, FromUserName the corp.
//! let reply = Reply::text(format!("you said: {}", text.content));
//! let xml = reply.to_xml(message.from_user_name(), message.to_user_name(), 1348831861);
//! assert_eq!(
//!     xml,
//!     "<xml><ToUserName><![CDATA[fromUser]]></ToUserName>\
//!      <FromUserName><![CDATA[toUser]]></FromUserName>\
//!      <CreateTime>1348831861</CreateTime><MsgType><![CDATA[text]]></MsgType>\
//!      <Content><![CDATA[you said: this is a test]]></Content></xml>"
//! );
//!
//! // Unknown events are not errors; neither is a known one with a field
//! // missing: it arrives as `Other`, with the problem.
//! let event = Message::parse(
//!     "<xml><ToUserName>corp</ToUserName><FromUserName>sys</FromUserName>\
//!      <CreateTime>1403610513</CreateTime><MsgType>event</MsgType>\
//!      <Event>living_status_change</Event><LivingId>l1</LivingId></xml>",
//! )?;
//! assert!(matches!(event.kind(), MessageKind::Other(_)));
//! assert_eq!(event.event(), Some("living_status_change"));
//! assert_eq!(event.field("LivingId"), Some("l1"));
//! let click = Message::parse(
//!     "<xml><ToUserName>corp</ToUserName><FromUserName>u</FromUserName>\
//!      <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>click</Event></xml>",
//! )?;
//! assert!(matches!(click.kind(), MessageKind::Other(_)));
//! assert_eq!(click.problem().and_then(|p| p.element()), Some("EventKey"));
//!
//! // A news reply takes 1 to 8 articles.
//! let news = Reply::news([Article::new("Release notes").url("https://example.com/notes")])?;
//! assert!(news.to_xml("zhangsan", "ww0123", 0).contains("<ArticleCount>1</ArticleCount>"));
//! assert!(Reply::news([]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bot;
mod card;
mod chars;
mod contact;
mod error;
mod fields;
mod kind;
mod menu;
mod official_account;
mod open_platform;
mod parts;
mod render;
mod reply;
mod suite;
mod template_card;
#[cfg(test)]
mod tests;
mod wecom;
mod work;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

pub use bot::BotMessage;
pub use card::CardError;
pub use contact::{
    ChangeContact, ChangeExternalChat, ChangeExternalContact, ChangeExternalTag, ContactChange,
    ContactUser, ExtAttr, ExternalChatChange, ExternalContactChange, ExternalTagChange,
    KfMsgOrEvent, Party, TagChange,
};
pub use error::{MessageError, MessageErrorKind};
pub use kind::{MessageKind, OtherKind};
pub use official_account::{
    ArticleUrl, CopyrightCheck, CopyrightResult, MassSendJobFinish, Scan, TemplateSendJobFinish,
};
pub use open_platform::{Authorization, ComponentVerifyTicket, Unauthorized};
pub use parts::{Article, Music, NewsError};
pub use render::ReplyNotAllowed;
pub use reply::Reply;
pub use suite::{
    CancelAuth, ChangeAuth, CreateAuth, RegisterCorp, ResetPermanentCode, SuiteTicket,
};
pub use template_card::{TemplateCard, card_kind};
pub use wecom::{
    ApprovalItem, ApprovalNode, BatchJobResult, Click, EnterAgent, Image, Link, Location,
    LocationReport, LocationSelect, NotifyNode, OpenApprovalChange, ScanCode, SelectedItem,
    SendPics, SpDetail, SpRecord, Subscribe, SysApprovalChange, TaskcardClick, TemplateCardEvent,
    TemplateCardMenuEvent, Text, Unsubscribe, Video, View, ViewMiniprogram, Voice,
};

use crate::xml::{self, Child};
use fields::Fields;

/// The elements every message and event carries (WeCom doc 消息格式,
/// 事件格式; WeChat doc 接收普通消息), plus `MsgId` and `Event` where
/// present, or the `InfoType` of a system push.
///
/// Strings are trimmed of surrounding XML whitespace (CDATA or not); numbers
/// are decimal text. A header element that is missing or malformed leaves
/// its field empty (`""`, `0`, `None`) and is reported by
/// [`Message::problem`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// `ToUserName`: the corp id (企业微信 CorpID), the Official Account's
    /// original id (`gh_…`), or for system pushes the `SuiteId`, `AppId` or
    /// `ServiceCorpId`.
    pub to_user_name: String,
    /// `FromUserName`: the member's UserID or the follower's openid, or
    /// `sys` for system events such as `change_contact`; empty for system
    /// pushes.
    pub from_user_name: String,
    /// `CreateTime` (system pushes: `TimeStamp` or `CreateTime`): when the
    /// message was created, unix seconds; 0 when absent or malformed.
    pub create_time: u64,
    /// `MsgType`: `text`, `image`, `voice`, `video`, `location`, `link`,
    /// `event`, or any other value the vendor adds, as sent; empty for
    /// system pushes.
    pub msg_type: String,
    /// `AgentID`: the app's id; `None` when absent (contact and
    /// customer-contact events, the Official Account), empty or malformed.
    pub agent_id: Option<u64>,
    /// `MsgId`: the message id (64 bits), carried by messages but not by
    /// events; the key for de-duplicating retries. `None` when absent,
    /// empty or not a decimal (the text stays in
    /// [`Message::field`]`("MsgId")`).
    pub msg_id: Option<u64>,
    /// `Event`, as sent, when `MsgType` is `event` (compare it without regard
    /// to ASCII case: WeCom sends `click`, the WeChat Official Account
    /// `CLICK`). `None` for messages.
    pub event: Option<String>,
    /// `InfoType` of a system push without `MsgType`: a WeCom suite's
    /// instruction callback (`suite_ticket`, `create_auth`, …, WeCom doc
    /// 回调通知) or an Open Platform push (`component_verify_ticket`,
    /// `authorized`, …, WeChat Open Platform doc 验证票据). For those,
    /// `msg_type` is empty, `to_user_name` is the `SuiteId`, `AppId` or
    /// `ServiceCorpId`, `from_user_name` is empty and `create_time` is
    /// `TimeStamp` or `CreateTime`. `None` for messages and events.
    pub info_type: Option<String>,
}

/// A decrypted message, event or system push (WeCom doc 消息格式
/// (接收消息与事件), 事件格式, 回调通知; WeChat doc 接收普通消息, 接收事件推送;
/// WeChat Open Platform doc 验证票据).
///
/// Built by [`Message::parse`] (or [`str::parse`]) or
/// [`Message::parse_json`]. Holds the [`Header`], the typed
/// [`MessageKind`], the first [`problem`](Self::problem) met while typing
/// it, the exact text it was parsed from, and the elements for
/// [`field`](Self::field).
///
/// `Debug` shows the header, the kind and the problem, not the raw XML.
///
/// ```
/// use wecom_callback::{Message, MessageKind};
///
/// let message: Message = "<xml><ToUserName><![CDATA[ww0123]]></ToUserName>\
///     <FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1700000000</CreateTime>\
///     <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content>\
///     <MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>"
///     .parse()?;
/// assert_eq!(message.msg_type(), "text");
/// assert_eq!(message.msg_id(), Some(1234567890123456));
/// assert_eq!(message.agent_id(), Some(1));
/// let MessageKind::Text(text) = message.kind() else { unreachable!() };
/// assert_eq!(text.content, "hello");
/// # Ok::<(), wecom_callback::MessageError>(())
/// ```
#[derive(Clone)]
pub struct Message {
    header: Header,
    kind: MessageKind,
    problem: Option<MessageError>,
    /// The decrypted text as received, shared (not copied) with the body the
    /// layer hands to the inner service; cloning a `Message` shares it too.
    raw_xml: Arc<String>,
    /// Whether `raw_xml` is JSON (the vendor's JSON format).
    json: bool,
    /// The root's children for [`Message::field`]: read from `raw_xml` on
    /// first use (most handlers never ask), or kept from the JSON reading.
    children: OnceLock<Vec<Child<'static>>>,
}

/// Equal when the parsed parts and the received text are equal (the lazily
/// read element list follows from the text).
impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header
            && self.kind == other.kind
            && self.problem == other.problem
            && self.json == other.json
            && self.raw_xml == other.raw_xml
    }
}

/// Keeps the first problem met; returns the value, or `fallback` on error.
fn noted<T>(read: Result<T, MessageError>, fallback: T, problem: &mut Option<MessageError>) -> T {
    read.unwrap_or_else(|error| {
        problem.get_or_insert(error);
        fallback
    })
}

impl Message {
    /// Parses the decrypted XML of a message, event or system push.
    ///
    /// Only XML that is not well-formed, or that uses what the reader
    /// refuses, is an error. Everything else parses, so that an authentic
    /// message always reaches the handler:
    ///
    /// * the header is read leniently: `ToUserName`, `FromUserName`,
    ///   `CreateTime` (unsigned decimal) and `MsgType` are expected, and
    ///   `AgentID` and `MsgId` must be unsigned decimals when present and
    ///   not empty; a missing or malformed one leaves its [`Header`] field
    ///   empty and is reported by [`problem`](Self::problem);
    /// * the [`MessageKind`] is the typed variant when every element the
    ///   variant reads fits (required ones present, numbers decimal in
    ///   plain notation, no duplicates, text where text is expected);
    ///   otherwise [`MessageKind::Other`] with that problem (a `click`
    ///   without `EventKey`, a `LOCATION` whose `Latitude` is `n/a`);
    /// * a root other than `<xml>`, or neither `MsgType` nor `InfoType`,
    ///   gives `Other` with the problem too.
    ///
    /// `MsgType`, `Event` and `InfoType` match without regard to ASCII case
    /// and surrounding whitespace; values are read with or without CDATA.
    /// Element names are case-sensitive; unknown elements are ignored (and
    /// available via [`field`](Self::field)).
    ///
    /// # Errors
    /// [`MessageError`] of kind [`Xml`](MessageErrorKind::Xml): not
    /// well-formed, or a DOCTYPE, processing instruction, unknown entity,
    /// character XML 1.0 forbids, `]]>` in text, second root, trailing text
    /// or nesting deeper than 32.
    pub fn parse(xml: &str) -> Result<Self, MessageError> {
        Self::parse_string(xml.to_owned())
    }

    /// As [`Message::parse`], keeping `xml` itself as
    /// [`raw_xml`](Self::raw_xml) instead of a copy (also available as
    /// `Message::try_from(String)`).
    ///
    /// # Errors
    /// As [`Message::parse`].
    pub fn parse_string(xml: String) -> Result<Self, MessageError> {
        let raw = Arc::new(xml);
        let (header, kind, problem) = {
            let doc = xml::parse_tree(&raw).map_err(MessageError::xml)?;
            read_document(&doc)
        };
        Ok(Self {
            header,
            kind,
            problem,
            raw_xml: raw,
            json: false,
            children: OnceLock::new(),
        })
    }

    /// Parses a decrypted JSON message of the vendor's JSON callback format
    /// (`{"ToUserName": …, "MsgType": "text", "Content": …}`): a JSON object
    /// whose members stand for the XML elements. Strings, numbers and
    /// booleans are the element text, `null` is empty text, an object is an
    /// element with children (its members), and an array is the element
    /// repeated once per item (`"PicList": [{…}, {…}]`); nesting beyond 32
    /// levels is dropped. The same rules as [`Message::parse`] apply after
    /// that; [`raw_xml`](Self::raw_xml) returns the JSON text.
    ///
    /// # Errors
    /// [`MessageErrorKind::Json`] unless `json` is a JSON object whose
    /// strings (keys included, escapes decoded) hold only characters XML 1.0
    /// allows: what [`Message::parse`] refuses in XML is refused here too.
    pub fn parse_json(json: &str) -> Result<Self, MessageError> {
        Self::parse_json_string(json.to_owned())
    }

    /// As [`Message::parse_json`], keeping `json` itself as
    /// [`raw_xml`](Self::raw_xml) instead of a copy.
    ///
    /// # Errors
    /// As [`Message::parse_json`].
    pub fn parse_json_string(json: String) -> Result<Self, MessageError> {
        let value: serde_json::Value =
            serde_json::from_str(&json).map_err(|_| MessageError::json())?;
        // The characters the XML reader refuses are refused here too.
        if !chars::json_is_xml_text(&value) {
            return Err(MessageError::json());
        }
        let serde_json::Value::Object(map) = value else {
            return Err(MessageError::json());
        };
        let mut children = Vec::new();
        for (name, value) in map {
            json_elements(name, value, 2, &mut children);
        }
        let doc = xml::Document {
            root: "xml".into(),
            children,
        };
        let (header, kind, problem) = read_document(&doc);
        Ok(Self {
            header,
            kind,
            problem,
            raw_xml: Arc::new(json),
            json: true,
            children: OnceLock::from(doc.children),
        })
    }

    /// The received text, shared: the layer hands the same allocation to
    /// the inner service as the request body.
    #[cfg(feature = "layer")]
    pub(crate) fn shared_raw(&self) -> &Arc<String> {
        &self.raw_xml
    }

    /// The common elements.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The typed message or event.
    pub fn kind(&self) -> &MessageKind {
        &self.kind
    }

    /// Takes the header and the typed message apart, so that a handler can
    /// move their text (a `Content`, say) into its reply instead of copying
    /// it.
    ///
    /// ```
    /// use wecom_callback::{Message, MessageKind, Reply};
    ///
    /// let message: Message = "<xml><ToUserName>ww1</ToUserName><FromUserName>u</FromUserName>\
    ///     <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>".parse()?;
    /// let (header, kind) = message.into_parts();
    /// let reply = match kind {
    ///     MessageKind::Text(text) => Reply::text(text.content),
    ///     _ => Reply::ack(),
    /// };
    /// assert_eq!((header.from_user_name.as_str(), reply), ("u", Reply::text("hi")));
    /// # Ok::<(), wecom_callback::MessageError>(())
    /// ```
    pub fn into_parts(self) -> (Header, MessageKind) {
        (self.header, self.kind)
    }

    /// The first element that did not fit, if any: a header element (its
    /// [`Header`] field is then empty), or an element of the variant that
    /// `MsgType`/`Event`/`InfoType` names (the kind is then
    /// [`MessageKind::Other`], see [`OtherKind::problem`]). `None` when
    /// everything fit. Its `Display` names the element, never a value.
    pub fn problem(&self) -> Option<&MessageError> {
        self.problem.as_ref().or_else(|| self.kind.problem())
    }

    /// The decrypted XML (or JSON) exactly as received, for elements this
    /// crate does not type.
    pub fn raw_xml(&self) -> &str {
        &self.raw_xml
    }

    /// The text of the first top-level element called `name` (case-sensitive),
    /// e.g. `field("ChangeType")` of a `change_contact` event.
    ///
    /// CDATA is returned verbatim, plain text with entities resolved and
    /// surrounding whitespace trimmed. `None` when there is no such element,
    /// or when it has element children (such as `ExtAttr` or
    /// `SendPicsInfo`: typed in [`kind`](Self::kind), or read them from
    /// [`raw_xml`](Self::raw_xml)).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.children()
            .iter()
            .find(|child| child.name == name)
            .filter(|child| !child.nested)
            .map(|child| &*child.text)
    }

    /// The root's children, read on first use: the text parsed before, so
    /// reading it again succeeds (an empty list if it somehow did not).
    fn children(&self) -> &[Child<'static>] {
        self.children.get_or_init(|| {
            if self.json {
                return Vec::new();
            }
            xml::parse(&self.raw_xml)
                .map(|doc| doc.children.into_iter().map(Child::into_owned).collect())
                .unwrap_or_default()
        })
    }

    /// `InfoType` of a suite instruction callback or an Open Platform push
    /// (`suite_ticket`, `component_verify_ticket`, …); `None` otherwise.
    pub fn info_type(&self) -> Option<&str> {
        self.header.info_type.as_deref()
    }

    /// `MsgType` as sent (`text`, `event`, …); empty for system pushes that
    /// carry an [`info_type`](Self::info_type) instead.
    pub fn msg_type(&self) -> &str {
        &self.header.msg_type
    }

    /// `Event` as sent, for `MsgType` `event`; `None` for messages.
    pub fn event(&self) -> Option<&str> {
        self.header.event.as_deref()
    }

    /// `FromUserName`: the member's UserID or follower's openid (`sys` for
    /// system events, empty for system pushes).
    pub fn from_user_name(&self) -> &str {
        &self.header.from_user_name
    }

    /// `ToUserName`: the corp id or the account's original id (for system
    /// pushes: `SuiteId`, `AppId` or `ServiceCorpId`).
    pub fn to_user_name(&self) -> &str {
        &self.header.to_user_name
    }

    /// `AgentID`, when present and not empty.
    pub fn agent_id(&self) -> Option<u64> {
        self.header.agent_id
    }

    /// `MsgId`, when present and not empty (messages carry it, events do
    /// not).
    pub fn msg_id(&self) -> Option<u64> {
        self.header.msg_id
    }

    /// `CreateTime`, unix seconds.
    pub fn create_time(&self) -> u64 {
        self.header.create_time
    }
}

impl TryFrom<String> for Message {
    type Error = MessageError;

    /// Same as [`Message::parse_string`].
    fn try_from(xml: String) -> Result<Self, Self::Error> {
        Self::parse_string(xml)
    }
}

impl FromStr for Message {
    type Err = MessageError;

    /// Same as [`Message::parse`].
    fn from_str(xml: &str) -> Result<Self, Self::Err> {
        Self::parse(xml)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("header", &self.header)
            .field("kind", &self.kind)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

/// The header, the typed kind and the first problem of a parsed document.
fn read_document(doc: &xml::Document<'_>) -> (Header, MessageKind, Option<MessageError>) {
    let fields = Fields::new(&doc.children);
    let mut problem = (doc.root != "xml").then(MessageError::wrong_root);
    let header = read_header(&fields, &mut problem);
    let kind = match &problem {
        Some(p) if p.kind() == MessageErrorKind::WrongRoot => {
            MessageKind::other(&header, Some(p.clone()))
        }
        Some(p) if header.msg_type.is_empty() && header.info_type.is_none() => {
            MessageKind::other(&header, Some(p.clone()))
        }
        _ => MessageKind::read(&fields, &header),
    };
    (header, kind, problem)
}

/// The header: lenient, each problem noted (the first one kept).
fn read_header(fields: &Fields<'_>, problem: &mut Option<MessageError>) -> Header {
    let info_type =
        noted(fields.optional_token("InfoType"), None, problem).filter(|t| !t.is_empty());
    let msg_type = noted(fields.optional_token("MsgType"), None, problem);
    match (msg_type, info_type) {
        (None, Some(info_type)) => {
            // A system push: SuiteId/AppId/ServiceCorpId and
            // TimeStamp/CreateTime, no member, no MsgType (WeCom doc 回调通知;
            // Open Platform doc 验证票据).
            let mut to_user_name = None;
            for id in ["SuiteId", "AppId", "ServiceCorpId"] {
                if to_user_name.is_none() {
                    to_user_name = noted(fields.optional_token(id), None, problem);
                }
            }
            let mut create_time = noted(fields.optional_unsigned("TimeStamp"), None, problem);
            if create_time.is_none() {
                create_time = noted(fields.optional_unsigned("CreateTime"), None, problem);
            }
            Header {
                to_user_name: to_user_name.unwrap_or_default(),
                from_user_name: String::new(),
                create_time: create_time.unwrap_or(0),
                msg_type: String::new(),
                agent_id: None,
                msg_id: None,
                event: None,
                info_type: Some(info_type),
            }
        }
        (msg_type, _) => {
            let msg_type = msg_type.unwrap_or_else(|| {
                problem.get_or_insert(MessageError::missing("MsgType"));
                String::new()
            });
            let event = if msg_type.eq_ignore_ascii_case("event") {
                noted(fields.optional_token("Event"), None, problem)
            } else {
                None
            };
            Header {
                to_user_name: noted(fields.token("ToUserName"), String::new(), problem),
                from_user_name: noted(fields.token("FromUserName"), String::new(), problem),
                create_time: noted(fields.unsigned("CreateTime"), 0, problem),
                msg_type,
                agent_id: noted(fields.optional_unsigned("AgentID"), None, problem),
                msg_id: noted(fields.optional_unsigned("MsgId"), None, problem),
                event,
                info_type: None,
            }
        }
    }
}

/// Appends the elements `value` stands for under `name` (see
/// [`Message::parse_json`]); `depth` is the level the elements sit at
/// (the root's children are at 2).
fn json_elements(
    name: String,
    value: serde_json::Value,
    depth: usize,
    out: &mut Vec<Child<'static>>,
) {
    use serde_json::Value;
    let text = |text: String| Child {
        name: name.clone().into(),
        text: text.into(),
        ..Child::default()
    };
    match value {
        Value::String(s) => out.push(text(s)),
        Value::Number(n) => out.push(text(n.to_string())),
        Value::Bool(b) => out.push(text(b.to_string())),
        Value::Null => out.push(text(String::new())),
        Value::Array(items) => {
            if depth <= xml::MAX_DEPTH {
                for item in items {
                    json_elements(name.clone(), item, depth + 1, out);
                }
            }
        }
        Value::Object(map) => {
            let mut children = Vec::new();
            if depth < xml::MAX_DEPTH {
                for (key, item) in map {
                    json_elements(key, item, depth + 1, &mut children);
                }
            }
            out.push(Child {
                name: name.into(),
                nested: true,
                children,
                ..Child::default()
            });
        }
    }
}
