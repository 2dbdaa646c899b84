//! Events of a custom menu's scanner, photo and location buttons, shared by
//! WeCom apps and the WeChat Official Account (WeCom doc 事件格式; WeChat doc
//! 自定义菜单事件推送).

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};

/// `scancode_push` / `scancode_waitmsg`: the menu's scanner read a code
/// (扫码推事件).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScanCode {
    /// `EventKey`: the menu item's key.
    pub event_key: String,
    /// `ScanCodeInfo.ScanType`: the kind of code, usually `qrcode`.
    pub scan_type: String,
    /// `ScanCodeInfo.ScanResult`: the code's content (not trimmed).
    pub scan_result: String,
}

/// `pic_sysphoto` / `pic_photo_or_album` / `pic_weixin`: the member sent
/// photos through the menu (弹出拍照或者相册发图).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SendPics {
    /// `EventKey`: the menu item's key.
    pub event_key: String,
    /// `SendPicsInfo.Count`: how many photos were sent.
    pub count: u32,
    /// `SendPicsInfo.PicList.item.PicMd5Sum` of every photo, in order. The
    /// items may sit in one `PicList` or in one `PicList` each (both are
    /// seen on the wire).
    pub pic_md5_sums: Vec<String>,
}

/// `location_select`: a place picked with the menu's map
/// (弹出地理位置选择器).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LocationSelect {
    /// `EventKey`: the menu item's key.
    pub event_key: String,
    /// `SendLocationInfo.Location_X`: latitude, in degrees.
    pub location_x: f64,
    /// `SendLocationInfo.Location_Y`: longitude, in degrees.
    pub location_y: f64,
    /// `SendLocationInfo.Scale`: the map zoom level.
    pub scale: u32,
    /// `SendLocationInfo.Label`: the place's description (not trimmed).
    pub label: String,
    /// `SendLocationInfo.Poiname`: the point of interest's name; `None`
    /// when absent or empty.
    pub poiname: Option<String>,
}

/// Reads a menu event for `event` (lower case).
pub(super) fn read_event(fields: &Fields<'_>, event: &str) -> Read {
    let kind = match event {
        "scancode_push" => scan_code(fields).map(MessageKind::ScanCodePush),
        "scancode_waitmsg" => scan_code(fields).map(MessageKind::ScanCodeWaitMsg),
        "pic_sysphoto" => send_pics(fields).map(MessageKind::PicSysPhoto),
        "pic_photo_or_album" => send_pics(fields).map(MessageKind::PicPhotoOrAlbum),
        "pic_weixin" => send_pics(fields).map(MessageKind::PicWeixin),
        "location_select" => location_select(fields).map(MessageKind::LocationSelect),
        _ => return None,
    };
    Some(kind)
}

fn scan_code(fields: &Fields<'_>) -> Result<ScanCode, MessageError> {
    let info = fields.group("ScanCodeInfo")?;
    Ok(ScanCode {
        event_key: fields.token("EventKey")?,
        scan_type: info.token("ScanType")?,
        scan_result: info.string("ScanResult")?,
    })
}

fn send_pics(fields: &Fields<'_>) -> Result<SendPics, MessageError> {
    let info = fields.group("SendPicsInfo")?;
    let mut pic_md5_sums = Vec::new();
    for list in info.groups("PicList") {
        for item in list.groups("item") {
            pic_md5_sums.push(item.token("PicMd5Sum")?);
        }
    }
    Ok(SendPics {
        event_key: fields.token("EventKey")?,
        count: info.unsigned("Count")?,
        pic_md5_sums,
    })
}

fn location_select(fields: &Fields<'_>) -> Result<LocationSelect, MessageError> {
    let info = fields.group("SendLocationInfo")?;
    Ok(LocationSelect {
        event_key: fields.token("EventKey")?,
        location_x: info.decimal("Location_X")?,
        location_y: info.decimal("Location_Y")?,
        scale: info.unsigned("Scale")?,
        label: info.string("Label")?,
        poiname: info.optional_string("Poiname")?.filter(|p| !p.is_empty()),
    })
}
