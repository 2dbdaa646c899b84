//! The pushes of a WeChat Open Platform component's 授权事件接收URL, keyed
//! by `InfoType` (WeChat Open Platform doc 验证票据, 授权变更通知推送). Answer
//! them with `success` (the layer does, for
//! [`Reply::ack`](super::Reply::ack) or an empty response).

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};

/// `component_verify_ticket`: the ticket for the component access token,
/// pushed every 10 minutes, valid 12 hours (验证票据). Keep the newest one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ComponentVerifyTicket {
    /// `AppId`: the component's appid.
    pub app_id: String,
    /// `ComponentVerifyTicket`.
    pub component_verify_ticket: String,
}

/// `authorized` / `updateauthorized`: an account authorized the component,
/// or changed what it authorized (授权成功通知, 授权更新通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Authorization {
    /// `AppId`: the component's appid.
    pub app_id: String,
    /// `AuthorizerAppid`: the account.
    pub authorizer_appid: String,
    /// `AuthorizationCode`: exchange it with 使用授权码获取授权信息.
    pub authorization_code: String,
    /// `AuthorizationCodeExpiredTime`, as sent (unix seconds in real
    /// pushes; see [`expires_at`](Self::expires_at)).
    pub authorization_code_expired_time: Option<String>,
    /// `PreAuthCode`: the pre-authorization code the flow started with.
    pub pre_auth_code: Option<String>,
}

impl Authorization {
    /// `AuthorizationCodeExpiredTime` as unix seconds, when it is an
    /// unsigned decimal.
    pub fn expires_at(&self) -> Option<u64> {
        let text = self.authorization_code_expired_time.as_deref()?;
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }
}

/// `unauthorized`: an account withdrew its authorization (取消授权通知).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unauthorized {
    /// `AppId`: the component's appid.
    pub app_id: String,
    /// `AuthorizerAppid`: the account.
    pub authorizer_appid: String,
}

/// Reads an Open Platform push for `info_type` (lower case).
pub(super) fn read(fields: &Fields<'_>, info_type: &str) -> Read {
    let kind = match info_type {
        "component_verify_ticket" => ticket(fields).map(MessageKind::ComponentVerifyTicket),
        "authorized" => authorization(fields).map(MessageKind::Authorized),
        "updateauthorized" => authorization(fields).map(MessageKind::UpdateAuthorized),
        "unauthorized" => unauthorized(fields).map(MessageKind::Unauthorized),
        _ => return None,
    };
    Some(kind)
}

fn ticket(fields: &Fields<'_>) -> Result<ComponentVerifyTicket, MessageError> {
    Ok(ComponentVerifyTicket {
        app_id: fields.token("AppId")?,
        component_verify_ticket: fields.token("ComponentVerifyTicket")?,
    })
}

fn authorization(fields: &Fields<'_>) -> Result<Authorization, MessageError> {
    Ok(Authorization {
        app_id: fields.token("AppId")?,
        authorizer_appid: fields.token("AuthorizerAppid")?,
        authorization_code: fields.token("AuthorizationCode")?,
        authorization_code_expired_time: fields.optional_token("AuthorizationCodeExpiredTime")?,
        pre_auth_code: fields.optional_token("PreAuthCode")?,
    })
}

fn unauthorized(fields: &Fields<'_>) -> Result<Unauthorized, MessageError> {
    Ok(Unauthorized {
        app_id: fields.token("AppId")?,
        authorizer_appid: fields.token("AuthorizerAppid")?,
    })
}
