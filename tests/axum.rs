//! The layer inside a real axum `Router`, composed in a `ServiceBuilder` with
//! tower-http's `TraceLayer` and an auth-style middleware, using the
//! extractors and `Reply` as a response and as a response part.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::body_bytes;
use http::StatusCode;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::trace::TraceLayer;
use wecom_callback::testing::TestKit;

use wecom_callback::{
    CallbackContext, Endpoint, Message, MessageKind, Rejection, RejectionKind, Reply,
    WeComCallbackLayer,
};

const PATH: &str = "/wecom/callback";
const CORP: &str = "wx5823bf96d3bd56c7";

fn endpoint() -> Endpoint {
    Endpoint::wecom_app(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        CORP,
    )
    .unwrap()
}

async fn handler(message: Message, context: CallbackContext) -> Reply {
    match message.kind() {
        MessageKind::Text(text) => Reply::text(format!(
            "{}|{}|{:?}",
            text.content, context.receive_id, context.agent_id
        )),
        _ => Reply::text("other"),
    }
}

/// An auth-style middleware: everything but the WeCom callback needs an API key.
async fn require_key(request: Request, next: Next) -> Response {
    let is_callback = [PATH, "/with-parts"].contains(&request.uri().path());
    let has_key = request
        .headers()
        .get("x-api-key")
        .is_some_and(|v| v == "secret");
    if is_callback || has_key {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// The app, plus the rejection kinds an outer middleware observed.
fn make_app() -> (Router, Arc<Mutex<Vec<RejectionKind>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let router = Router::new()
        .route(PATH, post(handler))
        .route(
            "/with-parts",
            post(|_: Message| async { ([("x-custom", "1")], Reply::text("parts")) }),
        )
        .route("/admin", get(|| async { "admin" }))
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .map_response(move |response: Response| {
                    if let Some(rejection) = response.extensions().get::<Rejection>() {
                        seen2.lock().unwrap().push(rejection.kind());
                    }
                    response
                })
                .layer(middleware::from_fn(require_key))
                .layer(
                    WeComCallbackLayer::new(PATH, endpoint())
                        .unwrap()
                        .endpoint("/with-parts", endpoint())
                        .unwrap(),
                ),
        );
    (router, seen)
}

#[tokio::test]
async fn router_serves_get_post_and_other_routes() {
    let kit = TestKit::new(PATH, &endpoint());

    let (app, _) = make_app();
    let response = app
        .oneshot(kit.verify_url("8327158369204478120"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_bytes(response.into_body()).await.as_ref(),
        b"8327158369204478120"
    );

    let (app, seen) = make_app();
    let request = kit.post(&TestKit::text_message(CORP, "lisi", "ping"));
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let reply = Message::parse(&kit.open_reply(response).await.unwrap()).unwrap();
    assert_eq!(
        reply.field("Content"),
        Some(&*format!("ping|{CORP}|Some(1)"))
    );
    assert_eq!(reply.to_user_name(), "lisi");
    assert!(seen.lock().unwrap().is_empty());

    // Reply as a response part keeps the other parts.
    let (app, _) = make_app();
    let parts_kit = TestKit::new("/with-parts", &endpoint());
    let response = app
        .oneshot(parts_kit.post(&TestKit::text_message(CORP, "lisi", "x")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-custom"], "1");
    let reply = Message::parse(&parts_kit.open_reply(response).await.unwrap()).unwrap();
    assert_eq!(reply.field("Content"), Some("parts"));

    // The auth layer still guards the other routes.
    let (app, _) = make_app();
    let response = app
        .oneshot(
            Request::get("/admin")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (app, _) = make_app();
    let request = Request::get("/admin")
        .header("x-api-key", "secret")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn outer_layers_see_the_typed_rejection() {
    let kit = TestKit::new(PATH, &endpoint());
    let mut request = kit.post(&TestKit::text_message(CORP, "lisi", "x"));
    let forged = request.uri().to_string().replace("nonce=", "nonce=9");
    *request.uri_mut() = forged.parse().unwrap();
    let (app, seen) = make_app();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        *seen.lock().unwrap(),
        [RejectionKind::Crypto(
            wecom_callback::CryptoErrorKind::ValidateSignature
        )]
    );
}

#[tokio::test]
async fn extractors_without_the_layer_name_it() {
    let app = Router::new()
        .route("/m", post(|_: Message| async { "unreachable" }))
        .route("/c", post(|_: CallbackContext| async { "unreachable" }));
    for path in ["/m", "/c"] {
        let request = Request::post(path)
            .body(axum::body::Body::from("<xml/>"))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = String::from_utf8(body_bytes(response.into_body()).await.to_vec()).unwrap();
        assert!(text.contains("WeComCallbackLayer"), "{text}");
    }
}

#[tokio::test]
async fn reply_into_response_is_an_empty_200_with_the_reply_inside() {
    let response = Reply::text("hi").into_response();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.extensions().get::<Reply>(),
        Some(&Reply::text("hi"))
    );
    assert!(body_bytes(response.into_body()).await.is_empty());
}

/// What the handler below saw, as text.
async fn describe(message: Message) -> Reply {
    let text = match message.kind() {
        MessageKind::Text(text) => format!("text {}", text.content),
        MessageKind::Image(image) => format!("image {} {}", image.pic_url, image.media_id),
        MessageKind::Location(location) => format!(
            "location {} {} {} {}",
            location.location_x, location.location_y, location.scale, location.label
        ),
        MessageKind::Click(click) => format!("click {}", click.event_key),
        MessageKind::View(view) => format!("view {}", view.event_key),
        MessageKind::EnterAgent(_) => "enter_agent".to_owned(),
        _ => format!(
            "{} {} {} {}",
            message.event().unwrap_or("-"),
            message.field("ChangeType").unwrap_or("-"),
            message.field("UserID").unwrap_or("-"),
            message.from_user_name()
        ),
    };
    Reply::text(format!("{text} agent={:?}", message.agent_id()))
}

#[tokio::test]
async fn the_kit_builders_arrive_as_typed_messages() {
    let layer = WeComCallbackLayer::new(PATH, endpoint()).unwrap();
    let kit = TestKit::for_layer(&layer);
    let mut app = Router::new().route(PATH, post(describe)).layer(layer);
    let cases = [
        (
            TestKit::text_message(CORP, "lisi", "hi"),
            "text hi agent=Some(1)",
        ),
        (
            TestKit::image_message(CORP, "lisi", "https://p.example/1.png", "MEDIA_9"),
            "image https://p.example/1.png MEDIA_9 agent=Some(1)",
        ),
        (
            TestKit::location_message(CORP, "lisi", 23.134521, 113.358803, 20, "广州"),
            "location 23.134521 113.358803 20 广州 agent=Some(1)",
        ),
        (
            TestKit::click_event(CORP, "lisi", "menu_1"),
            "click menu_1 agent=Some(1)",
        ),
        (
            TestKit::view_event(CORP, "lisi", "https://menu.example/a"),
            "view https://menu.example/a agent=Some(1)",
        ),
        (
            TestKit::enter_agent(CORP, "lisi"),
            "enter_agent agent=Some(1)",
        ),
        (
            TestKit::change_contact(CORP, "update_user", "zhangsan"),
            "change_contact update_user zhangsan sys agent=None",
        ),
    ];
    for (message, expected) in cases {
        let reply = kit.send(&mut app, kit.post(&message)).await.unwrap();
        let reply = reply.xml().unwrap();
        assert_eq!(reply.content(), Some(expected), "{message}");
        assert_eq!(reply.msg_type, "text");
        assert_eq!(reply.from_user_name, CORP);
    }
}

#[tokio::test]
async fn replies_open_as_typed_values() {
    use wecom_callback::Article;

    let news = Reply::news([
        Article::new("One")
            .description("first")
            .url("https://example.com/1")
            .pic_url("https://example.com/1.png"),
        Article::new("Two"),
    ])
    .unwrap();
    let video = Reply::video("VIDEO_1").title("Demo").description("2 min");
    let replies = [
        Reply::text("plain <&> ]]> text"),
        Reply::image("IMG_1"),
        Reply::voice("VOICE_1"),
        video.clone(),
        news.clone(),
    ];
    for expected in replies {
        let layer = WeComCallbackLayer::new(PATH, endpoint()).unwrap();
        let kit = TestKit::for_layer(&layer);
        let answer = expected.clone();
        let mut app = Router::new()
            .route(PATH, post(move || async move { answer }))
            .layer(layer);
        let opened = kit
            .send(
                &mut app,
                kit.post(&TestKit::text_message(CORP, "lisi", "x")),
            )
            .await
            .unwrap();
        let reply = opened.xml().unwrap();
        assert_eq!(reply.reply.as_ref(), Some(&expected));
        assert_eq!(reply.msg_type, expected.msg_type());
        assert_eq!(reply.to_user_name, "lisi");
        match expected.msg_type() {
            "image" => assert_eq!(reply.media_id(), Some("IMG_1")),
            "voice" => assert_eq!(reply.media_id(), Some("VOICE_1")),
            "video" => assert_eq!(reply.media_id(), Some("VIDEO_1")),
            "news" => {
                assert_eq!(reply.articles().len(), 2);
                assert_eq!(
                    reply.articles()[0].url.as_deref(),
                    Some("https://example.com/1")
                );
            }
            _ => assert_eq!(reply.content(), Some("plain <&> ]]> text")),
        }
        assert!(opened.json().is_err());
    }
}

#[tokio::test]
async fn send_reports_the_rejection_and_acks() {
    let layer = WeComCallbackLayer::new(PATH, endpoint()).unwrap();
    let kit = TestKit::for_layer(&layer);
    let mut app = Router::new()
        .route(PATH, post(|| async { Reply::ack() }))
        .layer(layer);
    let opened = kit
        .send(
            &mut app,
            kit.post(&TestKit::text_message(CORP, "lisi", "x")),
        )
        .await
        .unwrap();
    assert!(opened.is_ack());
    assert!(matches!(
        opened.xml(),
        Err(wecom_callback::testing::OpenReplyError::Empty)
    ));

    let stale = kit.clone().at(1_000_000_000);
    let error = stale
        .send(
            &mut app,
            stale.post(&TestKit::text_message(CORP, "lisi", "x")),
        )
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        error.rejection().map(|r| r.kind()),
        Some(RejectionKind::StaleTimestamp)
    );
    assert_eq!(
        error.to_string(),
        "the layer answered 403 Forbidden: timestamp outside the accepted window"
    );
}
