//! State stores for Brook: the key-value, window, session and versioned stores that Kafka
//! Streams tasks keep their state in, on RocksDB or in memory, with Kafka Streams' layers.
//!
//! - Shapes: [`KeyValueStore`], [`WindowStore`],
//!   [`SessionStore`], [`VersionedKeyValueStore`], each with a `ReadOnly*` trait and a
//!   [`ReadOnlyView`] for interactive queries.
//! - Backends: RocksDB (one database per store under
//!   `state.dir/<application.id>/<task_id>/rocksdb/<store>`, sharing one block cache through
//!   [`RocksDbEnv`]) and in-memory (`BTreeMap`), behaving identically: every shape is written once
//!   over an ordered byte map, and window and session stores split it into time segments.
//! - Layers, outermost first: metered ([`MetricsRegistry`]) -> caching ([`ThreadCache`], with a
//!   flush listener forwarding compacted updates) -> changelogging ([`ChangelogSink`]) ->
//!   backend; built by [`Stores`] and [`StoreBuilder`].
//! - Recovery: [`StateStore::restore_batch`] writes changelog records in one write batch, from
//!   the offset [`restore_start_offset`] gives; [`OffsetCheckpoint`] files
//!   under at-least-once; in transactional mode the changelog offset is committed in the same
//!   RocksDB write batch as the data ([`StateStore::commit`], [`StateStore::committed_offset`]).
//!   [`StateManager`] does this bookkeeping for the stores of one task.
//! - Serdes: [`Serde`] with Kafka's encodings, including windowed keys, told the record's
//!   [`SerdeContext`] (topic, key or value, headers); [`StateSerdes`] binds a store's serdes to
//!   its changelog topic and [`TypedKeyValueStore`] (the one typed key-value wrapper, plain or
//!   timestamped) encodes through them.
//!
//! The crate does not know the broker: the runtime provides a [`ChangelogSink`].
//!
//! # Examples
//!
//! A cached, logged RocksDB store: updates are de-duplicated in the cache until commit, then
//! written in one batch, logged, and forwarded downstream.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use brook_state_store::{
//!     CollectingChangelogSink, KeyValueStore, ReadOnlyKeyValueStore, StateStore, StoreContext,
//!     Stores, ThreadCache,
//! };
//! use bytes::Bytes;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let sink = CollectingChangelogSink::new();
//! let ctx = StoreContext::new(dir.path(), "app", "0_0", 0)
//!     .with_thread_cache(ThreadCache::new(10 << 20))
//!     .with_changelog_sink(sink.shared());
//! let mut counts = Stores::persistent_key_value_store("counts")
//!     .with_caching_enabled()
//!     .build(&ctx)
//!     .unwrap();
//! let forwarded = Arc::new(Mutex::new(Vec::new()));
//! let f = forwarded.clone();
//! counts.set_flush_listener(Box::new(move |r| f.lock().unwrap().push(r)));
//!
//! for n in 1..=3u8 {
//!     ctx.record_context().set_timestamp(n.into());
//!     counts.put(Bytes::from_static(b"alice"), Some(Bytes::from(vec![n]))).unwrap();
//! }
//! assert!(sink.records().is_empty(), "still in the cache");
//! counts.commit(None).unwrap();
//!
//! let logged = sink.records();
//! assert_eq!(logged.len(), 1, "three updates compacted into one");
//! assert_eq!(logged[0].topic, "app-counts-changelog");
//! assert_eq!(logged[0].value.as_deref(), Some(&[3u8][..]));
//! assert_eq!(forwarded.lock().unwrap()[0].timestamp, 3);
//! assert_eq!(counts.get(b"alice").unwrap().as_deref(), Some(&[3u8][..]));
//! counts.close().unwrap();
//! ```

mod backend;
pub mod cache;
pub mod changelog;
pub mod checkpoint;
mod error;
pub mod keyvalue;
pub mod metered;
pub mod restore;
pub mod serde;
pub mod session;
pub mod state;
pub mod versioned;
pub mod window;

pub use crate::cache::{CacheStats, ThreadCache};
pub use crate::changelog::{
    changelog_topic, changelog_topic_config, ChangelogSink, CollectingChangelogSink, SentRecord,
    SharedChangelogSink,
};
pub use crate::checkpoint::{OffsetCheckpoint, Offsets};
pub use crate::error::{Error, Result};
pub use crate::keyvalue::{
    KeyValueIter, KeyValueReader, KeyValueStore, ReadOnlyKeyValueStore, ReaderIter, StateSerdes, TypedIter,
    TypedKeyValueStore,
};
pub use crate::metered::{MetricSnapshot, MetricsRegistry};
pub use crate::restore::restore_start_offset;
pub use crate::serde::{
    BytesSerde, F64Serde, Header, I32Serde, I64Serde, JsonSerde, Serde, SerdeContext, SessionKeySchema, SessionWindowedSerde,
    StringSerde, TimeWindowedSerde, ValueAndTimestamp, ValueAndTimestampSerde, Window, WindowKeySchema,
    Windowed,
};
pub use crate::session::{ReadOnlySessionStore, SessionStore};
pub use crate::state::{
    AnyStore, ChangelogRecord, FlushListener, FlushedRecord, KeyValueSpec, OpenOutcome, ReadOnlyGuard, ReadOnlyView,
    RecordContext, RocksDbConfig, RocksDbEnv, SessionSpec, StateStore, StoreBuilder, StoreContext, StoreKind,
    StateManager, Stores, VersionedSpec, WindowSpec,
};
pub use crate::versioned::{ReadOnlyVersionedKeyValueStore, VersionedKeyValueStore, VersionedRecord};
pub use crate::window::{ReadOnlyWindowStore, WindowIter, WindowStore, WindowedIter};
