//! Where tokens and durable secrets are shared: [`TokenStore`] (tokens,
//! fenced writes and the fetch lock) and [`SecretStore`] (permanent codes,
//! authorizer refresh tokens), in memory and in Redis (feature `redis`).

#[cfg(feature = "redis")]
mod redis;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::credential::BoxFuture;
use super::token::{AccessToken, Secret};
use crate::store::StoreError;

#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_CLIENT_KEY_PREFIX, RedisSecretStore, RedisTokenStore};

/// What a fenced [`TokenStore::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The token is now the stored one.
    Stored,
    /// A token of the same or a newer generation is stored; it stays.
    KeptNewer,
}

/// Where the tokens of several client instances meet.
///
/// Contract: [`put`](Self::put) stores a token only when none is stored or
/// the stored one has a strictly lower [`generation`](AccessToken::generation),
/// in one atomic step (fenced write); [`remove`](Self::remove) deletes only
/// the token of the given generation; [`try_lock`](Self::try_lock) takes a
/// lock held by `owner` for at most `ttl` when nobody holds it, and
/// [`unlock`](Self::unlock) releases it only if `owner` still holds it
/// (compare and delete). A stored token may be dropped when it expires.
///
/// [`MemoryTokenStore`] serves one process (its lock serialises the
/// client instances sharing it); `RedisTokenStore` (feature `redis`)
/// serves every instance.
pub trait TokenStore: fmt::Debug + Send + Sync + 'static {
    /// The stored token of `key`, if any.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<AccessToken>, StoreError>>;

    /// Stores `token` unless one of the same or a newer generation is
    /// stored.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn put<'a>(
        &'a self,
        key: &'a str,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<PutOutcome, StoreError>>;

    /// Removes the stored token of `key` if its generation is `generation`;
    /// whether it did.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn remove<'a>(
        &'a self,
        key: &'a str,
        generation: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Takes the fetch lock of `key` for `owner`, for at most `ttl`, if
    /// nobody holds it; whether it did.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Releases the fetch lock of `key` if `owner` holds it.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Tells every instance not to fetch `key` for `ttl`: the vendor
    /// answered `45009` (quota reached; WeCom and WeChat doc 全局错误码).
    /// `ttl` is the cache's quota cool-down. The default does nothing (each
    /// instance then cools down on its own).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn pause_fetches<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = (key, ttl);
        Box::pin(async { Ok(()) })
    }

    /// How much longer fetches of `key` are paused by
    /// [`pause_fetches`](Self::pause_fetches) (any instance's), if they
    /// are: `Some` non-zero time left, else `None`. The default: never.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn fetches_paused<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        let _ = key;
        Box::pin(async { Ok(None) })
    }
}

/// Where durable secrets live: `permanent_code`s (WeCom suites) and
/// `authorizer_refresh_token`s (Open Platform). Losing one forces the corp
/// or authorizer to authorize again, so choose a store that survives
/// restarts: a `RedisSecretStore` on a Redis **with persistence**
/// (`appendonly yes`), or your database behind this trait.
/// [`MemorySecretStore`] forgets everything when the process ends.
pub trait SecretStore: fmt::Debug + Send + Sync + 'static {
    /// The secret under `key`, if any.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn get_secret<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>>;

    /// Stores `secret` under `key`, replacing any.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer.
    fn put_secret<'a>(
        &'a self,
        key: &'a str,
        secret: &'a Secret,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<AccessToken>, StoreError>> {
        (**self).get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<PutOutcome, StoreError>> {
        (**self).put(key, token)
    }
    fn remove<'a>(
        &'a self,
        key: &'a str,
        generation: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).remove(key, generation)
    }
    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        (**self).try_lock(key, owner, ttl)
    }
    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).unlock(key, owner)
    }
    fn pause_fetches<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).pause_fetches(key, ttl)
    }
    fn fetches_paused<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        (**self).fetches_paused(key)
    }
}

impl<T: SecretStore + ?Sized> SecretStore for Arc<T> {
    fn get_secret<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
        (**self).get_secret(key)
    }
    fn put_secret<'a>(
        &'a self,
        key: &'a str,
        secret: &'a Secret,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).put_secret(key, secret)
    }
}

#[derive(Default)]
struct MemoryTokens {
    tokens: HashMap<String, AccessToken>,
    locks: HashMap<String, (String, Instant)>,
    paused: HashMap<String, Instant>,
}

/// The [`TokenStore`] in this process's memory. Share one (`Arc`) between
/// client instances in one process; separate processes do not see each
/// other's tokens (use `RedisTokenStore`). Never fails. Lock and pause
/// deadlines follow Tokio's clock (so a test that pauses Tokio's time
/// moves them too).
#[derive(Default)]
pub struct MemoryTokenStore {
    inner: Mutex<MemoryTokens>,
}

impl MemoryTokenStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemoryTokens) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tokens, locks) = self.with(|m| (m.tokens.len(), m.locks.len()));
        f.debug_struct("MemoryTokenStore")
            .field("tokens", &tokens)
            .field("locks", &locks)
            .finish()
    }
}

impl TokenStore for MemoryTokenStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<AccessToken>, StoreError>> {
        let token = self.with(|m| m.tokens.get(key).cloned());
        Box::pin(async move { Ok(token) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        token: &'a AccessToken,
    ) -> BoxFuture<'a, Result<PutOutcome, StoreError>> {
        let outcome = self.with(|m| match m.tokens.get(key) {
            Some(stored) if stored.generation() >= token.generation() => PutOutcome::KeptNewer,
            _ => {
                m.tokens.insert(key.to_owned(), token.clone());
                PutOutcome::Stored
            }
        });
        Box::pin(async move { Ok(outcome) })
    }

    fn remove<'a>(
        &'a self,
        key: &'a str,
        generation: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let removed = self.with(|m| {
            if m.tokens
                .get(key)
                .is_some_and(|t| t.generation() == generation)
            {
                m.tokens.remove(key);
                true
            } else {
                false
            }
        });
        Box::pin(async move { Ok(removed) })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = Instant::now();
        let taken = self.with(|m| match m.locks.get(key) {
            Some((_, until)) if *until > now => false,
            _ => {
                m.locks
                    .insert(key.to_owned(), (owner.to_owned(), now + ttl));
                true
            }
        });
        Box::pin(async move { Ok(taken) })
    }

    fn unlock<'a>(&'a self, key: &'a str, owner: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.with(|m| {
            if m.locks
                .get(key)
                .is_some_and(|(held_by, _)| held_by == owner)
            {
                m.locks.remove(key);
            }
        });
        Box::pin(async move { Ok(()) })
    }

    fn pause_fetches<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let until = Instant::now() + ttl;
        self.with(|m| m.paused.insert(key.to_owned(), until));
        Box::pin(async { Ok(()) })
    }

    fn fetches_paused<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Duration>, StoreError>> {
        let now = Instant::now();
        let left = self.with(|m| {
            m.paused
                .get(key)
                .and_then(|until| until.checked_duration_since(now))
                .filter(|left| !left.is_zero())
        });
        Box::pin(async move { Ok(left) })
    }
}

/// The [`SecretStore`] in this process's memory: for tests and trials
/// only, since a restart loses every permanent code and refresh token.
#[derive(Default)]
pub struct MemorySecretStore {
    secrets: Mutex<HashMap<String, Secret>>,
}

impl MemorySecretStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemorySecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("MemorySecretStore")
            .field("secrets", &n)
            .finish()
    }
}

impl SecretStore for MemorySecretStore {
    fn get_secret<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Secret>, StoreError>> {
        let secret = self
            .secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        Box::pin(async move { Ok(secret) })
    }

    fn put_secret<'a>(
        &'a self,
        key: &'a str,
        secret: &'a Secret,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), secret.clone());
        Box::pin(async move { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn older_never_overwrites_newer() {
        let store = MemoryTokenStore::new();
        let new = AccessToken::new("new", 2_000, 7200);
        let old = AccessToken::new("old", 1_000, 7200);
        assert_eq!(store.put("k", &new).await.unwrap(), PutOutcome::Stored);
        assert_eq!(store.put("k", &old).await.unwrap(), PutOutcome::KeptNewer);
        assert_eq!(store.get("k").await.unwrap().unwrap().secret(), "new");
        assert!(!store.remove("k", 1_000).await.unwrap());
        assert!(store.remove("k", 2_000).await.unwrap());
        assert!(store.get("k").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn lock_is_released_by_its_owner_only() {
        let store = MemoryTokenStore::new();
        let ttl = Duration::from_secs(5);
        assert!(store.try_lock("k", "a", ttl).await.unwrap());
        assert!(!store.try_lock("k", "b", ttl).await.unwrap());
        store.unlock("k", "b").await.unwrap();
        assert!(!store.try_lock("k", "b", ttl).await.unwrap());
        store.unlock("k", "a").await.unwrap();
        assert!(store.try_lock("k", "b", ttl).await.unwrap());
    }
}
