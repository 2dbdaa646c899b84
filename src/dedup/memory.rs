//! [`MemoryDedupStore`]: the in-process store, on moka.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use super::{
    BoxFuture, Claim, ClaimToken, DEFAULT_MAX_ENTRIES, DedupKey, DedupStore, StoreError,
    StoreErrorKind, StoredAnswer,
};

/// TTLs are capped at this (a year) before they reach the cache.
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Every entry weighs one unit, plus one per full KiB of key and reply.
const BYTES_PER_UNIT: usize = 1024;

/// What the cache holds for one key, with the TTL it was recorded for.
#[derive(Clone)]
enum Slot {
    InFlight {
        token: ClaimToken,
        ttl: Duration,
    },
    Done {
        answer: Arc<StoredAnswer>,
        ttl: Duration,
    },
}

impl Slot {
    fn ttl(&self) -> Duration {
        match self {
            Self::InFlight { ttl, .. } | Self::Done { ttl, .. } => *ttl,
        }
    }
}

/// Each entry expires after its own TTL, counted from its last write;
/// reads do not extend it.
struct SlotExpiry;

impl Expiry<DedupKey, Slot> for SlotExpiry {
    fn expire_after_create(&self, _: &DedupKey, slot: &Slot, _: Instant) -> Option<Duration> {
        Some(slot.ttl())
    }

    fn expire_after_update(
        &self,
        _: &DedupKey,
        slot: &Slot,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(slot.ttl())
    }
}

fn weigh(key: &DedupKey, slot: &Slot) -> u32 {
    let payload = match slot {
        Slot::InFlight { .. } => 0,
        Slot::Done { answer, .. } => answer.payload_len(),
    };
    let units = key.len().saturating_add(payload) / BYTES_PER_UNIT;
    u32::try_from(units).unwrap_or(u32::MAX).saturating_add(1)
}

/// The in-memory [`DedupStore`]: one process's deliveries, in a bounded
/// concurrent cache ([moka](https://docs.rs/moka)) with a TTL per entry.
///
/// It keeps the [module's contract](super) within one process: run several
/// instances behind a load balancer and a retry that lands on another
/// instance is handled again; a shared store is needed then.
///
/// - **Atomic claims**: a claim is one per-key compute in the cache, so of
///   simultaneous claims of one key exactly one gets [`Claim::New`].
/// - **Expiry**: an in-flight entry expires after the `in_flight_ttl` given
///   to `claim`, a completed one after the `ttl` given to `complete`
///   (counted from that call; reads do not extend it; TTLs above a year are
///   cut to a year). An expired entry is gone for the next claim at once,
///   and its memory is reclaimed by the cache's housekeeping.
/// - **Capacity**: at most `max_entries` units, where an entry weighs one
///   unit plus one per full KiB of its key and stored reply. So it holds at
///   most `max_entries` entries and at most about `max_entries` KiB of
///   replies. When full, the least recently used entries are evicted (LRU,
///   not moka's default TinyLFU, which may refuse to admit a new key and
///   would then forget a message as soon as it was claimed). An evicted key
///   can be handled twice. The bound is enforced by the cache's
///   housekeeping, which runs during reads and writes: the count can exceed
///   it briefly.
/// - **Never fails**: every method returns `Ok`, without waiting on I/O;
///   a claim may wait for a concurrent claim or release of the same key.
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
    cache: Cache<DedupKey, Slot>,
    max_entries: u64,
    next_token: Arc<AtomicU64>,
}

impl MemoryDedupStore {
    /// A store of [`DEFAULT_MAX_ENTRIES`] (10 000) units.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store of at most `max_entries` units (one per entry, plus one per
    /// full KiB of key and reply; see the type's docs). Each small entry
    /// costs a few hundred bytes of memory.
    #[must_use]
    pub fn with_max_entries(max_entries: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_entries)
            .eviction_policy(EvictionPolicy::lru())
            .weigher(weigh)
            .expire_after(SlotExpiry)
            .build();
        Self {
            cache,
            max_entries,
            next_token: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The capacity in units, as configured.
    #[must_use]
    pub fn max_entries(&self) -> u64 {
        self.max_entries
    }

    /// How many entries (in flight or done) the store holds, approximately:
    /// writes and evictions not yet processed by the cache's housekeeping
    /// are not counted, and expired entries may be until it runs.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Runs the cache's pending housekeeping (recording writes, evicting,
    /// expiring) now, so that [`entry_count`](Self::entry_count) is exact.
    /// Useful in tests and metrics; never needed for correctness.
    pub fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }

    fn token(&self) -> ClaimToken {
        let n = self.next_token.fetch_add(1, Ordering::Relaxed);
        ClaimToken::from_bytes(u128::from(n).to_be_bytes())
    }

    fn claim_now(&self, key: &DedupKey, in_flight_ttl: Duration) -> Result<Claim, StoreError> {
        let token = self.token();
        let result = self
            .cache
            .entry_by_ref(key)
            .and_compute_with(|existing| match existing {
                None => Op::Put(Slot::InFlight {
                    token,
                    ttl: in_flight_ttl.min(MAX_TTL),
                }),
                Some(_) => Op::Nop,
            });
        match result {
            CompResult::Inserted(_) => Ok(Claim::New(token)),
            CompResult::Unchanged(entry) => Ok(match entry.into_value() {
                Slot::InFlight { .. } => Claim::InFlight,
                Slot::Done { answer, .. } => Claim::Done(StoredAnswer::clone(&answer)),
            }),
            // Put and Nop produce neither; answer honestly if a future
            // version of the cache does.
            CompResult::StillNone(_) | CompResult::ReplacedWith(_) | CompResult::Removed(_) => {
                Err(StoreError::new(StoreErrorKind::Other))
            }
        }
    }

    fn release_now(&self, key: &DedupKey, token: ClaimToken) {
        self.cache
            .entry_by_ref(key)
            .and_compute_with(|existing| match existing {
                Some(entry) if matches!(entry.value(), Slot::InFlight { token: held, .. } if *held == token) => {
                    Op::Remove
                }
                _ => Op::Nop,
            });
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
            .field("entry_count", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl DedupStore for MemoryDedupStore {
    fn claim<'a>(
        &'a self,
        key: &'a DedupKey,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(async move { self.claim_now(key, in_flight_ttl) })
    }

    fn complete<'a>(
        &'a self,
        key: &'a DedupKey,
        answer: StoredAnswer,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let slot = Slot::Done {
                answer: Arc::new(answer),
                ttl: ttl.min(MAX_TTL),
            };
            self.cache.insert(key.clone(), slot);
            Ok(())
        })
    }

    fn release<'a>(
        &'a self,
        key: &'a DedupKey,
        token: ClaimToken,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.release_now(key, token);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::{DEFAULT_IN_FLIGHT_TTL, DEFAULT_WINDOW};
    use std::future::Future;
    use std::sync::Barrier;
    use std::thread;

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
        store.cache.run_pending_tasks();
        let count = store.entry_count();
        assert!(count <= 100, "{count} entries");
        assert!(store.cache.weighted_size() <= 100);
        // LRU: the newest key survives, the oldest was evicted (and would
        // be handled again: the documented price of a full store).
        assert!(matches!(
            run(store.claim(&key("999"), DEFAULT_IN_FLIGHT_TTL)).unwrap(),
            Claim::Done(_)
        ));
        assert!(matches!(
            run(store.claim(&key("0"), DEFAULT_IN_FLIGHT_TTL)).unwrap(),
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
        store.cache.run_pending_tasks();
        let count = store.entry_count();
        assert!((1..=4).contains(&count), "{count} entries");
        assert!(store.cache.weighted_size() <= 100);
    }

    #[test]
    fn weights() {
        let k = key("1");
        let in_flight = Slot::InFlight {
            token: ClaimToken::from_bytes([0; 16]),
            ttl: DEFAULT_IN_FLIGHT_TTL,
        };
        assert_eq!(weigh(&k, &in_flight), 1);
        let done = |len: usize| Slot::Done {
            answer: Arc::new(reply(&"x".repeat(len))),
            ttl: DEFAULT_WINDOW,
        };
        assert_eq!(weigh(&k, &done(2048)), 3);
        assert_eq!(weigh(&k, &done(1000)), 1);
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
