//! [`RedisDedupStore`] and [`RedisConnection`]: deduplication shared by
//! every instance behind a load balancer, in Redis (feature `redis`). The
//! documentation (client, layout, faults) is on [`RedisDedupStore`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, RedisError, Script, ServerErrorKind, Value};

use super::{
    BoxFuture, Claim, ClaimToken, DedupKey, DedupStore, StoreError, StoreErrorKind, StoredAnswer,
};

/// The key prefix [`RedisDedupStore`] uses unless told otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "wecom-callback:dedup:";

/// TTLs are capped at this many milliseconds (a year), like the memory
/// store's.
const MAX_TTL_MS: u64 = 366 * 24 * 3600 * 1000;

/// The version and tag bytes of an in-flight value; the 16 token bytes
/// follow. `StoredAnswer::from_bytes` refuses this tag, so an in-flight
/// value is never read as an answer.
const IN_FLIGHT: [u8; 2] = [1, b'I'];

/// `SET NX PX`; when the key exists, its value. Returns 1 when this call set
/// the key, else the stored value.
const CLAIM_LUA: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return redis.call('GET', KEYS[1])
";

/// Compare-and-delete: removes the key only if it holds `ARGV[1]`.
pub(crate) const RELEASE_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A connection to one Redis server, shared by the stores built on it
/// ([`RedisDedupStore`], [`RedisTicketStore`](crate::tickets::RedisTicketStore)).
///
/// One multiplexed connection (redis-rs `ConnectionManager`) that carries
/// every concurrent call and reconnects by itself after it dropped (see
/// [`RedisDedupStore`'s faults](RedisDedupStore#faults)). Made lazily: opening
/// does no I/O; the first call connects. Every call through it is bounded
/// by its timeout.
///
/// Clones share the connection. Needs a Tokio runtime (the client spawns
/// its reconnection task on it). `Debug` shows the timeout, never the URL
/// (it may hold a password).
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
    timeout: Duration,
}

impl RedisConnection {
    /// How long one store call may take unless told otherwise: 500 ms, a
    /// tenth of WeCom's 5-second answer deadline.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// A connection to the Redis at `url`, with
    /// [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT). `url` is redis-rs's form:
    /// `redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS
    /// (only if the client was built with a TLS feature), or
    /// `redis+unix:///path`.
    ///
    /// Does no I/O: succeeds whether Redis is reachable or not.
    ///
    /// # Errors
    /// [`StoreErrorKind::Other`] when `url` is not a Redis URL, or when
    /// called outside a Tokio runtime.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with_timeout(url, Self::DEFAULT_TIMEOUT)
    }

    /// As [`open`](Self::open), with every call bounded by `timeout`
    /// (connecting, sending, waiting for the answer; also the client's own
    /// connect and response timeouts). A zero timeout is raised to 1 ms.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let timeout = timeout.max(Duration::from_millis(1));
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::with_source(
                StoreErrorKind::Other,
                "RedisConnection needs a Tokio runtime",
            ));
        }
        let client =
            Client::open(url).map_err(|e| StoreError::with_source(StoreErrorKind::Other, e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
            .set_number_of_retries(4);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::with_source(StoreErrorKind::Other, e))?;
        Ok(Self { manager, timeout })
    }

    /// The bound on each call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `PING`: connects now if not connected, to fail fast at start
    /// (optional: the stores work without it, see
    /// [`RedisDedupStore`'s faults](RedisDedupStore#faults)).
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`] or [`StoreErrorKind::Timeout`] when
    /// Redis does not answer within the timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.manager.clone();
        let value: Value = self
            .bounded(async move { redis::cmd("PING").query_async(&mut conn).await })
            .await?;
        match value {
            Value::SimpleString(_) | Value::Okay | Value::BulkString(_) => Ok(()),
            _ => Err(StoreError::new(StoreErrorKind::Other)),
        }
    }

    /// A manager handle for one call (a cheap clone).
    pub(crate) fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Runs `call` under the timeout and maps its failure to a
    /// [`StoreError`].
    pub(crate) async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(store_error(error)),
            Err(_elapsed) => Err(StoreError::new(StoreErrorKind::Timeout)),
        }
    }
}

impl fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConnection")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The kind a client error means to the caller.
fn store_error(error: RedisError) -> StoreError {
    let kind = if error.is_timeout() {
        StoreErrorKind::Timeout
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        StoreErrorKind::Unavailable
    } else {
        match error.kind() {
            // Loading its data after a restart, a replica cut off from its
            // primary, failing over: Redis is there but cannot serve yet.
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                | ServerErrorKind::MasterDown
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::ReadOnly,
            ) => StoreErrorKind::Unavailable,
            ErrorKind::UnexpectedReturnType | ErrorKind::Parse => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Other,
        }
    };
    StoreError::with_source(kind, error)
}

/// `ttl` in whole milliseconds, at least 1 and at most a year: what every
/// Redis store of the crate sends as `PX` (Redis refuses larger ones).
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(MAX_TTL_MS)
        .clamp(1, MAX_TTL_MS)
}

/// The stored value of an in-flight claim.
fn in_flight_value(token: ClaimToken) -> [u8; 18] {
    let mut value = [0u8; 18];
    let (tag, bytes) = value.split_at_mut(IN_FLIGHT.len());
    tag.copy_from_slice(&IN_FLIGHT);
    bytes.copy_from_slice(&token.to_bytes());
    value
}

/// What a stored value means to a claim that found it.
fn read_existing(value: &[u8]) -> Result<Claim, StoreError> {
    match value.strip_prefix(&IN_FLIGHT[..]) {
        Some(token) if token.len() == 16 => Ok(Claim::InFlight),
        Some(_) => Err(StoreError::new(StoreErrorKind::Corrupt)),
        None => Ok(Claim::Done(StoredAnswer::from_bytes(value)?)),
    }
}

/// The [`DedupStore`] in Redis, for several instances of a callback server
/// behind a load balancer (feature `redis`).
///
/// WeCom retries a message that was not answered within five seconds
/// ("企业微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次", WeCom doc
/// 接收消息与事件 概述, /90238), and behind a load balancer the retry may land
/// on another instance than the first delivery. A
/// [`MemoryDedupStore`](super::MemoryDedupStore) would let that instance run
/// the handler again; this store keeps the
/// [deduplication contract](crate::dedup) across processes.
///
/// Keys are `<prefix><DedupKey::as_str()>`; the [`DedupKey`] already holds
/// the app name, so apps sharing a prefix never meet. Give different
/// deployments sharing one Redis different prefixes
/// ([`key_prefix`](Self::key_prefix)). Clones share the connection.
///
/// # Client
///
/// [redis-rs](https://docs.rs/redis) (the `redis` crate): the Rust client
/// most projects use (deadpool-redis and bb8-redis build on it), maintained
/// by the Redis organisation. Its `ConnectionManager` is one multiplexed
/// connection shared by all requests that reconnects by itself, with
/// exponential backoff, after the connection dropped; that is the piece a
/// server needs for "Redis went away and came back", without a pool. fred
/// offers the same with a larger surface (cluster, sentinel, pub/sub
/// routing) that deduplication does not use. No redis-rs type appears in
/// this crate's public API.
///
/// # Data layout
///
/// One string per message, under `<prefix><DedupKey::as_str()>` (default
/// prefix [`DEFAULT_KEY_PREFIX`], so `wecom-callback:dedup:hr:m:1234…`):
///
/// | value | meaning | expires after |
/// |---|---|---|
/// | `0x01 'I'` + the claim's 16 token bytes | in flight | the `in_flight_ttl` given to `claim` |
/// | [`StoredAnswer::to_bytes`] (`0x01 'E'`, `0x01 'A'`, `0x01 'R'` + reply) | handled | the window given to `complete` |
///
/// - **claim**: `SET key <in-flight> NX PX <ttl>`; when the key exists, the
///   same script reads it (`GET`) and answers [`Claim::InFlight`] or
///   [`Claim::Done`]. Both run in one Lua script, so no other client's
///   command can fall between them (Redis runs a script atomically), and a
///   claim costs one round trip whatever its outcome.
/// - **complete**: `SET key <answer> PX <window>`, replacing the claim.
/// - **release**: a Lua script deletes the key only if it still holds this
///   claim's in-flight value (compare-and-delete), so a late release never
///   removes a retry's claim or a completed answer.
///
/// TTLs are sent in milliseconds, at least 1 ms and at most a year. A
/// value that is neither form ([`StoreErrorKind::Corrupt`]) is reported,
/// never overwritten by a claim. The scripts run through `EVALSHA`, loaded
/// again by the client after Redis restarted (`NOSCRIPT`); they need Redis
/// 2.6 or later, or Valkey. Every command and script touches one key, so
/// the layout also suits a Redis Cluster.
///
/// # Memory
///
/// Every key expires (a claim after its in-flight TTL, an answer after the
/// window), so Redis holds about one key per message of the window, plus
/// its stored reply. What happens when Redis reaches its `maxmemory`
/// depends on its `maxmemory-policy`, which this store does not set:
///
/// - `noeviction` (Redis's default): writes are refused ("OOM command not
///   allowed"), so `claim` and `complete` fail with a [`StoreError`] and the
///   layer's `on_store_failure` decides, as for any fault below. Nothing is
///   handled twice in silence.
/// - An evicting policy (`allkeys-lru`, `volatile-lru`, `*-lfu`,
///   `*-random`, `volatile-ttl`, common on managed services) removes keys
///   before their TTL: **an evicted claim or answer lets a retry run the
///   handler again**, without an error. `volatile-ttl` evicts the keys
///   nearest their expiry first: with the defaults a claim (30 s) goes
///   before every answer younger than 270 s (of 300 s).
///
/// Size `maxmemory` for the window's traffic, and prefer a Redis of its
/// own with `noeviction`: a full Redis then shows up as store errors
/// (logged, and handled as `on_store_failure` says), not as silent
/// duplicates.
///
/// # Faults
///
/// Decided per case; the layer's
/// [`on_store_failure`](crate::WeComCallbackLayer::on_store_failure) chooses
/// what a failed `claim` means for the request (default
/// [`StoreFailure::Process`](crate::StoreFailure::Process): run the handler,
/// at least once, with a warning; or answer 503 so that WeCom retries).
///
/// - **Every call is bounded** by the connection's timeout
///   ([`RedisConnection::DEFAULT_TIMEOUT`], 500 ms, well inside WeCom's
///   5 s): waiting for a connection, the command and, after a restart, the
///   script reload together. Past it the call fails with
///   [`StoreErrorKind::Timeout`]; a refused or dropped connection fails with
///   [`StoreErrorKind::Unavailable`]. A slow Redis therefore costs a request
///   at most two timeouts (`claim`, then `complete`), never a hang.
/// - **Unreachable at start**: [`RedisConnection::open`] does no I/O and
///   succeeds whether Redis is up or not; the connection is made by the
///   first call, and until it succeeds calls fail as above. A server with
///   this store therefore starts and serves (at least once) while Redis is
///   down, rather than turning a Redis outage into a callback outage. Call
///   [`RedisConnection::ping`] at start to fail fast instead.
/// - **Going away mid-run and coming back**: the client notices the dropped
///   connection and reconnects in the background with backoff (50 ms
///   doubling to at most 1 s, a few attempts), and a call made after the
///   attempts ran out starts a new round. Requests keep failing fast while
///   Redis is down and deduplicate again once it answers. Claims and
///   answers written before a restart are lost if Redis keeps no data on
///   disk: a retry of such a message then runs the handler again.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use wecom_callback::dedup::{
///     DedupKey, DedupStore, RedisConnection, RedisDedupStore, StoreErrorKind,
///     DEFAULT_IN_FLIGHT_TTL,
/// };
/// use wecom_callback::{Endpoint, WeComCallbackLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // No I/O yet: this succeeds even though nothing listens on port 1.
/// let redis = RedisConnection::open_with_timeout("redis://127.0.0.1:1/", Duration::from_millis(200))?;
/// let store = RedisDedupStore::new(redis).key_prefix("hr-bot:dedup:");
///
/// // A call fails within the timeout, with a kind the layer acts on.
/// let key = DedupKey::msg_id("hr", "42").unwrap();
/// let err = store.claim(&key, DEFAULT_IN_FLIGHT_TTL).await.unwrap_err();
/// assert!(matches!(err.kind(), StoreErrorKind::Unavailable | StoreErrorKind::Timeout));
///
/// let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
/// let layer = WeComCallbackLayer::new("/wecom/callback", endpoint)?.dedup_store(store);
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
///
/// Deployed: fail fast at start if you prefer, and choose the policy.
///
/// ```no_run
/// use wecom_callback::dedup::{RedisConnection, RedisDedupStore};
/// use wecom_callback::{Endpoint, StoreFailure, WeComCallbackLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConnection::open("redis://10.0.0.5:6379/")?;
/// redis.ping().await?; // optional: refuse to start while Redis is down
/// let endpoint = Endpoint::wecom_app("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")?;
/// let layer = WeComCallbackLayer::new("/wecom/callback", endpoint)?
///     .dedup_store(RedisDedupStore::new(redis))
///     .on_store_failure(StoreFailure::Process);
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisDedupStore {
    connection: RedisConnection,
    prefix: String,
    claim: Script,
    release: Script,
}

impl RedisDedupStore {
    /// A store on `connection`, under [`DEFAULT_KEY_PREFIX`].
    #[must_use]
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            claim: Script::new(CLAIM_LUA),
            release: Script::new(RELEASE_LUA),
        }
    }

    /// Puts every key under `prefix` instead (e.g. `"hr-bot:dedup:"`); used
    /// as is, so end it with a separator.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The Redis key of `key`: the prefix, then [`DedupKey::as_str`].
    #[must_use]
    pub fn redis_key(&self, key: &DedupKey) -> String {
        let mut out = String::with_capacity(self.prefix.len() + key.len());
        out.push_str(&self.prefix);
        out.push_str(key.as_str());
        out
    }

    /// The connection the store uses.
    #[must_use]
    pub fn connection(&self) -> &RedisConnection {
        &self.connection
    }

    async fn claim_now(
        &self,
        key: &DedupKey,
        in_flight_ttl: Duration,
    ) -> Result<Claim, StoreError> {
        let token = ClaimToken::random()?;
        let redis_key = self.redis_key(key);
        let mut conn = self.connection.manager();
        let mut invocation = self.claim.prepare_invoke();
        invocation
            .key(redis_key)
            .arg(&in_flight_value(token)[..])
            .arg(ttl_millis(in_flight_ttl));
        let value: Value = self
            .connection
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        match value {
            Value::Int(1) => Ok(Claim::New(token)),
            Value::BulkString(bytes) => read_existing(&bytes),
            _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
        }
    }

    async fn complete_now(
        &self,
        key: &DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let command = redis::cmd("SET")
            .arg(self.redis_key(key))
            .arg(answer.to_bytes())
            .arg("PX")
            .arg(ttl_millis(ttl))
            .to_owned();
        let mut conn = self.connection.manager();
        let value: Value = self
            .connection
            .bounded(async move { command.query_async(&mut conn).await })
            .await?;
        match value {
            Value::Okay | Value::SimpleString(_) => Ok(()),
            _ => Err(StoreError::new(StoreErrorKind::Other)),
        }
    }

    async fn release_now(&self, key: &DedupKey, token: ClaimToken) -> Result<(), StoreError> {
        let mut conn = self.connection.manager();
        let mut invocation = self.release.prepare_invoke();
        invocation
            .key(self.redis_key(key))
            .arg(&in_flight_value(token)[..]);
        let _removed: Value = self
            .connection
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(())
    }
}

impl fmt::Debug for RedisDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupStore")
            .field("prefix", &self.prefix)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl DedupStore for RedisDedupStore {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(self.claim_now(key, in_flight_ttl))
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.complete_now(key, answer, ttl))
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.release_now(key, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds_within_bounds() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 1);
        assert_eq!(ttl_millis(Duration::from_secs(30)), 30_000);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn in_flight_values_are_never_answers() {
        let token = ClaimToken::from_bytes([7; 16]);
        let value = in_flight_value(token);
        assert_eq!(&value[..2], b"\x01I");
        assert_eq!(&value[2..], &[7; 16]);
        assert!(StoredAnswer::from_bytes(&value).is_err());
        assert_eq!(read_existing(&value).unwrap(), Claim::InFlight);
    }

    #[test]
    fn stored_values_read_back() {
        let reply = StoredAnswer::Reply {
            plaintext: "<xml/>".into(),
        };
        assert_eq!(
            read_existing(&reply.to_bytes()).unwrap(),
            Claim::Done(reply)
        );
        assert_eq!(
            read_existing(&StoredAnswer::Ack.to_bytes()).unwrap(),
            Claim::Done(StoredAnswer::Ack)
        );
        for bad in [&b""[..], b"\x01I", b"\x01I\x00", b"junk", b"\x01R\xff"] {
            assert_eq!(
                read_existing(bad).unwrap_err().kind(),
                StoreErrorKind::Corrupt,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn opening_needs_a_runtime_and_a_url_but_no_server() {
        let err = RedisConnection::open("redis://127.0.0.1:1/").unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Other);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            assert_eq!(
                RedisConnection::open("not a url").unwrap_err().kind(),
                StoreErrorKind::Other
            );
            let conn = RedisConnection::open("redis://user:hunter2@127.0.0.1:1/").unwrap();
            assert_eq!(conn.timeout(), RedisConnection::DEFAULT_TIMEOUT);
            let store = RedisDedupStore::new(conn).key_prefix("p:");
            let shown = format!("{store:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            let key = DedupKey::msg_id("app", "1").unwrap();
            assert_eq!(store.redis_key(&key), "p:app:m:1");
        });
    }
}
