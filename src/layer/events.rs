//! The layer's own `tracing` events (feature `tracing`): one per rejection,
//! one per accepted callback. No subscriber is installed; the host decides
//! where events go (`tracing-subscriber`, `RUST_LOG=wecom_callback=debug`).
//!
//! | event | level | fields |
//! |---|---|---|
//! | `callback rejected` | `warn` (`debug` for 405) | `method`, `path`, `status`, `reason`, `code` (WXBizMsgCrypt code, when there is one), `app` (when known), `skew_secs` (stale timestamps), `hint` (the likely cause, when there is one) |
//! | `callback accepted` | `debug` | `path`, `app`, `kind`, `msg_type`, `event`, `info_type`, `msg_id`, `status`, `latency_ms` (handler time) or `duplicate` (a retry answered from the deduplication store) |
//! | `URL verification answered` | `debug` | `path`, `app` |
//! | `acknowledged before the handler finished` | `debug` | `path`, `app`, `deadline_ms` |
//! | `not a callback path: passed through` | `debug` | `method`, `path`, `served` (a path-bound layer's paths) |
//!
//! What is never logged: the Token, the EncodingAESKey, the query string
//! (it carries `msg_signature` and, on GET, the encrypted `echostr`), the
//! body, the ciphertext, the decrypted message, any signature (received or
//! expected), the reply. Message identifiers (`MsgType`, `Event`, `MsgId`)
//! are logged; user names and contents are not.

use std::sync::Arc;
use std::time::Duration;

use http::Method;

#[cfg(feature = "tracing")]
use super::rejection::Rejection;
use super::rejection::{Refusal, RejectionKind};
use crate::crypto::CryptoErrorKind;
use crate::endpoint::{CallbackKind, Endpoint};

/// What the accepted-callback event says about a message: its identifiers,
/// never its content.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) struct Summary {
    /// The request path as the layer saw it.
    pub(crate) path: Arc<str>,
    pub(crate) msg_type: String,
    pub(crate) event: Option<String>,
    pub(crate) info_type: Option<String>,
    pub(crate) msg_id: Option<String>,
}

impl Summary {
    /// A message's identifiers, copied only when `detailed` (a subscriber
    /// wants them; see [`detailed`]); the path is set by the caller.
    pub(crate) fn of(
        detailed: bool,
        msg_type: &str,
        event: Option<&str>,
        info_type: Option<&str>,
        msg_id: impl FnOnce() -> Option<String>,
    ) -> Self {
        if !detailed {
            return Self::default();
        }
        Self {
            msg_type: msg_type.to_owned(),
            event: event.map(str::to_owned),
            info_type: info_type.map(str::to_owned),
            msg_id: msg_id(),
            ..Self::default()
        }
    }
}

/// How an accepted callback was answered.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) enum Outcome {
    /// The handler ran and answered with `status` after `latency`.
    Handled { status: u16, latency: Duration },
    /// The handler failed (its service returned an error).
    Failed { latency: Duration },
    /// A retry of a message already handled (`in_flight: false`, the
    /// stored answer was replayed) or still being handled (`true`, acked).
    Duplicate { in_flight: bool },
}

/// The WXBizMsgCrypt error code for `kind`, if it has one.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn vendor_code(kind: RejectionKind) -> Option<i32> {
    match kind {
        RejectionKind::Crypto(kind) => kind.code(),
        RejectionKind::MalformedEnvelope => CryptoErrorKind::ParseXml.code(),
        _ => None,
    }
}

/// The likely cause of a rejection, where one cause dominates.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn hint(kind: RejectionKind, endpoint: Option<&Endpoint>) -> Option<&'static str> {
    use RejectionKind::*;
    Some(match kind {
        StaleTimestamp => {
            "the timestamp is outside the window (skew_secs = server clock - timestamp): \
             check the server clock (NTP); a replayed request looks the same"
        }
        Crypto(CryptoErrorKind::ValidateSignature) => {
            "no configured Token signs this request: check the Token \
             (a request that is not from the platform looks the same)"
        }
        Crypto(CryptoErrorKind::IllegalBuffer) => {
            "the Token verified the signature but the ciphertext does not decrypt: \
             the EncodingAESKey is most likely wrong (copy it again from the console)"
        }
        Crypto(CryptoErrorKind::DecryptAes) => {
            "the Token verified the signature but the ciphertext is not whole AES blocks: \
             the sender does not encrypt the platform's way (check its EncodingAESKey and \
             library), or the body was altered on the way"
        }
        Crypto(CryptoErrorKind::DecodeBase64) => {
            "Encrypt or echostr is not standard base64: was the URL decoded twice \
             on the way (a '+' turned into a space)?"
        }
        Crypto(CryptoErrorKind::ValidateReceiveId) => receive_id_hint(endpoint),
        MalformedEnvelope => {
            "the body is not this endpoint's envelope: check the endpoint's kind \
             and format (XML, or JSON with Endpoint::json / the robot)"
        }
        MissingParameter("encrypt_type") => {
            "no encrypt_type=aes: the account sends in plaintext mode while the endpoint \
             expects compatible or safe mode (or the reverse)"
        }
        InvalidEchostr => {
            "the decrypted echostr is not what the platform sends on URL verification"
        }
        PayloadTooLarge => "the body is larger than body_limit (64 KiB by default)",
        BodyTimeout => "the client sent its body more slowly than body_timeout allows",
        UnsupportedReply => "the handler returned a reply this callback kind cannot carry",
        _ => return None,
    })
}

#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
fn receive_id_hint(endpoint: Option<&Endpoint>) -> &'static str {
    match endpoint.map(Endpoint::kind) {
        Some(CallbackKind::WeComApp) => {
            "the message decrypted but is for another receive id: check the corp id \
             (我的企业 → 企业ID) given to Endpoint::wecom_app"
        }
        Some(CallbackKind::WeComSuite) => {
            "the message decrypted but is for another receive id: check the suite id \
             given to Endpoint::wecom_suite (\"\" for an individual-subject app)"
        }
        Some(CallbackKind::WeComSuiteData) => {
            "the message decrypted but is for another receive id: the corp is not in the \
             authorized corps of Endpoint::wecom_suite_data (GET: the provider corp id)"
        }
        Some(CallbackKind::OfficialAccount(_) | CallbackKind::OpenPlatform) => {
            "the message decrypted but is for another receive id: check the appid \
             (the component appid for Open Platform)"
        }
        _ => {
            "the message decrypted but is for another receive id: check the corp id, \
             suite id or appid configured for this kind"
        }
    }
}

#[cfg(feature = "tracing")]
pub(crate) fn rejected(method: &Method, path: &str, refusal: &Refusal) {
    let endpoint = refusal.endpoint.as_deref();
    let rejection = Rejection::new(refusal.kind);
    // The reason names the parameter the request carried.
    // Unknown when no endpoint was found (several on one path): then
    // `msg_signature`, as in the rejection's own text.
    let bad_plain_signature = refusal.kind
        == RejectionKind::Crypto(CryptoErrorKind::ValidateSignature)
        && endpoint.is_some_and(|e| {
            e.kind().scheme().signature_parameter(method == Method::GET) == "signature"
        });
    let reason: &dyn std::fmt::Display = if bad_plain_signature {
        &"signature does not match (-40001)"
    } else {
        &rejection
    };
    macro_rules! emit {
        ($level:ident) => {
            tracing::$level!(
                method = %method,
                path,
                status = rejection.status().as_u16(),
                reason = %reason,
                code = vendor_code(refusal.kind),
                app = endpoint.map(Endpoint::name),
                skew_secs = refusal.skew_secs,
                hint = hint(refusal.kind, endpoint),
                "callback rejected"
            )
        };
    }
    if refusal.kind == RejectionKind::MethodNotAllowed {
        emit!(debug);
    } else {
        emit!(warn);
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn rejected(_method: &Method, _path: &str, _refusal: &Refusal) {}

/// Whether the per-callback `debug` events are wanted, so that the
/// identifiers they carry are worth copying out of the message.
#[cfg(feature = "tracing")]
pub(crate) fn detailed() -> bool {
    tracing::enabled!(tracing::Level::DEBUG)
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn detailed() -> bool {
    false
}

#[cfg(feature = "tracing")]
pub(crate) fn accepted(summary: &Summary, endpoint: &Endpoint, outcome: Outcome) {
    let (status, latency_ms, duplicate) = match outcome {
        Outcome::Handled { status, latency } => (Some(status), Some(millis(latency)), None),
        Outcome::Failed { latency } => (None, Some(millis(latency)), None),
        Outcome::Duplicate { in_flight } => (
            None,
            None,
            Some(if in_flight { "in_flight" } else { "replayed" }),
        ),
    };
    tracing::debug!(
        path = &*summary.path,
        app = endpoint.name(),
        kind = endpoint.kind().name(),
        msg_type = summary.msg_type,
        event = summary.event,
        info_type = summary.info_type,
        msg_id = summary.msg_id,
        status,
        handler_failed = matches!(outcome, Outcome::Failed { .. }).then_some(true),
        latency_ms,
        duplicate,
        "callback accepted"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn accepted(_summary: &Summary, _endpoint: &Endpoint, _outcome: Outcome) {}

#[cfg(feature = "tracing")]
pub(crate) fn acked_early(summary: &Summary, endpoint: &Endpoint, deadline: Duration) {
    tracing::debug!(
        path = &*summary.path,
        app = endpoint.name(),
        deadline_ms = millis(deadline),
        "acknowledged before the handler finished; it keeps running"
    );
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn acked_early(_summary: &Summary, _endpoint: &Endpoint, _deadline: Duration) {}

#[cfg(feature = "tracing")]
pub(crate) fn verified(path: &str, endpoint: &Endpoint) {
    tracing::debug!(path, app = endpoint.name(), "URL verification answered");
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn verified(_path: &str, _endpoint: &Endpoint) {}

#[cfg(feature = "tracing")]
pub(crate) fn passed_through(method: &Method, path: &str, config: &super::Config) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let served = config.paths().collect::<Vec<_>>().join(", ");
        tracing::debug!(method = %method, path, served, "not a callback path: passed through");
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn passed_through(_method: &Method, _path: &str, _config: &super::Config) {}

/// Milliseconds, with microsecond resolution.
#[cfg(feature = "tracing")]
fn millis(duration: Duration) -> f64 {
    let micros = u32::try_from(duration.as_micros()).map_or(f64::from(u32::MAX), f64::from);
    micros / 1000.0
}

/// Store failures (deduplication), at `warn`.
#[cfg(feature = "tracing")]
pub(crate) fn store_failed(app: &str, error: &dyn std::fmt::Display, what: &'static str) {
    tracing::warn!(app, %error, "{what}");
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn store_failed(_app: &str, _error: &dyn std::fmt::Display, _what: &'static str) {}
