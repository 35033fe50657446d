//! Time segments shared by window and session stores: every raw key starts with an 8-byte
//! segment id, so expiry drops whole segments with one range delete (Kafka's `Segments`).

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Result;
use crate::backend::{Backend, KeyRange};

/// Kafka's segment interval: `max(retention / 2, 60 s)`.
pub(crate) fn segment_interval(retention: i64) -> i64 {
    (retention / 2).max(60_000)
}

/// Order-preserving encoding of a (possibly negative) segment id.
pub(crate) fn seg_prefix(id: i64) -> [u8; 8] {
    ((id as u64) ^ (1 << 63)).to_be_bytes()
}

fn seg_from_prefix(key: &[u8]) -> Option<i64> {
    let arr: [u8; 8] = key.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(arr) ^ (1 << 63)) as i64)
}

/// `prefix(id) + parts...`
pub(crate) fn raw_key(id: i64, parts: &[&[u8]]) -> Bytes {
    let len = 8 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut b = BytesMut::with_capacity(len);
    b.put_slice(&seg_prefix(id));
    for p in parts {
        b.put_slice(p);
    }
    b.freeze()
}

/// Runs `f` on a window store's raw key `prefix(id) + key + start + seqnum`, built on the stack
/// when it fits in 64 bytes (the point lookups, puts and updates of every aggregated record),
/// else on a [`raw_key`].
pub(crate) fn with_window_key<R>(id: i64, key: &[u8], start: i64, seq: u32, f: impl FnOnce(&[u8]) -> R) -> R {
    let at = 8 + key.len();
    let len = at + 12;
    if len > 64 {
        return f(&raw_key(id, &[key, &start.to_be_bytes(), &seq.to_be_bytes()]));
    }
    // Fixed-size parts copied by fixed-size moves; only the key's copy has a variable length.
    let mut buf = [0u8; 64];
    buf[..8].copy_from_slice(&seg_prefix(id));
    buf[8..at].copy_from_slice(key);
    buf[at..at + 8].copy_from_slice(&start.to_be_bytes());
    buf[at + 8..len].copy_from_slice(&seq.to_be_bytes());
    f(&buf[..len])
}

#[derive(Debug)]
pub(crate) struct Segments {
    pub(crate) interval: i64,
    pub(crate) retention: i64,
    live: BTreeSet<i64>,
    /// The segment the last `add` found or inserted: every put of a window store adds its
    /// segment, and consecutive puts mostly go to one segment.
    last_added: Option<i64>,
    /// The observed stream time of the last `expire` that left no expired segment behind
    /// (`i64::MIN`: none, or segments were added since). `expire` depends only on the observed
    /// time and the live set, so it has nothing to do until one of them changes.
    expired_at: i64,
}

impl Segments {
    pub(crate) fn new(retention: i64) -> Self {
        Segments { interval: segment_interval(retention), retention, live: BTreeSet::new(), last_added: None, expired_at: i64::MIN }
    }

    pub(crate) fn id(&self, ts: i64) -> i64 {
        ts.div_euclid(self.interval)
    }

    /// The smallest segment id still live at `observed` stream time.
    pub(crate) fn min_live(&self, observed: i64) -> i64 {
        self.id(observed.saturating_sub(self.retention))
    }

    /// The oldest live segment.
    pub(crate) fn first_live(&self) -> Option<i64> {
        self.live.first().copied()
    }

    pub(crate) fn is_live(&self, id: i64) -> bool {
        self.last_added == Some(id) || self.live.contains(&id)
    }

    pub(crate) fn add(&mut self, id: i64) {
        if self.last_added == Some(id) {
            return;
        }
        if self.live.insert(id) {
            self.expired_at = i64::MIN;
        }
        self.last_added = Some(id);
    }

    /// Live segments with ids in `[from, to]`, in iteration order.
    pub(crate) fn between(&self, from: i64, to: i64, reverse: bool) -> Vec<i64> {
        if from > to {
            return Vec::new();
        }
        let it = self.live.range(from..=to).copied();
        if reverse { it.rev().collect() } else { it.collect() }
    }

    /// Finds the segments present in `backend` (one seek per segment) and returns the highest.
    pub(crate) fn discover(&mut self, backend: &dyn Backend) -> Result<Option<i64>> {
        let mut lo = Bytes::new();
        loop {
            let range = KeyRange { lo: Some(lo.clone()), hi: None };
            let Some(first) = backend.range(&range, false)?.next().transpose()? else { break };
            let Some(id) = seg_from_prefix(&first.0) else { break };
            self.live.insert(id);
            self.expired_at = i64::MIN;
            if id == i64::MAX {
                break;
            }
            lo = Bytes::copy_from_slice(&seg_prefix(id + 1));
        }
        Ok(self.live.last().copied())
    }

    /// Drops segments that are no longer live at `observed`. Every write of a window store asks,
    /// and mostly at the observed time it last asked at: that check is inlined into the caller.
    #[inline]
    pub(crate) fn expire(&mut self, backend: &mut dyn Backend, observed: i64) -> Result<()> {
        if observed == self.expired_at {
            return Ok(());
        }
        self.expire_at(backend, observed)
    }

    #[inline(never)]
    fn expire_at(&mut self, backend: &mut dyn Backend, observed: i64) -> Result<()> {
        let min_live = self.min_live(observed);
        let Some(&first) = self.live.first() else { return Ok(()) };
        if first >= min_live {
            self.expired_at = observed;
            return Ok(());
        }
        let range = KeyRange {
            lo: Some(Bytes::copy_from_slice(&seg_prefix(first))),
            hi: Some(Bytes::copy_from_slice(&seg_prefix(min_live))),
        };
        backend.delete_range(&range)?;
        self.live = self.live.split_off(&min_live);
        self.last_added = self.last_added.filter(|&id| id >= min_live);
        self.expired_at = observed;
        tracing::debug!(below = min_live, "dropped expired segments");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_runs_again_when_the_observed_time_or_the_segments_change() {
        let mut backend = crate::state::memory::MemoryBackend::new("s");
        let mut segs = Segments::new(120_000); // 60 s segments, 120 s retention
        for id in [0, 1, 2] {
            segs.add(id);
            backend.put(raw_key(id, &[b"k"]), Some(Bytes::from_static(b"v"))).unwrap();
        }
        // observed 190 s: segment 0 (0-60 s) is older than the segment of 190 - 120 s.
        segs.expire(&mut backend, 190_000).unwrap();
        assert!(!segs.is_live(0) && segs.is_live(1) && segs.is_live(2));
        assert_eq!(backend.get(&raw_key(0, &[b"k"])).unwrap(), None);
        // The same observed time: nothing to do, even after re-adding the live segment 2.
        segs.add(2);
        segs.expire(&mut backend, 190_000).unwrap();
        assert!(segs.is_live(1));
        // A segment added below the live ones (a restore) is expired at the same observed time.
        segs.add(0);
        assert!(segs.is_live(0));
        segs.expire(&mut backend, 190_000).unwrap();
        assert!(!segs.is_live(0));
        // Time moves on: segment 1 goes, and the last added segment with it.
        segs.add(1);
        segs.expire(&mut backend, 250_000).unwrap();
        assert!(!segs.is_live(1) && segs.is_live(2));
        assert_eq!(backend.get(&raw_key(1, &[b"k"])).unwrap(), None);
        assert!(backend.get(&raw_key(2, &[b"k"])).unwrap().is_some());
    }

    #[test]
    fn prefixes_sort_like_ids() {
        assert!(seg_prefix(-1) < seg_prefix(0) && seg_prefix(0) < seg_prefix(1));
        assert_eq!(seg_from_prefix(&seg_prefix(-5)), Some(-5));
        assert_eq!(segment_interval(1_000), 60_000);
        assert_eq!(segment_interval(1_000_000), 500_000);
    }
}
