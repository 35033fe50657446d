//! Key-value stores (Kafka's `KeyValueStore`), and typed access to them through serdes.

mod typed;

use bytes::Bytes;

pub use self::typed::{KeyValueReader, ReaderIter, StateSerdes, TypedIter, TypedKeyValueStore};
use crate::error::Result;
use crate::backend::{Backend, KeyRange};
use crate::state::{backed_state_store, ChangelogRecord, StateStore};

/// Iterator over `(key, value)` pairs; items fail only on I/O or RocksDB errors.
pub type KeyValueIter<'a> = Box<dyn Iterator<Item = Result<(Bytes, Bytes)>> + 'a>;

/// Reads of a key-value store (interactive queries use these only).
pub trait ReadOnlyKeyValueStore {
    /// The value of `key`.
    ///
    /// # Errors
    /// I/O or RocksDB errors, or a closed store.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>>;
    /// Entries with `from <= key <= to`, ascending; empty when `from > to`.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn range(&self, from: &[u8], to: &[u8]) -> Result<KeyValueIter<'_>>;
    /// Entries with `from <= key <= to`, descending.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn reverse_range(&self, from: &[u8], to: &[u8]) -> Result<KeyValueIter<'_>>;
    /// Entries whose key starts with `prefix`, ascending.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn prefix_scan(&self, prefix: &[u8]) -> Result<KeyValueIter<'_>>;
    /// Every entry, ascending.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn all(&self) -> Result<KeyValueIter<'_>>;
    /// Every entry, descending.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn reverse_all(&self) -> Result<KeyValueIter<'_>>;
    /// An estimate of the number of entries (exact in memory).
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn approximate_num_entries(&self) -> Result<u64>;
}

/// A key-value store.
pub trait KeyValueStore: ReadOnlyKeyValueStore + StateStore {
    /// Writes `value` for `key`; `None` deletes (as Kafka's `put(key, null)`).
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()>;
    /// Writes `value` unless `key` has one; returns the existing value.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn put_if_absent(&mut self, key: Bytes, value: Bytes) -> Result<Option<Bytes>>;
    /// Writes every entry (`None` deletes).
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()>;
    /// Deletes `key`; returns its old value.
    ///
    /// # Errors
    /// As [`ReadOnlyKeyValueStore::get`].
    fn delete(&mut self, key: &[u8]) -> Result<Option<Bytes>>;
}

#[derive(Debug)]
pub(crate) struct BackedKeyValueStore {
    name: String,
    backend: Box<dyn Backend>,
    open: bool,
}

impl BackedKeyValueStore {
    pub(crate) fn new(name: &str, backend: Box<dyn Backend>) -> Self {
        BackedKeyValueStore { name: name.to_owned(), backend, open: true }
    }

    fn decode_changelog(&mut self, records: &[ChangelogRecord]) -> Result<Vec<(Bytes, Option<Bytes>)>> {
        Ok(records.iter().map(|r| (r.key.clone(), r.value.clone())).collect())
    }

    fn after_restore(&mut self) -> Result<()> {
        Ok(())
    }

    fn scan(&self, range: KeyRange, reverse: bool) -> Result<KeyValueIter<'_>> {
        self.check_open()?;
        self.backend.range(&range, reverse)
    }
}

backed_state_store!(BackedKeyValueStore);

impl ReadOnlyKeyValueStore for BackedKeyValueStore {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check_open()?;
        self.backend.get(key)
    }
    fn range(&self, from: &[u8], to: &[u8]) -> Result<KeyValueIter<'_>> {
        self.scan(KeyRange::inclusive(Some(from), Some(to)), false)
    }
    fn reverse_range(&self, from: &[u8], to: &[u8]) -> Result<KeyValueIter<'_>> {
        self.scan(KeyRange::inclusive(Some(from), Some(to)), true)
    }
    fn prefix_scan(&self, prefix: &[u8]) -> Result<KeyValueIter<'_>> {
        self.scan(KeyRange::prefix(prefix), false)
    }
    fn all(&self) -> Result<KeyValueIter<'_>> {
        self.scan(KeyRange::all(), false)
    }
    fn reverse_all(&self) -> Result<KeyValueIter<'_>> {
        self.scan(KeyRange::all(), true)
    }
    fn approximate_num_entries(&self) -> Result<u64> {
        self.check_open()?;
        self.backend.approximate_num_entries()
    }
}

impl KeyValueStore for BackedKeyValueStore {
    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        self.check_open()?;
        self.backend.put(key, value)
    }
    fn put_if_absent(&mut self, key: Bytes, value: Bytes) -> Result<Option<Bytes>> {
        self.check_open()?;
        let old = self.backend.get(&key)?;
        if old.is_none() {
            self.backend.put(key, Some(value))?;
        }
        Ok(old)
    }
    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()> {
        self.check_open()?;
        self.backend.put_all(entries)
    }
    fn delete(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check_open()?;
        let old = self.backend.get(key)?;
        self.backend.put(Bytes::copy_from_slice(key), None)?;
        Ok(old)
    }
}
