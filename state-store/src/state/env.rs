//! The settings and shared resources of RocksDB stores. They exist with or without the
//! `rocksdb` feature, so code that passes them around compiles either way; without the feature
//! the environment holds no cache and persistent stores cannot be opened.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Memory settings shared by the RocksDB stores of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RocksDbConfig {
    /// Size of the one LRU block cache shared by all stores (`rocksdb.block.cache.bytes`).
    /// Default: 64 MiB.
    pub block_cache_bytes: usize,
    /// Memtable size of each store (`rocksdb.write.buffer.bytes`). Default: 8 MiB.
    pub write_buffer_bytes: usize,
    /// Memtables per store (`rocksdb.max.write.buffers`). Default: 2.
    pub max_write_buffers: i32,
    /// Buffered (unflushed) bytes after which an at-least-once store writes its batch early
    /// (`statestore.max.pending.bytes`). Default: 64 MiB.
    pub max_pending_bytes: usize,
}

impl Default for RocksDbConfig {
    fn default() -> Self {
        RocksDbConfig {
            block_cache_bytes: 64 << 20,
            write_buffer_bytes: 8 << 20,
            max_write_buffers: 2,
            max_pending_bytes: 64 << 20,
        }
    }
}

impl RocksDbConfig {
    /// Sets a field from its Kafka-style string key.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown key or a value that is not a number.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let bad = |reason: String| Error::Config { key: key.to_owned(), reason };
        let n: u64 = value.trim().parse().map_err(|e| bad(format!("{value:?}: {e}")))?;
        let usize_of = |n: u64| usize::try_from(n).map_err(|e| bad(e.to_string()));
        match key {
            "rocksdb.block.cache.bytes" => self.block_cache_bytes = usize_of(n)?,
            "rocksdb.write.buffer.bytes" => self.write_buffer_bytes = usize_of(n)?,
            "rocksdb.max.write.buffers" => {
                self.max_write_buffers = i32::try_from(n).map_err(|e| bad(e.to_string()))?
            }
            "statestore.max.pending.bytes" => self.max_pending_bytes = usize_of(n)?,
            _ => return Err(bad("unknown key".to_owned())),
        }
        Ok(())
    }
}

/// RocksDB resources shared by every store of a process: the block cache and the limits.
#[derive(Clone)]
pub struct RocksDbEnv(Arc<EnvInner>);

struct EnvInner {
    config: RocksDbConfig,
    #[cfg(feature = "rocksdb")]
    cache: rocksdb::Cache,
}

impl fmt::Debug for RocksDbEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocksDbEnv").field("config", &self.0.config).finish_non_exhaustive()
    }
}

impl RocksDbEnv {
    /// Creates the shared block cache (nothing without the `rocksdb` feature).
    ///
    /// # Errors
    /// [`Error::RocksDb`] when RocksDB cannot allocate the cache.
    pub fn new(config: RocksDbConfig) -> Result<Self> {
        #[cfg(feature = "rocksdb")]
        let cache = rocksdb::Cache::new_lru_cache(config.block_cache_bytes)
            .map_err(|e| Error::rocks("<block cache>", e))?;
        Ok(RocksDbEnv(Arc::new(EnvInner {
            config,
            #[cfg(feature = "rocksdb")]
            cache,
        })))
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &RocksDbConfig {
        &self.0.config
    }

    /// Bytes currently held by the shared block cache.
    #[must_use]
    pub fn block_cache_usage(&self) -> usize {
        #[cfg(feature = "rocksdb")]
        return self.0.cache.get_usage();
        #[cfg(not(feature = "rocksdb"))]
        0
    }

    #[cfg(feature = "rocksdb")]
    pub(crate) fn cache(&self) -> &rocksdb::Cache {
        &self.0.cache
    }
}
