//! What a Connect worker runs, whatever its mode: the client seam ([`Clients`]: the embedded
//! broker or a Kafka-protocol cluster at `bootstrap.servers`, through processor-api's
//! [`ClientSupplier`] seam, the same clients the stream runtime uses), the source and sink task
//! loops (`source.rs`, `sink.rs`), each on its own OS thread (connector tasks are synchronous, as
//! in Kafka, and the seam's clients are driven with `block_on`), and reading a topic to its end
//! ([`TopicReader`], Kafka's `KafkaBasedLog` read side) for the distributed worker's
//! config, offset and status topics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use brook_broker::Broker;
use brook_processor_api::runtime::{
    ClientSupplier, ConsumerSettings, Embedded, InternalTopic, ProducerSettings, RestoreConsumer, SharedRuntime,
    StreamsAdmin, StreamsConsumer, StreamsProducer,
};
use brook_processor_api::InputRecord;
use parking_lot::{Condvar, Mutex};

use crate::connector::{Config, Header};
use crate::converter::{converter_by_class, Converter};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};

mod sink;
mod source;

pub(crate) use sink::run_sink;
pub(crate) use source::{run_source, SourceOffsetWriter};

/// How long an idle task waits before polling again. Default: 100 ms.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(100);

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
    /// Clients over the in-process broker.
    ///
    /// # Errors
    /// When the clients' runtime cannot start.
    pub fn embedded(broker: Broker) -> Result<Clients> {
        let runtime = SharedRuntime::with_threads(2, 16)?;
        Ok(Clients { supplier: Arc::new(Embedded::new(broker.clone())), runtime: Some(runtime), bootstrap: "embedded".into(), broker: Some(broker) })
    }

    /// Clients over the Kafka-protocol cluster at `bootstrap_servers` (Apache Kafka, Redpanda,
    /// another `brook server`), through librdkafka; `common` are client properties applied to
    /// every client (`security.protocol`, ...).
    #[cfg(feature = "kafka")]
    pub fn kafka(bootstrap_servers: &str, common: &Config) -> Clients {
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
        let s = ConsumerSettings {
            group_id: None,
            client_id,
            read_committed: false,
            session_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_records: 10_000,
            overrides: BTreeMap::new(),
            runtime: self.runtime.clone(),
        };
        Ok(TopicReader { admin: self.admin()?, restore: self.supplier.restore_consumer(&s)?, positions: BTreeMap::new() })
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
    positions: BTreeMap<(String, i32), i64>,
}

impl TopicReader {
    /// Hands every record of `topic` after the last one read to `apply`, up to the end the
    /// topic has now; returns how many were read.
    pub(crate) fn read_to_end(&mut self, topic: &str, apply: &mut dyn FnMut(&InputRecord)) -> Result<usize> {
        let partitions = self.admin.partition_count(topic)?.ok_or_else(|| Error::Config(format!("topic {topic} does not exist")))?;
        let mut n = 0;
        for p in 0..partitions {
            let tp = (topic.to_owned(), p);
            let end = self.admin.end_offset(&tp, false)?;
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
        self.positions.get(&(topic.to_owned(), 0)).copied().unwrap_or(0)
    }
}

/// The key and value converters of a connector: its own `key.converter` / `value.converter`
/// override the worker's, with their `*.converter.` sub-keys.
pub(crate) fn converters(worker: &Config, connector: &Config) -> Result<Converters> {
    let make = |prefix: &str, is_key: bool| -> Result<Box<dyn Converter>> {
        let source = if connector.contains_key(prefix) { connector } else { worker };
        let class = source.get(prefix).ok_or_else(|| Error::Config(format!("Missing required configuration \"{prefix}\"")))?;
        let mut c = converter_by_class(class)?;
        let sub = format!("{prefix}.");
        let config: Config = source.iter().filter_map(|(k, v)| k.strip_prefix(&sub).map(|k| (k.to_owned(), v.clone()))).collect();
        c.configure(&config, is_key)?;
        Ok(c)
    };
    Ok(Converters { key: make("key.converter", true)?, value: make("value.converter", false)? })
}

/// A connector task's key and value converters.
pub(crate) struct Converters {
    pub(crate) key: Box<dyn Converter>,
    pub(crate) value: Box<dyn Converter>,
}

/// Tells task threads to stop, waking an idle one at once.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopSignal(Arc<(Mutex<bool>, Condvar, AtomicBool)>);

impl StopSignal {
    pub(crate) fn stop(&self) {
        let (m, cv, flag) = &*self.0;
        flag.store(true, Ordering::Release);
        *m.lock() = true;
        cv.notify_all();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.0 .2.load(Ordering::Acquire)
    }

    /// Waits up to `d`; true once stopping.
    pub(crate) fn idle(&self, d: Duration) -> bool {
        let (m, cv, _) = &*self.0;
        let mut stopped = m.lock();
        if !*stopped {
            cv.wait_for(&mut stopped, d);
        }
        *stopped
    }
}

/// What a task thread needs besides its connector task.
pub(crate) struct TaskCtx {
    pub(crate) name: String,
    pub(crate) id: usize,
    pub(crate) clients: Clients,
    pub(crate) conv: Converters,
    pub(crate) flush_every: Duration,
    pub(crate) stop: StopSignal,
}

/// A running task thread.
#[derive(Debug)]
pub(crate) struct TaskThread {
    pub(crate) stop: StopSignal,
    pub(crate) handle: std::thread::JoinHandle<Result<()>>,
}

impl TaskThread {
    /// Runs `f` on a new OS thread named after the task.
    pub(crate) fn spawn(name: &str, id: usize, stop: StopSignal, f: impl FnOnce() -> Result<()> + Send + 'static) -> Result<TaskThread> {
        let handle = std::thread::Builder::new()
            .name(format!("connect-{name}-{id}"))
            .spawn(f)
            .map_err(|e| Error::io(format!("starting the thread of task {name}-{id}"), e))?;
        Ok(TaskThread { stop, handle })
    }

    /// Stops the task and waits for it; its result.
    pub(crate) fn stop_and_join(self) -> Result<()> {
        self.stop.stop();
        self.join()
    }

    /// Waits for the task; its result.
    pub(crate) fn join(self) -> Result<()> {
        self.handle.join().unwrap_or_else(|_| Err(Error::Config("a connector task panicked".into())))
    }
}

/// A Kafka header as Connect's: UTF-8 bytes as an optional string, other bytes as bytes, null as
/// null (the string part of Kafka's `SimpleHeaderConverter`; numbers stay strings).
pub(crate) fn header_from_kafka(h: &brook_common::record::Header) -> Header {
    let value = match &h.value {
        None => SchemaAndValue { schema: None, value: Value::Null },
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::String(s.to_owned()) },
            Err(_) => SchemaAndValue { schema: Some(Schema::of(SchemaType::Bytes).optional()), value: Value::Bytes(b.to_vec()) },
        },
    };
    Header { key: h.key.clone(), value }
}

/// A Connect header as Kafka's: bytes as they are, null as null, anything else its `toString()`.
pub(crate) fn header_to_kafka(h: &Header) -> brook_common::record::Header {
    let value = match &h.value.value {
        Value::Null => None,
        Value::Bytes(b) => Some(bytes::Bytes::from(b.clone())),
        v => Some(bytes::Bytes::from(v.to_string())),
    };
    brook_common::record::Header { key: h.key.clone(), value }
}
