//! What every store shares: the [`StateStore`] trait, the [`StoreContext`] a task opens stores
//! with, flush listeners, and the builders in [`Stores`].

mod builder;
mod env;
mod manager;
pub(crate) mod memory;
#[cfg(feature = "rocksdb")]
pub(crate) mod rocksdb;
mod view;

use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;

pub use self::builder::{
    KeyValueSpec, SessionSpec, StoreBuilder, StoreKind, Stores, VersionedSpec, WindowSpec,
};
pub use self::manager::{AnyStore, StateManager};
pub use self::env::{RocksDbConfig, RocksDbEnv};
pub use self::view::{ReadOnlyGuard, ReadOnlyView};
pub use crate::backend::{FlushListener, FlushedRecord, OpenOutcome, RecordContext};
use crate::cache::ThreadCache;
use crate::changelog::SharedChangelogSink;
use crate::error::Result;
use crate::metered::MetricsRegistry;

/// Operations every store supports, whatever its shape (Kafka's `StateStore`).
pub trait StateStore: Send + fmt::Debug {
    /// The store name (also part of its changelog topic name).
    fn name(&self) -> &str;
    /// Whether the store keeps its data on disk across restarts.
    fn persistent(&self) -> bool;
    /// Whether [`StateStore::close`] has not been called yet.
    fn is_open(&self) -> bool;
    /// Flushes the cache downstream and writes buffered writes to the backend (one write batch).
    /// In transactional mode the RocksDB write waits for [`StateStore::commit`].
    ///
    /// # Errors
    /// I/O or RocksDB errors, or [`crate::Error::Closed`].
    fn flush(&mut self) -> Result<()>;
    /// Flushes, then persists the data together with `changelog_offset` (the last changelog offset
    /// the data includes) in one atomic write when the store is transactional. Transactional
    /// stores write nothing to RocksDB before this call, so call it only once the changelog
    /// records of the data are committed; `None` writes the data and keeps the stored offset.
    ///
    /// # Errors
    /// As [`StateStore::flush`].
    fn commit(&mut self, changelog_offset: Option<i64>) -> Result<()>;
    /// The changelog offset stored atomically with the data by a transactional store, if any:
    /// restoring can start right after it.
    fn committed_offset(&self) -> Option<i64>;
    /// How opening went: whether the store was found, created, or wiped (then it needs a full
    /// restore from its changelog).
    fn open_outcome(&self) -> OpenOutcome;
    /// Writes changelog records into the innermost store, bypassing cache and changelog, in one
    /// write batch; [`crate::restore_start_offset`] says where in the changelog to start.
    ///
    /// # Errors
    /// Undecodable changelog keys, I/O or RocksDB errors.
    fn restore_batch(&mut self, records: &[ChangelogRecord]) -> Result<()>;
    /// Flushes and releases the store. Later calls fail with [`crate::Error::Closed`].
    ///
    /// # Errors
    /// As [`StateStore::flush`].
    fn close(&mut self) -> Result<()>;
    /// Registers the callback the caching layer calls for each record it flushes or evicts.
    /// Returns `false` when the store has no cache (then no callback will ever be made).
    fn set_flush_listener(&mut self, listener: FlushListener) -> bool;
}

/// One record read from a changelog topic, given to [`StateStore::restore_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogRecord {
    /// Record key.
    pub key: Bytes,
    /// Record value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Offset in the changelog partition.
    pub offset: i64,
    /// Record timestamp (used by versioned stores).
    pub timestamp: i64,
}

/// Everything a task gives the stores it opens: where they live, the thread's cache, the
/// changelog sink, the shared RocksDB resources and the metrics registry.
#[derive(Clone)]
pub struct StoreContext {
    pub(crate) state_dir: PathBuf,
    pub(crate) application_id: String,
    pub(crate) task_id: String,
    pub(crate) partition: i32,
    pub(crate) cache: Option<ThreadCache>,
    pub(crate) changelog: Option<SharedChangelogSink>,
    pub(crate) rocksdb: Option<RocksDbEnv>,
    pub(crate) metrics: MetricsRegistry,
    pub(crate) record: RecordContext,
    pub(crate) transactional: bool,
}

impl fmt::Debug for StoreContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreContext")
            .field("state_dir", &self.state_dir)
            .field("application_id", &self.application_id)
            .field("task_id", &self.task_id)
            .field("partition", &self.partition)
            .field("cache", &self.cache.is_some())
            .field("changelog", &self.changelog.is_some())
            .field("transactional", &self.transactional)
            .finish_non_exhaustive()
    }
}

impl StoreContext {
    /// A context for task `task_id` (e.g. `0_1`) of `application_id`, whose changelog partition is
    /// `partition`, with stores under `state_dir`.
    pub fn new(
        state_dir: impl Into<PathBuf>,
        application_id: impl Into<String>,
        task_id: impl Into<String>,
        partition: i32,
    ) -> Self {
        StoreContext {
            state_dir: state_dir.into(),
            application_id: application_id.into(),
            task_id: task_id.into(),
            partition,
            cache: None,
            changelog: None,
            rocksdb: None,
            metrics: MetricsRegistry::default(),
            record: RecordContext::default(),
            transactional: false,
        }
    }

    /// Uses `cache` for stores built with caching (without one, caching is disabled).
    #[must_use]
    pub fn with_thread_cache(mut self, cache: ThreadCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Sends changelog records of stores built with logging to `sink`.
    #[must_use]
    pub fn with_changelog_sink(mut self, sink: SharedChangelogSink) -> Self {
        self.changelog = Some(sink);
        self
    }

    /// Shares `env` (block cache, write-buffer limits) between RocksDB stores. Default: a
    /// process-wide environment with [`RocksDbConfig::default`].
    #[must_use]
    pub fn with_rocksdb(mut self, env: RocksDbEnv) -> Self {
        self.rocksdb = Some(env);
        self
    }

    /// Records metrics of metered stores in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: MetricsRegistry) -> Self {
        self.metrics = metrics;
        self
    }

    /// Shares the record timestamp with the runtime.
    #[must_use]
    pub fn with_record_context(mut self, record: RecordContext) -> Self {
        self.record = record;
        self
    }

    /// Stores the committed changelog offset in the same RocksDB write batch as the data
    /// (exactly-once). Default: off.
    #[must_use]
    pub fn with_transactional_offsets(mut self, on: bool) -> Self {
        self.transactional = on;
        self
    }

    /// The directory of this task: `state.dir/<application.id>/<task_id>`.
    #[must_use]
    pub fn task_dir(&self) -> PathBuf {
        self.state_dir.join(&self.application_id).join(&self.task_id)
    }

    /// The directory of a RocksDB store: `<task dir>/rocksdb/<store>`.
    #[must_use]
    pub fn store_dir(&self, store: &str) -> PathBuf {
        self.task_dir().join("rocksdb").join(store)
    }

    /// The changelog topic of `store`: `<application.id>-<store>-changelog`.
    #[must_use]
    pub fn changelog_topic(&self, store: &str) -> String {
        crate::changelog::changelog_topic(&self.application_id, store)
    }

    /// The record context shared with the runtime.
    #[must_use]
    pub fn record_context(&self) -> &RecordContext {
        &self.record
    }

    /// The metrics registry.
    #[must_use]
    pub fn metrics(&self) -> &MetricsRegistry {
        &self.metrics
    }
}

/// Implements [`StateStore`] for a store type with fields `name: String`,
/// `backend: Box<dyn Backend>`, `open: bool` and a method
/// `decode_changelog(&mut self, &[ChangelogRecord]) -> Result<Vec<(Bytes, Option<Bytes>)>>`
/// (plus `after_restore(&mut self) -> Result<()>`).
macro_rules! backed_state_store {
    ($t:ty) => {
        impl $crate::state::StateStore for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn persistent(&self) -> bool {
                self.backend.persistent()
            }
            fn is_open(&self) -> bool {
                self.open
            }
            fn flush(&mut self) -> $crate::Result<()> {
                self.check_open()?;
                self.backend.flush()
            }
            fn commit(&mut self, changelog_offset: Option<i64>) -> $crate::Result<()> {
                self.check_open()?;
                self.backend.commit(changelog_offset)
            }
            fn committed_offset(&self) -> Option<i64> {
                self.backend.committed_offset()
            }
            fn open_outcome(&self) -> $crate::backend::OpenOutcome {
                self.backend.open_outcome()
            }
            fn restore_batch(&mut self, records: &[$crate::state::ChangelogRecord]) -> $crate::Result<()> {
                self.check_open()?;
                let Some(last) = records.last().map(|r| r.offset) else { return Ok(()) };
                let entries = self.decode_changelog(records)?;
                self.backend.restore_batch(entries, last)?;
                self.after_restore()
            }
            fn close(&mut self) -> $crate::Result<()> {
                if !self.open {
                    return Ok(());
                }
                self.open = false;
                self.backend.close()
            }
            fn set_flush_listener(&mut self, listener: $crate::state::FlushListener) -> bool {
                self.backend.set_flush_listener(listener)
            }
        }

        impl $t {
            fn check_open(&self) -> $crate::Result<()> {
                if self.open { Ok(()) } else { Err($crate::Error::Closed(self.name.clone())) }
            }
        }
    };
}
pub(crate) use backed_state_store;
