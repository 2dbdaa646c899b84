//! [`MessageKind`] and the small structs its variants carry.

use super::error::MessageError;
use super::fields::Fields;

/// What a message or event is, with the elements of the typed ones.
///
/// Sources: WeCom doc 消息格式 (接收消息与事件) for the messages, 事件格式
/// for the events (`MsgType` `event`). `MsgType` and `Event` are matched
/// without regard to ASCII case: WeCom sends `click`/`view`, the WeChat
/// Official Account `CLICK`/`VIEW`, both send `LOCATION`. The original
/// spelling stays in [`Header`](super::Header).
///
/// Anything else lands in [`Other`](MessageKind::Other), never in an error;
/// its elements are available through
/// [`Message::field`](super::Message::field) and
/// [`Message::raw_xml`](super::Message::raw_xml). Variants may be added in
/// minor releases, so a message that is `Other` today may get its own
/// variant later: match on `Other` only as a fallback.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageKind {
    /// `MsgType` `text`: a text message.
    Text(Text),
    /// `MsgType` `image`: a picture.
    Image(Image),
    /// `MsgType` `voice`: a voice recording.
    Voice(Voice),
    /// `MsgType` `video`: a video.
    Video(Video),
    /// `MsgType` `location`: a location the member sent as a message.
    Location(Location),
    /// `MsgType` `link`: a shared link.
    Link(Link),
    /// Event `subscribe`: the member started following the app
    /// (成员关注事件).
    Subscribe(Subscribe),
    /// Event `unsubscribe`: the member stopped following the app
    /// (取消关注事件).
    Unsubscribe(Unsubscribe),
    /// Event `enter_agent`: the member opened the app (进入应用).
    EnterAgent(EnterAgent),
    /// Event `LOCATION`: the app reported the member's position
    /// (上报地理位置).
    LocationReport(LocationReport),
    /// Event `click`: the member tapped a menu item that sends a key
    /// (点击菜单拉取消息的事件推送).
    Click(Click),
    /// Event `view`: the member tapped a menu item that opens a URL
    /// (点击菜单跳转链接的事件推送).
    View(View),
    /// Any other `MsgType` or `Event`, e.g. `change_contact`,
    /// `change_external_contact`, `taskcard_click`, `pic_weixin`,
    /// `open_approval_change`.
    Other(OtherKind),
}

/// A text message: `MsgType` `text` (WeCom doc 消息格式, 文本消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Text {
    /// `Content`: the text as the member typed it.
    pub content: String,
}

/// A picture: `MsgType` `image` (WeCom doc 消息格式, 图片消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Image {
    /// `PicUrl`: link to the picture.
    pub pic_url: String,
    /// `MediaId`: media id for the 获取临时素材 API; the doc says it is valid
    /// for three days only.
    pub media_id: String,
}

/// A voice recording: `MsgType` `voice` (WeCom doc 消息格式, 语音消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Voice {
    /// `MediaId`: media id for the 获取临时素材 API.
    pub media_id: String,
    /// `Format`: the audio format, e.g. `amr` or `speex`.
    pub format: String,
}

/// A video: `MsgType` `video` (WeCom doc 消息格式, 视频消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Video {
    /// `MediaId`: media id of the video for the 获取临时素材 API.
    pub media_id: String,
    /// `ThumbMediaId`: media id of the video's thumbnail.
    pub thumb_media_id: String,
}

/// A location sent as a message: `MsgType` `location` (WeCom doc 消息格式,
/// 位置消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Location {
    /// `Location_X`: latitude, in degrees.
    pub location_x: f64,
    /// `Location_Y`: longitude, in degrees.
    pub location_y: f64,
    /// `Scale`: the map zoom level.
    pub scale: u32,
    /// `Label`: the place's description, e.g. a street address.
    pub label: String,
}

/// A shared link: `MsgType` `link` (WeCom doc 消息格式, 链接消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Link {
    /// `Title`: the link's title.
    pub title: String,
    /// `Description`: the link's description.
    pub description: String,
    /// `Url`: the link's target.
    pub url: String,
    /// `PicUrl`: the cover thumbnail. WeCom always sends it; `None` when the
    /// element is absent (the WeChat Official Account's link message has
    /// none).
    pub pic_url: Option<String>,
}

/// The `subscribe` event (WeCom doc 事件格式, 成员关注及取消关注事件).
///
/// It carries nothing beyond the [`Header`](super::Header); a struct so that
/// fields can be added later.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Subscribe {}

/// The `unsubscribe` event (WeCom doc 事件格式, 成员关注及取消关注事件).
///
/// It carries nothing beyond the [`Header`](super::Header); a struct so that
/// fields can be added later.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unsubscribe {}

/// The `enter_agent` event (WeCom doc 事件格式, 进入应用).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EnterAgent {
    /// `EventKey`: empty for this event according to the doc; an absent
    /// element reads as empty too.
    pub event_key: String,
}

/// The `LOCATION` event (WeCom doc 事件格式, 上报地理位置), sent when the app
/// is set to report the member's position.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LocationReport {
    /// `Latitude`, in degrees.
    pub latitude: f64,
    /// `Longitude`, in degrees.
    pub longitude: f64,
    /// `Precision`: the position's accuracy (地理位置精度), as sent.
    pub precision: f64,
}

/// The `click` event of a menu item (WeCom doc 事件格式, 点击菜单拉取消息的事件推送).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Click {
    /// `EventKey`: the `key` configured for the menu item.
    pub event_key: String,
}

/// The `view` event of a menu item (WeCom doc 事件格式, 点击菜单跳转链接的事件推送).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct View {
    /// `EventKey`: the URL the menu item opens.
    pub event_key: String,
}

/// A message or event without a typed variant; read its elements with
/// [`Message::field`](super::Message::field) or
/// [`Message::raw_xml`](super::Message::raw_xml).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtherKind {
    /// `MsgType` as sent.
    pub msg_type: String,
    /// `Event` as sent, when `MsgType` is `event` and the element is there.
    pub event: Option<String>,
}

impl MessageKind {
    /// Reads the variant for `msg_type` / `event` from `fields`.
    pub(super) fn read(
        fields: &Fields<'_>,
        msg_type: &str,
        event: Option<&str>,
    ) -> Result<Self, MessageError> {
        let is = |name: &str| msg_type.eq_ignore_ascii_case(name);
        let kind = if is("text") {
            Self::Text(Text {
                content: fields.string("Content")?,
            })
        } else if is("image") {
            Self::Image(Image {
                pic_url: fields.string("PicUrl")?,
                media_id: fields.string("MediaId")?,
            })
        } else if is("voice") {
            Self::Voice(Voice {
                media_id: fields.string("MediaId")?,
                format: fields.string("Format")?,
            })
        } else if is("video") {
            Self::Video(Video {
                media_id: fields.string("MediaId")?,
                thumb_media_id: fields.string("ThumbMediaId")?,
            })
        } else if is("location") {
            Self::Location(Location {
                location_x: fields.decimal("Location_X")?,
                location_y: fields.decimal("Location_Y")?,
                scale: fields.unsigned("Scale")?,
                label: fields.string("Label")?,
            })
        } else if is("link") {
            Self::Link(Link {
                title: fields.string("Title")?,
                description: fields.string("Description")?,
                url: fields.string("Url")?,
                pic_url: fields.optional_string("PicUrl")?,
            })
        } else if is("event") {
            match event {
                Some(event) => Self::read_event(fields, msg_type, event)?,
                None => Self::other(msg_type, None),
            }
        } else {
            Self::other(msg_type, None)
        };
        Ok(kind)
    }

    fn read_event(fields: &Fields<'_>, msg_type: &str, event: &str) -> Result<Self, MessageError> {
        let is = |name: &str| event.eq_ignore_ascii_case(name);
        let kind = if is("subscribe") {
            Self::Subscribe(Subscribe {})
        } else if is("unsubscribe") {
            Self::Unsubscribe(Unsubscribe {})
        } else if is("enter_agent") {
            Self::EnterAgent(EnterAgent {
                event_key: fields.optional_string("EventKey")?.unwrap_or_default(),
            })
        } else if is("LOCATION") {
            Self::LocationReport(LocationReport {
                latitude: fields.decimal("Latitude")?,
                longitude: fields.decimal("Longitude")?,
                precision: fields.decimal("Precision")?,
            })
        } else if is("click") {
            Self::Click(Click {
                event_key: fields.string("EventKey")?,
            })
        } else if is("view") {
            Self::View(View {
                event_key: fields.string("EventKey")?,
            })
        } else {
            Self::other(msg_type, Some(event))
        };
        Ok(kind)
    }

    fn other(msg_type: &str, event: Option<&str>) -> Self {
        Self::Other(OtherKind {
            msg_type: msg_type.to_owned(),
            event: event.map(str::to_owned),
        })
    }
}
