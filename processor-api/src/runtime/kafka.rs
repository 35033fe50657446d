//! The client seam over any Kafka-protocol cluster (Apache Kafka, Redpanda, `brook server`)
//! through librdkafka: a `BaseConsumer` with a rebalance context, a transactional
//! `BaseProducer`, and an `AdminClient`.
//!
//! Every librdkafka client runs threads of its own (a main thread and one per broker
//! connection), so the seam makes few of them: clones of one [`Kafka`] share one admin client
//! (instances built from clones, such as the SQL engine's queries, do not open three clients
//! each for it), a restore consumer connects on its first read (stateless tasks never do), and
//! a stream thread run by a [`StreamThreadPool`](super::StreamThreadPool) is woken by its
//! consumer's queue turning non-empty (librdkafka's queue event callback) instead of holding an
//! OS thread in `poll`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::ErrorCode;
use bytes::Bytes;
use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as RdHeader, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::client::{
    ClientSupplier, ConsumerSettings, GroupMetadata, InternalTopic, ProducerSettings, RebalanceHandler,
    RestoreConsumer, StreamsAdmin, StreamsConsumer, StreamsProducer, Waker,
};
use self::context::{log_error, SeamContext};
use crate::engine::{Header, ConsumerRecord, OutputRecord, TopicPartition};
use crate::error::{Error, Result};

mod context;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The client seam over a Kafka cluster reached at `bootstrap.servers`.
///
/// Clones share one admin client (made on first use), whatever instances they serve.
#[derive(Clone)]
pub struct Kafka {
    bootstrap_servers: String,
    /// Properties applied to every client (`security.protocol`, ...).
    common: BTreeMap<String, String>,
    /// The admin client of this seam and its clones, once made.
    admin: Arc<Mutex<Option<Arc<dyn StreamsAdmin>>>>,
}

impl fmt::Debug for Kafka {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kafka")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("common", &self.common)
            .finish_non_exhaustive()
    }
}

impl Kafka {
    /// Clients for this cluster.
    pub fn new(bootstrap_servers: impl Into<String>) -> Kafka {
        Kafka { bootstrap_servers: bootstrap_servers.into(), common: BTreeMap::new(), admin: Arc::default() }
    }

    /// Adds a librdkafka property applied to every client. The seam gets an admin client of
    /// its own (not shared with the clones made before).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Kafka {
        self.common.insert(key.into(), value.into());
        self.admin = Arc::default();
        self
    }

    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.common {
            c.set(k, v);
        }
        c
    }

    fn consumer_config(&self, s: &ConsumerSettings) -> ClientConfig {
        let mut c = self.base();
        c.set("client.id", &s.client_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("isolation.level", if s.read_committed { "read_committed" } else { "read_uncommitted" })
            .set("session.timeout.ms", s.session_timeout.as_millis().to_string())
            .set("heartbeat.interval.ms", s.heartbeat_interval.as_millis().to_string())
            .set("partition.assignment.strategy", "range");
        if let Some(g) = &s.group_id {
            c.set("group.id", g);
        }
        for (k, v) in &s.overrides {
            c.set(k, v);
        }
        c
    }
}

/// Maps a librdkafka error onto the broker's error codes (fencing is what the runtime acts on).
fn kerr(e: KafkaError) -> Error {
    let code = match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::ProducerFenced) | Some(RDKafkaErrorCode::Fenced) => ErrorCode::ProducerFenced,
        Some(RDKafkaErrorCode::InvalidProducerEpoch) => ErrorCode::InvalidProducerEpoch,
        Some(RDKafkaErrorCode::InvalidProducerIdMapping) => ErrorCode::InvalidProducerIdMapping,
        Some(RDKafkaErrorCode::RebalanceInProgress) => ErrorCode::RebalanceInProgress,
        Some(RDKafkaErrorCode::IllegalGeneration) => ErrorCode::IllegalGeneration,
        Some(RDKafkaErrorCode::UnknownMemberId) => ErrorCode::UnknownMemberId,
        Some(RDKafkaErrorCode::UnknownTopicOrPartition) | Some(RDKafkaErrorCode::UnknownTopic) => {
            ErrorCode::UnknownTopicOrPartition
        }
        Some(RDKafkaErrorCode::TopicAlreadyExists) => ErrorCode::TopicAlreadyExists,
        Some(RDKafkaErrorCode::InvalidTransactionalState) => ErrorCode::InvalidTxnState,
        _ => ErrorCode::UnknownServerError,
    };
    Error::Broker(brook_broker::Error::kafka(code, e.to_string()))
}

fn tpl_of(offsets: &BTreeMap<TopicPartition, i64>) -> Result<TopicPartitionList> {
    let mut tpl = TopicPartitionList::new();
    for (tp, o) in offsets {
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o)).map_err(kerr)?;
    }
    Ok(tpl)
}

fn tps_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements().iter().map(|e| TopicPartition::new(e.topic(), e.partition())).collect()
}

fn input_of<M: Message>(m: &M, topics: &mut BTreeMap<String, Arc<str>>) -> ConsumerRecord {
    let topic = match topics.get(m.topic()) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(m.topic());
            topics.insert(m.topic().to_owned(), t.clone());
            t
        }
    };
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter().map(|h| Header { key: h.key.to_owned(), value: h.value.map(Bytes::copy_from_slice) }).collect()
        })
        .unwrap_or_default();
    ConsumerRecord {
        topic,
        partition: m.partition(),
        offset: m.offset(),
        timestamp: m.timestamp().to_millis().unwrap_or(-1),
        key: m.key().map(Bytes::copy_from_slice),
        value: m.payload().map(Bytes::copy_from_slice),
        headers,
    }
}

impl Kafka {
    /// A new admin client: an `AdminClient` and two metadata consumers (read uncommitted and
    /// committed end offsets).
    fn new_admin(&self) -> Result<Arc<dyn StreamsAdmin>> {
        let admin: AdminClient<SeamContext> = self.base().create_with_context(SeamContext).map_err(kerr)?;
        let mut meta = self.base();
        meta.set("enable.auto.commit", "false").set("group.id", "brook-streams-metadata");
        let uncommitted: BaseConsumer<SeamContext> =
            meta.clone().set("isolation.level", "read_uncommitted").create_with_context(SeamContext).map_err(kerr)?;
        let committed: BaseConsumer<SeamContext> =
            meta.set("isolation.level", "read_committed").create_with_context(SeamContext).map_err(kerr)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Broker(brook_broker::Error::storage("starting the admin runtime", e)))?;
        Ok(Arc::new(KafkaAdmin { admin, uncommitted, committed, rt: Mutex::new(Some(rt)) }))
    }
}

impl ClientSupplier for Kafka {
    fn admin(&self) -> Result<Arc<dyn StreamsAdmin>> {
        let mut shared = self.admin.lock();
        if let Some(admin) = &*shared {
            return Ok(admin.clone());
        }
        let admin = self.new_admin()?;
        *shared = Some(admin.clone());
        Ok(admin)
    }

    fn consumer(&self, s: &ConsumerSettings) -> Result<Box<dyn StreamsConsumer>> {
        let context = StreamsContext { handler: Mutex::new(None) };
        let consumer: BaseConsumer<StreamsContext> =
            self.consumer_config(s).create_with_context(context).map_err(kerr)?;
        Ok(Box::new(KafkaConsumer {
            consumer,
            max_poll_records: s.max_poll_records.max(1),
            group_id: s.group_id.clone().unwrap_or_default(),
            topics: BTreeMap::new(),
        }))
    }

    fn producer(&self, s: &ProducerSettings) -> Result<Box<dyn StreamsProducer>> {
        let mut c = self.base();
        c.set("client.id", &s.client_id).set("linger.ms", "5").set("enable.idempotence", "true").set("acks", "all");
        if let Some(id) = &s.transactional_id {
            c.set("transactional.id", id);
        }
        for (k, v) in &s.overrides {
            c.set(k, v);
        }
        let producer: BaseProducer<DeliveryContext> =
            c.create_with_context(DeliveryContext { state: Mutex::new(Deliveries::default()) }).map_err(kerr)?;
        Ok(Box::new(KafkaProducer { producer }))
    }

    fn restore_consumer(&self, s: &ConsumerSettings) -> Result<Box<dyn RestoreConsumer>> {
        let mut settings = s.clone();
        settings.group_id = None;
        let mut c = self.consumer_config(&settings);
        // The end of a changelog (its last stable offset under read_committed) shows up as a
        // partition EOF, also when it ends with transaction markers.
        c.set("group.id", format!("{}-restore", s.client_id))
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", "10");
        // Checked now, connected on the first read.
        c.create_native_config().map_err(kerr)?;
        Ok(Box::new(KafkaRestore { config: c, consumer: None, topics: BTreeMap::new() }))
    }
}

struct KafkaAdmin {
    admin: AdminClient<SeamContext>,
    uncommitted: BaseConsumer<SeamContext>,
    committed: BaseConsumer<SeamContext>,
    /// `None` once dropped (see `Drop`).
    rt: Mutex<Option<tokio::runtime::Runtime>>,
}

impl fmt::Debug for KafkaAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaAdmin").finish_non_exhaustive()
    }
}

impl Drop for KafkaAdmin {
    /// The admin can be dropped on an async worker (a supervisor task on a `SharedRuntime`),
    /// where dropping a runtime the usual way panics: shut it down in the background.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.get_mut().take() {
            rt.shutdown_background();
        }
    }
}

impl StreamsAdmin for KafkaAdmin {
    fn partition_count(&self, topic: &str) -> Result<Option<i32>> {
        let md = self.uncommitted.fetch_metadata(Some(topic), TIMEOUT).map_err(kerr)?;
        let Some(t) = md.topics().iter().find(|t| t.name() == topic) else { return Ok(None) };
        match t.error() {
            None if !t.partitions().is_empty() => Ok(Some(t.partitions().len() as i32)),
            _ => Ok(None),
        }
    }

    fn create_topics(&self, topics: &[InternalTopic]) -> Result<()> {
        let configs: Vec<Vec<(String, String)>> =
            topics.iter().map(|t| t.configs.clone().into_iter().collect()).collect();
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .zip(&configs)
            .map(|(t, cfg)| {
                let mut n = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(-1));
                for (k, v) in cfg {
                    n = n.set(k, v);
                }
                n
            })
            .collect();
        let results = self
            .rt
            .lock()
            .as_ref()
            .ok_or_else(|| Error::IllegalState("the admin client is closed".into()))?
            .block_on(self.admin.create_topics(new.iter(), &AdminOptions::new().operation_timeout(Some(TIMEOUT))))
            .map_err(kerr)?;
        for r in results {
            match r {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(Error::Broker(brook_broker::Error::kafka(
                        ErrorCode::UnknownServerError,
                        format!("creating topic {name}: {code}"),
                    )))
                }
            }
        }
        Ok(())
    }

    fn list_topics(&self) -> Result<Vec<String>> {
        let md = self.uncommitted.fetch_metadata(None, TIMEOUT).map_err(kerr)?;
        Ok(md.topics().iter().filter(|t| t.error().is_none()).map(|t| t.name().to_owned()).collect())
    }

    fn end_offset(&self, tp: &TopicPartition, read_committed: bool) -> Result<i64> {
        let c = if read_committed { &self.committed } else { &self.uncommitted };
        Ok(c.fetch_watermarks(&tp.topic, tp.partition, TIMEOUT).map_err(kerr)?.1)
    }

    fn start_offset(&self, tp: &TopicPartition) -> Result<i64> {
        Ok(self.uncommitted.fetch_watermarks(&tp.topic, tp.partition, TIMEOUT).map_err(kerr)?.0)
    }

    fn group_owners(&self, group_id: &str) -> Result<BTreeMap<TopicPartition, String>> {
        let mut owners = BTreeMap::new();
        for (client_id, assignment) in self.describe_members(group_id)? {
            for tp in assignment {
                owners.insert(tp, client_id.clone());
            }
        }
        Ok(owners)
    }

    fn group_members(&self, group_id: &str) -> Result<Vec<String>> {
        Ok(self.describe_members(group_id)?.into_iter().map(|(client_id, _)| client_id).collect())
    }
}

impl KafkaAdmin {
    /// DescribeGroups: each member's `client.id` and assigned partitions (decoded from the
    /// consumer protocol's assignment bytes).
    fn describe_members(&self, group_id: &str) -> Result<Vec<(String, Vec<TopicPartition>)>> {
        let list = self.uncommitted.fetch_group_list(Some(group_id), TIMEOUT).map_err(kerr)?;
        let mut out = Vec::new();
        for g in list.groups().iter().filter(|g| g.name() == group_id) {
            for m in g.members() {
                let tps = match m.assignment().filter(|a| !a.is_empty()) {
                    Some(bytes) => match brook_broker::client::consumer_protocol::Assignment::decode(bytes) {
                        Ok(a) => a.topic_partitions(),
                        Err(e) => {
                            tracing::debug!(member = m.id(), error = %e, "undecodable member assignment");
                            Vec::new()
                        }
                    },
                    None => Vec::new(),
                };
                out.push((m.client_id().to_owned(), tps));
            }
        }
        Ok(out)
    }
}

/// Runs the runtime's rebalance handler from librdkafka's callbacks (inside `poll`).
struct StreamsContext {
    handler: Mutex<Option<Box<dyn RebalanceHandler>>>,
}

impl ClientContext for StreamsContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log_error(&error, reason);
    }
}

impl ConsumerContext for StreamsContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let group = group_metadata(consumer, "");
            let mut commit = |offsets: &BTreeMap<TopicPartition, i64>| -> Result<()> {
                consumer.commit(&tpl_of(offsets)?, CommitMode::Sync).map_err(kerr)
            };
            if let Some(h) = self.handler.lock().as_mut() {
                h.on_revoked(&tps_of(tpl), &group, &mut commit);
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            if let Some(h) = self.handler.lock().as_mut() {
                h.on_assigned(&tps_of(tpl));
            }
        }
    }
}

fn group_metadata<C: ConsumerContext>(consumer: &BaseConsumer<C>, group_id: &str) -> GroupMetadata {
    GroupMetadata {
        group_id: group_id.to_owned(),
        generation: -1,
        member_id: String::new(),
        group_instance_id: None,
        rdkafka: consumer.group_metadata().map(Arc::new),
    }
}

struct KafkaConsumer {
    consumer: BaseConsumer<StreamsContext>,
    max_poll_records: usize,
    group_id: String,
    topics: BTreeMap<String, Arc<str>>,
}

impl fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConsumer").field("group_id", &self.group_id).finish_non_exhaustive()
    }
}

impl StreamsConsumer for KafkaConsumer {
    fn subscribe(&mut self, topics: &[String], handler: Box<dyn RebalanceHandler>) -> Result<()> {
        *self.consumer.context().handler.lock() = Some(handler);
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&names).map_err(kerr)
    }

    fn poll(&mut self, timeout: Duration, out: &mut Vec<ConsumerRecord>) -> Result<()> {
        let mut wait = timeout;
        let limit = out.len() + self.max_poll_records;
        while out.len() < limit {
            match self.consumer.poll(wait) {
                None => break,
                Some(Ok(m)) => out.push(input_of(&m, &mut self.topics)),
                Some(Err(e)) => {
                    // librdkafka reports transient conditions (a broker connection lost, a
                    // topic not yet known) through poll and retries by itself.
                    tracing::warn!(error = %e, "consumer poll error");
                    break;
                }
            }
            wait = Duration::ZERO;
        }
        Ok(())
    }

    fn pause(&mut self, partitions: &[TopicPartition]) {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        if let Err(e) = self.consumer.pause(&tpl) {
            tracing::warn!(error = %e, "pause failed");
        }
    }

    fn resume(&mut self, partitions: &[TopicPartition]) {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        if let Err(e) = self.consumer.resume(&tpl) {
            tracing::warn!(error = %e, "resume failed");
        }
    }

    fn seek(&mut self, tp: &TopicPartition, offset: i64) {
        if let Err(e) = self.consumer.seek(&tp.topic, tp.partition, Offset::Offset(offset), TIMEOUT) {
            tracing::warn!(error = %e, topic = %tp.topic, partition = tp.partition, offset, "seek failed");
        }
    }

    fn committed(&mut self, partitions: &[TopicPartition]) -> Result<BTreeMap<TopicPartition, i64>> {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let got = self.consumer.committed_offsets(tpl, TIMEOUT).map_err(kerr)?;
        Ok(got
            .elements()
            .iter()
            .map(|e| {
                let o = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => -1,
                };
                (TopicPartition::new(e.topic(), e.partition()), o)
            })
            .collect())
    }

    fn commit(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        self.consumer.commit(&tpl_of(offsets)?, CommitMode::Sync).map_err(kerr)
    }

    fn group_metadata(&self) -> GroupMetadata {
        group_metadata(&self.consumer, &self.group_id)
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer.assignment().map(|t| tps_of(&t)).unwrap_or_default()
    }

    fn set_cooperative(&mut self, ready: Waker) -> bool {
        // The consumer queue carries fetched records and (the main queue is forwarded to it)
        // rebalance events; librdkafka calls this from its own thread when the queue turns
        // non-empty, and `ready` only schedules the unit.
        self.consumer.set_nonempty_callback(move || ready());
        true
    }

    fn close(self: Box<Self>) {
        self.consumer.unsubscribe();
        // Serve the revocation callback (and leave the group) before dropping.
        let _ = self.consumer.poll(Duration::from_millis(100));
        *self.consumer.context().handler.lock() = None;
    }
}

#[derive(Default)]
struct Deliveries {
    ends: BTreeMap<TopicPartition, i64>,
    error: Option<KafkaError>,
}

struct DeliveryContext {
    state: Mutex<Deliveries>,
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log_error(&error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let mut st = self.state.lock();
        match result {
            Ok(m) => {
                let e = st.ends.entry(TopicPartition::new(m.topic(), m.partition())).or_insert(0);
                *e = (*e).max(m.offset() + 1);
            }
            Err((e, _)) => {
                if st.error.is_none() {
                    st.error = Some(e.clone());
                }
            }
        }
    }
}

struct KafkaProducer {
    producer: BaseProducer<DeliveryContext>,
}

impl fmt::Debug for KafkaProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaProducer").finish_non_exhaustive()
    }
}

impl StreamsProducer for KafkaProducer {
    fn send(&mut self, r: OutputRecord) -> Result<()> {
        let mut headers = OwnedHeaders::new();
        for h in &r.headers {
            headers = headers.insert(RdHeader { key: &h.key, value: h.value.as_deref() });
        }
        loop {
            let mut rec: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(&r.topic).timestamp(r.timestamp).headers(headers.clone());
            if let Some(p) = r.partition {
                rec = rec.partition(p);
            }
            if let Some(k) = r.key.as_deref() {
                rec = rec.key(k);
            }
            if let Some(v) = r.value.as_deref() {
                rec = rec.payload(v);
            }
            match self.producer.send(rec) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((e, _)) => return Err(kerr(e)),
            }
        }
    }

    fn flush(&mut self) -> Result<BTreeMap<TopicPartition, i64>> {
        self.producer.flush(TIMEOUT).map_err(kerr)?;
        let mut st = self.producer.context().state.lock();
        if let Some(e) = st.error.take() {
            st.ends.clear();
            return Err(kerr(e));
        }
        Ok(std::mem::take(&mut st.ends))
    }

    fn init_transactions(&mut self) -> Result<()> {
        self.producer.init_transactions(TIMEOUT).map_err(kerr)
    }

    fn begin_transaction(&mut self) -> Result<()> {
        self.producer.begin_transaction().map_err(kerr)
    }

    fn send_offsets_to_transaction(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
        group: &GroupMetadata,
    ) -> Result<()> {
        let cgm = group
            .rdkafka
            .as_ref()
            .ok_or_else(|| Error::IllegalState("no consumer group metadata from the Kafka consumer".into()))?;
        self.producer.send_offsets_to_transaction(&tpl_of(offsets)?, cgm, TIMEOUT).map_err(kerr)
    }

    fn commit_transaction(&mut self) -> Result<()> {
        self.producer.commit_transaction(TIMEOUT).map_err(kerr)
    }

    fn abort_transaction(&mut self) -> Result<()> {
        let r = self.producer.abort_transaction(TIMEOUT).map_err(kerr);
        let mut st = self.producer.context().state.lock();
        st.ends.clear();
        st.error = None;
        r
    }
}

/// A restore consumer: its librdkafka client (and threads) is made by the first read, so
/// stream threads whose tasks have no stores to restore never make one.
struct KafkaRestore {
    config: ClientConfig,
    consumer: Option<BaseConsumer<SeamContext>>,
    topics: BTreeMap<String, Arc<str>>,
}

impl fmt::Debug for KafkaRestore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaRestore").finish_non_exhaustive()
    }
}

impl RestoreConsumer for KafkaRestore {
    fn read(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        sink: &mut dyn FnMut(&[ConsumerRecord]) -> Result<()>,
    ) -> Result<i64> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(from)).map_err(kerr)?;
        let consumer = match &mut self.consumer {
            Some(c) => c,
            none => none.insert(self.config.create_with_context(SeamContext).map_err(kerr)?),
        };
        consumer.assign(&tpl).map_err(kerr)?;
        let mut batch = Vec::new();
        let mut pos = from;
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        while pos < to {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    pos = m.offset() + 1;
                    if m.offset() < to {
                        batch.push(input_of(&m, &mut self.topics));
                    }
                    if batch.len() >= 1000 {
                        sink(&batch)?;
                        batch.clear();
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) if p == tp.partition => {
                    if let Ok(positions) = consumer.position() {
                        if let Some(Offset::Offset(o)) = positions.find_partition(&tp.topic, tp.partition).map(|e| e.offset()) {
                            pos = pos.max(o);
                        }
                    }
                    if pos < to {
                        // The end we were given was reached by other means (markers).
                        pos = to;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e)) => return Err(kerr(e)),
                None => {
                    // Trailing transaction markers: the position moves past them.
                    if let Ok(p) = consumer.position() {
                        if let Some(e) = p.find_partition(&tp.topic, tp.partition) {
                            if let Offset::Offset(o) = e.offset() {
                                pos = pos.max(o);
                            }
                        }
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(Error::Timeout(format!("restoring {tp} reached {pos} of {to}")));
                    }
                }
            }
        }
        if !batch.is_empty() {
            sink(&batch)?;
        }
        consumer.unassign().map_err(kerr)?;
        Ok(pos)
    }
}
