//! Store builders (Kafka's `Stores` and `StoreBuilder`): pick a backend and a shape, add caching
//! and changelogging, then `build` with the task's [`StoreContext`]. Layers, outermost first:
//! metered -> caching -> changelogging -> RocksDB or in-memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cache::caching::CachingBackend;
use crate::changelog::{changelog_topic_config, LoggingBackend};
use crate::error::{Error, Result};
use crate::keyvalue::{BackedKeyValueStore, KeyValueStore};
use crate::metered::MeteredBackend;
use crate::session::{SegmentedSessionStore, SessionCodec, SessionStore};
use crate::backend::{Backend, IdentityCodec, KeyCodec};
use crate::state::memory::MemoryBackend;
#[cfg(feature = "rocksdb")]
use crate::state::rocksdb::RocksDbBackend;
#[cfg(feature = "rocksdb")]
use crate::state::RocksDbEnv;
use crate::state::StoreContext;
use crate::versioned::{BackedVersionedStore, VersionedCodec, VersionedKeyValueStore};
use crate::window::{SegmentedWindowStore, WindowCodec, WindowStore};

/// Entry point for store builders.
///
/// # Examples
/// ```
/// use brook_state_store::{Stores, StoreContext, ThreadCache, KeyValueStore, ReadOnlyKeyValueStore, StateStore};
/// use bytes::Bytes;
/// let dir = tempfile::tempdir().unwrap();
/// let ctx = StoreContext::new(dir.path(), "app", "0_0", 0).with_thread_cache(ThreadCache::new(1 << 20));
/// let mut store = Stores::persistent_key_value_store("counts")
///     .with_caching_enabled()
///     .build(&ctx)
///     .unwrap();
/// store.put(Bytes::from_static(b"k"), Some(Bytes::from_static(b"v"))).unwrap();
/// store.flush().unwrap();
/// assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
/// assert!(dir.path().join("app/0_0/rocksdb/counts").is_dir());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Stores;

/// The shape a [`StoreBuilder`] builds.
pub trait StoreKind {
    /// Retention of the changelog's data (`None`: compacted only).
    fn retention_ms(&self) -> Option<i64>;
}

/// Key-value store shape.
#[derive(Debug, Clone, Copy)]
pub struct KeyValueSpec;
/// Window store shape.
#[derive(Debug, Clone, Copy)]
pub struct WindowSpec {
    retention: i64,
    window_size: i64,
    retain_duplicates: bool,
    segment_expiry: bool,
}
/// Session store shape.
#[derive(Debug, Clone, Copy)]
pub struct SessionSpec {
    retention: i64,
}
/// Versioned key-value store shape.
#[derive(Debug, Clone, Copy)]
pub struct VersionedSpec {
    history_retention: i64,
}

impl StoreKind for KeyValueSpec {
    fn retention_ms(&self) -> Option<i64> {
        None
    }
}
impl StoreKind for WindowSpec {
    fn retention_ms(&self) -> Option<i64> {
        Some(self.retention)
    }
}
impl StoreKind for SessionSpec {
    fn retention_ms(&self) -> Option<i64> {
        Some(self.retention)
    }
}
impl StoreKind for VersionedSpec {
    fn retention_ms(&self) -> Option<i64> {
        // Kafka compacts versioned changelogs and adds the history retention as `min.compaction.lag.ms`.
        None
    }
}

/// Builds one store: backend, shape, and which layers wrap it.
#[derive(Debug, Clone)]
#[must_use]
pub struct StoreBuilder<S> {
    name: String,
    persistent: bool,
    caching: bool,
    logging: Option<BTreeMap<String, String>>,
    spec: S,
}

fn builder<S>(name: &str, persistent: bool, spec: S) -> StoreBuilder<S> {
    StoreBuilder { name: name.to_owned(), persistent, caching: false, logging: Some(BTreeMap::new()), spec }
}

impl Stores {
    /// A RocksDB key-value store.
    pub fn persistent_key_value_store(name: &str) -> StoreBuilder<KeyValueSpec> {
        builder(name, true, KeyValueSpec)
    }
    /// An in-memory key-value store.
    pub fn in_memory_key_value_store(name: &str) -> StoreBuilder<KeyValueSpec> {
        builder(name, false, KeyValueSpec)
    }
    /// A RocksDB window store keeping windows for `retention_ms` of stream time.
    pub fn persistent_window_store(name: &str, retention_ms: i64, window_size_ms: i64, retain_duplicates: bool) -> StoreBuilder<WindowSpec> {
        builder(name, true, WindowSpec { retention: retention_ms, window_size: window_size_ms, retain_duplicates, segment_expiry: false })
    }
    /// An in-memory window store.
    pub fn in_memory_window_store(name: &str, retention_ms: i64, window_size_ms: i64, retain_duplicates: bool) -> StoreBuilder<WindowSpec> {
        builder(name, false, WindowSpec { retention: retention_ms, window_size: window_size_ms, retain_duplicates, segment_expiry: false })
    }
    /// A RocksDB session store.
    pub fn persistent_session_store(name: &str, retention_ms: i64) -> StoreBuilder<SessionSpec> {
        builder(name, true, SessionSpec { retention: retention_ms })
    }
    /// An in-memory session store.
    pub fn in_memory_session_store(name: &str, retention_ms: i64) -> StoreBuilder<SessionSpec> {
        builder(name, false, SessionSpec { retention: retention_ms })
    }
    /// A RocksDB versioned key-value store.
    pub fn persistent_versioned_key_value_store(name: &str, history_retention_ms: i64) -> StoreBuilder<VersionedSpec> {
        builder(name, true, VersionedSpec { history_retention: history_retention_ms })
    }
    /// An in-memory versioned key-value store.
    pub fn in_memory_versioned_key_value_store(name: &str, history_retention_ms: i64) -> StoreBuilder<VersionedSpec> {
        builder(name, false, VersionedSpec { history_retention: history_retention_ms })
    }
}

impl<S: StoreKind> StoreBuilder<S> {
    /// Puts a write-back cache (the context's [`crate::ThreadCache`]) in front of the store.
    /// Ignored for versioned stores and for retain-duplicates window stores, as in Kafka.
    pub fn with_caching_enabled(mut self) -> Self {
        self.caching = true;
        self
    }
    /// No cache (the default).
    pub fn with_caching_disabled(mut self) -> Self {
        self.caching = false;
        self
    }
    /// Logs every write to the changelog topic, created with the default configs overridden by
    /// `config` (the default).
    pub fn with_logging_enabled(mut self, config: BTreeMap<String, String>) -> Self {
        self.logging = Some(config);
        self
    }
    /// No changelog: the store cannot be restored after a failure.
    pub fn with_logging_disabled(mut self) -> Self {
        self.logging = None;
        self
    }
    /// The store name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether logging is enabled.
    #[must_use]
    pub fn logging_enabled(&self) -> bool {
        self.logging.is_some()
    }
    /// The configs to create the changelog topic with (`cleanup.policy=compact` for key-value
    /// stores; `compact,delete` and `retention.ms` = retention + 1 day for window and session
    /// stores), with the user's overrides; `None` when logging is disabled.
    #[must_use]
    pub fn changelog_config(&self) -> Option<BTreeMap<String, String>> {
        let user = self.logging.as_ref()?;
        let mut c = changelog_topic_config(self.spec.retention_ms());
        c.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
        Some(c)
    }

    fn backend(&self, ctx: &StoreContext, codec: Arc<dyn KeyCodec>, caching: bool) -> Result<Box<dyn Backend>> {
        if self.name.is_empty() || self.name.contains(['/', '\\']) || self.name == "." || self.name == ".." {
            return Err(Error::Config { key: "store name".to_owned(), reason: format!("invalid name {:?}", self.name) });
        }
        let mut b: Box<dyn Backend> = if self.persistent {
            #[cfg(feature = "rocksdb")]
            {
                let env = match &ctx.rocksdb {
                    Some(env) => env.clone(),
                    None => RocksDbEnv::new(Default::default())?,
                };
                Box::new(RocksDbBackend::open(&self.name, &ctx.store_dir(&self.name), &env, ctx.transactional)?)
            }
            #[cfg(not(feature = "rocksdb"))]
            return Err(Error::RocksDbDisabled { store: self.name.clone() });
        } else {
            Box::new(MemoryBackend::new(&self.name))
        };
        if self.logging.is_some() {
            match &ctx.changelog {
                Some(sink) => {
                    let topic = ctx.changelog_topic(&self.name);
                    b = Box::new(LoggingBackend::new(b, sink.clone(), topic, ctx.partition, codec.clone(), ctx.record.clone()));
                }
                None => tracing::debug!(store = %self.name, "no changelog sink in the context; logging disabled"),
            }
        }
        if caching && self.caching {
            if let Some(cache) = &ctx.cache {
                let ns = format!("{}-{}", ctx.task_id, self.name);
                b = Box::new(CachingBackend::new(b, cache.clone(), &ns, codec, ctx.record.clone()));
            }
        }
        Ok(Box::new(MeteredBackend::new(b, &self.name, &ctx.metrics)))
    }
}

impl StoreBuilder<KeyValueSpec> {
    /// Opens the store.
    ///
    /// # Errors
    /// An invalid name, or I/O and RocksDB errors opening the directory (a corrupted one is
    /// wiped instead: see [`crate::StateStore::open_outcome`]).
    pub fn build(self, ctx: &StoreContext) -> Result<Box<dyn KeyValueStore>> {
        let backend = self.backend(ctx, Arc::new(IdentityCodec), true)?;
        Ok(Box::new(BackedKeyValueStore::new(&self.name, backend)))
    }
}

impl StoreBuilder<WindowSpec> {
    /// Records expire with their whole segment, as in Kafka Streams up to 3.4 (ksqlDB 0.29's):
    /// fetches return every record of a live segment. By default a fetch also leaves out records
    /// older than the observed stream time minus the retention, as newer Kafka Streams does
    /// (`getActualFrom`), even while their segment still lives.
    #[must_use]
    pub fn with_segment_granular_expiry(mut self) -> Self {
        self.spec.segment_expiry = true;
        self
    }

    /// Opens the store.
    ///
    /// # Errors
    /// As the key-value store `build`, or a retention shorter than the window size.
    pub fn build(self, ctx: &StoreContext) -> Result<Box<dyn WindowStore>> {
        let WindowSpec { retention, window_size, retain_duplicates, segment_expiry } = self.spec;
        if retention < window_size || window_size <= 0 {
            return Err(Error::Config {
                key: "retention".to_owned(),
                reason: format!("retention {retention} ms must be >= window size {window_size} ms > 0"),
            });
        }
        let backend = self.backend(ctx, Arc::new(WindowCodec), !retain_duplicates)?;
        let mut store = SegmentedWindowStore::open(&self.name, backend, retention, window_size, retain_duplicates)?;
        store.segment_expiry = segment_expiry;
        Ok(Box::new(store))
    }
}

impl StoreBuilder<SessionSpec> {
    /// Opens the store.
    ///
    /// # Errors
    /// As the key-value store `build`.
    pub fn build(self, ctx: &StoreContext) -> Result<Box<dyn SessionStore>> {
        let backend = self.backend(ctx, Arc::new(SessionCodec), true)?;
        Ok(Box::new(SegmentedSessionStore::open(&self.name, backend, self.spec.retention)?))
    }
}

impl StoreBuilder<VersionedSpec> {
    /// Opens the store.
    ///
    /// # Errors
    /// As the key-value store `build`.
    pub fn build(self, ctx: &StoreContext) -> Result<Box<dyn VersionedKeyValueStore>> {
        let backend = self.backend(ctx, Arc::new(VersionedCodec), false)?;
        Ok(Box::new(BackedVersionedStore::open(&self.name, backend, self.spec.history_retention)?))
    }
}
