//! The caching layer (Kafka's `CachingKeyValueStore` / `CachingWindowStore` /
//! `CachingSessionStore`), as one decorator over the byte-level backend.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::{BatchStop, DirtyEntry, ThreadCache};
use crate::error::Result;
use crate::backend::{
    apply_update, Backend, FlushListener, FlushedRecord, KeyBatch, KeyCodec, KeyRange, Layer, MergeIter, RawIter, RecordContext, UpdateFn,
    UpdateManyFn,
};

pub(crate) struct CachingBackend {
    inner: Box<dyn Backend>,
    cache: ThreadCache,
    ns: usize,
    codec: Arc<dyn KeyCodec>,
    record: RecordContext,
    listener: Option<FlushListener>,
}

impl fmt::Debug for CachingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingBackend")
            .field("ns", &self.ns)
            .field("inner", &self.inner)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl CachingBackend {
    pub(crate) fn new(
        inner: Box<dyn Backend>,
        cache: ThreadCache,
        namespace: &str,
        codec: Arc<dyn KeyCodec>,
        record: RecordContext,
    ) -> Self {
        let ns = cache.namespace(namespace);
        CachingBackend { inner, cache, ns, codec, record, listener: None }
    }

    /// Writes flushed or evicted entries to the inner store in one `put_all`, then forwards them.
    #[inline]
    fn write_dirty(&mut self, entries: Vec<DirtyEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.write_entries(entries)
    }

    #[inline(never)]
    fn write_entries(&mut self, entries: Vec<DirtyEntry>) -> Result<()> {
        let olds = match self.listener {
            Some(_) => entries.iter().map(|e| self.inner.get(&e.key)).collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        self.inner.put_all(entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect())?;
        if let Some(listener) = self.listener.as_mut() {
            for (e, old) in entries.into_iter().zip(olds) {
                if e.value.is_none() && old.is_none() {
                    continue;
                }
                let key = self.codec.forward_key(&e.key);
                listener(FlushedRecord { key, new_value: e.value, old_value: old, timestamp: e.timestamp });
            }
        }
        Ok(())
    }

    fn flush_cache(&mut self) -> Result<()> {
        let dirty = self.cache.flush(self.ns);
        self.write_dirty(dirty)
    }
}

/// Reads and writes through the cache; `put_all` goes through `put` (the default).
impl Layer for CachingBackend {
    fn inner(&self) -> &dyn Backend {
        &*self.inner
    }

    fn inner_mut(&mut self) -> &mut dyn Backend {
        &mut *self.inner
    }

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        if let Some(hit) = self.cache.get(self.ns, key) {
            return Ok(hit);
        }
        let v = self.inner.get(key)?;
        if let Some(v) = &v {
            self.cache.put_clean_if_room(self.ns, Bytes::copy_from_slice(key), v.clone());
        }
        Ok(v)
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        let evicted = self.cache.put(self.ns, key, value, self.record.timestamp());
        self.write_dirty(evicted)
    }

    fn put_key(&mut self, key: &[u8], value: Option<Bytes>) -> Result<()> {
        let evicted = self.cache.put_key(self.ns, key, value, self.record.timestamp());
        self.write_dirty(evicted)
    }

    /// One cache lookup when the key is cached; else the store's value, then a cached write.
    fn update_key(&mut self, key: &[u8], f: UpdateFn<'_>) -> Result<()> {
        let timestamp = self.record.timestamp();
        if let Some(evicted) = self.cache.update_key(self.ns, key, timestamp, &mut *f)? {
            return self.write_dirty(evicted);
        }
        let old = self.inner.get(key)?;
        let new = apply_update(f, old.as_deref())?;
        let evicted = self.cache.put_key(self.ns, key, new, timestamp);
        self.write_dirty(evicted)
    }

    /// The cached keys under one cache lock; a key not cached, and the dirty entries an update
    /// evicts, as [`Layer::update_key`] handles them, before the next key.
    fn update_keys(&mut self, keys: &KeyBatch<'_>, f: UpdateManyFn<'_>) -> Result<()> {
        let timestamp = self.record.timestamp();
        let mut from = 0;
        while from < keys.len() {
            match self.cache.update_keys(self.ns, keys, from, timestamp, &mut *f)? {
                BatchStop::Done => return Ok(()),
                BatchStop::Evicted(i, evicted) => {
                    self.write_dirty(evicted)?;
                    from = i + 1;
                }
                BatchStop::Miss(i) => {
                    let key = keys.key(i);
                    let old = self.inner.get(key)?;
                    let new = apply_update(&mut |old, out| f(i, old, out), old.as_deref())?;
                    let evicted = self.cache.put_key(self.ns, key, new, timestamp);
                    self.write_dirty(evicted)?;
                    from = i + 1;
                }
            }
        }
        Ok(())
    }

    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        let overlay = self.cache.range(self.ns, range, reverse);
        let inner = self.inner.range(range, reverse)?;
        Ok(Box::new(MergeIter::new(overlay, inner, reverse)))
    }

    fn delete_range(&mut self, range: &KeyRange) -> Result<()> {
        self.cache.delete_range(self.ns, range);
        self.inner.delete_range(range)
    }

    fn remove_unlogged(&mut self, key: Bytes) -> Result<()> {
        self.cache.delete_range(self.ns, &KeyRange::inclusive(Some(&key), Some(&key)));
        self.inner.remove_unlogged(key)
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_cache()?;
        self.inner.flush()
    }

    fn commit(&mut self, offset: Option<i64>) -> Result<()> {
        self.flush_cache()?;
        self.inner.commit(offset)
    }

    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, last_offset: i64) -> Result<()> {
        // Restoring happens before processing, so the cache holds nothing newer than the
        // changelog: flush anything left and forget it.
        self.flush_cache()?;
        self.cache.clear(self.ns);
        self.inner.restore_batch(entries, last_offset)
    }

    fn close(&mut self) -> Result<()> {
        let flushed = self.flush_cache();
        self.cache.clear(self.ns);
        flushed?;
        self.inner.close()
    }

    fn set_flush_listener(&mut self, listener: FlushListener) -> bool {
        self.listener = Some(listener);
        true
    }
}
