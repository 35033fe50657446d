//! The in-memory backend: a hash map for point reads and writes until the store is first read by
//! range, then an ordered `BTreeMap`.
//!
//! Stores read only by key (the windowed and key-value aggregations, through their cache) never
//! need their keys in order: a hash lookup of a 26-byte window key costs a fraction of a B-tree
//! walk comparing it with ~17 keys. The first range read of a non-empty store sorts the matching
//! entries once and marks the store, and its next write moves every entry to the ordered map,
//! where it stays.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::ops::RangeBounds;

use bytes::Bytes;

use crate::backend::{bounds, Backend, KeyRange, OpenOutcome, RawIter};
use crate::cache::FxBuild;
use crate::error::{Error, Result};

#[derive(Debug)]
enum Map {
    Hash(HashMap<Bytes, Bytes, FxBuild>),
    Ordered(BTreeMap<Bytes, Bytes>),
}

#[derive(Debug)]
pub(crate) struct MemoryBackend {
    name: String,
    map: Map,
    /// A range read of the hash map happened: the next write switches to the ordered map.
    ranged: Cell<bool>,
    open: bool,
}

impl MemoryBackend {
    pub(crate) fn new(name: &str) -> Self {
        MemoryBackend { name: name.to_owned(), map: Map::Hash(HashMap::default()), ranged: Cell::new(false), open: true }
    }

    fn check(&self) -> Result<()> {
        if self.open { Ok(()) } else { Err(Error::Closed(self.name.clone())) }
    }

    /// The map to write: the ordered one once the store has been read by range.
    fn map_mut(&mut self) -> &mut Map {
        if self.ranged.replace(false) {
            if let Map::Hash(h) = &mut self.map {
                self.map = Map::Ordered(std::mem::take(h).into_iter().collect());
            }
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
        // Sorted once here; the next write moves the store to the ordered map.
        self.ranged.set(true);
        let b = bounds(range);
        let mut found: Vec<(Bytes, Bytes)> =
            h.iter().filter(|(k, _)| RangeBounds::<&[u8]>::contains(&b, &&k[..])).map(|(k, v)| (k.clone(), v.clone())).collect();
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if reverse {
            found.reverse();
        }
        Ok(Box::new(found.into_iter().map(Ok)))
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
        self.ranged.set(false);
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
        // The first range read sorts the hash map's entries.
        let r = KeyRange { lo: Some(b("a")), hi: Some(b("d")) };
        assert_eq!(keys(m.range(&r, false).unwrap()), vec![b("a"), b("c")]);
        assert_eq!(keys(m.range(&KeyRange::all(), true).unwrap()), vec![b("d"), b("c"), b("a")]);
        assert!(matches!(m.map, Map::Hash(_)));
        // The next write moves the store to the ordered map, with every entry.
        m.put(b("b"), Some(b("b"))).unwrap();
        assert!(matches!(m.map, Map::Ordered(_)));
        assert_eq!(keys(m.range(&KeyRange::all(), false).unwrap()), vec![b("a"), b("b"), b("c"), b("d")]);
        m.delete_range(&KeyRange { lo: Some(b("b")), hi: Some(b("d")) }).unwrap();
        assert_eq!(keys(m.range(&KeyRange::all(), true).unwrap()), vec![b("d"), b("a")]);
        assert_eq!(m.get(b"a").unwrap(), Some(b("a")));
        m.close().unwrap();
        assert!(m.get(b"a").is_err());
    }
}
