//! Handlers that return the crate's errors (issue 22, point 5): `Result<Reply,
//! NewsError>` and friends are axum handlers; the error answers 500 with a
//! fixed body, and the layer lets WeCom's retry run the handler again. Also
//! the infallible news constructors and the typed template cards, sealed
//! through the layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::post;
use http::StatusCode;
use tower::ServiceExt;
use wecom_callback::message::{Article, CardError, NewsError, TemplateCard};
use wecom_callback::testing::{OpenReplyError, TestKit};
use wecom_callback::{
    BotMessage, Endpoint, Message, MessageError, MessageKind, Reply, WeComCallbackLayer,
};

const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const PATH: &str = "/wecom/callback";
const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc";

/// One article per word of the text; none for an empty text (an error).
async fn news(message: Message) -> Result<Reply, NewsError> {
    let MessageKind::Text(text) = message.kind() else {
        return Ok(Reply::news_one(Article::new("not a text 不是文本")));
    };
    let articles = text
        .content
        .split_whitespace()
        .filter(|word| *word != "empty")
        .map(Article::new);
    Reply::news(articles)
}

/// `?` on a `MessageError` (parsing an embedded payload) and a `CardError`.
async fn parses(message: Message) -> Result<Reply, MessageError> {
    let MessageKind::Text(text) = message.kind() else {
        return Ok(Reply::ack());
    };
    let inner = Message::parse(&text.content)?;
    Ok(Reply::text(format!("inner {}", inner.msg_type())))
}

async fn raw_card(_message: Message) -> Result<Reply, CardError> {
    let reply = Reply::update_template_card(serde_json::json!({"no_card_type": 1}))?;
    Ok(reply)
}

fn app(handler: axum::routing::MethodRouter) -> Router {
    let endpoint = Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap();
    Router::new()
        .route(PATH, handler)
        .layer(WeComCallbackLayer::new(PATH, endpoint).unwrap())
}

fn kit() -> TestKit {
    TestKit::new(PATH, &Endpoint::wecom_app(TOKEN, KEY, CORP).unwrap())
}

#[tokio::test]
async fn a_result_with_news_error_is_a_handler() {
    let mut app = app(post(news));
    let kit = kit();
    let ok = TestKit::text_message(CORP, "zhangsan", MIXED);
    let reply = kit
        .send(&mut app, kit.post(&ok))
        .await
        .unwrap()
        .xml()
        .unwrap();
    let titles: Vec<&str> = reply.articles().iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles, MIXED.split_whitespace().collect::<Vec<_>>());

    let one = TestKit::click_event(CORP, "zhangsan", "menu");
    let reply = kit
        .send(&mut app, kit.post(&one))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(reply.articles().len(), 1);
    assert_eq!(reply.articles()[0].title, "not a text 不是文本");

    // Nine words: the NewsError answers 500 with the fixed body.
    let nine = TestKit::text_message(CORP, "zhangsan", "一 two 三 four 五 six 七 eight 九");
    let response = app.clone().oneshot(kit.post(&nine)).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = common::body_bytes(response.into_body()).await;
    assert_eq!(&body[..], b"internal error");
}

#[tokio::test]
async fn each_error_answers_500_with_a_fixed_body() {
    let news_error = Reply::news(Vec::new()).unwrap_err();
    let card_error = Reply::template_card(serde_json::json!([])).unwrap_err();
    let message_error = Message::parse("<xml><MsgType>text").unwrap_err();
    let responses = [
        news_error.into_response(),
        card_error.into_response(),
        message_error.into_response(),
    ];
    for response in responses {
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        let body = common::body_bytes(response.into_body()).await;
        assert_eq!(&body[..], b"internal error");
    }
}

#[tokio::test]
async fn a_failed_handler_runs_again_on_the_retry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let mut app = app(post(move |message: Message| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            parses(message).await
        }
    }));
    let kit = kit();
    // Not XML inside: MessageError, 500, not recorded; the retry runs again.
    let message = TestKit::text_message(CORP, "zhangsan", MIXED);
    let request = kit.post(&message);
    let (parts, body) = request.into_parts();
    let retry = http::Request::from_parts(parts.clone(), body.clone());
    let first = kit
        .send(&mut app, http::Request::from_parts(parts, body))
        .await;
    // The claim is released off the request path; WeCom retries seconds later.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = kit.send(&mut app, retry).await;
    for result in [first, second] {
        assert!(
            matches!(
                result,
                Err(OpenReplyError::Rejected {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    rejection: None,
                    ..
                })
            ),
            "{result:?}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // A payload that parses: the handler's reply.
    let inner = TestKit::text_message(CORP, "lisi", "内层 inner");
    let outer = TestKit::text_message(CORP, "zhangsan", &inner);
    let reply = kit
        .send(&mut app, kit.post(&outer))
        .await
        .unwrap()
        .xml()
        .unwrap();
    assert_eq!(reply.content(), Some("inner text"));

    let mut app = self::app(post(raw_card));
    let error = kit.send(&mut app, kit.post(&message)).await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
}

/// A typed `button_interaction` update through a WeCom app (XML) and a typed
/// card through the robot (JSON), with mixed Chinese/ASCII text.
#[tokio::test]
async fn typed_cards_are_sealed_for_app_and_robot() {
    let card = || {
        TemplateCard::button_interaction("task_1")
            .main_title(MIXED, "审批 approval")
            .button("同意 yes", "yes")
            .replace_text("已处理 done")
    };
    let mut app = app(post(move |_m: Message| async move {
        Reply::update_card(card())
    }));
    let kit = kit();
    let event = TestKit::event_message(
        CORP,
        "zhangsan",
        "template_card_event",
        &[("EventKey", "yes"), ("TaskId", "task_1"), ("AgentID", "1")],
    );
    let opened = kit.send(&mut app, kit.post(&event)).await.unwrap();
    let xml = opened.text().unwrap();
    assert!(
        xml.contains("<MsgType><![CDATA[update_template_card]]></MsgType>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<Title><![CDATA[{MIXED}]]></Title>")),
        "{xml}"
    );
    assert!(
        xml.contains("<ReplaceText><![CDATA[已处理 done]]></ReplaceText>"),
        "{xml}"
    );

    let bot = Endpoint::wecom_bot(TOKEN, KEY).unwrap();
    let bot_kit = TestKit::new(PATH, &bot);
    let mut bot_app = Router::new()
        .route(
            PATH,
            post(|_m: BotMessage| async {
                Reply::card(
                    TemplateCard::text_notice()
                        .main_title(MIXED, "")
                        .card_action_url("https://example.com/卡片"),
                )
            }),
        )
        .layer(WeComCallbackLayer::new(PATH, bot).unwrap());
    let json = bot_kit
        .send(
            &mut bot_app,
            bot_kit.post(&TestKit::bot_text("zhangsan", MIXED)),
        )
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(json["msgtype"], "template_card");
    assert_eq!(json["template_card"]["card_type"], "text_notice");
    assert_eq!(json["template_card"]["main_title"]["title"], MIXED);
}
