//! Session stores (Kafka's `SessionStore`): values per key and session window, segmented by
//! session end. Raw layout: `segment id (8) + key + end (8) + start (8)`; the changelog key is
//! Kafka's `SessionKeySchema` (`key + end + start`).

use bytes::Bytes;

use crate::error::Result;
use crate::serde::{SessionKeySchema, Window, Windowed};
use crate::backend::{Backend, KeyCodec, KeyRange};
use crate::state::{backed_state_store, ChangelogRecord, StateStore};
use crate::window::segmented;
use crate::window::segments::{self, raw_key, Segments};
use crate::window::{scan_segments, WindowedIter};

/// Reads of a session store.
pub trait ReadOnlySessionStore {
    /// Sessions of `key` with `end >= earliest_session_end` and `start <= latest_session_start`
    /// (Kafka's `findSessions`), ordered by end, then start.
    ///
    /// # Errors
    /// I/O or RocksDB errors, or a closed store.
    fn find_sessions(&self, key: &[u8], earliest_session_end: i64, latest_session_start: i64) -> Result<WindowedIter<'_>>;
    /// As [`ReadOnlySessionStore::find_sessions`], in reverse order.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn backward_find_sessions(&self, key: &[u8], earliest_session_end: i64, latest_session_start: i64) -> Result<WindowedIter<'_>>;
    /// As [`ReadOnlySessionStore::find_sessions`] for keys in `[key_from, key_to]` (`None`:
    /// unbounded), ordered by segment, then key, then end.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn find_sessions_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        earliest_session_end: i64,
        latest_session_start: i64,
    ) -> Result<WindowedIter<'_>>;
    /// Every session of `key`.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn fetch(&self, key: &[u8]) -> Result<WindowedIter<'_>> {
        self.find_sessions(key, i64::MIN, i64::MAX)
    }
    /// Every session of `key`, in reverse order.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn backward_fetch(&self, key: &[u8]) -> Result<WindowedIter<'_>> {
        self.backward_find_sessions(key, i64::MIN, i64::MAX)
    }
    /// The value of exactly this session.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn fetch_session(&self, key: &[u8], start: i64, end: i64) -> Result<Option<Bytes>>;
}

/// A session store.
pub trait SessionStore: ReadOnlySessionStore + StateStore {
    /// Writes the aggregate of `session` (deletes with `None`). Sessions ending in an expired
    /// segment are dropped.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn put(&mut self, session: &Windowed<Bytes>, value: Option<Bytes>) -> Result<()>;
    /// Deletes `session`.
    ///
    /// # Errors
    /// As [`ReadOnlySessionStore::find_sessions`].
    fn remove(&mut self, session: &Windowed<Bytes>) -> Result<()> {
        self.put(session, None)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionCodec;

impl KeyCodec for SessionCodec {
    fn changelog(&self, key: &Bytes, value: Option<&Bytes>) -> (Bytes, Option<Bytes>, Option<i64>) {
        segmented::changelog_entry(key, value)
    }
    fn forward_key(&self, key: &Bytes) -> Bytes {
        key.slice(8.min(key.len())..)
    }
}

fn split_raw(raw: &[u8]) -> Result<(&[u8], Window)> {
    SessionKeySchema::from_binary(segmented::without_segment(raw, "session store key")?)
}

#[derive(Debug)]
pub(crate) struct SegmentedSessionStore {
    name: String,
    backend: Box<dyn Backend>,
    open: bool,
    segments: Segments,
    observed: i64,
}

impl SegmentedSessionStore {
    pub(crate) fn open(name: &str, backend: Box<dyn Backend>, retention: i64) -> Result<Self> {
        let mut segments = Segments::new(retention);
        let mut observed = -1;
        if let Some(last) = segments.discover(&*backend)? {
            for r in backend.range(&KeyRange::prefix(&segments::seg_prefix(last)), false)? {
                observed = observed.max(split_raw(&r?.0)?.1.end);
            }
        }
        Ok(SegmentedSessionStore { name: name.to_owned(), backend, open: true, segments, observed })
    }

    fn decode_changelog(&mut self, records: &[ChangelogRecord]) -> Result<Vec<(Bytes, Option<Bytes>)>> {
        segmented::restore_batch(&mut self.segments, &mut self.observed, records, |key| Ok(SessionKeySchema::from_binary(key)?.1.end))
    }

    fn after_restore(&mut self) -> Result<()> {
        self.segments.expire(&mut *self.backend, self.observed)
    }

    fn find(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        earliest_end: i64,
        latest_start: i64,
        reverse: bool,
    ) -> Result<WindowedIter<'_>> {
        self.check_open()?;
        if matches!((key_from, key_to), (Some(a), Some(b)) if a > b) {
            return Ok(Box::new(std::iter::empty()));
        }
        // A session ending at or after `earliest_end` may live in any later segment.
        let segs = self.segments.between(self.segments.id(earliest_end), i64::MAX, reverse);
        let single = key_from.is_some() && key_from == key_to;
        let keys = segmented::KeyBounds::new(key_from, key_to);
        let k2 = keys.clone();
        let raw = scan_segments(
            &*self.backend,
            segs,
            move |s| {
                let lo = match (k2.from(), single) {
                    (Some(k), true) => raw_key(s, &[k, &earliest_end.max(0).to_be_bytes()]),
                    (Some(k), false) => raw_key(s, &[k]),
                    (None, _) => raw_key(s, &[]),
                };
                k2.segment_range(s, lo, &[0xff; 16])
            },
            reverse,
        );
        Ok(Box::new(raw.filter_map(move |r| {
            let item = r.and_then(|(k, v)| {
                let (key, w) = split_raw(&k)?;
                Ok((keys.contains(key) && w.end >= earliest_end && w.start <= latest_start)
                    .then(|| (Windowed::new(Bytes::copy_from_slice(key), w), v)))
            });
            item.transpose()
        })))
    }
}

backed_state_store!(SegmentedSessionStore);

impl ReadOnlySessionStore for SegmentedSessionStore {
    fn find_sessions(&self, key: &[u8], earliest_session_end: i64, latest_session_start: i64) -> Result<WindowedIter<'_>> {
        self.find(Some(key), Some(key), earliest_session_end, latest_session_start, false)
    }
    fn backward_find_sessions(&self, key: &[u8], earliest_session_end: i64, latest_session_start: i64) -> Result<WindowedIter<'_>> {
        self.find(Some(key), Some(key), earliest_session_end, latest_session_start, true)
    }
    fn find_sessions_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        earliest_session_end: i64,
        latest_session_start: i64,
    ) -> Result<WindowedIter<'_>> {
        self.find(key_from, key_to, earliest_session_end, latest_session_start, false)
    }
    fn fetch_session(&self, key: &[u8], start: i64, end: i64) -> Result<Option<Bytes>> {
        self.check_open()?;
        let raw = raw_key(self.segments.id(end), &[&SessionKeySchema::to_binary(key, Window::new(start, end))]);
        self.backend.get(&raw)
    }
}

impl SessionStore for SegmentedSessionStore {
    fn put(&mut self, session: &Windowed<Bytes>, value: Option<Bytes>) -> Result<()> {
        self.check_open()?;
        let end = session.window.end;
        self.observed = self.observed.max(end);
        let id = self.segments.id(end);
        if id < self.segments.min_live(self.observed) {
            tracing::debug!(store = %self.name, end, "skipping write to an expired session");
            return Ok(());
        }
        self.segments.add(id);
        let raw = raw_key(id, &[&SessionKeySchema::to_binary(&session.key, session.window)]);
        self.backend.put(raw, value)?;
        self.segments.expire(&mut *self.backend, self.observed)
    }
}
