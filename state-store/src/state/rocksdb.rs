//! The RocksDB backend: one database per store, writes buffered and written as one `WriteBatch`
//! per flush (or per commit, with the changelog offset, in transactional mode).
//!
//! rocksdb 0.20.1 has no `WriteBufferManager` binding, so memory is bounded by one block cache
//! shared by all stores of a [`RocksDbEnv`] plus a per-store cap on write buffers.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use rocksdb::{
    BlockBasedOptions, ColumnFamilyDescriptor, DataBlockIndexType, ErrorKind, IteratorMode, Options, ReadOptions,
    WriteBatch, WriteOptions, DB,
};

use crate::error::{Error, Result};
use crate::backend::{bounds, Backend, KeyRange, MergeIter, OpenOutcome, RawIter};
use crate::checkpoint::write_atomically;
use crate::state::env::RocksDbEnv;

const META_CF: &str = "brook-meta";
const OFFSET_KEY: &[u8] = b"changelog.offset";
const FORMAT_FILE: &str = "BROOK-FORMAT";
const FORMAT: &str = "brook-state-store 1\n";

impl RocksDbEnv {
    fn options(&self) -> Options {
        let c = self.config();
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(self.cache());
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        table.set_bloom_filter(10.0, false);
        table.set_format_version(5);
        table.set_data_block_index_type(DataBlockIndexType::BinaryAndHash);
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // Data and the committed offset live in two column families: flush them together so a
        // crash never persists one without the other (the WAL is off, as in Kafka Streams).
        opts.set_atomic_flush(true);
        opts.set_write_buffer_size(c.write_buffer_bytes);
        opts.set_max_write_buffer_number(c.max_write_buffers);
        opts.set_block_based_table_factory(&table);
        opts
    }
}

pub(crate) struct RocksDbBackend {
    name: String,
    path: PathBuf,
    db: Option<DB>,
    env: RocksDbEnv,
    pending: BTreeMap<Bytes, Option<Bytes>>,
    pending_deletes: Vec<KeyRange>,
    pending_bytes: usize,
    transactional: bool,
    committed: Option<i64>,
    outcome: OpenOutcome,
    read_opts: ReadOptions,
    write_opts: WriteOptions,
}

impl fmt::Debug for RocksDbBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocksDbBackend")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("pending", &self.pending.len())
            .field("transactional", &self.transactional)
            .finish_non_exhaustive()
    }
}

fn wipe(path: &Path) -> Result<()> {
    fs::remove_dir_all(path).map_err(|e| Error::io(path, e))?;
    fs::create_dir_all(path).map_err(|e| Error::io(path, e))
}

impl RocksDbBackend {
    pub(crate) fn open(name: &str, path: &Path, env: &RocksDbEnv, transactional: bool) -> Result<Self> {
        let mut outcome = OpenOutcome::Opened;
        let has_files = match fs::read_dir(path) {
            Ok(mut d) => d.next().is_some(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(Error::io(path, e)),
        };
        if has_files {
            let marker = path.join(FORMAT_FILE);
            let format = match fs::read_to_string(&marker) {
                Ok(f) => f,
                // Missing or not even text: not ours, or torn.
                Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData) => {
                    String::new()
                }
                Err(e) => return Err(Error::io(marker, e)),
            };
            if format != FORMAT {
                let reason = format!("incompatible store format {:?}", format.trim());
                tracing::warn!(store = name, path = %path.display(), %reason, "wiping store directory");
                wipe(path)?;
                outcome = OpenOutcome::Wiped { reason };
            }
        } else {
            fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
            outcome = OpenOutcome::Created;
        }
        let db = match Self::open_db(env, path) {
            Ok(db) => db,
            Err(e) if matches!(e.kind(), ErrorKind::Corruption | ErrorKind::InvalidArgument) => {
                let reason = format!("corrupted: {}", e.into_string());
                tracing::warn!(store = name, path = %path.display(), %reason, "wiping store directory");
                wipe(path)?;
                outcome = OpenOutcome::Wiped { reason };
                Self::open_db(env, path).map_err(|e| Error::rocks(name, e))?
            }
            Err(e) => return Err(Error::rocks(name, e)),
        };
        write_atomically(&path.join(FORMAT_FILE), FORMAT.as_bytes())?;
        let meta = db.cf_handle(META_CF).ok_or_else(|| Error::decode("store", "no meta column family"))?;
        let committed = match db.get_cf(meta, OFFSET_KEY).map_err(|e| Error::rocks(name, e))? {
            Some(v) => Some(i64::from_be_bytes(
                v.as_slice().try_into().map_err(|_| Error::decode("committed offset", "bad length"))?,
            )),
            None => None,
        };
        Ok(RocksDbBackend {
            name: name.to_owned(),
            path: path.to_owned(),
            db: Some(db),
            env: env.clone(),
            pending: BTreeMap::new(),
            pending_deletes: Vec::new(),
            pending_bytes: 0,
            transactional,
            committed,
            outcome,
            read_opts: ReadOptions::default(),
            write_opts: write_options(),
        })
    }

    fn open_db(env: &RocksDbEnv, path: &Path) -> Result<DB, rocksdb::Error> {
        let opts = env.options();
        let cfs = [
            ColumnFamilyDescriptor::new(rocksdb::DEFAULT_COLUMN_FAMILY_NAME, opts.clone()),
            ColumnFamilyDescriptor::new(META_CF, opts.clone()),
        ];
        DB::open_cf_descriptors(&opts, path, cfs)
    }

    fn db(&self) -> Result<&DB> {
        self.db.as_ref().ok_or_else(|| Error::Closed(self.name.clone()))
    }

    fn deleted(&self, key: &[u8]) -> bool {
        self.pending_deletes.iter().any(|r| r.contains(key))
    }

    /// Writes pending deletes and writes (and `offset`) as one batch.
    fn write_pending(&mut self, offset: Option<i64>) -> Result<()> {
        let db = self.db.as_ref().ok_or_else(|| Error::Closed(self.name.clone()))?;
        if self.pending.is_empty() && self.pending_deletes.is_empty() && offset.is_none() {
            return Ok(());
        }
        let data = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).expect("default column family");
        let mut batch = WriteBatch::default();
        for r in &self.pending_deletes {
            let lo = r.lo.as_deref().unwrap_or(&[]);
            let hi = r.hi.clone().unwrap_or_else(|| Bytes::from(vec![0xff; 256]));
            batch.delete_range_cf(data, lo, &hi[..]);
        }
        for (k, v) in &self.pending {
            match v {
                Some(v) => batch.put_cf(data, k, v),
                None => batch.delete_cf(data, k),
            }
        }
        if let Some(offset) = offset.filter(|_| self.transactional) {
            let meta = db.cf_handle(META_CF).expect("meta column family");
            batch.put_cf(meta, OFFSET_KEY, offset.to_be_bytes());
        }
        db.write_opt(batch, &self.write_opts).map_err(|e| Error::rocks(&self.name, e))?;
        self.pending.clear();
        self.pending_deletes.clear();
        self.pending_bytes = 0;
        if self.transactional && offset.is_some() {
            self.committed = offset;
        }
        Ok(())
    }

    fn flush_memtables(&self) -> Result<()> {
        let db = self.db()?;
        let data = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).expect("default column family");
        let meta = db.cf_handle(META_CF).expect("meta column family");
        db.flush_cf(data).and_then(|_| db.flush_cf(meta)).map_err(|e| Error::rocks(&self.name, e))
    }
}

fn write_options() -> WriteOptions {
    let mut wo = WriteOptions::default();
    wo.disable_wal(true);
    wo
}

impl Backend for RocksDbBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        let db = self.db()?;
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        if self.deleted(key) {
            return Ok(None);
        }
        let data = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).expect("default column family");
        let v = db.get_pinned_cf_opt(data, key, &self.read_opts).map_err(|e| Error::rocks(&self.name, e))?;
        Ok(v.map(|v| Bytes::copy_from_slice(&v)))
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        self.db()?;
        self.pending_bytes += key.len() + value.as_ref().map_or(0, Bytes::len) + 32;
        self.pending.insert(key, value);
        if !self.transactional && self.pending_bytes > self.env.config().max_pending_bytes {
            self.write_pending(None)?;
        }
        Ok(())
    }

    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        let db = self.db()?;
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let mut overlay: Vec<(Bytes, Option<Bytes>)> = self
            .pending
            .range::<[u8], _>(bounds(range))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if reverse {
            overlay.reverse();
        }
        let mut ro = ReadOptions::default();
        if let Some(lo) = &range.lo {
            ro.set_iterate_lower_bound(lo.to_vec());
        }
        if let Some(hi) = &range.hi {
            ro.set_iterate_upper_bound(hi.to_vec());
        }
        let data = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).expect("default column family");
        let mode = if reverse { IteratorMode::End } else { IteratorMode::Start };
        let name = self.name.clone();
        let inner = db
            .iterator_cf_opt(data, ro, mode)
            .map(move |r| {
                r.map(|(k, v)| (Bytes::from(Vec::from(k)), Bytes::from(Vec::from(v))))
                    .map_err(|e| Error::rocks(&name, e))
            })
            .filter(move |r| !matches!(r, Ok((k, _)) if self.deleted(k)));
        Ok(Box::new(MergeIter::new(overlay, inner, reverse)))
    }

    fn delete_range(&mut self, range: &KeyRange) -> Result<()> {
        self.db()?;
        if range.is_empty() {
            return Ok(());
        }
        let keys: Vec<Bytes> = self.pending.range::<[u8], _>(bounds(range)).map(|(k, _)| k.clone()).collect();
        for k in keys {
            self.pending.remove(&k);
        }
        self.pending_deletes.push(range.clone());
        Ok(())
    }

    fn approximate_num_entries(&self) -> Result<u64> {
        let db = self.db()?;
        let data = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).expect("default column family");
        let n = db
            .property_int_value_cf(data, "rocksdb.estimate-num-keys")
            .map_err(|e| Error::rocks(&self.name, e))?
            .unwrap_or(0);
        Ok(n + self.pending.len() as u64)
    }

    fn flush(&mut self) -> Result<()> {
        if self.transactional {
            // Uncommitted data stays buffered until `commit` brings its changelog offset.
            return self.db().map(|_| ());
        }
        self.write_pending(None)?;
        self.flush_memtables()
    }

    fn commit(&mut self, offset: Option<i64>) -> Result<()> {
        self.write_pending(offset)?;
        // Transactional stores flush too (data before the offset), as Kafka Streams flushes
        // RocksDB on every commit: the data is durable without a WAL, and reads stay on small
        // memtables (a memtable holding every version of hot keys makes each get slower).
        self.flush_memtables()
    }

    fn committed_offset(&self) -> Option<i64> {
        if self.transactional { self.committed } else { None }
    }

    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, last_offset: i64) -> Result<()> {
        if !self.pending.is_empty() || !self.pending_deletes.is_empty() {
            self.write_pending(None)?;
        }
        let db = self.db()?;
        let data = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME).expect("default column family");
        let mut batch = WriteBatch::default();
        for (k, v) in &entries {
            match v {
                Some(v) => batch.put_cf(data, k, v),
                None => batch.delete_cf(data, k),
            }
        }
        if self.transactional {
            let meta = db.cf_handle(META_CF).expect("meta column family");
            batch.put_cf(meta, OFFSET_KEY, last_offset.to_be_bytes());
        }
        db.write_opt(batch, &self.write_opts).map_err(|e| Error::rocks(&self.name, e))?;
        if self.transactional {
            self.committed = Some(last_offset);
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if self.db.is_none() {
            return Ok(());
        }
        if !self.transactional {
            self.write_pending(None)?;
        }
        // Uncommitted transactional writes are dropped: the changelog replays them.
        self.flush_memtables()?;
        self.db = None;
        Ok(())
    }

    fn persistent(&self) -> bool {
        true
    }

    fn open_outcome(&self) -> OpenOutcome {
        self.outcome.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RocksDbConfig;

    #[test]
    fn config_from_kafka_style_keys() {
        let mut c = RocksDbConfig::default();
        c.set("rocksdb.block.cache.bytes", "1048576").unwrap();
        c.set("rocksdb.max.write.buffers", "3").unwrap();
        assert_eq!((c.block_cache_bytes, c.max_write_buffers), (1 << 20, 3));
        assert!(matches!(c.set("rocksdb.block.cache.bytes", "lots"), Err(Error::Config { .. })));
        assert!(matches!(c.set("no.such.key", "1"), Err(Error::Config { .. })));
    }

    #[test]
    fn stores_share_the_block_cache() {
        let dir = tempfile::tempdir().unwrap();
        let env = RocksDbEnv::new(RocksDbConfig::default()).unwrap();
        let mut a = RocksDbBackend::open("a", &dir.path().join("a"), &env, false).unwrap();
        let mut b = RocksDbBackend::open("b", &dir.path().join("b"), &env, false).unwrap();
        for s in [&mut a, &mut b] {
            for i in 0..100u32 {
                s.put(Bytes::from(i.to_be_bytes().to_vec()), Some(Bytes::from_static(b"v"))).unwrap();
            }
            s.flush().unwrap();
        }
        let before = env.block_cache_usage();
        assert!(a.get(&7u32.to_be_bytes()).unwrap().is_some());
        assert!(b.get(&7u32.to_be_bytes()).unwrap().is_some());
        assert!(env.block_cache_usage() > before, "both stores read through the shared cache");
        assert!(matches!(b.open_outcome(), OpenOutcome::Created));
    }
}
