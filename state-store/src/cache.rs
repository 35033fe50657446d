//! The record cache (Kafka's `ThreadCache` / `NamedCache`): write-back, bounded by
//! `statestore.cache.max.bytes`, shared by the stores of a stream thread, one namespace per store,
//! least-recently-used eviction.

pub(crate) mod caching;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::RangeBounds;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::backend::{bounds, KeyBatch, KeyRange, UpdateFn, UpdateManyFn};
use crate::error::Result;

const NIL: usize = usize::MAX;

/// rustc's FxHash: the cache hashes a key on every read and write of a cached store, and
/// SipHash was a few percent of a cached windowed aggregation (Nexmark q5, `perf`). The cache
/// is private to one stream thread and bounded; colliding keys cost lookups, never
/// correctness (like Java's `HashMap` in Kafka's `NamedCache`, it is not DoS-resistant).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// Bookkeeping bytes charged per entry on top of key and value.
const ENTRY_OVERHEAD: usize = 64;

/// A cache shared by the stores of one stream thread. Cloning shares it.
///
/// # Examples
/// ```
/// let cache = brook_state_store::ThreadCache::new(10 << 20);
/// assert_eq!(cache.max_bytes(), 10 << 20);
/// ```
#[derive(Clone)]
pub struct ThreadCache(Arc<Mutex<CacheInner>>);

impl fmt::Debug for ThreadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.stats();
        f.debug_struct("ThreadCache").field("stats", &s).finish()
    }
}

/// Counters of a [`ThreadCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Configured bound.
    pub max_bytes: usize,
    /// Bytes in use.
    pub size_bytes: usize,
    /// Entries held.
    pub entries: usize,
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that went to the store.
    pub misses: u64,
    /// Entries evicted.
    pub evictions: u64,
    /// Dirty entries written to stores (on flush or eviction).
    pub flushed: u64,
}

/// Where [`ThreadCache::update_keys`] stopped.
#[derive(Debug)]
pub(crate) enum BatchStop {
    /// Every key was cached and updated.
    Done,
    /// Key `i` is not cached (the keys before it were updated): the caller reads its store,
    /// [`ThreadCache::put_key`]s it and goes on after it.
    Miss(usize),
    /// Updating key `i` made the cache evict these dirty entries, which the caller writes to its
    /// store before it goes on after key `i`.
    Evicted(usize, Vec<DirtyEntry>),
}

/// A dirty record leaving the cache for its store.
#[derive(Debug, Clone)]
pub(crate) struct DirtyEntry {
    pub(crate) key: Bytes,
    pub(crate) value: Option<Bytes>,
    pub(crate) timestamp: i64,
}

struct CacheInner {
    max_bytes: usize,
    size: usize,
    caches: Vec<NamedCache>,
    names: HashMap<String, usize>,
    stats: CacheStats,
    /// The buffer [`ThreadCache::update_key`] lends its update functions.
    scratch: Vec<u8>,
}

#[derive(Debug)]
struct Node {
    key: Bytes,
    value: Option<Bytes>,
    timestamp: i64,
    dirty: bool,
    dirty_seq: u64,
    prev: usize,
    next: usize,
}

impl Node {
    fn size(&self) -> usize {
        self.key.len() + self.value.as_ref().map_or(0, Bytes::len) + ENTRY_OVERHEAD
    }
}

/// One store's part of the cache: a hash map for point lookups, an ordered index for ranges,
/// and an LRU list (head = most recent) in a slab.
///
/// The ordered index is built on the first range read of the namespace and kept from then on:
/// stores that are only read by key (the windowed and key-value aggregations) never pay for
/// it, and range deletes of expired segments scan the hash map instead (once per segment).
#[derive(Default)]
struct NamedCache {
    lookup: HashMap<Bytes, usize, FxBuild>,
    index: Option<BTreeMap<Bytes, usize>>,
    nodes: Vec<Node>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    dirty: Vec<usize>,
    seq: u64,
    size: usize,
    /// The entry the last hit found: an aggregation reads a key and then writes it, and the
    /// write finds the entry here by one key comparison instead of hashing and probing again.
    last_hit: usize,
}

impl NamedCache {
    fn new() -> Self {
        NamedCache { head: NIL, tail: NIL, last_hit: NIL, ..Default::default() }
    }

    /// The entry of `key`: the last hit when it is that key, else a hash lookup.
    fn find(&self, key: &[u8]) -> Option<usize> {
        if self.nodes.get(self.last_hit).is_some_and(|n| *n.key == *key) {
            return Some(self.last_hit);
        }
        self.lookup.get(key).copied()
    }

    fn unlink(&mut self, i: usize) {
        let (p, n) = (self.nodes[i].prev, self.nodes[i].next);
        if p == NIL { self.head = n } else { self.nodes[p].next = n }
        if n == NIL { self.tail = p } else { self.nodes[n].prev = p }
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head != NIL {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn touch(&mut self, i: usize) {
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
    }

    /// Updates entry `i` in place; returns the size delta.
    fn update(&mut self, i: usize, value: Option<Bytes>, timestamp: i64, dirty: bool) -> isize {
        self.seq += 1;
        let node = &mut self.nodes[i];
        let before = node.size() as isize;
        node.value = value;
        node.timestamp = timestamp;
        if dirty {
            if !node.dirty {
                node.dirty = true;
                self.dirty.push(i);
            }
            node.dirty_seq = self.seq;
        }
        let delta = node.size() as isize - before;
        self.size = self.size.saturating_add_signed(delta);
        self.touch(i);
        delta
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>, timestamp: i64, dirty: bool) -> isize {
        if let Some(&i) = self.lookup.get(&key) {
            return self.update(i, value, timestamp, dirty);
        }
        self.seq += 1;
        let node = Node { key: key.clone(), value, timestamp, dirty, dirty_seq: self.seq, prev: NIL, next: NIL };
        let size = node.size() as isize;
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        if dirty {
            self.dirty.push(i);
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), i);
        }
        self.lookup.insert(key, i);
        self.push_front(i);
        self.size += size as usize;
        size
    }

    fn remove(&mut self, i: usize) -> usize {
        if self.last_hit == i {
            self.last_hit = NIL;
        }
        self.unlink(i);
        let node = &mut self.nodes[i];
        let size = node.size();
        let key = std::mem::take(&mut node.key);
        node.value = None;
        node.dirty = false;
        if let Some(index) = &mut self.index {
            index.remove(&key);
        }
        self.lookup.remove(&key);
        self.free.push(i);
        self.size -= size;
        size
    }

    /// Takes every dirty entry, oldest update first, and marks them clean.
    fn take_dirty(&mut self) -> Vec<DirtyEntry> {
        let mut taken: Vec<(u64, usize)> = Vec::with_capacity(self.dirty.len());
        for i in std::mem::take(&mut self.dirty) {
            let node = &mut self.nodes[i];
            if node.dirty {
                node.dirty = false;
                taken.push((node.dirty_seq, i));
            }
        }
        taken.sort_unstable();
        taken
            .into_iter()
            .map(|(_, i)| {
                let n = &self.nodes[i];
                DirtyEntry { key: n.key.clone(), value: n.value.clone(), timestamp: n.timestamp }
            })
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.lookup.is_empty()
    }

    /// The ordered index, built from the hash map on first use.
    fn index(&mut self) -> &BTreeMap<Bytes, usize> {
        let lookup = &self.lookup;
        self.index.get_or_insert_with(|| lookup.iter().map(|(k, &i)| (k.clone(), i)).collect())
    }

    /// The entries with keys in `range`, in no particular order.
    fn entries_in(&self, range: &KeyRange) -> Vec<usize> {
        match &self.index {
            Some(index) => index.range::<[u8], _>(bounds(range)).map(|(_, &i)| i).collect(),
            None => {
                let b = bounds(range);
                self.lookup.iter().filter(|(k, _)| RangeBounds::<&[u8]>::contains(&b, &&k[..])).map(|(_, &i)| i).collect()
            }
        }
    }
}

impl ThreadCache {
    /// A cache holding at most `max_bytes` (`statestore.cache.max.bytes`; Kafka's default is
    /// 10 MiB). With 0, every write goes straight to the store.
    #[must_use]
    pub fn new(max_bytes: usize) -> Self {
        ThreadCache(Arc::new(Mutex::new(CacheInner {
            max_bytes,
            size: 0,
            caches: Vec::new(),
            names: HashMap::new(),
            stats: CacheStats::default(),
            scratch: Vec::new(),
        })))
    }

    /// The configured bound.
    #[must_use]
    pub fn max_bytes(&self) -> usize {
        self.0.lock().max_bytes
    }

    /// Hit, miss, eviction and size counters.
    #[must_use]
    pub fn stats(&self) -> CacheStats {
        let g = self.0.lock();
        let entries = g.caches.iter().map(|c| c.lookup.len()).sum();
        CacheStats { max_bytes: g.max_bytes, size_bytes: g.size, entries, ..g.stats }
    }

    /// The namespace of `name` (`<task>-<store>`), created on first use.
    pub(crate) fn namespace(&self, name: &str) -> usize {
        let mut g = self.0.lock();
        if let Some(&ns) = g.names.get(name) {
            return ns;
        }
        g.caches.push(NamedCache::new());
        let ns = g.caches.len() - 1;
        g.names.insert(name.to_owned(), ns);
        ns
    }

    /// `Some(value)` on a hit (`Some(None)` is a cached delete).
    pub(crate) fn get(&self, ns: usize, key: &[u8]) -> Option<Option<Bytes>> {
        let mut g = self.0.lock();
        let c = &mut g.caches[ns];
        match c.lookup.get(key).copied() {
            Some(i) => {
                c.last_hit = i;
                c.touch(i);
                let v = c.nodes[i].value.clone();
                g.stats.hits += 1;
                Some(v)
            }
            None => {
                g.stats.misses += 1;
                None
            }
        }
    }

    /// Lends the cached value of `key` to `f` and caches what it returns as a dirty write, with
    /// one lookup: `None` when `key` is not cached (the caller reads its store and
    /// [`ThreadCache::put_key`]s), else the dirty entries evicted to make room, as `put`.
    pub(crate) fn update_key(&self, ns: usize, key: &[u8], timestamp: i64, f: UpdateFn<'_>) -> Result<Option<Vec<DirtyEntry>>> {
        let mut guard = self.0.lock();
        let g = &mut *guard;
        let c = &mut g.caches[ns];
        let Some(i) = c.find(key) else {
            g.stats.misses += 1;
            return Ok(None);
        };
        g.scratch.clear();
        let keep = f(c.nodes[i].value.as_deref(), &mut g.scratch)?;
        let delta = c.update(i, keep.then(|| Bytes::copy_from_slice(&g.scratch)), timestamp, true);
        g.stats.hits += 1;
        g.size = g.size.saturating_add_signed(delta);
        Ok(Some(g.maybe_evict(ns)))
    }

    /// [`ThreadCache::update_key`] of the keys of `keys` from index `from` on, in order, under one
    /// lock, until a key is not cached or an update evicts dirty entries (the caller must write
    /// those to its store before a later key's store read).
    pub(crate) fn update_keys(&self, ns: usize, keys: &KeyBatch<'_>, from: usize, timestamp: i64, f: UpdateManyFn<'_>) -> Result<BatchStop> {
        let mut guard = self.0.lock();
        let g = &mut *guard;
        for i in from..keys.len() {
            let c = &mut g.caches[ns];
            let Some(e) = c.find(keys.key(i)) else {
                g.stats.misses += 1;
                return Ok(BatchStop::Miss(i));
            };
            g.scratch.clear();
            let keep = f(i, c.nodes[e].value.as_deref(), &mut g.scratch)?;
            let delta = c.update(e, keep.then(|| Bytes::copy_from_slice(&g.scratch)), timestamp, true);
            g.stats.hits += 1;
            g.size = g.size.saturating_add_signed(delta);
            let evicted = g.maybe_evict(ns);
            if !evicted.is_empty() {
                return Ok(BatchStop::Evicted(i, evicted));
            }
        }
        Ok(BatchStop::Done)
    }

    /// As [`ThreadCache::put`] with a borrowed key, copied only for a new entry.
    pub(crate) fn put_key(&self, ns: usize, key: &[u8], value: Option<Bytes>, timestamp: i64) -> Vec<DirtyEntry> {
        let mut g = self.0.lock();
        let delta = match g.caches[ns].find(key) {
            Some(i) => g.caches[ns].update(i, value, timestamp, true),
            None => g.caches[ns].put(Bytes::copy_from_slice(key), value, timestamp, true),
        };
        g.size = g.size.saturating_add_signed(delta);
        g.maybe_evict(ns)
    }

    /// Caches a dirty write; returns the dirty entries evicted from this namespace to make room,
    /// which the caller must write to its store.
    pub(crate) fn put(&self, ns: usize, key: Bytes, value: Option<Bytes>, timestamp: i64) -> Vec<DirtyEntry> {
        let mut g = self.0.lock();
        let delta = g.caches[ns].put(key, value, timestamp, true);
        g.size = g.size.saturating_add_signed(delta);
        g.maybe_evict(ns)
    }

    /// Caches a clean value read from the store, only if it fits without evicting.
    pub(crate) fn put_clean_if_room(&self, ns: usize, key: Bytes, value: Bytes) {
        let mut g = self.0.lock();
        if g.size + key.len() + value.len() + ENTRY_OVERHEAD <= g.max_bytes {
            let delta = g.caches[ns].put(key, Some(value), -1, false);
            g.size = g.size.saturating_add_signed(delta);
        }
    }

    /// Cached entries in `range`, in iteration order.
    pub(crate) fn range(&self, ns: usize, range: &KeyRange, reverse: bool) -> Vec<(Bytes, Option<Bytes>)> {
        if range.is_empty() {
            return Vec::new();
        }
        let mut g = self.0.lock();
        let c = &mut g.caches[ns];
        if c.index.is_none() && c.lookup.is_empty() {
            // Nothing cached: no index yet either (a window store's segment discovery range-reads
            // its empty store on open; that must not make every later write keep an index).
            return Vec::new();
        }
        c.index();
        let c = &g.caches[ns];
        let Some(index) = &c.index else { return Vec::new() };
        let it = index.range::<[u8], _>(bounds(range)).map(|(k, &i)| (k.clone(), c.nodes[i].value.clone()));
        if reverse { it.rev().collect() } else { it.collect() }
    }

    /// Takes the dirty entries of a namespace (they stay cached, clean).
    pub(crate) fn flush(&self, ns: usize) -> Vec<DirtyEntry> {
        let mut g = self.0.lock();
        let out = g.caches[ns].take_dirty();
        g.stats.flushed += out.len() as u64;
        out
    }

    /// Drops the entries of `range` (expired segments), dirty or not.
    pub(crate) fn delete_range(&self, ns: usize, range: &KeyRange) {
        if range.is_empty() {
            return;
        }
        let mut g = self.0.lock();
        let c = &mut g.caches[ns];
        let idx = c.entries_in(range);
        let freed: usize = idx.into_iter().map(|i| c.remove(i)).sum();
        g.size -= freed;
    }

    /// Drops every entry of a namespace.
    pub(crate) fn clear(&self, ns: usize) {
        let mut g = self.0.lock();
        let freed = g.caches[ns].size;
        g.caches[ns] = NamedCache::new();
        g.size -= freed;
    }
}

impl CacheInner {
    /// Kafka's `ThreadCache.maybeEvict`: evict from the namespace being written until the cache
    /// fits; evicting a dirty entry first flushes every dirty entry of the namespace.
    #[inline]
    fn maybe_evict(&mut self, ns: usize) -> Vec<DirtyEntry> {
        // Every cached write asks; the cache mostly fits.
        if self.size <= self.max_bytes {
            return Vec::new();
        }
        self.evict(ns)
    }

    #[inline(never)]
    fn evict(&mut self, ns: usize) -> Vec<DirtyEntry> {
        let mut flushed = Vec::new();
        while self.size > self.max_bytes {
            let c = &mut self.caches[ns];
            if c.is_empty() {
                break;
            }
            let eldest = c.tail;
            if c.nodes[eldest].dirty {
                let dirty = c.take_dirty();
                self.stats.flushed += dirty.len() as u64;
                flushed.extend(dirty);
            }
            let c = &mut self.caches[ns];
            let freed = c.remove(eldest);
            self.size -= freed;
            self.stats.evictions += 1;
        }
        flushed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn dedups_and_flushes_in_update_order() {
        let cache = ThreadCache::new(1 << 20);
        let ns = cache.namespace("s");
        assert!(cache.put(ns, b("a"), Some(b("1")), 1).is_empty());
        assert!(cache.put(ns, b("b"), Some(b("2")), 2).is_empty());
        assert!(cache.put(ns, b("a"), Some(b("3")), 3).is_empty());
        let out = cache.flush(ns);
        let got: Vec<_> = out.iter().map(|e| (e.key.clone(), e.value.clone(), e.timestamp)).collect();
        assert_eq!(got, vec![(b("b"), Some(b("2")), 2), (b("a"), Some(b("3")), 3)]);
        assert!(cache.flush(ns).is_empty());
        assert_eq!(cache.get(ns, b"a"), Some(Some(b("3"))));
    }

    #[test]
    fn evicts_least_recently_used_and_flushes_dirty() {
        let cache = ThreadCache::new(3 * (ENTRY_OVERHEAD + 2));
        let ns = cache.namespace("s");
        let other = cache.namespace("o");
        assert_ne!(ns, other);
        for k in ["a", "b", "c"] {
            assert!(cache.put(ns, b(k), Some(b("v")), 0).is_empty());
        }
        cache.flush(ns);
        assert!(cache.get(ns, b"a").is_some()); // a is now most recent; b is eldest
        let evicted = cache.put(ns, b("d"), Some(b("v")), 0);
        assert!(evicted.is_empty(), "b was clean");
        assert!(cache.get(ns, b"b").is_none());
        assert!(cache.put(ns, b("e"), Some(b("v")), 0).is_empty(), "c was clean");
        assert!(cache.put(ns, b("f"), Some(b("v")), 0).is_empty(), "a was clean");
        // d is now the eldest and dirty: evicting it flushes every dirty entry of the namespace.
        let evicted = cache.put(ns, b("g"), Some(b("v")), 0);
        let keys: Vec<_> = evicted.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys, vec![b("d"), b("e"), b("f"), b("g")]);
        assert_eq!(cache.stats().evictions, 4);
        assert_eq!(cache.stats().entries, 3);
    }

    #[test]
    fn range_deletes_and_reads_with_and_without_the_ordered_index() {
        let cache = ThreadCache::new(1 << 20);
        let ns = cache.namespace("s");
        // A range read of an empty namespace (a window store's segment discovery) builds no index.
        assert!(cache.range(ns, &KeyRange::all(), false).is_empty());
        assert!(cache.0.lock().caches[ns].index.is_none());
        for k in ["a", "b", "c", "d"] {
            assert!(cache.put(ns, b(k), Some(b(k)), 0).is_empty());
        }
        // No range read yet: the delete scans the hash map.
        cache.delete_range(ns, &KeyRange { lo: Some(b("b")), hi: Some(b("d")) });
        assert!(cache.0.lock().caches[ns].index.is_none());
        assert_eq!(cache.stats().entries, 2);
        assert_eq!(cache.get(ns, b"b"), None);
        assert_eq!(cache.get(ns, b"d"), Some(Some(b("d"))));
        // The first range read builds the index; later writes and removals keep it.
        let keys = |r: Vec<(Bytes, Option<Bytes>)>| r.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(cache.range(ns, &KeyRange { lo: None, hi: None }, false)), vec![b("a"), b("d")]);
        assert!(cache.put(ns, b("c"), Some(b("c")), 0).is_empty());
        assert_eq!(keys(cache.range(ns, &KeyRange { lo: Some(b("b")), hi: None }, true)), vec![b("d"), b("c")]);
        cache.delete_range(ns, &KeyRange { lo: Some(b("c")), hi: Some(b("d")) });
        assert_eq!(keys(cache.range(ns, &KeyRange { lo: None, hi: None }, false)), vec![b("a"), b("d")]);
        assert_eq!(cache.stats().entries, 2);
    }

    #[test]
    fn zero_size_writes_straight_through() {
        let cache = ThreadCache::new(0);
        let ns = cache.namespace("s");
        let out = cache.put(ns, b("k"), None, 5);
        assert_eq!(out.len(), 1);
        assert_eq!(cache.stats().entries, 0);
        assert_eq!(cache.stats().size_bytes, 0);
    }
}
