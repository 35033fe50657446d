//! Interactive queries: read-only views of a named store across this instance's active tasks
//! (and of global stores), as Kafka's `KafkaStreams#store(StoreQueryParameters)` with its
//! `CompositeReadOnlyKeyValueStore` / `WindowStore` / `SessionStore`.

use std::sync::Arc;

use brook_state_store::{AnyStore, KeyValueReader, ReaderIter, Serde, StateSerdes, TypedKeyValueStore, Windowed};
use bytes::Bytes;

use super::{Instance, KafkaStreams};
use crate::engine::{AnyTaskId, TaskId, TopicPartition};
use crate::error::{Error, Result};
use crate::runtime::metadata::KeyQueryMetadata;
use crate::runtime::state::State;
use crate::task::StreamTask;

/// Which store an interactive query reads, and how (Kafka's `StoreQueryParameters`).
///
/// # Examples
/// ```
/// use brook_processor_api::runtime::StoreQueryParameters;
/// let p = StoreQueryParameters::from_name("counts").enable_stale_stores().with_partition(2);
/// assert_eq!(p.store_name(), "counts");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct StoreQueryParameters {
    name: String,
    stale: bool,
    partition: Option<i32>,
}

impl StoreQueryParameters {
    /// Queries store `name` on every local active task, only while the instance is RUNNING.
    pub fn from_name(name: impl Into<String>) -> Self {
        StoreQueryParameters { name: name.into(), stale: false, partition: None }
    }

    /// Also answers while the instance is REBALANCING (Kafka's `enableStaleStores`): the
    /// answer may come from a task that is about to move.
    pub fn enable_stale_stores(mut self) -> Self {
        self.stale = true;
        self
    }

    /// Only reads the task of this partition.
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// The store name.
    pub fn store_name(&self) -> &str {
        &self.name
    }
}

/// Finds the stores behind a view on every call, so a view outlives rebalances (Kafka's
/// `WrappingStoreProvider`).
#[derive(Clone)]
struct Provider {
    inner: Arc<Instance>,
    params: StoreQueryParameters,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider").field("params", &self.params).finish_non_exhaustive()
    }
}

impl Provider {
    /// Runs `f` on each instance of the store until it returns `Some`; its answer, or `None`.
    fn find<R>(&self, mut f: impl FnMut(&AnyStore) -> Result<Option<R>>) -> Result<Option<R>> {
        let mut found = None;
        self.visit(&mut |s| {
            found = f(s)?;
            Ok(found.is_some())
        })?;
        Ok(found)
    }

    /// Runs `f` on every instance of the store (global: the one instance), until it returns
    /// `true` (done).
    fn visit(&self, f: &mut dyn FnMut(&AnyStore) -> Result<bool>) -> Result<()> {
        let name = &self.params.name;
        let state = *self.inner.state.lock();
        let allowed = state == State::Running || (self.params.stale && state == State::Rebalancing);
        if !allowed {
            return Err(Error::InvalidStateStore(format!(
                "cannot get state store {name} because KafkaStreams is {state}, not RUNNING{}",
                if self.params.stale { " or REBALANCING" } else { "" }
            )));
        }
        let global = self.inner.global.lock().clone();
        if let Some(g) = global {
            let mut answer = None;
            g.with_engine(&mut |engine| {
                if let Some(task) = engine.as_any().downcast_ref::<StreamTask>() {
                    answer = task.read_global_store(name, |s| f(s));
                }
            });
            if let Some(r) = answer {
                return r.map(|_| ());
            }
        }
        let mut seen = 0usize;
        let mut done = false;
        let mut result = Ok(());
        let threads: Vec<_> = self.inner.threads.lock().iter().map(|t| t.shared.clone()).collect();
        for t in threads {
            t.for_each_task(&mut |id, engine| {
                if done || self.params.partition.is_some_and(|p| p != id.partition) {
                    return;
                }
                let Some(task) = engine.as_any().downcast_ref::<StreamTask>() else { return };
                if let Some(r) = task.read_store(name, |s| f(s)) {
                    seen += 1;
                    match r {
                        Ok(stop) => done = stop,
                        Err(e) => {
                            result = Err(e);
                            done = true;
                        }
                    }
                }
            });
        }
        result?;
        if seen == 0 {
            return Err(Error::InvalidStateStore(format!(
                "the state store, {name}, may have migrated to another instance{}",
                self.params.partition.map(|p| format!(" (partition {p})")).unwrap_or_default()
            )));
        }
        Ok(())
    }
}

/// Key-value entries.
type Entries = Vec<(Bytes, Bytes)>;
/// Windowed entries.
type WindowedEntries = Vec<(Windowed<Bytes>, Bytes)>;

fn wrong_shape(name: &str, want: &str) -> Error {
    Error::InvalidStateStore(format!("state store {name} is not a {want} store"))
}

fn kv<'a>(name: &str, s: &'a AnyStore) -> Result<&'a (dyn brook_state_store::KeyValueStore + 'static)> {
    match s {
        AnyStore::KeyValue(s) => Ok(&**s),
        _ => Err(wrong_shape(name, "key-value")),
    }
}

fn window<'a>(name: &str, s: &'a AnyStore) -> Result<&'a (dyn brook_state_store::WindowStore + 'static)> {
    match s {
        AnyStore::Window(s) => Ok(&**s),
        _ => Err(wrong_shape(name, "window")),
    }
}

fn session<'a>(name: &str, s: &'a AnyStore) -> Result<&'a (dyn brook_state_store::SessionStore + 'static)> {
    match s {
        AnyStore::Session(s) => Ok(&**s),
        _ => Err(wrong_shape(name, "session")),
    }
}

fn collect<T>(it: impl Iterator<Item = brook_state_store::Result<T>>) -> Result<Vec<T>> {
    it.map(|r| r.map_err(Error::from)).collect()
}

/// A read-only key-value store across this instance's tasks (Kafka's
/// `CompositeReadOnlyKeyValueStore`), over raw key and value bytes. Each call finds the
/// stores again, so the view stays usable across rebalances; range results are collected
/// while the owning stream thread is paused, one task after the other (each task's entries
/// in key order, tasks in task-id order, not merged), as Kafka's composite iterators do.
#[derive(Debug, Clone)]
pub struct ReadOnlyKeyValueView {
    provider: Provider,
}

impl ReadOnlyKeyValueView {
    fn name(&self) -> &str {
        &self.provider.params.name
    }

    /// The value of `key` from the first task that has it.
    ///
    /// # Errors
    /// [`Error::InvalidStateStore`] (not running, store not here); store errors.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        let name = self.name().to_owned();
        self.provider.find(|s| Ok(kv(&name, s)?.get(key)?))
    }

    fn gather(
        &self,
        f: &dyn Fn(&dyn brook_state_store::KeyValueStore) -> brook_state_store::Result<Entries>,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let name = self.name().to_owned();
        let mut out = Vec::new();
        self.provider.visit(&mut |s| {
            out.extend(f(kv(&name, s)?)?);
            Ok(false)
        })?;
        Ok(out)
    }

    /// Entries with `from <= key <= to`.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn range(&self, from: &[u8], to: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        self.gather(&|s| s.range(from, to)?.collect())
    }

    /// Entries with `from <= key <= to`, each task's in descending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn reverse_range(&self, from: &[u8], to: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        self.gather(&|s| s.reverse_range(from, to)?.collect())
    }

    /// Entries whose key starts with `prefix`.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn prefix_scan(&self, prefix: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        self.gather(&|s| s.prefix_scan(prefix)?.collect())
    }

    /// Every entry.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn all(&self) -> Result<Vec<(Bytes, Bytes)>> {
        self.gather(&|s| s.all()?.collect())
    }

    /// Every entry, each task's in descending key order.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn reverse_all(&self) -> Result<Vec<(Bytes, Bytes)>> {
        self.gather(&|s| s.reverse_all()?.collect())
    }

    /// The sum of the tasks' estimates (saturating, as Kafka's).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn approximate_num_entries(&self) -> Result<u64> {
        let name = self.name().to_owned();
        let mut total = 0u64;
        self.provider.visit(&mut |s| {
            total = total.saturating_add(kv(&name, s)?.approximate_num_entries()?);
            Ok(false)
        })?;
        Ok(total)
    }

    /// The same view with keys and values (de)serialized by `keys` and `values`, called with
    /// the store's changelog topic name as Kafka's metered stores do.
    pub fn with_serdes<K, V>(
        self,
        keys: Arc<dyn Serde<K>>,
        values: Arc<dyn Serde<V>>,
    ) -> TypedKeyValueStore<ReadOnlyKeyValueView, K, V> {
        let serdes = StateSerdes::for_store(&self.provider.inner.config.application_id, self.name(), keys, values);
        TypedKeyValueStore::new(self, serdes)
    }
}

/// The view as the reader of a typed store ([`ReadOnlyKeyValueView::with_serdes`]): reads
/// gather the tasks' entries first, as the raw methods do.
impl KeyValueReader for ReadOnlyKeyValueView {
    type Error = Error;
    fn read(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.get(key)
    }
    fn read_range(&self, from: &[u8], to: &[u8]) -> Result<ReaderIter<'_, Error>> {
        Ok(Box::new(self.range(from, to)?.into_iter().map(Ok)))
    }
    fn read_all(&self) -> Result<ReaderIter<'_, Error>> {
        Ok(Box::new(self.all()?.into_iter().map(Ok)))
    }
    fn read_num_entries(&self) -> Result<u64> {
        self.approximate_num_entries()
    }
}

/// A read-only window store across this instance's tasks (Kafka's
/// `CompositeReadOnlyWindowStore`), over raw bytes.
#[derive(Debug, Clone)]
pub struct ReadOnlyWindowView {
    provider: Provider,
}

impl ReadOnlyWindowView {
    fn name(&self) -> String {
        self.provider.params.name.clone()
    }

    /// The value of `key`'s window starting at `window_start`.
    ///
    /// # Errors
    /// [`Error::InvalidStateStore`]; store errors.
    pub fn fetch_one(&self, key: &[u8], window_start: i64) -> Result<Option<Bytes>> {
        let name = self.name();
        self.provider.find(|s| Ok(window(&name, s)?.fetch_one(key, window_start)?))
    }

    /// `(window start, value)` of `key`'s windows starting in `[time_from, time_to]`, oldest
    /// first, from the first task that has any.
    ///
    /// # Errors
    /// As [`fetch_one`](Self::fetch_one).
    pub fn fetch(&self, key: &[u8], time_from: i64, time_to: i64) -> Result<Vec<(i64, Bytes)>> {
        let name = self.name();
        let found = self.provider.find(|s| {
            let v = collect(window(&name, s)?.fetch(key, time_from, time_to)?)?;
            Ok((!v.is_empty()).then_some(v))
        })?;
        Ok(found.unwrap_or_default())
    }

    fn gather(
        &self,
        f: &dyn Fn(&dyn brook_state_store::WindowStore) -> Result<WindowedEntries>,
    ) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        let name = self.name();
        let mut out = Vec::new();
        self.provider.visit(&mut |s| {
            out.extend(f(window(&name, s)?)?);
            Ok(false)
        })?;
        Ok(out)
    }

    /// Windows of keys in `[key_from, key_to]` (`None`: unbounded) starting in the time range.
    ///
    /// # Errors
    /// As [`fetch_one`](Self::fetch_one).
    pub fn fetch_key_range(
        &self,
        key_from: Option<&[u8]>,
        key_to: Option<&[u8]>,
        time_from: i64,
        time_to: i64,
    ) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        self.gather(&|s| collect(s.fetch_key_range(key_from, key_to, time_from, time_to)?))
    }

    /// Every window starting in `[time_from, time_to]`.
    ///
    /// # Errors
    /// As [`fetch_one`](Self::fetch_one).
    pub fn fetch_all(&self, time_from: i64, time_to: i64) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        self.gather(&|s| collect(s.fetch_all(time_from, time_to)?))
    }

    /// Every live window.
    ///
    /// # Errors
    /// As [`fetch_one`](Self::fetch_one).
    pub fn all(&self) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        self.gather(&|s| collect(s.all()?))
    }
}

/// A read-only session store across this instance's tasks (Kafka's
/// `CompositeReadOnlySessionStore`), over raw bytes.
#[derive(Debug, Clone)]
pub struct ReadOnlySessionView {
    provider: Provider,
}

impl ReadOnlySessionView {
    /// Every session of `key`, from the first task that has any.
    ///
    /// # Errors
    /// [`Error::InvalidStateStore`]; store errors.
    pub fn fetch(&self, key: &[u8]) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        self.find_sessions(key, i64::MIN, i64::MAX)
    }

    /// Sessions of `key` with `end >= earliest_session_end` and `start <= latest_session_start`.
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch).
    pub fn find_sessions(
        &self,
        key: &[u8],
        earliest_session_end: i64,
        latest_session_start: i64,
    ) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        let name = self.provider.params.name.clone();
        let found = self.provider.find(|s| {
            let v = collect(session(&name, s)?.find_sessions(key, earliest_session_end, latest_session_start)?)?;
            Ok((!v.is_empty()).then_some(v))
        })?;
        Ok(found.unwrap_or_default())
    }

    /// Every key's sessions with `end >= earliest_session_end` and `start <= latest_session_start`,
    /// task after task (Kafka's `findSessions(keyFrom = null, keyTo = null, ...)`).
    ///
    /// # Errors
    /// As [`fetch`](Self::fetch).
    pub fn find_all_sessions(&self, earliest_session_end: i64, latest_session_start: i64) -> Result<Vec<(Windowed<Bytes>, Bytes)>> {
        let name = self.provider.params.name.clone();
        let mut out = Vec::new();
        self.provider.visit(&mut |s| {
            out.extend(collect(session(&name, s)?.find_sessions_key_range(None, None, earliest_session_end, latest_session_start)?)?);
            Ok(false)
        })?;
        Ok(out)
    }
}

impl KafkaStreams {
    fn provider(&self, params: StoreQueryParameters) -> Result<Provider> {
        let known = self.inner.factory.store_names();
        if !known.is_empty() && !known.contains(&params.name) {
            return Err(Error::InvalidStateStore(format!(
                "cannot get state store {} because no such store is registered in the topology",
                params.name
            )));
        }
        let state = self.state();
        if !state.is_running_or_rebalancing() {
            return Err(Error::InvalidStateStore(format!(
                "cannot get state store {} because KafkaStreams is {state}, not RUNNING",
                params.name
            )));
        }
        Ok(Provider { inner: self.inner.clone(), params })
    }

    /// A read-only view of a key-value store across this instance's active tasks, or of a
    /// global key-value store (Kafka's `store(StoreQueryParameters)` with
    /// `QueryableStoreTypes.keyValueStore()`). Reads go through the stores' caches, so they
    /// see every processed record (read-your-writes), committed or not.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use brook_broker::{Broker, BrokerConfig};
    /// use brook_processor_api::runtime::Embedded;
    /// use brook_processor_api::{
    ///     Error, KafkaStreams, Processor, ProcessorContext, Record, SourceOptions, State, StoreQueryParameters,
    ///     StreamsConfig, Topology, TopologyTaskFactory,
    /// };
    /// use brook_state_store::{Stores, StringSerde};
    /// use bytes::Bytes;
    ///
    /// struct Last;
    /// impl Processor<Option<Bytes>, Option<Bytes>, (), ()> for Last {
    ///     fn process(&mut self, ctx: &mut ProcessorContext<'_, (), ()>, r: Record<Option<Bytes>, Option<Bytes>>) -> brook_processor_api::Result<()> {
    ///         let (k, v, _, _) = r.into_parts();
    ///         ctx.get_key_value_store("last")?.put(k.unwrap_or_default(), v)?;
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let rt = tokio::runtime::Runtime::new()?;
    /// let dir = tempfile::tempdir()?;
    /// let mut broker_config = BrokerConfig::new(dir.path().join("log"));
    /// broker_config.group_initial_rebalance_delay = Duration::ZERO;
    /// let broker = rt.block_on(Broker::open(broker_config))?;
    /// broker.create_topic("in", 2, Default::default())?;
    /// let mut topology = Topology::new();
    /// topology
    ///     .add_source("src", SourceOptions::topics(["in"]))?
    ///     .add_processor("last", || Last, &["src"])?
    ///     .add_state_store(Stores::persistent_key_value_store("last"), &["last"])?;
    /// let mut config = StreamsConfig::new("iq-doc");
    /// config.state_dir = dir.path().join("state");
    /// let factory = Arc::new(TopologyTaskFactory::new(topology, &config)?);
    /// let streams = KafkaStreams::new(factory, config, Embedded::new(broker))?;
    /// streams.start()?;
    /// assert!(streams.wait_for_state(Duration::from_secs(30), |s| s == State::Running).1);
    /// let view = streams.key_value_store(StoreQueryParameters::from_name("last"))?;
    /// assert_eq!(view.get(b"nobody")?, None);
    /// let typed = view.with_serdes(Arc::new(StringSerde), Arc::new(StringSerde));
    /// assert_eq!(typed.all()?.count(), 0);
    /// let unknown = streams.key_value_store(StoreQueryParameters::from_name("nope"));
    /// assert!(matches!(unknown, Err(Error::InvalidStateStore(_))));
    /// assert!(streams.close(Duration::from_secs(30)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidStateStore`] for a store the topology does not have, or unless the
    /// instance is RUNNING or REBALANCING.
    /// Each read checks the instance state again.
    pub fn key_value_store(&self, params: StoreQueryParameters) -> Result<ReadOnlyKeyValueView> {
        Ok(ReadOnlyKeyValueView { provider: self.provider(params)? })
    }

    /// A read-only view of a window store across this instance's active tasks.
    ///
    /// # Errors
    /// As [`key_value_store`](Self::key_value_store).
    pub fn window_store(&self, params: StoreQueryParameters) -> Result<ReadOnlyWindowView> {
        Ok(ReadOnlyWindowView { provider: self.provider(params)? })
    }

    /// A read-only view of a session store across this instance's active tasks.
    ///
    /// # Errors
    /// As [`key_value_store`](Self::key_value_store).
    pub fn session_store(&self, params: StoreQueryParameters) -> Result<ReadOnlySessionView> {
        Ok(ReadOnlySessionView { provider: self.provider(params)? })
    }

    /// Where the partition of `key` (serialized bytes) of a logged store lives. A global store
    /// is on every instance: partition -1, the global task, local.
    ///
    /// # Errors
    /// [`Error::IllegalState`] before `start`; [`Error::Config`] for a store without a
    /// changelog in this topology.
    pub fn query_metadata_for_key(&self, store: &str, key: &[u8]) -> Result<KeyQueryMetadata> {
        let global = self.inner.global.lock().clone();
        if let Some(g) = global {
            let mut is_global = false;
            g.with_engine(&mut |e| {
                is_global = e
                    .as_any()
                    .downcast_ref::<crate::task::StreamTask>()
                    .is_some_and(|t| t.read_global_store(store, |_| ()).is_some());
            });
            if is_global {
                return Ok(KeyQueryMetadata {
                    partition: -1,
                    task: AnyTaskId::Global,
                    local: true,
                    owner_client_id: None,
                });
            }
        }
        let ctx = self
            .inner
            .ctx
            .lock()
            .clone()
            .ok_or_else(|| Error::IllegalState("query_metadata_for_key needs a started instance".into()))?;
        let changelog = format!("{}-{store}-changelog", self.inner.config.application_id);
        let sub = ctx
            .topics
            .subtopologies
            .values()
            .find(|s| s.changelog_topics.iter().any(|(t, _)| *t == changelog))
            .ok_or_else(|| Error::Config(format!("no logged store {store:?} in this topology")))?;
        let count = *ctx.topics.partitions.get(&sub.id).ok_or_else(|| {
            Error::IllegalState(format!("sub-topology {} has no partition count", sub.id))
        })?;
        let partition = brook_broker::client::partitioner::partition_for_key(key, count);
        let task = TaskId { subtopology: sub.id, partition };
        let mut local = false;
        self.with_tasks(|id, _| local |= id == task);
        let owners = ctx.admin.group_owners(&self.inner.config.application_id).unwrap_or_default();
        let owner_client_id =
            ctx.topics.topics_of(sub.id).into_iter().find_map(|t| owners.get(&TopicPartition::new(t, partition)).cloned());
        Ok(KeyQueryMetadata { partition, task: task.into(), local, owner_client_id })
    }
}
