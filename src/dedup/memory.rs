//! [`MemoryDedupStore`]: the in-process store, a map and a least-recently-used
//! list under one lock.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{
    BoxFuture, Claim, ClaimToken, DEFAULT_MAX_ENTRIES, DedupKey, DedupStore, StoreError,
    StoredAnswer,
};

/// TTLs are capped at this (a year) before they are added to the clock.
const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Every entry weighs one unit, plus one per full KiB of key and reply.
const BYTES_PER_UNIT: usize = 1024;

/// "No entry" in the list links.
const NIL: usize = usize::MAX;

/// How many entries each write checks for expiry, besides the least recently
/// used one.
const SWEEP_PER_WRITE: usize = 2;

/// What the store holds for one key.
enum Slot {
    InFlight(ClaimToken),
    Done(StoredAnswer),
}

fn weigh(key: &DedupKey, slot: &Slot) -> u32 {
    let payload = match slot {
        Slot::InFlight(_) => 0,
        Slot::Done(answer) => answer.payload_len(),
    };
    let units = key.len().saturating_add(payload) / BYTES_PER_UNIT;
    u32::try_from(units).unwrap_or(u32::MAX).saturating_add(1)
}

/// When an entry written at `now` with `ttl` expires.
fn deadline(now: Instant, ttl: Duration) -> Instant {
    // A year from now cannot overflow the monotonic clock of any supported
    // platform; if it did, the entry would expire at once (handled again).
    now.checked_add(ttl.min(MAX_TTL)).unwrap_or(now)
}

/// One entry: its key (to unmap it when it is evicted), what is recorded,
/// and its place in the list from most to least recently used.
struct Node {
    key: DedupKey,
    slot: Slot,
    expires: Instant,
    weight: u32,
    /// The next more recently used entry, or [`NIL`].
    newer: usize,
    /// The next less recently used entry, or [`NIL`].
    older: usize,
}

/// The store's state: entries in a slab (indices instead of pointers), a
/// map from key to index, and a doubly linked list through the slab in
/// order of use.
struct Lru {
    map: HashMap<DedupKey, usize>,
    nodes: Vec<Option<Node>>,
    /// Indices of the empty slots of `nodes`.
    free: Vec<usize>,
    newest: usize,
    oldest: usize,
    /// The total weight of the entries.
    weight: u64,
    capacity: u64,
    next_token: u64,
    /// The next slot the housekeeping checks for expiry.
    sweep: usize,
}

impl Lru {
    fn new(capacity: u64) -> Self {
        Self {
            map: HashMap::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            weight: 0,
            capacity,
            next_token: 0,
            sweep: 0,
        }
    }

    fn node(&self, i: usize) -> Option<&Node> {
        self.nodes.get(i).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, i: usize) -> Option<&mut Node> {
        self.nodes.get_mut(i).and_then(Option::as_mut)
    }

    /// A fresh token: the store numbers its claims.
    fn token(&mut self) -> ClaimToken {
        self.next_token = self.next_token.wrapping_add(1);
        ClaimToken::from_bytes(u128::from(self.next_token).to_be_bytes())
    }

    /// Takes entry `i` out of the list (it stays in the slab and the map).
    fn unlink(&mut self, i: usize) {
        let Some(&Node { newer, older, .. }) = self.node(i) else {
            return;
        };
        match self.node_mut(newer) {
            Some(node) => node.older = older,
            None => self.newest = older,
        }
        match self.node_mut(older) {
            Some(node) => node.newer = newer,
            None => self.oldest = newer,
        }
    }

    /// Puts entry `i` (not in the list) at the most recently used end.
    fn push_newest(&mut self, i: usize) {
        let previous = self.newest;
        let Some(node) = self.node_mut(i) else {
            return;
        };
        node.newer = NIL;
        node.older = previous;
        match self.node_mut(previous) {
            Some(node) => node.newer = i,
            None => self.oldest = i,
        }
        self.newest = i;
    }

    /// Marks entry `i` as just used.
    fn touch(&mut self, i: usize) {
        if self.newest != i {
            self.unlink(i);
            self.push_newest(i);
        }
    }

    fn insert(&mut self, key: DedupKey, slot: Slot, expires: Instant) {
        let weight = weigh(&key, &slot);
        let node = Node {
            key: key.clone(),
            slot,
            expires,
            weight,
            newer: NIL,
            older: NIL,
        };
        let i = match self.free.pop() {
            Some(i) if i < self.nodes.len() => i,
            _ => {
                self.nodes.push(None);
                self.nodes.len() - 1
            }
        };
        if let Some(place) = self.nodes.get_mut(i) {
            *place = Some(node);
        }
        self.map.insert(key, i);
        self.weight = self.weight.saturating_add(u64::from(weight));
        self.push_newest(i);
    }

    /// Records `slot` for entry `i` until `expires`, as just used.
    fn replace(&mut self, i: usize, slot: Slot, expires: Instant) {
        let Some(node) = self.node_mut(i) else {
            return;
        };
        let (old, new) = (node.weight, weigh(&node.key, &slot));
        node.slot = slot;
        node.expires = expires;
        node.weight = new;
        self.weight = self
            .weight
            .saturating_sub(u64::from(old))
            .saturating_add(u64::from(new));
        self.touch(i);
    }

    fn remove(&mut self, i: usize) {
        self.unlink(i);
        let Some(node) = self.nodes.get_mut(i).and_then(Option::take) else {
            return;
        };
        self.map.remove(&node.key);
        self.weight = self.weight.saturating_sub(u64::from(node.weight));
        self.free.push(i);
    }

    fn expired(&self, i: usize, now: Instant) -> bool {
        self.node(i).is_some_and(|node| node.expires <= now)
    }

    /// After a write: frees expired entries (the least recently used one and
    /// the next [`SWEEP_PER_WRITE`] slots in turn), then evicts the least
    /// recently used entries while the store is over its capacity.
    fn housekeeping(&mut self, now: Instant) {
        if self.expired(self.oldest, now) {
            self.remove(self.oldest);
        }
        for _ in 0..SWEEP_PER_WRITE {
            if self.sweep >= self.nodes.len() {
                self.sweep = 0;
            }
            let i = self.sweep;
            self.sweep = self.sweep.saturating_add(1);
            if self.expired(i, now) {
                self.remove(i);
            }
        }
        while self.weight > self.capacity && self.oldest != NIL {
            self.remove(self.oldest);
        }
    }

    /// Panics unless the list, the map, the free slots and the weight agree.
    #[cfg(test)]
    #[allow(clippy::panic)]
    fn check(&self) {
        let (mut i, mut newer, mut count, mut weight) = (self.newest, NIL, 0, 0);
        while let Some(node) = self.node(i) {
            assert_eq!(node.newer, newer, "back link of {i}");
            assert_eq!(self.map.get(&node.key), Some(&i), "map entry of {i}");
            (newer, i) = (i, node.older);
            count += 1;
            weight += u64::from(node.weight);
            assert!(count <= self.nodes.len(), "the list loops");
        }
        assert_eq!(i, NIL, "the list ends in an empty slot");
        assert_eq!(self.oldest, newer, "oldest");
        assert_eq!(count, self.map.len(), "entries in the list and the map");
        assert_eq!(count + self.free.len(), self.nodes.len(), "slots");
        assert_eq!(weight, self.weight, "weight");
    }

    /// Frees every expired entry.
    fn remove_expired(&mut self, now: Instant) {
        for i in 0..self.nodes.len() {
            if self.expired(i, now) {
                self.remove(i);
            }
        }
    }
}

/// The in-memory [`DedupStore`]: one process's deliveries, in a bounded map
/// with a TTL per entry and least-recently-used eviction.
///
/// It keeps the [module's contract](super) within one process: run several
/// instances behind a load balancer and a retry that lands on another
/// instance is handled again; a shared store is needed then.
///
/// - **Atomic claims**: the store is one map behind one lock, held for a
///   lookup and a few index updates (never across an `await`), so of
///   simultaneous claims of one key exactly one gets [`Claim::New`].
/// - **Expiry**: an in-flight entry expires after the `in_flight_ttl` given
///   to `claim`, a completed one after the `ttl` given to `complete`
///   (counted from that call; reads do not extend it; TTLs above a year are
///   cut to a year). An expired entry is gone for the next claim at once.
///   Its memory is reclaimed by the store's housekeeping, which runs during
///   writes: each write frees the least recently used entry if it expired
///   and checks two more entries in turn, so every entry is checked within
///   about half as many writes as the store holds entries;
///   [`run_pending_tasks`](Self::run_pending_tasks) frees all of them now.
/// - **Capacity**: at most `max_entries` units, where an entry weighs one
///   unit plus one per full KiB of its key and stored reply. So it holds at
///   most `max_entries` entries and at most about `max_entries` KiB of
///   replies. When full, the least recently used entries (a claim and a
///   completion both use an entry) are evicted by the write that went over
///   the capacity (LRU: a new key is always admitted, never refused as a
///   frequency-based policy such as TinyLFU may do, which would forget a
///   message as soon as it was claimed). An evicted key can be handled
///   twice; so can a key whose reply alone weighs more than the capacity.
/// - **Never fails**: every method returns `Ok`, without waiting on I/O;
///   a call may wait for a concurrent call to release the lock.
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
    lru: Arc<Mutex<Lru>>,
    max_entries: u64,
}

impl MemoryDedupStore {
    /// A store of [`DEFAULT_MAX_ENTRIES`] (10 000) units.
    #[must_use]
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store of at most `max_entries` units (one per entry, plus one per
    /// full KiB of key and reply; see the type's docs). Each small entry
    /// costs about two hundred bytes of memory.
    #[must_use]
    pub fn with_max_entries(max_entries: u64) -> Self {
        Self {
            lru: Arc::new(Mutex::new(Lru::new(max_entries))),
            max_entries,
        }
    }

    /// The capacity in units, as configured.
    #[must_use]
    pub fn max_entries(&self) -> u64 {
        self.max_entries
    }

    /// How many entries (in flight or done) the store holds, counting
    /// expired entries that its housekeeping has not freed yet.
    #[must_use]
    pub fn entry_count(&self) -> u64 {
        u64::try_from(self.lock().map.len()).unwrap_or(u64::MAX)
    }

    /// Frees every expired entry now, so that
    /// [`entry_count`](Self::entry_count) counts live entries only. Useful
    /// in tests and metrics; never needed for correctness.
    pub fn run_pending_tasks(&self) {
        self.lock().remove_expired(Instant::now());
    }

    /// The state. A panic cannot happen while it is held, and its links
    /// stay consistent between any two statements that could unwind, so a
    /// poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: &DedupKey, in_flight_ttl: Duration) -> Claim {
        let now = Instant::now();
        let mut lru = self.lock();
        if let Some(&i) = lru.map.get(key) {
            let live = lru
                .node(i)
                .filter(|node| node.expires > now)
                .map(|node| match &node.slot {
                    Slot::InFlight(_) => Claim::InFlight,
                    Slot::Done(answer) => Claim::Done(answer.clone()),
                });
            if let Some(claim) = live {
                lru.touch(i);
                return claim;
            }
            // Expired: as if it were not there.
            lru.remove(i);
        }
        let token = lru.token();
        lru.insert(
            key.clone(),
            Slot::InFlight(token),
            deadline(now, in_flight_ttl),
        );
        lru.housekeeping(now);
        Claim::New(token)
    }

    fn complete_now(&self, key: &DedupKey, answer: StoredAnswer, ttl: Duration) {
        let now = Instant::now();
        let (slot, expires) = (Slot::Done(answer), deadline(now, ttl));
        let mut lru = self.lock();
        match lru.map.get(key) {
            Some(&i) => lru.replace(i, slot, expires),
            None => lru.insert(key.clone(), slot, expires),
        }
        lru.housekeeping(now);
    }

    fn release_now(&self, key: &DedupKey, token: ClaimToken) {
        let mut lru = self.lock();
        if let Some(&i) = lru.map.get(key) {
            if lru
                .node(i)
                .is_some_and(|node| matches!(node.slot, Slot::InFlight(held) if held == token))
            {
                lru.remove(i);
            }
        }
    }

    #[cfg(test)]
    fn weighted_size(&self) -> u64 {
        self.lock().weight
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
        store.run_pending_tasks();
        let count = store.entry_count();
        assert!(count <= 100, "{count} entries");
        assert!(store.weighted_size() <= 100);
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
        store.run_pending_tasks();
        let count = store.entry_count();
        assert!((1..=4).contains(&count), "{count} entries");
        assert!(store.weighted_size() <= 100);
    }

    #[test]
    fn weights() {
        let k = key("1");
        let in_flight = Slot::InFlight(ClaimToken::from_bytes([0; 16]));
        assert_eq!(weigh(&k, &in_flight), 1);
        let done = |len: usize| Slot::Done(reply(&"x".repeat(len)));
        assert_eq!(weigh(&k, &done(2048)), 3);
        assert_eq!(weigh(&k, &done(1000)), 1);
    }

    #[test]
    fn reads_count_as_use() {
        let store = MemoryDedupStore::with_max_entries(3);
        for id in ["a", "b", "c"] {
            run(store.complete(&key(id), StoredAnswer::Ack, DEFAULT_WINDOW)).unwrap();
        }
        // A retry of "a" makes "b" the least recently used entry.
        run(store.claim(&key("a"), DEFAULT_IN_FLIGHT_TTL)).unwrap();
        run(store.claim(&key("d"), DEFAULT_IN_FLIGHT_TTL)).unwrap();
        store.lock().check();
        assert_eq!(store.entry_count(), 3);
        for (id, kept) in [("a", true), ("c", true), ("b", false)] {
            let claim = run(store.claim(&key(id), DEFAULT_IN_FLIGHT_TTL)).unwrap();
            assert_eq!(claim == Claim::Done(StoredAnswer::Ack), kept, "{id}");
        }
    }

    #[test]
    fn expired_entries_are_freed_by_later_writes() {
        let store = MemoryDedupStore::new();
        for i in 0..20 {
            run(store.claim(&key(&format!("old {i}")), Duration::from_millis(20))).unwrap();
        }
        thread::sleep(Duration::from_millis(40));
        // Each write checks three entries: twenty writes free them all.
        for i in 0..20 {
            let k = key(&format!("new {i}"));
            run(store.complete(&k, StoredAnswer::Empty, DEFAULT_WINDOW)).unwrap();
        }
        store.lock().check();
        assert_eq!(store.entry_count(), 20);
        // And run_pending_tasks frees them at once.
        for i in 0..20 {
            run(store.claim(&key(&format!("short {i}")), Duration::from_millis(20))).unwrap();
        }
        thread::sleep(Duration::from_millis(40));
        store.run_pending_tasks();
        store.lock().check();
        assert_eq!(store.entry_count(), 20);
    }

    /// Random claims, completions and releases against a plain model of the
    /// contract (no expiry, ample capacity), with the structure checked
    /// after every step; then the same with a small capacity, where only the
    /// structure and the bound are checked.
    #[test]
    fn random_operations_keep_the_store_consistent() {
        use std::collections::HashMap;
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for capacity in [10_000, 7] {
            let store = MemoryDedupStore::with_max_entries(capacity);
            let mut model: HashMap<u64, Option<StoredAnswer>> = HashMap::new();
            let mut tokens: HashMap<u64, ClaimToken> = HashMap::new();
            for _ in 0..5_000 {
                let id = next(40);
                let k = key(&id.to_string());
                match next(3) {
                    0 => {
                        let claim = run(store.claim(&k, DEFAULT_IN_FLIGHT_TTL)).unwrap();
                        if let Claim::New(token) = claim {
                            tokens.insert(id, token);
                        }
                        if capacity > 40 {
                            let expected = match model.get(&id) {
                                None => None,
                                Some(None) => Some(Claim::InFlight),
                                Some(Some(answer)) => Some(Claim::Done(answer.clone())),
                            };
                            match expected {
                                None => assert!(matches!(claim, Claim::New(_))),
                                Some(expected) => assert_eq!(claim, expected),
                            }
                            model.entry(id).or_insert(None);
                        }
                    }
                    1 => {
                        let answer = reply(&"r".repeat(usize::try_from(next(3000)).unwrap()));
                        run(store.complete(&k, answer.clone(), DEFAULT_WINDOW)).unwrap();
                        model.insert(id, Some(answer));
                    }
                    _ => {
                        let token = tokens.get(&id).copied();
                        let token = token.unwrap_or(ClaimToken::from_bytes([0; 16]));
                        run(store.release(&k, token)).unwrap();
                        if model.get(&id) == Some(&None) && tokens.get(&id) == Some(&token) {
                            model.remove(&id);
                        }
                    }
                }
                let lru = store.lock();
                lru.check();
                assert!(lru.weight <= capacity);
            }
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
