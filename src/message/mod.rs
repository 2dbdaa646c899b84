//! Typed inbound messages and outbound passive replies of a WeCom
//! self-built app (企业内部开发).
//!
//! * [`Message`] is the decrypted XML that WeCom pushes to the app's
//!   "接收消息" URL: the common [`Header`] (`ToUserName`, `FromUserName`,
//!   `CreateTime`, `MsgType`, `AgentID`, `MsgId`, `Event`) and a
//!   [`MessageKind`] with the elements of the messages of WeCom doc 消息格式
//!   (接收消息与事件) and of a few events of WeCom doc 事件格式. Every other
//!   message or event parses too, as [`MessageKind::Other`]; its elements
//!   stay readable through [`Message::field`] and [`Message::raw_xml`].
//! * [`Reply`] is a passive reply (WeCom doc 被动回复消息格式): text, image,
//!   voice, video or news. [`Reply::to_xml`] renders the plaintext XML that
//!   is then encrypted into the reply envelope.
//!
//! Pure code: no HTTP types. The XML reader refuses DOCTYPEs, processing
//! instructions, unknown entities and deep nesting; see [`MessageError`].
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
//! // Unknown events are not errors.
//! let event = Message::parse(
//!     "<xml><ToUserName>corp</ToUserName><FromUserName>sys</FromUserName>\
//!      <CreateTime>1403610513</CreateTime><MsgType>event</MsgType>\
//!      <Event>change_contact</Event><ChangeType>update_user</ChangeType></xml>",
//! )?;
//! assert!(matches!(event.kind(), MessageKind::Other(_)));
//! assert_eq!(event.event(), Some("change_contact"));
//! assert_eq!(event.field("ChangeType"), Some("update_user"));
//!
//! // A news reply takes 1 to 8 articles.
//! let news = Reply::news([Article::new("Release notes").url("https://example.com/notes")])?;
//! assert!(news.to_xml("zhangsan", "ww0123", 0).contains("<ArticleCount>1</ArticleCount>"));
//! assert!(Reply::news([]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bot;
mod error;
mod fields;
mod kind;
mod reply;

use std::fmt;
use std::str::FromStr;

pub use bot::BotMessage;
pub use error::{MessageError, MessageErrorKind};
pub use kind::{
    Click, EnterAgent, Image, Link, Location, LocationReport, MessageKind, OtherKind, Subscribe,
    Text, Unsubscribe, Video, View, Voice,
};
pub use reply::{Article, NewsError, Reply};

use crate::xml::{self, Child};
use fields::Fields;

/// The elements every WeCom message and event carries (WeCom doc 消息格式,
/// 事件格式), plus `MsgId` and `Event` where present.
///
/// Strings are the element text: CDATA verbatim, plain text with entities
/// resolved and surrounding whitespace trimmed. Numbers are decimal text
/// (surrounding whitespace allowed, no sign).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// `ToUserName`: the corp id (企业微信 CorpID) the message was sent to.
    pub to_user_name: String,
    /// `FromUserName`: the member's UserID, or `sys` for system events such
    /// as `change_contact` and `change_external_contact`.
    pub from_user_name: String,
    /// `CreateTime`: when the message was created, unix seconds.
    pub create_time: u64,
    /// `MsgType`: `text`, `image`, `voice`, `video`, `location`, `link`,
    /// `event`, or any other value WeCom adds, as sent.
    pub msg_type: String,
    /// `AgentID`: the app's id; `None` when absent (contact and
    /// customer-contact events) or empty.
    pub agent_id: Option<u64>,
    /// `MsgId`: the message id (64 bits), carried by messages but not by
    /// events; the key for de-duplicating WeCom's retries. `None` when
    /// absent or empty.
    pub msg_id: Option<u64>,
    /// `Event`, as sent, when `MsgType` is `event` (compare it without regard
    /// to ASCII case: WeCom sends `click`, the WeChat Official Account
    /// `CLICK`). `None` for messages.
    pub event: Option<String>,
    /// `InfoType` of a system push without `MsgType`: a WeCom suite's
    /// instruction callback (`suite_ticket`, `create_auth`, …, WeCom doc
    /// 回调通知) or an Open Platform push (`component_verify_ticket`,
    /// `authorized`, …, WeChat Open Platform doc 验证票据). For those,
    /// `msg_type` is empty, `to_user_name` is the `SuiteId` or `AppId`,
    /// `from_user_name` is empty and `create_time` is `TimeStamp` or
    /// `CreateTime`. `None` for messages and events.
    pub info_type: Option<String>,
}

/// A decrypted WeCom message or event (WeCom doc 消息格式 (接收消息与事件),
/// 事件格式).
///
/// Built by [`Message::parse`] (or [`str::parse`]). Holds the [`Header`],
/// the typed [`MessageKind`], the exact XML it was parsed from, and the text
/// of every top-level element for [`field`](Self::field).
///
/// `Debug` shows the header and the kind, not the raw XML.
#[derive(Clone, PartialEq)]
pub struct Message {
    header: Header,
    kind: MessageKind,
    raw_xml: String,
    children: Vec<Child>,
}

impl Message {
    /// Parses the decrypted XML of a message or event.
    ///
    /// The root must be `<xml>`. Required: `ToUserName`, `FromUserName`,
    /// `CreateTime` (unsigned decimal) and `MsgType`; `AgentID` and `MsgId`
    /// are optional but, when present and not empty, must be unsigned
    /// decimals that fit in a `u64`. Element names are case-sensitive;
    /// unknown elements are ignored (and available via
    /// [`field`](Self::field)).
    ///
    /// For a typed [`MessageKind`] variant, the elements it reads are
    /// required and must be well-formed too (see each variant's struct):
    /// a `text` message without `Content`, or a `LOCATION` event whose
    /// `Latitude` is not a decimal number, is an error rather than
    /// [`MessageKind::Other`]. Decimal numbers are plain notation (`-12.5`,
    /// no exponent, `inf` or `NaN`). An element that is read may appear only
    /// once and must hold text, not element children.
    ///
    /// # Errors
    /// [`MessageError`] with kind
    /// [`Xml`](MessageErrorKind::Xml) (not well-formed, or a DOCTYPE,
    /// processing instruction, unknown entity, second root, trailing text or
    /// nesting deeper than 32),
    /// [`WrongRoot`](MessageErrorKind::WrongRoot),
    /// [`MissingField`](MessageErrorKind::MissingField),
    /// [`InvalidField`](MessageErrorKind::InvalidField) or
    /// [`DuplicateField`](MessageErrorKind::DuplicateField).
    pub fn parse(xml: &str) -> Result<Self, MessageError> {
        let doc = xml::parse(xml).map_err(MessageError::xml)?;
        if doc.root != "xml" {
            return Err(MessageError::wrong_root());
        }
        Self::from_document(doc, xml.to_owned())
    }

    /// Parses a decrypted JSON message of the vendor's JSON callback format
    /// (`{"ToUserName": …, "MsgType": "text", "Content": …}`): a JSON object
    /// whose members stand for the XML elements. Strings and numbers are
    /// the element text; objects and arrays count as elements with children
    /// (see [`field`](Self::field)). The same rules as [`Message::parse`]
    /// apply after that; [`raw_xml`](Self::raw_xml) returns the JSON text.
    ///
    /// # Errors
    /// [`MessageErrorKind::Json`] unless `json` is a JSON object; then as
    /// [`Message::parse`].
    pub fn parse_json(json: &str) -> Result<Self, MessageError> {
        let serde_json::Value::Object(map) =
            serde_json::from_str(json).map_err(|_| MessageError::json())?
        else {
            return Err(MessageError::json());
        };
        let children = map
            .into_iter()
            .map(|(name, value)| {
                let (text, nested) = match value {
                    serde_json::Value::String(text) => (text, false),
                    serde_json::Value::Number(n) => (n.to_string(), false),
                    serde_json::Value::Bool(b) => (b.to_string(), false),
                    serde_json::Value::Null => (String::new(), false),
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        (String::new(), true)
                    }
                };
                Child {
                    name,
                    text,
                    nested,
                    has_ref: false,
                }
            })
            .collect();
        let doc = xml::Document {
            root: "xml".to_owned(),
            children,
        };
        Self::from_document(doc, json.to_owned())
    }

    fn from_document(doc: xml::Document, raw: String) -> Result<Self, MessageError> {
        let fields = Fields::new(&doc);
        let info_type = fields.optional_str("InfoType")?;
        let header = match (fields.optional_str("MsgType")?, info_type) {
            (None, Some(info_type)) => {
                // A system push: SuiteId/AppId and TimeStamp/CreateTime, no
                // member, no MsgType (WeCom doc 回调通知; Open Platform doc
                // 验证票据).
                let to_user_name = match fields.optional_string("SuiteId")? {
                    Some(id) => id,
                    None => fields.optional_string("AppId")?.unwrap_or_default(),
                };
                let create_time = match fields.optional_unsigned("TimeStamp")? {
                    Some(t) => t,
                    None => fields.optional_unsigned("CreateTime")?.unwrap_or(0),
                };
                Header {
                    to_user_name,
                    from_user_name: String::new(),
                    create_time,
                    msg_type: String::new(),
                    agent_id: None,
                    msg_id: None,
                    event: None,
                    info_type: Some(info_type.to_owned()),
                }
            }
            (msg_type, _) => {
                let msg_type = msg_type.ok_or_else(|| MessageError::missing("MsgType"))?;
                let event = if msg_type.eq_ignore_ascii_case("event") {
                    fields.optional_str("Event")?
                } else {
                    None
                };
                Header {
                    to_user_name: fields.string("ToUserName")?,
                    from_user_name: fields.string("FromUserName")?,
                    create_time: fields.unsigned("CreateTime")?,
                    msg_type: msg_type.to_owned(),
                    agent_id: fields.optional_unsigned("AgentID")?,
                    msg_id: fields.optional_unsigned("MsgId")?,
                    event: event.map(str::to_owned),
                    info_type: None,
                }
            }
        };
        let kind = if header.info_type.is_some() {
            MessageKind::read(&fields, "", None)?
        } else {
            MessageKind::read(&fields, &header.msg_type, header.event.as_deref())?
        };
        Ok(Self {
            header,
            kind,
            raw_xml: raw,
            children: doc.children,
        })
    }

    /// The common elements.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The typed message or event.
    pub fn kind(&self) -> &MessageKind {
        &self.kind
    }

    /// The decrypted XML exactly as received, for elements this crate does
    /// not type (nested ones such as `ApprovalInfo` or `SendPicsInfo`).
    pub fn raw_xml(&self) -> &str {
        &self.raw_xml
    }

    /// The text of the first top-level element called `name` (case-sensitive),
    /// e.g. `field("ChangeType")` of a `change_contact` event.
    ///
    /// CDATA is returned verbatim, plain text with entities resolved and
    /// surrounding whitespace trimmed. `None` when there is no such element,
    /// or when it has element children (such as `ExtAttr` or
    /// `SendPicsInfo`; read those from [`raw_xml`](Self::raw_xml)).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|child| child.name == name)
            .filter(|child| !child.nested)
            .map(|child| child.text.as_str())
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

    /// `FromUserName`: the member's UserID (`sys` for system events).
    pub fn from_user_name(&self) -> &str {
        &self.header.from_user_name
    }

    /// `ToUserName`: the corp id.
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
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn xml(body: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[corp]]></ToUserName><FromUserName><![CDATA[u1]]></FromUserName>\
             <CreateTime>1700000000</CreateTime>{body}</xml>"
        )
    }

    fn err(input: &str) -> (MessageErrorKind, Option<&'static str>) {
        let e = Message::parse(input).unwrap_err();
        (e.kind(), e.element())
    }

    #[test]
    fn header_and_text() {
        let m = Message::parse(&xml(
            "<MsgType>text</MsgType><Content><![CDATA[ hi ]]></Content><MsgId>9</MsgId><AgentID>1000002</AgentID>",
        ))
        .unwrap();
        assert_eq!(m.to_user_name(), "corp");
        assert_eq!(m.from_user_name(), "u1");
        assert_eq!(m.create_time(), 1_700_000_000);
        assert_eq!(m.msg_type(), "text");
        assert_eq!(m.msg_id(), Some(9));
        assert_eq!(m.agent_id(), Some(1_000_002));
        assert_eq!(m.event(), None);
        assert_eq!(
            m.kind(),
            &MessageKind::Text(Text {
                content: " hi ".into()
            })
        );
        assert_eq!(m.field("Content"), Some(" hi "));
        assert_eq!(m.field("content"), None);
        let same: Message = xml(
            "<MsgType>text</MsgType><Content><![CDATA[ hi ]]></Content><MsgId>9</MsgId><AgentID>1000002</AgentID>",
        )
        .parse()
        .unwrap();
        assert_eq!(same, m);
    }

    #[test]
    fn optional_numbers_may_be_absent_or_empty() {
        let m = Message::parse(&xml(
            "<MsgType>event</MsgType><Event>subscribe</Event><AgentID></AgentID><MsgId><![CDATA[ ]]></MsgId>",
        ))
        .unwrap();
        assert_eq!(m.agent_id(), None);
        assert_eq!(m.msg_id(), None);
        assert_eq!(m.kind(), &MessageKind::Subscribe(Subscribe {}));
    }

    #[test]
    fn numbers_accept_cdata_and_whitespace() {
        let m = Message::parse(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>\
             <CreateTime><![CDATA[ 12 ]]></CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event>\
             <AgentID><![CDATA[7]]></AgentID></xml>",
        )
        .unwrap();
        assert_eq!(m.create_time(), 12);
        assert_eq!(m.agent_id(), Some(7));
        assert!(matches!(m.kind(), MessageKind::Unsubscribe(_)));
    }

    #[test]
    fn header_errors() {
        use MessageErrorKind::*;
        assert_eq!(err("<xml><MsgType>text</MsgType>"), (Xml, None));
        assert_eq!(err("<!DOCTYPE xml><xml/>"), (Xml, None));
        assert_eq!(
            err("<root><MsgType>text</MsgType></root>"),
            (WrongRoot, None)
        );
        assert_eq!(err("<XML></XML>"), (WrongRoot, None));
        assert_eq!(err(&xml("")), (MissingField, Some("MsgType")));
        assert_eq!(
            err(
                "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>x</MsgType></xml>"
            ),
            (MissingField, Some("ToUserName"))
        );
        assert_eq!(
            err(
                "<xml><ToUserName>c</ToUserName><CreateTime>1</CreateTime><MsgType>x</MsgType></xml>"
            ),
            (MissingField, Some("FromUserName"))
        );
        assert_eq!(
            err(
                "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><MsgType>x</MsgType></xml>"
            ),
            (MissingField, Some("CreateTime"))
        );
        for bad in ["", "-1", "+1", "1.5", "1e9", "18446744073709551616", "now"] {
            let input = format!(
                "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>{bad}</CreateTime><MsgType>x</MsgType></xml>"
            );
            assert_eq!(err(&input), (InvalidField, Some("CreateTime")), "{bad:?}");
        }
        assert_eq!(
            err(&xml("<MsgType>x</MsgType><AgentID>one</AgentID>")),
            (InvalidField, Some("AgentID"))
        );
        assert_eq!(
            err(&xml("<MsgType>x</MsgType><MsgId>-3</MsgId>")),
            (InvalidField, Some("MsgId"))
        );
        assert_eq!(
            err(&xml("<MsgType>text</MsgType><MsgType>event</MsgType>")),
            (DuplicateField, Some("MsgType"))
        );
        assert_eq!(
            err(&xml(
                "<MsgType>x</MsgType><AgentID>1</AgentID><AgentID>2</AgentID>"
            )),
            (DuplicateField, Some("AgentID"))
        );
        assert_eq!(
            err(&xml("<MsgType><a>text</a></MsgType>")),
            (InvalidField, Some("MsgType"))
        );
    }

    #[test]
    fn typed_fields_are_required_and_checked() {
        use MessageErrorKind::*;
        assert_eq!(
            err(&xml("<MsgType>text</MsgType>")),
            (MissingField, Some("Content"))
        );
        assert_eq!(
            err(&xml("<MsgType>text</MsgType><Content><b>x</b></Content>")),
            (InvalidField, Some("Content"))
        );
        assert_eq!(
            err(&xml(
                "<MsgType>text</MsgType><Content>a</Content><Content>b</Content>"
            )),
            (DuplicateField, Some("Content"))
        );
        assert_eq!(
            err(&xml("<MsgType>image</MsgType><PicUrl>p</PicUrl>")),
            (MissingField, Some("MediaId"))
        );
        assert_eq!(
            err(&xml(
                "<MsgType>location</MsgType><Location_X>inf</Location_X><Location_Y>1</Location_Y><Scale>1</Scale><Label/>"
            )),
            (InvalidField, Some("Location_X"))
        );
        assert_eq!(
            err(&xml(
                "<MsgType>location</MsgType><Location_X>1</Location_X><Location_Y>1</Location_Y><Scale>1.5</Scale><Label/>"
            )),
            (InvalidField, Some("Scale"))
        );
        assert_eq!(
            err(&xml(
                "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>1</Latitude><Longitude>2</Longitude>"
            )),
            (MissingField, Some("Precision"))
        );
        assert_eq!(
            err(&xml("<MsgType>event</MsgType><Event>click</Event>")),
            (MissingField, Some("EventKey"))
        );
        assert_eq!(
            err(&xml("<MsgType>event</MsgType><Event>view</Event>")),
            (MissingField, Some("EventKey"))
        );
    }

    #[test]
    fn events_match_case_insensitively_and_keep_spelling() {
        let m = Message::parse(&xml(
            "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>k1</EventKey>",
        ))
        .unwrap();
        assert_eq!(m.event(), Some("CLICK"));
        assert_eq!(
            m.kind(),
            &MessageKind::Click(Click {
                event_key: "k1".into()
            })
        );
        let m = Message::parse(&xml(
            "<MsgType>Event</MsgType><Event>View</Event><EventKey>https://a/</EventKey>",
        ))
        .unwrap();
        assert_eq!(m.msg_type(), "Event");
        assert_eq!(m.event(), Some("View"));
        assert_eq!(
            m.kind(),
            &MessageKind::View(View {
                event_key: "https://a/".into()
            })
        );
        let m = Message::parse(&xml(
            "<MsgType>event</MsgType><Event>location</Event><Latitude>-1.5</Latitude><Longitude>+2</Longitude><Precision>30</Precision>",
        ))
        .unwrap();
        assert_eq!(
            m.kind(),
            &MessageKind::LocationReport(LocationReport {
                latitude: -1.5,
                longitude: 2.0,
                precision: 30.0
            })
        );
        let m = Message::parse(&xml("<MsgType>event</MsgType><Event>enter_agent</Event>")).unwrap();
        assert_eq!(
            m.kind(),
            &MessageKind::EnterAgent(EnterAgent {
                event_key: String::new()
            })
        );
    }

    #[test]
    fn unknown_types_and_events_are_other() {
        let m = Message::parse(&xml(
            "<MsgType>file</MsgType><MediaId>m</MediaId><MsgId>1</MsgId>",
        ))
        .unwrap();
        assert_eq!(
            m.kind(),
            &MessageKind::Other(OtherKind {
                msg_type: "file".into(),
                event: None
            })
        );
        assert_eq!(m.field("MediaId"), Some("m"));
        let m = Message::parse(&xml(
            "<MsgType>event</MsgType><Event>batch_job_result</Event><BatchJob><JobId>j</JobId></BatchJob>",
        ))
        .unwrap();
        assert_eq!(
            m.kind(),
            &MessageKind::Other(OtherKind {
                msg_type: "event".into(),
                event: Some("batch_job_result".into())
            })
        );
        assert_eq!(m.field("BatchJob"), None);
        assert_eq!(m.field("JobId"), None);
        assert!(m.raw_xml().contains("<JobId>j</JobId>"));
        let m = Message::parse(&xml("<MsgType>event</MsgType>")).unwrap();
        assert_eq!(
            m.kind(),
            &MessageKind::Other(OtherKind {
                msg_type: "event".into(),
                event: None
            })
        );
        // Unread elements are not checked: a duplicate or odd one is fine.
        let m = Message::parse(&xml(
            "<MsgType>event</MsgType><Event>x</Event><Latitude>n/a</Latitude><P/><P/>",
        ))
        .unwrap();
        assert!(matches!(m.kind(), MessageKind::Other(_)));
        // An Event on a non-event message is not read.
        let m = Message::parse(&xml(
            "<MsgType>text</MsgType><Event>click</Event><Content>c</Content>",
        ))
        .unwrap();
        assert_eq!(m.event(), None);
        assert!(matches!(m.kind(), MessageKind::Text(_)));
    }

    #[test]
    fn entities_resolve_in_plain_text() {
        let m = Message::parse(&xml(
            "<MsgType>text</MsgType><Content>a &lt;b&gt; &amp; &#x4e2d;</Content>",
        ))
        .unwrap();
        assert_eq!(m.field("Content"), Some("a <b> & 中"));
    }

    #[test]
    fn debug_omits_raw_xml() {
        let m = Message::parse(&xml(
            "<MsgType>text</MsgType><Content>c</Content><Secret>s3cr3t</Secret>",
        ))
        .unwrap();
        let debug = format!("{m:?}");
        assert!(debug.contains("Text"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
}
