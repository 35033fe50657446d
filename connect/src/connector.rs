//! The connector API: Kafka's `SourceConnector`/`SourceTask` and `SinkConnector`/`SinkTask` with
//! their lifecycle. A connector is started with its configuration, splits the work into at most
//! `tasks.max` task configurations, and is stopped; each task is started with its configuration,
//! then polled (source) or handed records (sink), committed/flushed, and stopped.
//!
//! Tasks are synchronous, as in Kafka (a task is driven by one worker loop at a time); the worker
//! does the producing, consuming and offset bookkeeping.

use std::collections::BTreeMap;

use brook_common::TopicPartition;
use serde_json::Value as Json;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigDef, ConfigValue};
use crate::data::SchemaAndValue;
use crate::error::Result;

/// The configuration connectors and tasks are started with (defined with [`ConfigDef`]).
pub use crate::config::Config;

/// A record header in Connect's form (Kafka's `org.apache.kafka.connect.header.Header`): a key
/// and a value with its schema. The worker reads a header's bytes as an optional string when
/// they are UTF-8, else as bytes, and writes strings as UTF-8 (docs/connect.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The header's key.
    pub key: String,
    /// The header's value (`Value::Null`: Kafka's null header).
    pub value: SchemaAndValue,
}

/// A record in Connect's form: topic, partition (`None`: the producer's partitioner decides),
/// key and value with their schemas, timestamp, headers.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    /// The topic.
    pub topic: String,
    /// The partition, if fixed.
    pub partition: Option<i32>,
    /// The key and its schema.
    pub key: SchemaAndValue,
    /// The value and its schema.
    pub value: SchemaAndValue,
    /// The timestamp in ms, if any.
    pub timestamp: Option<i64>,
    /// The headers, in order (a key may repeat).
    pub headers: Vec<Header>,
}

impl ConnectRecord {
    /// A record of `topic` with `key` and `value`, no fixed partition, no timestamp, no headers.
    pub fn new(topic: impl Into<String>, key: SchemaAndValue, value: SchemaAndValue) -> ConnectRecord {
        ConnectRecord { topic: topic.into(), partition: None, key, value, timestamp: None, headers: Vec::new() }
    }
}

/// What a source task produces: a record plus where it came from (`source_partition`, e.g.
/// `{"filename": "/data/in.txt"}`) and how far that source has been read (`source_offset`,
/// e.g. `{"position": 1024}`). The worker stores the offset once the record is in Kafka.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The source partition (a JSON object).
    pub source_partition: Json,
    /// The position in it after this record (a JSON object).
    pub source_offset: Json,
    /// The record.
    pub record: ConnectRecord,
}

/// What a sink task receives: a record plus its Kafka offset.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    /// The Kafka offset of the record in `record.topic` / `record.partition`.
    pub kafka_offset: i64,
    /// The record (its partition is always set).
    pub record: ConnectRecord,
}

/// Read access to the offsets the worker stored for this connector (Kafka's
/// `OffsetStorageReader`), given to source tasks when they start.
pub trait OffsetReader {
    /// The last stored offset of `partition`.
    fn offset(&self, partition: &Json) -> Option<Json>;
}

/// Whether a source connector can run exactly-once with a given config (Kafka's
/// `ExactlyOnceSupport`), asked when `exactly.once.support=required` is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    /// Its tasks' records and offsets may be committed together in one transaction.
    Supported,
    /// It cannot (its source cannot be re-read from a stored offset, say).
    Unsupported,
}

/// Whether a source connector's tasks can define their own transaction boundaries (Kafka's
/// `ConnectorTransactionBoundaries`), asked when `transaction.boundary=connector` is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorTransactionBoundaries {
    /// Its tasks answer [`SourceTask::transaction_request`].
    Supported,
    /// They do not (the default).
    Unsupported,
}

/// What a source task asks of the open transaction under `transaction.boundary=connector`
/// (Kafka's `TransactionContext.commitTransaction` / `abortTransaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionAction {
    /// Commit the transaction (records and their offsets become visible together).
    Commit,
    /// Abort it: its records are never seen by `read_committed` consumers and its offsets are
    /// not stored.
    Abort,
}

/// A transaction boundary a source task defines: [`action`](Self::action) after the record at
/// index [`after`](Self::after) of the batch its last `poll` returned (Kafka's
/// `commitTransaction(record)`), or after the whole batch when `None` (`commitTransaction()`).
/// The records after that index start the next transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionRequest {
    /// Commit or abort.
    pub action: TransactionAction,
    /// The index in the last batch, `None` for the whole batch.
    pub after: Option<usize>,
}

/// What every connector does, source or sink (Kafka's abstract `Connector`): it is started
/// with its configuration, splits the work into task configurations, declares and validates
/// its keys, and is stopped. A connector implements this and [`SourceConnector`] or
/// [`SinkConnector`].
pub trait ConnectorBase: Send {
    /// Validates and keeps the configuration.
    ///
    /// # Errors
    /// [`crate::Error::Config`] on a missing or bad key.
    fn start(&mut self, config: &Config) -> Result<()>;
    /// At most `max_tasks` task configurations.
    fn task_configs(&self, max_tasks: usize) -> Vec<Config>;
    /// The connector's own keys (the framework adds `name`, `connector.class`, `tasks.max`,
    /// ...), for `PUT /connector-plugins/{plugin}/config/validate`.
    fn config_def(&self) -> ConfigDef {
        ConfigDef::new()
    }
    /// Checks a config key by key without starting (Kafka's `Connector.validate`). Default:
    /// [`ConfigDef::validate`] of [`config_def`](Self::config_def).
    fn validate(&self, config: &Config) -> Vec<ConfigValue> {
        self.config_def().validate(config)
    }
    /// Stops the connector.
    fn stop(&mut self) {}
    /// The connector's version.
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }
}

/// Kafka's `SourceConnector`: a connector whose tasks are [`SourceTask`]s.
pub trait SourceConnector: ConnectorBase {
    /// A new task of this connector.
    fn task(&self) -> Box<dyn SourceTask>;
    /// Whether it can run exactly-once with `config` (Kafka's
    /// `SourceConnector.exactlyOnceSupport`). `None` (the default, Java's `null`): it does not
    /// say, so `exactly.once.support=required` is refused.
    fn exactly_once_support(&self, config: &Config) -> Option<ExactlyOnceSupport> {
        let _ = config;
        None
    }
    /// Whether its tasks define transaction boundaries with `config` (Kafka's
    /// `SourceConnector.canDefineTransactionBoundaries`). Default: unsupported.
    fn can_define_transaction_boundaries(&self, config: &Config) -> ConnectorTransactionBoundaries {
        let _ = config;
        ConnectorTransactionBoundaries::Unsupported
    }
}

/// Kafka's `SourceTask`.
pub trait SourceTask: Send {
    /// Starts the task; `offsets` has where a previous run stopped.
    ///
    /// # Errors
    /// [`crate::Error::Config`] on a bad configuration.
    fn start(&mut self, config: &Config, offsets: &dyn OffsetReader) -> Result<()>;
    /// The records available now (empty when there are none yet); must not block for long.
    ///
    /// # Errors
    /// I/O errors of the source: the worker stops the task.
    fn poll(&mut self) -> Result<Vec<SourceRecord>>;
    /// Called after the worker stored the offsets of the records polled so far.
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }
    /// Under exactly-once with `transaction.boundary=connector`: asked after each `poll`
    /// whether the batch it returned ends (commits or aborts) the open transaction (Kafka's
    /// `TransactionContext`). Default: `None`, the transaction goes on.
    fn transaction_request(&mut self) -> Option<TransactionRequest> {
        None
    }
    /// Stops the task.
    fn stop(&mut self) {}
}

/// Kafka's `SinkConnector`: a connector whose tasks are [`SinkTask`]s.
pub trait SinkConnector: ConnectorBase {
    /// A new task of this connector.
    fn task(&self) -> Box<dyn SinkTask>;
}

/// Kafka's `SinkTask`.
pub trait SinkTask: Send {
    /// Starts the task.
    ///
    /// # Errors
    /// [`crate::Error::Config`] on a bad configuration.
    fn start(&mut self, config: &Config) -> Result<()>;
    /// Takes records; they need not be durable until [`flush`](Self::flush).
    ///
    /// # Errors
    /// I/O errors of the sink: the worker stops the task.
    fn put(&mut self, records: Vec<SinkRecord>) -> Result<()>;
    /// Makes everything put so far durable; `offsets` are the next offsets the worker is about
    /// to commit to the consumer group (topic-partition -> offset).
    ///
    /// # Errors
    /// I/O errors: the worker does not commit.
    fn flush(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()>;
    /// Stops the task.
    fn stop(&mut self) {}
}

/// `source` or `sink`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    /// A source connector.
    Source,
    /// A sink connector.
    Sink,
    /// A connector whose class is unknown.
    Unknown,
}

impl std::fmt::Display for ConnectorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
            ConnectorType::Unknown => "unknown",
        })
    }
}

/// A connector of either kind.
pub enum Connector {
    /// A source connector.
    Source(Box<dyn SourceConnector>),
    /// A sink connector.
    Sink(Box<dyn SinkConnector>),
}

impl Connector {
    /// Source or sink.
    pub fn kind(&self) -> ConnectorType {
        match self {
            Connector::Source(_) => ConnectorType::Source,
            Connector::Sink(_) => ConnectorType::Sink,
        }
    }

    /// What the connector does whatever its kind.
    fn base(&self) -> &dyn ConnectorBase {
        match self {
            Connector::Source(c) => &**c,
            Connector::Sink(c) => &**c,
        }
    }

    fn base_mut(&mut self) -> &mut dyn ConnectorBase {
        match self {
            Connector::Source(c) => &mut **c,
            Connector::Sink(c) => &mut **c,
        }
    }

    /// The connector's version.
    pub fn version(&self) -> String {
        self.base().version()
    }

    /// The connector's own keys.
    pub fn config_def(&self) -> ConfigDef {
        self.base().config_def()
    }

    /// Checks `config` against the connector's own keys.
    pub fn validate(&self, config: &Config) -> Vec<ConfigValue> {
        self.base().validate(config)
    }

    /// Starts the connector and returns at most `max_tasks` task configs.
    ///
    /// # Errors
    /// The connector's own (a bad config).
    pub fn start(&mut self, config: &Config, max_tasks: usize) -> Result<Vec<Config>> {
        let c = self.base_mut();
        c.start(config)?;
        let mut configs = c.task_configs(max_tasks);
        configs.truncate(max_tasks);
        Ok(configs)
    }

    /// Whether a source connector can run exactly-once with `config`; `None` for a sink or a
    /// source that does not say.
    pub fn exactly_once_support(&self, config: &Config) -> Option<ExactlyOnceSupport> {
        match self {
            Connector::Source(c) => c.exactly_once_support(config),
            Connector::Sink(_) => None,
        }
    }

    /// Whether a source connector's tasks define transaction boundaries with `config`.
    pub fn can_define_transaction_boundaries(&self, config: &Config) -> ConnectorTransactionBoundaries {
        match self {
            Connector::Source(c) => c.can_define_transaction_boundaries(config),
            Connector::Sink(_) => ConnectorTransactionBoundaries::Unsupported,
        }
    }

    /// Stops the connector.
    pub fn stop(&mut self) {
        self.base_mut().stop();
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Connector::Source(_) => "Connector::Source",
            Connector::Sink(_) => "Connector::Sink",
        })
    }
}
