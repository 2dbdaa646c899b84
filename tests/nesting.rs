//! The layer where axum puts it: `route_layer` on the callback route,
//! under `Router::nest`, on `/wecom/{app}` serving two apps, and around a
//! plain Tower service; the test kit built from the layer or the endpoint;
//! and what the extractors say when the layer did not hand a request over.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use common::body_bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt};
use wecom_callback::layer::handler_fn;
use wecom_callback::testing::{OpenReplyError, TestKit};
use wecom_callback::{
    BotMessage, CallbackContext, CryptoErrorKind, Endpoint, Message, MissingLayer, RejectionKind,
    Reply, WeComCallbackLayer,
};

const CORP: &str = "wx5823bf96d3bd56c7";

fn sales() -> Endpoint {
    Endpoint::wecom_app(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        CORP,
    )
    .unwrap()
    .named("sales")
}

fn support() -> Endpoint {
    Endpoint::wecom_app("Tok2", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", CORP)
        .unwrap()
        .named("support")
}

async fn echo(message: Message, context: CallbackContext) -> Reply {
    Reply::text(format!(
        "{}:{}",
        context.app,
        message.field("Content").unwrap_or("-")
    ))
}

fn text(content: &str) -> String {
    TestKit::text_message(CORP, "zhangsan", content)
}

async fn text_of(response: axum::response::Response) -> String {
    String::from_utf8(body_bytes(response.into_body()).await.to_vec()).unwrap()
}

/// The `MissingLayer` diagnosis, which rides in the response extensions;
/// the body the client gets is the fixed text, naming no path (issue 19).
async fn diagnosis_of(response: axum::response::Response) -> String {
    let missing = response
        .extensions()
        .get::<MissingLayer>()
        .expect("a MissingLayer in the response extensions")
        .clone();
    let body = text_of(response).await;
    assert_eq!(body, MissingLayer::BODY);
    assert!(!body.contains('/'), "the body names no path: {body}");
    missing.detail()
}

#[tokio::test]
async fn route_layer_under_nest_serves_the_nested_route() {
    let wecom = Router::new()
        .route("/wecom", post(echo))
        .route_layer(WeComCallbackLayer::for_route(sales()));
    let mut app: Router = Router::new()
        .nest("/hooks", wecom)
        .route("/health", get(|| async { "ok" }));
    let kit = TestKit::for_route(&sales()).path("/hooks/wecom");

    let reply = kit.send(&mut app, kit.post(&text("hi"))).await.unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales:hi"));

    // GET is answered by the layer: route_layer also wraps the GET method
    // router's "405" for a route with only `post`.
    let echoed = kit.send(&mut app, kit.verify_url("42")).await.unwrap();
    assert_eq!(echoed.text(), Some("42"));

    // Other routes are not the layer's business.
    let response = app
        .clone()
        .oneshot(Request::get("/health").body(Full::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text_of(response).await, "ok");

    // A forged request is refused with the layer's reason.
    let mut forged = kit.post(&text("x"));
    *forged.uri_mut() = forged
        .uri()
        .to_string()
        .replace("nonce=", "nonce=1")
        .parse()
        .unwrap();
    let error = kit.send(&mut app, forged).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(
        error.rejection().map(|r| r.kind()),
        Some(RejectionKind::Crypto(CryptoErrorKind::ValidateSignature))
    );
}

#[tokio::test]
async fn a_path_bound_layer_inside_a_nested_router_sees_the_stripped_path() {
    let layer = WeComCallbackLayer::new("/wecom", sales()).unwrap();
    let wecom = Router::new().route("/wecom", post(echo)).layer(layer);
    let mut app: Router = Router::new().nest("/hooks", wecom);
    let kit = TestKit::for_route(&sales()).path("/hooks/wecom");
    let reply = kit.send(&mut app, kit.post(&text("nested"))).await.unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales:nested"));
}

#[tokio::test]
async fn two_apps_on_a_path_parameter_are_told_apart_by_signature() {
    let handler = |Path(name): Path<String>, message: Message, context: CallbackContext| async move {
        Reply::text(format!(
            "{name}|{}|{}",
            context.app,
            message.field("Content").unwrap_or("-")
        ))
    };
    let layer = WeComCallbackLayer::for_route(sales()).and_endpoint(support());
    let sales_kit = TestKit::for_layer_app(&layer, "sales")
        .unwrap()
        .path("/wecom/sales");
    let support_kit = TestKit::for_layer_app(&layer, "support")
        .unwrap()
        .path("/wecom/support");
    assert!(TestKit::for_layer_app(&layer, "nobody").is_none());
    let mut app: Router = Router::new()
        .route("/wecom/{app}", post(handler))
        .route_layer(layer);

    let reply = sales_kit
        .send(&mut app, sales_kit.post(&text("a")))
        .await
        .unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales|sales|a"));
    let reply = support_kit
        .send(&mut app, support_kit.post(&text("b")))
        .await
        .unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("support|support|b"));

    // Each app's URL verification works on its own URL.
    let echoed = support_kit
        .send(&mut app, support_kit.verify_url("77"))
        .await
        .unwrap();
    assert_eq!(echoed.text(), Some("77"));

    // The signature decides, not the path: the handler sees both and can
    // compare them.
    let crossed = sales_kit.clone().path("/wecom/support");
    let reply = crossed
        .send(&mut app, crossed.post(&text("c")))
        .await
        .unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("support|sales|c"));

    // A request that no app's Token signs never reaches the handler.
    let stranger = Endpoint::wecom_app(
        "Other1",
        "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg",
        CORP,
    )
    .unwrap();
    let stranger_kit = TestKit::for_route(&stranger).path("/wecom/sales");
    let error = stranger_kit
        .send(&mut app, stranger_kit.post(&text("d")))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
}

#[tokio::test]
async fn route_layer_on_a_plain_router_leaves_other_routes_alone() {
    let layer = WeComCallbackLayer::for_route(sales());
    let kit = TestKit::for_layer(&layer).path("/wecom/callback");
    let mut app: Router = Router::new()
        .route("/wecom/callback", post(echo))
        .route_layer(layer)
        .route("/status", get(|| async { "up" }));
    let reply = kit.send(&mut app, kit.post(&text("hello"))).await.unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales:hello"));

    let response = app
        .clone()
        .oneshot(Request::get("/status").body(Full::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Unknown paths stay 404: route_layer does not wrap the fallback.
    let response = app
        .oneshot(Request::post("/nope").body(Full::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_kit_takes_path_and_endpoint_from_a_path_bound_layer() {
    let layer = WeComCallbackLayer::new("/cb", sales())
        .unwrap()
        .endpoint("/cb2", support())
        .unwrap();
    let kit = TestKit::for_layer(&layer);
    let second = TestKit::for_layer_app(&layer, "support").unwrap();
    let mut app = Router::new()
        .route("/cb", post(echo))
        .route("/cb2", post(echo))
        .layer(layer);
    let reply = kit.send(&mut app, kit.post(&text("1"))).await.unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales:1"));
    let reply = second
        .send(&mut app, second.post(&text("2")))
        .await
        .unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("support:2"));
}

#[tokio::test]
async fn a_plain_tower_service_with_handler_fn() {
    let layer = WeComCallbackLayer::for_route(sales());
    let kit = TestKit::for_layer(&layer);
    let mut service = ServiceBuilder::new().layer(layer).service(handler_fn(
        |message: Message, context: CallbackContext| async move {
            Reply::text(format!("{}/{}", context.app, message.msg_type()))
        },
    ));
    let reply = kit.send(&mut service, kit.post(&text("x"))).await.unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales/text"));
    let click = TestKit::click_event(CORP, "zhangsan", "menu");
    let reply = kit.send(&mut service, kit.post(&click)).await.unwrap();
    assert_eq!(reply.xml().unwrap().content(), Some("sales/event"));

    // A robot callback reaching a `Message` handler: 404, handler not called.
    let bot = Endpoint::wecom_bot("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C").unwrap();
    let bot_layer = WeComCallbackLayer::for_route(bot);
    let bot_kit = TestKit::for_layer(&bot_layer);
    let mut wrong = ServiceBuilder::new()
        .layer(bot_layer.clone())
        .service(handler_fn(|_: Message, _: CallbackContext| async {
            panic!("a Message handler must not be called for the robot")
        }));
    let error = bot_kit
        .send(
            &mut wrong,
            bot_kit.post(&TestKit::bot_text("zhangsan", "hi")),
        )
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));

    // The robot with a `BotMessage` handler.
    let mut right = ServiceBuilder::new().layer(bot_layer).service(handler_fn(
        |message: BotMessage, _: CallbackContext| async move {
            Reply::text(format!("bot:{}", message.text_content().unwrap_or("")))
        },
    ));
    let reply = bot_kit
        .send(
            &mut right,
            bot_kit.post(&TestKit::bot_text("zhangsan", "hi")),
        )
        .await
        .unwrap();
    let json = reply.json().unwrap();
    assert_eq!(json["msgtype"], "text");
    assert_eq!(json["text"]["content"], "bot:hi");
    assert!(matches!(reply.xml(), Err(OpenReplyError::Format(_))));
}

#[tokio::test]
async fn the_extractor_names_the_path_the_layer_saw_and_the_one_it_serves() {
    // The full path given to a layer inside the nested router: it sees the
    // path without the prefix, so it never matches.
    let layer = WeComCallbackLayer::new("/hooks/wecom", sales()).unwrap();
    let wecom = Router::new().route("/wecom", post(echo)).layer(layer);
    let app: Router = Router::new().nest("/hooks", wecom);
    let kit = TestKit::for_route(&sales()).path("/hooks/wecom");
    let response = app.oneshot(kit.post(&text("x"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = diagnosis_of(response).await;
    for needle in [
        "`Message` extractor",
        "saw this request at `/wecom`",
        "serves only `/hooks/wecom`",
        "Router::nest",
        "WeComCallbackLayer::for_route(endpoint)",
        "route_layer",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[tokio::test]
async fn the_extractor_without_any_layer_says_what_to_check() {
    // The layer added before the route: axum does not wrap later routes.
    let app: Router = Router::new()
        .route("/other", post(echo))
        .route_layer(WeComCallbackLayer::for_route(sales()))
        .route("/wecom", post(echo));
    let kit = TestKit::for_route(&sales()).path("/wecom");
    let response = app.oneshot(kit.post(&text("x"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = diagnosis_of(response).await;
    for needle in [
        "did not pass through WeComCallbackLayer",
        "added before them",
        "for_route",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[tokio::test]
async fn the_wrong_message_type_for_the_kind_is_named() {
    let app: Router = Router::new()
        .route("/wecom", post(|_: BotMessage| async { "unreachable" }))
        .route_layer(WeComCallbackLayer::for_route(sales()));
    let kit = TestKit::for_route(&sales()).path("/wecom");
    let response = app.oneshot(kit.post(&text("x"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = diagnosis_of(response).await;
    assert!(
        text.contains("`BotMessage` extractor on a `wecom_app` callback"),
        "{text}"
    );
    assert!(text.contains("Extract `Message`"), "{text}");
}

#[tokio::test]
async fn the_message_moves_to_the_handler_and_a_second_extractor_is_told_so() {
    // One extractor: the handler gets the message the layer parsed (moved
    // out of the extensions, not copied); a middleware before it still
    // reads it by reference.
    async fn peek(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        let seen = request
            .extensions()
            .get::<Message>()
            .map(|m| m.msg_type().to_owned());
        assert_eq!(seen.as_deref(), Some("text"));
        next.run(request).await
    }
    let app: Router = Router::new()
        .route("/wecom", post(echo))
        .route_layer(axum::middleware::from_fn(peek))
        .route_layer(WeComCallbackLayer::for_route(sales()));
    let kit = TestKit::for_route(&sales()).path("/wecom");
    let reply = kit
        .send(&mut app.clone(), kit.post(&text("x")))
        .await
        .unwrap();
    assert!(reply.xml().unwrap().reply.is_some());

    // Two `Message` extractors in one handler: the second finds it gone.
    let app: Router = Router::new()
        .route(
            "/wecom",
            post(|_: Message, _: Message| async { "unreachable" }),
        )
        .route_layer(WeComCallbackLayer::for_route(sales()));
    let response = app.oneshot(kit.post(&text("x"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = diagnosis_of(response).await;
    assert!(
        text.contains("an earlier `Message` extractor of this handler already moved the message"),
        "{text}"
    );
}
