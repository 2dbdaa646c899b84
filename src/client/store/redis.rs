//! [`RedisTokenStore`] and [`RedisSecretStore`]: tokens, the fetch lock and
//! durable secrets in Redis (features `client` and `redis`).

use std::fmt;
use std::time::Duration;

use redis::{Script, Value};

use super::{BoxFuture, PutOutcome, SecretStore, TokenStore};
use crate::client::token::{AccessToken, Secret};
use crate::dedup::{RedisConnection, ttl_millis};
use crate::store::{StoreError, StoreErrorKind};

/// The key prefix of [`RedisTokenStore`] and [`RedisSecretStore`] unless
/// told otherwise.
pub const DEFAULT_CLIENT_KEY_PREFIX: &str = "wecom-callback:client:";

/// Fenced write: keeps the stored token when its generation is the same or
/// newer (generations are unix ms, exact in Lua's doubles); sets the key to
/// expire with the token. 1 when stored, 0 when kept.
const PUT_LUA: &str = r"
local stored = redis.call('HGET', KEYS[1], 'generation')
if stored and tonumber(stored) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'generation', ARGV[2], 'expires_in', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
";

/// Deletes the token only if it is of generation `ARGV[1]`.
const REMOVE_LUA: &str = r"
if redis.call('HGET', KEYS[1], 'generation') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Releases the lock only if `ARGV[1]` holds it: the dedup store's
/// compare-and-delete script.
use crate::dedup::RELEASE_LUA as UNLOCK_LUA;

/// The [`TokenStore`] in Redis: every instance's tokens, fences and fetch
/// locks (features `client` and `redis`).
///
/// Layout, under the prefix (default [`DEFAULT_CLIENT_KEY_PREFIX`]):
/// `token:<cache key>` is a hash (`value`, `generation` in unix ms,
/// `expires_in` in s) that expires with the token; `lock:<cache key>` is
/// the fetch lock, a random owner set with `SET NX PX`, released by a
/// compare-and-delete script; `pause:<cache key>` exists while fetches are
/// paused after a `45009` (every instance stops fetching). Writes are fenced by a script comparing
/// generations.
///
/// Calls are bounded by the [`RedisConnection`]'s timeout. When Redis is
/// down, calls fail with [`StoreErrorKind::Unavailable`] or
/// [`StoreErrorKind::Timeout`] and the [`Client`](crate::client::Client)
/// goes on with its own memory cache (one fetch per instance) until Redis
/// is back. Tokens are cheap to lose: a Redis without persistence is fine
/// here (unlike for [`RedisSecretStore`]).
///
/// ```no_run
/// use std::sync::Arc;
/// use wecom_callback::client::{Client, RedisTokenStore};
/// use wecom_callback::dedup::RedisConnection;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let redis = RedisConnection::open("redis://10.0.0.5:6379/")?;
/// let client = Client::builder()
///     .token_store(Arc::new(RedisTokenStore::new(redis)))
///     .build()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisTokenStore {
    connection: RedisConnection,
    prefix: String,
    put: Script,
    remove: Script,
    unlock: Script,
}

impl RedisTokenStore {
    /// A store on `connection`, under [`DEFAULT_CLIENT_KEY_PREFIX`].
    #[must_use]
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_CLIENT_KEY_PREFIX.to_owned(),
            put: Script::new(PUT_LUA),
            remove: Script::new(REMOVE_LUA),
            unlock: Script::new(UNLOCK_LUA),
        }
    }

    /// Puts every key under `prefix` instead (end it with a separator).
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The Redis key of the token under cache key `key`.
    #[must_use]
    pub fn token_key(&self, key: &str) -> String {
        format!("{}token:{key}", self.prefix)
    }

    /// The Redis key of the fetch lock of cache key `key`.
    #[must_use]
    pub fn lock_key(&self, key: &str) -> String {
        format!("{}lock:{key}", self.prefix)
    }

    /// The Redis key of the fetch pause of cache key `key`:
    /// `<prefix>pause:<key>`, a string set with `PX` after a `45009` that
    /// Redis deletes when the pause ends.
    #[must_use]
    pub fn pause_key(&self, key: &str) -> String {
        format!("{}pause:{key}", self.prefix)
    }

    async fn pause_now(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let ttl_ms = ttl_millis(ttl);
        let command = redis::cmd("SET")
            .arg(self.pause_key(key))
            .arg("45009")
            .arg("PX")
            .arg(ttl_ms)
            .to_owned();
        query(&self.connection, command).await?;
        Ok(())
    }

    async fn paused_now(&self, key: &str) -> Result<Option<Duration>, StoreError> {
        let command = redis::cmd("PTTL").arg(self.pause_key(key)).to_owned();
        let value = query(&self.connection, command).await?;
        match value {
            Value::Int(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms.unsigned_abs()))),
            Value::Int(_) => Ok(None),
            _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
        }
    }

    async fn get_now(&self, key: &str) -> Result<Option<AccessToken>, StoreError> {
        let command = redis::cmd("HMGET")
            .arg(self.token_key(key))
            .arg("value")
            .arg("generation")
            .arg("expires_in")
            .to_owned();
        let value = query(&self.connection, command).await?;
        let Value::Array(fields) = value else {
            return Err(StoreError::new(StoreErrorKind::Corrupt));
        };
        match fields.as_slice() {
            [Value::Nil, Value::Nil, Value::Nil] => Ok(None),
            [
                Value::BulkString(token),
                Value::BulkString(generation),
                Value::BulkString(expires_in),
            ] => {
                let token = std::str::from_utf8(token)
                    .map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e))?;
                Ok(Some(AccessToken::new(
                    token,
                    number(generation)?,
                    number(expires_in)?,
                )))
            }
            _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
        }
    }

    async fn put_now(&self, key: &str, token: &AccessToken) -> Result<PutOutcome, StoreError> {
        let mut conn = self.connection.manager();
        let mut invocation = self.put.prepare_invoke();
        invocation
            .key(self.token_key(key))
            .arg(token.secret())
            .arg(token.generation().to_string())
            .arg(token.expires_in().to_string())
            .arg(token.expires_at_ms().to_string());
        let value: Value = self
            .connection
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        match value {
            Value::Int(1) => Ok(PutOutcome::Stored),
            Value::Int(0) => Ok(PutOutcome::KeptNewer),
            _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
        }
    }

    async fn remove_now(&self, key: &str, generation: u64) -> Result<bool, StoreError> {
        let mut conn = self.connection.manager();
        let mut invocation = self.remove.prepare_invoke();
        invocation
            .key(self.token_key(key))
            .arg(generation.to_string());
        let value: Value = self
            .connection
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(matches!(value, Value::Int(n) if n > 0))
    }

    async fn try_lock_now(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let ttl_ms = ttl_millis(ttl);
        let command = redis::cmd("SET")
            .arg(self.lock_key(key))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .to_owned();
        let value = query(&self.connection, command).await?;
        match value {
            Value::Okay | Value::SimpleString(_) => Ok(true),
            Value::Nil => Ok(false),
            _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
        }
    }

    async fn unlock_now(&self, key: &str, owner: &str) -> Result<(), StoreError> {
        let mut conn = self.connection.manager();
        let mut invocation = self.unlock.prepare_invoke();
        invocation.key(self.lock_key(key)).arg(owner);
        let _: Value = self
            .connection
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        Ok(())
    }
}

/// Sends `command` on `connection`, bounded by its timeout.
async fn query(connection: &RedisConnection, command: redis::Cmd) -> Result<Value, StoreError> {
    let mut conn = connection.manager();
    connection
        .bounded(async move { command.query_async(&mut conn).await })
        .await
}

fn number(bytes: &[u8]) -> Result<u64, StoreError> {
    crate::store::decimal_u64(bytes)
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTokenStore")
            .field("prefix", &self.prefix)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl TokenStore for RedisTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<AccessToken>, StoreError>> {
        Box::pin(self.get_now(key))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<PutOutcome, StoreError>> {
        Box::pin(self.put_now(key, token))
    }

    fn remove<'a>(
        &'a self,
        key: &'a str,
        generation: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.remove_now(key, generation))
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.try_lock_now(key, owner, ttl))
    }

    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.unlock_now(key, owner))
    }

    fn pause_fetches<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.pause_now(key, ttl))
    }

    fn fetches_paused<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        Box::pin(self.paused_now(key))
    }
}

/// The [`SecretStore`] in Redis: `permanent_code`s and
/// `authorizer_refresh_token`s as plain strings under
/// `<prefix>secret:<key>`, never expiring (features `client` and `redis`).
///
/// **Persistence is your job.** A Redis without persistence (no AOF, no RDB
/// snapshot) loses every secret when it restarts, and every corp or
/// authorizer must then authorize again (61023 on the next refresh). Run
/// the Redis that holds them with `appendonly yes` (and `appendfsync
/// everysec` or `always`) in `redis.conf` or
/// `redis-server --appendonly yes`, keep `save` snapshots as a backup,
/// and do not let an eviction policy other than `noeviction` or
/// `volatile-*` near these keys. Or implement [`SecretStore`] on your
/// database.
#[derive(Clone)]
pub struct RedisSecretStore {
    connection: RedisConnection,
    prefix: String,
}

impl RedisSecretStore {
    /// A store on `connection`, under [`DEFAULT_CLIENT_KEY_PREFIX`].
    #[must_use]
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_CLIENT_KEY_PREFIX.to_owned(),
        }
    }

    /// Puts every key under `prefix` instead (end it with a separator).
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The Redis key of secret `key`.
    #[must_use]
    pub fn secret_key(&self, key: &str) -> String {
        format!("{}secret:{key}", self.prefix)
    }
}

impl fmt::Debug for RedisSecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSecretStore")
            .field("prefix", &self.prefix)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl SecretStore for RedisSecretStore {
    fn get_secret<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
        Box::pin(async move {
            let command = redis::cmd("GET").arg(self.secret_key(key)).to_owned();
            let value = query(&self.connection, command).await?;
            match value {
                Value::Nil => Ok(None),
                Value::BulkString(bytes) => String::from_utf8(bytes)
                    .map(|s| Some(Secret::new(s)))
                    .map_err(|e| StoreError::with_source(StoreErrorKind::Corrupt, e)),
                _ => Err(StoreError::new(StoreErrorKind::Corrupt)),
            }
        })
    }

    fn put_secret<'a>(
        &'a self,
        key: &'a str,
        secret: &'a Secret,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let command = redis::cmd("SET")
                .arg(self.secret_key(key))
                .arg(secret.expose())
                .to_owned();
            query(&self.connection, command).await?;
            Ok(())
        })
    }
}
