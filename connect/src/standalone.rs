//! The standalone worker (Kafka's `connect-standalone.sh`): one process runs the connectors
//! named in `.properties` files against the embedded broker, through the broker's public
//! [`Producer`] and [`Consumer`]. Source offsets go to `offset.storage.file.filename` every
//! `offset.flush.interval.ms` and on stop; sink tasks commit their consumer group
//! `connect-<name>` at the same interval and on stop, after the task flushed.
//!
//! Each task runs as a tokio task; the connector's synchronous calls (file reads and writes)
//! run on it directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::{Consumer, ConsumerConfig, Producer, ProducerConfig, ProducerRecord, TopicPartition};
use brook_broker::Broker;
use brook_common::OffsetReset;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::connector::{Config, ConnectRecord, Connector, Header, SinkRecord, SinkTask, SourceTask};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::converter::{converter_by_class, Converter};
use crate::error::{Error, Result};
use crate::offsets::FileOffsetStore;
use crate::plugins::Plugins;

/// How long an idle task waits before polling again. Default: 100 ms.
const IDLE_POLL: Duration = Duration::from_millis(100);

/// Parses a `.properties` file with the broker's reader (`key=value`, `#` and `!` comments,
/// whitespace around keys and values trimmed); `origin` names the file in errors.
///
/// # Errors
/// [`Error::Config`] naming the file and line.
pub fn parse_properties(origin: &str, text: &str) -> Result<Config> {
    let lines = brook_broker::config::parse_properties(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
    Ok(lines.into_iter().map(|(_, k, v)| (k.to_owned(), v.to_owned())).collect())
}

/// Reads a `.properties` file.
///
/// # Errors
/// I/O errors, and those of [`parse_properties`].
pub fn read_properties(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path.display(), e))?;
    parse_properties(&path.display().to_string(), &text)
}

/// `connect-standalone.properties`: the keys the standalone worker reads.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `bootstrap.servers`, as given (the CLI serves the embedded broker at the first one).
    pub bootstrap_servers: Option<String>,
    /// `offset.storage.file.filename` (required).
    pub offset_file: PathBuf,
    /// `offset.flush.interval.ms`. Default: 60000 ms (Kafka's default).
    pub offset_flush_interval: Duration,
    /// Every key, for the converters' `key.converter.*` / `value.converter.*`.
    pub props: Config,
}

impl WorkerConfig {
    /// Reads the worker keys.
    ///
    /// # Errors
    /// [`Error::Config`] on a missing `offset.storage.file.filename`, `key.converter` or
    /// `value.converter` (required, as in Kafka), or a bad interval.
    pub fn from_props(props: Config) -> Result<WorkerConfig> {
        for k in ["key.converter", "value.converter", "offset.storage.file.filename"] {
            if props.get(k).is_none_or(|v| v.is_empty()) {
                return Err(Error::Config(format!("Missing required configuration \"{k}\" which has no default value.")));
            }
        }
        let offset_flush_interval = match props.get("offset.flush.interval.ms") {
            None => Duration::from_secs(60),
            Some(v) => Duration::from_millis(
                v.parse().map_err(|_| Error::Config(format!("Invalid value {v} for configuration offset.flush.interval.ms: Not a number of type LONG")))?,
            ),
        };
        // Fail now on an unknown converter class rather than when a connector starts.
        converters(&props, &Config::new())?;
        Ok(WorkerConfig {
            bootstrap_servers: props.get("bootstrap.servers").cloned(),
            offset_file: PathBuf::from(&props["offset.storage.file.filename"]),
            offset_flush_interval,
            props,
        })
    }
}

/// The key and value converters of a connector: its own `key.converter` / `value.converter`
/// override the worker's, with their `*.converter.` sub-keys.
fn converters(worker: &Config, connector: &Config) -> Result<(Box<dyn Converter>, Box<dyn Converter>)> {
    let make = |prefix: &str, is_key: bool| -> Result<Box<dyn Converter>> {
        let source = if connector.contains_key(prefix) { connector } else { worker };
        let class = source.get(prefix).ok_or_else(|| Error::Config(format!("Missing required configuration \"{prefix}\"")))?;
        let mut c = converter_by_class(class)?;
        let sub = format!("{prefix}.");
        let config: Config = source.iter().filter_map(|(k, v)| k.strip_prefix(&sub).map(|k| (k.to_owned(), v.clone()))).collect();
        c.configure(&config, is_key)?;
        Ok(c)
    };
    Ok((make("key.converter", true)?, make("value.converter", false)?))
}

/// The standalone worker over an embedded broker.
#[derive(Debug)]
pub struct StandaloneWorker {
    broker: Broker,
    config: WorkerConfig,
    plugins: Plugins,
    offsets: Arc<Mutex<FileOffsetStore>>,
}

impl StandaloneWorker {
    /// A worker over `broker`; loads the offsets file.
    ///
    /// # Errors
    /// An unreadable offsets file.
    pub fn new(broker: Broker, config: WorkerConfig, plugins: Plugins) -> Result<StandaloneWorker> {
        let offsets = FileOffsetStore::open(&config.offset_file)?;
        Ok(StandaloneWorker { broker, config, plugins, offsets: Arc::new(Mutex::new(offsets)) })
    }

    /// Starts every connector (each a `.properties` map with `name`, `connector.class`,
    /// `tasks.max`), runs their tasks until `stop` turns true, then stops them, flushing source
    /// offsets and committing sink offsets. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// A connector that does not start (unknown class, bad config) stops the worker before any
    /// task runs; the first task that failed otherwise.
    pub async fn run(self, connectors: Vec<Config>, stop: watch::Receiver<bool>) -> Result<()> {
        let mut ready = Vec::new();
        let mut started = Vec::new();
        let mut names = std::collections::BTreeSet::new();
        for props in connectors {
            let name = props.get("name").filter(|n| !n.is_empty()).cloned().ok_or_else(|| Error::Config("a connector config has no \"name\"".into()))?;
            if !names.insert(name.clone()) {
                return Err(Error::Config(format!("Connector {name} already exists")));
            }
            let class = props.get("connector.class").ok_or_else(|| Error::Config(format!("connector {name}: Missing required configuration \"connector.class\"")))?;
            let max_tasks: usize = match props.get("tasks.max") {
                None => 1,
                Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| Error::Config(format!("connector {name}: Invalid value {v} for configuration tasks.max")))?,
            };
            let mut connector = self.plugins.connector(class)?;
            let configs = match &mut connector {
                Connector::Source(c) => {
                    c.start(&props)?;
                    c.task_configs(max_tasks)
                }
                Connector::Sink(c) => {
                    c.start(&props)?;
                    c.task_configs(max_tasks)
                }
            };
            for (i, task_config) in configs.into_iter().take(max_tasks).enumerate() {
                let (key_conv, value_conv) = converters(&self.config.props, &props)?;
                let conv = Converters { key: key_conv, value: value_conv };
                let ctx = TaskCtx { name: name.clone(), id: i, broker: self.broker.clone(), conv, flush_every: self.config.offset_flush_interval, stop: stop.clone() };
                match &connector {
                    Connector::Source(c) => {
                        let mut task = c.task();
                        task.start(&task_config, &self.offsets.lock().reader(&name))?;
                        ready.push(Ready::Source(ctx, task));
                    }
                    Connector::Sink(c) => {
                        let topics: Vec<String> = task_config.get("topics").map(|t| t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
                        if topics.is_empty() {
                            return Err(Error::Config(format!("connector {name}: Must configure one of topics or topics.regex")));
                        }
                        let mut task = c.task();
                        task.start(&task_config)?;
                        ready.push(Ready::Sink(ctx, task, topics));
                    }
                }
            }
            tracing::info!(connector = %name, class = %class, "connector started");
            started.push((name, connector));
        }
        // Every connector and task started: only now run them, so a bad connector config
        // leaves nothing running.
        let tasks: Vec<_> = ready
            .into_iter()
            .map(|r| match r {
                Ready::Source(ctx, task) => tokio::spawn(run_source(ctx, task, self.offsets.clone())),
                Ready::Sink(ctx, task, topics) => tokio::spawn(run_sink(ctx, task, topics)),
            })
            .collect();
        let mut first_err = None;
        for t in tasks {
            let r = t.await.unwrap_or_else(|e| Err(Error::Config(format!("a connector task panicked: {e}"))));
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        for (name, c) in &mut started {
            match c {
                Connector::Source(c) => c.stop(),
                Connector::Sink(c) => c.stop(),
            }
            tracing::info!(connector = %name, "connector stopped");
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// A started task, not yet running.
enum Ready {
    Source(TaskCtx, Box<dyn SourceTask>),
    Sink(TaskCtx, Box<dyn SinkTask>, Vec<String>),
}

struct Converters {
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
}

struct TaskCtx {
    name: String,
    id: usize,
    broker: Broker,
    conv: Converters,
    flush_every: Duration,
    stop: watch::Receiver<bool>,
}

impl TaskCtx {
    /// Waits up to `d`; true once the worker is stopping.
    async fn idle(&mut self, d: Duration) -> bool {
        if *self.stop.borrow() {
            return true;
        }
        let _ = tokio::time::timeout(d, self.stop.changed()).await;
        *self.stop.borrow()
    }
}

async fn run_source(mut ctx: TaskCtx, mut task: Box<dyn SourceTask>, offsets: Arc<Mutex<FileOffsetStore>>) -> Result<()> {
    let mut pc = ProducerConfig::default();
    pc.client_id = format!("connector-producer-{}-{}", ctx.name, ctx.id);
    let producer = Producer::new(ctx.broker.clone(), pc)?;
    let mut last_flush = Instant::now();
    let result = async {
        loop {
            let records = task.poll()?;
            if !records.is_empty() {
                let mut pending = Vec::with_capacity(records.len());
                for r in &records {
                    pending.push(producer.send(to_producer_record(&ctx.conv, &r.record)?));
                }
                producer.flush();
                for p in pending {
                    p.await?;
                }
                let mut store = offsets.lock();
                for r in &records {
                    store.set(&ctx.name, &r.source_partition, r.source_offset.clone());
                }
            }
            let stopping = if records.is_empty() { ctx.idle(IDLE_POLL).await } else { *ctx.stop.borrow() };
            if stopping || last_flush.elapsed() >= ctx.flush_every {
                offsets.lock().flush()?;
                task.commit()?;
                last_flush = Instant::now();
            }
            if stopping {
                return Ok(());
            }
        }
    }
    .await;
    task.stop();
    match &result {
        Ok(()) => tracing::info!(connector = %ctx.name, task = ctx.id, "source task stopped"),
        Err(e) => tracing::error!(connector = %ctx.name, task = ctx.id, error = %e, "source task failed"),
    }
    result
}

fn to_producer_record(conv: &Converters, r: &ConnectRecord) -> Result<ProducerRecord> {
    let key = conv.key.from_connect_data(&r.topic, &r.key)?;
    let value = conv.value.from_connect_data(&r.topic, &r.value)?;
    let mut pr = ProducerRecord::new(r.topic.clone(), key, value);
    pr.partition = r.partition;
    pr.timestamp = r.timestamp;
    pr.headers = r.headers.iter().map(header_to_kafka).collect();
    Ok(pr)
}

async fn run_sink(ctx: TaskCtx, mut task: Box<dyn SinkTask>, topics: Vec<String>) -> Result<()> {
    let mut cc = ConsumerConfig::with_group(format!("connect-{}", ctx.name));
    cc.client_id = format!("connector-consumer-{}-{}", ctx.name, ctx.id);
    cc.auto_offset_reset = OffsetReset::Earliest;
    cc.enable_auto_commit = false;
    let mut consumer = Consumer::new(ctx.broker.clone(), cc);
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    // Next offset to commit per partition.
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut committed = next.clone();
    let mut last_flush = Instant::now();
    let result = async {
        consumer.subscribe(&topic_refs, None)?;
        loop {
            let polled = consumer.poll(IDLE_POLL).await?;
            if !polled.is_empty() {
                let mut batch = Vec::with_capacity(polled.len());
                for r in polled {
                    let key = ctx.conv.key.to_connect_data(&r.topic, r.key.as_deref())?;
                    let value = ctx.conv.value.to_connect_data(&r.topic, r.value.as_deref())?;
                    next.insert((r.topic.clone(), r.partition), r.offset + 1);
                    batch.push(SinkRecord {
                        kafka_offset: r.offset,
                        record: ConnectRecord {
                            topic: r.topic,
                            partition: Some(r.partition),
                            key,
                            value,
                            timestamp: Some(r.timestamp),
                            headers: r.headers.iter().map(header_from_kafka).collect(),
                        },
                    });
                }
                task.put(batch)?;
            }
            let stopping = *ctx.stop.borrow();
            if (stopping || last_flush.elapsed() >= ctx.flush_every) && next != committed {
                task.flush(&next)?;
                let offsets: BTreeMap<TopicPartition, i64> =
                    next.iter().map(|((t, p), o)| (TopicPartition { topic: t.clone(), partition: *p }, *o)).collect();
                consumer.commit_offsets(&offsets)?;
                committed = next.clone();
                last_flush = Instant::now();
            }
            if stopping {
                return Ok(());
            }
        }
    }
    .await;
    task.stop();
    consumer.close().await;
    match &result {
        Ok(()) => tracing::info!(connector = %ctx.name, task = ctx.id, "sink task stopped"),
        Err(e) => tracing::error!(connector = %ctx.name, task = ctx.id, error = %e, "sink task failed"),
    }
    result
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
