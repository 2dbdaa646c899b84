//! The echo service the layer benches drive: an axum router whose handler
//! answers a text message with a text reply echoing its Content, behind
//! `WeComCallbackLayer` on the sample credentials, a fixed clock (the
//! inputs' timestamp) and a body limit that admits the 256 KiB input.

#![allow(dead_code, unreachable_pub)]

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::http::{Method, Request, header};
use axum::routing::post;
use http_body_util::Full;
use wecom_callback::testing::TestKit;
use wecom_callback::{Endpoint, FixedClock, Message, MessageKind, Reply, WeComCallbackLayer};

use super::inputs::{CORP_ID, ENCODING_AES_KEY, Input, PATH, TIMESTAMP, TOKEN};

/// Large enough for the 256 KiB input's envelope (about 350 KB).
pub const BODY_LIMIT: usize = 1 << 20;

/// The handler: a text reply echoing the Content (moved, not copied).
pub async fn echo(message: Message) -> Reply {
    match message.into_parts().1 {
        MessageKind::Text(text) => Reply::text(text.content),
        _ => Reply::ack(),
    }
}

/// The layer as the benches configure it; `dedup`: the default
/// deduplication store on or off.
pub fn layer(dedup: bool) -> WeComCallbackLayer {
    let endpoint = Endpoint::wecom_app(TOKEN, ENCODING_AES_KEY, CORP_ID)
        .unwrap_or_else(|e| panic!("endpoint: {e}"));
    let layer = WeComCallbackLayer::new(PATH, endpoint)
        .unwrap_or_else(|e| panic!("layer: {e}"))
        .body_limit(BODY_LIMIT)
        .clock(FixedClock::from_unix(TIMESTAMP));
    if dedup { layer } else { layer.without_dedup() }
}

/// The echo router behind the layer. `with_state(())` turns the routes into
/// services once, as `Router::into_make_service` (and so `axum::serve`)
/// does for a real server; without it, `oneshot` on a `Router<()>` would
/// rebuild the handler's route on every request.
pub fn app(dedup: bool) -> Router {
    Router::new()
        .route(PATH, post(echo))
        .layer(layer(dedup))
        .with_state(())
}

/// The same layer around the crate's own inner service
/// (`layer::handler_fn`, no axum): what a hyper or plain-Tower user runs,
/// and the layer's cost without axum's routing and extractors.
pub fn tower_app(
    dedup: bool,
) -> impl tower::Service<
    Request<Body>,
    Response = http::Response<wecom_callback::layer::CallbackBody<http_body_util::Full<Bytes>>>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ 'static {
    tower::Layer::layer(
        &layer(dedup),
        wecom_callback::layer::handler_fn(|message: Message, _context| echo(message)),
    )
}

/// The same router shape without the layer: a handler that reads the body
/// and returns it (about the size of the sealed reply). What any axum app
/// pays per request (routing, extractors, body plumbing, `oneshot`), the
/// part of the "through the layer" figures the crate cannot remove.
pub fn bare_app() -> Router {
    Router::new()
        .route(PATH, post(|body: Bytes| async move { body }))
        .with_state(())
}

/// The POST of `input`.
pub fn post_request(input: &Input) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(format!("{PATH}?{}", input.query()))
        .header(header::CONTENT_TYPE, "text/xml")
        .header(header::CONTENT_LENGTH, input.body.len())
        .body(Body::from(input.body.clone()))
        .unwrap_or_else(|e| panic!("request: {e}"))
}

/// The same POST with a forged `msg_signature` (one digit changed).
pub fn forged_request(input: &Input) -> Request<Body> {
    let mut forged = input.clone();
    let flipped = if forged.signature.starts_with('0') {
        "1"
    } else {
        "0"
    };
    forged.signature.replace_range(..1, flipped);
    post_request(&forged)
}

/// The URL-verification GET (WeCom doc 接收消息与事件 概述, 验证URL有效性)
/// of the vendor's sample echostr, encrypted and signed like WeCom's.
pub fn verify_request() -> Request<Full<Bytes>> {
    let endpoint = Endpoint::wecom_app(TOKEN, ENCODING_AES_KEY, CORP_ID)
        .unwrap_or_else(|e| panic!("endpoint: {e}"));
    TestKit::new(PATH, &endpoint)
        .at(TIMESTAMP)
        .verify_url("1616140317555161061")
}
