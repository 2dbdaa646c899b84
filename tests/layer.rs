//! `WeComCallbackLayer` end to end with `tower::ServiceExt::oneshot`: the GET
//! answer, the POST → Message → Reply round trip, every rejection (status,
//! fixed body, typed reason, and the handler provably not called), and the
//! pass-through of other paths. Rows of the project's SECURITY.md (b) are cited
//! as "S#n".
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use common::body_bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use wecom_callback::crypto::{CryptoErrorKind, MsgCrypt};
use wecom_callback::testing::TestKit;

use wecom_callback::{
    CallbackBody, CallbackContext, Endpoint, FixedClock, Message, Rejection, RejectionKind, Reply,
    WeComCallbackLayer,
};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const PATH: &str = "/wecom/callback";
const NOW: u64 = 1_700_000_000;

fn endpoint() -> Endpoint {
    Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap()
}

fn kit() -> TestKit {
    TestKit::new(PATH, &endpoint()).at(NOW)
}

fn crypt() -> MsgCrypt {
    MsgCrypt::new(TOKEN, KEY, CORP).unwrap()
}

/// Extensions, body and path of the last request the handler saw.
type Last = (Option<Message>, Option<CallbackContext>, Bytes, String);

/// What the handler saw.
#[derive(Default)]
struct Seen {
    calls: AtomicUsize,
    last: std::sync::Mutex<Option<Last>>,
}

type Handler = Arc<dyn Fn(&Request<()>) -> Response<Full<Bytes>> + Send + Sync>;

/// Sends `request` through the layer (clock at `now`) to a handler that
/// records what it saw and answers with `respond`.
async fn send_with<B>(
    request: Request<B>,
    now: u64,
    respond: Handler,
) -> (Response<Bytes>, Arc<Seen>)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug,
{
    let layer = WeComCallbackLayer::new(PATH, endpoint())
        .unwrap()
        .clock(FixedClock::from_unix(now));
    send_through(layer, request, respond).await
}

/// As `send` with a 4 MiB body limit, for the parser-resource rows.
async fn send_big(request: Request<Full<Bytes>>) -> (Response<Bytes>, Arc<Seen>) {
    let layer = WeComCallbackLayer::new(PATH, endpoint())
        .unwrap()
        .clock(FixedClock::from_unix(NOW))
        .body_limit(4 << 20);
    send_through(layer, request, empty_ok()).await
}

async fn send_through<B>(
    layer: WeComCallbackLayer,
    request: Request<B>,
    respond: Handler,
) -> (Response<Bytes>, Arc<Seen>)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug,
{
    let seen = Arc::new(Seen::default());
    let seen2 = Arc::clone(&seen);
    let service = ServiceBuilder::new().layer(layer).service(service_fn(
        move |req: Request<CallbackBody<B>>| {
            let seen = Arc::clone(&seen2);
            let respond = Arc::clone(&respond);
            async move {
                seen.calls.fetch_add(1, Ordering::SeqCst);
                let (parts, body) = req.into_parts();
                let message = parts.extensions.get::<Message>().cloned();
                let context = parts.extensions.get::<CallbackContext>().cloned();
                let bytes = body
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                *seen.last.lock().unwrap() =
                    Some((message, context, bytes, parts.uri.path().to_owned()));
                let head = Request::from_parts(parts, ());
                Ok::<_, Infallible>(respond(&head))
            }
        },
    ));
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (Response::from_parts(parts, bytes), seen)
}

fn echo_reply() -> Handler {
    Arc::new(|req: &Request<()>| {
        let message = req.extensions().get::<Message>().unwrap();
        let mut response = Response::new(Full::default());
        response
            .extensions_mut()
            .insert(Reply::text(format!("echo:{}", message.msg_type())));
        response
    })
}

fn empty_ok() -> Handler {
    Arc::new(|_| Response::new(Full::default()))
}

async fn send(request: Request<Full<Bytes>>) -> (Response<Bytes>, Arc<Seen>) {
    send_with(request, NOW, empty_ok()).await
}

/// Asserts a rejection: status, fixed body, reason, handler not called.
fn assert_rejected(
    response: &Response<Bytes>,
    seen: &Seen,
    status: StatusCode,
    kind: RejectionKind,
) {
    assert_eq!(response.status(), status, "{kind:?}");
    let rejection = response
        .extensions()
        .get::<Rejection>()
        .expect("a Rejection extension");
    assert_eq!(rejection.kind(), kind);
    assert_eq!(response.body().as_ref(), rejection.body_text().as_bytes());
    assert_eq!(
        seen.calls.load(Ordering::SeqCst),
        0,
        "handler must not be called"
    );
}

fn text_message(content: &str) -> String {
    TestKit::text_message(CORP, "zhangsan", content)
}

/// A POST with the given Encrypt text, correctly signed.
fn signed_post(encrypt: &str) -> Request<Full<Bytes>> {
    let (ts, nonce) = (NOW.to_string(), "12345");
    let sig = crypt().signature(&ts, nonce, encrypt);
    kit().request(
        Method::POST,
        &sig,
        &ts,
        nonce,
        None,
        Bytes::from(TestKit::envelope(CORP, encrypt)),
    )
}

/// A POST whose query is `query` (raw) and body `body`.
fn raw_post(query: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(format!("{PATH}?{query}"))
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

// ---- GET URL verification -------------------------------------------------

#[tokio::test]
async fn official_get_vector_is_answered_by_the_layer() {
    // S#40: the vendor sample request line, verbatim.
    let uri = "/wecom/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D";
    let (response, seen) = send_with(
        Request::get(uri).body(Full::default()).unwrap(),
        1_409_659_589,
        empty_ok(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"1616140317555161061");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert!(response.extensions().get::<Rejection>().is_none());
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);

    // A raw `+` in the query stays a `+`: still verifies.
    let raw_plus = uri.replace("%2B", "+");
    let (response, _) = send_with(
        Request::get(raw_plus).body(Full::default()).unwrap(),
        1_409_659_589,
        empty_ok(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    // A `+` that became a space (S#39) does not.
    let spaced = uri.replace("%2B", "%20");
    let (response, seen) = send_with(
        Request::get(spaced).body(Full::default()).unwrap(),
        1_409_659_589,
        empty_ok(),
    )
    .await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::Crypto(CryptoErrorKind::ValidateSignature),
    );
}

#[tokio::test]
async fn test_kit_get_round_trips() {
    let (response, seen) = send(kit().verify_url("6152308716023148273")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"6152308716023148273");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn get_rejections() {
    // S#38: wrong signature with a script in echostr: 403, nothing echoed.
    let sig = "0".repeat(40);
    let req = kit().request(
        Method::GET,
        &sig,
        &NOW.to_string(),
        "1",
        Some("<script>alert(1)</script>"),
        Bytes::new(),
    );
    let (response, seen) = send(req).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::Crypto(CryptoErrorKind::ValidateSignature),
    );
    assert!(!String::from_utf8_lossy(response.body()).contains("script"));

    // S#39: no echostr.
    let (response, seen) =
        send(kit().request(Method::GET, &sig, &NOW.to_string(), "1", None, Bytes::new())).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::BAD_REQUEST,
        RejectionKind::MissingParameter("echostr"),
    );

    // S#37: a captured POST's Encrypt and signature replayed as echostr.
    let encrypt = crypt()
        .encrypt_with_prefix(text_message("secret").as_bytes(), [7; 16])
        .unwrap();
    let sig = crypt().signature(&NOW.to_string(), "99", &encrypt);
    let req = kit().request(
        Method::GET,
        &sig,
        &NOW.to_string(),
        "99",
        Some(&encrypt),
        Bytes::new(),
    );
    let (response, seen) = send(req).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::InvalidEchostr,
    );
    assert!(!String::from_utf8_lossy(response.body()).contains("secret"));

    // GET is subject to the timestamp window too.
    let stale = TestKit::new(PATH, &endpoint())
        .at(NOW - 301)
        .verify_url("123");
    let (response, seen) = send(stale).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::StaleTimestamp,
    );
}

// ---- POST round trip ------------------------------------------------------

#[tokio::test]
async fn post_reaches_handler_with_message_context_and_xml_body_and_reply_is_sealed() {
    let xml = text_message("hello ]]> <&>");
    let (response, seen) = send_with(kit().post(&xml), NOW, echo_reply()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/xml; charset=utf-8"
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let (message, context, body, _) = seen.last.lock().unwrap().clone().unwrap();
    let message = message.unwrap();
    assert_eq!(message.field("Content"), Some("hello ]]> <&>"));
    assert_eq!(message.from_user_name(), "zhangsan");
    assert_eq!(body.as_ref(), xml.as_bytes());
    let context = context.unwrap();
    assert_eq!(context.receive_id, CORP);
    assert_eq!(context.timestamp, NOW);
    assert_eq!(context.agent_id, Some(1));

    let reply = kit().open_reply(response.map(Full::new)).await.unwrap();
    let reply = Message::parse(&reply).unwrap();
    assert_eq!(reply.field("Content"), Some("echo:text"));
    assert_eq!(reply.to_user_name(), "zhangsan");
    assert_eq!(reply.from_user_name(), CORP);
    assert_eq!(reply.create_time(), NOW);
}

/// SECURITY.md T28: the hostile-input issue's payloads. Inbound, a message
/// holding a character XML 1.0 forbids is not a well-formed document and is
/// refused; outbound, a handler's reply holding the payload still seals
/// into one `Content` with no injected element.
#[tokio::test]
async fn cdata_break_out_payloads_are_refused_inbound_and_inert_outbound() {
    const PAYLOAD: &str = "]]\u{FFFF}></Content><MsgType>image</MsgType><Image><MediaId>EVIL</MediaId></Image><Content><![CDATA[";
    let xml = format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{PAYLOAD}]]></Content>\
         <MsgId>1</MsgId><AgentID>1</AgentID></xml>"
    );
    let (response, seen) = send(kit().post(&xml)).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::MalformedMessage,
    );
    // The parser differential: `]]>` outside CDATA is not well-formed.
    let xml = text_message("x").replace("<![CDATA[x]]>", "<![CDATA[a]]>b]]>");
    let (response, seen) = send(kit().post(&xml)).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::MalformedMessage,
    );

    for payload in [
        PAYLOAD,
        "]\u{FFFF}]></Content><MsgType>image</MsgType><Image><MediaId>EVIL</MediaId></Image>",
    ] {
        let respond: Handler = Arc::new(move |_| {
            let mut response = Response::new(Full::default());
            response.extensions_mut().insert(Reply::text(payload));
            response
        });
        let (response, _) = send_with(kit().post(&text_message("hi")), NOW, respond).await;
        let reply = kit().open_reply(response.map(Full::new)).await.unwrap();
        let reply = Message::parse(&reply).unwrap();
        assert_eq!(reply.msg_type(), "text");
        assert_eq!(reply.field("Image"), None);
        assert_eq!(
            reply.field("Content"),
            Some(payload.replace('\u{FFFF}', "").as_str())
        );
    }
}

#[tokio::test]
async fn replies_use_fresh_nonces() {
    let xml = text_message("x");
    let (a, _) = send_with(kit().post(&xml), NOW, echo_reply()).await;
    let (b, _) = send_with(kit().post(&xml), NOW, echo_reply()).await;
    let a = wecom_callback::envelope::ReplyEnvelope::parse(a.body()).unwrap();
    let b = wecom_callback::envelope::ReplyEnvelope::parse(b.body()).unwrap();
    assert_ne!(a.nonce, b.nonce);
    assert_ne!(a.encrypt, b.encrypt);
    assert_eq!(a.timestamp, NOW.to_string());
}

#[tokio::test]
async fn content_type_is_ignored() {
    for content_type in [
        Some("text/xml"),
        Some("application/xml"),
        Some("application/json"),
        None,
    ] {
        let mut request = kit().post(&text_message("ct"));
        if let Some(ct) = content_type {
            request
                .headers_mut()
                .insert(header::CONTENT_TYPE, ct.parse().unwrap());
        }
        let (response, seen) = send_with(request, NOW, echo_reply()).await;
        assert_eq!(response.status(), StatusCode::OK, "{content_type:?}");
        assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn response_without_reply_passes_through_untouched() {
    let handler: Handler = Arc::new(|_| {
        let mut r = Response::new(Full::new(Bytes::from_static(b"custom")));
        r.headers_mut().insert("x-custom", "1".parse().unwrap());
        r
    });
    let (response, seen) = send_with(kit().post(&text_message("x")), NOW, handler).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"custom");
    assert_eq!(response.headers()["x-custom"], "1");
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);

    // A Reply on an error response is not sealed either.
    let failing: Handler = Arc::new(|_| {
        let mut r = Response::new(Full::new(Bytes::from_static(b"oops")));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r.extensions_mut().insert(Reply::text("never sent"));
        r
    });
    let (response, _) = send_with(kit().post(&text_message("x")), NOW, failing).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.body().as_ref(), b"oops");
}

#[tokio::test]
async fn other_paths_pass_through_untouched() {
    let request = Request::post("/health?x=1")
        .body(Full::new(Bytes::from_static(b"raw body")))
        .unwrap();
    let (response, seen) = send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let (message, context, body, path) = seen.last.lock().unwrap().clone().unwrap();
    assert!(message.is_none() && context.is_none());
    assert_eq!(body.as_ref(), b"raw body");
    assert_eq!(path, "/health");
    // A GET or PUT elsewhere is not answered by the layer.
    let (response, seen) = send(Request::put("/other").body(Full::default()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn envelope_agent_id_is_not_trusted() {
    // S#35: the envelope's AgentID is unsigned; the context reports the
    // decrypted message's.
    let encrypt = crypt()
        .encrypt_with_prefix(text_message("x").as_bytes(), [1; 16])
        .unwrap();
    let (ts, nonce) = (NOW.to_string(), "5");
    let sig = crypt().signature(&ts, nonce, &encrypt);
    let body = format!(
        "<xml><ToUserName>evil</ToUserName><AgentID>999</AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    let (response, seen) =
        send(kit().request(Method::POST, &sig, &ts, nonce, None, Bytes::from(body))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, context, _, _) = seen.last.lock().unwrap().clone().unwrap();
    assert_eq!(context.unwrap().agent_id, Some(1));
}

// ---- method, query, window -----------------------------------------------

#[tokio::test]
async fn other_methods_get_405() {
    for method in [Method::PUT, Method::DELETE, Method::PATCH, Method::HEAD] {
        let request = Request::builder()
            .method(method.clone())
            .uri(PATH)
            .body(Full::default())
            .unwrap();
        let (response, seen) = send(request).await;
        assert_rejected(
            &response,
            &seen,
            StatusCode::METHOD_NOT_ALLOWED,
            RejectionKind::MethodNotAllowed,
        );
        assert_eq!(response.headers()[header::ALLOW], "GET, POST", "{method}");
    }
}

#[tokio::test]
async fn malformed_queries_get_400() {
    use RejectionKind::*;
    let good = kit().post(&text_message("x"));
    let query = good.uri().query().unwrap().to_owned();
    let param = |name: &str| -> String {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (sig, ts, nonce) = (param("msg_signature"), param("timestamp"), param("nonce"));
    let body = String::from_utf8(body_bytes(good.into_body()).await.to_vec()).unwrap();
    let mut sig_last = sig.clone();
    sig_last.pop();
    let cases: Vec<(String, RejectionKind)> = vec![
        (
            format!("timestamp={ts}&nonce={nonce}"),
            MissingParameter("msg_signature"),
        ), // S#2
        (
            format!("msg_signature={sig}&nonce={nonce}"),
            MissingParameter("timestamp"),
        ),
        (
            format!("msg_signature={sig}&timestamp={ts}"),
            MissingParameter("nonce"),
        ),
        (
            format!("msg_signature={sig_last}&timestamp={ts}&nonce={nonce}"),
            InvalidParameter("msg_signature"),
        ), // S#3
        (
            format!("msg_signature={sig}0&timestamp={ts}&nonce={nonce}"),
            InvalidParameter("msg_signature"),
        ),
        (
            format!(
                "msg_signature={}&timestamp={ts}&nonce={nonce}",
                sig.to_uppercase()
            ),
            InvalidParameter("msg_signature"),
        ), // S#4
        (
            format!("msg_signature=&timestamp={ts}&nonce={nonce}"),
            InvalidParameter("msg_signature"),
        ), // S#5
        (
            format!("msg_signature={sig}&timestamp={ts}&timestamp={ts}&nonce={nonce}"),
            DuplicateParameter("timestamp"),
        ), // S#7
        (
            format!("msg_signature={sig}&timestamp=%2B{ts}&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ), // S#8
        (
            format!("msg_signature={sig}&timestamp=%20{ts}&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ),
        (
            format!("msg_signature={sig}&timestamp={ts}a&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ),
        (
            format!("msg_signature={sig}&timestamp=-1&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ),
        (
            format!("msg_signature={sig}&timestamp=0x1&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ),
        (
            format!("msg_signature={sig}&timestamp=&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ),
        (
            format!("msg_signature={sig}&timestamp=12345678901234567890&nonce={nonce}"),
            InvalidParameter("timestamp"),
        ), // S#9
        (
            format!("msg_signature={sig}&timestamp={ts}{nonce}&nonce="),
            InvalidParameter("timestamp"),
        ), // S#12/13
        (
            format!("msg_signature={sig}&timestamp={ts}&nonce="),
            InvalidParameter("nonce"),
        ), // S#13
        (
            format!(
                "msg_signature={sig}&timestamp={ts}&nonce={}",
                "1".repeat(10 * 1024)
            ),
            InvalidParameter("nonce"),
        ), // S#14
    ];
    for (query, kind) in cases {
        let (response, seen) = send(raw_post(&query, &body)).await;
        assert_rejected(&response, &seen, StatusCode::BAD_REQUEST, kind);
    }
}

#[tokio::test]
async fn signature_with_one_digit_changed_gets_403() {
    // S#6
    let good = kit().post(&text_message("x"));
    let uri = good.uri().to_string();
    let at = uri.find("msg_signature=").unwrap() + "msg_signature=".len() + 39;
    let mut forged = uri.clone();
    let last = if &uri[at..=at] == "0" { "1" } else { "0" };
    forged.replace_range(at..=at, last);
    let body = good.into_body();
    let (response, seen) = send(Request::post(forged).body(body).unwrap()).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::FORBIDDEN,
        RejectionKind::Crypto(CryptoErrorKind::ValidateSignature),
    );
}

#[tokio::test]
async fn timestamp_window_is_two_sided() {
    // S#10, S#11
    for (now, accepted) in [
        (NOW + 300, true),
        (NOW - 300, true),
        (NOW + 301, false),
        (NOW - 301, false),
    ] {
        let (response, seen) = send_with(kit().post(&text_message("w")), now, empty_ok()).await;
        if accepted {
            assert_eq!(response.status(), StatusCode::OK, "now {now}");
            assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
        } else {
            assert_rejected(
                &response,
                &seen,
                StatusCode::FORBIDDEN,
                RejectionKind::StaleTimestamp,
            );
        }
    }
}

// ---- body size --------------------------------------------------------------

/// A body that fails the test if it is ever polled.
struct Untouchable;

impl Body for Untouchable {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        panic!("the body must not be read");
    }
}

/// A chunked body of `chunks` × 64 KiB, no size hint, counting what is read.
struct Chunked {
    left: usize,
    read: Arc<AtomicUsize>,
}

impl Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        self.read.fetch_add(64 * 1024, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'a'; 64 * 1024])))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    // S#15: Content-Length over the limit: 413 without polling the body.
    let query = kit().post("x").uri().query().unwrap().to_owned();
    let request = Request::post(format!("{PATH}?{query}"))
        .header(header::CONTENT_LENGTH, "10485760")
        .body(Untouchable)
        .unwrap();
    let (response, seen) = send_with(request, NOW, empty_ok()).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::PAYLOAD_TOO_LARGE,
        RejectionKind::PayloadTooLarge,
    );

    // S#16: chunked 10 MiB without Content-Length: stops after the limit.
    let read = Arc::new(AtomicUsize::new(0));
    let request = Request::post(format!("{PATH}?{query}"))
        .body(Chunked {
            left: 160,
            read: Arc::clone(&read),
        })
        .unwrap();
    let (response, seen) = send_with(request, NOW, empty_ok()).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::PAYLOAD_TOO_LARGE,
        RejectionKind::PayloadTooLarge,
    );
    assert!(
        read.load(Ordering::SeqCst) <= 2 * 64 * 1024,
        "read {} bytes",
        read.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn compressed_bodies_are_refused() {
    // S#41
    let mut request = kit().post(&text_message("x"));
    request
        .headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let (response, seen) = send(request).await;
    assert_rejected(
        &response,
        &seen,
        StatusCode::BAD_REQUEST,
        RejectionKind::UnreadableBody,
    );
}

// ---- envelope -------------------------------------------------------------

#[tokio::test]
async fn malformed_envelopes_get_400() {
    let query = kit().post("x").uri().query().unwrap().to_owned();
    let laughs = {
        let mut dtd = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
        for i in 1..10 {
            dtd.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1)
                    .repeat(10)
                    .replace("&lol0;", "&lol;")
            ));
        }
        dtd.push_str("]><xml><Encrypt>&lol9;</Encrypt></xml>");
        dtd
    };
    let deep = format!("<xml><Encrypt>abc</Encrypt>{}</xml>", "<a>".repeat(200_000));
    let attrs = format!(
        "<xml {}><Encrypt>abc</Encrypt></xml>",
        (0..100_000)
            .map(|i| format!("a{i}=\"1\""))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let bodies = [
        String::new(),                                                                        // S#17
        "hello".into(),
        "{\"encrypt\":\"abc\"}".into(),
        "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Encrypt>&xxe;</Encrypt></xml>".into(), // S#18
        laughs,                                                                               // S#19
        "<!DOCTYPE x><xml><Encrypt>abc</Encrypt></xml>".into(),                               // S#20
        "<xml><Encrypt>&foo;</Encrypt></xml>".into(),                                         // S#21
        "<xml><Encrypt>a&amp;b</Encrypt></xml>".into(),
        deep,                                                                                 // S#22
        "<xml><ToUserName>a</ToUserName></xml>".into(),                                       // S#24
        "<xml><Encrypt>abc</Encrypt><Encrypt>abc</Encrypt></xml>".into(),
        "<xml><encrypt>abc</encrypt></xml>".into(),
        "<foo><Encrypt>abc</Encrypt></foo>".into(),                                           // S#25
        "<xml><Encrypt>abc</Encrypt></xml><xml><Encrypt>abc</Encrypt></xml>".into(),
        "<xml><Encrypt>abc</Encrypt></xml>junk".into(),
        "<xml><Encrypt><a>x</a></Encrypt></xml>".into(),                                      // S#26
        "<xml><Encrypt>!!!!</Encrypt></xml>".into(), // S#27: refused before the signature (not base64 text)
    ];
    for body in bodies {
        let started = std::time::Instant::now();
        let (response, seen) = send_big(raw_post(&query, &body)).await;
        assert_rejected(
            &response,
            &seen,
            StatusCode::BAD_REQUEST,
            RejectionKind::MalformedEnvelope,
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    // S#23: 100 000 attributes on the root: parsed, then 403 at the signature.
    let (response, seen) = send_big(raw_post(&query, &attrs)).await;
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    assert!(matches!(
        response.status(),
        StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN
    ));
}

// ---- after the signature --------------------------------------------------

/// Seals arbitrary frame bytes with the sample key, bypassing our encoder's
/// padding, to build malformed-but-signed ciphertexts.
fn raw_ciphertext(plain_padded: &[u8]) -> String {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit, array::Array};
    use base64::Engine;
    let key = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
    .decode(KEY)
    .unwrap();
    let mut buf = plain_padded.to_vec();
    let mut enc = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &key[..16]).unwrap();
    let (blocks, rest) = Array::slice_as_chunks_mut(&mut buf);
    assert!(rest.is_empty());
    enc.encrypt_blocks(blocks);
    base64::engine::general_purpose::STANDARD.encode(buf)
}

fn frame(msg: &[u8], receive_id: &[u8], len_field: Option<u32>) -> Vec<u8> {
    let mut f = vec![b'r'; 16];
    f.extend(len_field.unwrap_or(msg.len() as u32).to_be_bytes());
    f.extend(msg);
    f.extend(receive_id);
    f
}

fn pad32(mut f: Vec<u8>) -> Vec<u8> {
    let p = 32 - f.len() % 32;
    f.extend(std::iter::repeat_n(p as u8, p));
    f
}

#[tokio::test]
async fn signed_but_bad_ciphertexts_get_403_with_one_body() {
    use CryptoErrorKind::*;
    let msg = text_message("x");
    let msg = msg.as_bytes();
    let mut nonuniform = pad32(frame(msg, CORP.as_bytes(), None));
    let n = nonuniform.len();
    nonuniform[n - 2] ^= 1;
    let mut pad0 = pad32(frame(msg, CORP.as_bytes(), None));
    *pad0.last_mut().unwrap() = 0;
    let mut pad33 = pad0.clone();
    *pad33.last_mut().unwrap() = 33;
    let cases: Vec<(String, CryptoErrorKind)> = vec![
        ("abc".into(), DecodeBase64), // S#27 (base64 letters, invalid length); `!!!!` is a 400 above
        ("YWJj".into(), DecryptAes),
        (base64_of(&[0u8; 16]), IllegalBuffer), // S#28 (decodes, but not % 32)
        (base64_of(&[0u8; 48]), IllegalBuffer),
        (base64_of(&[0u8; 15]), DecryptAes),
        (raw_ciphertext(&pad0), IllegalBuffer), // S#29
        (raw_ciphertext(&pad33), IllegalBuffer),
        (raw_ciphertext(&nonuniform), IllegalBuffer),
        (raw_ciphertext(&[32u8; 32]), IllegalBuffer), // S#30
        (
            raw_ciphertext(&pad32(frame(msg, CORP.as_bytes(), Some(u32::MAX)))),
            IllegalBuffer,
        ), // S#31
        (
            raw_ciphertext(&pad32(frame(msg, CORP.as_bytes(), Some(0xFFFF_FFEC)))),
            IllegalBuffer,
        ),
        (
            raw_ciphertext(&pad32(frame(msg, b"wx5823bf96d3bd56c8", None))),
            ValidateReceiveId,
        ), // S#32
        (
            raw_ciphertext(&pad32(frame(msg, b"", None))),
            ValidateReceiveId,
        ),
        (
            raw_ciphertext(&pad32(frame(msg, b"wx5823bf96d3bd56c7\0", None))),
            ValidateReceiveId,
        ),
        (
            raw_ciphertext(&pad32(frame(msg, b"wx5823bf96d3bd56c7 ", None))),
            ValidateReceiveId,
        ),
        (
            raw_ciphertext(&pad32(frame(b"\xff\xfe", CORP.as_bytes(), None))),
            InvalidUtf8,
        ), // S#33
    ];
    let mut bodies = std::collections::HashSet::new();
    for (encrypt, kind) in cases {
        let (response, seen) = send(signed_post(&encrypt)).await;
        assert_rejected(
            &response,
            &seen,
            StatusCode::FORBIDDEN,
            RejectionKind::Crypto(kind),
        );
        bodies.insert(response.body().clone());
    }
    assert_eq!(bodies.len(), 1, "every 403 has the same body");

    // S#34: authentic but not a well-formed message.
    for msg in [
        "<!DOCTYPE x><xml/>",
        &format!("<xml>{}</xml>", "<a>".repeat(10_000)),
        "not xml",
    ] {
        let encrypt = crypt()
            .encrypt_with_prefix(msg.as_bytes(), [2; 16])
            .unwrap();
        let (response, seen) = send(signed_post(&encrypt)).await;
        assert_rejected(
            &response,
            &seen,
            StatusCode::FORBIDDEN,
            RejectionKind::MalformedMessage,
        );
    }
    // Well-formed but missing its typed elements (no header, no Content):
    // authentic, so it reaches the handler as `Other` with the problem
    // (issue 7: a refusal would make WeCom retry a message that can never
    // pass). It used to be the last row of the loop above.
    let msg = "<xml><MsgType>text</MsgType></xml>";
    let encrypt = crypt()
        .encrypt_with_prefix(msg.as_bytes(), [2; 16])
        .unwrap();
    let (response, seen) = send(signed_post(&encrypt)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    let message = seen.last.lock().unwrap().clone().unwrap().0.unwrap();
    assert!(
        matches!(message.kind(), wecom_callback::MessageKind::Other(_)),
        "{message:?}"
    );
    assert_eq!(message.problem().unwrap().element(), Some("ToUserName"));
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn public_xml_decrypt_vectors_pass_through_the_layer() {
    // Every ok decrypt vector with an XML envelope whose plaintext is a
    // WeCom/WeChat XML message goes through the layer with the clock at its
    // timestamp, and the handler receives exactly the expected plaintext.
    let mut passed = 0;
    for file in ["public.json", "generated.json"] {
        let path = format!("{}/tests/data/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for v in doc["vectors"].as_array().unwrap() {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            if v["kind"] != "decrypt" || v["expect"] != "ok" || v["body_format"] != "xml" || s("post_body").is_empty()
                || s("receive_id").is_empty()
                // Only inbound messages: the suite_ticket and reply-shaped
                // plaintexts belong to other callback kinds (tests/kinds.rs).
                // A reply-shaped one (`<Video><MediaId>`, no top-level
                // MediaId) parses with a problem since issue 7: skip it too.
                || Message::parse(&s("expected_plaintext"))
                    .map_or(true, |m| m.info_type().is_some() || m.problem().is_some())
            {
                continue;
            }
            let endpoint =
                Endpoint::wecom_app(&s("token"), &s("encoding_aes_key"), &s("receive_id")).unwrap();
            let now: u64 = s("timestamp").parse().unwrap();
            let layer = WeComCallbackLayer::new(PATH, endpoint)
                .unwrap()
                .clock(FixedClock::from_unix(now));
            let got = Arc::new(std::sync::Mutex::new(Bytes::new()));
            let got2 = Arc::clone(&got);
            let service = ServiceBuilder::new().layer(layer).service(service_fn(
                move |req: Request<CallbackBody<Full<Bytes>>>| {
                    let got = Arc::clone(&got2);
                    async move {
                        *got.lock().unwrap() = req.into_body().collect().await.unwrap().to_bytes();
                        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
                    }
                },
            ));
            let uri = format!(
                "{PATH}?msg_signature={}&timestamp={}&nonce={}",
                s("msg_signature"),
                s("timestamp"),
                s("nonce")
            );
            let request = Request::post(uri)
                .body(Full::new(Bytes::from(s("post_body"))))
                .unwrap();
            let response = service.oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{}", v["id"]);
            assert_eq!(
                got.lock().unwrap().as_ref(),
                s("expected_plaintext").as_bytes(),
                "{}",
                v["id"]
            );
            passed += 1;
        }
    }
    assert_eq!(passed, 7, "XML message vectors that went through the layer");
}

// ---- configuration ----------------------------------------------------------

#[test]
fn bad_configuration_fails_at_construction() {
    use wecom_callback::ConfigErrorKind::*;
    // S#42
    let kind = |r: Result<Endpoint, wecom_callback::ConfigError>| r.unwrap_err().kind();
    assert_eq!(kind(Endpoint::wecom_app("", KEY, CORP)), InvalidToken);
    assert_eq!(
        kind(Endpoint::wecom_app(TOKEN, &KEY[..42], CORP)),
        IllegalAesKey
    );
    assert_eq!(
        kind(Endpoint::wecom_app(TOKEN, &format!("{KEY}A"), CORP)),
        IllegalAesKey
    );
    assert_eq!(
        kind(Endpoint::wecom_app(TOKEN, &KEY.replace('j', "+"), CORP)),
        IllegalAesKey
    );
    assert_eq!(
        kind(Endpoint::wecom_app(TOKEN, &KEY.replace('j', "/"), CORP)),
        IllegalAesKey
    );
    assert_eq!(kind(Endpoint::wecom_app(TOKEN, KEY, "")), InvalidReceiveId);
    assert_eq!(
        WeComCallbackLayer::new("wecom", endpoint())
            .unwrap_err()
            .kind(),
        InvalidPath
    );
    assert_eq!(
        WeComCallbackLayer::new(PATH, endpoint())
            .unwrap()
            .endpoint("x", endpoint())
            .unwrap_err()
            .kind(),
        InvalidPath
    );
    // S#43: the vendor key with its non-canonical last character.
    assert!(Endpoint::wecom_app(TOKEN, KEY, CORP).is_ok());
}

#[test]
fn debug_output_never_shows_secrets() {
    let layer =
        WeComCallbackLayer::new(PATH, Endpoint::wecom_app("SecretTok3n", KEY, CORP).unwrap())
            .unwrap();
    for text in [
        format!("{layer:?}"),
        format!("{:?}", endpoint()),
        format!("{:?}", kit()),
    ] {
        assert!(
            !text.contains("SecretTok3n") && !text.contains(TOKEN) && !text.contains(KEY),
            "{text}"
        );
    }
    assert!(format!("{layer:?}").contains(CORP));
}

#[tokio::test]
async fn several_endpoints_behind_one_layer() {
    let other = Endpoint::wecom_app(
        "OtherToken",
        "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
        "ww1436e0e65a779aee",
    )
    .unwrap();
    let layer = WeComCallbackLayer::new(PATH, endpoint())
        .unwrap()
        .endpoint("/app2", other.clone())
        .unwrap()
        .clock(FixedClock::from_unix(NOW));
    let service = ServiceBuilder::new().layer(layer).service(service_fn(
        |req: Request<CallbackBody<Full<Bytes>>>| async move {
            let ctx = req.extensions().get::<CallbackContext>().cloned().unwrap();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(ctx.receive_id))))
        },
    ));
    let app2 = TestKit::new("/app2", &other).at(NOW);
    let response = service
        .clone()
        .oneshot(app2.post(&TestKit::text_message("ww1436e0e65a779aee", "u", "x")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_bytes(response.into_body()).await.as_ref(),
        b"ww1436e0e65a779aee"
    );
    // A message for app 2 sent to app 1's path does not verify.
    let mut misrouted = app2.post(&TestKit::text_message("ww1436e0e65a779aee", "u", "x"));
    *misrouted.uri_mut() = misrouted
        .uri()
        .to_string()
        .replace("/app2", PATH)
        .parse()
        .unwrap();
    let response = service.oneshot(misrouted).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
