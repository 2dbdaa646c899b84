//! The checks of the pipeline, in their fixed order, without the Tower
//! plumbing: method and query, timestamp window, size, then (once the body
//! is read) envelope, signature, decryption, receive id and message. What
//! differs between callback kinds (which query parameters, how the
//! signature is computed, the body format, the receive id) is read from the
//! endpoint's [`CallbackKind`](crate::CallbackKind).
//!
//! Imports point one way: `service` → `future` → `handle`, and `service`
//! and `future` use this module, which uses only `handle`'s reply context
//! (and its `Content-Length` helper).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Extensions, Method, Request, Response, header, request};
use http_body::Body;
use http_body_util::{Full, LengthLimitError};

use super::body::CallbackBody;
use super::clock::unix_secs;
use super::events::{self, Summary};
use super::handle::{ReplyContext, ReplyNames, SealFor, content_length, remove_headers};
use super::query::{self, Query};
use super::rejection::{Refusal, Rejection, RejectionKind};
use super::{CallbackContext, Candidates, Config};
use crate::crypto::{CryptoErrorKind, verify_plain_signature};
use crate::dedup::{DedupKey, DedupScope, ScopeRef};
use crate::endpoint::{BodyFormat, CallbackKind, Endpoint, OfficialAccountMode, Scheme};
use crate::envelope::Envelope;
use crate::message::{BotMessage, Message};

/// The response for `refusal`, logged first (feature `tracing`). The
/// endpoint is named when the signature found it or when it is the only
/// one on the route.
pub(crate) fn refuse(
    mut refusal: Refusal,
    method: &Method,
    path: &str,
    candidates: &Candidates,
) -> Response<Full<Bytes>> {
    if refusal.endpoint.is_none() {
        if let [only] = &candidates[..] {
            refusal.endpoint = Some(Arc::clone(only));
        }
    }
    events::rejected(method, path, &refusal);
    Rejection::new(refusal.kind).into_response()
}

/// Checks the timestamp window (two-sided); a refusal carries the skew.
fn check_window(config: &Config, query: &Query) -> Result<(), Refusal> {
    let now = unix_secs(config.clock.as_ref());
    if now.abs_diff(query.timestamp_secs) > config.tolerance_secs {
        let signed = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX);
        return Err(Refusal {
            skew_secs: Some(signed(now).saturating_sub(signed(query.timestamp_secs))),
            ..Refusal::from(RejectionKind::StaleTimestamp)
        });
    }
    Ok(())
}

fn crypto(kind: CryptoErrorKind) -> RejectionKind {
    RejectionKind::Crypto(kind)
}

/// The decrypted WeCom `echostr` must be 1 to 64 alphanumerics, and a
/// WeChat one (echoed as received) 1 to 128: nothing else is ever sent, and
/// the check stops the GET path from decrypting captured POSTs (T16).
fn check_echostr(echo: &str, max: usize) -> Result<(), RejectionKind> {
    if echo.is_empty() || echo.len() > max || !echo.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(RejectionKind::InvalidEchostr);
    }
    Ok(())
}

/// GET URL verification of one endpoint. `Ok(None)`: no secret of this
/// endpoint signed the request (try the next candidate).
fn verify_url_with(endpoint: &Endpoint, query: &Query) -> Result<Option<String>, RejectionKind> {
    let echostr = Query::require(query.echostr(), "echostr")?;
    match endpoint.kind().scheme() {
        Scheme::WeCom => {
            let signature = Query::require(query.msg_signature(), "msg_signature")?;
            for crypt in endpoint.secrets().iter().filter_map(|s| s.get.as_ref()) {
                if crypt
                    .verify_signature(signature, query.timestamp(), query.nonce(), echostr)
                    .is_ok()
                {
                    let plain = crypt
                        .decrypt_unsigned(echostr)
                        .map_err(|e| crypto(e.kind()))?
                        .into_msg();
                    check_echostr(&plain, 64)?;
                    return Ok(Some(plain));
                }
            }
            Ok(None)
        }
        Scheme::WeChat { .. } => {
            let signature = Query::require(query.signature(), "signature")?;
            for secret in endpoint.secrets() {
                if verify_plain_signature(
                    signature,
                    &secret.token,
                    query.timestamp(),
                    query.nonce(),
                )
                .is_ok()
                {
                    check_echostr(echostr, 128)?;
                    return Ok(Some(echostr.to_owned()));
                }
            }
            Ok(None)
        }
    }
}

/// GET URL verification, answered by the layer: the first candidate whose
/// Token signs the request answers; a bad signature is 403.
pub(crate) fn verify_url<'a>(
    config: &Config,
    candidates: &'a Candidates,
    uri_query: Option<&str>,
) -> Result<(String, &'a Arc<Endpoint>), Refusal> {
    let query = query::parse_all(uri_query, signature_name(candidates, true))?;
    // The query first (SECURITY.md step 2: `echostr` is required on GET,
    // 400), then the window (step 3, 403).
    Query::require(query.echostr(), "echostr")?;
    check_window(config, &query)?;
    let mut first_error = None;
    for endpoint in candidates.iter() {
        match verify_url_with(endpoint, &query) {
            Ok(Some(plain)) => return Ok((plain, endpoint)),
            Ok(None) => {}
            // Decryption and echostr errors come after this endpoint's
            // Token verified the signature: the endpoint is known.
            Err(kind @ (RejectionKind::Crypto(_) | RejectionKind::InvalidEchostr)) => {
                first_error.get_or_insert(Refusal::for_endpoint(kind, endpoint));
            }
            Err(kind) => {
                first_error.get_or_insert(kind.into());
            }
        }
    }
    Err(first_error.unwrap_or(crypto(CryptoErrorKind::ValidateSignature).into()))
}

/// The query parameter that carries the signature for the first endpoint on
/// a path: `signature` for WeChat GETs and plaintext-mode POSTs,
/// `msg_signature` otherwise.
fn signature_name(candidates: &Candidates, get: bool) -> &'static str {
    candidates.first().map_or("msg_signature", |e| {
        e.kind().scheme().signature_parameter(get)
    })
}

/// The query parameters `kind`'s POSTs must carry (checked before reading
/// the body). WeChat encrypted modes need `encrypt_type=aes`: a request
/// without it is refused, never read as plaintext.
fn post_requirements(kind: CallbackKind, query: &Query) -> Result<(), RejectionKind> {
    match kind.scheme() {
        Scheme::WeCom => Query::require(query.msg_signature(), "msg_signature").map(drop),
        Scheme::WeChat { encrypted: false } => {
            Query::require(query.signature(), "signature").map(drop)
        }
        Scheme::WeChat { encrypted: true } => {
            let encrypt_type = Query::require(query.encrypt_type(), "encrypt_type")?;
            if encrypt_type != "aes" {
                return Err(RejectionKind::InvalidParameter("encrypt_type"));
            }
            Query::require(query.msg_signature(), "msg_signature").map(drop)
        }
    }
}

/// Checks made before the body is read.
pub(crate) fn precheck<B: Body>(
    config: &Config,
    candidates: &Candidates,
    req: &Request<B>,
) -> Result<Query, Refusal> {
    let query = query::parse_all(req.uri().query(), signature_name(candidates, false))?;
    let mut first_error = None;
    if !candidates
        .iter()
        .any(|e| match post_requirements(e.kind(), &query) {
            Ok(()) => true,
            Err(kind) => {
                first_error.get_or_insert(kind);
                false
            }
        })
    {
        return Err(first_error
            .unwrap_or(RejectionKind::MissingParameter("msg_signature"))
            .into());
    }
    check_window(config, &query)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = u64::try_from(config.body_limit).unwrap_or(u64::MAX);
    if declared.is_some_and(|len| len > limit) || req.body().size_hint().lower() > limit {
        return Err(RejectionKind::PayloadTooLarge.into());
    }
    if req
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return Err(RejectionKind::UnreadableBody.into());
    }
    Ok(query)
}

/// What one endpoint made of an authentic POST.
struct Opened {
    /// The decrypted (or, in plaintext mode, received) message text.
    plain: String,
    receive_id: String,
    secret: usize,
}

/// Authenticates and opens `body` for `endpoint`. `Ok(None)`: no secret of
/// this endpoint signed the request (try the next candidate).
fn open_with(
    endpoint: &Endpoint,
    query: &Query,
    body: &Bytes,
) -> Result<Option<Opened>, RejectionKind> {
    post_requirements(endpoint.kind(), query)?;
    let (timestamp, nonce) = (query.timestamp(), query.nonce());
    if let Scheme::WeChat { encrypted: false } = endpoint.kind().scheme() {
        // Plaintext mode: the signature covers Token, timestamp and nonce
        // only (see `Endpoint::official_account_plain`).
        let signature = Query::require(query.signature(), "signature")?;
        let Some(secret) = endpoint
            .secrets()
            .iter()
            .position(|s| verify_plain_signature(signature, &s.token, timestamp, nonce).is_ok())
        else {
            return Ok(None);
        };
        let plain = std::str::from_utf8(body)
            .map_err(|_| RejectionKind::MalformedMessage)?
            .to_owned();
        return Ok(Some(Opened {
            plain,
            receive_id: String::new(),
            secret,
        }));
    }
    let envelope = match endpoint.kind() {
        CallbackKind::OfficialAccount(OfficialAccountMode::Compatible) => {
            Envelope::parse_compat(body)
        }
        _ => Envelope::parse_as(body, endpoint.format()),
    }
    .map_err(|_| RejectionKind::MalformedEnvelope)?;
    let signature = Query::require(query.msg_signature(), "msg_signature")?;
    let found = endpoint.secrets().iter().enumerate().find_map(|(i, s)| {
        let crypt = s.post.as_ref()?;
        crypt
            .verify_signature(signature, timestamp, nonce, envelope.encrypt())
            .ok()
            .map(|()| (i, crypt))
    });
    let Some((secret, crypt)) = found else {
        return Ok(None);
    };
    let decrypted = crypt
        .decrypt_unsigned(envelope.encrypt())
        .map_err(|e| crypto(e.kind()))?;
    let (plain, receive_id) = decrypted.into_parts();
    Ok(Some(Opened {
        plain,
        receive_id,
        secret,
    }))
}

/// What the layer keeps of a parsed message, which itself went into the
/// request extensions at once (a [`Message`] is about 500 bytes: it is
/// moved once, into its box there, not through the steps that follow).
struct Parsed {
    /// The decrypted text, the inner request's body: for a [`Message`] the
    /// very allocation the message keeps as its raw text (never copied).
    body: Bytes,
    /// The reply's `ToUserName` and `FromUserName`: the message's
    /// `FromUserName` and `ToUserName` (empty for the robot).
    names: ReplyNames,
    agent_id: Option<u64>,
    /// The identifiers for the log events (`path` is set by the caller).
    summary: Summary,
    /// The deduplication key, when `dedup` asked for it.
    key: Option<DedupKey>,
}

/// Parses `plain` for `endpoint`'s kind and format and puts the typed
/// message into `extensions`. `scope`: when deduplication is on, the
/// keyspace of what authenticated the delivery ([`dedup_scope`]); the key
/// is the MsgId in it (with AgentID for apps, since ids are per app), or
/// the robot's msgid where present, else a digest of the decrypted message.
fn parse_into(
    endpoint: &Endpoint,
    plain: String,
    extensions: &mut Extensions,
    scope: Option<ScopeRef<'_>>,
) -> Result<Parsed, RejectionKind> {
    let malformed = |_| RejectionKind::MalformedMessage;
    // The identifiers are only for the log events: not copied when no
    // subscriber wants them.
    let detailed = events::detailed();
    if endpoint.kind() == CallbackKind::WeComBot {
        let message = BotMessage::parse(&plain).map_err(malformed)?;
        let body = Bytes::from(plain);
        let summary = Summary::of(
            detailed,
            message.msg_type(),
            message.event_type(),
            None,
            || message.msg_id().map(str::to_owned),
        );
        let key = scope.map(|scope| DedupKey::for_message(scope, message.msg_id(), &body));
        extensions.insert(message);
        return Ok(Parsed {
            body,
            names: ReplyNames::default(),
            agent_id: None,
            summary,
            key,
        });
    }
    let looks_like_json =
        endpoint.format() == BodyFormat::Json && plain.trim_start().starts_with('{');
    let message = if looks_like_json {
        Message::parse_json_string(plain)
    } else {
        Message::parse_string(plain)
    }
    .map_err(malformed)?;
    let body = Bytes::from_owner(SharedText(Arc::clone(message.shared_raw())));
    let summary = Summary::of(
        detailed,
        message.msg_type(),
        message.event(),
        message.info_type(),
        || message.msg_id().map(|id| id.to_string()),
    );
    let key = scope.map(|scope| match message.msg_id() {
        // `<scope>m:<AgentID>.<MsgId>`, written at once.
        Some(id) => DedupKey::agent_message(scope, message.agent_id().unwrap_or(0), id),
        None => DedupKey::digest(scope, &body),
    });
    let parsed = Parsed {
        names: ReplyNames::new(message.from_user_name(), message.to_user_name()),
        agent_id: message.agent_id(),
        body,
        summary,
        key,
    };
    extensions.insert(message);
    Ok(parsed)
}

/// The deduplication keyspace of a delivery that `endpoint`'s secret
/// `secret` authenticated with `receive_id` (issue 19): the kind with its
/// mode, the secret's fingerprint, the authenticated receive id (the
/// authorized corp of a data callback; empty in plaintext mode) and the
/// endpoint's name. Nothing in it comes from an unauthenticated field.
fn dedup_scope(endpoint: &Endpoint, secret: usize, receive_id: &str) -> DedupScope {
    let secret_id = endpoint.secret(secret).map_or("", |s| s.dedup_id.as_str());
    DedupScope::new(
        endpoint.kind().name(),
        secret_id,
        receive_id,
        endpoint.name(),
    )
}

/// The deduplication scopes of the configured endpoints, for each secret
/// and each receive id its crypt is configured with (and the empty one of
/// the robot, individual suites and plaintext mode): built on the first
/// authentic POST, so that a delivery's key starts with a copy of its
/// scope instead of a scope escaped anew (about 700 instructions a
/// request). A delivery whose receive id is not among them (a third-party
/// data callback's authorized corp) gets its scope built as before.
#[derive(Clone, Default)]
pub(crate) struct Scopes(OnceLock<Vec<KnownScope>>);

/// How many scopes are known, not the scopes (the endpoints are in the
/// layer's `Debug` already).
impl std::fmt::Debug for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scopes")
            .field("known", &self.0.get().map(Vec::len))
            .finish()
    }
}

/// One precomputed scope: `dedup_scope(endpoint, secret, receive_id)`.
#[derive(Clone)]
struct KnownScope {
    endpoint: Arc<Endpoint>,
    secret: usize,
    receive_id: String,
    scope: DedupScope,
}

impl Scopes {
    /// The scope [`dedup_scope`] gives, for a delivery `endpoint` (one of
    /// `routes`') authenticated with its secret `secret` and `receive_id`.
    fn scope<'a>(
        &'a self,
        routes: &[(super::Route, Candidates)],
        endpoint: &Arc<Endpoint>,
        secret: usize,
        receive_id: &str,
    ) -> ScopeRef<'a> {
        let known = self.0.get_or_init(|| known_scopes(routes));
        match known.iter().find(|k| {
            Arc::ptr_eq(&k.endpoint, endpoint) && k.secret == secret && k.receive_id == receive_id
        }) {
            Some(known) => ScopeRef::Scope(&known.scope),
            None => ScopeRef::Owned(dedup_scope(endpoint, secret, receive_id)),
        }
    }
}

/// Every scope [`Scopes`] keeps, for the endpoints of `routes`.
fn known_scopes(routes: &[(super::Route, Candidates)]) -> Vec<KnownScope> {
    let mut known: Vec<KnownScope> = Vec::new();
    for endpoint in routes.iter().flat_map(|(_, candidates)| candidates.iter()) {
        if known.iter().any(|k| Arc::ptr_eq(&k.endpoint, endpoint)) {
            continue;
        }
        for (secret, s) in endpoint.secrets().iter().enumerate() {
            let configured = s.post.as_ref().map_or(&[][..], |crypt| crypt.receive_ids());
            let receive_ids = configured.iter().map(String::as_str).chain([""]);
            for receive_id in receive_ids {
                known.push(KnownScope {
                    endpoint: Arc::clone(endpoint),
                    secret,
                    receive_id: receive_id.to_owned(),
                    scope: dedup_scope(endpoint, secret, receive_id),
                });
            }
        }
    }
    known
}

/// A message's raw text as the bytes of a body.
struct SharedText(Arc<String>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// An authentic callback: the request for the inner service, what is
/// needed to seal its reply, and its deduplication key (when dedup is on).
pub(crate) type Accepted<B> = (Request<CallbackBody<B>>, ReplyContext, Option<DedupKey>);

/// What [`PendingPost::open`] made of a body (moved into the response
/// future's state at once, so the size difference does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Opening<B> {
    /// An authentic callback, for the handler.
    Accepted(Accepted<B>),
    /// The rejection to send (already logged).
    Refused(Response<Full<Bytes>>),
}

/// A POST whose query passed, waiting for its body.
#[derive(Debug)]
pub(crate) struct PendingPost {
    pub(crate) config: Arc<Config>,
    pub(crate) candidates: Candidates,
    pub(crate) query: Query,
    /// The request path as the layer saw it (for the log events).
    pub(crate) path: Arc<str>,
}

/// Why reading a body failed.
pub(crate) fn body_error(error: &(dyn std::error::Error + Send + Sync + 'static)) -> RejectionKind {
    if error.is::<LengthLimitError>() {
        RejectionKind::PayloadTooLarge
    } else {
        RejectionKind::UnreadableBody
    }
}

/// An authentic POST and the endpoint it is for.
struct Authentic {
    endpoint: Arc<Endpoint>,
    receive_id: String,
    secret: usize,
    parsed: Parsed,
}

impl PendingPost {
    /// Verifies, decrypts and parses the body; on success the request for
    /// the inner service and what is needed to seal its reply, else the
    /// rejection (logged).
    pub(crate) fn open<B>(
        self,
        collected: Result<Bytes, RejectionKind>,
        mut parts: request::Parts,
    ) -> Opening<B> {
        match self.authenticate(collected, &mut parts.extensions) {
            Ok(authentic) => Opening::Accepted(self.accept(authentic, parts)),
            Err(refusal) => {
                Opening::Refused(refuse(refusal, &Method::POST, &self.path, &self.candidates))
            }
        }
    }

    /// Authenticates, decrypts and parses the body; the message goes into
    /// `extensions`.
    fn authenticate(
        &self,
        collected: Result<Bytes, RejectionKind>,
        extensions: &mut Extensions,
    ) -> Result<Authentic, Refusal> {
        let body = collected?;
        let q = &self.query;
        let mut first_error = None;
        // The first error after a verified signature: it names the endpoint
        // and wins over every error before a signature.
        let mut verified: Option<Refusal> = None;
        let mut matched = None;
        for endpoint in self.candidates.iter() {
            match open_with(endpoint, q, &body) {
                Ok(Some(opened)) => {
                    matched = Some((Arc::clone(endpoint), opened));
                    break;
                }
                // The envelope was one this endpoint reads, but no Token of
                // it signed the request: that is the answer (403) unless
                // another candidate matches.
                Ok(None) => first_error = Some(crypto(CryptoErrorKind::ValidateSignature)),
                // This endpoint's Token verified the signature, but its key
                // did not decrypt the message or its receive id did not
                // match. Another endpoint may share the Token (a suite's
                // instruction and data URLs do): keep looking, and answer
                // this error only if no candidate opens the message.
                Err(kind @ (RejectionKind::Crypto(_) | RejectionKind::MalformedMessage)) => {
                    if verified.is_none() {
                        verified = Some(Refusal::for_endpoint(kind, endpoint));
                    }
                }
                Err(kind) => {
                    // A refusal before the signature (envelope, missing
                    // parameter) may just mean another candidate's format:
                    // keep looking; report it only if nothing got further.
                    first_error.get_or_insert(kind);
                }
            }
        }
        let Some((endpoint, opened)) = matched else {
            if let Some(refusal) = verified {
                return Err(refusal);
            }
            return Err(first_error
                .unwrap_or(crypto(CryptoErrorKind::ValidateSignature))
                .into());
        };
        let Opened {
            plain,
            receive_id,
            secret,
        } = opened;
        // Only now, after authentication, does the message touch the dedup
        // store (through its key), in the keyspace of what authenticated it.
        let config = &self.config;
        let scope = config.dedup.is_some().then(|| {
            config
                .scopes
                .scope(&config.routes, &endpoint, secret, &receive_id)
        });
        let parsed = parse_into(&endpoint, plain, extensions, scope)
            .map_err(|kind| Refusal::for_endpoint(kind, &endpoint))?;
        Ok(Authentic {
            endpoint,
            receive_id,
            secret,
            parsed,
        })
    }

    fn accept<B>(self, authentic: Authentic, mut parts: request::Parts) -> Accepted<B> {
        let Authentic {
            endpoint,
            receive_id,
            secret,
            parsed,
        } = authentic;
        let Parsed {
            body,
            names,
            agent_id,
            summary,
            key,
        } = parsed;
        let q = &self.query;
        // The reply is sealed for the receive id the message carried: by
        // its place among the opening crypt's configured ids, else a copy.
        let seal_for = endpoint
            .secret(secret)
            .and_then(|s| s.post.as_ref())
            .and_then(|crypt| crypt.receive_ids().iter().position(|id| *id == receive_id))
            .map_or_else(|| SealFor::Other(receive_id.clone()), SealFor::Configured);
        // A stored answer must outlive the request's own timestamp window:
        // a request stamped ahead of the server clock stays acceptable until
        // its timestamp plus the tolerance, and a replay of it must still
        // meet its answer then. Never less than the configured window.
        let now = unix_secs(self.config.clock.as_ref());
        let acceptable_until = q
            .timestamp_secs
            .saturating_add(self.config.tolerance_secs)
            .saturating_add(1);
        let dedup_window = self
            .config
            .dedup_window
            .max(Duration::from_secs(acceptable_until.saturating_sub(now)));
        let context = CallbackContext {
            kind: endpoint.kind(),
            timestamp: q.timestamp_secs,
            nonce: q.nonce().to_owned(),
            app: endpoint.shared_name(),
            receive_id,
            agent_id,
            previous_secret: secret > 0,
            received_at: now,
            timestamp_tolerance_secs: self.config.tolerance_secs,
        };
        let reply = ReplyContext {
            dedup_window,
            names,
            receive_id: seal_for,
            secret,
            config: self.config,
            endpoint,
            summary: Summary {
                path: self.path,
                ..summary
            },
        };
        // The inner request's framing describes the new body: its length,
        // no chunking, no content coding.
        remove_headers(
            &mut parts.headers,
            &[header::CONTENT_ENCODING, header::TRANSFER_ENCODING],
        );
        parts
            .headers
            .insert(header::CONTENT_LENGTH, content_length(body.len()));
        parts.extensions.insert(context);
        (
            Request::from_parts(parts, CallbackBody::buffered(body)),
            reply,
            key,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::endpoint::AuthorizedCorps;

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    /// Every scope the table gives is the one `dedup_scope` builds, for
    /// every endpoint, secret and receive id: configured ones, the empty
    /// one, and one the table does not hold (built on the spot).
    #[test]
    fn known_scopes_are_the_scopes_built_per_request() {
        let app = Endpoint::wecom_app("QDG6eK", KEY, "wx5823bf96d3bd56c7")
            .unwrap()
            .previous_secret("old", KEY)
            .unwrap()
            .named("企业 app");
        let data = Endpoint::wecom_suite_data(
            "QDG6eK",
            KEY,
            "wwprovider",
            AuthorizedCorps::list(["wwcorpA", "wwcorpB"]),
        )
        .unwrap();
        let bot = Endpoint::wecom_bot("QDG6eK", KEY).unwrap();
        let plain = Endpoint::official_account_plain("QDG6eK", "wxappid").unwrap();
        let mut config = Config::new(super::super::Route::Any, app);
        for endpoint in [data, bot, plain] {
            let candidates: Candidates = Arc::from([Arc::new(endpoint)]);
            config
                .routes
                .push((super::super::Route::Exact(Arc::from("/other")), candidates));
        }
        let scopes = Scopes::default();
        let mut from_table = 0;
        for endpoint in config.routes.iter().flat_map(|(_, c)| c.iter()) {
            for secret in 0..endpoint.secrets().len() {
                for receive_id in ["wx5823bf96d3bd56c7", "wwcorpA", "wwcorpB", "", "wwother"] {
                    let expected = dedup_scope(endpoint, secret, receive_id);
                    match scopes.scope(&config.routes, endpoint, secret, receive_id) {
                        ScopeRef::Scope(scope) => {
                            assert_eq!(*scope, expected);
                            from_table += 1;
                        }
                        ScopeRef::Owned(scope) => assert_eq!(scope, expected),
                        ScopeRef::Named(_) => panic!("a name alone is never a layer scope"),
                    }
                }
            }
        }
        // At least: app, 2 secrets × (its corp id, ""); data, wwcorpA,
        // wwcorpB and ""; bot and plaintext mode, "".
        let at_least = 2 * 2 + 3 + 2;
        assert!(from_table >= at_least, "{from_table}");
        // The unknown corp is never in the table.
        let data = &config.routes[1].1[0];
        assert!(matches!(
            scopes.scope(&config.routes, data, 0, "wwother"),
            ScopeRef::Owned(_)
        ));
    }
}
