//! [`TopologyTestDriver`]: runs a topology synchronously, without a broker, over the same
//! task engine as the runtime (Kafka's `TopologyTestDriver`).
//!
//! - Every topic has one partition; each sub-topology runs as one [`StreamTask`] (task
//!   `<id>_0`), each global store as one more task reading its topic.
//! - Piping a record processes everything it causes: records written to internal (repartition)
//!   topics, to source topics or to global topics are fed back in, then every task commits
//!   (as Kafka's driver does after each record), which flushes caches and sends changelogs.
//! - Output (sink topics, repartition topics and changelogs alike) is captured per topic and
//!   read through [`TestOutputTopic`]s.
//! - Wall-clock time is mocked: it only moves with [`TopologyTestDriver::advance_wall_clock_time`].

use std::cell::{RefCell, RefMut};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brook_state_store::{
    AnyStore, KeyValueStore, RocksDbConfig, RocksDbEnv, Serde, SerdeContext, SessionStore, ThreadCache, VersionedKeyValueStore, WindowStore,
};
use bytes::Bytes;

use crate::config::StreamsConfig;
use crate::engine::{AnyTaskId, Header, ConsumerRecord, OutputRecord, RecordCollector, TaskEngine, TaskId, TopicPartition};
use crate::error::{Error, Result};
use crate::store_ref::{self, GlobalStores, SharedStore, StoreRef};
use crate::task::{StreamTask, TaskResources};
use parking_lot::MutexGuard;
use crate::topology::{NodeKind, Topology};

/// A record written to or read from a test topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord<K, V> {
    /// Key (`None`: null).
    pub key: Option<K>,
    /// Value (`None`: null, a tombstone).
    pub value: Option<V>,
    /// Timestamp (ms).
    pub timestamp: i64,
    /// Headers.
    pub headers: Vec<Header>,
}

impl<K, V> TestRecord<K, V> {
    /// A record with key and value.
    pub fn new(key: K, value: V, timestamp: i64) -> Self {
        TestRecord { key: Some(key), value: Some(value), timestamp, headers: Vec::new() }
    }
}

#[derive(Default)]
struct Collector(Vec<OutputRecord>);

impl RecordCollector for Collector {
    fn send(&mut self, record: OutputRecord) -> Result<()> {
        self.0.push(record);
        Ok(())
    }
}

/// The driver's tasks, topics and clocks, shared with its input and output topic handles.
struct DriverState {
    app: String,
    tasks: Vec<StreamTask>,
    globals: Vec<StreamTask>,
    global_topics: BTreeSet<String>,
    internal_topics: BTreeSet<String>,
    source_topics: BTreeSet<String>,
    outputs: BTreeMap<String, VecDeque<OutputRecord>>,
    produced: BTreeSet<String>,
    offsets: HashMap<String, i64>,
    wall_clock: i64,
    state_dir: PathBuf,
    pending: VecDeque<ConsumerRecord>,
}

static DRIVER_SEQ: AtomicU64 = AtomicU64::new(0);

impl DriverState {
    fn next_offset(&mut self, topic: &str) -> i64 {
        let o = self.offsets.entry(topic.to_owned()).or_insert(0);
        let offset = *o;
        *o += 1;
        offset
    }

    fn capture(&mut self, records: Vec<OutputRecord>) {
        for r in records {
            self.produced.insert(r.topic.to_string());
            let feed_back = self.internal_topics.contains(&*r.topic)
                || self.source_topics.contains(&*r.topic)
                || self.global_topics.contains(&*r.topic)
                || self.tasks.iter().any(|t| t.reads_topic(&r.topic));
            let offset = self.next_offset(&r.topic);
            if feed_back {
                self.pending.push_back(ConsumerRecord {
                    topic: r.topic.clone(),
                    partition: 0,
                    offset,
                    timestamp: r.timestamp,
                    key: r.key.clone(),
                    value: r.value.clone(),
                    headers: r.headers.clone(),
                });
            }
            self.outputs.entry(r.topic.to_string()).or_default().push_back(r);
        }
    }

    fn enqueue(&mut self, record: ConsumerRecord) {
        let tp = TopicPartition::new(&*record.topic, 0);
        for t in self.globals.iter_mut().chain(self.tasks.iter_mut()) {
            if t.add_partition(&tp) {
                t.add_records(&tp, vec![record.clone()]);
            }
        }
    }

    /// Processes until no task has work left, then commits everything; repeats while commits
    /// produce records that are fed back.
    fn run(&mut self) -> Result<()> {
        loop {
            while let Some(r) = self.pending.pop_front() {
                self.enqueue(r);
            }
            let wall = self.wall_clock;
            let mut out = Collector::default();
            let mut progressed = false;
            for t in self.globals.iter_mut().chain(self.tasks.iter_mut()) {
                while t.process(wall, &mut out)? {
                    progressed = true;
                }
            }
            self.capture(out.0);
            if progressed || !self.pending.is_empty() {
                continue;
            }
            let mut out = Collector::default();
            for t in self.globals.iter_mut().chain(self.tasks.iter_mut()) {
                t.prepare_commit(&mut out)?;
            }
            self.capture(out.0);
            let ends: BTreeMap<TopicPartition, i64> = self.offsets.iter().map(|(t, o)| (TopicPartition::new(t.clone(), 0), *o)).collect();
            for t in self.globals.iter_mut().chain(self.tasks.iter_mut()) {
                t.post_commit(&ends)?;
            }
            if self.pending.is_empty() {
                return Ok(());
            }
        }
    }
}

/// Runs a topology without a broker.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_processor_api::{SinkOptions, SourceOptions, StreamsConfig, Topology, TopologyTestDriver};
/// use brook_state_store::StringSerde;
/// let s = Arc::new(StringSerde);
/// let mut t = Topology::new();
/// t.add_source("in", SourceOptions::topics(["in"]).with_serdes(s.clone(), s.clone())).unwrap()
///     .add_sink("out", SinkOptions::topic("out", s.clone(), s.clone()), &["in"]).unwrap();
/// let driver = TopologyTestDriver::new(t, StreamsConfig::new("app"), 0).unwrap();
/// let input = driver.create_input_topic("in", s.clone(), s.clone());
/// let output = driver.create_output_topic("out", s.clone(), s.clone());
/// input.pipe_input("k".to_owned(), "v".to_owned()).unwrap();
/// assert_eq!(output.read_key_value().unwrap(), (Some("k".to_owned()), Some("v".to_owned())));
/// assert!(output.is_empty());
/// ```
pub struct TopologyTestDriver {
    inner: Rc<RefCell<DriverState>>,
    globals: BTreeMap<String, SharedStore>,
}

impl fmt::Debug for TopologyTestDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("TopologyTestDriver")
            .field("application_id", &inner.app)
            .field("tasks", &inner.tasks.len())
            .field("wall_clock", &inner.wall_clock)
            .finish_non_exhaustive()
    }
}

impl TopologyTestDriver {
    /// Builds the tasks of `topology` (state under a fresh directory inside `config.state_dir`,
    /// removed on drop) with the wall clock at `initial_wall_clock_ms`.
    ///
    /// Caching follows `statestore.cache.max.bytes`; since the driver commits after every
    /// record, caches never hold records across inputs.
    ///
    /// # Errors
    /// [`Error::Topology`] for an invalid topology, store errors, or processors' `init` errors.
    pub fn new(topology: Topology, config: StreamsConfig, initial_wall_clock_ms: i64) -> Result<Self> {
        topology.validate()?;
        let app = config.application_id.clone();
        let seq = DRIVER_SEQ.fetch_add(1, Ordering::Relaxed);
        let state_dir = config.state_dir.join(format!("brook-test-driver-{}-{seq}", std::process::id()));
        let global_stores = GlobalStores::new();
        let resources = TaskResources {
            global_stores: global_stores.clone(),
            cache: Some(ThreadCache::new(config.cache_max_bytes)),
            rocksdb: Some(RocksDbEnv::new(RocksDbConfig { block_cache_bytes: 8 << 20, ..RocksDbConfig::default() })?),
        };
        let mut tasks = Vec::new();
        let mut globals = Vec::new();
        let mut global_topics = BTreeSet::new();
        let mut source_topics = BTreeSet::new();
        for (id, (group, global)) in topology.node_groups().into_iter().enumerate() {
            let mut inputs = Vec::new();
            for &i in &group {
                if let NodeKind::Source { topics, .. } = &topology.nodes[i].kind {
                    for t in topics {
                        let t = topology.resolve_topic(&app, t);
                        if global {
                            global_topics.insert(t.clone());
                        } else {
                            source_topics.insert(t.clone());
                        }
                        inputs.push(TopicPartition::new(t, 0));
                    }
                }
            }
            let task_id = AnyTaskId::Stream(TaskId { subtopology: id as u32, partition: 0 });
            let mut task = StreamTask::build(&topology, task_id, &group, &inputs, &state_dir, &config, resources.clone(), &app)?;
            task.set_wall_clock(initial_wall_clock_ms);
            if global {
                globals.push(task);
            } else {
                tasks.push(task);
            }
        }
        for t in globals.iter_mut().chain(tasks.iter_mut()) {
            t.initialize()?;
        }
        let internal_topics = topology.internal_topics.iter().map(|t| topology.resolve_topic(&app, t)).collect();
        let inner = DriverState {
            app,
            tasks,
            globals,
            global_topics,
            internal_topics,
            source_topics,
            outputs: BTreeMap::new(),
            produced: BTreeSet::new(),
            offsets: HashMap::new(),
            wall_clock: initial_wall_clock_ms,
            state_dir,
            pending: VecDeque::new(),
        };
        let globals = global_stores.names().into_iter().filter_map(|n| Some((n.clone(), global_stores.get(&n)?))).collect();
        Ok(TopologyTestDriver { inner: Rc::new(RefCell::new(inner)), globals })
    }

    /// An input topic that encodes with these serdes; records without an explicit timestamp get
    /// the topic's current time, starting at the driver's initial wall clock.
    pub fn create_input_topic<K, V>(&self, topic: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> TestInputTopic<K, V> {
        let now = self.inner.borrow().wall_clock;
        TestInputTopic { inner: self.inner.clone(), topic: topic.to_owned(), keys, values, time: RefCell::new((now, 0)) }
    }

    /// An output topic that decodes with these serdes.
    pub fn create_output_topic<K, V>(&self, topic: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> TestOutputTopic<K, V> {
        TestOutputTopic { inner: self.inner.clone(), topic: topic.to_owned(), keys, values }
    }

    /// Pipes one raw record into `topic` and processes everything it causes.
    ///
    /// # Errors
    /// Errors of the tasks (a handler chose to fail, store errors).
    pub fn pipe_raw(&self, topic: &str, key: Option<Bytes>, value: Option<Bytes>, timestamp: i64, headers: Vec<Header>) -> Result<()> {
        let mut inner = self.inner.borrow_mut();
        let offset = inner.next_offset(topic);
        inner.pending.push_back(ConsumerRecord { topic: Arc::from(topic), partition: 0, offset, timestamp, key, value, headers });
        inner.run()
    }

    /// Moves the mock wall clock forward, fires due wall-clock punctuators, then processes and
    /// commits what they caused.
    ///
    /// # Errors
    /// Punctuator and processing errors.
    pub fn advance_wall_clock_time(&self, by: Duration) -> Result<()> {
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        inner.wall_clock = inner.wall_clock.saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
        let wall = inner.wall_clock;
        let mut out = Collector::default();
        for t in inner.globals.iter_mut().chain(inner.tasks.iter_mut()) {
            t.punctuate(wall, &mut out)?;
        }
        inner.capture(out.0);
        inner.run()
    }

    /// The mock wall-clock time.
    pub fn wall_clock_ms(&self) -> i64 {
        self.inner.borrow().wall_clock
    }

    /// Every topic the topology wrote to, changelogs and repartition topics included.
    pub fn produced_topic_names(&self) -> BTreeSet<String> {
        self.inner.borrow().produced.clone()
    }

    fn store<S: ?Sized + 'static>(&self, name: &str, select: for<'x> fn(&'x mut AnyStore) -> Option<&'x mut S>) -> Option<StoreRef<'_, S>> {
        if let Some(shared) = self.globals.get(name) {
            return MutexGuard::try_map(shared.lock(), select).ok().map(StoreRef::global);
        }
        RefMut::filter_map(self.inner.borrow_mut(), |inner| {
            let task = inner.tasks.iter_mut().find(|t| t.local_store_names().iter().any(|n| n == name))?;
            select(task.local_store_mut(name)?)
        })
        .ok()
        .map(StoreRef::cell)
    }

    /// A key-value store (of any task, global stores included). Drop it before piping.
    pub fn get_key_value_store(&self, name: &str) -> Option<StoreRef<'_, dyn KeyValueStore>> {
        self.store(name, store_ref::key_value)
    }

    /// A key-value store whose values are Kafka's `ValueAndTimestamp` bytes, decoded.
    pub fn get_timestamped_key_value_store(&self, name: &str) -> Option<TimestampedStoreGuard<'_>> {
        let kv = self.get_key_value_store(name)?;
        Some(TimestampedStoreGuard(kv))
    }

    /// A window store.
    pub fn get_window_store(&self, name: &str) -> Option<StoreRef<'_, dyn WindowStore>> {
        self.store(name, store_ref::window)
    }

    /// A session store.
    pub fn get_session_store(&self, name: &str) -> Option<StoreRef<'_, dyn SessionStore>> {
        self.store(name, store_ref::session)
    }

    /// A versioned key-value store.
    pub fn get_versioned_key_value_store(&self, name: &str) -> Option<StoreRef<'_, dyn VersionedKeyValueStore>> {
        self.store(name, store_ref::versioned)
    }

    /// Names of every store of every task, global stores included.
    pub fn store_names(&self) -> Vec<String> {
        let inner = self.inner.borrow();
        let mut names: Vec<String> = inner.tasks.iter().flat_map(StreamTask::local_store_names).collect();
        names.extend(self.globals.keys().cloned());
        names
    }

    /// Closes every task (cleanly: stores are flushed and checkpointed) and removes the state
    /// directory. Dropping the driver does the same, ignoring errors.
    ///
    /// # Errors
    /// Close errors of processors and stores.
    pub fn close(self) -> Result<()> {
        self.close_inner()
    }

    fn close_inner(&self) -> Result<()> {
        let mut guard = self.inner.borrow_mut();
        let inner = &mut *guard;
        let mut result = Ok(());
        for t in inner.globals.iter_mut().chain(inner.tasks.iter_mut()) {
            result = result.and(t.close(true));
        }
        let _ = std::fs::remove_dir_all(&inner.state_dir);
        result
    }
}

impl Drop for TopologyTestDriver {
    fn drop(&mut self) {
        if let Err(e) = self.close_inner() {
            tracing::warn!(error = %e, "closing the test driver failed");
        }
    }
}

/// A key-value store of the driver read as a timestamped store.
pub struct TimestampedStoreGuard<'a>(StoreRef<'a, dyn KeyValueStore>);

impl fmt::Debug for TimestampedStoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimestampedStoreGuard")
    }
}

impl TimestampedStoreGuard<'_> {
    /// The value and timestamp of `key`.
    ///
    /// # Errors
    /// Store errors, or a value that is not `ValueAndTimestamp` bytes.
    pub fn get(&self, key: &[u8]) -> Result<Option<brook_state_store::ValueAndTimestamp<Bytes>>> {
        let v = self.0.get(key)?;
        Ok(v.map(|v| brook_state_store::ValueAndTimestamp::from_bytes(&v)).transpose()?)
    }

    /// The underlying byte store.
    pub fn inner(&mut self) -> &mut dyn KeyValueStore {
        &mut *self.0
    }
}

/// Pipes typed records into one topic of a [`TopologyTestDriver`].
pub struct TestInputTopic<K, V> {
    inner: Rc<RefCell<DriverState>>,
    topic: String,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
    /// (current time, auto-advance ms).
    time: RefCell<(i64, i64)>,
}

impl<K, V> fmt::Debug for TestInputTopic<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestInputTopic").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl<K, V> TestInputTopic<K, V> {
    /// Advances every later record's timestamp by `by` after each pipe (Kafka's auto-advance).
    pub fn with_auto_advance(self, by: Duration) -> Self {
        self.time.borrow_mut().1 = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self
    }

    /// Moves the topic's current time forward.
    pub fn advance_time(&self, by: Duration) {
        let mut t = self.time.borrow_mut();
        t.0 = t.0.saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    fn take_time(&self) -> i64 {
        let mut t = self.time.borrow_mut();
        let now = t.0;
        t.0 = t.0.saturating_add(t.1);
        now
    }

    /// Pipes a full record (null key or value allowed).
    ///
    /// # Errors
    /// Serialization errors ([`Error::Processing`]) and the driver's errors.
    pub fn pipe_record(&self, record: TestRecord<K, V>) -> Result<()> {
        let ser = |e: brook_state_store::Error| Error::Processing { processor: "TestInputTopic".to_owned(), message: e.to_string() };
        let kc = SerdeContext::key(&self.topic).with_headers(&record.headers);
        let vc = SerdeContext::value(&self.topic).with_headers(&record.headers);
        let key = record.key.as_ref().map(|k| self.keys.serialize_bytes(&kc, k)).transpose().map_err(ser)?;
        let value = record.value.as_ref().map(|v| self.values.serialize_bytes(&vc, v)).transpose().map_err(ser)?;
        let mut inner = self.inner.borrow_mut();
        let offset = inner.next_offset(&self.topic);
        inner.pending.push_back(ConsumerRecord {
            topic: Arc::from(self.topic.as_str()),
            partition: 0,
            offset,
            timestamp: record.timestamp,
            key,
            value,
            headers: record.headers,
        });
        inner.run()
    }

    /// Pipes `key -> value` at the topic's current time.
    ///
    /// # Errors
    /// As [`TestInputTopic::pipe_record`].
    pub fn pipe_input(&self, key: K, value: V) -> Result<()> {
        let ts = self.take_time();
        self.pipe_record(TestRecord { key: Some(key), value: Some(value), timestamp: ts, headers: Vec::new() })
    }

    /// Pipes a value with a null key at the topic's current time.
    ///
    /// # Errors
    /// As [`TestInputTopic::pipe_record`].
    pub fn pipe_value(&self, value: V) -> Result<()> {
        let ts = self.take_time();
        self.pipe_record(TestRecord { key: None, value: Some(value), timestamp: ts, headers: Vec::new() })
    }

    /// Pipes `key -> value` with an explicit timestamp.
    ///
    /// # Errors
    /// As [`TestInputTopic::pipe_record`].
    pub fn pipe_input_with_timestamp(&self, key: K, value: V, timestamp: i64) -> Result<()> {
        self.pipe_record(TestRecord { key: Some(key), value: Some(value), timestamp, headers: Vec::new() })
    }

    /// Pipes each value with a null key at the topic's current time.
    ///
    /// # Errors
    /// As [`TestInputTopic::pipe_record`]; stops at the first error.
    pub fn pipe_value_list(&self, values: Vec<V>) -> Result<()> {
        values.into_iter().try_for_each(|v| self.pipe_value(v))
    }

    /// Pipes each record.
    ///
    /// # Errors
    /// As [`TestInputTopic::pipe_record`]; stops at the first error.
    pub fn pipe_record_list(&self, records: Vec<TestRecord<K, V>>) -> Result<()> {
        records.into_iter().try_for_each(|r| self.pipe_record(r))
    }

    /// Pipes each pair at the topic's current time (advancing it if auto-advance is set).
    ///
    /// # Errors
    /// As [`TestInputTopic::pipe_record`]; stops at the first error.
    pub fn pipe_key_value_list(&self, pairs: Vec<(K, V)>) -> Result<()> {
        for (k, v) in pairs {
            self.pipe_input(k, v)?;
        }
        Ok(())
    }
}

/// Reads typed records from one topic of a [`TopologyTestDriver`].
pub struct TestOutputTopic<K, V> {
    inner: Rc<RefCell<DriverState>>,
    topic: String,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
}

impl<K, V> fmt::Debug for TestOutputTopic<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestOutputTopic").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl<K, V> TestOutputTopic<K, V> {
    /// Reads the next record.
    ///
    /// # Errors
    /// [`Error::IllegalState`] when the topic is empty; [`Error::Deserialization`] on bad bytes.
    pub fn read_record(&self) -> Result<TestRecord<K, V>> {
        let r = self
            .inner
            .borrow_mut()
            .outputs
            .get_mut(&self.topic)
            .and_then(VecDeque::pop_front)
            .ok_or_else(|| Error::IllegalState(format!("no more records in topic {}", self.topic)))?;
        let de = |what: &str, e: brook_state_store::Error| Error::Deserialization {
            topic: self.topic.clone(),
            partition: r.partition.unwrap_or(0),
            offset: -1,
            message: format!("{what}: {e}"),
        };
        let kc = SerdeContext::key(&self.topic).with_headers(&r.headers);
        let vc = SerdeContext::value(&self.topic).with_headers(&r.headers);
        let key = r.key.as_ref().map(|k| self.keys.deserialize_bytes(&kc, k)).transpose().map_err(|e| de("key", e))?;
        let value = r.value.as_ref().map(|v| self.values.deserialize_bytes(&vc, v)).transpose().map_err(|e| de("value", e))?;
        Ok(TestRecord { key, value, timestamp: r.timestamp, headers: r.headers.clone() })
    }

    /// Reads the next value.
    ///
    /// # Errors
    /// As [`TestOutputTopic::read_record`].
    pub fn read_value(&self) -> Result<Option<V>> {
        Ok(self.read_record()?.value)
    }

    /// Reads the next key and value.
    ///
    /// # Errors
    /// As [`TestOutputTopic::read_record`].
    pub fn read_key_value(&self) -> Result<(Option<K>, Option<V>)> {
        let r = self.read_record()?;
        Ok((r.key, r.value))
    }

    /// Reads every remaining record.
    ///
    /// # Errors
    /// As [`TestOutputTopic::read_record`].
    pub fn read_records_to_list(&self) -> Result<Vec<TestRecord<K, V>>> {
        let mut out = Vec::new();
        while !self.is_empty() {
            out.push(self.read_record()?);
        }
        Ok(out)
    }

    /// Reads every remaining value.
    ///
    /// # Errors
    /// As [`TestOutputTopic::read_record`].
    pub fn read_values_to_list(&self) -> Result<Vec<Option<V>>> {
        Ok(self.read_records_to_list()?.into_iter().map(|r| r.value).collect())
    }

    /// Reads every remaining key and value.
    ///
    /// # Errors
    /// As [`TestOutputTopic::read_record`].
    pub fn read_key_values_to_list(&self) -> Result<Vec<(Option<K>, Option<V>)>> {
        Ok(self.read_records_to_list()?.into_iter().map(|r| (r.key, r.value)).collect())
    }

    /// Reads every remaining record into a map: the last value per key wins, and a null
    /// value removes the key (Kafka's `readKeyValuesToMap`).
    ///
    /// # Errors
    /// As [`TestOutputTopic::read_record`], or a null key.
    pub fn read_key_values_to_map(&self) -> Result<BTreeMap<K, V>>
    where
        K: Ord,
    {
        let mut map = BTreeMap::new();
        for r in self.read_records_to_list()? {
            let key = r.key.ok_or_else(|| Error::IllegalState("read_key_values_to_map: null key".to_owned()))?;
            match r.value {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(map)
    }

    /// Whether no record is left to read.
    pub fn is_empty(&self) -> bool {
        self.queue_size() == 0
    }

    /// Records left to read.
    pub fn queue_size(&self) -> usize {
        self.inner.borrow().outputs.get(&self.topic).map_or(0, VecDeque::len)
    }
}
