//! The in-memory store of the response cache: entries by key, bounded by count and by bytes,
//! evicted least recently used first, each with its own expiry.
//!
//! Sans-IO like the rest of the core: the caller passes `now` to every operation that
//! needs a time, and the store never reads a clock.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// Entries by key, each with its size in bytes (as the caller counts it) and its expiry.
///
/// Two bounds hold at all times: at most `max_entries` entries, and at most `max_bytes`
/// bytes in all (the sum of the sizes given on insert). The count alone would not do:
/// completions vary from a few bytes to megabytes, so a count that is safe for large ones
/// wastes the cache on small ones, and one that suits small ones lets large ones exhaust
/// memory. The count still bounds the bookkeeping of many tiny entries.
///
/// When an insert would break a bound, expired entries go first, then the least recently
/// used ones (a read counts as a use): a hot entry survives a flood of one-off calls that
/// are stored once and never asked for again, where first-in-first-out would push it out.
///
/// Every operation costs O(log n) (plus the hash of the key); the removal of expired
/// entries is amortised, each entry being removed at most once. An expired entry stays
/// counted in [`len`](MemoryCache::len) and [`bytes`](MemoryCache::bytes) until a
/// [`get`](MemoryCache::get) of its key or an [`insert`](MemoryCache::insert) removes it.
pub struct MemoryCache<V> {
    /// The entries; the key is shared with the two orders below rather than copied.
    entries: HashMap<Arc<str>, Entry<V>>,
    /// Recency: each entry under its last use, the least recently used first.
    by_use: BTreeMap<u64, Arc<str>>,
    /// Expiry: each entry under its expiry (ties broken by its insertion stamp), the
    /// earliest first, so that the expired ones are found without a scan.
    by_expiry: BTreeMap<(SystemTime, u64), Arc<str>>,
    /// The next stamp, for a use or an insertion; only ever increases.
    next_stamp: u64,
    /// The sum of the entries' sizes.
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

/// One stored value and what the orders need to find it again.
struct Entry<V> {
    value: V,
    size: usize,
    expires_at: SystemTime,
    /// The stamp of its insertion: its key in `by_expiry` beside `expires_at`.
    inserted: u64,
    /// The stamp of its last use: its key in `by_use`.
    used: u64,
}

impl<V> MemoryCache<V> {
    /// At most `max_entries` entries and `max_bytes` bytes (sum of the sizes given on insert).
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        MemoryCache {
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            by_expiry: BTreeMap::new(),
            next_stamp: 0,
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    /// The value under `key` if present and not expired at `now` (an expired entry is removed
    /// then); a hit makes it the most recently used.
    ///
    /// An entry is expired from its `expires_at` on (`now >= expires_at`), the same rule by
    /// which [`insert`](Self::insert) refuses an entry that would be born expired.
    pub fn get(&mut self, key: &str, now: SystemTime) -> Option<&V> {
        // Look first, then change: a borrow returned on one path cannot coexist with the
        // removal on the other.
        if now >= self.entries.get(key)?.expires_at {
            self.remove(key);
            return None;
        }
        let stamp = self.stamp();
        let entry = self.entries.get_mut(key)?;
        if let Some(shared_key) = self.by_use.remove(&entry.used) {
            self.by_use.insert(stamp, shared_key);
        }
        entry.used = stamp;
        Some(&entry.value)
    }

    /// Stores `value` (replacing any entry under `key`), counting `size` bytes, until
    /// `expires_at`. Evicts expired entries first, then least recently used ones, until both
    /// bounds hold. A value larger than `max_bytes` alone (or a cache with 0 entries
    /// allowed, or `expires_at <= now`) is not stored, and returns false; true when stored.
    ///
    /// A refused value still removes the entry it would have replaced: the caller meant to
    /// replace it, and a later `get` must not answer with what it superseded.
    pub fn insert(
        &mut self,
        key: String,
        value: V,
        size: usize,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> bool {
        self.remove(&key);
        if self.max_entries == 0 || size > self.max_bytes || expires_at <= now {
            return false;
        }
        self.remove_expired(now);
        // Both bounds must hold once the new entry is in; `size <= max_bytes` and
        // `max_entries >= 1`, so an empty cache always has room.
        while self.entries.len() >= self.max_entries
            || self.bytes.saturating_add(size) > self.max_bytes
        {
            let Some(oldest) = self.by_use.first_key_value().map(|(_, key)| key.clone()) else {
                break;
            };
            self.remove(&oldest);
        }
        let stamp = self.stamp();
        let key: Arc<str> = Arc::from(key);
        self.by_use.insert(stamp, key.clone());
        self.by_expiry.insert((expires_at, stamp), key.clone());
        self.bytes = self.bytes.saturating_add(size);
        self.entries.insert(
            key,
            Entry {
                value,
                size,
                expires_at,
                inserted: stamp,
                used: stamp,
            },
        );
        true
    }

    /// Removes the entry under `key`.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let entry = self.entries.remove(key)?;
        self.by_use.remove(&entry.used);
        self.by_expiry.remove(&(entry.expires_at, entry.inserted));
        self.bytes = self.bytes.saturating_sub(entry.size);
        Some(entry.value)
    }

    /// The number of entries held, expired ones not yet removed included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bytes held (sum of live entries' sizes).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Removes every entry expired at `now`, the earliest expiry first: each costs
    /// O(log n) and is removed once, so the sweep is amortised over the inserts.
    fn remove_expired(&mut self, now: SystemTime) {
        while let Some(key) = self
            .by_expiry
            .first_key_value()
            .filter(|((expires_at, _), _)| *expires_at <= now)
            .map(|(_, key)| key.clone())
        {
            self.remove(&key);
        }
    }

    /// A fresh stamp, greater than every one before. A `u64` does not wrap in practice (one
    /// per operation); wrapping rather than overflowing keeps even that from panicking.
    fn stamp(&mut self) -> u64 {
        let stamp = self.next_stamp;
        self.next_stamp = self.next_stamp.wrapping_add(1);
        stamp
    }
}

/// Shows the size and the bounds only: keys may be derived from prompts and values are
/// completions, neither belongs in a log.
impl<V> fmt::Debug for MemoryCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("len", &self.entries.len())
            .field("bytes", &self.bytes)
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    /// A made-up time, `secs` seconds into the test's day.
    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1000 + secs)
    }

    #[test]
    fn hit_and_miss() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.is_empty());
        assert!(cache.insert("a".to_owned(), 1, 10, at(60), at(0)));
        assert_eq!(cache.get("a", at(1)), Some(&1));
        assert_eq!(cache.get("b", at(1)), None);
        assert_eq!((cache.len(), cache.bytes()), (1, 10));
        assert!(!cache.is_empty());
    }

    #[test]
    fn expired_from_expires_at_on() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.insert("a".to_owned(), 1, 10, at(60), at(0)));
        assert_eq!(cache.get("a", at(59)), Some(&1));
        assert_eq!(cache.get("a", at(60)), None);
        // The expired entry was removed by the `get`, not merely hidden.
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
        assert_eq!(cache.get("a", at(0)), None);
    }

    #[test]
    fn born_expired_is_refused() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(!cache.insert("a".to_owned(), 1, 10, at(5), at(5)));
        assert!(!cache.insert("a".to_owned(), 1, 10, at(4), at(5)));
        assert!(cache.is_empty());
    }

    #[test]
    fn insert_sweeps_expired_entries_before_recent_ones() {
        let mut cache = MemoryCache::new(2, 100);
        assert!(cache.insert("old".to_owned(), 1, 10, at(100), at(0)));
        assert!(cache.insert("short".to_owned(), 2, 10, at(5), at(1)));
        // "short" is the most recently used but expired: it goes, "old" stays.
        assert!(cache.insert("new".to_owned(), 3, 10, at(100), at(10)));
        assert_eq!(cache.get("old", at(11)), Some(&1));
        assert_eq!(cache.get("new", at(11)), Some(&3));
        assert_eq!((cache.len(), cache.bytes()), (2, 20));
    }

    #[test]
    fn count_bound_evicts_least_recently_used() {
        let mut cache = MemoryCache::new(2, 100);
        assert!(cache.insert("a".to_owned(), 1, 1, at(100), at(0)));
        assert!(cache.insert("b".to_owned(), 2, 1, at(100), at(1)));
        // Reading "a" makes "b" the least recently used.
        assert_eq!(cache.get("a", at(2)), Some(&1));
        assert!(cache.insert("c".to_owned(), 3, 1, at(100), at(3)));
        assert_eq!(cache.get("b", at(4)), None);
        assert_eq!(cache.get("a", at(4)), Some(&1));
        assert_eq!(cache.get("c", at(4)), Some(&3));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn byte_bound_evicts_least_recently_used_until_it_fits() {
        let mut cache = MemoryCache::new(10, 100);
        assert!(cache.insert("a".to_owned(), 1, 40, at(100), at(0)));
        assert!(cache.insert("b".to_owned(), 2, 30, at(100), at(1)));
        assert!(cache.insert("c".to_owned(), 3, 20, at(100), at(2)));
        assert_eq!(cache.get("a", at(3)), Some(&1));
        // 90 held; 50 more needs 40 freed: "b" (30) then "c" (20) go, the read "a" stays.
        assert!(cache.insert("d".to_owned(), 4, 50, at(100), at(4)));
        assert_eq!(cache.get("b", at(5)), None);
        assert_eq!(cache.get("c", at(5)), None);
        assert_eq!(cache.get("a", at(5)), Some(&1));
        assert_eq!(cache.get("d", at(5)), Some(&4));
        assert_eq!((cache.len(), cache.bytes()), (2, 90));
    }

    #[test]
    fn replacing_a_key_adjusts_bytes() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.insert("a".to_owned(), 1, 60, at(100), at(0)));
        assert!(cache.insert("a".to_owned(), 2, 25, at(100), at(1)));
        assert_eq!((cache.len(), cache.bytes()), (1, 25));
        assert_eq!(cache.get("a", at(2)), Some(&2));
        // The old entry's bytes do not count against its replacement: 90 fits alone.
        assert!(cache.insert("a".to_owned(), 3, 90, at(100), at(3)));
        assert_eq!((cache.len(), cache.bytes()), (1, 90));
        assert_eq!(cache.get("a", at(4)), Some(&3));
    }

    #[test]
    fn oversize_value_is_refused_and_evicts_nothing() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.insert("a".to_owned(), 1, 50, at(100), at(0)));
        assert!(!cache.insert("big".to_owned(), 2, 101, at(100), at(1)));
        assert_eq!(cache.get("big", at(2)), None);
        assert_eq!(cache.get("a", at(2)), Some(&1));
        assert_eq!((cache.len(), cache.bytes()), (1, 50));
        // Exactly `max_bytes` fits, alone.
        assert!(cache.insert("full".to_owned(), 3, 100, at(100), at(3)));
        assert_eq!((cache.len(), cache.bytes()), (1, 100));
        assert!(!cache.insert("huge".to_owned(), 4, usize::MAX, at(100), at(4)));
    }

    #[test]
    fn refused_replacement_removes_the_old_entry() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.insert("a".to_owned(), 1, 10, at(100), at(0)));
        assert!(!cache.insert("a".to_owned(), 2, 101, at(100), at(1)));
        assert_eq!(cache.get("a", at(2)), None);
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }

    #[test]
    fn zero_capacity_stores_nothing() {
        let mut cache = MemoryCache::new(0, 100);
        assert!(!cache.insert("a".to_owned(), 1, 0, at(100), at(0)));
        assert_eq!(cache.get("a", at(1)), None);
        assert!(cache.is_empty());

        // Zero bytes still holds entries of size 0.
        let mut cache = MemoryCache::new(2, 0);
        assert!(!cache.insert("a".to_owned(), 1, 1, at(100), at(0)));
        assert!(cache.insert("b".to_owned(), 2, 0, at(100), at(0)));
        assert_eq!(cache.get("b", at(1)), Some(&2));
    }

    #[test]
    fn remove_returns_the_value_and_frees_its_bytes() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.insert("a".to_owned(), 1, 10, at(100), at(0)));
        assert!(cache.insert("b".to_owned(), 2, 20, at(100), at(0)));
        assert_eq!(cache.remove("a"), Some(1));
        assert_eq!(cache.remove("a"), None);
        assert_eq!(cache.get("a", at(1)), None);
        assert_eq!((cache.len(), cache.bytes()), (1, 20));
        // The removed entry is gone from the recency order too: the next eviction takes "y",
        // not the ghost of "x".
        let mut cache2 = MemoryCache::new(1, 100);
        assert!(cache2.insert("x".to_owned(), 1, 1, at(100), at(0)));
        assert_eq!(cache2.remove("x"), Some(1));
        assert!(cache2.insert("y".to_owned(), 2, 1, at(100), at(1)));
        assert!(cache2.insert("z".to_owned(), 3, 1, at(100), at(2)));
        assert_eq!(cache2.get("y", at(3)), None);
        assert_eq!(cache2.get("z", at(3)), Some(&3));
    }

    #[test]
    fn debug_shows_no_keys_or_values() {
        let mut cache = MemoryCache::new(4, 100);
        assert!(cache.insert("secret-key".to_owned(), "secret-value", 10, at(100), at(0)));
        let shown = format!("{cache:?}");
        assert_eq!(
            shown,
            "MemoryCache { len: 1, bytes: 10, max_entries: 4, max_bytes: 100 }"
        );
    }

    /// The naive model: a list scanned on every operation.
    struct Model {
        /// (key, value, size, expires_at, last use)
        entries: Vec<(String, u32, usize, SystemTime, u64)>,
        clock: u64,
        max_entries: usize,
        max_bytes: usize,
    }

    impl Model {
        fn bytes(&self) -> usize {
            self.entries.iter().map(|entry| entry.2).sum()
        }

        fn remove(&mut self, key: &str) -> Option<u32> {
            let index = self.entries.iter().position(|entry| entry.0 == key)?;
            Some(self.entries.remove(index).1)
        }

        fn get(&mut self, key: &str, now: SystemTime) -> Option<u32> {
            let index = self.entries.iter().position(|entry| entry.0 == key)?;
            if now >= self.entries[index].3 {
                self.entries.remove(index);
                return None;
            }
            self.clock += 1;
            self.entries[index].4 = self.clock;
            Some(self.entries[index].1)
        }

        fn insert(
            &mut self,
            key: &str,
            value: u32,
            size: usize,
            expires_at: SystemTime,
            now: SystemTime,
        ) -> bool {
            self.remove(key);
            if self.max_entries == 0 || size > self.max_bytes || expires_at <= now {
                return false;
            }
            self.entries.retain(|entry| entry.3 > now);
            while self.entries.len() + 1 > self.max_entries || self.bytes() + size > self.max_bytes
            {
                let oldest = (0..self.entries.len())
                    .min_by_key(|&index| self.entries[index].4)
                    .expect("an empty model has room");
                self.entries.remove(oldest);
            }
            self.clock += 1;
            self.entries
                .push((key.to_owned(), value, size, expires_at, self.clock));
            true
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            key: u8,
            value: u32,
            size: usize,
            ttl: u64,
        },
        Get {
            key: u8,
        },
        Remove {
            key: u8,
        },
    }

    fn op() -> impl Strategy<Value = (Op, u64)> {
        let op = prop_oneof![
            3 => (0u8..6, any::<u32>(), 0usize..40, 0u64..20)
                .prop_map(|(key, value, size, ttl)| Op::Insert { key, value, size, ttl }),
            3 => (0u8..6).prop_map(|key| Op::Get { key }),
            1 => (0u8..6).prop_map(|key| Op::Remove { key }),
        ];
        // Each operation comes some seconds after the one before, often none.
        (op, prop_oneof![2 => Just(0u64), 1 => 1u64..6])
    }

    proptest! {
        /// Any sequence of operations: the cache answers every `get` as the naive model
        /// does, holds what it holds, and never breaks a bound.
        #[test]
        fn agrees_with_a_naive_model(
            max_entries in 0usize..6,
            max_bytes in 0usize..100,
            ops in prop::collection::vec(op(), 0..120),
        ) {
            let mut cache = MemoryCache::new(max_entries, max_bytes);
            let mut model = Model { entries: Vec::new(), clock: 0, max_entries, max_bytes };
            let mut now = at(0);
            for (op, advance) in ops {
                now += Duration::from_secs(advance);
                match op {
                    Op::Insert { key, value, size, ttl } => {
                        let key = format!("k{key}");
                        let expires_at = now + Duration::from_secs(ttl);
                        prop_assert_eq!(
                            cache.insert(key.clone(), value, size, expires_at, now),
                            model.insert(&key, value, size, expires_at, now)
                        );
                    }
                    Op::Get { key } => {
                        let key = format!("k{key}");
                        prop_assert_eq!(cache.get(&key, now).copied(), model.get(&key, now));
                    }
                    Op::Remove { key } => {
                        let key = format!("k{key}");
                        prop_assert_eq!(cache.remove(&key), model.remove(&key));
                    }
                }
                prop_assert!(cache.len() <= max_entries);
                prop_assert!(cache.bytes() <= max_bytes);
                prop_assert_eq!(cache.len(), model.entries.len());
                prop_assert_eq!(cache.bytes(), model.bytes());
                prop_assert_eq!(cache.is_empty(), model.entries.is_empty());
                // The indices hold exactly the entries.
                prop_assert_eq!(cache.by_use.len(), cache.entries.len());
                prop_assert_eq!(cache.by_expiry.len(), cache.entries.len());
            }
        }
    }
}
