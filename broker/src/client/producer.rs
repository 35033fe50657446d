//! The embedded producer: batching by `linger.ms` / `batch.size`, the Java client's partitioner,
//! compression, idempotence and transactions, writing straight into the in-process broker.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};

use super::consumer::ConsumerGroupMetadata;
use super::partitioner::{partition_for_key, Partitioner};
pub use brook_common::RecordMetadata;

use super::{parse_ms, TopicPartition};
use crate::broker::Broker;
use crate::error::{Error, ErrorCode, Result};
use crate::record::{BatchBuilder, Compression, Header};

/// Producer settings, with the Java client's names and defaults.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `client.id`.
    pub client_id: String,
    /// `linger.ms`: how long a batch waits for more records. Default: 5 ms.
    pub linger: Duration,
    /// `batch.size`: bytes after which a batch is sent at once. Default: 16384.
    pub batch_size: usize,
    /// `compression.type`. Default: none.
    pub compression: Compression,
    /// `enable.idempotence`. Default: true.
    pub enable_idempotence: bool,
    /// `transactional.id`. Default: none.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`. Default: 60 s.
    pub transaction_timeout: Duration,
    /// `acks`: 0, 1 or -1 (`all`). In-process every append is synchronous, so this only
    /// documents intent. Default: all.
    pub acks: i16,
    /// A custom partitioner (`partitioner.class`).
    pub partitioner: Option<Arc<dyn Partitioner>>,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            client_id: "brook-producer".into(),
            linger: Duration::from_millis(5),
            batch_size: 16384,
            compression: Compression::None,
            enable_idempotence: true,
            transactional_id: None,
            transaction_timeout: Duration::from_secs(60),
            acks: -1,
            partitioner: None,
        }
    }
}

impl ProducerConfig {
    /// Applies Java-client property keys.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key or a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self> {
        let bad = || Error::InvalidConfig(format!("invalid value {value:?} for {key}"));
        match key {
            "client.id" => self.client_id = value.into(),
            "linger.ms" => self.linger = parse_ms(key, value)?,
            "batch.size" => self.batch_size = value.parse().map_err(|_| bad())?,
            "compression.type" => self.compression = Compression::parse(value)?,
            "enable.idempotence" => self.enable_idempotence = value.parse().map_err(|_| bad())?,
            "transactional.id" => self.transactional_id = Some(value.into()),
            "transaction.timeout.ms" => self.transaction_timeout = parse_ms(key, value)?,
            "acks" => {
                self.acks = match value {
                    "all" | "-1" => -1,
                    "0" => 0,
                    "1" => 1,
                    _ => return Err(bad()),
                }
            }
            "bootstrap.servers" | "key.serializer" | "value.serializer" => {}
            _ => return Err(Error::InvalidConfig(format!("unknown producer config {key:?}"))),
        }
        Ok(self)
    }
}

/// A record to send.
#[derive(Debug, Clone, Default)]
pub struct ProducerRecord {
    /// Destination topic.
    pub topic: String,
    /// Explicit partition, else the partitioner decides.
    pub partition: Option<i32>,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Timestamp; now when `None`.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Vec<Header>,
}

impl ProducerRecord {
    /// A record with a key and a value.
    pub fn new(topic: impl Into<String>, key: Option<impl Into<Bytes>>, value: Option<impl Into<Bytes>>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            key: key.map(Into::into),
            value: value.map(Into::into),
            ..Default::default()
        }
    }
}

/// A record to queue, borrowed from the caller.
struct Outgoing<'a> {
    topic: &'a str,
    /// The caller's shared name of `topic`, when it has one: compared by pointer first.
    shared_topic: Option<&'a Arc<str>>,
    partition: Option<i32>,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    timestamp: Option<i64>,
    headers: &'a [Header],
}

type SendOutcome = std::result::Result<(i64, i64), (ErrorCode, String)>;

#[derive(Debug, Default)]
struct BatchSlot {
    outcome: Option<SendOutcome>,
    wakers: Vec<Waker>,
}

/// The completion shared by every record of one batch.
#[derive(Debug, Default)]
struct BatchShared(Mutex<BatchSlot>);

impl BatchShared {
    fn complete(&self, outcome: SendOutcome) {
        let wakers = {
            let mut s = self.0.lock();
            s.outcome = Some(outcome);
            std::mem::take(&mut s.wakers)
        };
        for w in wakers {
            w.wake();
        }
    }
}

/// Resolves to the record's [`RecordMetadata`] once its batch is appended.
#[derive(Debug)]
pub struct DeliveryFuture {
    shared: Arc<BatchShared>,
    index: i64,
    topic: Arc<str>,
    partition: i32,
    timestamp: i64,
}

impl DeliveryFuture {
    /// The record's topic.
    pub fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// The record's partition and offset once its batch completed, without polling: `None`
    /// while the batch is queued. What a caller that flushed synchronously uses instead of
    /// awaiting every record.
    pub fn try_offset(&self) -> Option<Result<(i32, i64)>> {
        match &self.shared.0.lock().outcome {
            Some(Ok((base, _))) => Some(Ok((self.partition, base + self.index))),
            Some(Err((code, msg))) => Some(Err(Error::kafka(*code, msg.clone()))),
            None => None,
        }
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.shared.0.lock();
        match &s.outcome {
            Some(Ok((base, append_time))) => Poll::Ready(Ok(RecordMetadata {
                topic: self.topic.to_string(),
                partition: self.partition,
                offset: base + self.index,
                timestamp: if *append_time >= 0 { *append_time } else { self.timestamp },
            })),
            Some(Err((code, msg))) => Poll::Ready(Err(Error::kafka(*code, msg.clone()))),
            None => {
                if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    s.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[derive(Debug)]
struct Pending {
    /// The partition, its topic the producer's one `Arc` per name.
    tp: PartitionKey,
    builder: BatchBuilder,
    shared: Arc<BatchShared>,
    created: Instant,
}

/// A partition as the producer keys it: cloning it allocates nothing, and it hashes and
/// compares by the topic's `Arc`, not its name. That is exact because every key is made from
/// [`State::topics`]' one `Arc` per topic name ([`Shared::topic_meta`]; names are never
/// removed from it).
#[derive(Debug, Clone)]
struct PartitionKey(Arc<str>, i32);

impl PartialEq for PartitionKey {
    fn eq(&self, other: &Self) -> bool {
        self.1 == other.1 && Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for PartitionKey {}

impl std::hash::Hash for PartitionKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(topic_id(&self.0));
        state.write_i32(self.1);
    }
}

/// A topic as the hot path names it: the address of the producer's one `Arc` of its name
/// (unique while the producer lives: [`State::topics`] never drops one).
fn topic_id(topic: &Arc<str>) -> usize {
    Arc::as_ptr(topic).cast::<u8>() as usize
}

/// A partition's open batch: its topic's [`topic_id`] and the partition. Plain integers, so
/// finding the batch of a record clones and drops no `Arc`.
type PendingKey = (usize, i32);

/// The topic of the last record: producers mostly send runs to one topic.
#[derive(Debug)]
struct LastTopic {
    /// The name as the caller last sent it: its `Arc` when it had one (compared by pointer
    /// first), else the producer's.
    name: Arc<str>,
    id: usize,
    partitions: i32,
}

#[derive(Debug, Default)]
struct State {
    producer_id: i64,
    epoch: i16,
    sequences: FxHashMap<PartitionKey, i32>,
    pending: FxHashMap<PendingKey, Pending>,
    sticky: FxHashMap<String, i32>,
    topics: FxHashMap<String, (Arc<str>, i32)>,
    last_topic: Option<LastTopic>,
    in_txn: bool,
    txn_partitions: FxHashSet<PartitionKey>,
    fatal: Option<(ErrorCode, String)>,
    /// What the appended batches came to since the last [`Producer::take_delivery_report`].
    report: Report,
}

/// End offsets per partition (a handful of partitions: a scan) and the first failure of the
/// batches appended since the last [`Producer::take_delivery_report`].
#[derive(Debug, Default)]
struct Report {
    ends: Vec<(Arc<str>, i32, i64)>,
    error: Option<(ErrorCode, String)>,
}

impl Report {
    fn appended(&mut self, tp: &PartitionKey, end: i64) {
        match self.ends.iter_mut().find(|(t, p, _)| *p == tp.1 && (Arc::ptr_eq(t, &tp.0) || *t == tp.0)) {
            Some(e) => e.2 = e.2.max(end),
            None => self.ends.push((tp.0.clone(), tp.1, end)),
        }
    }

    fn failed(&mut self, code: ErrorCode, msg: &str) {
        self.error.get_or_insert_with(|| (code, msg.to_owned()));
    }
}

/// What the records sent since the last report came to: the end offset (exclusive) of each
/// partition written, or the first failure. See [`Producer::take_delivery_report`].
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Topic, partition and the offset after the last record appended to it.
    pub ends: Vec<(Arc<str>, i32, i64)>,
    /// The first failed send or batch append.
    pub error: Option<Error>,
}

#[derive(Debug)]
struct Shared {
    broker: Broker,
    config: ProducerConfig,
    state: Mutex<State>,
}

/// An embedded Kafka producer.
///
/// # Examples
/// ```
/// # #[tokio::main] async fn main() -> brook_broker::Result<()> {
/// use brook_broker::client::{Producer, ProducerConfig, ProducerRecord};
/// # let dir = tempfile::tempdir().unwrap();
/// # let broker = brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path())).await?;
/// broker.create_topic("t", 1, Default::default())?;
/// let producer = Producer::new(broker.clone(), ProducerConfig::default())?;
/// let md = producer.send(ProducerRecord::new("t", Some("k"), Some("v"))).await?;
/// assert_eq!(md.offset, 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Producer {
    shared: Arc<Shared>,
    _linger: Arc<LingerTask>,
}

#[derive(Debug)]
struct LingerTask(tokio::task::JoinHandle<()>);

impl Drop for LingerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Producer {
    /// Creates a producer; an idempotent one gets its producer id now. Must be called inside a
    /// tokio runtime (a background task sends lingering batches).
    ///
    /// # Errors
    /// Errors from `InitProducerId`.
    pub fn new(broker: Broker, config: ProducerConfig) -> Result<Producer> {
        let mut state = State {
            producer_id: -1,
            epoch: -1,
            ..Default::default()
        };
        if config.enable_idempotence && config.transactional_id.is_none() {
            let (pid, epoch) = broker.init_producer_id(None, 0)?;
            state.producer_id = pid;
            state.epoch = epoch;
        }
        let shared = Arc::new(Shared {
            broker,
            config,
            state: Mutex::new(state),
        });
        let weak = Arc::downgrade(&shared);
        let linger = shared.config.linger.max(Duration::from_millis(1));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(linger).await;
                let Some(s) = weak.upgrade() else { return };
                s.flush_expired(linger);
            }
        });
        Ok(Producer {
            shared,
            _linger: Arc::new(LingerTask(task)),
        })
    }

    /// Queues a record; the returned future resolves when its batch is appended.
    pub fn send(&self, record: ProducerRecord) -> DeliveryFuture {
        let r = Outgoing {
            topic: &record.topic,
            shared_topic: None,
            partition: record.partition,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            timestamp: record.timestamp,
            headers: &record.headers,
        };
        self.shared.send(r, true).expect("tracked sends return a future")
    }

    /// [`send`](Self::send) from borrowed parts and without a future per record: the record's
    /// outcome is only folded into the producer's [`DeliveryReport`] (end offsets per
    /// partition, first failure), once per batch. What a caller that already holds encoded
    /// records, flushes synchronously and only needs the end offsets and the first error (the
    /// stream runtime's commit) uses: no `ProducerRecord` to build, no per-record reference
    /// counting, no per-record completion to look at.
    pub fn send_parts_untracked(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: Option<i64>,
        headers: &[Header],
    ) {
        self.shared.send(Outgoing { topic, shared_topic: None, partition, key, value, timestamp, headers }, false);
    }

    /// [`send_parts_untracked`](Self::send_parts_untracked) to a topic named by a shared
    /// `Arc`: a caller that sends runs of records to a topic through one `Arc` of its name (a
    /// stream task's sink) has it compared by pointer, not by name, on each record.
    pub fn send_parts_untracked_to(
        &self,
        topic: &Arc<str>,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: Option<i64>,
        headers: &[Header],
    ) {
        let r = Outgoing { topic, shared_topic: Some(topic), partition, key, value, timestamp, headers };
        self.shared.send(r, false);
    }

    /// Takes the [`DeliveryReport`] of the batches appended since the last call (records sent
    /// with or without a future alike). Batches still queued are not in it: call
    /// [`flush`](Self::flush) first to cover every record sent so far.
    pub fn take_delivery_report(&self) -> DeliveryReport {
        let Report { ends, error } = std::mem::take(&mut self.shared.state.lock().report);
        DeliveryReport { ends, error: error.map(|(code, msg)| Error::kafka(code, msg)) }
    }

    /// Sends every queued batch now.
    pub fn flush(&self) {
        let mut st = self.shared.state.lock();
        let keys: Vec<PendingKey> = st.pending.keys().copied().collect();
        for key in keys {
            self.shared.send_batch(&mut st, key);
        }
    }

    /// InitProducerId for the `transactional.id`: fences older instances and aborts their
    /// open transaction.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] without a transactional id; coordinator errors.
    pub fn init_transactions(&self) -> Result<()> {
        let id = self.transactional_id()?;
        let (pid, epoch) = self
            .shared
            .broker
            .init_producer_id(Some(&id), self.shared.config.transaction_timeout.as_millis() as i32)?;
        let mut st = self.shared.state.lock();
        st.producer_id = pid;
        st.epoch = epoch;
        st.sequences.clear();
        st.fatal = None;
        Ok(())
    }

    fn transactional_id(&self) -> Result<String> {
        self.shared
            .config
            .transactional_id
            .clone()
            .ok_or_else(|| Error::InvalidConfig("transactional.id is not set".into()))
    }

    /// Starts a transaction.
    ///
    /// # Errors
    /// `InvalidTxnState` if one is open or the producer was fenced.
    pub fn begin_transaction(&self) -> Result<()> {
        self.transactional_id()?;
        let mut st = self.shared.state.lock();
        check_fatal(&st)?;
        if st.in_txn || st.producer_id < 0 {
            return Err(Error::kafka(
                ErrorCode::InvalidTxnState,
                "a transaction is already open, or init_transactions was not called",
            ));
        }
        st.in_txn = true;
        st.txn_partitions.clear();
        Ok(())
    }

    /// Adds consumed offsets to the open transaction; they are committed with it. `group` is
    /// the consuming member's [`Consumer::group_metadata`](super::Consumer::group_metadata):
    /// with a generation and member id, the group coordinator fences a member that is no longer
    /// in that generation (TxnOffsetCommit v3+ semantics); [`ConsumerGroupMetadata::new`]
    /// names the group only and is not fenced by it.
    ///
    /// # Errors
    /// Coordinator errors (`ProducerFenced`, ...); `IllegalGeneration`, `UnknownMemberId` or
    /// `FencedInstanceId` when the member was expelled from the group (abort the transaction).
    pub fn send_offsets_to_transaction(
        &self,
        offsets: &BTreeMap<TopicPartition, i64>,
        group: &ConsumerGroupMetadata,
    ) -> Result<()> {
        let group_id = group.group_id.as_str();
        let id = self.transactional_id()?;
        self.flush();
        let (pid, epoch) = {
            let st = self.shared.state.lock();
            check_fatal(&st)?;
            (st.producer_id, st.epoch)
        };
        let b = &self.shared.broker;
        self.fatal_on_fence(b.add_offsets_to_txn(&id, pid, epoch, group_id))?;
        let commits = super::offset_commits(offsets);
        let member = (group.generation_id >= 0 && !group.member_id.is_empty()).then_some(crate::txn::GroupMember {
            generation: group.generation_id,
            member_id: group.member_id.as_str(),
            instance_id: group.group_instance_id.as_deref(),
        });
        let codes = self.fatal_on_fence(b.txns().txn_offset_commit(&id, group_id, pid, epoch, member, &commits))?;
        if let Some(code) = codes.into_iter().find(|c| *c != ErrorCode::None) {
            return Err(Error::kafka(code, "transactional offset commit failed"));
        }
        Ok(())
    }

    /// Sends what is queued and commits the transaction.
    ///
    /// # Errors
    /// A failed send in the transaction (the transaction must then be aborted), or coordinator
    /// errors.
    pub fn commit_transaction(&self) -> Result<()> {
        self.end(true)
    }

    /// Drops what is queued and aborts the transaction.
    ///
    /// # Errors
    /// Coordinator errors.
    pub fn abort_transaction(&self) -> Result<()> {
        self.end(false)
    }

    fn end(&self, commit: bool) -> Result<()> {
        let id = self.transactional_id()?;
        if commit {
            self.flush();
        }
        let (pid, epoch, added) = {
            let mut st = self.shared.state.lock();
            if !commit {
                for (_, p) in st.pending.drain() {
                    p.shared
                        .complete(Err((ErrorCode::InvalidTxnState, "transaction aborted".into())));
                }
            }
            check_fatal(&st)?;
            if !st.in_txn {
                return Err(Error::kafka(ErrorCode::InvalidTxnState, "no open transaction"));
            }
            st.in_txn = false;
            (st.producer_id, st.epoch, !st.txn_partitions.is_empty())
        };
        let res = self.shared.broker.end_txn(&id, pid, epoch, commit);
        match res {
            // Nothing was added: Kafka's client does not even send EndTxn.
            Err(e) if !added && e.code() == ErrorCode::InvalidTxnState => Ok(()),
            other => self.fatal_on_fence(other),
        }
    }

    fn fatal_on_fence<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            if matches!(e.code(), ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch) {
                self.shared.state.lock().fatal = Some((e.code(), e.to_string()));
            }
        }
        r
    }
}

fn check_fatal(st: &State) -> Result<()> {
    match &st.fatal {
        Some((code, msg)) => Err(Error::kafka(*code, format!("producer is fenced: {msg}"))),
        None => Ok(()),
    }
}

impl Shared {
    /// The [`topic_id`] and partition count of `r`'s topic, which the producer learns once.
    fn topic_meta(&self, st: &mut State, r: &Outgoing<'_>) -> Result<(usize, i32)> {
        if let Some(m) = &st.last_topic {
            if r.shared_topic.is_some_and(|t| Arc::ptr_eq(t, &m.name)) || *m.name == *r.topic {
                return Ok((m.id, m.partitions));
            }
        }
        let (arc, n) = match st.topics.get(r.topic) {
            Some(m) => m.clone(),
            None => {
                let n = self.broker.partition_count(r.topic, true)?;
                let m = (r.shared_topic.cloned().unwrap_or_else(|| Arc::<str>::from(r.topic)), n);
                st.topics.insert(r.topic.to_owned(), m.clone());
                m
            }
        };
        let id = topic_id(&arc);
        let name = r.shared_topic.cloned().unwrap_or(arc);
        st.last_topic = Some(LastTopic { name, id, partitions: n });
        Ok((id, n))
    }

    /// The producer's `Arc` of a topic it knows.
    fn known_topic(st: &State, topic: &str) -> Arc<str> {
        match st.topics.get(topic) {
            Some((t, _)) => t.clone(),
            None => Arc::from(topic),
        }
    }

    /// Queues `r`; with `tracked`, returns the future of its delivery (always `Some`),
    /// without, only the producer's report sees its outcome (always `None`).
    fn send(&self, r: Outgoing<'_>, tracked: bool) -> Option<DeliveryFuture> {
        // The embedded producer shares the broker's clock (a manual one in tests).
        let timestamp = r.timestamp.unwrap_or_else(|| self.broker.config().clock.now_ms());
        let mut guard = self.state.lock();
        let st = &mut *guard;
        let failed = |st: &mut State, code: ErrorCode, msg: String, topic: &str| {
            if !tracked {
                st.report.failed(code, &msg);
                return None;
            }
            let shared = Arc::new(BatchShared::default());
            shared.complete(Err((code, msg)));
            Some(DeliveryFuture {
                shared,
                index: 0,
                topic: Arc::from(topic),
                partition: -1,
                timestamp,
            })
        };
        if let Some((code, msg)) = &st.fatal {
            let (code, msg) = (*code, msg.clone());
            return failed(st, code, msg, r.topic);
        }
        if self.config.transactional_id.is_some() && !st.in_txn {
            return failed(st, ErrorCode::InvalidTxnState, "send outside a transaction".into(), r.topic);
        }
        let (topic, count) = match self.topic_meta(st, &r) {
            Ok(m) => m,
            Err(e) => return failed(st, e.code(), e.to_string(), r.topic),
        };
        let partition = match r.partition {
            Some(p) if (0..count).contains(&p) => p,
            Some(p) => {
                let msg = format!("partition {p} of {} does not exist", r.topic);
                return failed(st, ErrorCode::UnknownTopicOrPartition, msg, r.topic);
            }
            None => self.choose_partition(st, &r, count),
        };
        let key = (topic, partition);
        let record_size = r.key.map_or(0, <[u8]>::len) + r.value.map_or(0, <[u8]>::len) + 16;
        let batch_size = self.config.batch_size;
        let pending = match st.pending.get_mut(&key) {
            // The usual case: the partition's batch is open and has room (a record alone in a
            // batch may exceed `batch.size`).
            Some(p) if p.builder.size() + record_size <= batch_size || p.builder.is_empty() => p,
            found => {
                if found.is_some() {
                    // A full batch goes first.
                    self.send_batch(st, key);
                    if r.key.is_none() && r.partition.is_none() {
                        // A full batch ends the sticky partition, as the Java client's
                        // partitioner does.
                        st.sticky.remove(r.topic);
                    }
                }
                let tp = PartitionKey(Self::known_topic(st, r.topic), partition);
                st.pending.entry(key).or_insert_with(|| Pending {
                    tp,
                    // Java's producer also takes a `batch.size` buffer per open batch.
                    builder: BatchBuilder::with_capacity(self.config.compression, batch_size.min(1 << 20)),
                    shared: Arc::new(BatchShared::default()),
                    created: Instant::now(),
                })
            }
        };
        let index = pending.builder.len() as i64;
        pending.builder.push(timestamp, r.key, r.value, r.headers);
        let full = pending.builder.size() >= batch_size || self.config.linger.is_zero();
        let future = tracked.then(|| DeliveryFuture {
            shared: pending.shared.clone(),
            index,
            topic: pending.tp.0.clone(),
            partition,
            timestamp,
        });
        if full {
            self.send_batch(st, key);
        }
        future
    }

    fn choose_partition(&self, st: &mut State, r: &Outgoing<'_>, count: i32) -> i32 {
        if let Some(p) = &self.config.partitioner {
            if let Some(n) = p.partition(r.topic, r.key, r.value, count) {
                return n.rem_euclid(count.max(1));
            }
        }
        match r.key {
            // One partition: no need to hash the key.
            Some(_) if count == 1 => 0,
            Some(k) => partition_for_key(k, count),
            None => {
                let sticky = match st.sticky.get_mut(r.topic) {
                    Some(s) => s,
                    None => st.sticky.entry(r.topic.to_owned()).or_insert_with(|| (rand::random::<u32>() & 0x7fff_ffff) as i32),
                };
                *sticky % count.max(1)
            }
        }
    }

    fn send_batch(&self, st: &mut State, key: PendingKey) {
        let Some(mut p) = st.pending.remove(&key) else { return };
        let tp = &p.tp;
        if st.producer_id >= 0 {
            let seq = *st.sequences.get(tp).unwrap_or(&0);
            p.builder.producer(st.producer_id, st.epoch, seq);
            p.builder.transactional(st.in_txn);
        }
        let outcome = (|| -> Result<(i64, i64)> {
            if st.in_txn && !st.txn_partitions.contains(tp) {
                let id = self.config.transactional_id.clone().unwrap_or_default();
                self.broker.add_partitions_to_txn(
                    &id,
                    st.producer_id,
                    st.epoch,
                    &[TopicPartition::new(&*tp.0, tp.1)],
                )?;
                st.txn_partitions.insert(tp.clone());
            }
            let mut bytes = p.builder.build()?;
            let res = self.broker.produce(&tp.0, tp.1, &mut bytes)?;
            Ok((res.base_offset, res.log_append_time))
        })();
        match outcome {
            Ok(ok) => {
                let n = p.builder.len();
                if st.producer_id >= 0 {
                    let seq = st.sequences.entry(tp.clone()).or_insert(0);
                    *seq = seq.wrapping_add(n as i32) & i32::MAX;
                }
                st.report.appended(tp, ok.0 + n as i64);
                p.shared.complete(Ok(ok));
            }
            Err(e) => {
                if matches!(e.code(), ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch) {
                    st.fatal = Some((e.code(), e.to_string()));
                }
                st.report.failed(e.code(), &e.to_string());
                p.shared.complete(Err((e.code(), e.to_string())));
            }
        }
    }

    fn flush_expired(&self, linger: Duration) {
        let mut st = self.state.lock();
        let due: Vec<PendingKey> = st
            .pending
            .iter()
            .filter(|(_, p)| p.created.elapsed() >= linger)
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            self.send_batch(&mut st, key);
        }
    }
}
