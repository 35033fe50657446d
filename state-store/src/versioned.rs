//! Versioned key-value stores (Kafka's `VersionedKeyValueStore`, KIP-889): every write keeps its
//! timestamp, and `get_as_of` answers "what was the value at time t" for temporal stream-table
//! joins, within a history retention. Raw layout: `key + timestamp (8, order-preserving)`, value
//! `0x01 + value` or `0x00` for a tombstone. The changelog carries plain `(key, value)` records
//! stamped with the version's timestamp.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::backend::{Backend, KeyCodec, KeyRange};
use crate::state::{backed_state_store, ChangelogRecord, StateStore};

/// A value with the timestamp it became valid at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedRecord {
    /// The value.
    pub value: Bytes,
    /// When it became valid (ms).
    pub timestamp: i64,
}

/// Reads of a versioned store.
pub trait ReadOnlyVersionedKeyValueStore {
    /// The latest value of `key`.
    ///
    /// # Errors
    /// I/O or RocksDB errors, or a closed store.
    fn get(&self, key: &[u8]) -> Result<Option<VersionedRecord>>;
    /// The value of `key` valid at `as_of`: the latest version with `timestamp <= as_of`. `None`
    /// when there is none, it is a tombstone, or `as_of` is older than the history retention.
    ///
    /// # Errors
    /// As [`ReadOnlyVersionedKeyValueStore::get`].
    fn get_as_of(&self, key: &[u8], as_of: i64) -> Result<Option<VersionedRecord>>;
}

/// A versioned key-value store.
pub trait VersionedKeyValueStore: ReadOnlyVersionedKeyValueStore + StateStore {
    /// Adds a version of `key` valid from `timestamp` (`None`: a tombstone). Writes older than
    /// the history retention are dropped.
    ///
    /// # Errors
    /// As [`ReadOnlyVersionedKeyValueStore::get`].
    fn put(&mut self, key: Bytes, value: Option<Bytes>, timestamp: i64) -> Result<()>;
    /// Writes a tombstone at `timestamp`; returns the version valid just before it.
    ///
    /// # Errors
    /// As [`ReadOnlyVersionedKeyValueStore::get`].
    fn delete(&mut self, key: &[u8], timestamp: i64) -> Result<Option<VersionedRecord>> {
        let old = self.get_as_of(key, timestamp)?;
        self.put(Bytes::copy_from_slice(key), None, timestamp)?;
        Ok(old)
    }
    /// History retention in ms.
    fn history_retention(&self) -> i64;
}

fn ts_bytes(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

fn raw_key(key: &[u8], ts: i64) -> Bytes {
    let mut b = BytesMut::with_capacity(key.len() + 8);
    b.put_slice(key);
    b.put_slice(&ts_bytes(ts));
    b.freeze()
}

fn split_raw(raw: &Bytes) -> Result<(Bytes, i64)> {
    let k = raw.len().checked_sub(8).ok_or_else(|| Error::decode("versioned store key", "too short"))?;
    let arr: [u8; 8] = raw[k..].try_into().map_err(|_| Error::decode("versioned store key", "too short"))?;
    Ok((raw.slice(..k), (u64::from_be_bytes(arr) ^ (1 << 63)) as i64))
}

fn encode_value(value: Option<&[u8]>) -> Bytes {
    match value {
        Some(v) => {
            let mut b = BytesMut::with_capacity(v.len() + 1);
            b.put_u8(1);
            b.put_slice(v);
            b.freeze()
        }
        None => Bytes::from_static(&[0]),
    }
}

fn decode_value(raw: &Bytes) -> Result<Option<Bytes>> {
    match raw.first() {
        Some(1) => Ok(Some(raw.slice(1..))),
        Some(0) => Ok(None),
        _ => Err(Error::decode("versioned store value", "bad tag")),
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct VersionedCodec;

impl KeyCodec for VersionedCodec {
    fn changelog(&self, key: &Bytes, value: Option<&Bytes>) -> (Bytes, Option<Bytes>, Option<i64>) {
        let (k, ts) = split_raw(key).unwrap_or_else(|_| (key.clone(), -1));
        let v = value.and_then(|v| decode_value(v).ok().flatten());
        (k, v, Some(ts))
    }
    fn forward_key(&self, key: &Bytes) -> Bytes {
        split_raw(key).map(|(k, _)| k).unwrap_or_else(|_| key.clone())
    }
}

#[derive(Debug)]
pub(crate) struct BackedVersionedStore {
    name: String,
    backend: Box<dyn Backend>,
    open: bool,
    history_retention: i64,
    observed: i64,
}

impl BackedVersionedStore {
    pub(crate) fn open(name: &str, backend: Box<dyn Backend>, history_retention: i64) -> Result<Self> {
        let mut observed = -1;
        for r in backend.range(&KeyRange::all(), false)? {
            observed = observed.max(split_raw(&r?.0)?.1);
        }
        Ok(BackedVersionedStore { name: name.to_owned(), backend, open: true, history_retention, observed })
    }

    fn boundary(&self) -> i64 {
        self.observed.saturating_sub(self.history_retention)
    }

    /// Versions of `key` with `timestamp <= as_of`, newest first.
    fn versions_before(&self, key: &[u8], as_of: i64) -> Result<impl Iterator<Item = Result<(Bytes, i64, Bytes)>> + '_> {
        let range = KeyRange::inclusive(Some(&raw_key(key, i64::MIN)), Some(&raw_key(key, as_of)));
        let want = key.len() + 8;
        Ok(self.backend.range(&range, true)?.filter_map(move |r| match r {
            Ok((k, v)) if k.len() == want => Some(split_raw(&k).map(|(_, ts)| (k, ts, v))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }))
    }

    fn decode_changelog(&mut self, records: &[ChangelogRecord]) -> Result<Vec<(Bytes, Option<Bytes>)>> {
        Ok(records
            .iter()
            .map(|r| {
                self.observed = self.observed.max(r.timestamp);
                (raw_key(&r.key, r.timestamp), Some(encode_value(r.value.as_deref())))
            })
            .collect())
    }

    fn after_restore(&mut self) -> Result<()> {
        Ok(())
    }
}

backed_state_store!(BackedVersionedStore);

impl ReadOnlyVersionedKeyValueStore for BackedVersionedStore {
    fn get(&self, key: &[u8]) -> Result<Option<VersionedRecord>> {
        self.check_open()?;
        self.get_as_of(key, i64::MAX)
    }

    fn get_as_of(&self, key: &[u8], as_of: i64) -> Result<Option<VersionedRecord>> {
        self.check_open()?;
        if as_of < self.boundary() {
            return Ok(None);
        }
        match self.versions_before(key, as_of)?.next().transpose()? {
            Some((_, timestamp, v)) => Ok(decode_value(&v)?.map(|value| VersionedRecord { value, timestamp })),
            None => Ok(None),
        }
    }
}

impl VersionedKeyValueStore for BackedVersionedStore {
    fn put(&mut self, key: Bytes, value: Option<Bytes>, timestamp: i64) -> Result<()> {
        self.check_open()?;
        self.observed = self.observed.max(timestamp);
        if timestamp < self.boundary() {
            tracing::debug!(store = %self.name, timestamp, "skipping write older than the history retention");
            return Ok(());
        }
        self.backend.put(raw_key(&key, timestamp), Some(encode_value(value.as_deref())))?;
        // Keep the newest version at or before the boundary (it answers `get_as_of(boundary)`)
        // and drop the older ones.
        let stale: Vec<Bytes> = self
            .versions_before(&key, self.boundary())?
            .skip(1)
            .map(|r| r.map(|(k, _, _)| k))
            .collect::<Result<_>>()?;
        for k in stale {
            // Not a logical delete, so not logged: the changelog keeps every version.
            self.backend.remove_unlogged(k)?;
        }
        Ok(())
    }

    fn history_retention(&self) -> i64 {
        self.history_retention
    }
}
