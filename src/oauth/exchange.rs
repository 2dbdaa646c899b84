//! The exchange seam: a [`LoginProvider`] builds the authorize URL and
//! swaps a checked code for an [`Identity`]. The code reaches it only as a
//! [`VerifiedCode`], which the callback makes after the `state` verified and
//! was claimed (see [`callback`](super::callback)).

use std::fmt;

use serde_json::Value;

use super::flow::Flow;
use super::identity::Identity;
use crate::dedup::BoxFuture;

/// An authorization `code` whose `state` was verified for this browser and
/// used for the first time. Only the layer makes one; a provider reads it
/// with [`secret`](Self::secret). `Debug` prints its length only.
pub struct VerifiedCode(pub(crate) String);

impl VerifiedCode {
    /// The code, to send to the vendor. Never log it.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerifiedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifiedCode({} bytes)", self.0.len())
    }
}

/// Why a code could not be exchanged for an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeErrorKind {
    /// The vendor answered a non-zero `errcode` (e.g. `40029` invalid code,
    /// `40001`/`42001` credential trouble).
    Vendor(i64),
    /// The call could not be made or its answer not read.
    Transport,
    /// The answer lacks the fields the call documents.
    MalformedResponse,
    /// The access token the call needs (corp `access_token`,
    /// `component_access_token`) could not be had.
    Credential,
    /// The answer names nobody (no `userid` and no `openid`).
    NoIdentity,
}

/// A failed exchange: its kind and, for vendor errors, the vendor's
/// `errmsg` (which quotes a `hint` to search the vendor's error tool for;
/// it never holds the code or a token).
#[derive(Clone, PartialEq, Eq)]
pub struct ExchangeError {
    kind: ExchangeErrorKind,
    errmsg: Option<String>,
}

impl ExchangeError {
    /// An error of `kind`.
    #[must_use]
    pub fn new(kind: ExchangeErrorKind) -> Self {
        Self { kind, errmsg: None }
    }

    /// A vendor `errcode` with its `errmsg`.
    #[must_use]
    pub fn vendor(errcode: i64, errmsg: impl Into<String>) -> Self {
        Self {
            kind: ExchangeErrorKind::Vendor(errcode),
            errmsg: Some(errmsg.into()),
        }
    }

    /// What failed.
    #[must_use]
    pub fn kind(&self) -> ExchangeErrorKind {
        self.kind
    }

    /// The vendor's `errmsg`, for logs.
    #[must_use]
    pub fn errmsg(&self) -> Option<&str> {
        self.errmsg.as_deref()
    }
}

impl fmt::Debug for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeError")
            .field("kind", &self.kind)
            .field("errmsg", &self.errmsg)
            .finish()
    }
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ExchangeErrorKind::Vendor(code) => write!(f, "vendor errcode {code}")?,
            ExchangeErrorKind::Transport => f.write_str("vendor call failed")?,
            ExchangeErrorKind::MalformedResponse => f.write_str("vendor answer malformed")?,
            ExchangeErrorKind::Credential => f.write_str("no access token for the exchange")?,
            ExchangeErrorKind::NoIdentity => f.write_str("vendor answer names nobody")?,
        }
        if let Some(errmsg) = &self.errmsg {
            write!(f, " ({errmsg})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExchangeError {}

/// One kind of web login: which pages, which vendor calls.
///
/// Implemented by [`WeComLogin`](super::WeComLogin),
/// [`OfficialAccountLogin`](super::OfficialAccountLogin) and
/// [`ComponentLogin`](super::ComponentLogin); implement it for another
/// identity provider or a test double.
pub trait LoginProvider: fmt::Debug + Send + Sync + 'static {
    /// The flow for a browser sending this `User-Agent` (WeCom picks
    /// in-app or QR; the others have one flow).
    fn flow_for(&self, user_agent: Option<&str>) -> Flow;

    /// The vendor page that asks the user to sign in and then sends the
    /// browser to `redirect_uri?code=…&state=…`.
    fn authorize_url(&self, flow: Flow, redirect_uri: &str, state: &str) -> String;

    /// Swaps the code for who signed in. Called at most once per code.
    fn exchange<'a>(
        &'a self,
        flow: Flow,
        code: VerifiedCode,
    ) -> BoxFuture<'a, Result<Identity, ExchangeError>>;
}

/// Reads the vendor's error convention: `errcode` absent or 0 is success
/// (WeCom doc 全局错误码, WeChat doc 全局返回码).
pub(crate) fn check_errcode(value: Value) -> Result<Value, ExchangeError> {
    match value.get("errcode").and_then(Value::as_i64) {
        None | Some(0) => Ok(value),
        Some(code) => {
            let errmsg = value
                .get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Err(ExchangeError::vendor(code, errmsg))
        }
    }
}

/// A string field of a vendor answer, if present and not empty.
pub(crate) fn field(value: &Value, name: &str) -> Option<String> {
    match value.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_hides_the_code() {
        let code = VerifiedCode("CODE-秘密-123".to_owned());
        let text = format!("{code:?}");
        assert!(!text.contains("CODE"), "{text}");
        assert_eq!(
            text,
            format!("VerifiedCode({} bytes)", "CODE-秘密-123".len())
        );
    }

    #[test]
    fn errcode_convention() {
        assert!(check_errcode(serde_json::json!({"errcode": 0, "userid": "u"})).is_ok());
        assert!(check_errcode(serde_json::json!({"openid": "o"})).is_ok());
        let error = check_errcode(serde_json::json!({"errcode": 40029, "errmsg": "invalid code"}))
            .unwrap_err();
        assert_eq!(error.kind(), ExchangeErrorKind::Vendor(40029));
        assert_eq!(error.to_string(), "vendor errcode 40029 (invalid code)");
    }
}
