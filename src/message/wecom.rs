//! Messages (`MsgType` other than `event`) and the member's own events of a
//! WeCom app, which the WeChat Official Account shares (WeCom doc 消息格式,
//! 事件格式; WeChat doc 接收普通消息, 接收事件推送).

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};
use super::{menu, work};

pub use super::menu::{LocationSelect, ScanCode, SendPics};
pub use super::work::{
    ApprovalItem, ApprovalNode, BatchJobResult, NotifyNode, OpenApprovalChange, SelectedItem,
    SpDetail, SpRecord, SysApprovalChange, TaskcardClick, TemplateCardEvent, TemplateCardMenuEvent,
};

/// A text message: `MsgType` `text` (WeCom doc 消息格式, 文本消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Text {
    /// `Content`: the text as the member typed it (not trimmed).
    pub content: String,
    /// `bizmsgmenuid` (Official Account): the id of the menu option the
    /// user tapped in a 客服 menu message, when present.
    pub biz_msg_menu_id: Option<String>,
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
    /// `Recognition` (Official Account with speech recognition on): the
    /// recognised text.
    pub recognition: Option<String>,
}

/// A video: `MsgType` `video` or `shortvideo` (WeCom doc 消息格式, 视频消息;
/// WeChat doc 接收普通消息, 小视频消息).
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
    /// `AppType` (newer WeCom pushes, e.g. `wxwork`), when present.
    pub app_type: Option<String>,
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

/// The `subscribe` event (WeCom doc 事件格式, 成员关注及取消关注事件; WeChat doc
/// 关注/取消关注事件, 扫描带参数二维码事件).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Subscribe {
    /// `EventKey`: on the Official Account, `qrscene_<scene>` when the user
    /// followed by scanning a QR code with a scene (see
    /// [`qr_scene`](Self::qr_scene)); `None` when absent.
    pub event_key: Option<String>,
    /// `Ticket`: the QR code's ticket (for 换取二维码图片), with a scene.
    pub ticket: Option<String>,
}

impl Subscribe {
    /// The QR code scene: `EventKey` without its `qrscene_` prefix, when the
    /// user followed by scanning a code with a scene (`qrscene_123123` →
    /// `123123`).
    pub fn qr_scene(&self) -> Option<&str> {
        self.event_key.as_deref()?.strip_prefix("qrscene_")
    }
}

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

/// The `LOCATION` event (WeCom doc 事件格式, 上报地理位置; WeChat doc 上报地理位置事件).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LocationReport {
    /// `Latitude`, in degrees.
    pub latitude: f64,
    /// `Longitude`, in degrees.
    pub longitude: f64,
    /// `Precision`: the position's accuracy (地理位置精度), as sent; `None`
    /// when absent or empty.
    pub precision: Option<f64>,
    /// `AppType` (newer WeCom pushes), when present.
    pub app_type: Option<String>,
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
    /// `MenuId` (Official Account, personalised menus), when present.
    pub menu_id: Option<String>,
}

/// The `view_miniprogram` event of a menu item (WeCom doc 事件格式,
/// 点击菜单跳转小程序的事件推送).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ViewMiniprogram {
    /// `EventKey`: the mini program page path.
    pub event_key: String,
}

/// Reads a message for `msg_type` (lower case).
pub(super) fn read_message(fields: &Fields<'_>, msg_type: &str) -> Read {
    let kind = match msg_type {
        "text" => text(fields),
        "image" => image(fields),
        "voice" => voice(fields),
        "video" => video(fields).map(MessageKind::Video),
        "shortvideo" => video(fields).map(MessageKind::ShortVideo),
        "location" => location(fields),
        "link" => link(fields),
        _ => return None,
    };
    Some(kind)
}

fn text(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::Text(Text {
        content: fields.string("Content")?,
        biz_msg_menu_id: fields.optional_token("bizmsgmenuid")?,
    }))
}

fn image(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::Image(Image {
        pic_url: fields.token("PicUrl")?,
        media_id: fields.token("MediaId")?,
    }))
}

fn voice(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::Voice(Voice {
        media_id: fields.token("MediaId")?,
        format: fields.token("Format")?,
        recognition: fields.optional_string("Recognition")?,
    }))
}

fn location(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::Location(Location {
        location_x: fields.decimal("Location_X")?,
        location_y: fields.decimal("Location_Y")?,
        scale: fields.unsigned("Scale")?,
        label: fields.string("Label")?,
        app_type: fields.optional_token("AppType")?,
    }))
}

fn link(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::Link(Link {
        title: fields.string("Title")?,
        description: fields.string("Description")?,
        url: fields.token("Url")?,
        pic_url: fields.optional_token("PicUrl")?,
    }))
}

fn video(fields: &Fields<'_>) -> Result<Video, MessageError> {
    Ok(Video {
        media_id: fields.token("MediaId")?,
        thumb_media_id: fields.token("ThumbMediaId")?,
    })
}

/// Reads an event for `event` (lower case): the member's own events here,
/// the menu's in [`menu`], the work events in [`work`].
pub(super) fn read_event(fields: &Fields<'_>, event: &str) -> Read {
    let kind = match event {
        "subscribe" => subscribe(fields),
        "unsubscribe" => Ok(MessageKind::Unsubscribe(Unsubscribe {})),
        "enter_agent" => fields
            .token_or_empty("EventKey")
            .map(|event_key| MessageKind::EnterAgent(EnterAgent { event_key })),
        "location" => location_report(fields),
        "click" => fields
            .token("EventKey")
            .map(|event_key| MessageKind::Click(Click { event_key })),
        "view" => view(fields),
        "view_miniprogram" => fields
            .token("EventKey")
            .map(|event_key| MessageKind::ViewMiniprogram(ViewMiniprogram { event_key })),
        _ => return menu::read_event(fields, event).or_else(|| work::read_event(fields, event)),
    };
    Some(kind)
}

fn subscribe(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::Subscribe(Subscribe {
        event_key: fields
            .optional_token("EventKey")?
            .filter(|key| !key.is_empty()),
        ticket: fields.optional_token("Ticket")?.filter(|t| !t.is_empty()),
    }))
}

fn location_report(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::LocationReport(LocationReport {
        latitude: fields.decimal("Latitude")?,
        longitude: fields.decimal("Longitude")?,
        precision: fields.optional_decimal("Precision")?,
        app_type: fields.optional_token("AppType")?,
    }))
}

fn view(fields: &Fields<'_>) -> Result<MessageKind, MessageError> {
    Ok(MessageKind::View(View {
        event_key: fields.token("EventKey")?,
        menu_id: fields.optional_token("MenuId")?,
    }))
}
