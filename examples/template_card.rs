//! The template-card flow of a WeCom self-built app: a member taps a button
//! of a template card, WeCom sends `template_card_event` with the card's
//! `TaskId` and a `ResponseCode`, and the passive reply replaces the card
//! for that member. It runs until Ctrl-C.
//!
//! ```text
//! cargo run --example template_card
//! ```
//!
//! Settings (environment variables): `WECOM_BIND` (default
//! `127.0.0.1:3004`; the path is `/wecom/callback`), `WECOM_TOKEN`,
//! `WECOM_ENCODING_AES_KEY`, `WECOM_CORP_ID` (defaults: the WeCom doc
//! 加解密方案说明 sample values).
//!
//! The card itself is sent with the 发送应用消息 API (`msgtype`
//! `template_card`), e.g. a `button_interaction` card with `task_id`
//! `leave-42` and buttons `approve` / `reject`. Then:
//!
//! * `template_card_event` (a button): the whole card is replaced by one
//!   saying who decided, with the buttons turned into the decision
//!   (`update_template_card`, built with the typed `TemplateCard` builder
//!   for a `button_interaction` card, as raw JSON for the other kinds); the `ResponseCode` is logged: the
//!   更新模版卡片消息 API could use it once, within 72 hours, to update the
//!   card later;
//! * `template_card_menu_event` (the card's menu): the button text changes
//!   (`update_button`);
//! * `taskcard_click` (a legacy task card): `update_taskcard`;
//! * anything else: the echo example's convention (`echo:text:<Content>`,
//!   `echo:event:<Event>`, `echo:<MsgType>`).

use axum::Router;
use axum::routing::post;
use serde_json::json;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::message::{MessageKind, TemplateCard, TemplateCardEvent};
use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};

const PATH: &str = "/wecom/callback";

/// The card that replaces the tapped one: same task, the decision shown. A
/// `button_interaction` card is built with the typed builder
/// (`TemplateCard`); another kind with the raw JSON form, the escape hatch
/// for any field.
fn decided_card(event: &TemplateCardEvent, member: &str) -> Reply {
    let decision = match event.event_key.as_str() {
        "approve" => "Approved 已同意",
        "reject" => "Rejected 已驳回",
        other => other,
    };
    match event.card_type.as_deref() {
        None | Some("button_interaction") => Reply::update_card(
            TemplateCard::button_interaction(&event.task_id)
                .main_title(format!("{decision} by {member}"), "")
                .sub_title_text(format!("task {}", event.task_id))
                .styled_button(decision, "done", 4)
                .replace_text(decision),
        ),
        Some(card_type) => {
            let card = json!({
                "card_type": card_type,
                "main_title": {"title": format!("{decision} by {member}")},
                "replace_text": decision,
                "task_id": event.task_id,
            });
            Reply::update_template_card(card).unwrap_or_else(|error| {
                tracing::warn!(%error, "card refused");
                Reply::ack()
            })
        }
    }
}

async fn callback(message: Message) -> Reply {
    match message.kind() {
        MessageKind::TemplateCardEvent(event) => {
            tracing::info!(
                task_id = %event.task_id,
                key = %event.event_key,
                response_code = ?event.response_code,
                selected = event.selected_items.len(),
                "template card button"
            );
            decided_card(event, message.from_user_name())
        }
        MessageKind::TemplateCardMenuEvent(menu) => {
            tracing::info!(task_id = %menu.task_id, key = %menu.event_key, "template card menu");
            Reply::update_button(format!("chosen: {}", menu.event_key))
        }
        MessageKind::TaskcardClick(click) => {
            tracing::info!(task_id = %click.task_id, key = %click.event_key, "task card button");
            Reply::update_taskcard("Done")
        }
        MessageKind::Text(text) => Reply::text(format!("echo:text:{}", text.content)),
        _ => match message.event() {
            Some(event) => Reply::text(format!("echo:event:{event}")),
            None => Reply::text(format!("echo:{}", message.msg_type())),
        },
    }
}

async fn run() -> Result<(), String> {
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3004");
    let endpoint = Endpoint::wecom_app(
        &serve::setting("WECOM_TOKEN", "QDG6eK"),
        &serve::setting(
            "WECOM_ENCODING_AES_KEY",
            "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        ),
        &serve::setting("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
    )
    .map_err(|e| format!("bad settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;
    let app = Router::new().route(PATH, post(callback)).layer(layer);
    serve::listen_and_serve(&bind, "wecom-callback template cards", PATH, app).await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("template_card", run().await);
}
