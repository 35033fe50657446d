//! The compaction offset map: key -> offset of its latest record, in bounded memory.
//!
//! Kafka's `SkimpyOffsetMap`: an open-addressing table of (128-bit key hash, offset) slots whose
//! size is fixed by `log.cleaner.dedupe.buffer.size`, filled to a load factor of 0.9. Keys are not
//! stored, only their hashes, so memory does not depend on key sizes. Brook hashes with two
//! SipHash functions under a random per-map key instead of MD5; as in Kafka, two keys whose 128-bit
//! hashes collide would be taken for one (the chance is about n² / 2¹²⁹ for n keys).
//!
//! Unlike Kafka's, the table starts small and doubles up to the bound, so a small log does not
//! allocate the whole buffer. When it is full, [`OffsetMap::put`] refuses new keys and the cleaner
//! compacts the range mapped so far, then maps the next range (see `cleaner`).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// One occupied slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    hash: [u64; 2],
    offset: i64,
}

/// Bytes one slot takes, the unit `log.cleaner.dedupe.buffer.size` is divided into.
const SLOT_BYTES: usize = std::mem::size_of::<Option<Slot>>();
/// Kafka's `log.cleaner.io.buffer.load.factor`.
const LOAD_FACTOR: f64 = 0.9;
/// Slots of a fresh table (it doubles from here up to the bound).
const INITIAL_SLOTS: usize = 1024;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct OffsetMap {
    slots: Vec<Option<Slot>>,
    /// The most slots the memory bound allows.
    max_slots: usize,
    used: usize,
    hasher: RandomState,
}

impl OffsetMap {
    /// A map using at most `memory` bytes (at least two slots).
    pub(crate) fn with_memory(memory: usize) -> OffsetMap {
        let max_slots = (memory / SLOT_BYTES).max(2);
        OffsetMap {
            slots: vec![None; INITIAL_SLOTS.min(max_slots)],
            max_slots,
            used: 0,
            hasher: RandomState::new(),
        }
    }

    /// How many keys the map can hold at its bound.
    pub(crate) fn capacity(&self) -> usize {
        ((self.max_slots as f64 * LOAD_FACTOR) as usize).max(1)
    }

    /// Keys held.
    pub(crate) fn len(&self) -> usize {
        self.used
    }

    /// Empties the map (keeping its allocation).
    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
        self.used = 0;
    }

    fn hash(&self, key: &[u8]) -> [u64; 2] {
        [self.hasher.hash_one((0u8, key)), self.hasher.hash_one((1u8, key))]
    }

    /// The slot holding `hash`, or the free slot where it would go.
    fn probe(&self, hash: [u64; 2]) -> usize {
        let n = self.slots.len();
        let mut i = (hash[0] % n as u64) as usize;
        loop {
            match self.slots[i] {
                Some(s) if s.hash != hash => i = (i + 1) % n,
                _ => return i,
            }
        }
    }

    /// Records `offset` as the latest offset of `key`. Returns false, changing nothing, when
    /// `key` is new and the map is full.
    pub(crate) fn put(&mut self, key: &[u8], offset: i64) -> bool {
        let hash = self.hash(key);
        let mut i = self.probe(hash);
        if self.slots[i].is_none() {
            if self.used + 1 > self.capacity() {
                return false;
            }
            if (self.used + 1) as f64 > self.slots.len() as f64 * LOAD_FACTOR {
                self.grow();
                i = self.probe(hash);
            }
            self.used += 1;
        }
        self.slots[i] = Some(Slot { hash, offset });
        true
    }

    /// The latest offset recorded for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<i64> {
        self.slots[self.probe(self.hash(key))].map(|s| s.offset)
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).min(self.max_slots);
        if n == self.slots.len() {
            return;
        }
        let old = std::mem::replace(&mut self.slots, vec![None; n]);
        for s in old.into_iter().flatten() {
            let i = self.probe(s.hash);
            self.slots[i] = Some(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_overwriting() {
        let mut m = OffsetMap::with_memory(10 * SLOT_BYTES);
        assert_eq!(m.capacity(), 9);
        for i in 0..9 {
            assert!(m.put(format!("k{i}").as_bytes(), i));
        }
        assert!(!m.put(b"one too many", 100), "a full map refuses new keys");
        assert!(m.put(b"k3", 50), "but updates known ones");
        assert_eq!(m.get(b"k3"), Some(50));
        assert_eq!(m.get(b"k8"), Some(8));
        assert_eq!(m.get(b"one too many"), None);
        m.clear();
        assert_eq!((m.len(), m.get(b"k3")), (0, None));
    }

    #[test]
    fn grows_up_to_the_bound() {
        let mut m = OffsetMap::with_memory(1 << 20);
        for i in 0..20_000i64 {
            assert!(m.put(&i.to_be_bytes(), i));
        }
        assert_eq!(m.len(), 20_000);
        assert!(m.slots.len() <= m.max_slots);
        assert!((0..20_000i64).all(|i| m.get(&i.to_be_bytes()) == Some(i)));
    }
}
