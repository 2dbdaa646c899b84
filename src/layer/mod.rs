//! [`WeComCallbackLayer`]: the Tower middleware that guards callback routes.
//!
//! On each route it serves (a configured path, or every request that
//! reaches a [`WeComCallbackLayer::for_route`] layer) the layer
//!
//! 1. answers `GET` URL verification itself (200, `text/plain`, exactly the
//!    decrypted `echostr`); the handler is not called;
//! 2. checks a `POST` in this order: method, query (`msg_signature`,
//!    `timestamp`, `nonce`, each exactly once), timestamp window,
//!    `Content-Length` against the body limit (413 before reading), a
//!    bounded read, the envelope, the signature, decryption, the receive id,
//!    and the message;
//! 3. calls the inner service with the decrypted XML as the body and the
//!    typed [`Message`](crate::Message) and a [`CallbackContext`] in the
//!    request extensions;
//! 4. turns a [`Reply`](crate::Reply) found in a 2xx response's extensions
//!    into the encrypted, signed envelope (fresh nonce, current timestamp).
//!    A response without a `Reply` passes through untouched: an empty 200
//!    is WeCom's acknowledgement. With deduplication on, a 2xx body the
//!    handler made itself (a bare string, hand-made XML) of known length up
//!    to [`MAX_KEPT_BODY`](crate::dedup::MAX_KEPT_BODY) is kept, so that
//!    WeCom's retries get the same bytes.
//!
//! Bad requests get a 4xx with a short fixed body and a
//! [`Rejection`] in the response extensions; the handler
//! is never called. With the `tracing` feature (on by default) each
//! rejection is also logged as one structured event (see
//! [the guide](crate::guide#logs)). Requests to paths a path-bound layer
//! does not serve pass through untouched. `Content-Type` is ignored
//! (`text/xml`, `application/xml` or none).
//!
//! Without axum, [`handler_fn`] turns an async function of
//! [`Message`](crate::Message) and [`CallbackContext`] into the inner
//! service, and `Response::from(reply)` makes a response that carries a
//! [`Reply`](crate::Reply).
//!
//! Source: WeCom doc 接收消息与事件 概述 and 加解密方案说明; the timestamp
//! window follows common webhook practice (SECURITY.md T3/T4 of this
//! project), WeCom itself documents none.
//!
//! # Example
//! ```
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use tower::{ServiceBuilder, ServiceExt};
//! use wecom_callback::{CallbackBody, Endpoint, FixedClock, WeComCallbackLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
//! let layer = WeComCallbackLayer::new("/wecom/callback", endpoint)?
//!     .clock(FixedClock::from_unix(1409659589)); // the vendor sample's time
//! let service = ServiceBuilder::new().layer(layer).service_fn(|_req: Request<CallbackBody<Full<Bytes>>>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default()))
//! });
//!
//! // The vendor's sample URL verification: answered by the layer.
//! let uri = "/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589\
//!            &nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D";
//! let response = service.clone().oneshot(Request::get(uri).body(Full::default())?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // The same request with a different nonce is not authentic.
//! let forged = uri.replace("nonce=263014780", "nonce=263014781");
//! let response = service.oneshot(Request::get(forged).body(Full::default())?).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```

mod body;
pub(crate) mod clock;
mod events;
mod future;
mod handle;
mod handler;
mod pipeline;
mod query;
mod rejection;
mod service;

use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;

pub use body::CallbackBody;
pub use clock::{Clock, FixedClock, SystemClock};
pub use future::ResponseFuture;
pub use handler::{CallbackMessage, HandlerFn, HandlerFuture, handler_fn};
pub use rejection::{Rejection, RejectionKind};
pub use service::WeComCallback;

use crate::crypto::{ConfigError, ConfigErrorKind, RandomSource, ThreadRandom};
use crate::dedup::{self, DedupStore, MemoryDedupStore};
use crate::endpoint::{CallbackKind, Endpoint};

/// Default body limit: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// Default body timeout: 5 seconds to receive a POST body, WeCom's own
/// reply deadline (PROTOCOL.md §8 of this project; WeCom doc 被动回复消息).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// Default timestamp tolerance: 300 seconds either way.
pub const DEFAULT_TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(300);

/// What the layer learned about an accepted callback, in the request
/// extensions next to the [`Message`](crate::Message).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackContext {
    /// The kind configured for the path.
    pub kind: CallbackKind,
    /// The query `timestamp`, unix seconds (verified, inside the window).
    pub timestamp: u64,
    /// The query `nonce`.
    pub nonce: String,
    /// The name of the endpoint that matched ([`Endpoint::named`], by
    /// default its receive id): which app the request is for when several
    /// share a layer or a path.
    pub app: Arc<str>,
    /// The receive id found in the ciphertext (corp id for apps, suite id,
    /// appid, `""` for the robot). Empty in Official Account plaintext
    /// mode, which has no ciphertext.
    pub receive_id: String,
    /// `AgentID` of the decrypted message (authenticated; the envelope's
    /// own `AgentID` is not), if any.
    pub agent_id: Option<u64>,
    /// Whether the request used the previous Token/EncodingAESKey of a
    /// rotation ([`Endpoint::previous_secret`]).
    pub previous_secret: bool,
    /// The layer's clock when it accepted the request, unix seconds.
    pub received_at: u64,
    /// The layer's timestamp tolerance, seconds
    /// ([`WeComCallbackLayer::timestamp_tolerance`]).
    pub timestamp_tolerance_secs: u64,
}

impl CallbackContext {
    /// The ticket a `suite_ticket` or `component_verify_ticket` push carries,
    /// checked against this request: the kind must be the one that delivers
    /// the ticket, the body's `SuiteId`/`AppId` must be the authenticated
    /// receive id (for an individual suite, whose receive id is empty, the
    /// endpoint's name: name it after its suite id), and the issue time
    /// must not be later than [`received_at`](Self::received_at) plus the
    /// tolerance. Hand the result to a
    /// [`TicketStore`](crate::tickets::TicketStore). See
    /// [`TicketPush::from_authenticated`](crate::tickets::TicketPush::from_authenticated).
    ///
    /// `Ok(None)` when `message` is not a ticket push.
    ///
    /// # Errors
    /// [`TicketPushError`](crate::tickets::TicketPushError): a wrong kind
    /// (plaintext mode never delivers a ticket), another app, or a ticket
    /// from the future. Log it at `warn` and answer as usual: the push is
    /// authentic but must not be stored.
    pub fn ticket_push(
        &self,
        message: &crate::Message,
    ) -> Result<Option<crate::tickets::TicketPush>, crate::tickets::TicketPushError> {
        let receive_id = if self.receive_id.is_empty() {
            &*self.app
        } else {
            self.receive_id.as_str()
        };
        crate::tickets::TicketPush::from_authenticated(
            message,
            &crate::tickets::PushOrigin {
                kind: self.kind,
                receive_id,
                now: self.received_at,
                tolerance_secs: self.timestamp_tolerance_secs,
            },
        )
    }
}

/// The endpoints served on one path: one, or several told apart by
/// signature.
pub(crate) type Candidates = Arc<[Arc<Endpoint>]>;

/// What the layer does when the deduplication store cannot be reached
/// (a shared store that is down or slow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreFailure {
    /// Run the handler anyway and log a warning: at-least-once, no message
    /// lost, a retry may be handled twice. The default.
    #[default]
    Process,
    /// Answer 503 ([`RejectionKind::StoreUnavailable`]) without calling the
    /// handler, so that WeCom retries later: nothing handled twice, but a
    /// message is lost when the store stays down through every retry.
    Unavailable,
}

/// Which requests a set of endpoints answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Requests whose path, as the layer sees it, is exactly this one
    /// (shared with the log events of the requests it serves).
    Exact(Arc<str>),
    /// Every request that reaches the layer
    /// ([`WeComCallbackLayer::for_route`]).
    Any,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The endpoints, by route; the first entry is the constructor's.
    pub(crate) routes: Vec<(Route, Candidates)>,
    /// The constructor's endpoint and route (also in `routes`), for the
    /// test kit.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) primary: (Route, Arc<Endpoint>),
    pub(crate) body_limit: usize,
    pub(crate) body_timeout: Duration,
    pub(crate) tolerance_secs: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) dedup: Option<Arc<dyn DedupStore>>,
    pub(crate) dedup_window: Duration,
    pub(crate) in_flight_ttl: Duration,
    pub(crate) store_failure: StoreFailure,
    pub(crate) ack_deadline: Option<Duration>,
    /// The endpoints' deduplication scopes, built on first use.
    pub(crate) scopes: pipeline::Scopes,
}

impl Config {
    fn new(route: Route, endpoint: Endpoint) -> Self {
        let endpoint = Arc::new(endpoint);
        Self {
            routes: vec![(route.clone(), Arc::from([Arc::clone(&endpoint)]))],
            primary: (route, endpoint),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            tolerance_secs: DEFAULT_TIMESTAMP_TOLERANCE.as_secs(),
            clock: Arc::new(SystemClock),
            random: Arc::new(ThreadRandom),
            dedup: Some(Arc::new(MemoryDedupStore::new())),
            dedup_window: dedup::DEFAULT_WINDOW,
            in_flight_ttl: dedup::DEFAULT_IN_FLIGHT_TTL,
            store_failure: StoreFailure::Process,
            ack_deadline: None,
            scopes: pipeline::Scopes::default(),
        }
    }

    /// The route serving `path` and its endpoints: an exact route first,
    /// else the any-path route, if there is one.
    pub(crate) fn route(&self, path: &str) -> Option<(&Route, &Candidates)> {
        self.routes
            .iter()
            .find(|(route, _)| matches!(route, Route::Exact(p) if **p == *path))
            .or_else(|| self.routes.iter().find(|(route, _)| *route == Route::Any))
            .map(|(route, candidates)| (route, candidates))
    }

    /// The exact paths served (empty for a [`WeComCallbackLayer::for_route`]
    /// layer), for diagnostics.
    #[cfg_attr(not(any(feature = "tracing", feature = "axum")), allow(dead_code))]
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().filter_map(|(route, _)| match route {
            Route::Exact(path) => Some(&**path),
            Route::Any => None,
        })
    }

    /// Every endpoint, in configuration order.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn all_endpoints(&self) -> impl Iterator<Item = (&Route, &Arc<Endpoint>)> {
        self.routes
            .iter()
            .flat_map(|(route, candidates)| candidates.iter().map(move |e| (route, e)))
    }
}

/// Left in the extensions of a request that a path-bound layer passed
/// through because it does not serve the request's path, so that the
/// extractors can say which path the layer saw and which it serves.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct PassedThrough {
    /// The request path as the layer saw it.
    pub(crate) seen: String,
    pub(crate) config: Arc<Config>,
}

/// The Tower layer: answers WeCom's (or WeChat's) callback requests on the
/// routes it serves and hands the handler a typed, authenticated message.
///
/// Two ways to say which requests it serves:
///
/// * [`for_route`](Self::for_route): every request that reaches it. Add it
///   with axum's `route_layer` on the callback route (or around a single
///   service); it then works unchanged under `Router::nest` and on routes
///   with path parameters such as `/wecom/{app}`;
/// * [`new`](Self::new) with a path: requests whose path, as the layer sees
///   it, is exactly that path; every other request passes through. For a
///   layer around a whole `Router` or a plain service.
///
/// Several endpoints on one route are told apart by signature
/// ([`and_endpoint`](Self::and_endpoint), [`endpoint`](Self::endpoint)).
///
/// Defaults: body limit [`DEFAULT_BODY_LIMIT`] (64 KiB), body timeout
/// [`DEFAULT_BODY_TIMEOUT`] (5 s), timestamp
/// tolerance [`DEFAULT_TIMESTAMP_TOLERANCE`] (±300 s), deduplication of
/// retries in memory, the system clock and the OS random source. `Debug`
/// never prints a Token or key.
///
/// # Example
///
/// One route, the layer added with `route_layer`, and the test kit built
/// from the same endpoint:
///
/// ```
/// use axum::{Router, routing::post};
/// use wecom_callback::testing::TestKit;
/// use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
/// let kit = TestKit::for_route(&endpoint).path("/hooks/wecom");
///
/// let wecom = Router::new()
///     .route("/wecom", post(|m: Message| async move { Reply::text(format!("hi {}", m.from_user_name())) }))
///     .route_layer(WeComCallbackLayer::for_route(endpoint));
/// let mut app: Router = Router::new().nest("/hooks", wecom);
///
/// let message = TestKit::text_message("wx5823bf96d3bd56c7", "zhangsan", "hello");
/// let reply = kit.send(&mut app, kit.post(&message)).await?.xml()?;
/// assert_eq!(reply.reply, Some(Reply::text("hi zhangsan")));
///
/// // A forged request never reaches the handler.
/// let mut forged = kit.post(&message);
/// *forged.uri_mut() = forged.uri().to_string().replace("nonce=", "nonce=1").parse()?;
/// let error = kit.send(&mut app, forged).await.unwrap_err();
/// assert_eq!(error.status(), Some(http::StatusCode::FORBIDDEN));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WeComCallbackLayer {
    config: Arc<Config>,
}

fn check_path(path: &str) -> Result<(), ConfigError> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(ConfigError::new(ConfigErrorKind::InvalidPath))
    }
}

impl WeComCallbackLayer {
    /// A layer serving `endpoint` on `path`, matched exactly against the
    /// request path **as the layer sees it** (e.g. `/wecom/callback`);
    /// other requests pass through untouched.
    ///
    /// The path the layer sees depends on where it sits: a layer on a
    /// router nested with `Router::nest("/hooks", ..)` sees paths without
    /// `/hooks`; a layer on the outer router sees them with it. Where that
    /// is in doubt, or the route has path parameters, use
    /// [`for_route`](Self::for_route) with `route_layer` instead.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidPath`] unless `path` starts with `/`.
    pub fn new(path: &str, endpoint: Endpoint) -> Result<Self, ConfigError> {
        check_path(path)?;
        Ok(Self {
            config: Arc::new(Config::new(Route::Exact(Arc::from(path)), endpoint)),
        })
    }

    /// A layer with no path of its own: it treats **every** request that
    /// reaches it as a callback for `endpoint`. Put it where only callback
    /// requests arrive: axum's `route_layer` on the callback route (under
    /// `Router::nest` too, and on routes with path parameters such as
    /// `/wecom/{app}`), or around a service that only serves the callback.
    /// Added with `Router::layer` around a whole router, it would answer
    /// every route, so it would refuse them all.
    ///
    /// Serve more endpoints on the same route with
    /// [`and_endpoint`](Self::and_endpoint): each request goes to the one
    /// whose Token verifies its signature.
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use wecom_callback::{CallbackContext, Endpoint, Reply, WeComCallbackLayer};
    ///
    /// # fn main() -> Result<(), wecom_callback::ConfigError> {
    /// let sales = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?
    ///     .named("sales");
    /// let support = Endpoint::wecom_app("Tok2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx5823bf96d3bd56c7")?
    ///     .named("support");
    /// let app: Router = Router::new()
    ///     .route("/wecom/{app}", post(|context: CallbackContext| async move {
    ///         Reply::text(format!("for {}", context.app))
    ///     }))
    ///     .route_layer(WeComCallbackLayer::for_route(sales).and_endpoint(support));
    /// # let _ = app;
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_route(endpoint: Endpoint) -> Self {
        Self {
            config: Arc::new(Config::new(Route::Any, endpoint)),
        }
    }

    /// Serves `endpoint` wherever the layer's first endpoint is served (the
    /// constructor's path, or every request for a
    /// [`for_route`](Self::for_route) layer). Each request goes to the
    /// endpoint whose Token verifies its signature (one SHA-1 per
    /// candidate; never chosen by the unsigned envelope fields or the
    /// path); the handler learns which one matched from
    /// [`CallbackContext::app`].
    #[must_use]
    pub fn and_endpoint(mut self, endpoint: Endpoint) -> Self {
        let config = Arc::make_mut(&mut self.config);
        if let Some((_, candidates)) = config.routes.first_mut() {
            add_candidate(candidates, endpoint);
        }
        self
    }

    /// Serves another endpoint (several apps behind one layer). On a new
    /// path it is routed by path. On a path already served, both are
    /// served there and each request goes to the endpoint whose Token
    /// verifies its signature (one SHA-1 per candidate; never by the
    /// unsigned envelope fields). The handler learns which one matched
    /// from [`CallbackContext::app`].
    ///
    /// On a [`for_route`](Self::for_route) layer, a path given here is
    /// served by its own endpoints and every other request by the
    /// `for_route` ones.
    ///
    /// # Errors
    /// [`ConfigErrorKind::InvalidPath`] unless `path` starts with `/`.
    pub fn endpoint(mut self, path: &str, endpoint: Endpoint) -> Result<Self, ConfigError> {
        check_path(path)?;
        let config = Arc::make_mut(&mut self.config);
        match config
            .routes
            .iter_mut()
            .find(|(route, _)| matches!(route, Route::Exact(p) if **p == *path))
        {
            Some((_, candidates)) => add_candidate(candidates, endpoint),
            None => config.routes.push((
                Route::Exact(Arc::from(path)),
                Arc::from([Arc::new(endpoint)]),
            )),
        }
        Ok(self)
    }

    /// The configuration, for the test kit.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Largest POST body read, in bytes (default 64 KiB). Larger bodies get
    /// 413: by `Content-Length` without reading, or while reading.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).body_limit = bytes;
        self
    }

    /// How long a POST body may take to arrive, from the moment the request
    /// head has passed the query checks (default 5 s). A body still
    /// incomplete then gets 408 with `Connection: close`, the handler is
    /// not called, and what was buffered is freed. This bounds what a slow
    /// or stalled client (slowloris) can hold; set the server's own header
    /// read and idle timeouts too (see the echo example).
    ///
    /// The timer is tokio's, so the layer must run inside a tokio runtime
    /// with time enabled (as axum and hyper servers do).
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).body_timeout = timeout;
        self
    }

    /// How far the query `timestamp` may be from the clock, in either
    /// direction (default 300 s; whole seconds). Requests outside get 403.
    #[must_use]
    pub fn timestamp_tolerance(mut self, tolerance: Duration) -> Self {
        Arc::make_mut(&mut self.config).tolerance_secs = tolerance.as_secs();
        self
    }

    /// The clock used for the timestamp window and reply timestamps
    /// (default [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        Arc::make_mut(&mut self.config).clock = Arc::new(clock);
        self
    }

    /// Replaces the deduplication store (default: a [`MemoryDedupStore`]
    /// per layer, shared by its clones; a shared store such as Redis lets
    /// several instances behind a load balancer see each other's
    /// deliveries). See [`crate::dedup`] for the contract.
    ///
    /// With deduplication on (the default), a message delivered again
    /// within the window does not reach the handler a second time:
    ///
    /// * if its first delivery was answered, the retry gets **the same
    ///   answer**, sealed afresh (new nonce and timestamp): the usual reason
    ///   for a retry is that the first answer was late or lost;
    /// * if the first delivery is still running, the retry gets the kind's
    ///   acknowledgement at once (WeCom has given up on the first
    ///   connection; the handler runs once and its answer is kept for later
    ///   retries);
    /// * if the handler failed (an error or a 5xx), the claim is released
    ///   and the retry runs it again.
    ///
    /// Keys: `MsgId` (with `AgentID`) or the robot's `msgid`; for events
    /// and pushes without one, a SHA-256 of the decrypted message (the
    /// vendor's `FromUserName + CreateTime` drops distinct events). They are
    /// recorded only after authentication, so forged requests cannot fill
    /// the store.
    #[must_use]
    pub fn dedup_store(mut self, store: impl DedupStore) -> Self {
        Arc::make_mut(&mut self.config).dedup = Some(Arc::new(store));
        self
    }

    /// Turns deduplication off: every authentic delivery reaches the
    /// handler.
    #[must_use]
    pub fn without_dedup(mut self) -> Self {
        Arc::make_mut(&mut self.config).dedup = None;
        self
    }

    /// How long a handled message's answer is kept for retries (default
    /// 300 s, the timestamp window) and how long an unfinished claim blocks
    /// retries (default 30 s; keep it longer than your slowest handler).
    ///
    /// An answer is always kept at least until the request's `timestamp`
    /// plus the [`timestamp_tolerance`](Self::timestamp_tolerance) has
    /// passed (and a second more), even when `window` is shorter: a request
    /// stamped ahead of the server clock stays acceptable that long, and a
    /// replay of it must meet its answer rather than run the handler again.
    #[must_use]
    pub fn dedup_ttls(mut self, window: Duration, in_flight: Duration) -> Self {
        let config = Arc::make_mut(&mut self.config);
        config.dedup_window = window;
        config.in_flight_ttl = in_flight;
        self
    }

    /// What to do when the dedup store fails (default
    /// [`StoreFailure::Process`]).
    #[must_use]
    pub fn on_store_failure(mut self, policy: StoreFailure) -> Self {
        Arc::make_mut(&mut self.config).store_failure = policy;
        self
    }

    /// The 5-second rule (WeCom doc 接收消息与事件 概述: "五秒内收不到响应会断掉连接，并且重新发起请求"):
    /// when the handler has not answered within `deadline` (e.g. 4 s), the
    /// layer answers the kind's acknowledgement itself (empty 200 or
    /// `success`), so the platform does not retry. Off by default.
    ///
    /// The handler then keeps running to completion as its own tokio task
    /// (spawned, not dropped), and its answer is recorded for
    /// deduplication; a late passive reply cannot reach the user any more,
    /// so send late answers through the platform's message API.
    ///
    /// With an outer `tower_http::timeout::TimeoutLayer`, set this deadline
    /// shorter than its timeout: the acknowledgement then goes out first and
    /// the handler is not cancelled. With a longer one, the outer layer
    /// answers 408 (a failure to WeCom, which retries) and drops this
    /// layer's future, but a handler already spawned still completes.
    #[must_use]
    pub fn ack_deadline(mut self, deadline: Duration) -> Self {
        Arc::make_mut(&mut self.config).ack_deadline = Some(deadline);
        self
    }

    /// The random source for reply prefixes and nonces (default
    /// [`ThreadRandom`], a CSPRNG seeded from
    /// the operating system; [`OsRandom`](crate::crypto::OsRandom) makes a
    /// system call per fill instead). Replace it otherwise only in tests.
    /// Each sealed reply draws one fill of 24 bytes: the 16-byte random
    /// prefix, then 8 bytes whose big-endian number modulo 10¹⁰ is the
    /// `Nonce`.
    #[must_use]
    pub fn random_source(mut self, random: impl RandomSource) -> Self {
        Arc::make_mut(&mut self.config).random = Arc::new(random);
        self
    }
}

fn add_candidate(candidates: &mut Candidates, endpoint: Endpoint) {
    let mut all: Vec<Arc<Endpoint>> = candidates.iter().cloned().collect();
    all.push(Arc::new(endpoint));
    *candidates = Arc::from(all);
}

impl<S> Layer<S> for WeComCallbackLayer {
    type Service = WeComCallback<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WeComCallback::new(inner, Arc::clone(&self.config))
    }
}
