//! Deduplication of re-delivered callbacks: one handler run per message.
//!
//! WeCom re-delivers a message when it gets no answer within five seconds
//! ("企业微信服务器在五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次") and counts any
//! status but 200 as a failure to retry ("http头部返回200表示接收ok，其他错误码企业微信后台会一律当做失败并发起重试"),
//! so one message can arrive up to four times (WeCom doc 接收消息与事件 概述,
//! /90238, and 回调配置, /91116; WeChat Official Accounts behave alike). A
//! [`DedupStore`] remembers which messages were seen and what they were
//! answered, so that a retry does not reach the handler again and gets the
//! first answer back.
//!
//! This module is the store only: [`DedupKey`] (which message),
//! [`StoredAnswer`] (what it was answered), the [`DedupStore`] trait and
//! its in-memory implementation [`MemoryDedupStore`]. It reads no HTTP.
//!
//! # Contract
//!
//! For each delivery, the caller (the layer) does this:
//!
//! 1. **Only after the delivery is authentic** (signature verified,
//!    decrypted, receive id checked), build its [`DedupKey`] and call
//!    [`claim`](DedupStore::claim). Forged requests never reach the store,
//!    so they cannot fill it or block a real message.
//! 2. [`Claim::New`]: this delivery owns the message and runs the handler.
//!    When the handler answered, [`complete`](DedupStore::complete) stores
//!    the answer for the *window*; when it failed (an error, a 5xx, a panic,
//!    a cancelled future), [`release`](DedupStore::release) with the claim's
//!    [`ClaimToken`] so that WeCom's retry can run it again.
//! 3. [`Claim::InFlight`]: another delivery of the same message is running
//!    the handler now. Do not run it; what to answer meanwhile is the
//!    caller's choice (the kind's acknowledgement, or waiting for the first
//!    answer).
//! 4. [`Claim::Done`]: the message was handled; answer the retry with the
//!    stored answer, encrypted afresh for this request.
//!
//! **In flight** means claimed and neither completed nor released. A claim
//! lapses after the *in-flight TTL* given to `claim` (default
//! [`DEFAULT_IN_FLIGHT_TTL`], 30 s): after that, the next delivery gets
//! [`Claim::New`] and runs the handler again. This is what keeps a handler
//! that hung, or a process that died between claim and complete, from
//! blocking its message for good; the price is that a handler running
//! longer than the in-flight TTL can run twice if a retry arrives after it.
//! Choose it longer than your slowest handler and longer than WeCom's retry
//! span (about 3 × 5 s); shorter, if a retry should take over sooner from a
//! crashed instance of a shared store.
//!
//! **The window** is the TTL given to `complete` (default [`DEFAULT_WINDOW`],
//! 300 s, equal to the timestamp window, SECURITY.md (c)): how long a
//! handled message's answer is kept, counted from `complete`. A replay older
//! than the timestamp window is refused before it gets here; anything
//! younger meets its stored answer.
//!
//! **Tokens.** `release` removes a claim only if it still holds the token
//! that `claim` returned, so a late release (after the claim lapsed and a
//! retry took it) leaves the retry's claim alone. `complete` needs no token:
//! a handled message is a fact whoever holds the claim, and the last
//! `complete` wins.
//!
//! **Capacity.** A store is bounded: [`MemoryDedupStore`] keeps about
//! [`DEFAULT_MAX_ENTRIES`] (10 000) entries, weighted by size, and when full
//! evicts entries before their TTL, the oldest of those not used since
//! first (quick_cache's S3-FIFO policy, see the type). **An evicted message
//! can be handled twice**. [`MemoryDedupStore`] never evicts a live
//! in-flight claim (so it may exceed its capacity by them); a store that
//! did would let a concurrent retry run the handler while the first run
//! goes on. With the defaults
//! that starts above about 33 distinct messages a second sustained over the
//! 300 s window; raise the capacity for busier endpoints.
//!
//! **Failures.** Shared stores can fail ([`StoreError`]). When `claim`
//! fails, the caller either processes the message anyway (at least once)
//! or answers a non-200 status so that WeCom retries. When `complete`
//! fails, answer anyway: the claim lapses after the in-flight TTL and a
//! later retry runs the handler again. When `release` fails, retries get
//! [`Claim::InFlight`] until the in-flight TTL passes.
//!
//! # Example
//!
//! ```
//! use wecom_callback::dedup::{
//!     Claim, DedupKey, DedupStore, MemoryDedupStore, StoredAnswer, DEFAULT_IN_FLIGHT_TTL,
//!     DEFAULT_WINDOW,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryDedupStore::new();
//! let key = DedupKey::for_message("hr", Some("1234567890123456"), b"<xml>...</xml>");
//!
//! // The first delivery runs the handler and stores its answer.
//! let Claim::New(_token) = store.claim(&key, DEFAULT_IN_FLIGHT_TTL).await? else {
//!     unreachable!("first delivery");
//! };
//! let reply = StoredAnswer::Reply { plaintext: "<xml>hi</xml>".into() };
//! store.complete(&key, reply.clone(), DEFAULT_WINDOW).await?;
//!
//! // A retry gets the same answer, without running the handler.
//! assert_eq!(store.claim(&key, DEFAULT_IN_FLIGHT_TTL).await?, Claim::Done(reply));
//! # Ok(())
//! # }
//! ```

pub(crate) mod answer;
mod error;
mod key;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "redis")]
pub use self::redis::{DEFAULT_KEY_PREFIX, RedisConnection, RedisDedupStore};
#[cfg(feature = "redis")]
pub(crate) use self::redis::{RELEASE_LUA, ttl_millis};
pub use answer::{AnswerDecodeError, MAX_KEPT_BODY, StoredAnswer};
pub use error::{StoreError, StoreErrorKind};
#[cfg(feature = "redis")]
pub(crate) use key::push_escaped;
pub use key::{DedupKey, DedupScope, ScopeRef};
pub use memory::MemoryDedupStore;

/// How long a handled message's answer is kept: 300 s, the default
/// timestamp window (SECURITY.md (c)).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

/// How long an unfinished claim blocks other deliveries of its message: 30
/// s, longer than WeCom's retry span (three retries, five seconds apart;
/// doc 接收消息与事件 概述).
pub const DEFAULT_IN_FLIGHT_TTL: Duration = Duration::from_secs(30);

/// The default capacity of [`MemoryDedupStore`]: 10 000 entries
/// (SECURITY.md (c)).
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;

/// The future a [`DedupStore`] method returns: boxed, so that the trait can
/// be used as `dyn DedupStore`, and `Send`, so that it can run on any
/// executor thread.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Identifies one claim, so that [`DedupStore::release`] removes only the
/// claim it was given for (see the module's contract).
///
/// 16 opaque bytes. A shared store should make them unique across
/// processes ([`random`](Self::random)); the in-memory store numbers its
/// claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken([u8; 16]);

impl ClaimToken {
    /// A token from the operating system's random source.
    ///
    /// # Errors
    /// [`StoreErrorKind::Other`] when the random source fails.
    pub fn random() -> Result<Self, StoreError> {
        let mut bytes = [0; 16];
        getrandom::fill(&mut bytes).map_err(|_| StoreError::new(StoreErrorKind::Other))?;
        Ok(Self(bytes))
    }

    /// The token with these bytes (e.g. read back from a shared store).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The token's bytes.
    #[must_use]
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

/// The outcome of [`DedupStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// No delivery of this message was seen within the window, or the last
    /// claim lapsed or was released: the caller now holds the claim, must
    /// run the handler and then call [`DedupStore::complete`] or
    /// [`DedupStore::release`] (with this token).
    New(ClaimToken),
    /// Another delivery holds the claim and has not finished: do not run
    /// the handler.
    InFlight,
    /// The message was handled and answered this; answer the same.
    Done(StoredAnswer),
}

/// Where deliveries are recorded: one claim per message, then its answer.
///
/// The methods return boxed futures ([`BoxFuture`]) so that the trait is
/// object safe (`Arc<dyn DedupStore>`) and a store may do I/O (Redis). The
/// contract every implementation keeps is in the [module docs](self):
/// `claim` is atomic (of any number of simultaneous claims of one key,
/// exactly one gets [`Claim::New`]), entries expire after the TTL they were
/// given, and `release` honours the token.
pub trait DedupStore: fmt::Debug + Send + Sync + 'static {
    /// Claims `key` for this delivery, atomically.
    ///
    /// Returns [`Claim::New`] and records the key as in flight for
    /// `in_flight_ttl` when the key is unknown (or its entry expired);
    /// otherwise [`Claim::InFlight`] or [`Claim::Done`] with what is
    /// recorded, unchanged.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot answer; nothing is recorded then
    /// as far as the caller can tell.
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;

    /// Records that the message under `key` was handled and answered
    /// `answer`; later claims get [`Claim::Done`] for `ttl` (the window),
    /// counted from now. Replaces whatever was recorded.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot record it.
    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Gives up the claim `token` on `key` after the handler failed, so that
    /// the next delivery gets [`Claim::New`]. Does nothing when the key is
    /// not in flight under this token (completed, lapsed, or claimed again).
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be reached.
    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// This store as the in-memory store, if it is one; `None` (the
    /// default) for every other store. The in-memory store never waits, so
    /// the layer claims and completes on it directly instead of through
    /// boxed futures (about 1 k instructions and four allocations per
    /// callback less); the contract is the same either way.
    fn as_memory(&self) -> Option<&MemoryDedupStore> {
        None
    }
}

impl<T: DedupStore + ?Sized> DedupStore for Arc<T> {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        (**self).claim(key, in_flight_ttl)
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).complete(key, answer, ttl)
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).release(key, token)
    }

    fn as_memory(&self) -> Option<&MemoryDedupStore> {
        (**self).as_memory()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ() {
        let a = ClaimToken::random().unwrap();
        let b = ClaimToken::random().unwrap();
        assert_ne!(a, b);
        assert_eq!(ClaimToken::from_bytes(a.to_bytes()), a);
    }

    #[test]
    fn the_trait_is_object_safe_and_futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let store: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::new());
        let key = DedupKey::digest("app", b"");
        let fut = store.claim(&key, DEFAULT_IN_FLIGHT_TTL);
        assert_send(&fut);
        // Arc<dyn DedupStore> is itself a store.
        fn takes_store(_: &impl DedupStore) {}
        takes_store(&store);
    }
}
