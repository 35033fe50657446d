//! Per-operation options, as Kafka Streams' `Consumed`, `Produced`, `Grouped`, `Materialized`,
//! `Joined`, `StreamJoined`, `Repartitioned`, `Named`, `Printed` and `Branched`. Every serde
//! left unset falls back to the one the stream carries, then to [`crate::default_serde`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brook_processor_api::{OffsetReset, Partitioner, TimestampExtractor};
use brook_state_store::{KeyValueSpec, Serde, SessionSpec, StoreBuilder, Stores, WindowSpec};

pub(crate) type SerdeOpt<T> = Option<Arc<dyn Serde<T>>>;

macro_rules! debug_named {
    ($t:ident) => {
        impl<K, V> fmt::Debug for $t<K, V> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).field("name", &self.name).finish_non_exhaustive()
            }
        }
    };
}

macro_rules! serde_setters {
    () => {
        /// Uses `keys` for keys.
        #[must_use]
        pub fn with_key_serde(mut self, keys: Arc<dyn Serde<K>>) -> Self {
            self.keys = Some(keys);
            self
        }
        /// Uses `values` for values.
        #[must_use]
        pub fn with_value_serde(mut self, values: Arc<dyn Serde<V>>) -> Self {
            self.values = Some(values);
            self
        }
        /// Uses these serdes.
        pub fn with(keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
            Self { keys: Some(keys), values: Some(values), ..Self::default() }
        }
        /// Names the operation (processor or topic, as Kafka's `as`/`withName`).
        #[must_use]
        pub fn with_name(mut self, name: impl Into<String>) -> Self {
            self.name = Some(name.into());
            self
        }
    };
}

macro_rules! default_impl {
    ($t:ident { $($f:ident: $v:expr),* }) => {
        impl<K, V> Default for $t<K, V> {
            fn default() -> Self {
                $t { name: None, keys: None, values: None, $($f: $v),* }
            }
        }
    };
}

/// How a source reads: serdes, timestamp extractor, offset reset, processor name.
pub struct Consumed<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
    pub(crate) extractor: Option<Arc<dyn TimestampExtractor>>,
    pub(crate) reset: Option<OffsetReset>,
}
debug_named!(Consumed);
default_impl!(Consumed { extractor: None, reset: None });

impl<K, V> Consumed<K, V> {
    serde_setters!();
    /// Extracts record timestamps with `extractor`.
    #[must_use]
    pub fn with_timestamp_extractor(mut self, extractor: Arc<dyn TimestampExtractor>) -> Self {
        self.extractor = Some(extractor);
        self
    }
    /// Starts from `reset` without a committed offset.
    #[must_use]
    pub fn with_offset_reset_policy(mut self, reset: OffsetReset) -> Self {
        self.reset = Some(reset);
        self
    }
}

/// How a sink writes: serdes, partitioner, processor name.
pub struct Produced<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
    pub(crate) partitioner: Option<Partitioner<K, V>>,
}
debug_named!(Produced);
default_impl!(Produced { partitioner: None });

impl<K, V> Produced<K, V> {
    serde_setters!();
    /// Picks partitions with `partitioner`.
    #[must_use]
    pub fn with_stream_partitioner(mut self, partitioner: Partitioner<K, V>) -> Self {
        self.partitioner = Some(partitioner);
        self
    }
}

/// How a grouping repartitions: serdes, and the name of the repartition topic and nodes.
pub struct Grouped<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
}
debug_named!(Grouped);
default_impl!(Grouped {});

impl<K, V> Grouped<K, V> {
    serde_setters!();
}

/// How `repartition()` repartitions: serdes, partition count, partitioner, topic name.
pub struct Repartitioned<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
    pub(crate) partitions: Option<i32>,
    pub(crate) partitioner: Option<Partitioner<K, V>>,
}
debug_named!(Repartitioned);
default_impl!(Repartitioned { partitions: None, partitioner: None });

impl<K, V> Repartitioned<K, V> {
    serde_setters!();
    /// The partition count of the repartition topic: the runtime creates it with `n`
    /// partitions (instead of the partition count of the upstream sub-topology), and the
    /// downstream sub-topology runs `n` tasks. A count below 1 fails `StreamsBuilder::build`.
    #[must_use]
    pub fn with_number_of_partitions(mut self, n: i32) -> Self {
        self.partitions = Some(n);
        self
    }
    /// Picks partitions with `partitioner`.
    #[must_use]
    pub fn with_stream_partitioner(mut self, partitioner: Partitioner<K, V>) -> Self {
        self.partitioner = Some(partitioner);
        self
    }
}

/// A store backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    /// RocksDB (Kafka's default; needs the `rocksdb` feature, on by default).
    RocksDb,
    /// In memory.
    InMemory,
}

impl Default for StoreType {
    /// RocksDB, as in Kafka; in-memory when built without the `rocksdb` feature.
    fn default() -> Self {
        if cfg!(feature = "rocksdb") {
            StoreType::RocksDb
        } else {
            StoreType::InMemory
        }
    }
}

/// How a table or aggregation is materialized: store name, serdes, backend, caching, logging,
/// retention (windowed stores).
pub struct Materialized<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
    pub(crate) store_type: StoreType,
    pub(crate) caching: bool,
    pub(crate) logging: Option<BTreeMap<String, String>>,
    pub(crate) retention: Option<Duration>,
}
debug_named!(Materialized);
default_impl!(Materialized {
    store_type: StoreType::default(),
    caching: true,
    logging: Some(BTreeMap::new()),
    retention: None
});

impl<K, V> Materialized<K, V> {
    serde_setters!();
    /// A store named `name` (Kafka's `Materialized.as`).
    pub fn named(name: impl Into<String>) -> Self {
        Self { name: Some(name.into()), ..Self::default() }
    }
    /// The backend. Default: RocksDB.
    #[must_use]
    pub fn with_store_type(mut self, t: StoreType) -> Self {
        self.store_type = t;
        self
    }
    /// Enables the record cache (updates are compacted until commit). Default: enabled.
    #[must_use]
    pub fn with_caching_enabled(mut self) -> Self {
        self.caching = true;
        self
    }
    /// Disables the record cache: every update is forwarded.
    #[must_use]
    pub fn with_caching_disabled(mut self) -> Self {
        self.caching = false;
        self
    }
    /// Enables the changelog with these topic configs. Default: enabled.
    #[must_use]
    pub fn with_logging_enabled(mut self, config: BTreeMap<String, String>) -> Self {
        self.logging = Some(config);
        self
    }
    /// Disables the changelog.
    #[must_use]
    pub fn with_logging_disabled(mut self) -> Self {
        self.logging = None;
        self
    }
    /// Retention of windowed stores. Default: window size + grace (at least one day for
    /// Kafka's default; here size + grace).
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    fn finish<S: brook_state_store::state::StoreKind>(&self, b: StoreBuilder<S>) -> StoreBuilder<S> {
        let b = if self.caching { b.with_caching_enabled() } else { b.with_caching_disabled() };
        match &self.logging {
            Some(c) => b.with_logging_enabled(c.clone()),
            None => b.with_logging_disabled(),
        }
    }

    pub(crate) fn kv_store(&self, name: &str) -> StoreBuilder<KeyValueSpec> {
        self.finish(match self.store_type {
            StoreType::RocksDb => Stores::persistent_key_value_store(name),
            StoreType::InMemory => Stores::in_memory_key_value_store(name),
        })
    }

    pub(crate) fn window_store(&self, name: &str, retention: i64, size: i64, duplicates: bool) -> StoreBuilder<WindowSpec> {
        let retention = self.retention.map_or(retention, |d| d.as_millis() as i64);
        self.finish(match self.store_type {
            StoreType::RocksDb => Stores::persistent_window_store(name, retention, size, duplicates),
            StoreType::InMemory => Stores::in_memory_window_store(name, retention, size, duplicates),
        })
    }

    pub(crate) fn session_store(&self, name: &str, retention: i64) -> StoreBuilder<SessionSpec> {
        let retention = self.retention.map_or(retention, |d| d.as_millis() as i64);
        self.finish(match self.store_type {
            StoreType::RocksDb => Stores::persistent_session_store(name, retention),
            StoreType::InMemory => Stores::in_memory_session_store(name, retention),
        })
    }
}

/// Serdes and names of a stream-table join (`K` key, `V` this value, `VO` the table's).
pub struct Joined<K, V> {
    pub(crate) name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
}
debug_named!(Joined);
default_impl!(Joined {});

impl<K, V> Joined<K, V> {
    serde_setters!();
}

/// Serdes, store names and backend of a stream-stream join.
pub struct StreamJoined<K, V, VO> {
    pub(crate) name: Option<String>,
    pub(crate) store_name: Option<String>,
    pub(crate) keys: SerdeOpt<K>,
    pub(crate) values: SerdeOpt<V>,
    pub(crate) other_values: SerdeOpt<VO>,
    pub(crate) store_type: StoreType,
    pub(crate) logging: bool,
    pub(crate) segment_expiry: bool,
}

impl<K, V, VO> fmt::Debug for StreamJoined<K, V, VO> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamJoined").field("name", &self.name).field("store_name", &self.store_name).finish_non_exhaustive()
    }
}

impl<K, V, VO> Default for StreamJoined<K, V, VO> {
    fn default() -> Self {
        StreamJoined {
            name: None,
            store_name: None,
            keys: None,
            values: None,
            other_values: None,
            store_type: StoreType::default(),
            logging: true,
            segment_expiry: false,
        }
    }
}

impl<K, V, VO> StreamJoined<K, V, VO> {
    /// The join's window stores drop records with their whole segment, as Kafka Streams up to
    /// 3.4 (and ksqlDB 0.29) did: a late record within the grace period still finds every record
    /// of a live segment. Default: newer Kafka's per-record cut at stream time minus retention
    /// (`StoreBuilder::with_segment_granular_expiry`).
    #[must_use]
    pub fn with_segment_granular_expiry(mut self) -> Self {
        self.segment_expiry = true;
        self
    }
    /// These serdes.
    pub fn with(keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>, other_values: Arc<dyn Serde<VO>>) -> Self {
        StreamJoined { keys: Some(keys), values: Some(values), other_values: Some(other_values), ..Self::default() }
    }
    /// Names the processors (`<name>-this-join`, ...).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Names the stores (`<name>-this-join-store`, ...).
    #[must_use]
    pub fn with_store_name(mut self, name: impl Into<String>) -> Self {
        self.store_name = Some(name.into());
        self
    }
    /// The window stores' backend. Default: RocksDB.
    #[must_use]
    pub fn with_store_type(mut self, t: StoreType) -> Self {
        self.store_type = t;
        self
    }
    /// Disables the stores' changelogs.
    #[must_use]
    pub fn with_logging_disabled(mut self) -> Self {
        self.logging = false;
        self
    }
}

/// A processor name (Kafka's `Named`).
#[derive(Debug, Clone, Default)]
pub struct Named(pub(crate) Option<String>);

impl Named {
    /// The name `name`.
    pub fn as_(name: impl Into<String>) -> Self {
        Named(Some(name.into()))
    }
}

/// Where `print` writes (Kafka's `Printed`): standard output, or a shared vector of lines
/// for tests; the format is `[label]: key, value`.
#[derive(Debug, Clone)]
pub struct Printed {
    pub(crate) label: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) sink: Option<Arc<Mutex<Vec<String>>>>,
}

impl Printed {
    /// Prints to standard output.
    pub fn to_sys_out() -> Self {
        Printed { label: None, name: None, sink: None }
    }
    /// Appends lines to `lines`.
    pub fn to_lines(lines: Arc<Mutex<Vec<String>>>) -> Self {
        Printed { label: None, name: None, sink: Some(lines) }
    }
    /// The label (default: the processor name of the printed stream).
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// The printer's processor name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// A branch of `split()` (Kafka's `Branched`): its name suffix.
#[derive(Debug, Clone, Default)]
pub struct Branched(pub(crate) Option<String>);

impl Branched {
    /// A branch named `name` (its stream is under `<split name><name>`).
    pub fn as_(name: impl Into<String>) -> Self {
        Branched(Some(name.into()))
    }
}
