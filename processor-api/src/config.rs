//! `StreamsConfig`: Kafka Streams' configuration names and defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// `processing.guarantee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingGuarantee {
    /// Offsets are committed after output and state are flushed; records may be processed
    /// twice after a crash.
    AtLeastOnce,
    /// Output, changelogs and input offsets commit in one transaction per stream thread.
    ExactlyOnceV2,
}

/// What a handler decides for a record that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerResponse {
    /// Log the record and go on.
    Continue,
    /// Stop the thread with the error.
    Fail,
}

/// What happens when a stream thread dies of an uncaught error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UncaughtExceptionResponse {
    /// Start a new thread in its place.
    ReplaceThread,
    /// Shut this client down.
    ShutdownClient,
    /// Shut every instance of the application down.
    ShutdownApplication,
}

/// Kafka Streams configuration. Every field documents its Kafka key and default.
#[derive(Debug, Clone)]
pub struct StreamsConfig {
    /// `application.id`: group id, prefix of internal topics and of the state directory.
    pub application_id: String,
    /// `bootstrap.servers`: used by the Kafka client seam; the embedded seam ignores it.
    pub bootstrap_servers: String,
    /// `num.stream.threads`. Default: 1.
    pub num_stream_threads: usize,
    /// `commit.interval.ms`. Default: 30 s, or 100 ms under exactly-once.
    pub commit_interval: Duration,
    /// `processing.guarantee`. Default: at_least_once.
    pub processing_guarantee: ProcessingGuarantee,
    /// `state.dir`. Default: `$TMPDIR/kafka-streams`.
    pub state_dir: PathBuf,
    /// `statestore.cache.max.bytes`. Default: 10 MiB.
    pub cache_max_bytes: usize,
    /// `max.task.idle.ms`. Default: 0.
    pub max_task_idle: Duration,
    /// `buffered.records.per.partition`. Default: 1000.
    pub buffered_records_per_partition: usize,
    /// `num.standby.replicas`: warm copies of each stateful task kept on other instances.
    /// Default: 0.
    pub num_standby_replicas: usize,
    /// `replication.factor` for internal topics. Default: -1 (broker default).
    pub replication_factor: i16,
    /// `default.deserialization.exception.handler`. Default: fail.
    pub deserialization_exception_handler: HandlerResponse,
    /// `default.production.exception.handler`. Default: fail.
    pub production_exception_handler: HandlerResponse,
    /// `processing.exception.handler`. Default: fail.
    pub processing_exception_handler: HandlerResponse,
    /// The runtime shared with other instances, set by
    /// [`KafkaStreams::with_runtime`](crate::KafkaStreams::with_runtime). Default: none (each
    /// stream thread's clients own their runtimes).
    pub(crate) runtime: Option<crate::runtime::SharedRuntime>,
    /// The uncaught exception handler's response. Default: shut the client down.
    pub uncaught_exception_response: UncaughtExceptionResponse,
    /// `poll.ms`. Default: 100 ms.
    pub poll: Duration,
    /// `session.timeout.ms` of the consumer. Default: 45 s.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` of the consumer. Default: 3 s.
    pub heartbeat_interval: Duration,
    /// `metadata.max.age.ms`: how often the runtime looks for new topics matching a pattern
    /// source (and re-subscribes). Default: 5 min.
    pub metadata_max_age: Duration,
    /// Other `key=value` pairs (client overrides such as `consumer.*`, `producer.*`).
    pub extra: BTreeMap<String, String>,
}

impl StreamsConfig {
    /// A configuration with Kafka's defaults for this application id.
    pub fn new(application_id: impl Into<String>) -> StreamsConfig {
        StreamsConfig {
            application_id: application_id.into(),
            bootstrap_servers: String::new(),
            num_stream_threads: 1,
            commit_interval: Duration::from_secs(30),
            processing_guarantee: ProcessingGuarantee::AtLeastOnce,
            state_dir: std::env::temp_dir().join("kafka-streams"),
            cache_max_bytes: 10 << 20,
            max_task_idle: Duration::ZERO,
            buffered_records_per_partition: 1000,
            num_standby_replicas: 0,
            replication_factor: -1,
            deserialization_exception_handler: HandlerResponse::Fail,
            production_exception_handler: HandlerResponse::Fail,
            processing_exception_handler: HandlerResponse::Fail,
            runtime: None,
            uncaught_exception_response: UncaughtExceptionResponse::ShutdownClient,
            poll: Duration::from_millis(100),
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            metadata_max_age: Duration::from_secs(300),
            extra: BTreeMap::new(),
        }
    }

    /// Whether exactly-once is on.
    pub fn exactly_once(&self) -> bool {
        self.processing_guarantee == ProcessingGuarantee::ExactlyOnceV2
    }

    /// Applies one Kafka Streams key. Setting `processing.guarantee=exactly_once_v2` also
    /// lowers `commit.interval.ms` to 100 unless it was set explicitly, as Kafka does.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad value; unknown keys are kept in `extra`.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self> {
        let bad = || Error::Config(format!("invalid value {value:?} for {key}"));
        let ms = |v: &str| v.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| bad());
        let handler = |v: &str| match v {
            "fail" | "LogAndFailExceptionHandler" | "org.apache.kafka.streams.errors.LogAndFailExceptionHandler" => Ok(HandlerResponse::Fail),
            "continue" | "LogAndContinueExceptionHandler" | "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler" => {
                Ok(HandlerResponse::Continue)
            }
            _ => Err(bad()),
        };
        match key {
            "application.id" => self.application_id = value.into(),
            "bootstrap.servers" => self.bootstrap_servers = value.into(),
            "num.stream.threads" => self.num_stream_threads = value.parse().map_err(|_| bad())?,
            "commit.interval.ms" => {
                self.commit_interval = ms(value)?;
                self.extra.insert("commit.interval.ms".into(), value.into());
            }
            "processing.guarantee" => {
                self.processing_guarantee = match value {
                    "at_least_once" => ProcessingGuarantee::AtLeastOnce,
                    "exactly_once_v2" | "exactly_once_beta" => ProcessingGuarantee::ExactlyOnceV2,
                    _ => return Err(bad()),
                };
                if self.exactly_once() && !self.extra.contains_key("commit.interval.ms") {
                    self.commit_interval = Duration::from_millis(100);
                }
            }
            "state.dir" => self.state_dir = PathBuf::from(value),
            "statestore.cache.max.bytes" | "cache.max.bytes.buffering" => {
                self.cache_max_bytes = value.parse().map_err(|_| bad())?
            }
            "max.task.idle.ms" => self.max_task_idle = ms(value)?,
            "buffered.records.per.partition" => {
                self.buffered_records_per_partition = value.parse().map_err(|_| bad())?
            }
            "num.standby.replicas" => self.num_standby_replicas = value.parse().map_err(|_| bad())?,
            "replication.factor" => self.replication_factor = value.parse().map_err(|_| bad())?,
            "default.deserialization.exception.handler" | "deserialization.exception.handler" => {
                self.deserialization_exception_handler = handler(value)?
            }
            "default.production.exception.handler" | "production.exception.handler" => {
                self.production_exception_handler = handler(value)?
            }
            "processing.exception.handler" => self.processing_exception_handler = handler(value)?,
            "poll.ms" => self.poll = ms(value)?,
            "session.timeout.ms" => self.session_timeout = ms(value)?,
            "heartbeat.interval.ms" => self.heartbeat_interval = ms(value)?,
            "metadata.max.age.ms" => self.metadata_max_age = ms(value)?,
            _ => {
                self.extra.insert(key.into(), value.into());
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_once_lowers_the_commit_interval_unless_set() {
        let mut c = StreamsConfig::new("app");
        c.set("processing.guarantee", "exactly_once_v2").unwrap();
        assert_eq!(c.commit_interval, Duration::from_millis(100));
        let mut c = StreamsConfig::new("app");
        c.set("commit.interval.ms", "50").unwrap();
        c.set("processing.guarantee", "exactly_once_v2").unwrap();
        assert_eq!(c.commit_interval, Duration::from_millis(50));
        assert!(matches!(c.set("processing.guarantee", "maybe"), Err(Error::Config(_))));
    }
}
