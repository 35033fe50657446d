//! [`Cluster`] over any Kafka-protocol cluster through librdkafka (feature `kafka`): an
//! `AdminClient` for topics, an idempotent producer for appends (the partition is computed
//! here, murmur2 as Kafka's default partitioner, so both seams place a key alike), a
//! `read_committed` consumer assigned (never subscribed, never committing) for reads, and
//! queries over the stream runtime's `Kafka` client seam: one seam whose clones share an admin
//! client, persistent queries' stream threads on the engine's stream-thread pool (their
//! consumers wake them), as over the embedded broker.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_processor_api::runtime::Kafka;
use brook_processor_api::{KafkaStreams, StreamsConfig, TaskFactory};
use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as RdHeader, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use super::record::{partition_of, OutputRecord};
use super::seam::{streams_err, unknown_topic, Cluster, StreamThreads};
use crate::{Error, Result};

/// How long one call waits for the cluster. Default: 30 s.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A Kafka-protocol cluster reached at `bootstrap.servers`, as a [`Cluster`].
pub struct KafkaCluster {
    bootstrap_servers: String,
    /// librdkafka properties applied to every client (`security.protocol`, ...).
    common: BTreeMap<String, String>,
    admin: AdminClient<DefaultClientContext>,
    producer: FutureProducer,
    /// Metadata and watermarks under `read_committed`.
    meta: BaseConsumer,
    /// Drives the admin and producer futures (their results come from librdkafka's threads);
    /// `None` once dropped.
    rt: Mutex<Option<tokio::runtime::Runtime>>,
    /// The stream runtime's client seam of the queries (clones share its admin client).
    seam: Kafka,
}

impl fmt::Debug for KafkaCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaCluster").field("bootstrap_servers", &self.bootstrap_servers).finish_non_exhaustive()
    }
}

fn kerr(e: KafkaError) -> Error {
    Error::Cluster(e.to_string())
}

impl KafkaCluster {
    /// Clients for the cluster at `bootstrap_servers` (`HOST:PORT[,HOST:PORT...]`), with
    /// librdkafka `properties` applied to every client (and to the queries' clients).
    ///
    /// # Errors
    /// [`Error::Cluster`] for a property librdkafka rejects. The cluster is not contacted yet.
    pub fn new(bootstrap_servers: impl Into<String>, properties: BTreeMap<String, String>) -> Result<Self> {
        let bootstrap_servers = bootstrap_servers.into();
        let base = |extra: &[(&str, &str)]| {
            let mut c = ClientConfig::new();
            c.set("bootstrap.servers", &bootstrap_servers);
            for (k, v) in &properties {
                c.set(k, v);
            }
            for (k, v) in extra {
                c.set(*k, *v);
            }
            c
        };
        let admin = base(&[]).create().map_err(kerr)?;
        let producer = base(&[("enable.idempotence", "true"), ("acks", "all"), ("linger.ms", "0")]).create().map_err(kerr)?;
        let meta = base(&[("group.id", "brook-sql-metadata"), ("enable.auto.commit", "false"), ("isolation.level", "read_committed")])
            .create()
            .map_err(kerr)?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let mut seam = Kafka::new(bootstrap_servers.clone());
        for (k, v) in &properties {
            seam = seam.with(k.clone(), v.clone());
        }
        Ok(KafkaCluster { bootstrap_servers, common: properties, admin, producer, meta, rt: Mutex::new(Some(rt)), seam })
    }

    /// `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// A consumer that reads assigned partitions, committed records only, from the start
    /// offset it is given; it reports partition ends.
    fn reader(&self) -> Result<BaseConsumer> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.common {
            c.set(k, v);
        }
        c.set("group.id", "brook-sql-reader")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", "10");
        c.create().map_err(kerr)
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        let rt = self.rt.lock();
        let rt = rt.as_ref().ok_or_else(|| Error::Cluster("the cluster's clients are closed".into()))?;
        Ok(rt.block_on(f))
    }

    /// `(low, high)` watermarks of one partition (`high` is the last stable offset).
    fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64)> {
        self.meta.fetch_watermarks(topic, partition, TIMEOUT).map_err(kerr)
    }

    /// The committed records of each `(partition, from, end)` of `topic` in `[from, end)`,
    /// in the order of `ranges`, read by one assigned consumer.
    fn read_ranges(&self, topic: &str, ranges: &[(i32, i64, i64)]) -> Result<Vec<Vec<(i64, OutputRecord)>>> {
        let mut out: Vec<Vec<(i64, OutputRecord)>> = vec![Vec::new(); ranges.len()];
        // Index in `ranges` of each partition still to read.
        let mut open: BTreeMap<i32, usize> = ranges.iter().enumerate().filter(|(_, (_, from, end))| from < end).map(|(i, (p, _, _))| (*p, i)).collect();
        if open.is_empty() {
            return Ok(out);
        }
        let consumer = self.reader()?;
        let mut tpl = TopicPartitionList::new();
        for &i in open.values() {
            let (p, from, _) = ranges[i];
            tpl.add_partition_offset(topic, p, Offset::Offset(from)).map_err(kerr)?;
        }
        consumer.assign(&tpl).map_err(kerr)?;
        let deadline = Instant::now() + TIMEOUT;
        while !open.is_empty() {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let Some(&i) = open.get(&m.partition()) else { continue };
                    let end = ranges[i].2;
                    if m.offset() < end {
                        out[i].push((m.offset(), record_of(&m)));
                    }
                    if m.offset() + 1 >= end {
                        open.remove(&m.partition());
                    }
                }
                // The end of the committed records (`end` may sit past transaction markers).
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    open.remove(&p);
                }
                Some(Err(e)) => return Err(kerr(e)),
                None => {}
            }
            if Instant::now() >= deadline {
                return Err(Error::Cluster(format!("reading \"{topic}\": partitions {:?} reached no end within {TIMEOUT:?}", open.keys().collect::<Vec<_>>())));
            }
        }
        Ok(out)
    }
}

impl Drop for KafkaCluster {
    /// Dropping a runtime from an async context panics: shut it down in the background.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.get_mut().take() {
            rt.shutdown_background();
        }
    }
}

impl Cluster for KafkaCluster {
    fn create_topic(&self, topic: &str, partitions: i32, configs: &BTreeMap<String, String>) -> Result<bool> {
        let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(-1));
        for (k, v) in configs {
            new = new.set(k, v);
        }
        let results = self.block_on(self.admin.create_topics([&new], &AdminOptions::new().operation_timeout(Some(TIMEOUT))))?.map_err(kerr)?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(true),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
            Some(Err((name, code))) => Err(Error::Cluster(format!("cannot create topic \"{name}\": {code}"))),
            None => Err(Error::Cluster(format!("cannot create topic \"{topic}\": no answer"))),
        }
    }

    fn partition_count(&self, topic: &str) -> Result<Option<i32>> {
        let md = self.meta.fetch_metadata(Some(topic), TIMEOUT).map_err(kerr)?;
        let Some(t) = md.topics().iter().find(|t| t.name() == topic) else { return Ok(None) };
        match t.error() {
            None if !t.partitions().is_empty() => Ok(Some(t.partitions().len() as i32)),
            _ => Ok(None),
        }
    }

    fn list_topics(&self) -> Result<Vec<String>> {
        let md = self.meta.fetch_metadata(None, TIMEOUT).map_err(kerr)?;
        let mut names: Vec<String> = md.topics().iter().filter(|t| t.error().is_none()).map(|t| t.name().to_owned()).collect();
        names.sort();
        Ok(names)
    }

    fn delete_topic(&self, topic: &str) -> Result<()> {
        let results = self.block_on(self.admin.delete_topics(&[topic], &AdminOptions::new().operation_timeout(Some(TIMEOUT))))?.map_err(kerr)?;
        match results.into_iter().next() {
            Some(Ok(_)) => Ok(()),
            Some(Err((name, code))) => Err(Error::Cluster(format!("cannot delete topic \"{name}\": {code}"))),
            None => Err(Error::Cluster(format!("cannot delete topic \"{topic}\": no answer"))),
        }
    }

    fn append_offsets(&self, topic: &str, records: &[OutputRecord]) -> Result<Vec<i64>> {
        let partitions = self.partition_count(topic)?.ok_or_else(|| unknown_topic(topic))?;
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &r.headers {
                headers = headers.insert(RdHeader { key: k, value: v.as_deref() });
            }
            let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).partition(partition_of(r, partitions)).timestamp(r.timestamp).headers(headers);
            if let Some(k) = r.key.as_deref() {
                rec = rec.key(k);
            }
            if let Some(v) = r.value.as_deref() {
                rec = rec.payload(v);
            }
            let future = loop {
                match self.producer.send_result(rec) {
                    Ok(f) => break f,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        rec = back;
                        self.producer.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => return Err(kerr(e)),
                }
            };
            pending.push(future);
        }
        let mut offsets = Vec::with_capacity(pending.len());
        for f in pending {
            match self.block_on(f)? {
                Ok(Ok(delivery)) => offsets.push(delivery.offset),
                Ok(Err((e, _))) => return Err(kerr(e)),
                Err(_) => return Err(Error::Cluster(format!("appending to \"{topic}\": the producer was closed"))),
            }
        }
        Ok(offsets)
    }

    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>> {
        let partitions = self.partition_count(topic)?.ok_or_else(|| unknown_topic(topic))?;
        (0..partitions).map(|p| Ok(self.watermarks(topic, p)?.1)).collect()
    }

    fn read(&self, topic: &str, partition: i32, from: Option<i64>) -> Result<Vec<(i64, OutputRecord)>> {
        let (low, end) = self.watermarks(topic, partition)?;
        let mut read = self.read_ranges(topic, &[(partition, from.unwrap_or(low).max(low), end)])?;
        Ok(read.pop().unwrap_or_default())
    }

    /// One consumer for every partition, rather than one per partition.
    fn read_all(&self, topic: &str) -> Result<Vec<OutputRecord>> {
        let partitions = self.partition_count(topic)?.ok_or_else(|| unknown_topic(topic))?;
        let ranges = (0..partitions).map(|p| Ok((p, self.watermarks(topic, p)?))).collect::<Result<Vec<_>>>()?;
        let ranges: Vec<(i32, i64, i64)> = ranges.into_iter().map(|(p, (low, high))| (p, low, high)).collect();
        Ok(self.read_ranges(topic, &ranges)?.into_iter().flatten().map(|(_, r)| r).collect())
    }

    /// librdkafka runs its own threads and cannot wake a pooled unit: pooled queries get OS
    /// stream threads here (on the pool's client runtime).
    fn streams(&self, factory: Arc<dyn TaskFactory>, config: StreamsConfig, threads: StreamThreads<'_>) -> Result<KafkaStreams> {
        // Clones of one seam: the queries share its admin client.
        let client = self.seam.clone();
        match threads {
            StreamThreads::Pool(pool) => KafkaStreams::with_pool(factory, config, client, pool.clone()),
            StreamThreads::Own(Some(rt)) => KafkaStreams::with_runtime(factory, config, client, rt.clone()),
            StreamThreads::Own(None) => KafkaStreams::new(factory, config, client),
        }
        .map_err(streams_err)
    }
}

fn record_of<M: Message>(m: &M) -> OutputRecord {
    OutputRecord {
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        timestamp: m.timestamp().to_millis().unwrap_or(-1),
        headers: m.headers().map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec))).collect()).unwrap_or_default(),
    }
}
