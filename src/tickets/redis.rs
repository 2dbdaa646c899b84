//! [`RedisTicketStore`]: the latest tickets in Redis, read by every
//! instance (feature `redis`).

use std::fmt;

use redis::{Script, Value};

use super::{
    BoxFuture, SaveOutcome, Ticket, TicketKind, TicketStore, TicketStoreError, TicketStoreErrorKind,
};
use crate::dedup::RedisConnection;

/// The key prefix [`RedisTicketStore`] uses unless told otherwise.
pub const DEFAULT_TICKET_KEY_PREFIX: &str = "wecom-callback:ticket:";

/// Compare-and-set on the issue time, in one atomic step. `ARGV[2]` is the
/// issue time in decimal without leading zeros, so comparing length, then
/// text, compares the numbers exactly over the whole `u64` range (Lua's
/// numbers are doubles). `ARGV[3]` is when the ticket expires (issue time
/// plus the kind's lifetime, unix seconds): Redis deletes it then. Returns
/// 1 when saved, else the stored time.
const SAVE_LUA: &str = r"
local stored = redis.call('HGET', KEYS[1], 'issued_at')
if stored then
  local new = ARGV[2]
  if #stored > #new or (#stored == #new and stored >= new) then
    return stored
  end
end
redis.call('HSET', KEYS[1], 'ticket', ARGV[1], 'issued_at', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
";

/// The [`TicketStore`] in Redis, for several instances (feature `redis`).
///
/// One hash per app and kind, under
/// `<prefix><app>:<kind>` (default prefix [`DEFAULT_TICKET_KEY_PREFIX`], so
/// `wecom-callback:ticket:ww4asffe99e54c0f4c:suite_ticket`), with the
/// fields `ticket` (the text) and `issued_at` (unix seconds, decimal). An
/// API client in any language can read it: `HGET <key> ticket`. In `<app>`,
/// ASCII letters, digits, `-`, `_` and `.` stay and every other byte is
/// written `%XX`, so no two apps share a key.
///
/// [`save`](TicketStore::save) compares and writes in one Lua script (Redis
/// runs it atomically): of several instances saving at once, the newest
/// ticket stays, whatever the order. Each entry expires (Redis `EXPIREAT`)
/// at its issue time plus the kind's [`lifetime`](TicketKind::lifetime):
/// 30 minutes for a `suite_ticket`, 12 hours for a
/// `component_verify_ticket`, by the Redis server's clock. Calls are
/// bounded by the [`RedisConnection`]'s timeout and fail with
/// [`TicketStoreErrorKind::Timeout`] or
/// [`TicketStoreErrorKind::Unavailable`]; see
/// [`crate::dedup::RedisConnection`] for connecting, reconnecting and
/// Redis being down at start.
///
/// Clones share the connection.
///
/// ```no_run
/// use wecom_callback::dedup::{RedisConnection, RedisDedupStore};
/// use wecom_callback::tickets::{RedisTicketStore, TicketKind, TicketStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // One connection for deduplication and tickets.
/// let redis = RedisConnection::open("redis://10.0.0.5:6379/")?;
/// let dedup = RedisDedupStore::new(redis.clone());
/// let tickets = RedisTicketStore::new(redis);
/// # let _ = dedup;
/// if let Some(ticket) = tickets.latest("ww4asffe99e54c0f4c", TicketKind::SuiteTicket).await? {
///     println!("suite_ticket issued at {}", ticket.issued_at());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisTicketStore {
    connection: RedisConnection,
    prefix: String,
    save: Script,
}

impl RedisTicketStore {
    /// A store on `connection`, under [`DEFAULT_TICKET_KEY_PREFIX`].
    #[must_use]
    pub fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_TICKET_KEY_PREFIX.to_owned(),
            save: Script::new(SAVE_LUA),
        }
    }

    /// Puts every key under `prefix` instead; used as is, so end it with a
    /// separator.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The Redis key of `app`'s `kind`.
    #[must_use]
    pub fn redis_key(&self, app: &str, kind: TicketKind) -> String {
        let mut key = String::with_capacity(self.prefix.len() + app.len() + 24);
        key.push_str(&self.prefix);
        // The escaping of dedup keys: `[A-Za-z0-9._-]` kept, `%XX` else.
        crate::dedup::push_escaped(&mut key, app);
        key.push(':');
        key.push_str(kind.as_str());
        key
    }

    async fn save_now(
        &self,
        app: &str,
        kind: TicketKind,
        ticket: &str,
        issued_at: u64,
    ) -> Result<SaveOutcome, TicketStoreError> {
        let mut conn = self.connection.manager();
        let mut invocation = self.save.prepare_invoke();
        invocation
            .key(self.redis_key(app, kind))
            .arg(ticket)
            .arg(issued_at.to_string())
            .arg(expires_at(issued_at, kind).to_string());
        let value: Value = self
            .connection
            .bounded(async move { invocation.invoke_async(&mut conn).await })
            .await?;
        match value {
            Value::Int(1) => Ok(SaveOutcome::Saved),
            Value::BulkString(stored) => Ok(SaveOutcome::Ignored {
                stored_issued_at: parse_time(&stored)?,
            }),
            _ => Err(TicketStoreError::new(TicketStoreErrorKind::Corrupt)),
        }
    }

    async fn latest_now(
        &self,
        app: &str,
        kind: TicketKind,
    ) -> Result<Option<Ticket>, TicketStoreError> {
        let command = redis::cmd("HMGET")
            .arg(self.redis_key(app, kind))
            .arg("ticket")
            .arg("issued_at")
            .to_owned();
        let mut conn = self.connection.manager();
        let value: Value = self
            .connection
            .bounded(async move { command.query_async(&mut conn).await })
            .await?;
        let Value::Array(fields) = value else {
            return Err(TicketStoreError::new(TicketStoreErrorKind::Corrupt));
        };
        match fields.as_slice() {
            [Value::Nil, Value::Nil] => Ok(None),
            [Value::BulkString(ticket), Value::BulkString(issued_at)] => {
                let ticket = String::from_utf8(ticket.clone())
                    .map_err(|e| TicketStoreError::with_source(TicketStoreErrorKind::Corrupt, e))?;
                Ok(Some(Ticket::new(ticket, parse_time(issued_at)?)))
            }
            _ => Err(TicketStoreError::new(TicketStoreErrorKind::Corrupt)),
        }
    }
}

/// The latest expiry time Redis is given: the year 5138, far below what
/// `EXPIREAT` refuses (an expiry in milliseconds must fit an `i64`).
const MAX_EXPIRES_AT: u64 = 100_000_000_000;

/// When a `kind` ticket issued at `issued_at` expires (unix seconds, capped
/// at [`MAX_EXPIRES_AT`]).
fn expires_at(issued_at: u64, kind: TicketKind) -> u64 {
    issued_at
        .saturating_add(kind.lifetime().as_secs())
        .min(MAX_EXPIRES_AT)
}

/// A stored `issued_at`: decimal unix seconds.
fn parse_time(bytes: &[u8]) -> Result<u64, TicketStoreError> {
    crate::store::decimal_u64(bytes)
}

impl fmt::Debug for RedisTicketStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTicketStore")
            .field("prefix", &self.prefix)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl TicketStore for RedisTicketStore {
    fn save<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
        ticket: &'a str,
        issued_at: u64,
    ) -> BoxFuture<'a, Result<SaveOutcome, TicketStoreError>> {
        Box::pin(self.save_now(app, kind, ticket, issued_at))
    }

    fn latest<'a>(
        &'a self,
        app: &'a str,
        kind: TicketKind,
    ) -> BoxFuture<'a, Result<Option<Ticket>, TicketStoreError>> {
        Box::pin(self.latest_now(app, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_the_app() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store =
                    RedisTicketStore::new(RedisConnection::open("redis://127.0.0.1:1/").unwrap());
                assert_eq!(
                    store.redis_key("ww4asffe99e54c0f4c", TicketKind::SuiteTicket),
                    "wecom-callback:ticket:ww4asffe99e54c0f4c:suite_ticket"
                );
                let store = store.key_prefix("p:");
                assert_eq!(
                    store.redis_key("a:b c", TicketKind::ComponentVerifyTicket),
                    "p:a%3Ab%20c:component_verify_ticket"
                );
            });
    }

    #[test]
    fn stored_times_are_plain_decimals() {
        assert_eq!(parse_time(b"1403610513").unwrap(), 1_403_610_513);
        assert_eq!(parse_time(b"18446744073709551615").unwrap(), u64::MAX);
        for bad in [&b""[..], b"-1", b"1e9", b" 1", b"18446744073709551616"] {
            assert_eq!(
                parse_time(bad).unwrap_err().kind(),
                TicketStoreErrorKind::Corrupt,
                "{bad:?}"
            );
        }
    }
}
