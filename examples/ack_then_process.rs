//! Acknowledge at once, work later: the pattern for handlers that take
//! longer than WeCom's 5 seconds (WeCom doc 接收消息与事件 概述: "五秒内收不到响应会断掉连接，并且重新发起请求").
//!
//! ```text
//! WECOM_CORP_SECRET=… cargo run --features client --example ack_then_process
//! ```
//!
//! The handler only queues the message on a bounded tokio channel and
//! answers the kind's acknowledgement (an empty 200 for a WeCom app). A
//! worker does the slow part and answers the member later through the WeCom
//! message API (发送应用消息) with the crate's API client: each text message
//! gets one `POST {WECOM_API_BASE}/cgi-bin/message/send?access_token=…` with
//! `{"touser": FromUserName, "msgtype": "text", "agentid": AgentID,
//! "text": {"content": "processed: " + Content}}`; other messages get
//! `processed a <MsgType>`; events are only logged.
//!
//! * Retries do not double the work: the layer's deduplication (on by
//!   default) lets each message reach the handler once, and with
//!   `REDIS_URL` once across every instance sharing that Redis.
//! * The `access_token` is fetched once and cached (`gettoken`, WeCom doc
//!   获取access_token); with `REDIS_URL` the cache, and the one fetch at a
//!   time, are shared by every instance.
//! * A full queue answers 503: not a 2xx, so the layer releases the message
//!   and WeCom's retry gets another chance, instead of the message being
//!   acknowledged and dropped.
//! * `ack_deadline(4 s)` is the safety net should the handler itself ever
//!   be slow (it answers `success`/empty 200 and lets the handler finish).
//! * What it does not do: survive a crash. A message acknowledged and
//!   queued is lost if the process dies before the worker sends the answer
//!   (a durable queue is the next step).
//!
//! Settings: `WECOM_BIND` (default `127.0.0.1:3000`), `WECOM_TOKEN`,
//! `WECOM_ENCODING_AES_KEY`, `WECOM_CORP_ID` as in the echo example;
//! `WECOM_API_BASE` (default `https://qyapi.weixin.qq.com`),
//! `WECOM_CORP_SECRET` (the app's secret; unset: the answers are only
//! logged, as before), `WORK_MS` (the simulated slow work, default 2000),
//! `REDIS_URL` (with `--features client,redis`: shared deduplication and token
//! cache), `REDIS_TIMEOUT_MS` (default 500: the bound on each Redis call).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::{Semaphore, mpsc};
#[path = "support/serve.rs"]
mod serve;

use wecom_callback::client::{AppMessage, BaseUrls, Client, CorpCredential, TokenStore};
use wecom_callback::{Endpoint, Message, MessageKind, Reply, WeComCallbackLayer};

/// The callback path.
pub(crate) const PATH: &str = "/wecom/callback";
/// How many answers the worker sends at once.
const CONCURRENT_SENDS: usize = 32;

/// The example's settings (environment variables; see the module docs).
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) bind: String,
    pub(crate) token: String,
    pub(crate) encoding_aes_key: String,
    pub(crate) corp_id: String,
    pub(crate) api_base: String,
    pub(crate) corp_secret: Option<String>,
    pub(crate) work: Duration,
    pub(crate) redis_url: Option<String>,
    pub(crate) redis_timeout: Option<Duration>,
}

impl Settings {
    /// Reads the settings through `lookup` (unset or empty: `None`).
    ///
    /// # Errors
    /// `WORK_MS` or `REDIS_TIMEOUT_MS` that is not a number of milliseconds.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str, default: &str| lookup(name).unwrap_or_else(|| default.to_owned());
        let work_ms = get("WORK_MS", "2000");
        let work_ms: u64 = work_ms
            .parse()
            .map_err(|_| format!("WORK_MS `{work_ms}` is not a number of milliseconds"))?;
        Ok(Self {
            bind: get("WECOM_BIND", "127.0.0.1:3000"),
            token: get("WECOM_TOKEN", "QDG6eK"),
            encoding_aes_key: get(
                "WECOM_ENCODING_AES_KEY",
                "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            ),
            corp_id: get("WECOM_CORP_ID", "wx5823bf96d3bd56c7"),
            api_base: get("WECOM_API_BASE", BaseUrls::WECOM_API),
            corp_secret: lookup("WECOM_CORP_SECRET"),
            work: Duration::from_millis(work_ms),
            redis_url: lookup("REDIS_URL"),
            redis_timeout: match lookup("REDIS_TIMEOUT_MS") {
                Some(ms) => Some(Duration::from_millis(ms.parse().map_err(|_| {
                    format!("REDIS_TIMEOUT_MS `{ms}` is not a number of milliseconds")
                })?)),
                None => None,
            },
        })
    }

    fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }
}

/// Where the answers go: the WeCom API, or the log when no secret is set.
#[derive(Clone)]
enum Answerer {
    Api {
        client: Client,
        corp: CorpCredential,
    },
    Log,
}

impl Answerer {
    async fn send(&self, to_user: &str, agent_id: Option<u64>, text: String) {
        let Self::Api { client, corp } = self else {
            tracing::info!(to_user, text, "WECOM_CORP_SECRET unset: answer only logged");
            return;
        };
        let Some(agent_id) = agent_id.and_then(|id| i64::try_from(id).ok()) else {
            tracing::warn!(to_user, "message without AgentID: no answer sent");
            return;
        };
        let message = AppMessage::text(to_user, agent_id, text);
        match corp.send_message(client, &message).await {
            Ok(sent) => tracing::info!(to_user, msgid = %sent.msgid, "answer sent"),
            Err(error) => tracing::warn!(to_user, %error, "answer not sent"),
        }
    }
}

/// Queues the message and acknowledges; 503 when the queue is full.
async fn enqueue(State(queue): State<mpsc::Sender<Message>>, message: Message) -> Response {
    match queue.try_send(message) {
        Ok(()) => Reply::ack().into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The slow part, off the request path: at most [`CONCURRENT_SENDS`]
/// messages at a time.
async fn worker(mut queue: mpsc::Receiver<Message>, answerer: Answerer, work: Duration) {
    let permits = Arc::new(Semaphore::new(CONCURRENT_SENDS));
    while let Some(message) = queue.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let answerer = answerer.clone();
        tokio::spawn(async move {
            // Pretend this takes a while (a search, a model, another API).
            tokio::time::sleep(work).await;
            let answer = match message.kind() {
                MessageKind::Text(text) => format!("processed: {}", text.content),
                _ if message.msg_type() == "event" => {
                    tracing::info!(event = ?message.event(), "event: nothing to answer");
                    return;
                }
                _ => format!("processed a {}", message.msg_type()),
            };
            answerer
                .send(message.from_user_name(), message.agent_id(), answer)
                .await;
            drop(permit);
        });
    }
}

/// The callback app for `settings`: the layer (deduplicating in Redis with
/// `REDIS_URL`), the queue and the worker task (spawned here).
///
/// # Errors
/// Bad settings, an unusable `REDIS_URL`.
pub(crate) async fn app(settings: &Settings) -> Result<Router, String> {
    let endpoint = Endpoint::wecom_app(
        &settings.token,
        &settings.encoding_aes_key,
        &settings.corp_id,
    )
    .map_err(|e| format!("bad settings: {e}"))?;
    let layer = WeComCallbackLayer::new(PATH, endpoint)
        .map_err(|e| e.to_string())?
        .ack_deadline(Duration::from_secs(4));
    let (layer, tokens) = match &settings.redis_url {
        Some(url) => redis_stores(layer, url, settings.redis_timeout).await?,
        None => (layer, None),
    };

    let answerer = match &settings.corp_secret {
        Some(secret) => {
            let mut client =
                Client::builder().urls(BaseUrls::default().wecom_api(&*settings.api_base));
            if let Some(tokens) = tokens {
                client = client.token_store(tokens);
            }
            let client = client.build().map_err(|e| format!("API client: {e}"))?;
            let corp = CorpCredential::new(settings.corp_id.clone(), secret.clone());
            Answerer::Api { client, corp }
        }
        None => {
            tracing::warn!("WECOM_CORP_SECRET is unset: answers are logged, not sent");
            Answerer::Log
        }
    };

    let (queue, jobs) = mpsc::channel(1024);
    tokio::spawn(worker(jobs, answerer, settings.work));
    Ok(Router::new()
        .route(PATH, post(enqueue))
        .with_state(queue)
        .layer(layer))
}

/// Redis for the dedup store and the token cache.
#[cfg(feature = "redis")]
async fn redis_stores(
    layer: WeComCallbackLayer,
    url: &str,
    timeout: Option<Duration>,
) -> Result<(WeComCallbackLayer, Option<Arc<dyn TokenStore>>), String> {
    use wecom_callback::client::RedisTokenStore;
    use wecom_callback::dedup::{RedisConnection, RedisDedupStore};

    let timeout = timeout.unwrap_or(RedisConnection::DEFAULT_TIMEOUT);
    let redis = RedisConnection::open_with_timeout(url, timeout)
        .map_err(|e| format!("REDIS_URL is not a usable Redis URL ({e})"))?;
    if let Err(error) = redis.ping().await {
        // Not fatal: both stores fall back per instance while Redis is away.
        tracing::warn!(%error, "Redis does not answer yet");
    }
    let tokens: Arc<dyn TokenStore> = Arc::new(RedisTokenStore::new(redis.clone()));
    Ok((layer.dedup_store(RedisDedupStore::new(redis)), Some(tokens)))
}

#[cfg(not(feature = "redis"))]
async fn redis_stores(
    _layer: WeComCallbackLayer,
    _url: &str,
    _timeout: Option<Duration>,
) -> Result<(WeComCallbackLayer, Option<Arc<dyn TokenStore>>), String> {
    Err(
        "REDIS_URL is set but this example was built without the `redis` feature \
         (cargo run --features client,redis --example ack_then_process)"
            .to_owned(),
    )
}

async fn run() -> Result<(), String> {
    let settings = Settings::from_env()?;
    let app = app(&settings).await?;
    serve::listen_and_serve(&settings.bind, "ack_then_process", PATH, app).await
}

#[tokio::main]
async fn main() {
    serve::init_tracing("info");
    serve::exit_on_error("ack_then_process", run().await);
}
