//! The [`Broker`]: topics and partitions, the coordinators, background maintenance.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use brook_common::TopicPartition;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::changes::Signals;
use crate::config::{BrokerConfig, TopicConfig};
use crate::data_dir;
use crate::dir_lock::DirLock;
use crate::error::{Error, Result};
use crate::group::{GroupConfig, GroupCoordinator, OffsetsLog};
use crate::log::LogShared;
use crate::partition::{AppendResult, FetchData, IsolationLevel, Partition};
use crate::record::batch::BatchHeader;
use crate::record::{BatchBuilder, Compression, ControlType};
use crate::topic::{self, Topic, TopicMeta, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};
use crate::txn::{TxnConfig, TxnCoordinator, TxnLog, TxnMetadata};

/// One partition as `describe` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Leader node id (always this node).
    pub leader: i32,
    /// Log start offset.
    pub log_start_offset: i64,
    /// High watermark.
    pub high_watermark: i64,
    /// Set while appends fail on a storage error (a full disk): see [`crate::storage_health`].
    pub storage_fault: Option<crate::StorageFault>,
}

/// A topic as `describe` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Topic id (a UUID's 16 bytes).
    pub id: [u8; 16],
    /// Whether this is one of Kafka's internal topics.
    pub internal: bool,
    /// Partitions in order.
    pub partitions: Vec<PartitionInfo>,
    /// The per-topic config overrides.
    pub overrides: BTreeMap<String, String>,
    /// The effective config.
    pub config: TopicConfig,
}

/// Which offset `list_offset` looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (Kafka's timestamp -2).
    Earliest,
    /// The high watermark, or the last stable offset under read_committed (timestamp -1).
    Latest,
    /// The offset of the record with the largest timestamp (timestamp -3).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this time.
    Timestamp(i64),
}

impl OffsetSpec {
    /// Kafka's ListOffsets encoding: -2, -1, -3 or a timestamp.
    pub fn from_timestamp(ts: i64) -> OffsetSpec {
        match ts {
            -2 => OffsetSpec::Earliest,
            -1 => OffsetSpec::Latest,
            -3 => OffsetSpec::MaxTimestamp,
            t => OffsetSpec::Timestamp(t),
        }
    }
}

/// The shared state behind a [`Broker`] handle.
#[derive(Debug)]
pub(crate) struct BrokerState {
    pub(crate) config: BrokerConfig,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serializes catalog changes (create, delete, add partitions, alter configs).
    catalog: Mutex<()>,
    groups: Arc<GroupCoordinator>,
    pub(crate) txns: TxnCoordinator,
    /// What every partition log shares (open-file pool, cleaner memory).
    logs: Arc<LogShared>,
    /// Per-topic "data appended" signals, by name ([`Broker::watch_topics`]).
    signals: Arc<Signals>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// `<log.dirs>/.lock`, held from open until shutdown (or the last handle is dropped).
    dir_lock: Mutex<Option<DirLock>>,
}

impl BrokerState {
    /// Epoch milliseconds of the broker's clock ([`BrokerConfig::clock`]).
    pub(crate) fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    /// The group coordinator (see [`Broker::groups`]).
    pub(crate) fn groups(&self) -> &Arc<GroupCoordinator> {
        &self.groups
    }
}

/// A handle to a running broker; cheap to clone. The embedded client, the wire-protocol server
/// and the stream runtime all talk to it.
///
/// # Examples
/// ```
/// # #[tokio::main] async fn main() -> brook_broker::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let broker = brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path())).await?;
/// broker.create_topic("orders", 3, Default::default())?;
/// assert_eq!(broker.describe_topic("orders")?.partitions.len(), 3);
/// broker.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Broker {
    pub(crate) inner: Arc<BrokerState>,
}

/// Appends `__consumer_offsets` records for the group coordinator.
#[derive(Debug)]
struct OffsetsWriter(Weak<BrokerState>);

impl OffsetsLog for OffsetsWriter {
    fn append(
        &self,
        partition: i32,
        records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        producer: Option<(i64, i16)>,
    ) -> Result<i64> {
        let inner = self.0.upgrade().ok_or(Error::Shutdown)?;
        let p = inner.internal_partition(OFFSETS_TOPIC, partition)?;
        let mut b = BatchBuilder::new(Compression::None);
        if let Some((pid, epoch)) = producer {
            b.producer(pid, epoch, -1).transactional(true);
        }
        let now = inner.now_ms();
        for (k, v) in &records {
            b.push(now, Some(k), v.as_deref(), &[]);
        }
        let mut bytes = b.build()?;
        p.append_internal(&mut bytes, now)?;
        Ok(p.high_watermark())
    }

    fn sync(&self, partition: i32, upto: i64) -> Result<()> {
        let inner = self.0.upgrade().ok_or(Error::Shutdown)?;
        inner.internal_partition(OFFSETS_TOPIC, partition)?.sync_to(upto)
    }
}

/// The transaction coordinator's view of the logs: `__transaction_state` and the markers.
#[derive(Debug)]
struct TxnWriter(Weak<BrokerState>);

impl TxnLog for TxnWriter {
    fn append_state(&self, partition: i32, key: &[u8], value: &[u8], now_ms: i64) -> Result<i64> {
        let inner = self.0.upgrade().ok_or(Error::Shutdown)?;
        let p = inner.internal_partition(TRANSACTION_STATE_TOPIC, partition)?;
        let mut b = BatchBuilder::new(Compression::None);
        b.push(now_ms, Some(key), Some(value), &[]);
        let mut bytes = b.build()?;
        p.append_internal(&mut bytes, now_ms)?;
        Ok(p.high_watermark())
    }

    fn replay_state(&self, f: &mut dyn FnMut(&[u8], Option<&[u8]>)) -> Result<()> {
        let inner = self.0.upgrade().ok_or(Error::Shutdown)?;
        let Ok(t) = inner.topic(TRANSACTION_STATE_TOPIC) else { return Ok(()) };
        for p in t.partitions.read().iter() {
            p.scan(&mut |h, bytes| {
                replay_batch(h, bytes, |_, _, key, value| f(key, value));
                Ok(())
            })?;
        }
        Ok(())
    }

    fn write_marker(&self, tp: &TopicPartition, producer: (i64, i16), kind: ControlType, now_ms: i64) -> Result<Option<i64>> {
        let inner = self.0.upgrade().ok_or(Error::Shutdown)?;
        let Ok(t) = inner.topic(&tp.topic) else { return Ok(None) };
        let Some(p) = t.partition(tp.partition) else { return Ok(None) };
        let offset = p.write_marker(producer.0, producer.1, kind, 0, now_ms)?;
        inner.notify_append(&t);
        Ok(Some(offset))
    }

    fn sync(&self, topic: &str, partition: i32, upto: i64) -> Result<()> {
        let inner = self.0.upgrade().ok_or(Error::Shutdown)?;
        inner.partition(topic, partition)?.sync_to(upto)
    }
}

impl Broker {
    /// Opens the data directory, recovers every partition, replays the internal topics and
    /// starts background maintenance (retention, compaction, group and transaction timers).
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// Storage errors reading the catalog or opening a log.
    ///
    /// # Cancel safety
    /// Cancel safe: recovery writes nothing a later `open` does not redo, and the data
    /// directory's lock is released when the future is dropped.
    pub async fn open(config: BrokerConfig) -> Result<Broker> {
        let root = config.log_dir.clone();
        std::fs::create_dir_all(&root)
            .map_err(|e| Error::storage(format!("creating {}", root.display()), e))?;
        let dir_lock = DirLock::acquire(&root, "broker")?;
        let metas = topic::load_catalog(&root)?;
        data_dir::sweep(&root, &metas);
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new_cyclic(|weak: &Weak<BrokerState>| {
            let groups = GroupCoordinator::new(GroupConfig::from(&config), Arc::new(OffsetsWriter(weak.clone())));
            let txns = TxnCoordinator::new(TxnConfig::from(&config), Arc::new(TxnWriter(weak.clone())), Arc::clone(&groups));
            BrokerState {
                groups,
                txns,
                logs: LogShared::new(&config),
                config,
                topics: RwLock::new(BTreeMap::new()),
                catalog: Mutex::new(()),
                signals: Arc::default(),
                shutdown,
                tasks: Mutex::new(Vec::new()),
                dir_lock: Mutex::new(Some(dir_lock)),
            }
        });
        for meta in metas {
            let t = inner.open_topic(&meta)?;
            inner.topics.write().insert(meta.name.clone(), t);
        }
        inner.replay_offsets()?;
        inner.txns.replay()?;
        let broker = Broker { inner };
        broker.start_background();
        tracing::info!(dir = %root.display(), topics = broker.inner.topics.read().len(), "broker open");
        Ok(broker)
    }

    /// The configuration the broker runs with.
    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    /// The group coordinator: consumer groups and committed offsets, for the wire-protocol
    /// server's group APIs, the embedded consumer and the transaction coordinator.
    pub(crate) fn groups(&self) -> &Arc<GroupCoordinator> {
        self.inner.groups()
    }

    fn start_background(&self) {
        let mut tasks = self.inner.tasks.lock();
        tasks.push(self.inner.groups.spawn_ticker(Duration::from_millis(100)));
        let c = &self.inner.config;
        let jobs: [(Duration, fn(&BrokerState)); 3] = [
            // As in Kafka, retention runs every `log.retention.check.interval.ms` and the
            // cleaner only compacts.
            (c.retention_check_interval, |i| i.run_cleanup(true, false)),
            (c.cleaner_backoff, |i| i.run_cleanup(false, true)),
            (c.transaction_abort_interval, |i| i.txns.abort_timed_out()),
        ];
        for (every, job) in jobs {
            let weak = Arc::downgrade(&self.inner);
            let mut stop = self.inner.shutdown.subscribe();
            tasks.push(tokio::spawn(async move {
                let mut t = tokio::time::interval(every.max(Duration::from_millis(10)));
                t.tick().await;
                loop {
                    tokio::select! {
                        _ = t.tick() => {}
                        _ = stop.changed() => return,
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    let _ = tokio::task::block_in_place(|| job(&inner));
                }
            }));
        }
    }

    /// Stops background work, fsyncs every partition and releases the data directory's lock
    /// (another broker may open it afterwards, so this handle must not write any more).
    ///
    /// # Cancel safety
    /// Cancel safe: it completes without yielding once polled (the work is synchronous); a
    /// future dropped before its first poll does nothing, and the lock is then released when the
    /// last handle is dropped.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
        let tasks: Vec<_> = std::mem::take(&mut *self.inner.tasks.lock());
        for t in tasks {
            t.abort();
        }
        for t in self.inner.topics.read().values() {
            for p in t.partitions.read().iter() {
                if let Err(e) = p.flush() {
                    tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "flush on shutdown failed");
                }
            }
        }
        self.inner.dir_lock.lock().take();
    }

    /// Runs retention (and compaction when `compact`) on every partition now, as the background
    /// tasks do periodically.
    pub fn run_cleanup(&self, compact: bool) {
        self.inner.run_cleanup(true, compact)
    }

    /// Creates a topic.
    ///
    /// # Errors
    /// `InvalidTopic` (bad or internal name), `TopicAlreadyExists` (also for a name differing
    /// only in `.` versus `_`), `InvalidPartitions`, `InvalidConfig`, storage errors.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<()> {
        if topic::is_internal(name) {
            return Err(Error::InvalidTopic(format!(
                "topic {name} is an internal topic and is created by the broker"
            )));
        }
        self.inner.create_topic(name, partitions, configs)
    }

    /// Checks what [`create_topic`](Self::create_topic) would check, without creating.
    ///
    /// # Errors
    /// As `create_topic`.
    pub fn validate_new_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<()> {
        topic::validate_name(name)?;
        if topic::is_internal(name) {
            return Err(Error::InvalidTopic(format!("topic {name} is internal")));
        }
        if partitions < 1 {
            return Err(Error::InvalidPartitions(format!(
                "number of partitions must be larger than 0, got {partitions}"
            )));
        }
        data_dir::check_partition_limits(&self.inner.config, self.inner.partition_total(), partitions, partitions)?;
        self.inner.config.topic_defaults.with_overrides(configs)?;
        self.inner.check_collision(name, &self.inner.topics.read())
    }

    /// Deletes a topic and its data.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`, `TopicDeletionDisabled`, `InvalidTopic` for internal topics.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        if !self.inner.config.delete_topic_enable {
            return Err(Error::TopicDeletionDisabled);
        }
        if topic::is_internal(name) {
            return Err(Error::InvalidTopic(format!("internal topic {name} cannot be deleted")));
        }
        self.inner.delete_topic(name)
    }

    /// Names of all topics, internal ones included, sorted.
    pub fn list_topics(&self) -> Vec<String> {
        self.inner.topics.read().keys().cloned().collect()
    }

    /// Describes one topic.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`.
    pub fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let t = self.inner.topic(name)?;
        let overrides = t.overrides.read().clone();
        let config = t.config.read().clone();
        let partitions = t
            .partitions
            .read()
            .iter()
            .map(|p| PartitionInfo {
                partition: p.index,
                leader: self.inner.config.node_id,
                log_start_offset: p.log_start_offset(),
                high_watermark: p.high_watermark(),
                storage_fault: p.storage_fault(),
            })
            .collect();
        Ok(TopicDescription {
            name: t.name.clone(),
            id: t.id,
            internal: t.is_internal(),
            partitions,
            overrides,
            config,
        })
    }

    /// Number of partitions of a topic, creating it with `num.partitions` first when it is
    /// missing and `auto.create.topics.enable` is on (what a Metadata request does).
    ///
    /// # Errors
    /// `UnknownTopicOrPartition` when missing and not auto-created; `InvalidTopic`.
    pub fn partition_count(&self, name: &str, auto_create: bool) -> Result<i32> {
        if let Ok(t) = self.inner.topic(name) {
            return Ok(t.partitions.read().len() as i32);
        }
        if auto_create && self.inner.config.auto_create_topics && !topic::is_internal(name) {
            match self.inner.create_topic(name, self.inner.config.num_partitions, BTreeMap::new()) {
                Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
            return Ok(self.inner.topic(name)?.partitions.read().len() as i32);
        }
        Err(Error::UnknownTopicOrPartition(name.to_owned()))
    }

    /// Raises a topic's partition count (never lowers it).
    ///
    /// # Errors
    /// `InvalidPartitions` if `count` is not larger than the current count.
    pub fn create_partitions(&self, name: &str, count: i32) -> Result<()> {
        self.inner.create_partitions(name, count)
    }

    /// Checks what [`create_partitions`](Self::create_partitions) would check, without creating.
    ///
    /// # Errors
    /// As `create_partitions`, and the partition limits.
    pub fn validate_new_partitions(&self, name: &str, count: i32) -> Result<()> {
        let t = self.inner.topic(name)?;
        self.inner.check_new_partitions(&t, count).map(|_| ())
    }

    /// Sets (`Some`) or removes (`None`) per-topic config overrides; with `replace`, every
    /// override not named is removed too (the legacy AlterConfigs semantics).
    ///
    /// # Errors
    /// `InvalidConfig`; `UnknownTopicOrPartition`.
    pub fn alter_topic_config(
        &self,
        name: &str,
        changes: &BTreeMap<String, Option<String>>,
        replace: bool,
        validate_only: bool,
    ) -> Result<()> {
        self.inner.alter_topic_config(name, changes, replace, validate_only)
    }

    /// Appends the batches of a produce request to one partition.
    ///
    /// # Errors
    /// See [`Partition`]'s checks: corrupt batches, sizes, producer epochs and sequences.
    pub fn produce(&self, topic: &str, partition: i32, batches: &mut [u8]) -> Result<AppendResult> {
        let t = self.inner.topic(topic)?;
        let p = t
            .partition(partition)
            .ok_or_else(|| Error::UnknownTopicOrPartition(format!("{topic}-{partition}")))?;
        if topic::is_internal(topic) {
            return Err(Error::InvalidTopic(format!("clients may not write to {topic}")));
        }
        let now = self.inner.now_ms();
        let res = p.append(batches, now)?;
        self.inner.notify_append(&t);
        Ok(res)
    }

    /// Reads from one partition.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`, `OffsetOutOfRange`, storage errors.
    pub fn fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
        isolation: IsolationLevel,
    ) -> Result<FetchData> {
        self.inner.partition(topic, partition)?.read(offset, max_bytes, isolation)
    }

    /// Wakes when `topic` (any partition of it) is appended to, records or transaction markers,
    /// and not on appends to other topics: [`watch_topics`](Self::watch_topics) of an existing
    /// topic.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`.
    pub fn topic_changes(&self, topic: &str) -> Result<crate::TopicChanges> {
        self.inner.topic(topic)?;
        Ok(self.watch_topics([topic]))
    }

    /// Wakes when one of `topics` is appended to, and only then: what every reader waiting for
    /// data uses (the Fetch long poll, the embedded consumer). Topics are watched by name: one
    /// created later, or deleted and created again, wakes the watch too.
    pub fn watch_topics(&self, topics: impl IntoIterator<Item = impl AsRef<str>>) -> crate::TopicChanges {
        crate::TopicChanges::new(Arc::clone(&self.inner.signals), topics)
    }

    /// Looks up an offset (ListOffsets): `(offset, timestamp)`, timestamp -1 when not known.
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`, storage errors.
    pub fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        spec: OffsetSpec,
        isolation: IsolationLevel,
    ) -> Result<(i64, i64)> {
        let p = self.inner.partition(topic, partition)?;
        Ok(match spec {
            OffsetSpec::Earliest => (p.log_start_offset(), -1),
            OffsetSpec::Latest => match isolation {
                IsolationLevel::ReadUncommitted => (p.high_watermark(), -1),
                IsolationLevel::ReadCommitted => (p.last_stable_offset(), -1),
            },
            OffsetSpec::MaxTimestamp => p.max_timestamp_offset()?.unwrap_or((-1, -1)),
            OffsetSpec::Timestamp(ts) => p.offset_for_timestamp(ts)?.unwrap_or((-1, -1)),
        })
    }

    /// Moves the log start offset of a partition (DeleteRecords); -1 means the high watermark.
    /// Returns the new low watermark.
    ///
    /// # Errors
    /// `OffsetOutOfRange`, `UnknownTopicOrPartition`.
    pub fn delete_records(&self, topic: &str, partition: i32, offset: i64) -> Result<i64> {
        self.inner.partition(topic, partition)?.delete_records(offset)
    }

    /// Producer states of one partition (DescribeProducers).
    ///
    /// # Errors
    /// `UnknownTopicOrPartition`.
    pub fn describe_producers(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<crate::partition::ProducerState>> {
        Ok(self.inner.partition(topic, partition)?.producers())
    }
}

/// Transactions: the requests the wire-protocol server and the embedded producer make of the
/// transaction coordinator (`crate::txn`).
impl Broker {
    /// InitProducerId: a fresh producer id for an idempotent producer, or, for a transactional
    /// id, its producer id with a bumped epoch (aborting its open transaction and fencing any
    /// older instance).
    ///
    /// # Errors
    /// `InvalidTransactionTimeout`; storage errors.
    pub fn init_producer_id(&self, transactional_id: Option<&str>, timeout_ms: i32) -> Result<(i64, i16)> {
        self.inner.txns.init_producer_id(transactional_id, timeout_ms)
    }

    /// AddPartitionsToTxn.
    ///
    /// # Errors
    /// `ProducerFenced`, `InvalidProducerIdMapping`, `UnknownTopicOrPartition`,
    /// `ConcurrentTransactions`.
    pub fn add_partitions_to_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<()> {
        for tp in partitions {
            self.inner.partition(&tp.topic, tp.partition)?;
        }
        self.inner.txns.add_partitions(transactional_id, producer_id, producer_epoch, partitions)
    }

    /// AddOffsetsToTxn: adds the group's `__consumer_offsets` partition to the transaction.
    ///
    /// # Errors
    /// As [`add_partitions_to_txn`](Self::add_partitions_to_txn).
    pub fn add_offsets_to_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<()> {
        let p = self.groups().partition_for(group_id);
        self.inner.internal_partition(OFFSETS_TOPIC, p)?;
        let offsets = [TopicPartition::new(OFFSETS_TOPIC, p)];
        self.inner.txns.add_partitions(transactional_id, producer_id, producer_epoch, &offsets)
    }

    /// EndTxn: commits or aborts the transaction, writing markers to every partition in it.
    ///
    /// # Errors
    /// `ProducerFenced`, `InvalidProducerIdMapping`, `InvalidTxnState`; storage errors.
    pub fn end_txn(&self, transactional_id: &str, producer_id: i64, producer_epoch: i16, commit: bool) -> Result<()> {
        self.inner.txns.end_txn(transactional_id, producer_id, producer_epoch, commit)
    }

    /// The transaction coordinator, for TxnOffsetCommit from the wire-protocol server and the
    /// embedded producer.
    pub(crate) fn txns(&self) -> &TxnCoordinator {
        &self.inner.txns
    }

    /// DescribeTransactions / ListTransactions: the state of every transactional id.
    pub fn transactions(&self) -> Vec<TxnMetadata> {
        self.inner.txns.list()
    }
}

impl BrokerState {
    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownTopicOrPartition(name.to_owned()))
    }

    pub(crate) fn partition(&self, topic: &str, partition: i32) -> Result<Arc<Partition>> {
        self.topic(topic)?
            .partition(partition)
            .ok_or_else(|| Error::UnknownTopicOrPartition(format!("{topic}-{partition}")))
    }

    /// Wakes the readers of `topic` ([`Broker::watch_topics`]).
    pub(crate) fn notify_append(&self, topic: &Topic) {
        topic.changes.notify();
    }

    fn open_topic(&self, meta: &TopicMeta) -> Result<Arc<Topic>> {
        let config = self.config.topic_defaults.with_overrides(&meta.configs)?;
        let partitions = (0..meta.partitions)
            .map(|p| {
                let dir = topic::partition_dir(&self.config.log_dir, &meta.name, p);
                Partition::open(&meta.name, p, dir, config.clone(), Arc::clone(&self.logs)).map(Arc::new)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Topic {
            name: meta.name.clone(),
            id: meta.id,
            overrides: RwLock::new(meta.configs.clone()),
            config: RwLock::new(config),
            partitions: RwLock::new(partitions),
            changes: self.signals.of(&meta.name),
        }))
    }

    fn check_collision(&self, name: &str, topics: &BTreeMap<String, Arc<Topic>>) -> Result<()> {
        if topics.contains_key(name) {
            return Err(Error::TopicAlreadyExists(format!("topic '{name}' already exists")));
        }
        let unified = topic::unify_collision_chars(name);
        if let Some(other) = topics
            .keys()
            .find(|t| topic::unify_collision_chars(t) == unified)
        {
            return Err(Error::kafka(
                crate::ErrorCode::InvalidTopicException,
                format!("topic '{name}' collides with existing topic: {other}"),
            ));
        }
        Ok(())
    }

    /// Partitions of every topic, internal ones included.
    fn partition_total(&self) -> usize {
        self.topics.read().values().map(|t| t.partitions.read().len()).sum()
    }

    /// Creates the logs of new partitions `range` of `name`. All or nothing: on a failure the
    /// directories this call created are removed before the error is returned.
    fn create_partition_logs(&self, name: &str, range: std::ops::Range<i32>, config: &TopicConfig) -> Result<Vec<Arc<Partition>>> {
        let mut made = Vec::with_capacity(range.len());
        for p in range.clone() {
            let dir = topic::partition_dir(&self.config.log_dir, name, p);
            match Partition::open(name, p, dir, config.clone(), Arc::clone(&self.logs)) {
                Ok(part) => made.push(Arc::new(part)),
                Err(e) => {
                    drop(made);
                    tracing::warn!(topic = name, partition = p, error = %e, "creating a partition failed");
                    data_dir::remove_partitions(&self.config.log_dir, name, range.start..p + 1);
                    return Err(e);
                }
            }
        }
        Ok(made)
    }

    fn save_catalog(&self) -> Result<()> {
        let metas: Vec<TopicMeta> = self.topics.read().values().map(|t| t.meta()).collect();
        topic::store_catalog(&self.config.log_dir, &metas)
    }

    pub(crate) fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<()> {
        topic::validate_name(name)?;
        if partitions < 1 {
            return Err(Error::InvalidPartitions(format!(
                "number of partitions must be larger than 0, got {partitions}"
            )));
        }
        let _guard = self.catalog.lock();
        self.check_collision(name, &self.topics.read())?;
        data_dir::check_partition_limits(&self.config, self.partition_total(), partitions, partitions)?;
        if topic::has_collision_chars(name) && name.contains('.') && name.contains('_') {
            tracing::warn!(topic = name, "topic names with a period ('.') or underscore ('_') could collide");
        }
        let meta = TopicMeta {
            name: name.to_owned(),
            id: rand::random(),
            partitions,
            configs,
        };
        let config = self.config.topic_defaults.with_overrides(&meta.configs)?;
        let t = Arc::new(Topic {
            partitions: RwLock::new(self.create_partition_logs(name, 0..partitions, &config)?),
            name: meta.name,
            id: meta.id,
            overrides: RwLock::new(meta.configs),
            config: RwLock::new(config),
            changes: self.signals.of(name),
        });
        self.topics.write().insert(name.to_owned(), t);
        if let Err(e) = self.save_catalog() {
            self.topics.write().remove(name);
            data_dir::remove_partitions(&self.config.log_dir, name, 0..partitions);
            return Err(e);
        }
        tracing::info!(topic = name, partitions, "created topic");
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let _guard = self.catalog.lock();
        let t = self
            .topics
            .write()
            .remove(name)
            .ok_or_else(|| Error::UnknownTopicOrPartition(name.to_owned()))?;
        self.save_catalog()?;
        let parts: Vec<Arc<Partition>> = std::mem::take(&mut *t.partitions.write());
        for p in parts {
            match Arc::try_unwrap(p) {
                Ok(p) => p.delete()?,
                Err(p) => {
                    // A reader still holds it: move the directory aside; it is removed on the
                    // next start.
                    let dir = topic::partition_dir(&self.config.log_dir, name, p.index);
                    let aside = dir.with_extension(format!("{:x}{}", rand::random::<u64>(), data_dir::DELETE_SUFFIX));
                    let _ = std::fs::rename(&dir, &aside);
                }
            }
        }
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    fn create_partitions(&self, name: &str, count: i32) -> Result<()> {
        let _guard = self.catalog.lock();
        let t = self.topic(name)?;
        let current = self.check_new_partitions(&t, count)?;
        let config = t.config.read().clone();
        let added = self.create_partition_logs(name, current..count, &config)?;
        t.partitions.write().extend(added);
        if let Err(e) = self.save_catalog() {
            t.partitions.write().truncate(current as usize);
            data_dir::remove_partitions(&self.config.log_dir, name, current..count);
            return Err(e);
        }
        Ok(())
    }

    /// The current partition count, when raising it to `count` is allowed.
    fn check_new_partitions(&self, t: &Topic, count: i32) -> Result<i32> {
        let current = t.partitions.read().len() as i32;
        if count <= current {
            return Err(Error::InvalidPartitions(format!(
                "topic currently has {current} partitions, which is higher than the requested {count}"
            )));
        }
        data_dir::check_partition_limits(&self.config, self.partition_total(), count, count - current)?;
        Ok(current)
    }

    fn alter_topic_config(
        &self,
        name: &str,
        changes: &BTreeMap<String, Option<String>>,
        replace: bool,
        validate_only: bool,
    ) -> Result<()> {
        let _guard = self.catalog.lock();
        let t = self.topic(name)?;
        let mut overrides = if replace { BTreeMap::new() } else { t.overrides.read().clone() };
        for (k, v) in changes {
            match v {
                Some(v) => overrides.insert(k.clone(), v.clone()),
                None => overrides.remove(k),
            };
        }
        let config = self.config.topic_defaults.with_overrides(&overrides)?;
        if validate_only {
            return Ok(());
        }
        for p in t.partitions.read().iter() {
            p.set_config(config.clone());
        }
        *t.config.write() = config;
        *t.overrides.write() = overrides;
        self.save_catalog()
    }

    /// A partition of an internal topic, creating the topic on first use.
    pub(crate) fn internal_partition(&self, name: &str, partition: i32) -> Result<Arc<Partition>> {
        if let Ok(p) = self.partition(name, partition) {
            return Ok(p);
        }
        let count = if name == OFFSETS_TOPIC {
            self.config.offsets_topic_partitions
        } else {
            self.config.transaction_topic_partitions
        };
        // The coordinators sync their appends themselves, outside their locks (group commit):
        // no fsync inside an append.
        let configs = BTreeMap::from([
            ("cleanup.policy".to_owned(), "compact".to_owned()),
            ("segment.bytes".to_owned(), (100u64 << 20).to_string()),
            ("flush.messages".to_owned(), i64::MAX.to_string()),
            ("flush.ms".to_owned(), i64::MAX.to_string()),
        ]);
        match self.create_topic(name, count, configs) {
            Ok(()) | Err(Error::TopicAlreadyExists(_)) => {}
            Err(e) => return Err(e),
        }
        self.partition(name, partition)
    }

    fn run_cleanup(&self, retention: bool, compact: bool) {
        let now = self.now_ms();
        let topics: Vec<Arc<Topic>> = self.topics.read().values().cloned().collect();
        for t in topics {
            for p in t.partitions.read().iter() {
                if let Err(e) = p.cleanup(now, retention, compact) {
                    tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "log cleanup failed");
                }
            }
        }
    }

    /// Rebuilds committed offsets and groups from `__consumer_offsets`.
    fn replay_offsets(&self) -> Result<()> {
        let Ok(t) = self.topic(OFFSETS_TOPIC) else { return Ok(()) };
        let started = Instant::now();
        for p in t.partitions.read().iter() {
            let index = p.index;
            p.scan(&mut |h: &BatchHeader, bytes: &[u8]| {
                replay_batch(h, bytes, |pid, marker, key, value| match (marker, pid) {
                    (Some(commit), Some((pid, _))) => self.groups.replay_marker(index, pid, commit),
                    (None, Some((pid, epoch))) => self.groups.replay_txn(pid, epoch, key, value),
                    (None, None) => self.groups.replay(key, value),
                    (Some(_), None) => {}
                });
                Ok(())
            })?;
        }
        tracing::debug!(elapsed = ?started.elapsed(), "replayed {OFFSETS_TOPIC}");
        Ok(())
    }
}

/// Decodes one batch of an internal topic and hands each record to `f` as
/// `(transactional producer id, Some(commit) for a marker, key, value)`. Undecodable batches are
/// skipped with a warning.
pub(crate) fn replay_batch(
    h: &BatchHeader,
    bytes: &[u8],
    mut f: impl FnMut(Option<(i64, i16)>, Option<bool>, &[u8], Option<&[u8]>),
) {
    let pid = (h.is_transactional() && h.has_producer_id()).then_some((h.producer_id, h.producer_epoch));
    if h.is_control() {
        match crate::record::control_type(bytes) {
            Ok(kind) => f(pid, Some(kind == crate::record::ControlType::Commit), &[], None),
            Err(e) => tracing::warn!(offset = h.base_offset, error = %e, "skipping bad marker"),
        }
        return;
    }
    match crate::record::decode_batch(bytes) {
        Ok((_, records)) => {
            for r in records {
                if let Some(k) = r.key.as_deref() {
                    f(pid, None, k, r.value.as_deref());
                }
            }
        }
        Err(e) => tracing::warn!(offset = h.base_offset, error = %e, "skipping undecodable batch"),
    }
}
