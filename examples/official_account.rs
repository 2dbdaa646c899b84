//! A WeChat Official Account (公众号/服务号) server in any of its three
//! message modes, chosen by `WECHAT_MODE`. It runs until Ctrl-C.
//!
//! ```text
//! WECHAT_MODE=safe WECHAT_APPID=wx2c2769f8efd9abc2 cargo run --example official_account
//! ```
//!
//! Settings (environment variables):
//!
//! * `WECHAT_MODE`: `plain` (明文模式: only the query `signature` is checked,
//!   **the body is not authenticated**), `compat` (兼容模式) or `safe`
//!   (安全模式, the default);
//! * `WECHAT_BIND` (default `127.0.0.1:3002`); the path is `/wechat`;
//! * `WECHAT_TOKEN`, `WECHAT_ENCODING_AES_KEY` (defaults: the values of the
//!   WeChat crypto demo), `WECHAT_APPID` (required).
//!
//! Replies, with the echo example's convention where nothing better fits:
//! `echo:text:<Content>` for text, a welcome naming the QR scene for
//! `subscribe`, `echo:event:<Event>` for other events, `echo:<MsgType>`
//! otherwise; a text `music` gets a music reply and `kf` is handed to
//! customer service (客服), to show the account's own replies. Events that
//! need no answer get the account's acknowledgement (`success`).

use axum::Router;
use axum::routing::post;
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::message::{MessageKind, Music};
use wecom_callback::{Endpoint, Message, Reply, WeComCallbackLayer};

const PATH: &str = "/wechat";

async fn account(message: Message) -> Reply {
    tracing::info!(
        msg_type = message.msg_type(),
        event = message.event(),
        from = message.from_user_name(),
        problem = ?message.problem(),
        "message"
    );
    match message.kind() {
        MessageKind::Text(text) if text.content.trim() == "music" => Reply::music(
            Music::new("THUMB_MEDIA_ID")
                .title("wecom-callback")
                .description("a music reply")
                .music_url("https://example.com/song.mp3"),
        ),
        MessageKind::Text(text) if text.content.trim() == "kf" => {
            Reply::transfer_customer_service()
        }
        MessageKind::Text(text) => Reply::text(format!("echo:text:{}", text.content)),
        MessageKind::Subscribe(subscribe) => match subscribe.qr_scene() {
            Some(scene) => Reply::text(format!("welcome (scene {scene})")),
            None => Reply::text("welcome"),
        },
        MessageKind::Unsubscribe(_)
        | MessageKind::TemplateSendJobFinish(_)
        | MessageKind::MassSendJobFinish(_)
        | MessageKind::LocationReport(_) => Reply::ack(),
        _ => match message.event() {
            Some(event) => Reply::text(format!("echo:event:{event}")),
            None => Reply::text(format!("echo:{}", message.msg_type())),
        },
    }
}

fn endpoint() -> Result<Endpoint, String> {
    let mode = serve::setting("WECHAT_MODE", "safe");
    let token = serve::setting("WECHAT_TOKEN", "spamtest");
    let key = serve::setting(
        "WECHAT_ENCODING_AES_KEY",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    );
    let appid = serve::required("WECHAT_APPID")?;
    let built = match mode.as_str() {
        "plain" => Endpoint::official_account_plain(&token, &appid),
        "compat" => Endpoint::official_account_compat(&token, &key, &appid),
        "safe" => Endpoint::official_account_safe(&token, &key, &appid),
        other => {
            return Err(format!(
                "unknown WECHAT_MODE `{other}` (plain, compat, safe)"
            ));
        }
    };
    built.map_err(|e| format!("bad {mode} settings: {e}"))
}

async fn run() -> Result<(), String> {
    let bind = serve::setting("WECHAT_BIND", "127.0.0.1:3002");
    let endpoint = endpoint()?;
    let kind = endpoint.kind();
    let layer = WeComCallbackLayer::new(PATH, endpoint).map_err(|e| e.to_string())?;
    let app = Router::new().route(PATH, post(account)).layer(layer);
    serve::listen_and_serve(
        &bind,
        &format!("wecom-callback official account ({kind})"),
        PATH,
        app,
    )
    .await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("official_account", run().await);
}
