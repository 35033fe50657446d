//! The byte-level store every store shape is built on, and what its layers share.
//!
//! Key-value, window, session and versioned stores map their keys onto one ordered byte map
//! (a [`Backend`]); metering, caching and changelogging are backend decorators ([`Layer`]s),
//! so every shape gets them with one implementation and both backends behave identically.
//! This module is a leaf: the layers (`metered`, `cache::caching`, `changelog`) and the
//! backends (`state::memory`, `state::rocksdb`) import it, and `state` builds stores from them.

use std::cmp::Ordering;
use std::fmt;
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::atomic::{self, AtomicI64};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Result;

/// How a store directory was found when the store was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenOutcome {
    /// Existing data was opened.
    Opened,
    /// No data existed (or the store is in memory): restore from the changelog start.
    Created,
    /// The directory was corrupted or written by an incompatible version and was wiped: restore
    /// from the changelog start and ignore any checkpoint for it.
    Wiped {
        /// Why it was wiped.
        reason: String,
    },
}

impl OpenOutcome {
    /// Whether the store is empty and must be restored from the beginning of its changelog.
    #[must_use]
    pub fn needs_full_restore(&self) -> bool {
        !matches!(self, OpenOutcome::Opened)
    }
}

/// A record the cache writes to its store on flush or eviction, forwarded downstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushedRecord {
    /// The key (windowed stores: `key + start`; sessions: `key + end + start`).
    pub key: Bytes,
    /// The new value; `None` for a delete.
    pub new_value: Option<Bytes>,
    /// The value in the store before this flush, when it had one.
    pub old_value: Option<Bytes>,
    /// Timestamp of the last update of the key.
    pub timestamp: i64,
}

/// Callback receiving flushed records (Kafka's `CacheFlushListener`).
pub type FlushListener = Box<dyn FnMut(FlushedRecord) + Send>;

/// The timestamp of the record being processed, shared by the runtime and the stores of a task;
/// caching and changelogging layers stamp their records with it.
#[derive(Debug, Clone, Default)]
pub struct RecordContext(Arc<AtomicI64>);

impl RecordContext {
    /// Sets the current record timestamp.
    pub fn set_timestamp(&self, timestamp: i64) {
        self.0.store(timestamp, atomic::Ordering::Relaxed);
    }
    /// The current record timestamp.
    #[must_use]
    pub fn timestamp(&self) -> i64 {
        self.0.load(atomic::Ordering::Relaxed)
    }
}


/// `[lo, hi)` over raw keys; `None` is unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub(crate) lo: Option<Bytes>,
    pub(crate) hi: Option<Bytes>,
}

impl KeyRange {
    pub(crate) fn all() -> Self {
        KeyRange::default()
    }

    /// `[from, to]` with both ends inclusive.
    pub(crate) fn inclusive(from: Option<&[u8]>, to: Option<&[u8]>) -> Self {
        KeyRange {
            lo: from.map(Bytes::copy_from_slice),
            hi: to.map(|t| {
                let mut b = BytesMut::with_capacity(t.len() + 1);
                b.put_slice(t);
                b.put_u8(0);
                b.freeze()
            }),
        }
    }

    /// Every key starting with `prefix`.
    pub(crate) fn prefix(prefix: &[u8]) -> Self {
        KeyRange { lo: Some(Bytes::copy_from_slice(prefix)), hi: prefix_end(prefix) }
    }

    #[cfg_attr(not(feature = "rocksdb"), allow(dead_code))]
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.lo.as_deref().is_none_or(|lo| key >= lo) && self.hi.as_deref().is_none_or(|hi| key < hi)
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!((&self.lo, &self.hi), (Some(lo), Some(hi)) if lo >= hi)
    }
}

/// `range` as `BTreeMap::range` bounds.
pub(crate) fn bounds(range: &KeyRange) -> (Bound<&[u8]>, Bound<&[u8]>) {
    (
        range.lo.as_deref().map_or(Bound::Unbounded, Bound::Included),
        range.hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
    )
}

/// The smallest key greater than every key starting with `prefix` (`None` when there is none).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Bytes> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(Bytes::from(end));
        }
    }
    None
}

/// Iterator over raw entries.
pub(crate) type RawIter<'a> = Box<dyn Iterator<Item = Result<(Bytes, Bytes)>> + 'a>;

/// The read-modify-write of [`Backend::update_key`]: given the old value (`None`: absent) and an
/// empty buffer, writes the new value into the buffer and returns `true`, or returns `false` to
/// delete. The cache lends its own buffer and stores an exact-size copy (one allocation).
pub(crate) type UpdateFn<'a> = &'a mut dyn FnMut(Option<&[u8]>, &mut Vec<u8>) -> Result<bool>;

/// The keys of one [`Backend::update_keys`] call, all of one length, concatenated in one buffer
/// (the raw keys of a record's windows, built into a buffer the window store reuses).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyBatch<'a> {
    buf: &'a [u8],
    key_len: usize,
}

impl<'a> KeyBatch<'a> {
    /// The keys of `key_len` bytes in `buf` (a trailing partial key is ignored).
    pub(crate) fn new(buf: &'a [u8], key_len: usize) -> Self {
        KeyBatch { buf, key_len: key_len.max(1) }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len() / self.key_len
    }

    /// Key `i` (`i < len()`).
    #[inline]
    pub(crate) fn key(&self, i: usize) -> &'a [u8] {
        &self.buf[i * self.key_len..(i + 1) * self.key_len]
    }
}

/// The read-modify-write of [`Backend::update_keys`]: [`UpdateFn`] with the key's index in the
/// batch.
pub(crate) type UpdateManyFn<'a> = &'a mut dyn FnMut(usize, Option<&[u8]>, &mut Vec<u8>) -> Result<bool>;

/// Runs `f` on `old`: the new value, or `None` to delete.
pub(crate) fn apply_update(f: UpdateFn<'_>, old: Option<&[u8]>) -> Result<Option<Bytes>> {
    let mut out = Vec::new();
    Ok(f(old, &mut out)?.then(|| Bytes::from(out)))
}

/// An ordered byte map with buffered writes: the RocksDB and in-memory backends, and the caching
/// and changelogging layers over them.
pub(crate) trait Backend: Send + fmt::Debug {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>>;
    /// Writes `value`, or deletes when `None`.
    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()>;
    /// As [`Backend::put`] with a borrowed key: layers that may already hold the key (the
    /// cache) copy it only when they need to.
    fn put_key(&mut self, key: &[u8], value: Option<Bytes>) -> Result<()> {
        self.put(Bytes::copy_from_slice(key), value)
    }
    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()> {
        entries.into_iter().try_for_each(|(k, v)| self.put(k, v))
    }
    /// Reads `key` and writes what `f` makes of its value (`None`: absent, or delete): an
    /// aggregation's read-modify-write as one call, [`Backend::get`] then [`Backend::put_key`].
    /// The cache overrides it to find its entry once and lend `f` the cached value.
    fn update_key(&mut self, key: &[u8], f: UpdateFn<'_>) -> Result<()> {
        let old = self.get(key)?;
        let new = apply_update(f, old.as_deref())?;
        self.put_key(key, new)
    }
    /// [`Backend::update_key`] of every key of `keys`, in order, as one call: the window store
    /// updates all windows of a record with one pass through the layers (one metered count, one
    /// cache lock while the windows are cached). Stops at the first error; the keys before it
    /// are written.
    fn update_keys(&mut self, keys: &KeyBatch<'_>, f: UpdateManyFn<'_>) -> Result<()> {
        for i in 0..keys.len() {
            self.update_key(keys.key(i), &mut |old, out| f(i, old, out))?;
        }
        Ok(())
    }
    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>>;
    /// Drops every key in `range` (expired segments); not logged.
    fn delete_range(&mut self, range: &KeyRange) -> Result<()>;
    /// Deletes `key` without logging it (pruning old versions).
    fn remove_unlogged(&mut self, key: Bytes) -> Result<()> {
        self.put(key, None)
    }
    fn approximate_num_entries(&self) -> Result<u64>;
    fn flush(&mut self) -> Result<()>;
    fn commit(&mut self, offset: Option<i64>) -> Result<()>;
    fn committed_offset(&self) -> Option<i64>;
    /// Writes restored entries straight into the innermost backend in one batch.
    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, last_offset: i64) -> Result<()>;
    fn close(&mut self) -> Result<()>;
    fn persistent(&self) -> bool;
    fn open_outcome(&self) -> OpenOutcome;
    fn set_flush_listener(&mut self, _listener: FlushListener) -> bool {
        false
    }
}

/// A backend that decorates another (the metered, caching and changelogging layers). Every
/// [`Backend`] method forwards to [`Layer::inner`] / [`Layer::inner_mut`] unless the layer
/// overrides it, so a layer writes only what it changes; `put_key` and `put_all` default to
/// the layer's own `put`, as [`Backend`]'s defaults do.
pub(crate) trait Layer: Send + fmt::Debug {
    fn inner(&self) -> &dyn Backend;
    fn inner_mut(&mut self) -> &mut dyn Backend;

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.inner().get(key)
    }
    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        self.inner_mut().put(key, value)
    }
    fn put_key(&mut self, key: &[u8], value: Option<Bytes>) -> Result<()> {
        Layer::put(self, Bytes::copy_from_slice(key), value)
    }
    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()> {
        entries.into_iter().try_for_each(|(k, v)| Layer::put(self, k, v))
    }
    /// The layer's own `get` then `put_key` (a layer that logs or counts writes sees this one).
    fn update_key(&mut self, key: &[u8], f: UpdateFn<'_>) -> Result<()> {
        let old = Layer::get(self, key)?;
        let new = apply_update(f, old.as_deref())?;
        Layer::put_key(self, key, new)
    }
    /// The layer's own `update_key` of each key.
    fn update_keys(&mut self, keys: &KeyBatch<'_>, f: UpdateManyFn<'_>) -> Result<()> {
        for i in 0..keys.len() {
            Layer::update_key(self, keys.key(i), &mut |old, out| f(i, old, out))?;
        }
        Ok(())
    }
    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        self.inner().range(range, reverse)
    }
    fn delete_range(&mut self, range: &KeyRange) -> Result<()> {
        self.inner_mut().delete_range(range)
    }
    fn remove_unlogged(&mut self, key: Bytes) -> Result<()> {
        self.inner_mut().remove_unlogged(key)
    }
    fn approximate_num_entries(&self) -> Result<u64> {
        self.inner().approximate_num_entries()
    }
    fn flush(&mut self) -> Result<()> {
        self.inner_mut().flush()
    }
    fn commit(&mut self, offset: Option<i64>) -> Result<()> {
        self.inner_mut().commit(offset)
    }
    fn committed_offset(&self) -> Option<i64> {
        self.inner().committed_offset()
    }
    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, last_offset: i64) -> Result<()> {
        self.inner_mut().restore_batch(entries, last_offset)
    }
    fn close(&mut self) -> Result<()> {
        self.inner_mut().close()
    }
    fn persistent(&self) -> bool {
        self.inner().persistent()
    }
    fn open_outcome(&self) -> OpenOutcome {
        self.inner().open_outcome()
    }
    fn set_flush_listener(&mut self, listener: FlushListener) -> bool {
        self.inner_mut().set_flush_listener(listener)
    }
}

/// Every layer is a backend: the one place the forwarding is written.
impl<L: Layer> Backend for L {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Layer::get(self, key)
    }
    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        Layer::put(self, key, value)
    }
    fn put_key(&mut self, key: &[u8], value: Option<Bytes>) -> Result<()> {
        Layer::put_key(self, key, value)
    }
    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()> {
        Layer::put_all(self, entries)
    }
    fn update_key(&mut self, key: &[u8], f: UpdateFn<'_>) -> Result<()> {
        Layer::update_key(self, key, f)
    }
    fn update_keys(&mut self, keys: &KeyBatch<'_>, f: UpdateManyFn<'_>) -> Result<()> {
        Layer::update_keys(self, keys, f)
    }
    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        Layer::range(self, range, reverse)
    }
    fn delete_range(&mut self, range: &KeyRange) -> Result<()> {
        Layer::delete_range(self, range)
    }
    fn remove_unlogged(&mut self, key: Bytes) -> Result<()> {
        Layer::remove_unlogged(self, key)
    }
    fn approximate_num_entries(&self) -> Result<u64> {
        Layer::approximate_num_entries(self)
    }
    fn flush(&mut self) -> Result<()> {
        Layer::flush(self)
    }
    fn commit(&mut self, offset: Option<i64>) -> Result<()> {
        Layer::commit(self, offset)
    }
    fn committed_offset(&self) -> Option<i64> {
        Layer::committed_offset(self)
    }
    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, last_offset: i64) -> Result<()> {
        Layer::restore_batch(self, entries, last_offset)
    }
    fn close(&mut self) -> Result<()> {
        Layer::close(self)
    }
    fn persistent(&self) -> bool {
        Layer::persistent(self)
    }
    fn open_outcome(&self) -> OpenOutcome {
        Layer::open_outcome(self)
    }
    fn set_flush_listener(&mut self, listener: FlushListener) -> bool {
        Layer::set_flush_listener(self, listener)
    }
}

/// Translates a store's raw keys and values into changelog records and flushed records.
pub(crate) trait KeyCodec: Send + Sync + fmt::Debug {
    /// Changelog `(key, value, timestamp override)` of a raw write.
    fn changelog(&self, key: &Bytes, value: Option<&Bytes>) -> (Bytes, Option<Bytes>, Option<i64>);
    /// Key handed to flush listeners.
    fn forward_key(&self, key: &Bytes) -> Bytes;
}

/// Key-value stores: raw keys are the user keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdentityCodec;

impl KeyCodec for IdentityCodec {
    fn changelog(&self, key: &Bytes, value: Option<&Bytes>) -> (Bytes, Option<Bytes>, Option<i64>) {
        (key.clone(), value.cloned(), None)
    }
    fn forward_key(&self, key: &Bytes) -> Bytes {
        key.clone()
    }
}

/// Merges an overlay of pending writes (`None` = deleted) over an ordered iterator; the overlay
/// wins on equal keys. Both inputs must be sorted in the iteration direction.
pub(crate) struct MergeIter<I: Iterator<Item = Result<(Bytes, Bytes)>>> {
    overlay: Peekable<std::vec::IntoIter<(Bytes, Option<Bytes>)>>,
    inner: Peekable<I>,
    reverse: bool,
}

impl<I: Iterator<Item = Result<(Bytes, Bytes)>>> MergeIter<I> {
    pub(crate) fn new(overlay: Vec<(Bytes, Option<Bytes>)>, inner: I, reverse: bool) -> Self {
        MergeIter { overlay: overlay.into_iter().peekable(), inner: inner.peekable(), reverse }
    }
}

impl<I: Iterator<Item = Result<(Bytes, Bytes)>>> Iterator for MergeIter<I> {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let order = match (self.overlay.peek(), self.inner.peek()) {
                (None, None) => return None,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), Some(Err(_))) => Ordering::Greater,
                (Some((ok, _)), Some(Ok((ik, _)))) => {
                    let o = ok.cmp(ik);
                    if self.reverse { o.reverse() } else { o }
                }
            };
            match order {
                Ordering::Greater => return self.inner.next(),
                Ordering::Equal => {
                    self.inner.next();
                }
                Ordering::Less => {}
            }
            if let Some((k, Some(v))) = self.overlay.next() {
                return Some(Ok((k, v)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn merge_prefers_overlay_and_hides_deletes() {
        let inner = vec![Ok((b("a"), b("1"))), Ok((b("b"), b("2"))), Ok((b("d"), b("4")))];
        let overlay = vec![(b("b"), None), (b("c"), Some(b("3"))), (b("d"), Some(b("x")))];
        let got: Vec<_> = MergeIter::new(overlay, inner.into_iter(), false).map(|r| r.unwrap()).collect();
        assert_eq!(got, vec![(b("a"), b("1")), (b("c"), b("3")), (b("d"), b("x"))]);
        let inner = vec![Ok((b("d"), b("4"))), Ok((b("a"), b("1")))];
        let overlay = vec![(b("c"), Some(b("3"))), (b("a"), None)];
        let got: Vec<_> = MergeIter::new(overlay, inner.into_iter(), true).map(|r| r.unwrap()).collect();
        assert_eq!(got, vec![(b("d"), b("4")), (b("c"), b("3"))]);
    }

    #[test]
    fn ranges() {
        assert_eq!(prefix_end(b"a\xff"), Some(b("b")));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        let r = KeyRange::inclusive(Some(b"b"), Some(b"d"));
        assert!(r.contains(b"b") && r.contains(b"d") && !r.contains(b"d\0") && !r.contains(b"a"));
        assert!(KeyRange::inclusive(Some(b"z"), Some(b"a")).is_empty());
        assert!(KeyRange::prefix(b"ab").contains(b"abz") && !KeyRange::prefix(b"ab").contains(b"ac"));
    }
}
