//! [`MemoryDedupStore`]: the in-process store, a [`quick_cache`] concurrent
//! cache of claims and answers, each with its own expiry.

use std::borrow::Cow;
use std::fmt;
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::{Cache, DefaultLifecycle, EntryAction, EntryResult};
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

use super::{
    BoxFuture, Claim, ClaimToken, DEFAULT_MAX_ENTRIES, DedupKey, DedupStore, StoreError,
    StoredAnswer,
};

/// TTLs are capped at this (a year) before they are added to the clock.
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Every entry weighs one unit, plus one per full KiB of key and reply.
const BYTES_PER_UNIT: usize = 1024;

/// How many parts (each with its own lock and its share of the capacity)
/// the cache is split into, whatever the machine: so that how much one part
/// holds, and the largest reply it keeps, do not depend on the core count.
/// quick_cache uses fewer for small capacities (at least 32 entries each).
const SHARDS: usize = 16;

/// The share of each part kept for entries read again (a retried message)
/// after their first eviction pass; the rest holds new entries in arrival
/// order. quick_cache's default, 0.97, suits caches whose entries are read
/// often; here almost every entry is written once and read again only by a
/// retry, so with it a full store evicted some of its newest entries before
/// older ones: claims in flight (a load run handled 1 duplicate of 3 001
/// twice; [`PinLiveClaims`] now keeps those whatever the split) and answers
/// (475 to 631 of the newest 9 000 in 1 000 runs of the arrival-order
/// test below). With 0.5 the newest answers go only when their part of
/// the cache is full (at most 62 of those 9 000, from parts that drew more
/// than their share of keys); 0.2 did as well, but then a 100-unit store
/// kept no 20 KiB reply, since an entry heavier than the main queue's
/// share is not kept.
const HOT_ALLOCATION: f64 = 0.5;

/// How many times a claim looks again when a concurrent `complete` of the
/// same key took the place it had reserved.
const CLAIM_ATTEMPTS: usize = 3;

/// Never wait for a concurrent claim of the same key: it holds its place
/// only between two lock acquisitions, and it gets [`Claim::New`].
const NO_WAIT: Option<Duration> = Some(Duration::ZERO);

/// What is recorded for one key.
#[derive(Clone)]
enum State {
    InFlight(ClaimToken),
    Done(StoredAnswer),
}

impl State {
    /// What a claim of a live entry in this state gets.
    fn claim(&self) -> Claim {
        match self {
            Self::InFlight(_) => Claim::InFlight,
            Self::Done(answer) => Claim::Done(answer.clone()),
        }
    }
}

/// One entry: what is recorded, until when.
#[derive(Clone)]
struct Slot {
    state: State,
    expires: Instant,
}

fn weigh(key: &DedupKey, state: &State) -> u64 {
    let payload = match state {
        State::InFlight(_) => 0,
        State::Done(answer) => answer.payload_len(),
    };
    let units = key.len().saturating_add(payload) / BYTES_PER_UNIT;
    u64::try_from(units).unwrap_or(u64::MAX).saturating_add(1)
}

/// Weighs the cache's entries with [`weigh`].
#[derive(Clone, Copy)]
struct SlotWeighter;

impl Weighter<DedupKey, Slot> for SlotWeighter {
    fn weight(&self, key: &DedupKey, slot: &Slot) -> u64 {
        weigh(key, &slot.state)
    }
}

/// Keeps live claims out of eviction: an in-flight entry whose TTL has not
/// passed is pinned, so a full store evicts answers and expired claims
/// around it instead of letting a retry run the handler a second time.
/// Evicted entries are dropped as quick_cache's default lifecycle drops them
/// (after the part's lock is released).
#[derive(Clone, Default)]
struct PinLiveClaims(DefaultLifecycle<DedupKey, Slot>);

impl Lifecycle<DedupKey, Slot> for PinLiveClaims {
    type RequestState =
        <DefaultLifecycle<DedupKey, Slot> as Lifecycle<DedupKey, Slot>>::RequestState;

    fn is_pinned(&self, _key: &DedupKey, slot: &Slot) -> bool {
        // Only asked while a full part looks for entries to evict.
        matches!(slot.state, State::InFlight(_)) && slot.expires > Instant::now()
    }

    fn on_evict(&self, state: &mut Self::RequestState, key: DedupKey, slot: Slot) {
        self.0.on_evict(state, key, slot);
    }
}

type SlotCache = Cache<DedupKey, Slot, SlotWeighter, DefaultHashBuilder, PinLiveClaims>;

/// When an entry written at `now` with `ttl` expires.
fn deadline(now: Instant, ttl: Duration) -> Instant {
    // A year from now cannot overflow the monotonic clock of any supported
    // platform; if it did, the entry would expire at once (handled again).
    now.checked_add(ttl.min(MAX_TTL)).unwrap_or(now)
}

/// What the clones of a store share.
struct Shared {
    cache: SlotCache,
    /// The number of the last claim: the store numbers its claims.
    last_token: AtomicU64,
}

impl Shared {
    fn new(max_entries: u64) -> Self {
        let items = usize::try_from(max_entries).unwrap_or(usize::MAX);
        let options = OptionsBuilder::new()
            .shards(SHARDS)
            .estimated_items_capacity(items)
            .weight_capacity(max_entries)
            .hot_allocation(HOT_ALLOCATION)
            .build();
        let cache = match options {
            Ok(options) => Cache::with_options(
                options,
                SlotWeighter,
                DefaultHashBuilder::default(),
                PinLiveClaims::default(),
            ),
            // Only when a capacity is unset, which it is not; quick_cache's
            // own choice of shards then.
            Err(_) => Cache::with(
                items,
                max_entries,
                SlotWeighter,
                DefaultHashBuilder::default(),
                PinLiveClaims::default(),
            ),
        };
        Self {
            cache,
            last_token: AtomicU64::new(0),
        }
    }

    /// A fresh token.
    fn token(&self) -> ClaimToken {
        let n = self
            .last_token
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        ClaimToken::from_bytes(u128::from(n).to_be_bytes())
    }
}

/// The in-memory [`DedupStore`]: one process's deliveries, in a bounded
/// concurrent cache ([`quick_cache`]) with a TTL per entry.
///
/// It keeps the [module's contract](super) within one process: run several
/// instances behind a load balancer and a retry that lands on another
/// instance is handled again; a shared store is needed then.
///
/// - **Atomic claims**: the cache is split by key hash into parts, each
///   behind its own lock; a claim reads and, if the key is free, reserves it
///   under that lock (never across an `await`), so of simultaneous claims of
///   one key exactly one gets [`Claim::New`]. The others get
///   [`Claim::InFlight`], also in the instant between the winner's
///   reservation and its record.
/// - **Expiry**: an in-flight entry expires after the `in_flight_ttl` given
///   to `claim`, a completed one after the `ttl` given to `complete`
///   (counted from that call; reads do not extend it; TTLs above a year are
///   cut to a year). An expired entry is gone for the next claim at once.
///   Its memory is reclaimed when the entry is evicted to make room, when
///   its key is claimed again, or by
///   [`run_pending_tasks`](Self::run_pending_tasks), which frees every
///   expired entry now; until then it counts against the capacity like a
///   live one, so memory stays within the same bound.
/// - **Capacity**: about `max_entries` units, where an entry weighs one unit
///   plus one per full KiB of its key and stored reply. So it holds at most
///   about `max_entries` entries and about `max_entries` KiB of replies. The
///   capacity is shared out evenly (rounded up) among the cache's parts, and
///   keys fall into parts by hash, so one part may fill, and evict, a little
///   before the whole store is full. Each write that takes a part over its
///   share evicts entries of that part at once, by quick_cache's S3-FIFO
///   policy, not LRU: a new key enters a probation queue of half the
///   part's share; entries
///   leave that queue in the order they came unless they were used again
///   meanwhile (completing a claim, or a retry's claim, counts), which moves
///   them to the main queue; the main queue evicts entries in turn, sparing
///   once those used since it last passed them. So the first to go are the
///   oldest entries not used since. **Live claims are never evicted** (an
///   in-flight entry before its `in_flight_ttl` passes): a retry that
///   arrives while the handler runs gets [`Claim::InFlight`] however many
///   new keys came meanwhile. So a store may exceed its capacity by the
///   weight of its live claims (one unit, about 150 bytes, per delivery
///   being handled for a MsgId key); the next write evicts answers and
///   lapsed claims to bring it back. A claim is always admitted; a heavier
///   entry that enters a full part when the probation queue cannot free
///   enough room (a reply completed after its claim lapsed) may be
///   evicted as it enters. **An evicted answer can be handled twice**; so
///   can a key whose reply alone weighs more than nearly a part's share of
///   the capacity (it is not kept).
/// - **Never fails**: every method returns `Ok`, without waiting on I/O;
///   a call may wait for a concurrent call to release a lock.
///
/// Clones share one store.
///
/// ```
/// use std::time::Duration;
/// use wecom_callback::dedup::{Claim, DedupKey, DedupStore, MemoryDedupStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryDedupStore::with_max_entries(50_000);
/// let key = DedupKey::msg_id("hr", "42").unwrap();
/// let Claim::New(token) = store.claim(&key, Duration::from_secs(30)).await? else {
///     unreachable!();
/// };
/// assert_eq!(store.claim(&key, Duration::from_secs(30)).await?, Claim::InFlight);
///
/// // The handler failed: let the retry run it.
/// store.release(&key, token).await?;
/// assert!(matches!(store.claim(&key, Duration::from_secs(30)).await?, Claim::New(_)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryDedupStore {
    shared: Arc<Shared>,
    max_entries: u64,
}

impl MemoryDedupStore {
    /// A store of [`DEFAULT_MAX_ENTRIES`] (10 000) units.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store of about `max_entries` units (one per entry, plus one per
    /// full KiB of key and reply; see the type's docs). Each small entry
    /// costs about 150 bytes of memory.
    #[must_use]
    pub fn with_max_entries(max_entries: u64) -> Self {
        Self {
            shared: Arc::new(Shared::new(max_entries)),
            max_entries,
        }
    }

    /// The capacity in units, as configured.
    #[must_use]
    pub fn max_entries(&self) -> u64 {
        self.max_entries
    }

    /// How many entries (in flight or done) the store holds, counting
    /// expired entries that were not freed yet.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        u64::try_from(self.shared.cache.len()).unwrap_or(u64::MAX)
    }

    /// Frees every expired entry now, so that
    /// [`entry_count`](Self::entry_count) counts live entries only. Useful
    /// in tests and metrics; never needed for correctness.
    pub fn run_pending_tasks(&self) {
        let now = Instant::now();
        self.shared.cache.retain(|_, slot| slot.expires > now);
    }

    pub(crate) fn claim_now(&self, key: &DedupKey, in_flight_ttl: Duration) -> Claim {
        let now = Instant::now();
        let cache = &self.shared.cache;
        for _ in 0..CLAIM_ATTEMPTS {
            let found = cache.entry(key, NO_WAIT, |_, slot| {
                if slot.expires > now {
                    EntryAction::Retain(slot.state.claim())
                } else {
                    // Expired: as if it were not there.
                    EntryAction::ReplaceWithGuard
                }
            });
            let place = match found {
                EntryResult::Retained(claim) => return claim,
                EntryResult::Vacant(place) | EntryResult::Replaced(place, _) => place,
                // Another claim reserved the key and is about to record it:
                // that one runs the handler. (Removed: the closure never
                // removes.)
                EntryResult::Timeout | EntryResult::Removed(..) => return Claim::InFlight,
            };
            let token = self.shared.token();
            let slot = Slot {
                state: State::InFlight(token),
                expires: deadline(now, in_flight_ttl),
            };
            if place.insert(slot).is_ok() {
                return Claim::New(token);
            }
            // A concurrent `complete` recorded the key in the reserved
            // place: look again.
        }
        Claim::InFlight
    }

    pub(crate) fn complete_now(&self, key: &DedupKey, answer: StoredAnswer, ttl: Duration) {
        self.complete_key(Cow::Borrowed(key), answer, ttl);
    }

    /// [`complete_now`](Self::complete_now) by a caller that is done with
    /// its key: an answer heavier than the claim (a reply of 1 KiB or more)
    /// enters the cache under this key instead of a copy of it.
    #[cfg_attr(not(feature = "layer"), allow(dead_code))]
    pub(crate) fn complete_owned(&self, key: DedupKey, answer: StoredAnswer, ttl: Duration) {
        self.complete_key(Cow::Owned(key), answer, ttl);
    }

    /// `key_arg` is borrowed (copied if the cache needs a key of its own)
    /// or handed over.
    fn complete_key(&self, key_arg: Cow<'_, DedupKey>, answer: StoredAnswer, ttl: Duration) {
        let key = key_arg.as_ref();
        let state = State::Done(answer);
        let weight = weigh(key, &state);
        let mut pending = Some(Slot {
            state,
            expires: deadline(Instant::now(), ttl),
        });
        let cache = &self.shared.cache;
        let found = cache.entry(key, NO_WAIT, |_, slot| {
            // Overwrite in place when the weight stays (quick_cache evicts
            // on inserts only); the old value is dropped after the lock.
            let old = match pending.take() {
                Some(new) if weigh(key, &slot.state) == weight => Some(mem::replace(slot, new)),
                new => {
                    pending = new;
                    None
                }
            };
            EntryAction::Retain(old)
        });
        let Some(slot) = pending else {
            return;
        };
        match found {
            EntryResult::Vacant(place) | EntryResult::Replaced(place, _) => {
                if let Err(slot) = place.insert(slot) {
                    cache.insert(key_arg.into_owned(), slot);
                }
            }
            // Another weight (an insert, which evicts if needed), or a
            // concurrent claim's reservation (which the insert overrides).
            EntryResult::Retained(_) | EntryResult::Removed(..) | EntryResult::Timeout => {
                cache.insert(key_arg.into_owned(), slot);
            }
        }
    }

    pub(crate) fn release_now(&self, key: &DedupKey, token: ClaimToken) {
        self.shared.cache.remove_if(
            key,
            |slot| matches!(slot.state, State::InFlight(held) if held == token),
        );
    }

    #[cfg(test)]
    fn weighted_size(&self) -> u64 {
        self.shared.cache.weight()
    }

    #[cfg(test)]
    fn capacity(&self) -> u64 {
        self.shared.cache.capacity()
    }
}

impl Default for MemoryDedupStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryDedupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDedupStore")
            .field("max_entries", &self.max_entries)
            .field("entry_count", &self.entry_count())
            .finish_non_exhaustive()
    }
}

impl DedupStore for MemoryDedupStore {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(std::future::ready(Ok(self.claim_now(key, in_flight_ttl))))
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.complete_now(key, answer, ttl);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.release_now(key, token);
        Box::pin(std::future::ready(Ok(())))
    }

    fn as_memory(&self) -> Option<&MemoryDedupStore> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DEFAULT_IN_FLIGHT_TTL, DEFAULT_WINDOW};
    use std::future::Future;
    use std::sync::Barrier;
    use std::thread;

    /// The key of message `i` in [`interleaved`].
    fn nth_key(i: u64) -> DedupKey {
        DedupKey::agent_message("app", 1, i)
    }

    /// Claims messages `0..n` in a store of 10 000 units, as a busy server
    /// interleaves them: each is retried, then completed, `lag` claims after
    /// its own. Returns the store and how many of those retries got
    /// `Claim::New` (a claim lost while its handler ran).
    fn interleaved(n: u64, lag: u64, ttl: Duration) -> (MemoryDedupStore, usize) {
        let store = MemoryDedupStore::with_max_entries(10_000);
        let mut lost_in_flight = 0;
        for i in 0..n {
            assert!(matches!(store.claim_now(&nth_key(i), ttl), Claim::New(_)));
            if let Some(old) = i.checked_sub(lag) {
                // A retry while the handler still runs must not run it again.
                if matches!(store.claim_now(&nth_key(old), ttl), Claim::New(_)) {
                    lost_in_flight += 1;
                }
                store.complete_now(&nth_key(old), StoredAnswer::Ack, ttl);
            }
        }
        (store, lost_in_flight)
    }

    /// A full store keeps its newest entries, in-flight claims included:
    /// 30 000 messages through a store of 10 000, each completed 300 claims
    /// after its own.
    #[test]
    fn a_full_store_keeps_in_flight_claims_and_its_newest_answers() {
        let ttl = Duration::from_secs(60);
        let (n, lag) = (30_000u64, 300u64);
        let (store, lost_in_flight) = interleaved(n, lag, ttl);
        assert_eq!(lost_in_flight, 0);
        let missing = (n - 3_000..n - lag)
            .filter(|&i| !matches!(store.claim_now(&nth_key(i), ttl), Claim::Done(_)))
            .count();
        assert_eq!(missing, 0);
    }

    /// Most messages are never retried: their entries are claimed and
    /// completed, never read again. A full store keeps the newest of those
    /// answers in arrival order, up to what its split into parts allows:
    /// keys fall into the 16 parts by a hash seeded anew for each store, so
    /// a part that draws more than its share of the newest keys evicts a
    /// few of them early. In 1 000 runs with 0.5, the newest 8 000 were
    /// always all kept, and at most 62 of the newest 9 000 were evicted
    /// (in 397 runs, some were). With quick_cache's default split, 0.97,
    /// 475 to 631 of the newest 9 000 were evicted in every run, and some
    /// of the newest 8 000 in 988 of them.
    #[test]
    fn a_full_store_keeps_its_newest_answers_in_arrival_order() {
        let ttl = Duration::from_secs(60);
        let store = MemoryDedupStore::with_max_entries(10_000);
        let (n, lag) = (30_000u64, 300u64);
        for i in 0..n {
            assert!(matches!(store.claim_now(&nth_key(i), ttl), Claim::New(_)));
            if let Some(old) = i.checked_sub(lag) {
                store.complete_now(&nth_key(old), StoredAnswer::Ack, ttl);
            }
        }
        // Looked at without a claim, which would count as a use.
        let missing_of_newest = |count: u64| {
            (n - lag - count..n - lag)
                .filter(|&i| {
                    !matches!(
                        store.shared.cache.peek(&nth_key(i)),
                        Some(Slot {
                            state: State::Done(_),
                            ..
                        })
                    )
                })
                .count()
        };
        assert_eq!(missing_of_newest(8_000), 0);
        let missing = missing_of_newest(9_000);
        assert!(
            missing <= 200,
            "{missing} of the newest 9 000 answers evicted"
        );
    }

    #[test]
    fn live_claims_outlast_a_probation_queue_of_new_keys() {
        // More keys arrive while each handler runs than half the store
        // holds: S3-FIFO alone would evict the claims (without pinning,
        // 17 008 of these 22 000 retries ran the handler again).
        let (store, lost_in_flight) = interleaved(30_000, 8_000, Duration::from_secs(60));
        assert_eq!(lost_in_flight, 0);
        // The answers made room for the claims: the store stayed bounded.
        assert!(
            store.entry_count() <= 10_000 + 16,
            "{}",
            store.entry_count()
        );
    }

    #[test]
    fn live_claims_may_overfill_the_store_but_expired_ones_are_evicted() {
        let store = MemoryDedupStore::with_max_entries(100);
        let key = |i: u64| DedupKey::agent_message("app", 2, i);
        for i in 0..1_000 {
            assert!(matches!(
                store.claim_now(&key(i), Duration::from_secs(60)),
                Claim::New(_)
            ));
        }
        assert_eq!(store.entry_count(), 1_000);
        assert!((0..1_000).all(|i| store.claim_now(&key(i), Duration::ZERO) == Claim::InFlight));

        // Claims whose TTL has passed are not pinned: a full store evicts
        // them like answers.
        let lapsed = MemoryDedupStore::with_max_entries(100);
        for i in 0..1_000 {
            assert!(matches!(
                lapsed.claim_now(&key(i), Duration::ZERO),
                Claim::New(_)
            ));
        }
        assert!(lapsed.entry_count() <= 100, "{}", lapsed.entry_count());
    }

    /// Runs a store future to completion on a fresh single-threaded runtime.
    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn key(id: &str) -> DedupKey {
        DedupKey::msg_id("app", id).unwrap()
    }

    fn reply(text: &str) -> StoredAnswer {
        StoredAnswer::Reply {
            plaintext: text.to_owned(),
        }
    }

    /// Polls `claim` until it is `New` or `limit` passes.
    fn claim_new_within(store: &MemoryDedupStore, key: &DedupKey, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Claim::New(_) = run(store.claim(key, DEFAULT_IN_FLIGHT_TTL)).unwrap() {
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn new_then_in_flight_then_done() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        let Claim::New(_) = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap() else {
            panic!("first claim is not New");
        };
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::InFlight
        );
        run(store.complete(&k, reply("<xml>a</xml>"), DEFAULT_WINDOW)).unwrap();
        for _ in 0..3 {
            assert_eq!(
                run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
                Claim::Done(reply("<xml>a</xml>"))
            );
        }
        // Other keys, and the same id under another app, are unaffected.
        assert!(matches!(
            run(store.claim(&key("2"), DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
        let other_app = DedupKey::msg_id("other", "1").unwrap();
        assert!(matches!(
            run(store.claim(&other_app, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
    }

    #[test]
    fn every_answer_kind_is_kept() {
        let store = MemoryDedupStore::new();
        for (id, answer) in [
            ("e", StoredAnswer::Empty),
            ("a", StoredAnswer::Ack),
            ("r", reply("{\"msgtype\":\"text\"}")),
        ] {
            let k = key(id);
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
            run(store.complete(&k, answer.clone(), DEFAULT_WINDOW)).unwrap();
            assert_eq!(
                run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
                Claim::Done(answer)
            );
        }
    }

    #[test]
    fn release_lets_the_next_claim_run() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        let Claim::New(token) = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap() else {
            panic!("first claim is not New");
        };
        run(store.release(&k, token)).unwrap();
        let Claim::New(second) = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap() else {
            panic!("claim after release is not New");
        };
        assert_ne!(token, second);
    }

    #[test]
    fn release_with_a_stale_token_keeps_the_current_claim() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        let Claim::New(first) = run(store.claim(&k, Duration::from_millis(50))).unwrap() else {
            panic!("first claim is not New");
        };
        // The first claim lapses; a retry takes the message over.
        assert!(claim_new_within(&store, &k, Duration::from_secs(5)));
        // The first handler fails late: its release must not free the
        // retry's claim.
        run(store.release(&k, first)).unwrap();
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::InFlight
        );
    }

    #[test]
    fn release_does_not_undo_a_completed_message() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        let Claim::New(token) = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap() else {
            panic!("first claim is not New");
        };
        run(store.complete(&k, StoredAnswer::Empty, DEFAULT_WINDOW)).unwrap();
        run(store.release(&k, token)).unwrap();
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::Done(StoredAnswer::Empty)
        );
        // Releasing a key that was never claimed is harmless.
        run(store.release(&key("unknown"), token)).unwrap();
    }

    #[test]
    fn an_unfinished_claim_lapses_after_the_in_flight_ttl() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        let start = Instant::now();
        let Claim::New(_) = run(store.claim(&k, Duration::from_millis(100))).unwrap() else {
            panic!("first claim is not New");
        };
        // Still blocked right away (the claim is far from its TTL)…
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::InFlight
        );
        // …and free once the TTL passed, not before.
        assert!(claim_new_within(&store, &k, Duration::from_secs(5)));
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn a_done_entry_expires_after_the_window() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
        let start = Instant::now();
        run(store.complete(&k, StoredAnswer::Ack, Duration::from_millis(100))).unwrap();
        // Completing replaces the in-flight TTL with the window: reads do
        // not extend it.
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::Done(StoredAnswer::Ack)
        );
        assert!(claim_new_within(&store, &k, Duration::from_secs(5)));
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn zero_and_huge_ttls_do_not_panic() {
        let store = MemoryDedupStore::new();
        let k = key("1");
        run(store.claim(&k, Duration::ZERO)).unwrap();
        assert!(matches!(
            run(store.claim(&k, Duration::MAX)).unwrap(),
            Claim::New(_)
        ));
        run(store.complete(&k, StoredAnswer::Empty, Duration::MAX)).unwrap();
        assert_eq!(
            run(store.claim(&k, Duration::MAX)).unwrap(),
            Claim::Done(StoredAnswer::Empty)
        );
    }

    #[test]
    fn simultaneous_claims_give_exactly_one_new() {
        const THREADS: usize = 32;
        const ROUNDS: usize = 50;
        let store = MemoryDedupStore::new();
        for round in 0..ROUNDS {
            let k = key(&round.to_string());
            let barrier = Barrier::new(THREADS);
            let claims: Vec<Claim> = thread::scope(|s| {
                let handles: Vec<_> = (0..THREADS)
                    .map(|_| {
                        s.spawn(|| {
                            let rt = tokio::runtime::Builder::new_current_thread()
                                .build()
                                .unwrap();
                            barrier.wait();
                            rt.block_on(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let new = claims.iter().filter(|c| matches!(c, Claim::New(_))).count();
            let in_flight = claims.iter().filter(|c| **c == Claim::InFlight).count();
            assert_eq!((new, in_flight), (1, THREADS - 1), "round {round}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 8)]
    async fn simultaneous_claims_from_tasks_give_exactly_one_new() {
        let store: Arc<dyn DedupStore> = Arc::new(MemoryDedupStore::new());
        let k = key("1");
        let tasks: Vec<_> = (0..256)
            .map(|_| {
                let store = Arc::clone(&store);
                let k = k.clone();
                tokio::spawn(async move { store.claim(&k, DEFAULT_IN_FLIGHT_TTL).await })
            })
            .collect();
        let mut new = 0;
        for task in tasks {
            if let Claim::New(_) = task.await.unwrap().unwrap() {
                new += 1;
            }
        }
        assert_eq!(new, 1);
    }

    #[test]
    fn capacity_is_honoured() {
        let store = MemoryDedupStore::with_max_entries(100);
        for i in 0..1_000 {
            let k = key(&i.to_string());
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
            run(store.complete(&k, StoredAnswer::Empty, DEFAULT_WINDOW)).unwrap();
        }
        // Bounded at once, without housekeeping: evictions happen in the
        // writes that go over the capacity.
        let count = store.entry_count();
        assert!(count <= 100, "{count} entries");
        assert!(store.weighted_size() <= store.capacity());
        // quick_cache shares the capacity out among its parts, rounded up.
        assert!((100..=101).contains(&store.capacity()));
        // Most of the first keys were evicted (and would be handled again:
        // the documented price of a full store).
        let handled_again = (0..100)
            .filter(|i| {
                matches!(
                    run(store.claim(&key(&i.to_string()), DEFAULT_IN_FLIGHT_TTL)).unwrap(),
                    Claim::New(_)
                )
            })
            .count();
        assert!(handled_again >= 80, "{handled_again}");
    }

    #[test]
    fn a_new_key_is_admitted_into_a_full_store() {
        let store = MemoryDedupStore::with_max_entries(100);
        for round in 0..10 {
            for i in 0..200 {
                let k = key(&format!("{round} {i}"));
                let Claim::New(_) = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap() else {
                    panic!("a fresh key is not New");
                };
                // Kept: neither refused nor evicted by its own admission.
                assert_eq!(
                    run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
                    Claim::InFlight,
                    "{round} {i}"
                );
                run(store.complete(&k, StoredAnswer::Ack, DEFAULT_WINDOW)).unwrap();
                assert_eq!(
                    run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
                    Claim::Done(StoredAnswer::Ack),
                    "{round} {i}"
                );
                assert!(store.weighted_size() <= store.capacity());
            }
        }
    }

    #[test]
    fn completing_with_heavier_replies_keeps_the_bound() {
        // A full store of in-flight claims (one unit each) whose replies
        // then weigh three units: the completions evict answers, never the
        // claims still live, so the weight stays within the capacity plus
        // the live claims.
        let store = MemoryDedupStore::with_max_entries(100);
        let keys: Vec<DedupKey> = (0..100).map(|i| key(&i.to_string())).collect();
        for k in &keys {
            run(store.claim(k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
        }
        let big = reply(&"x".repeat(2048));
        for (done, k) in (1u64..).zip(&keys) {
            run(store.complete(k, big.clone(), DEFAULT_WINDOW)).unwrap();
            let live = 100 - done;
            assert!(store.weighted_size() <= store.capacity() + live, "{done}");
        }
        assert!(store.weighted_size() <= store.capacity());
        // Every key is either done with its reply or was evicted (claimed
        // anew now); none is left in flight.
        for k in &keys {
            match run(store.claim(k, DEFAULT_IN_FLIGHT_TTL)).unwrap() {
                Claim::Done(answer) => assert_eq!(answer, big),
                Claim::New(_) => {}
                Claim::InFlight => panic!("{k:?} still in flight"),
            }
        }
    }

    #[test]
    fn a_store_without_capacity_keeps_only_live_claims() {
        let store = MemoryDedupStore::with_max_entries(0);
        let k = key("1");
        assert!(matches!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::InFlight
        );
        // The answer takes the claim's place until the next write evicts it.
        run(store.complete(&k, StoredAnswer::Ack, DEFAULT_WINDOW)).unwrap();
        let other = key("2");
        assert!(matches!(
            run(store.claim(&other, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
        assert_eq!(store.entry_count(), 1);
        assert!(matches!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
    }

    #[test]
    fn large_replies_weigh_more() {
        let store = MemoryDedupStore::with_max_entries(100);
        // 20 KiB replies weigh 21 units each: at most 4 fit in 100.
        let big = "x".repeat(20 * 1024);
        for i in 0..50 {
            let k = key(&i.to_string());
            run(store.complete(&k, reply(&big), DEFAULT_WINDOW)).unwrap();
        }
        let count = store.entry_count();
        assert!((1..=4).contains(&count), "{count} entries");
        assert!(store.weighted_size() <= store.capacity());
    }

    #[test]
    fn weights() {
        let k = key("1");
        let in_flight = State::InFlight(ClaimToken::from_bytes([0; 16]));
        assert_eq!(weigh(&k, &in_flight), 1);
        let done = |len: usize| State::Done(reply(&"x".repeat(len)));
        assert_eq!(weigh(&k, &done(2048)), 3);
        assert_eq!(weigh(&k, &done(1000)), 1);
    }

    #[test]
    fn a_reply_too_heavy_for_the_store_is_not_kept() {
        // One part of 10 units: a 20 KiB reply (21 units) is dropped, and
        // with it the claim it completes; the retry runs the handler again.
        let store = MemoryDedupStore::with_max_entries(10);
        let k = key("1");
        run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
        run(store.complete(&k, reply(&"x".repeat(20 * 1024)), DEFAULT_WINDOW)).unwrap();
        assert!(matches!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
        assert!(store.weighted_size() <= store.capacity());
    }

    #[test]
    fn expired_entries_are_absent_at_once_and_freed_by_run_pending_tasks() {
        let store = MemoryDedupStore::new();
        for i in 0..20 {
            run(store.claim(&key(&format!("short {i}")), Duration::from_millis(20))).unwrap();
            run(store.claim(&key(&format!("long {i}")), DEFAULT_IN_FLIGHT_TTL)).unwrap();
        }
        thread::sleep(Duration::from_millis(40));
        // Still held (nothing sweeps them), but absent for a claim.
        assert_eq!(store.entry_count(), 40);
        let k = key("short 0");
        assert!(matches!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::New(_)
        ));
        assert_eq!(store.entry_count(), 40);
        store.run_pending_tasks();
        // The 20 live ones and the one claimed again.
        assert_eq!(store.entry_count(), 21);
        assert_eq!(
            run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::InFlight
        );
    }

    /// Random claims, completions and releases against a plain model of the
    /// contract (no expiry). With ample capacity the store must answer
    /// exactly as the model; with a small one, answers may be evicted, so a
    /// claim may be `New` where the model remembers a completed key (never
    /// one in flight: live claims are not evicted), but whatever the store
    /// does answer must be what the model holds (eviction forgets, it never
    /// invents), and the weight stays within the capacity plus the live
    /// claims.
    #[test]
    fn random_operations_agree_with_a_model() {
        use std::collections::HashMap;
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for capacity in [10_000, 7] {
            let ample = capacity > 40 * 3;
            let store = MemoryDedupStore::with_max_entries(capacity);
            // None: in flight; Some: done with this answer.
            let mut model: HashMap<u64, Option<StoredAnswer>> = HashMap::new();
            let mut tokens: HashMap<u64, ClaimToken> = HashMap::new();
            let mut evicted = 0;
            for step in 0..5_000 {
                let id = next(40);
                let k = key(&id.to_string());
                match next(3) {
                    0 => {
                        let claim = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
                        match (&claim, model.get(&id)) {
                            (Claim::New(token), known) => {
                                assert!(!ample || known.is_none(), "step {step}: {claim:?}");
                                assert_ne!(known, Some(&None), "step {step}: claim lost");
                                evicted += usize::from(known.is_some());
                                assert_ne!(tokens.get(&id), Some(token), "step {step}");
                                tokens.insert(id, *token);
                                model.insert(id, None);
                            }
                            (Claim::InFlight, Some(None)) => {}
                            (Claim::Done(answer), Some(Some(expected))) => {
                                assert_eq!(answer, expected, "step {step}");
                            }
                            (claim, known) => panic!("step {step}: {claim:?}, model {known:?}"),
                        }
                    }
                    1 => {
                        let answer = reply(&"r".repeat(usize::try_from(next(3000)).unwrap()));
                        run(store.complete(&k, answer.clone(), DEFAULT_WINDOW)).unwrap();
                        model.insert(id, Some(answer));
                    }
                    _ => {
                        let token = match next(2) {
                            0 => ClaimToken::from_bytes([0; 16]),
                            _ => tokens
                                .get(&id)
                                .copied()
                                .unwrap_or(ClaimToken::from_bytes([0; 16])),
                        };
                        run(store.release(&k, token)).unwrap();
                        if model.get(&id) == Some(&None) && tokens.get(&id) == Some(&token) {
                            model.remove(&id);
                        }
                    }
                }
                let live = model.values().filter(|known| known.is_none()).count();
                let live = u64::try_from(live).unwrap();
                assert!(
                    store.weighted_size() <= store.capacity() + live,
                    "step {step}"
                );
                assert!(store.entry_count() <= 40, "step {step}");
            }
            // The small store did evict (the test saw it), the large one not.
            assert_eq!(ample, evicted == 0, "{evicted} evictions seen");
        }
    }

    #[test]
    fn clones_share_and_debug_shows_no_content() {
        let store = MemoryDedupStore::default();
        let clone = store.clone();
        let k = key("1");
        run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
        run(store.complete(&k, reply("<xml>secret</xml>"), DEFAULT_WINDOW)).unwrap();
        assert!(matches!(
            run(clone.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::Done(_)
        ));
        assert_eq!(clone.max_entries(), DEFAULT_MAX_ENTRIES);
        let shown = format!("{store:?}");
        assert!(shown.starts_with("MemoryDedupStore"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
