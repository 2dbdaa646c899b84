//! Events only the WeChat Official Account sends (WeChat doc 接收事件推送,
//! 模板消息 事件推送, 群发接口 事件推送). Its messages and menu events share
//! the WeCom shapes (see `wecom.rs` and `menu.rs`).

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};

/// `SCAN`: a follower scanned a QR code with a scene
/// (扫描带参数二维码事件, 用户已关注时).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Scan {
    /// `EventKey`: the scene (`scene_id` or `scene_str` of the code).
    pub event_key: String,
    /// `Ticket`: the QR code's ticket (for 换取二维码图片).
    pub ticket: Option<String>,
}

/// `TEMPLATESENDJOBFINISH`: a template message was delivered or not
/// (模板消息 送达通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TemplateSendJobFinish {
    /// `MsgID`: the id the send API returned.
    pub msg_id: u64,
    /// `Status`: `success`, `failed:user block`, `failed: system failed`.
    pub status: String,
}

/// `MASSSENDJOBFINISH`: a mass send finished (群发结果通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MassSendJobFinish {
    /// `MsgID`: the id the mass send API returned.
    pub msg_id: u64,
    /// `Status`: `send success`, `send fail`, `err(<code>)`.
    pub status: String,
    /// `TotalCount`: followers targeted.
    pub total_count: Option<u64>,
    /// `FilterCount`: followers the send was meant for after filtering.
    pub filter_count: Option<u64>,
    /// `SentCount`: sent successfully.
    pub sent_count: Option<u64>,
    /// `ErrorCount`: failed.
    pub error_count: Option<u64>,
    /// `CopyrightCheckResult`: the originality check, when sent.
    pub copyright_check: Option<CopyrightCheck>,
    /// `ArticleUrlResult.ResultList.item`: the articles' URLs.
    pub article_urls: Vec<ArticleUrl>,
}

/// The `CopyrightCheckResult` of a [`MassSendJobFinish`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CopyrightCheck {
    /// `Count`: articles checked.
    pub count: Option<u32>,
    /// `CheckState`: 1 sent, 2 sent after replacing reprints, 3 not sent.
    pub check_state: Option<u32>,
    /// `ResultList.item`, in order.
    pub results: Vec<CopyrightResult>,
}

/// One `ResultList.item` of a [`CopyrightCheck`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CopyrightResult {
    /// `ArticleIdx`: the article's position, from 1.
    pub article_idx: Option<u32>,
    /// `UserDeclareState`: whether the author declared it original.
    pub user_declare_state: Option<u32>,
    /// `AuditState`: the check's outcome.
    pub audit_state: Option<u32>,
    /// `OriginalArticleUrl`: the similar original article.
    pub original_article_url: Option<String>,
    /// `OriginalArticleType`.
    pub original_article_type: Option<u32>,
    /// `CanReprint`: whether reprinting is allowed.
    pub can_reprint: Option<u32>,
    /// `NeedReplaceContent`: whether the content was replaced.
    pub need_replace_content: Option<u32>,
    /// `NeedShowReprintSource`: whether the source is shown.
    pub need_show_reprint_source: Option<u32>,
}

/// One `ArticleUrlResult.ResultList.item` of a [`MassSendJobFinish`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ArticleUrl {
    /// `ArticleIdx`: the article's position, from 1.
    pub article_idx: Option<u32>,
    /// `ArticleUrl`.
    pub article_url: Option<String>,
}

/// Reads an Official Account event for `event` (lower case).
pub(super) fn read_event(fields: &Fields<'_>, event: &str) -> Read {
    let kind = match event {
        "scan" => scan(fields).map(MessageKind::Scan),
        "templatesendjobfinish" => template_send(fields).map(MessageKind::TemplateSendJobFinish),
        "masssendjobfinish" => mass_send(fields).map(MessageKind::MassSendJobFinish),
        _ => return None,
    };
    Some(kind)
}

fn scan(fields: &Fields<'_>) -> Result<Scan, MessageError> {
    Ok(Scan {
        event_key: fields.token("EventKey")?,
        ticket: fields.optional_token("Ticket")?,
    })
}

fn template_send(fields: &Fields<'_>) -> Result<TemplateSendJobFinish, MessageError> {
    Ok(TemplateSendJobFinish {
        msg_id: fields.unsigned("MsgID")?,
        status: fields.token("Status")?,
    })
}

fn mass_send(fields: &Fields<'_>) -> Result<MassSendJobFinish, MessageError> {
    let copyright_check = match fields.optional_group("CopyrightCheckResult")? {
        Some(check) => Some(CopyrightCheck {
            count: check.optional_unsigned("Count")?,
            check_state: check.optional_unsigned("CheckState")?,
            results: match check.optional_group("ResultList")? {
                Some(list) => list.each("item", copyright_result)?,
                None => Vec::new(),
            },
        }),
        None => None,
    };
    let article_urls = match fields.optional_group("ArticleUrlResult")? {
        Some(result) => match result.optional_group("ResultList")? {
            Some(list) => list.each("item", |item| {
                Ok(ArticleUrl {
                    article_idx: item.optional_unsigned("ArticleIdx")?,
                    article_url: item.optional_token("ArticleUrl")?,
                })
            })?,
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    Ok(MassSendJobFinish {
        msg_id: fields.unsigned("MsgID")?,
        status: fields.token("Status")?,
        total_count: fields.optional_unsigned("TotalCount")?,
        filter_count: fields.optional_unsigned("FilterCount")?,
        sent_count: fields.optional_unsigned("SentCount")?,
        error_count: fields.optional_unsigned("ErrorCount")?,
        copyright_check,
        article_urls,
    })
}

fn copyright_result(item: Fields<'_>) -> Result<CopyrightResult, MessageError> {
    Ok(CopyrightResult {
        article_idx: item.optional_unsigned("ArticleIdx")?,
        user_declare_state: item.optional_unsigned("UserDeclareState")?,
        audit_state: item.optional_unsigned("AuditState")?,
        original_article_url: item.optional_token("OriginalArticleUrl")?,
        original_article_type: item.optional_unsigned("OriginalArticleType")?,
        can_reprint: item.optional_unsigned("CanReprint")?,
        need_replace_content: item.optional_unsigned("NeedReplaceContent")?,
        need_show_reprint_source: item.optional_unsigned("NeedShowReprintSource")?,
    })
}
