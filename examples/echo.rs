//! The echo server: a real axum server with `WeComCallbackLayer`, on the
//! vendor's sample credentials unless told otherwise. It runs until Ctrl-C.
//!
//! ```text
//! cargo run --example echo
//! ```
//!
//! Settings (environment variables):
//!
//! * `WECOM_BIND` (default `127.0.0.1:3000`); the callback path is
//!   `/wecom/callback`;
//! * `WECOM_KIND`: `wecom_app` (default), `wecom_suite`, `wecom_suite_data`,
//!   `wecom_bot`, `official_account_plain`, `official_account_compat`,
//!   `official_account_safe`, `open_platform`;
//! * `WECOM_TOKEN`, `WECOM_ENCODING_AES_KEY` (defaults: the WeCom doc
//!   加解密方案说明 sample values);
//! * the receive id: `WECOM_CORP_ID` for `wecom_app` (default
//!   `wx5823bf96d3bd56c7`), `WECOM_RECEIVE_ID` for the others (the suite id,
//!   the provider's corp id for `wecom_suite_data`, the appid, the component
//!   appid; unused by `wecom_bot`, whose receive id is empty);
//! * `WECOM_AUTHORIZED_CORP_IDS` (`wecom_suite_data`): comma-separated corp
//!   ids whose data callbacks are accepted;
//! * `REDIS_URL` (needs the `redis` feature:
//!   `cargo run --features redis --example echo`): deduplicate through this
//!   Redis (`RedisDedupStore`) and save tickets there (`RedisTicketStore`),
//!   so that several echo processes on several ports behave as one service.
//!   Unset: an in-memory dedup store and ticket store per process. Redis
//!   may be down at start: the echo serves anyway and connects when it can;
//! * `REDIS_TIMEOUT_MS` (default 500): the bound on each Redis call;
//! * `WECOM_ON_STORE_FAILURE`: `process` (default: handle the callback
//!   anyway, at least once, with a warning) or `unavailable` (answer 503 so
//!   that the platform retries) when the dedup store fails.
//!
//! It answers GET URL verification, and every accepted POST with its echo
//! where the kind carries passive replies: `echo:text:<Content>` for text,
//! `echo:event:<Event>` for events, `echo:<MsgType>` otherwise (the robot:
//! the same texts as its JSON text reply). Suite instruction callbacks and
//! Open Platform pushes get the kind's acknowledgement (`success`).
//!
//! `suite_ticket` and `component_verify_ticket` pushes are saved to the
//! ticket store, newest wins, with an `info` line ("ticket saved", or
//! "ticket ignored" when a ticket issued at the same time or later is
//! stored); when the ticket store fails, the push gets 503 so that it is
//! delivered again.
//!
//! It logs one `info` line per handler call ("callback accepted", with
//! `from=`, `msg_type=`, `msg_id=`, `kind=` and `app=`), each rejection once
//! (the layer's `warn` line "callback rejected", with its reason and hint;
//! `RUST_LOG` tunes the log), and closes connections that
//! do not send a request head within 10 s or sit idle for 10 s; bodies that
//! take more than 5 s get 408.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use tracing::Span;
/// jemalloc returns freed pages to the OS after a few seconds, so the RSS
/// goes back down after a burst of connections (with glibc's allocator it
/// stays at the peak).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[path = "support/serve.rs"]
mod serve;
#[path = "support/tickets.rs"]
mod tickets;

use wecom_callback::endpoint::ReplyFormat;
use wecom_callback::tickets::{MemoryTicketStore, TicketStore};
use wecom_callback::{
    AuthorizedCorps, BotMessage, CallbackContext, ConfigError, Endpoint, Message, MessageKind,
    Rejection, Reply, StoreFailure, WeComCallbackLayer,
};

const PATH: &str = "/wecom/callback";

/// The reply text for `message`.
fn echo_text(message: &Message) -> String {
    match (message.kind(), message.event()) {
        (MessageKind::Text(text), _) => format!("echo:text:{}", text.content),
        (_, Some(event)) => format!("echo:event:{event}"),
        _ => format!("echo:{}", message.msg_type()),
    }
}

/// The reply text for a robot message.
fn echo_bot_text(message: &BotMessage) -> String {
    match (
        message.msg_type(),
        message.text_content(),
        message.event_type(),
    ) {
        ("text", Some(content), _) => format!("echo:text:{content}"),
        (_, _, Some(event)) => format!("echo:event:{event}"),
        (msg_type, _, _) => format!("echo:{msg_type}"),
    }
}

/// Where ticket pushes go.
type Tickets = Arc<dyn TicketStore>;

async fn echo(
    State(tickets): State<Tickets>,
    context: CallbackContext,
    request: Request,
) -> Result<Reply, StatusCode> {
    let text = if let Some(message) = request.extensions().get::<Message>() {
        tracing::info!(
            msg_type = message.msg_type(),
            from = message.from_user_name(),
            msg_id = message.msg_id(),
            info_type = message.info_type(),
            kind = %context.kind,
            app = %context.app,
            "callback accepted"
        );
        tickets::save_ticket(tickets.as_ref(), &context, message).await?;
        echo_text(message)
    } else if let Some(message) = request.extensions().get::<BotMessage>() {
        tracing::info!(
            msg_type = message.msg_type(),
            from = message.from_user_id().unwrap_or(""),
            msg_id = message.msg_id().unwrap_or(""),
            kind = %context.kind,
            app = %context.app,
            "callback accepted"
        );
        echo_bot_text(message)
    } else {
        return Ok(Reply::ack());
    };
    Ok(match context.kind.reply_format() {
        ReplyFormat::None => Reply::ack(),
        _ => Reply::text(text),
    })
}

/// The endpoint the `WECOM_*` settings describe.
fn endpoint() -> Result<Endpoint, String> {
    let kind = serve::setting("WECOM_KIND", "wecom_app");
    let token = serve::setting("WECOM_TOKEN", "QDG6eK");
    let key = serve::setting(
        "WECOM_ENCODING_AES_KEY",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    );
    let receive_id = || serve::required("WECOM_RECEIVE_ID");
    let built: Result<Endpoint, ConfigError> = match kind.as_str() {
        "wecom_app" => Endpoint::wecom_app(
            &token,
            &key,
            &serve::setting("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
        ),
        "wecom_suite" => Endpoint::wecom_suite(&token, &key, &receive_id()?),
        "wecom_suite_data" => {
            let corps = serve::setting("WECOM_AUTHORIZED_CORP_IDS", "");
            let corps: Vec<&str> = corps
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect();
            Endpoint::wecom_suite_data(&token, &key, &receive_id()?, AuthorizedCorps::list(corps))
        }
        "wecom_bot" => Endpoint::wecom_bot(&token, &key),
        "official_account_plain" => Endpoint::official_account_plain(&token, &receive_id()?),
        "official_account_compat" => {
            Endpoint::official_account_compat(&token, &key, &receive_id()?)
        }
        "official_account_safe" => Endpoint::official_account_safe(&token, &key, &receive_id()?),
        "open_platform" => Endpoint::open_platform(&token, &key, &receive_id()?),
        other => return Err(format!("unknown WECOM_KIND `{other}`")),
    };
    built.map_err(|e| format!("bad {kind} settings: {e}"))
}

/// `WECOM_ON_STORE_FAILURE`.
fn store_failure() -> Result<StoreFailure, String> {
    match serve::setting("WECOM_ON_STORE_FAILURE", "process").as_str() {
        "process" => Ok(StoreFailure::Process),
        "unavailable" => Ok(StoreFailure::Unavailable),
        other => Err(format!(
            "unknown WECOM_ON_STORE_FAILURE `{other}` (process or unavailable)"
        )),
    }
}

/// The dedup store (on `layer`) and the ticket store: Redis when
/// `REDIS_URL` is set, memory otherwise.
async fn stores(layer: WeComCallbackLayer) -> Result<(WeComCallbackLayer, Tickets), String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => redis_stores(layer, &url).await,
        _ => Ok((layer, Arc::new(MemoryTicketStore::new()))),
    }
}

#[cfg(feature = "redis")]
async fn redis_stores(
    layer: WeComCallbackLayer,
    url: &str,
) -> Result<(WeComCallbackLayer, Tickets), String> {
    use wecom_callback::dedup::{RedisConnection, RedisDedupStore};
    use wecom_callback::tickets::RedisTicketStore;

    let timeout = match std::env::var("REDIS_TIMEOUT_MS") {
        Ok(ms) => Duration::from_millis(
            ms.parse()
                .map_err(|_| format!("REDIS_TIMEOUT_MS `{ms}` is not a number of milliseconds"))?,
        ),
        Err(_) => RedisConnection::DEFAULT_TIMEOUT,
    };
    let redis = RedisConnection::open_with_timeout(url, timeout)
        .map_err(|e| format!("REDIS_URL is not a usable Redis URL ({e})"))?;
    // Not fatal: the store connects when Redis is back, and until then the
    // layer's store-failure policy decides.
    match redis.ping().await {
        Ok(()) => tracing::info!(?timeout, "dedup and ticket stores: Redis"),
        Err(error) => tracing::warn!(
            %error,
            ?timeout,
            "dedup and ticket stores: Redis, not reachable yet; serving anyway"
        ),
    }
    let tickets: Tickets = Arc::new(RedisTicketStore::new(redis.clone()));
    Ok((layer.dedup_store(RedisDedupStore::new(redis)), tickets))
}

#[cfg(not(feature = "redis"))]
async fn redis_stores(
    _layer: WeComCallbackLayer,
    _url: &str,
) -> Result<(WeComCallbackLayer, Tickets), String> {
    Err(
        "REDIS_URL is set but this echo was built without the `redis` feature \
         (cargo run --features redis --example echo)"
            .to_owned(),
    )
}

async fn run() -> Result<(), String> {
    let bind = serve::setting("WECOM_BIND", "127.0.0.1:3000");
    let endpoint = endpoint()?;
    let kind = endpoint.kind();

    // The span names the path only: the query holds msg_signature, nonce
    // and echostr (the guide, "With TraceLayer and TimeoutLayer"). At
    // `debug`, so the `info` lines stay as they are.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            tracing::debug_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path()
            )
        })
        .on_response(
            |response: &http::Response<_>, latency: Duration, _span: &Span| {
                // With the `tracing` feature the layer logs each rejection
                // itself (`callback rejected`, with its reason and hint): one
                // line per rejection, not a second one here.
                let rejected = response.extensions().get::<Rejection>();
                match rejected {
                    Some(rejection) if !cfg!(feature = "tracing") => tracing::warn!(
                        status = response.status().as_u16(),
                        reason = %rejection,
                        ?latency,
                        "callback rejected"
                    ),
                    Some(_) => {}
                    None => {
                        tracing::info!(status = response.status().as_u16(), ?latency, "response")
                    }
                }
            },
        );

    let layer = WeComCallbackLayer::new(PATH, endpoint)
        .map_err(|e| e.to_string())?
        .on_store_failure(store_failure()?);
    let (layer, tickets) = stores(layer).await?;
    let app = Router::new()
        .route(PATH, post(echo))
        .with_state(tickets)
        .layer(ServiceBuilder::new().layer(trace).layer(layer));

    serve::listen_and_serve(&bind, &format!("wecom-callback echo ({kind})"), PATH, app).await
}

#[tokio::main]
async fn main() {
    // Purge freed pages in the background (jemalloc's decay, about 10 s),
    // not only when the allocator is next busy: an idle server after a
    // burst of slow clients gives its memory back. Best effort.
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
    serve::init_tracing("info,tower_http=info");
    serve::exit_on_error("echo", run().await);
}
