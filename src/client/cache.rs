//! The token cache: single flight in the process, a lock across instances,
//! fenced writes, refresh ahead of expiry, bounded retries and cool-downs.
//! The policy knobs are [`CachePolicy`]; the cache itself is inside
//! [`Client`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::Client;
use super::credential::{Credential, TokenReuse};
use super::error::{ApiError, ApiErrorKind};
use super::seams::{Clock, Random};
use super::store::{PutOutcome, TokenStore};
use super::token::AccessToken;

/// When the cache refreshes, retries and stops fetching.
///
/// Lifetimes come from the vendor's `expires_in`, never a constant: a
/// token of lifetime `L` is refreshed once `refresh_ratio` of `L` has
/// passed (in the background, while the token keeps being served), and
/// is served until `L` minus `expiry_margin` (capped at a tenth of `L`).
///
/// ```
/// use std::time::Duration;
/// use wecom_callback::client::CachePolicy;
///
/// let policy = CachePolicy::default()
///     .refresh_ratio(0.75)
///     .quota_cooldown(Duration::from_secs(300));
/// assert_eq!(policy.max_attempts_value(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct CachePolicy {
    refresh_ratio: f64,
    expiry_margin: Duration,
    max_attempts: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    quota_cooldown: Duration,
    failure_cooldown: Duration,
    forced_refresh_interval: Duration,
    lock_ttl: Duration,
    poll_interval: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            refresh_ratio: 0.8,
            expiry_margin: Duration::from_secs(60),
            max_attempts: 3,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            quota_cooldown: Duration::from_secs(60),
            failure_cooldown: Duration::from_secs(2),
            forced_refresh_interval: Duration::from_secs(10),
            lock_ttl: Duration::from_secs(15),
            poll_interval: Duration::from_millis(50),
        }
    }
}

impl CachePolicy {
    /// Refresh once this fraction of the lifetime has passed (default 0.8;
    /// clamped to 0.1..=1.0).
    #[must_use]
    pub fn refresh_ratio(mut self, ratio: f64) -> Self {
        self.refresh_ratio = ratio.clamp(0.1, 1.0);
        self
    }

    /// Stop serving a token this long before the vendor's expiry (default
    /// 60 s; never more than a tenth of the lifetime).
    #[must_use]
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// Attempts per fetch on `-1`, a 5xx or a transport failure (default 3;
    /// at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The configured attempts per fetch.
    #[must_use]
    pub fn max_attempts_value(&self) -> u32 {
        self.max_attempts
    }

    /// Backoff before retry `n` (from 0): a random delay between half and
    /// all of `base · 2ⁿ`, at most `max` (defaults 200 ms and 5 s).
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max.max(base);
        self
    }

    /// After `45009` (quota reached), no fetch of that credential for this
    /// long (default 60 s); a still-valid token keeps being served.
    #[must_use]
    pub fn quota_cooldown(mut self, cooldown: Duration) -> Self {
        self.quota_cooldown = cooldown;
        self
    }

    /// After a fetch failed (all attempts), no new fetch for this long
    /// (default 2 s), doubled for each further failure in a row up to 32
    /// times (64 s by default), so that callers do not fetch one after
    /// another and a vendor that keeps failing is asked rarely. A missing
    /// ticket or secret or a store failure (the vendor was not asked) does
    /// not double it; a missing ticket or secret starts no cool-down at
    /// all (the next call may find what a push just saved).
    #[must_use]
    pub fn failure_cooldown(mut self, cooldown: Duration) -> Self {
        self.failure_cooldown = cooldown;
        self
    }

    /// At most one refresh forced by a rejected token (40001, 40014,
    /// 42001, 40082, 42009) per this interval and credential (default
    /// 10 s): a token the vendor keeps rejecting cannot start a refresh
    /// loop.
    #[must_use]
    pub fn forced_refresh_interval(mut self, interval: Duration) -> Self {
        self.forced_refresh_interval = interval;
        self
    }

    /// How long the cross-instance fetch lock is held at most (default
    /// 15 s, above the transport's 10 s timeout), and how long a waiter
    /// waits for the holder's token before fetching itself.
    #[must_use]
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl.max(Duration::from_millis(10));
        self
    }

    /// How often a waiter looks for the lock holder's token (default 50 ms).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// (refresh at, usable until), unix ms, of `token`.
    fn schedule(&self, token: &AccessToken, reuse: TokenReuse) -> (u64, u64) {
        let life = token.expires_in().saturating_mul(1000);
        if reuse == TokenReuse::SameWhileValid {
            // A fetch before the vendor's expiry gives the same token back:
            // fetch once it expired (the generation is the time of receipt,
            // so this is at or after the vendor's expiry).
            let end = token.expires_at_ms();
            return (end, end);
        }
        let margin = u64::try_from(self.expiry_margin.as_millis())
            .unwrap_or(u64::MAX)
            .min(life / 10);
        // Lifetimes are far below 2^52 ms, so the float is exact enough.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let ahead = (life as f64 * self.refresh_ratio) as u64;
        let usable = life.saturating_sub(margin);
        let born = token.generation();
        (
            born.saturating_add(ahead.min(usable)),
            born.saturating_add(usable),
        )
    }

    #[cfg(test)]
    pub(crate) fn backoff_delay_for_tests(&self, attempt: u32, random: &dyn Random) -> Duration {
        self.backoff_delay(attempt, random)
    }

    fn backoff_delay(&self, attempt: u32, random: &dyn Random) -> Duration {
        let full = self
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.backoff_max);
        let full_ms = u64::try_from(full.as_millis()).unwrap_or(u64::MAX).max(1);
        let half = full_ms / 2;
        Duration::from_millis(half + random.next_u64() % (full_ms - half).max(1))
    }
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: u64,
    usable_until: u64,
}

#[derive(Default)]
struct SlotState {
    cool_until: u64,
    cool_cause: Option<ApiErrorKind>,
    last_forced: Option<u64>,
    /// Failed fetches in a row (each of all its attempts).
    failures: u32,
    /// The highest generation this slot has seen: a new fetch gets a
    /// higher one even within the same millisecond.
    last_generation: u64,
}

struct Slot {
    reuse: TokenReuse,
    current: RwLock<Option<Cached>>,
    fetch: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<SlotState>,
}

impl Slot {
    fn cached(&self) -> Option<Cached> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn state<T>(&self, f: impl FnOnce(&mut SlotState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Any token still usable (nothing is cached).
    Usable,
    /// A token not yet due for refresh (refresh-ahead).
    Fresh,
}

/// The cache inside a [`Client`].
pub(crate) struct TokenCache {
    store: Arc<dyn TokenStore>,
    slots: RwLock<HashMap<String, Arc<Slot>>>,
    policy: CachePolicy,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(
        store: Arc<dyn TokenStore>,
        policy: CachePolicy,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            store,
            slots: RwLock::new(HashMap::new()),
            policy,
            clock,
            random,
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    fn slot(&self, credential: &dyn Credential) -> Arc<Slot> {
        let key = credential.cache_key();
        if let Some(slot) = self
            .slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Arc::clone(slot);
        }
        Arc::clone(
            self.slots
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        reuse: credential.reuse(),
                        current: RwLock::default(),
                        fetch: Arc::default(),
                        state: Mutex::default(),
                    })
                }),
        )
    }

    fn cached(&self, token: AccessToken, reuse: TokenReuse) -> Cached {
        let (refresh_at, usable_until) = self.policy.schedule(&token, reuse);
        Cached {
            token,
            refresh_at,
            usable_until,
        }
    }

    /// Keeps `token` in the slot unless the slot has a newer one; the token
    /// the slot now holds.
    fn adopt(&self, slot: &Slot, token: AccessToken) -> AccessToken {
        slot.state(|s| s.last_generation = s.last_generation.max(token.generation()));
        let mut current = slot.current.write().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some(held) if held.token.generation() >= token.generation() => held.token.clone(),
            _ => {
                *current = Some(self.cached(token.clone(), slot.reuse));
                token
            }
        }
    }

    /// A token for `credential`: the cached one, or one fetched (once, for
    /// every caller and instance) when none is usable.
    pub(crate) async fn token(
        &self,
        credential: &dyn Credential,
        client: &Client,
    ) -> Result<AccessToken, ApiError> {
        let slot = self.slot(credential);
        let now = self.clock.now_ms();
        if let Some(cached) = slot.cached() {
            if now < cached.refresh_at {
                return Ok(cached.token);
            }
            if now < cached.usable_until {
                Self::refresh_ahead(&slot, credential, client, now);
                return Ok(cached.token);
            }
        }
        let _guard = slot.fetch.lock().await;
        let now = self.clock.now_ms();
        if let Some(cached) = slot.cached().filter(|c| now < c.usable_until) {
            return Ok(cached.token);
        }
        if let Some(error) = self.cooling(&slot, now) {
            return Err(error);
        }
        self.obtain(&slot, credential, client, Want::Usable).await
    }

    /// Starts one background refresh of a token that is due but still
    /// usable, unless a fetch is under way or the credential cools down.
    fn refresh_ahead(slot: &Arc<Slot>, credential: &dyn Credential, client: &Client, now: u64) {
        if slot.state(|s| now < s.cool_until) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(guard) = Arc::clone(&slot.fetch).try_lock_owned() else {
            return;
        };
        let slot = Arc::clone(slot);
        let credential = credential.shared();
        let client = client.clone();
        handle.spawn(async move {
            let _guard = guard;
            let cache = client.cache();
            let now = cache.clock.now_ms();
            if slot.cached().is_some_and(|c| now < c.refresh_at) {
                return;
            }
            // A failure is recorded (cool-down, event); the old token stays.
            let _ = cache
                .obtain(&slot, credential.as_ref(), &client, Want::Fresh)
                .await;
        });
    }

    fn cooling(&self, slot: &Slot, now: u64) -> Option<ApiError> {
        slot.state(|s| {
            (now < s.cool_until).then(|| match s.cool_cause {
                Some(cause) => ApiError::with_source(
                    ApiErrorKind::CoolingDown,
                    format!("the last fetch failed: {cause:?}"),
                ),
                None => ApiError::new(ApiErrorKind::CoolingDown),
            })
        })
    }

    fn acceptable(&self, slot: &Slot, token: &AccessToken, want: Want) -> bool {
        let (refresh_at, usable_until) = self.policy.schedule(token, slot.reuse);
        let now = self.clock.now_ms();
        match want {
            Want::Usable => now < usable_until,
            Want::Fresh => now < refresh_at,
        }
    }

    /// The shared path: adopt a token another instance stored, or take the
    /// fetch lock and fetch; waiters poll for the holder's token. Falls back
    /// to a fetch of this instance's own when the store fails.
    async fn obtain(
        &self,
        slot: &Slot,
        credential: &dyn Credential,
        client: &Client,
        want: Want,
    ) -> Result<AccessToken, ApiError> {
        let key = credential.cache_key();
        match self.store.get(key).await {
            Ok(Some(token)) if self.acceptable(slot, &token, want) => {
                return Ok(self.adopt(slot, token));
            }
            Ok(_) => {}
            Err(error) => {
                store_down(credential, "get", &error);
                return self.fetch_alone(slot, credential, client).await;
            }
        }
        let owner = format!(
            "{:016x}{:016x}",
            self.random.next_u64(),
            self.random.next_u64()
        );
        let polls = self.policy.lock_ttl.as_millis() / self.policy.poll_interval.as_millis().max(1);
        let mut polled = 0u128;
        loop {
            match self.store.try_lock(key, &owner, self.policy.lock_ttl).await {
                Ok(true) => {
                    let result = self.fetch_locked(slot, credential, client, want).await;
                    if let Err(error) = self.store.unlock(key, &owner).await {
                        store_down(credential, "unlock", &error);
                    }
                    return result;
                }
                Ok(false) => {
                    if polled >= polls {
                        break;
                    }
                    polled += 1;
                    tokio::time::sleep(self.policy.poll_interval).await;
                    match self.store.get(key).await {
                        Ok(Some(token)) if self.acceptable(slot, &token, want) => {
                            return Ok(self.adopt(slot, token));
                        }
                        Ok(_) => {}
                        Err(error) => {
                            store_down(credential, "get", &error);
                            break;
                        }
                    }
                }
                Err(error) => {
                    store_down(credential, "lock", &error);
                    break;
                }
            }
        }
        self.fetch_alone(slot, credential, client).await
    }

    /// Holding the lock: look once more, then fetch and store (fenced).
    async fn fetch_locked(
        &self,
        slot: &Slot,
        credential: &dyn Credential,
        client: &Client,
        want: Want,
    ) -> Result<AccessToken, ApiError> {
        let key = credential.cache_key();
        if let Ok(Some(token)) = self.store.get(key).await {
            if self.acceptable(slot, &token, want) {
                return Ok(self.adopt(slot, token));
            }
        }
        let token = self.fetch_vendor(slot, credential, client).await?;
        match self.store.put(key, &token).await {
            Ok(PutOutcome::Stored) => Ok(self.adopt(slot, token)),
            Ok(PutOutcome::KeptNewer) => match self.store.get(key).await {
                Ok(Some(newer)) if newer.generation() > token.generation() => {
                    Ok(self.adopt(slot, newer))
                }
                _ => Ok(self.adopt(slot, token)),
            },
            Err(error) => {
                store_down(credential, "put", &error);
                Ok(self.adopt(slot, token))
            }
        }
    }

    /// Without the shared store (it failed, or the lock holder never
    /// delivered): fetch for this instance, store best-effort.
    async fn fetch_alone(
        &self,
        slot: &Slot,
        credential: &dyn Credential,
        client: &Client,
    ) -> Result<AccessToken, ApiError> {
        let token = self.fetch_vendor(slot, credential, client).await?;
        if let Err(error) = self.store.put(credential.cache_key(), &token).await {
            store_down(credential, "put", &error);
        }
        Ok(self.adopt(slot, token))
    }

    /// One fetch from the vendor: bounded attempts with backoff on `-1`,
    /// 5xx and transport failures; a cool-down after `45009` or a failure.
    async fn fetch_vendor(
        &self,
        slot: &Slot,
        credential: &dyn Credential,
        client: &Client,
    ) -> Result<AccessToken, ApiError> {
        let key = credential.cache_key();
        match self.store.fetches_paused(key).await {
            Ok(Some(left)) => {
                let until = self
                    .clock
                    .now_ms()
                    .saturating_add(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
                slot.state(|s| {
                    s.cool_until = until;
                    s.cool_cause = Some(ApiErrorKind::QuotaReached);
                });
                return Err(ApiError::with_source(
                    ApiErrorKind::CoolingDown,
                    "another instance met 45009 (quota reached)",
                ));
            }
            Ok(None) => {}
            Err(error) => store_down(credential, "fetches_paused", &error),
        }
        let mut attempt = 0u32;
        loop {
            let result = credential.fetch(client).await;
            let now = self.clock.now_ms();
            match result {
                Ok(fetched) => {
                    fetch_event(credential, attempt, Some(fetched.expires_in), None);
                    let generation = slot.state(|s| {
                        s.cool_cause = None;
                        s.failures = 0;
                        s.last_generation = now.max(s.last_generation.saturating_add(1));
                        s.last_generation
                    });
                    return Ok(AccessToken::new(
                        fetched.token,
                        generation,
                        fetched.expires_in,
                    ));
                }
                Err(error) => {
                    fetch_event(credential, attempt, None, Some(&error));
                    let kind = error.kind();
                    if kind.is_transient() && attempt + 1 < self.policy.max_attempts {
                        tokio::time::sleep(
                            self.policy.backoff_delay(attempt, self.random.as_ref()),
                        )
                        .await;
                        attempt += 1;
                        continue;
                    }
                    if matches!(
                        kind,
                        ApiErrorKind::MissingTicket | ApiErrorKind::MissingSecret
                    ) {
                        // Nothing was asked of the vendor: no cool-down, and
                        // the next call may find the ticket or secret a push
                        // just saved.
                        return Err(error);
                    }
                    // A store failure asked nothing of the vendor either: it
                    // cools down but does not count as a failure in a row.
                    let failures = slot.state(|s| {
                        if kind != ApiErrorKind::Store {
                            s.failures = s.failures.saturating_add(1);
                        }
                        s.failures.max(1)
                    });
                    let cooldown = if kind == ApiErrorKind::QuotaReached {
                        self.policy.quota_cooldown
                    } else {
                        // Doubles with each failed fetch in a row, up to
                        // 32 times the base.
                        self.policy
                            .failure_cooldown
                            .saturating_mul(1u32 << failures.saturating_sub(1).min(5))
                    };
                    let until =
                        now.saturating_add(u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX));
                    slot.state(|s| {
                        s.cool_until = until;
                        s.cool_cause = Some(kind);
                    });
                    if kind == ApiErrorKind::QuotaReached {
                        if let Err(error) = self.store.pause_fetches(key, cooldown).await {
                            store_down(credential, "pause_fetches", &error);
                        }
                    }
                    return Err(error);
                }
            }
        }
    }

    /// Keeps a token obtained outside a fetch (e.g. `api_query_auth`'s
    /// `authorizer_access_token`), fenced like a fetched one.
    pub(crate) async fn seed(&self, credential: &dyn Credential, token: AccessToken) {
        let slot = self.slot(credential);
        if let Err(error) = self.store.put(credential.cache_key(), &token).await {
            store_down(credential, "put", &error);
        }
        self.adopt(&slot, token);
    }

    /// Drops `token` if it is the one cached (never a newer one), locally
    /// and in the shared store. Whether a retry may get another token: true
    /// when a newer one is cached already, or this token was dropped and
    /// no forced refresh of this credential happened within the policy's
    /// interval.
    pub(crate) async fn invalidate(
        &self,
        credential: &dyn Credential,
        token: &AccessToken,
    ) -> bool {
        let key = credential.cache_key();
        let slot = self.slot(credential);
        let now = self.clock.now_ms();
        let interval =
            u64::try_from(self.policy.forced_refresh_interval.as_millis()).unwrap_or(u64::MAX);
        let too_soon = {
            let mut current = slot.current.write().unwrap_or_else(PoisonError::into_inner);
            match current.as_ref() {
                // Another caller dropped it already (a refresh is under way
                // or done): retry with whatever the cache gives next.
                None => return true,
                Some(held) if held.token.generation() != token.generation() => {
                    return held.token.generation() > token.generation();
                }
                Some(_) => {}
            }
            let too_soon = slot.state(|s| {
                s.last_forced
                    .is_some_and(|at| now.saturating_sub(at) < interval)
            });
            if !too_soon {
                *current = None;
                slot.state(|s| s.last_forced = Some(now));
            }
            too_soon
        };
        if too_soon {
            // No forced refresh now; but another instance may have stored a
            // newer token already.
            return match self.store.get(key).await {
                Ok(Some(newer)) if newer.generation() > token.generation() => {
                    self.adopt(&slot, newer);
                    true
                }
                _ => false,
            };
        }
        tracing::info!(
            target: "wecom_callback::client",
            credential = credential.kind().as_str(),
            app = credential.app(),
            generation = token.generation(),
            "token rejected by the vendor; dropped"
        );
        if let Err(error) = self.store.remove(key, token.generation()).await {
            store_down(credential, "remove", &error);
        }
        true
    }
}

fn store_down(credential: &dyn Credential, op: &'static str, error: &crate::store::StoreError) {
    tracing::warn!(
        target: "wecom_callback::client",
        credential = credential.kind().as_str(),
        app = credential.app(),
        op,
        error = %error,
        "token store failed; this instance goes on with its own cache"
    );
}

fn fetch_event(
    credential: &dyn Credential,
    attempt: u32,
    expires_in: Option<u64>,
    error: Option<&ApiError>,
) {
    match error {
        None => tracing::info!(
            target: "wecom_callback::client",
            credential = credential.kind().as_str(),
            app = credential.app(),
            expires_in,
            attempt,
            outcome = "ok",
            "token fetched"
        ),
        Some(error) => tracing::warn!(
            target: "wecom_callback::client",
            credential = credential.kind().as_str(),
            app = credential.app(),
            attempt,
            outcome = "error",
            errcode = error.code(),
            error = %error,
            "token fetch failed"
        ),
    }
}
