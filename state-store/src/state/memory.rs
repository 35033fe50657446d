//! The in-memory backend: a hash map for point reads and writes until the store is first read by
//! range, then an ordered `BTreeMap`.
//!
//! Stores read only by key (the windowed and key-value aggregations, through their cache) never
//! need their keys in order: a hash lookup of a 26-byte window key costs a fraction of a B-tree
//! walk comparing it with ~17 keys. The first range read of a non-empty store sorts every entry
//! once into the ordered map, which answers that read and every later one (a read-mostly store
//! queried by range, such as an in-memory table under pull queries, sorts once, not on each
//! read); the next write drops the hash map and keeps the ordered one.

use std::cell::{Cell, OnceCell};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeBounds;

use bytes::Bytes;

use crate::backend::{bounds, Backend, KeyRange, OpenOutcome, RawIter};
use crate::error::{Error, Result};

#[derive(Debug)]
enum Map {
    /// Seeded (std's `RandomState`), not the record cache's Fx hash: the keys are the input
    /// records' keys and the store has no size bound, so crafted keys must not collide at will.
    Hash(HashMap<Bytes, Bytes, RandomState>),
    Ordered(BTreeMap<Bytes, Bytes>),
}

#[derive(Debug)]
pub(crate) struct MemoryBackend {
    name: String,
    map: Map,
    /// The hash map's entries in order, built by its first range read (reads take `&self`): later
    /// range reads use it, and the next write makes it the store's map.
    sorted: OnceCell<BTreeMap<Bytes, Bytes>>,
    /// How many times a range read sorted the hash map (tests: once per switch).
    sorts: Cell<u64>,
    open: bool,
}

impl MemoryBackend {
    pub(crate) fn new(name: &str) -> Self {
        MemoryBackend { name: name.to_owned(), map: Map::Hash(HashMap::default()), sorted: OnceCell::new(), sorts: Cell::new(0), open: true }
    }

    fn check(&self) -> Result<()> {
        if self.open { Ok(()) } else { Err(Error::Closed(self.name.clone())) }
    }

    /// The map to write: the ordered one once the store has been read by range.
    fn map_mut(&mut self) -> &mut Map {
        if let Some(sorted) = self.sorted.take() {
            self.map = Map::Ordered(sorted);
        }
        &mut self.map
    }

    fn len(&self) -> usize {
        match &self.map {
            Map::Hash(h) => h.len(),
            Map::Ordered(m) => m.len(),
        }
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check()?;
        Ok(match &self.map {
            Map::Hash(h) => h.get(key).cloned(),
            Map::Ordered(m) => m.get(key).cloned(),
        })
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        self.check()?;
        match (self.map_mut(), value) {
            (Map::Hash(h), Some(v)) => drop(h.insert(key, v)),
            (Map::Hash(h), None) => drop(h.remove(&key)),
            (Map::Ordered(m), Some(v)) => drop(m.insert(key, v)),
            (Map::Ordered(m), None) => drop(m.remove(&key)),
        }
        Ok(())
    }

    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        self.check()?;
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let h = match &self.map {
            Map::Ordered(m) => {
                let it = m.range::<[u8], _>(bounds(range)).map(|(k, v)| Ok((k.clone(), v.clone())));
                return Ok(if reverse { Box::new(it.rev()) } else { Box::new(it) });
            }
            Map::Hash(h) => h,
        };
        if h.is_empty() {
            // Nothing to order (a window store's segment discovery on open reads its empty store).
            return Ok(Box::new(std::iter::empty()));
        }
        // Sorted once, by the first range read; the next write keeps only the ordered map.
        let sorted = self.sorted.get_or_init(|| {
            self.sorts.set(self.sorts.get() + 1);
            h.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        });
        let it = sorted.range::<[u8], _>(bounds(range)).map(|(k, v)| Ok((k.clone(), v.clone())));
        Ok(if reverse { Box::new(it.rev()) } else { Box::new(it) })
    }

    fn delete_range(&mut self, range: &KeyRange) -> Result<()> {
        self.check()?;
        if range.is_empty() {
            return Ok(());
        }
        match self.map_mut() {
            Map::Hash(h) => {
                // Once per expired segment: a scan of the map.
                let b = bounds(range);
                h.retain(|k, _| !RangeBounds::<&[u8]>::contains(&b, &&k[..]));
            }
            Map::Ordered(map) => {
                // Split the map around the range instead of removing key by key: segment expiry
                // drops whole segments, and this is linear in the entries dropped only through
                // their drop.
                let mut dropped = match &range.lo {
                    Some(lo) => map.split_off::<[u8]>(lo),
                    None => std::mem::take(map),
                };
                let mut kept = match &range.hi {
                    Some(hi) => dropped.split_off::<[u8]>(hi),
                    None => BTreeMap::new(),
                };
                map.append(&mut kept);
            }
        }
        Ok(())
    }

    fn approximate_num_entries(&self) -> Result<u64> {
        self.check()?;
        Ok(self.len() as u64)
    }

    fn flush(&mut self) -> Result<()> {
        self.check()
    }

    fn commit(&mut self, _offset: Option<i64>) -> Result<()> {
        self.check()
    }

    fn committed_offset(&self) -> Option<i64> {
        None
    }

    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, _last_offset: i64) -> Result<()> {
        self.put_all(entries)
    }

    fn close(&mut self) -> Result<()> {
        self.open = false;
        self.map = Map::Hash(HashMap::default());
        self.sorted = OnceCell::new();
        Ok(())
    }

    fn persistent(&self) -> bool {
        false
    }

    fn open_outcome(&self) -> OpenOutcome {
        OpenOutcome::Created
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn keys(it: RawIter<'_>) -> Vec<Bytes> {
        it.map(|r| r.unwrap().0).collect()
    }

    #[test]
    fn hash_until_the_first_range_read_then_ordered() {
        let mut m = MemoryBackend::new("s");
        // An empty store read by range stays a hash map.
        assert!(keys(m.range(&KeyRange::all(), false).unwrap()).is_empty());
        for k in ["d", "a", "c", "b", "e"] {
            m.put(b(k), Some(b(k))).unwrap();
        }
        assert!(matches!(m.map, Map::Hash(_)));
        m.put(b("e"), None).unwrap();
        assert_eq!(m.get(b"c").unwrap(), Some(b("c")));
        assert_eq!(m.get(b"e").unwrap(), None);
        m.delete_range(&KeyRange { lo: Some(b("b")), hi: Some(b("c")) }).unwrap();
        assert_eq!(m.approximate_num_entries().unwrap(), 3);
        // The first range read sorts the hash map's entries, once: later range reads without a
        // write in between use the sorted entries (a read-mostly store queried by range).
        assert_eq!(m.sorts.get(), 0);
        let r = KeyRange { lo: Some(b("a")), hi: Some(b("d")) };
        assert_eq!(keys(m.range(&r, false).unwrap()), vec![b("a"), b("c")]);
        assert_eq!(m.sorts.get(), 1);
        for _ in 0..3 {
            assert_eq!(keys(m.range(&KeyRange::all(), true).unwrap()), vec![b("d"), b("c"), b("a")]);
            assert_eq!(keys(m.range(&r, false).unwrap()), vec![b("a"), b("c")]);
        }
        assert_eq!(m.sorts.get(), 1, "the second and later range reads do not scan the hash map");
        assert!(matches!(m.map, Map::Hash(_)));
        assert_eq!(m.get(b"c").unwrap(), Some(b("c")));
        // The next write moves the store to the ordered map, with every entry.
        m.put(b("b"), Some(b("b"))).unwrap();
        assert!(matches!(m.map, Map::Ordered(_)) && m.sorted.get().is_none());
        assert_eq!(keys(m.range(&KeyRange::all(), false).unwrap()), vec![b("a"), b("b"), b("c"), b("d")]);
        assert_eq!(m.sorts.get(), 1);
        m.delete_range(&KeyRange { lo: Some(b("b")), hi: Some(b("d")) }).unwrap();
        assert_eq!(keys(m.range(&KeyRange::all(), true).unwrap()), vec![b("d"), b("a")]);
        assert_eq!(m.get(b"a").unwrap(), Some(b("a")));
        m.close().unwrap();
        assert!(m.get(b"a").is_err());
    }
}
