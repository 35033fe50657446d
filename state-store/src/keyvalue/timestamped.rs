//! The timestamped key-value store the DSL's KTables use: values carry the timestamp of the
//! record that last updated them, stored as Kafka's `ValueAndTimestamp` bytes
//! (8-byte big-endian timestamp + value).

use bytes::Bytes;

use super::KeyValueStore;
use crate::error::Result;
use crate::serde::ValueAndTimestamp;

/// A key-value store of [`ValueAndTimestamp`] values over any [`KeyValueStore`].
/// Changelog records and flushed records carry the stored bytes (timestamp + value).
///
/// # Examples
/// ```
/// use brook_state_store::{Stores, StoreContext, TimestampedKeyValueStore, ValueAndTimestamp};
/// use bytes::Bytes;
/// let ctx = StoreContext::new("/unused", "app", "0_0", 0);
/// let inner = Stores::in_memory_key_value_store("counts").build(&ctx).unwrap();
/// let mut store = TimestampedKeyValueStore::new(inner);
/// let v = ValueAndTimestamp { value: Bytes::from_static(b"3"), timestamp: 42 };
/// store.put(Bytes::from_static(b"k"), Some(v.clone())).unwrap();
/// assert_eq!(store.get(b"k").unwrap(), Some(v));
/// ```
#[derive(Debug)]
pub struct TimestampedKeyValueStore {
    inner: Box<dyn KeyValueStore>,
}

type TsIter<'a> = Box<dyn Iterator<Item = Result<(Bytes, ValueAndTimestamp<Bytes>)>> + 'a>;

fn decode<'a>(it: super::KeyValueIter<'a>) -> TsIter<'a> {
    Box::new(it.map(|r| r.and_then(|(k, v)| Ok((k, ValueAndTimestamp::from_bytes(&v)?)))))
}

impl TimestampedKeyValueStore {
    /// Wraps a store built by [`crate::Stores`].
    #[must_use]
    pub fn new(inner: Box<dyn KeyValueStore>) -> Self {
        TimestampedKeyValueStore { inner }
    }

    /// The value and timestamp of `key`.
    ///
    /// # Errors
    /// Store errors, or [`crate::Error::Decode`] on a value shorter than 8 bytes.
    pub fn get(&self, key: &[u8]) -> Result<Option<ValueAndTimestamp<Bytes>>> {
        self.inner.get(key)?.map(|v| ValueAndTimestamp::from_bytes(&v)).transpose()
    }

    /// Writes (or with `None` deletes) `key`.
    ///
    /// # Errors
    /// Store errors.
    pub fn put(&mut self, key: Bytes, value: Option<ValueAndTimestamp<Bytes>>) -> Result<()> {
        self.inner.put(key, value.map(|v| v.to_bytes()))
    }

    /// Writes unless present; returns the existing value.
    ///
    /// # Errors
    /// As [`TimestampedKeyValueStore::get`].
    pub fn put_if_absent(&mut self, key: Bytes, value: ValueAndTimestamp<Bytes>) -> Result<Option<ValueAndTimestamp<Bytes>>> {
        self.inner.put_if_absent(key, value.to_bytes())?.map(|v| ValueAndTimestamp::from_bytes(&v)).transpose()
    }

    /// Deletes `key`; returns its old value.
    ///
    /// # Errors
    /// As [`TimestampedKeyValueStore::get`].
    pub fn delete(&mut self, key: &[u8]) -> Result<Option<ValueAndTimestamp<Bytes>>> {
        self.inner.delete(key)?.map(|v| ValueAndTimestamp::from_bytes(&v)).transpose()
    }

    /// Entries with `from <= key <= to`, ascending.
    ///
    /// # Errors
    /// Store errors; items fail on undecodable values.
    pub fn range(&self, from: &[u8], to: &[u8]) -> Result<TsIter<'_>> {
        Ok(decode(self.inner.range(from, to)?))
    }

    /// Every entry, ascending.
    ///
    /// # Errors
    /// As [`TimestampedKeyValueStore::range`].
    pub fn all(&self) -> Result<TsIter<'_>> {
        Ok(decode(self.inner.all()?))
    }

    /// The underlying byte store (flush, commit, close, flush listener).
    pub fn inner_mut(&mut self) -> &mut dyn KeyValueStore {
        &mut *self.inner
    }

    /// The underlying byte store.
    #[must_use]
    pub fn inner(&self) -> &dyn KeyValueStore {
        &*self.inner
    }

    /// Flushes the underlying store.
    ///
    /// # Errors
    /// Store errors.
    pub fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
}
