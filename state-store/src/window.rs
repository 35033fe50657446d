//! Window stores (Kafka's `WindowStore`): values per key and window start, split into time
//! segments so expiry drops whole segments. Raw layout: `segment id (8) + key + start (8) +
//! seqnum (4)`; the changelog key is the same without the segment id (Kafka's
//! `WindowKeySchema` store layout).

pub(crate) mod segmented;
pub(crate) mod segments;

use bytes::Bytes;

use self::segments::{raw_key, with_window_key, Segments};
use crate::error::Result;
use crate::serde::{Window, WindowKeySchema, Windowed};
use crate::backend::{apply_update, Backend, KeyBatch, KeyCodec, KeyRange, RawIter};
use crate::state::{backed_state_store, ChangelogRecord, StateStore};

/// `(window start, value)` pairs of one key.
pub type WindowIter<'a> = Box<dyn Iterator<Item = Result<(i64, Bytes)>> + 'a>;
/// `(windowed key, value)` pairs.
pub type WindowedIter<'a> = Box<dyn Iterator<Item = Result<(Windowed<Bytes>, Bytes)>> + 'a>;

/// Reads of a window store. Time bounds are inclusive window starts; records older than the
/// retention period (relative to the largest window start seen) are never returned.
pub trait ReadOnlyWindowStore {
    /// The value of the window of `key` starting at `window_start` (the first one when duplicates
    /// are retained).
    ///
    /// # Errors
    /// I/O or RocksDB errors, or a closed store.
    fn fetch_one(&self, key: &[u8], window_start: i64) -> Result<Option<Bytes>>;
    /// Windows of `key` with `time_from <= start <= time_to`, oldest first.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn fetch(&self, key: &[u8], time_from: i64, time_to: i64) -> Result<WindowIter<'_>>;
    /// As [`ReadOnlyWindowStore::fetch`], newest first.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn backward_fetch(&self, key: &[u8], time_from: i64, time_to: i64) -> Result<WindowIter<'_>>;
    /// Windows of keys in `[key_from, key_to]` (`None`: unbounded) in the time range, ordered by
    /// segment, then key, then start.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn fetch_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowedIter<'_>>;
    /// As [`ReadOnlyWindowStore::fetch_key_range`], in reverse order.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn backward_fetch_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowedIter<'_>>;
    /// Every window in the time range.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn fetch_all(&self, time_from: i64, time_to: i64) -> Result<WindowedIter<'_>> {
        self.fetch_key_range(None, None, time_from, time_to)
    }
    /// Every window in the time range, in reverse order.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn backward_fetch_all(&self, time_from: i64, time_to: i64) -> Result<WindowedIter<'_>> {
        self.backward_fetch_key_range(None, None, time_from, time_to)
    }
    /// Every live window.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn all(&self) -> Result<WindowedIter<'_>> {
        self.fetch_all(i64::MIN, i64::MAX)
    }
    /// Every live window, in reverse order.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn backward_all(&self) -> Result<WindowedIter<'_>> {
        self.backward_fetch_all(i64::MIN, i64::MAX)
    }
}

/// A window store.
pub trait WindowStore: ReadOnlyWindowStore + StateStore {
    /// Writes `value` (or deletes, with `None`) for the window of `key` starting at
    /// `window_start`. Writes to expired segments are dropped. With retain-duplicates every put
    /// is kept (a unique sequence number is appended) and `None` is ignored.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`].
    fn put(&mut self, key: Bytes, value: Option<Bytes>, window_start: i64) -> Result<()>;
    /// Reads the window of `key` starting at `window_start` and writes what `f` makes of it: `f`
    /// gets the old value and an empty buffer, writes the new value into the buffer and returns
    /// `true` (`false`: delete): [`ReadOnlyWindowStore::fetch_one`] then [`WindowStore::put`], as an
    /// aggregation updates a window. Stores without duplicates build the raw key once, do not
    /// need the key as `Bytes`, and find a cached window with one cache lookup, lending `f` the
    /// cached value.
    ///
    /// # Errors
    /// As [`ReadOnlyWindowStore::fetch_one`], or `f`'s error.
    fn update_one(
        &mut self,
        key: &[u8],
        window_start: i64,
        f: &mut dyn FnMut(Option<&[u8]>, &mut Vec<u8>) -> Result<bool>,
    ) -> Result<()> {
        fetch_then_put(self, key, window_start, f)
    }
    /// [`WindowStore::update_one`] of the windows of `key` starting at each of `starts`, in order,
    /// as one call (the windows of one record in a hopping aggregation): `f` gets the window's
    /// index in `starts`. Stops at the first error; the windows before it are written. A store
    /// without duplicates whose windows are all live and readable (the common case: no new
    /// segment, none to expire) passes them through its layers at once: one metered count, one
    /// cache lock while they are cached.
    ///
    /// # Errors
    /// As [`WindowStore::update_one`].
    fn update_windows(
        &mut self,
        key: &[u8],
        starts: &[i64],
        f: &mut dyn FnMut(usize, Option<&[u8]>, &mut Vec<u8>) -> Result<bool>,
    ) -> Result<()> {
        update_each(self, key, starts, f)
    }
    /// The largest window start seen (Kafka's observed stream time); `-1` before any.
    fn observed_stream_time(&self) -> i64;
    /// Retention period in ms.
    fn retention_period(&self) -> i64;
    /// Window size in ms.
    fn window_size(&self) -> i64;
}

/// [`WindowStore::update_one`] as any store can do it: [`ReadOnlyWindowStore::fetch_one`], then
/// [`WindowStore::put`] of what `f` makes of the value.
fn fetch_then_put<S: WindowStore + ?Sized>(
    store: &mut S,
    key: &[u8],
    window_start: i64,
    f: &mut dyn FnMut(Option<&[u8]>, &mut Vec<u8>) -> Result<bool>,
) -> Result<()> {
    let old = store.fetch_one(key, window_start)?;
    let new = apply_update(f, old.as_deref())?;
    store.put(Bytes::copy_from_slice(key), new, window_start)
}

/// [`WindowStore::update_windows`] as any store can do it: [`WindowStore::update_one`] of each.
fn update_each<S: WindowStore + ?Sized>(
    store: &mut S,
    key: &[u8],
    starts: &[i64],
    f: &mut dyn FnMut(usize, Option<&[u8]>, &mut Vec<u8>) -> Result<bool>,
) -> Result<()> {
    for (i, &start) in starts.iter().enumerate() {
        store.update_one(key, start, &mut |old, out| f(i, old, out))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct WindowCodec;

impl KeyCodec for WindowCodec {
    fn changelog(&self, key: &Bytes, value: Option<&Bytes>) -> (Bytes, Option<Bytes>, Option<i64>) {
        segmented::changelog_entry(key, value)
    }
    fn forward_key(&self, key: &Bytes) -> Bytes {
        let end = key.len().saturating_sub(WindowKeySchema::SEQNUM_SIZE).max(8.min(key.len()));
        key.slice(8.min(key.len())..end)
    }
}

fn split_raw(raw: &[u8]) -> Result<(&[u8], i64, u32)> {
    WindowKeySchema::from_store_key_binary(segmented::without_segment(raw, "window store key")?)
}

/// Runs `backend.range` over each segment, lazily, in order.
pub(crate) fn scan_segments<'a>(
    backend: &'a dyn Backend,
    segs: Vec<i64>,
    range_of: impl Fn(i64) -> KeyRange + 'a,
    reverse: bool,
) -> RawIter<'a> {
    Box::new(segs.into_iter().flat_map(move |s| -> RawIter<'a> {
        match backend.range(&range_of(s), reverse) {
            Ok(it) => it,
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }))
}

#[derive(Debug)]
pub(crate) struct SegmentedWindowStore {
    name: String,
    backend: Box<dyn Backend>,
    open: bool,
    segments: Segments,
    window_size: i64,
    retain_duplicates: bool,
    seqnum: u32,
    observed: i64,
    /// Records expire only with their segment (`StoreBuilder::with_segment_granular_expiry`).
    pub(crate) segment_expiry: bool,
    /// The raw keys of an `update_windows` call, concatenated, and their segments: reused.
    batch_keys: Vec<u8>,
    batch_segments: Vec<i64>,
}

impl SegmentedWindowStore {
    pub(crate) fn open(
        name: &str,
        backend: Box<dyn Backend>,
        retention: i64,
        window_size: i64,
        retain_duplicates: bool,
    ) -> Result<Self> {
        let mut segments = Segments::new(retention);
        let (mut observed, mut seqnum) = (-1, 0);
        if let Some(last) = segments.discover(&*backend)? {
            let range = KeyRange::prefix(&segments::seg_prefix(last));
            for r in backend.range(&range, false)? {
                let (k, _) = r?;
                let (_, start, seq) = split_raw(&k)?;
                observed = observed.max(start);
                seqnum = seqnum.max(seq);
            }
        }
        Ok(SegmentedWindowStore {
            name: name.to_owned(),
            backend,
            open: true,
            segments,
            window_size,
            retain_duplicates,
            // Continue after the newest duplicate so reopened stores do not overwrite them.
            seqnum,
            observed,
            segment_expiry: false,
            batch_keys: Vec::new(),
            batch_segments: Vec::new(),
        })
    }

    fn decode_changelog(&mut self, records: &[ChangelogRecord]) -> Result<Vec<(Bytes, Option<Bytes>)>> {
        let seqnum = &mut self.seqnum;
        segmented::restore_batch(&mut self.segments, &mut self.observed, records, |key| {
            let (_, start, seq) = WindowKeySchema::from_store_key_binary(key)?;
            *seqnum = (*seqnum).max(seq);
            Ok(start)
        })
    }

    fn after_restore(&mut self) -> Result<()> {
        self.segments.expire(&mut *self.backend, self.observed)
    }

    fn actual_from(&self, time_from: i64) -> i64 {
        self.actual_from_at(self.observed, time_from)
    }

    /// The first window start readable at `observed` stream time from `time_from` on.
    fn actual_from_at(&self, observed: i64, time_from: i64) -> i64 {
        if self.segment_expiry {
            return time_from;
        }
        time_from.max(observed.saturating_sub(self.segments.retention).saturating_add(1))
    }

    /// Builds the raw keys of the windows of `key` at `starts` into `batch_keys` (and their
    /// segments into `batch_segments`) and returns the observed stream time after them, when
    /// `update_one` of each window in turn would read and write every one and expire no segment,
    /// so that one pass through the layers does the same: the starts ascend, each window is
    /// readable when its turn comes (its start within the retention, its segment live or the
    /// one of the window before it), the first (so every) window's segment is live at the final
    /// observed time, and so is every live segment (no expiry at the end, hence none in
    /// between). `None` otherwise.
    fn batch_keys(&mut self, key: &[u8], starts: &[i64]) -> Option<i64> {
        let len = 8 + key.len() + 12;
        self.batch_keys.clear();
        self.batch_segments.clear();
        let mut observed = self.observed;
        for (i, &start) in starts.iter().enumerate() {
            let id = self.segments.id(start);
            let new_segment = self.batch_segments.last() != Some(&id);
            if (i > 0 && start <= starts[i - 1])
                || (new_segment && !self.segments.is_live(id))
                || start < self.actual_from_at(observed, start)
            {
                return None;
            }
            if new_segment {
                self.batch_segments.push(id);
            }
            observed = observed.max(start);
            // The first key from its parts, the others from the one before: a new start, and
            // maybe a new segment.
            let at = self.batch_keys.len();
            if at == 0 {
                self.batch_keys.extend_from_slice(&segments::seg_prefix(id));
                self.batch_keys.extend_from_slice(key);
                self.batch_keys.extend_from_slice(&start.to_be_bytes());
                self.batch_keys.extend_from_slice(&[0; 4]);
                continue;
            }
            self.batch_keys.extend_from_within(at - len..at);
            let k = &mut self.batch_keys[at..];
            if new_segment {
                k[..8].copy_from_slice(&segments::seg_prefix(id));
            }
            k[len - 12..len - 4].copy_from_slice(&start.to_be_bytes());
        }
        let min_live = self.segments.min_live(observed);
        let first = *self.batch_segments.first()?;
        (first >= min_live && self.segments.first_live().is_none_or(|f| f >= min_live)).then_some(observed)
    }

    fn fetch_key(&self, key: &[u8], time_from: i64, time_to: i64, reverse: bool) -> Result<WindowIter<'_>> {
        self.check_open()?;
        let from = self.actual_from(time_from);
        if from > time_to {
            return Ok(Box::new(std::iter::empty()));
        }
        let segs = self.segments.between(self.segments.id(from), self.segments.id(time_to), reverse);
        let key_owned = Bytes::copy_from_slice(key);
        let k2 = key_owned.clone();
        let raw = scan_segments(
            &*self.backend,
            segs,
            move |s| {
                // Timestamps are big-endian i64: negative ones sort last, so start the scan at 0 at least.
                let lo = raw_key(s, &[&k2, &from.max(0).to_be_bytes(), &[0; 4]]);
                let hi = raw_key(s, &[&k2, &time_to.to_be_bytes(), &[0xff; 4]]);
                KeyRange::inclusive(Some(&lo), Some(&hi))
            },
            reverse,
        );
        Ok(Box::new(raw.filter_map(move |r| match r.and_then(|(k, v)| {
            let (key, start, _) = split_raw(&k)?;
            Ok((key == &key_owned[..] && (from..=time_to).contains(&start)).then_some((start, v)))
        }) {
            Ok(Some(x)) => Some(Ok(x)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })))
    }

    fn fetch_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        time_from: i64,
        time_to: i64,
        reverse: bool,
    ) -> Result<WindowedIter<'_>> {
        self.check_open()?;
        let from = self.actual_from(time_from);
        if from > time_to || matches!((key_from, key_to), (Some(a), Some(b)) if a > b) {
            return Ok(Box::new(std::iter::empty()));
        }
        let segs = self.segments.between(self.segments.id(from), self.segments.id(time_to), reverse);
        let keys = segmented::KeyBounds::new(key_from, key_to);
        let k2 = keys.clone();
        let raw = scan_segments(&*self.backend, segs, move |s| k2.segment_range(s, raw_key(s, &[k2.from().unwrap_or(&[])]), &[0xff; 12]), reverse);
        let size = self.window_size;
        Ok(Box::new(raw.filter_map(move |r| {
            let item = r.and_then(|(k, v)| {
                let (key, start, _) = split_raw(&k)?;
                Ok((keys.contains(key) && (from..=time_to).contains(&start)).then(|| {
                    let w = Window::new(start, start.saturating_add(size));
                    (Windowed::new(Bytes::copy_from_slice(key), w), v)
                }))
            });
            item.transpose()
        })))
    }
}

backed_state_store!(SegmentedWindowStore);

impl ReadOnlyWindowStore for SegmentedWindowStore {
    fn fetch_one(&self, key: &[u8], window_start: i64) -> Result<Option<Bytes>> {
        if self.retain_duplicates {
            return self.fetch_key(key, window_start, window_start, false)?.next().transpose().map(|o| o.map(|(_, v)| v));
        }
        // Without duplicates a window has exactly one raw key (sequence number 0): a point
        // lookup, answered by the cache's hash index when cached, instead of a range scan.
        self.check_open()?;
        let id = self.segments.id(window_start);
        if window_start < self.actual_from(window_start) || !self.segments.is_live(id) {
            return Ok(None);
        }
        // The raw key (segment, key, start, sequence 0) on the stack: this runs once per window
        // of every aggregated record.
        with_window_key(id, key, window_start, 0, |raw| self.backend.get(raw))
    }
    fn fetch(&self, key: &[u8], time_from: i64, time_to: i64) -> Result<WindowIter<'_>> {
        self.fetch_key(key, time_from, time_to, false)
    }
    fn backward_fetch(&self, key: &[u8], time_from: i64, time_to: i64) -> Result<WindowIter<'_>> {
        self.fetch_key(key, time_from, time_to, true)
    }
    fn fetch_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowedIter<'_>> {
        self.fetch_range(key_from, key_to, time_from, time_to, false)
    }
    fn backward_fetch_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        time_from: i64,
        time_to: i64,
    ) -> Result<WindowedIter<'_>> {
        self.fetch_range(key_from, key_to, time_from, time_to, true)
    }
}

impl WindowStore for SegmentedWindowStore {
    fn put(&mut self, key: Bytes, value: Option<Bytes>, window_start: i64) -> Result<()> {
        self.check_open()?;
        if self.retain_duplicates && value.is_none() {
            return Ok(());
        }
        self.observed = self.observed.max(window_start);
        let id = self.segments.id(window_start);
        if id < self.segments.min_live(self.observed) {
            tracing::debug!(store = %self.name, window_start, "skipping write to an expired window");
            return Ok(());
        }
        let seq = if self.retain_duplicates {
            self.seqnum = (self.seqnum + 1) & 0x7fff_ffff;
            self.seqnum
        } else {
            0
        };
        self.segments.add(id);
        // The raw key on the stack: the cache copies it only for a new window.
        let backend = &mut self.backend;
        with_window_key(id, &key, window_start, seq, |raw| backend.put_key(raw, value))?;
        self.segments.expire(&mut *self.backend, self.observed)
    }

    fn update_one(
        &mut self,
        key: &[u8],
        window_start: i64,
        f: &mut dyn FnMut(Option<&[u8]>, &mut Vec<u8>) -> Result<bool>,
    ) -> Result<()> {
        if self.retain_duplicates {
            return fetch_then_put(self, key, window_start, f);
        }
        self.check_open()?;
        let id = self.segments.id(window_start);
        // What `fetch_one` sees: nothing in an expired or unknown segment.
        let readable = window_start >= self.actual_from(window_start) && self.segments.is_live(id);
        // What `put` does: the observed time moves first, then writes to expired segments are
        // dropped.
        let observed = self.observed.max(window_start);
        let writable = id >= self.segments.min_live(observed);
        let (backend, name) = (&mut self.backend, &self.name);
        with_window_key(id, key, window_start, 0, |raw| -> Result<()> {
            if readable && writable {
                // One call through the layers: the cache finds the window once.
                return backend.update_key(raw, f);
            }
            let old = if readable { backend.get(raw)? } else { None };
            let new = apply_update(f, old.as_deref())?;
            if !writable {
                tracing::debug!(store = %name, window_start, "skipping write to an expired window");
                return Ok(());
            }
            backend.put_key(raw, new)
        })?;
        self.observed = observed;
        if writable {
            self.segments.add(id);
        }
        self.segments.expire(&mut *self.backend, self.observed)
    }

    fn update_windows(
        &mut self,
        key: &[u8],
        starts: &[i64],
        f: &mut dyn FnMut(usize, Option<&[u8]>, &mut Vec<u8>) -> Result<bool>,
    ) -> Result<()> {
        let batch = if self.retain_duplicates || starts.len() < 2 { None } else { self.batch_keys(key, starts) };
        let Some(observed) = batch else {
            return update_each(self, key, starts, f);
        };
        self.check_open()?;
        let mut written = 0;
        let keys = KeyBatch::new(&self.batch_keys, 8 + key.len() + 12);
        let r = self.backend.update_keys(&keys, &mut |i, old, out| {
            let r = f(i, old, out);
            if r.is_ok() {
                written = i + 1;
            }
            r
        });
        // As `update_one` of each window written: the observed time moves, the segment is added.
        if r.is_ok() {
            self.observed = observed;
            for &id in &self.batch_segments {
                self.segments.add(id);
            }
        } else {
            for &start in &starts[..written] {
                self.observed = self.observed.max(start);
                self.segments.add(self.segments.id(start));
            }
        }
        r?;
        self.segments.expire(&mut *self.backend, self.observed)
    }

    fn observed_stream_time(&self) -> i64 {
        self.observed
    }

    fn retention_period(&self) -> i64 {
        self.segments.retention
    }

    fn window_size(&self) -> i64 {
        self.window_size
    }
}
