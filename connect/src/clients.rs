//! The worker's client seam: [`Clients`] reach the embedded broker or a Kafka-protocol cluster
//! at `bootstrap.servers` through processor-api's [`ClientSupplier`] seam (the clients the stream
//! runtime uses: `Embedded`, or `Kafka` over librdkafka with feature `kafka`). The seam is
//! synchronous (its clients are driven with `block_on`), so the worker's task loops run on OS
//! threads. `TopicReader` (crate-internal) reads topics to their end (Kafka's `KafkaBasedLog`
//! read side) for the distributed worker's config, offset and status topics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::Broker;
use brook_common::TopicPartition;
use brook_processor_api::runtime::{
    ClientSupplier, ConsumerSettings, Embedded, InternalTopic, ProducerSettings, RestoreConsumer, SharedRuntime,
    StreamsAdmin, StreamsConsumer, StreamsProducer,
};
use brook_processor_api::ConsumerRecord;

use crate::error::{Error, Result};

/// The clients a worker uses: over the embedded broker, or (feature `kafka`) over a cluster.
#[derive(Clone)]
pub struct Clients {
    supplier: Arc<dyn ClientSupplier>,
    /// One runtime for the embedded clients' background work, rather than one per client.
    runtime: Option<SharedRuntime>,
    /// Where the clients connect, for logs and `GET /` (`embedded` for the in-process broker).
    pub(crate) bootstrap: String,
    /// The embedded broker, when there is one.
    broker: Option<Broker>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients").field("bootstrap", &self.bootstrap).finish_non_exhaustive()
    }
}

impl Clients {
    /// Clients over the in-process broker. Their background work (heartbeats, lingering
    /// batches) shares one small runtime (each client gets its own if that cannot start).
    pub fn embedded(broker: Broker) -> Clients {
        let runtime = SharedRuntime::with_threads(2, 16).ok();
        Clients { supplier: Arc::new(Embedded::new(broker.clone())), runtime, bootstrap: "embedded".into(), broker: Some(broker) }
    }

    /// Clients over the Kafka-protocol cluster at `bootstrap_servers` (Apache Kafka, Redpanda,
    /// another `brook server`), through librdkafka; `common` are client properties applied to
    /// every client (`security.protocol`, ...).
    #[cfg(feature = "kafka")]
    pub fn kafka(bootstrap_servers: &str, common: &crate::config::Config) -> Clients {
        let mut k = brook_processor_api::runtime::Kafka::new(bootstrap_servers);
        for (key, v) in common {
            k = k.with(key.clone(), v.clone());
        }
        Clients { supplier: Arc::new(k), runtime: None, bootstrap: bootstrap_servers.to_owned(), broker: None }
    }

    /// The embedded broker, if these clients use one.
    pub fn broker(&self) -> Option<&Broker> {
        self.broker.as_ref()
    }

    pub(crate) fn admin(&self) -> Result<Arc<dyn StreamsAdmin>> {
        Ok(self.supplier.admin()?)
    }

    pub(crate) fn producer(&self, client_id: String) -> Result<Box<dyn StreamsProducer>> {
        let s = ProducerSettings { client_id, transactional_id: None, overrides: BTreeMap::new(), runtime: self.runtime.clone() };
        Ok(self.supplier.producer(&s)?)
    }

    /// A transactional producer (exactly-once source tasks, fencing): `transactional.id` is
    /// `transactional_id`; the caller calls `init_transactions`.
    pub(crate) fn transactional_producer(&self, client_id: String, transactional_id: String) -> Result<Box<dyn StreamsProducer>> {
        let s = ProducerSettings { client_id, transactional_id: Some(transactional_id), overrides: BTreeMap::new(), runtime: self.runtime.clone() };
        Ok(self.supplier.producer(&s)?)
    }

    /// A group consumer (sink tasks: group `connect-<name>`, from the earliest offset without a
    /// committed one, no auto-commit).
    pub(crate) fn consumer(&self, group: String, client_id: String) -> Result<Box<dyn StreamsConsumer>> {
        let s = ConsumerSettings {
            group_id: Some(group),
            client_id,
            read_committed: false,
            session_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_records: 500,
            overrides: BTreeMap::new(),
            runtime: self.runtime.clone(),
        };
        Ok(self.supplier.consumer(&s)?)
    }

    /// A reader of whole topics (no group).
    pub(crate) fn reader(&self, client_id: String) -> Result<TopicReader> {
        self.reader_with(client_id, false)
    }

    /// A reader of whole topics, `read_committed` (to the last stable offset, aborted
    /// transactions skipped) or not.
    pub(crate) fn reader_with(&self, client_id: String, read_committed: bool) -> Result<TopicReader> {
        let s = ConsumerSettings {
            group_id: None,
            client_id,
            read_committed,
            session_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_records: 10_000,
            overrides: BTreeMap::new(),
            runtime: self.runtime.clone(),
        };
        Ok(TopicReader { admin: self.admin()?, restore: self.supplier.restore_consumer(&s)?, positions: BTreeMap::new(), read_committed })
    }

    /// Creates a topic unless it exists (compacted for the distributed worker's topics).
    pub(crate) fn create_topic(&self, name: &str, partitions: i32, configs: BTreeMap<String, String>) -> Result<()> {
        self.admin()?.create_topics(&[InternalTopic { name: name.to_owned(), partitions, configs }])?;
        Ok(())
    }
}

/// Reads topics from where it stopped last time to their current end (Kafka's
/// `KafkaBasedLog.readToEnd`).
pub(crate) struct TopicReader {
    admin: Arc<dyn StreamsAdmin>,
    restore: Box<dyn RestoreConsumer>,
    positions: BTreeMap<TopicPartition, i64>,
    read_committed: bool,
}

impl TopicReader {
    /// Hands every record of `topic` after the last one read to `apply`, up to the end the
    /// topic has now; returns how many were read.
    pub(crate) fn read_to_end(&mut self, topic: &str, apply: &mut dyn FnMut(&ConsumerRecord)) -> Result<usize> {
        let partitions = self.admin.partition_count(topic)?.ok_or_else(|| Error::Config(format!("topic {topic} does not exist")))?;
        let mut n = 0;
        for p in 0..partitions {
            let tp = TopicPartition::new(topic.to_owned(), p);
            let end = self.admin.end_offset(&tp, self.read_committed)?;
            let from = match self.positions.get(&tp) {
                Some(pos) => *pos,
                None => self.admin.start_offset(&tp)?,
            };
            if from >= end {
                continue;
            }
            let reached = self.restore.read(&tp, from, end, &mut |records| {
                n += records.len();
                records.iter().for_each(&mut *apply);
                Ok(())
            })?;
            self.positions.insert(tp, reached);
        }
        Ok(n)
    }

    /// The position reached in partition 0 of `topic` (the config topic has one partition).
    pub(crate) fn position(&self, topic: &str) -> i64 {
        self.positions.get(&TopicPartition::new(topic.to_owned(), 0)).copied().unwrap_or(0)
    }
}

