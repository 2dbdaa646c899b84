//! [`MessageKind`]: what a message is, and the dispatch from `MsgType`,
//! `Event` and `InfoType` to the family modules that read each variant.

use super::contact::{
    ChangeContact, ChangeExternalChat, ChangeExternalContact, ChangeExternalTag, KfMsgOrEvent,
};
use super::error::MessageError;
use super::fields::Fields;
use super::official_account::{MassSendJobFinish, Scan, TemplateSendJobFinish};
use super::open_platform::{Authorization, ComponentVerifyTicket, Unauthorized};
use super::suite::{
    CancelAuth, ChangeAuth, CreateAuth, RegisterCorp, ResetPermanentCode, SuiteTicket,
};
use super::wecom::{
    BatchJobResult, Click, EnterAgent, Image, Link, Location, LocationReport, LocationSelect,
    OpenApprovalChange, ScanCode, SendPics, Subscribe, SysApprovalChange, TaskcardClick,
    TemplateCardEvent, TemplateCardMenuEvent, Text, Unsubscribe, Video, View, ViewMiniprogram,
    Voice,
};
use super::{Header, contact, official_account, open_platform, suite, wecom};

/// What a message, event or system push is, with its elements typed.
///
/// Sources, by family: WeCom doc 消息格式 (接收消息与事件) for the messages,
/// 事件格式 for the events (`MsgType` `event`), WeCom doc 回调通知 for the
/// third-party suite's instruction callbacks (`InfoType`), WeChat doc
/// 接收普通消息 / 接收事件推送 for the Official Account, and WeChat Open
/// Platform doc 验证票据 / 授权变更通知推送 for the component's pushes.
///
/// `MsgType`, `Event` and `InfoType` are matched without regard to ASCII
/// case and surrounding whitespace: WeCom sends `click`/`view`, the
/// Official Account `CLICK`/`VIEW`; the original spelling stays in
/// [`Header`]. A variant is chosen only when every element it reads fits
/// (required ones present, numbers decimal, no duplicates); otherwise the
/// message is [`Other`](MessageKind::Other) with the
/// [`problem`](OtherKind::problem) that stopped it, so an authentic
/// message always reaches the handler. Unknown names are `Other` too, with
/// no problem. Variants may be added in minor releases: match on `Other`
/// only as a fallback.
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
    /// `MsgType` `shortvideo` (Official Account): a short video.
    ShortVideo(Video),
    /// `MsgType` `location`: a location sent as a message.
    Location(Location),
    /// `MsgType` `link`: a shared link.
    Link(Link),
    /// Event `subscribe`: a member followed the app, or a user the Official
    /// Account (possibly by scanning a QR code with a scene).
    Subscribe(Subscribe),
    /// Event `unsubscribe`.
    Unsubscribe(Unsubscribe),
    /// Event `enter_agent`: the member opened the app (进入应用).
    EnterAgent(EnterAgent),
    /// Event `LOCATION`: the position the app or account reports (上报地理位置).
    LocationReport(LocationReport),
    /// Event `click` / `CLICK`: a menu item that sends a key.
    Click(Click),
    /// Event `view` / `VIEW`: a menu item that opens a URL.
    View(View),
    /// Event `view_miniprogram`: a menu item that opens a mini program page.
    ViewMiniprogram(ViewMiniprogram),
    /// Event `scancode_push`: the menu's scanner showed the result
    /// (扫码推事件).
    ScanCodePush(ScanCode),
    /// Event `scancode_waitmsg`: the menu's scanner waits for the app's
    /// answer (扫码推事件且弹出"消息接收中"提示框).
    ScanCodeWaitMsg(ScanCode),
    /// Event `pic_sysphoto`: photos taken with the camera (弹出系统拍照发图).
    PicSysPhoto(SendPics),
    /// Event `pic_photo_or_album`: photos from camera or album.
    PicPhotoOrAlbum(SendPics),
    /// Event `pic_weixin`: photos from the WeChat / WeCom album.
    PicWeixin(SendPics),
    /// Event `location_select`: a place picked on a map (弹出地理位置选择器).
    LocationSelect(LocationSelect),
    /// Event `batch_job_result`: an asynchronous contact job finished
    /// (异步任务完成事件推送).
    BatchJobResult(BatchJobResult),
    /// Event (or suite `InfoType`) `change_contact`: a member, department or
    /// tag changed (通讯录变更事件).
    ChangeContact(ChangeContact),
    /// Event `open_approval_change`: a third-party approval changed state
    /// (审批状态通知事件).
    OpenApprovalChange(OpenApprovalChange),
    /// Event `sys_approval_change`: an approval of the built-in approval app
    /// changed state (审批申请状态变化回调通知).
    SysApprovalChange(SysApprovalChange),
    /// Event `taskcard_click`: a button of a (legacy) task card was tapped.
    TaskcardClick(TaskcardClick),
    /// Event `template_card_event`: a button of a template card was tapped
    /// (模板卡片事件推送); answer with
    /// [`Reply::update_template_card`](super::Reply::update_template_card)
    /// or [`Reply::update_button`](super::Reply::update_button).
    TemplateCardEvent(TemplateCardEvent),
    /// Event `template_card_menu_event`: an item of a template card's menu
    /// was tapped (通用模板卡片右上角菜单事件推送).
    TemplateCardMenuEvent(TemplateCardMenuEvent),
    /// Event (or suite `InfoType`) `change_external_contact`: a customer
    /// contact changed (客户变更回调).
    ChangeExternalContact(ChangeExternalContact),
    /// Event `change_external_chat`: a customer group changed (客户群变更事件).
    ChangeExternalChat(ChangeExternalChat),
    /// Event `change_external_tag`: a customer tag changed (企业客户标签变更事件).
    ChangeExternalTag(ChangeExternalTag),
    /// Event `kf_msg_or_event`: WeChat customer service (微信客服) has
    /// messages to fetch with the `sync_msg` API.
    KfMsgOrEvent(KfMsgOrEvent),
    /// Event `SCAN` (Official Account): a follower scanned a QR code with a
    /// scene.
    Scan(Scan),
    /// Event `MASSSENDJOBFINISH` (Official Account): a mass send finished.
    MassSendJobFinish(MassSendJobFinish),
    /// Event `TEMPLATESENDJOBFINISH` (Official Account): a template message
    /// was delivered or not.
    TemplateSendJobFinish(TemplateSendJobFinish),
    /// Suite `InfoType` `suite_ticket`: the ticket for the suite access token
    /// (推送suite_ticket).
    SuiteTicket(SuiteTicket),
    /// Suite `InfoType` `create_auth`: a corp installed the app (授权成功通知).
    CreateAuth(CreateAuth),
    /// Suite `InfoType` `change_auth`: a corp changed its authorization.
    ChangeAuth(ChangeAuth),
    /// Suite `InfoType` `cancel_auth`: a corp removed the app.
    CancelAuth(CancelAuth),
    /// Suite `InfoType` `reset_permanent_code` (服务商代开发): a new
    /// authorization code for the permanent code.
    ResetPermanentCode(ResetPermanentCode),
    /// Suite `InfoType` `register_corp`: a corp registered through the
    /// provider's QR code (推广二维码注册完成通知).
    RegisterCorp(RegisterCorp),
    /// Open Platform `InfoType` `component_verify_ticket` (验证票据).
    ComponentVerifyTicket(ComponentVerifyTicket),
    /// Open Platform `InfoType` `authorized`: an account authorized the
    /// component.
    Authorized(Authorization),
    /// Open Platform `InfoType` `updateauthorized`: an account changed its
    /// authorization.
    UpdateAuthorized(Authorization),
    /// Open Platform `InfoType` `unauthorized`: an account withdrew its
    /// authorization.
    Unauthorized(Unauthorized),
    /// Anything else: an unknown `MsgType`, `Event` or `InfoType`, or a
    /// known one whose elements did not fit its variant (see
    /// [`OtherKind::problem`]). Read the elements with
    /// [`Message::field`](super::Message::field) or
    /// [`Message::raw_xml`](super::Message::raw_xml).
    Other(OtherKind),
}

/// A message, event or push without a typed variant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtherKind {
    /// `MsgType` as sent (trimmed); empty for system pushes.
    pub msg_type: String,
    /// `Event` as sent, when `MsgType` is `event` and the element is there.
    pub event: Option<String>,
    /// `InfoType` of a system push, when there is one.
    pub info_type: Option<String>,
    /// Why a known `MsgType`, `Event` or `InfoType` did not become its
    /// typed variant (the first element that did not fit, e.g. a `click`
    /// without `EventKey`); `None` for names this crate does not type.
    pub problem: Option<MessageError>,
}

/// A family's reader: `None` when the name is not one of its own.
pub(super) type Read = Option<Result<MessageKind, MessageError>>;

/// `name` with ASCII letters lowercased, copied only when it has an
/// uppercase letter (`MsgType` and most `Event`s come lowercase).
fn ascii_lowercase(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(name.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

impl MessageKind {
    /// Reads the variant that `header` names from `fields`: the typed one
    /// when every element fits, otherwise [`MessageKind::Other`] with the
    /// problem.
    pub(super) fn read(fields: &Fields<'_>, header: &Header) -> Self {
        let read = match (&header.info_type, header.event.as_deref()) {
            (Some(info_type), _) => {
                let name = ascii_lowercase(info_type);
                suite::read(fields, &name)
                    .or_else(|| open_platform::read(fields, &name))
                    .or_else(|| contact::read(fields, &name))
            }
            (None, Some(event)) => {
                let name = ascii_lowercase(event);
                wecom::read_event(fields, &name)
                    .or_else(|| contact::read(fields, &name))
                    .or_else(|| official_account::read_event(fields, &name))
            }
            (None, None) => wecom::read_message(fields, &ascii_lowercase(&header.msg_type)),
        };
        match read {
            Some(Ok(kind)) => kind,
            Some(Err(problem)) => Self::other(header, Some(problem)),
            None => Self::other(header, None),
        }
    }

    /// [`MessageKind::Other`] for `header`.
    pub(super) fn other(header: &Header, problem: Option<MessageError>) -> Self {
        Self::Other(OtherKind {
            msg_type: header.msg_type.clone(),
            event: header.event.clone(),
            info_type: header.info_type.clone(),
            problem,
        })
    }

    /// The typed variant's problem: `None` for typed variants and for
    /// unknown names.
    pub(super) fn problem(&self) -> Option<&MessageError> {
        match self {
            Self::Other(other) => other.problem.as_ref(),
            _ => None,
        }
    }
}
