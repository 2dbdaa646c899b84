//! The instruction callbacks of a WeCom third-party suite (指令回调), keyed
//! by `InfoType` (WeCom doc 回调通知: 推送suite_ticket, 授权通知事件,
//! 重置永久授权码通知, 推广二维码注册完成通知). The suite forms of
//! `change_contact` and `change_external_contact` are read in `contact.rs`.
//! Answer them all with the bare `success` (the layer does, for
//! [`Reply::ack`](super::Reply::ack) or an empty response).

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};

/// `suite_ticket`: the ticket for the suite access token, pushed every 10
/// minutes, valid 30 minutes (推送suite_ticket). Keep the newest one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SuiteTicket {
    /// `SuiteId`.
    pub suite_id: String,
    /// `SuiteTicket` (at most 512 bytes).
    pub suite_ticket: String,
}

/// `create_auth`: a corp installed the app (授权成功通知); exchange
/// `auth_code` for the permanent code within 10 minutes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CreateAuth {
    /// `SuiteId`.
    pub suite_id: String,
    /// `AuthCode`: the temporary authorization code (at most 512 bytes).
    pub auth_code: String,
    /// `State`: the `state` of the install link, when set.
    pub state: Option<String>,
    /// `ExtraInfo`, when not empty.
    pub extra_info: Option<String>,
}

/// `change_auth`: a corp changed the app's authorization (变更授权通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeAuth {
    /// `SuiteId`.
    pub suite_id: String,
    /// `AuthCorpId`: the corp.
    pub auth_corp_id: String,
    /// `State`, when set.
    pub state: Option<String>,
}

/// `cancel_auth`: a corp removed the app (取消授权通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CancelAuth {
    /// `SuiteId`.
    pub suite_id: String,
    /// `AuthCorpId`: the corp.
    pub auth_corp_id: String,
}

/// `reset_permanent_code` (服务商代开发): exchange `auth_code` for the new
/// permanent code (重置永久授权码通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ResetPermanentCode {
    /// `SuiteId`.
    pub suite_id: String,
    /// `AuthCode`: the temporary authorization code.
    pub auth_code: String,
}

/// `register_corp`: a corp registered through the provider's QR code
/// (推广二维码注册完成通知). It carries `ServiceCorpId` instead of
/// `SuiteId`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegisterCorp {
    /// `ServiceCorpId`: the provider's corp id.
    pub service_corp_id: String,
    /// `RegisterCode`: the registration code used.
    pub register_code: String,
    /// `AuthCorpId`: the new corp.
    pub auth_corp_id: String,
    /// `ContactSync.AccessToken`: a token for syncing the new corp's
    /// contacts, when sent.
    pub contact_sync_access_token: Option<String>,
    /// `ContactSync.ExpiresIn`: its lifetime, seconds.
    pub contact_sync_expires_in: Option<u64>,
    /// `AuthUserInfo.UserId`: the admin who registered.
    pub auth_user_id: Option<String>,
    /// `State`, when set.
    pub state: Option<String>,
    /// `TemplateId`: the 推广包 template, when set.
    pub template_id: Option<String>,
}

/// Reads a suite push for `info_type` (lower case).
pub(super) fn read(fields: &Fields<'_>, info_type: &str) -> Read {
    let kind = match info_type {
        "suite_ticket" => suite_ticket(fields).map(MessageKind::SuiteTicket),
        "create_auth" => create_auth(fields).map(MessageKind::CreateAuth),
        "change_auth" => change_auth(fields).map(MessageKind::ChangeAuth),
        "cancel_auth" => cancel_auth(fields).map(MessageKind::CancelAuth),
        "reset_permanent_code" => reset(fields).map(MessageKind::ResetPermanentCode),
        "register_corp" => register_corp(fields).map(MessageKind::RegisterCorp),
        _ => return None,
    };
    Some(kind)
}

fn suite_ticket(fields: &Fields<'_>) -> Result<SuiteTicket, MessageError> {
    Ok(SuiteTicket {
        suite_id: fields.token("SuiteId")?,
        suite_ticket: fields.token("SuiteTicket")?,
    })
}

fn create_auth(fields: &Fields<'_>) -> Result<CreateAuth, MessageError> {
    Ok(CreateAuth {
        suite_id: fields.token("SuiteId")?,
        auth_code: fields.token("AuthCode")?,
        state: fields.optional_token("State")?.filter(|s| !s.is_empty()),
        extra_info: fields
            .optional_string("ExtraInfo")?
            .filter(|s| !s.is_empty()),
    })
}

fn change_auth(fields: &Fields<'_>) -> Result<ChangeAuth, MessageError> {
    Ok(ChangeAuth {
        suite_id: fields.token("SuiteId")?,
        auth_corp_id: fields.token("AuthCorpId")?,
        state: fields.optional_token("State")?.filter(|s| !s.is_empty()),
    })
}

fn cancel_auth(fields: &Fields<'_>) -> Result<CancelAuth, MessageError> {
    Ok(CancelAuth {
        suite_id: fields.token("SuiteId")?,
        auth_corp_id: fields.token("AuthCorpId")?,
    })
}

fn reset(fields: &Fields<'_>) -> Result<ResetPermanentCode, MessageError> {
    Ok(ResetPermanentCode {
        suite_id: fields.token("SuiteId")?,
        auth_code: fields.token("AuthCode")?,
    })
}

fn register_corp(fields: &Fields<'_>) -> Result<RegisterCorp, MessageError> {
    let sync = fields.optional_group("ContactSync")?;
    let user = fields.optional_group("AuthUserInfo")?;
    Ok(RegisterCorp {
        service_corp_id: fields.token("ServiceCorpId")?,
        register_code: fields.token("RegisterCode")?,
        auth_corp_id: fields.token("AuthCorpId")?,
        contact_sync_access_token: sync
            .map(|s| s.optional_token("AccessToken"))
            .transpose()?
            .flatten(),
        contact_sync_expires_in: sync
            .map(|s| s.optional_unsigned("ExpiresIn"))
            .transpose()?
            .flatten(),
        auth_user_id: user
            .map(|u| u.optional_token("UserId"))
            .transpose()?
            .flatten(),
        state: fields.optional_token("State")?.filter(|s| !s.is_empty()),
        template_id: fields.optional_token("TemplateId")?,
    })
}
