//! Error handling for the converter and transformation stages (Kafka's
//! `RetryWithToleranceOperator`, `LogReporter` and `DeadLetterQueueReporter`), configured per
//! connector:
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `errors.retry.timeout` | 0 | ms to keep retrying a retriable failure; -1: forever |
//! | `errors.retry.delay.max.ms` | 60000 | the longest backoff between retries (300 ms doubled each time) |
//! | `errors.tolerance` | `none` | `none`: the first failure fails the task; `all`: the record is skipped |
//! | `errors.log.enable` | false | log each failure (`Error encountered in task ...`) |
//! | `errors.log.include.messages` | false | with the record (source) or its topic, partition, offset, timestamp (sink) |
//! | `errors.deadletterqueue.topic.name` | "" | sink connectors: the topic the failed record's original bytes go to |
//! | `errors.deadletterqueue.topic.replication.factor` | 3 | of the DLQ topic when the worker creates it |
//! | `errors.deadletterqueue.context.headers.enable` | false | add the `__connect.errors.*` headers |
//!
//! As in Kafka, every failure of a converter or transformation can be tolerated; only
//! [`Error::Retriable`] ones are retried first; a source connector's config has no dead letter
//! queue (its `errors.deadletterqueue.*` keys are ignored).

use std::time::{Duration, Instant};

use brook_broker::client::{ConsumerRecord, ProducerRecord};
use bytes::Bytes;

use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::error::{Error, Result};

/// The prefix of the dead letter queue's context headers.
pub const ERROR_HEADER_PREFIX: &str = "__connect.errors.";

/// The shortest backoff between retries (Kafka's `RETRIES_DELAY_MIN_MS`).
const RETRY_DELAY_MIN: Duration = Duration::from_millis(300);

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// `none`: any failure fails the task.
    None,
    /// `all`: failed records are skipped.
    All,
}

/// Where in the pipeline a failure happened (Kafka's `Stage`), as the `stage` header names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// A transformation.
    Transformation,
}

impl Stage {
    /// Kafka's name (`VALUE_CONVERTER`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
        }
    }
}

/// A connector's `errors.*` keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorsConfig {
    /// `errors.retry.timeout` (`None`: -1, retry forever). Default: 0.
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`. Default: 60000 ms.
    pub retry_delay_max: Duration,
    /// `errors.tolerance`. Default: none.
    pub tolerance: Tolerance,
    /// `errors.log.enable`. Default: false.
    pub log_enable: bool,
    /// `errors.log.include.messages`. Default: false.
    pub log_include_messages: bool,
    /// `errors.deadletterqueue.topic.name` (sink connectors only). Default: none.
    pub dlq_topic: Option<String>,
    /// `errors.deadletterqueue.topic.replication.factor`. Default: 3.
    pub dlq_replication_factor: i16,
    /// `errors.deadletterqueue.context.headers.enable`. Default: false.
    pub dlq_context_headers: bool,
}

impl Default for ErrorsConfig {
    fn default() -> Self {
        ErrorsConfig {
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_secs(60),
            tolerance: Tolerance::None,
            log_enable: false,
            log_include_messages: false,
            dlq_topic: None,
            dlq_replication_factor: 3,
            dlq_context_headers: false,
        }
    }
}

fn boolean(config: &Config, key: &str) -> Result<bool> {
    match config.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(Error::Config(format!("Invalid value {v} for configuration {key}: Expected value to be either true or false"))),
    }
}

fn long(config: &Config, key: &str) -> Result<Option<i64>> {
    config.get(key).map(|v| v.trim().parse::<i64>().map_err(|_| Error::Config(format!("Invalid value {v} for configuration {key}: Not a number of type LONG")))).transpose()
}

impl ErrorsConfig {
    /// Reads the `errors.*` keys of a connector config; `sink` says whether the dead letter
    /// queue keys apply (they are ignored for source connectors, as in Kafka).
    ///
    /// # Errors
    /// [`Error::Config`] with Kafka's message for a bad value, or a dead letter queue topic
    /// that the sink itself consumes.
    pub fn from_config(config: &Config, sink: bool) -> Result<ErrorsConfig> {
        let mut c = ErrorsConfig::default();
        if let Some(ms) = long(config, "errors.retry.timeout")? {
            c.retry_timeout = match ms {
                -1 => None,
                ms if ms >= 0 => Some(Duration::from_millis(ms as u64)),
                _ => return Err(Error::Config(format!("Invalid value {ms} for configuration errors.retry.timeout: Value must be at least -1"))),
            };
        }
        if let Some(ms) = long(config, "errors.retry.delay.max.ms")? {
            let ms = u64::try_from(ms).map_err(|_| Error::Config(format!("Invalid value {ms} for configuration errors.retry.delay.max.ms: Value must be at least 1")))?;
            c.retry_delay_max = Duration::from_millis(ms.max(1));
        }
        c.tolerance = match config.get("errors.tolerance").map(|v| v.trim().to_ascii_lowercase()) {
            None => Tolerance::None,
            Some(v) if v == "none" => Tolerance::None,
            Some(v) if v == "all" => Tolerance::All,
            Some(v) => return Err(Error::Config(format!("Invalid value {v} for configuration errors.tolerance: String must be one of: none, all"))),
        };
        c.log_enable = boolean(config, "errors.log.enable")?;
        c.log_include_messages = boolean(config, "errors.log.include.messages")?;
        if sink {
            c.dlq_topic = config.get("errors.deadletterqueue.topic.name").map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
            if let Some(rf) = long(config, "errors.deadletterqueue.topic.replication.factor")? {
                c.dlq_replication_factor = i16::try_from(rf).map_err(|_| Error::Config(format!("Invalid value {rf} for configuration errors.deadletterqueue.topic.replication.factor")))?;
            }
            c.dlq_context_headers = boolean(config, "errors.deadletterqueue.context.headers.enable")?;
            if let Some((_, message)) = dlq_conflict(config) {
                return Err(Error::Config(message));
            }
        }
        Ok(c)
    }
}

/// A sink's dead letter queue topic among the topics it consumes (Kafka's
/// `SinkConnectorConfig.validate`): the key at fault (`topics` or `topics.regex`) and the
/// message.
pub(crate) fn dlq_conflict(config: &Config) -> Option<(&'static str, String)> {
    let dlq = config.get("errors.deadletterqueue.topic.name").map(|t| t.trim()).filter(|t| !t.is_empty())?;
    let topics = config.get("topics").map(String::as_str).unwrap_or_default();
    if topics.split(',').any(|t| t.trim() == dlq) {
        return Some(("topics", format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics={topics}') consumed by the connector")));
    }
    let regex = config.get("topics.regex").map(|r| r.trim()).filter(|r| !r.is_empty())?;
    regex::Regex::new(&format!("^(?:{regex})$"))
        .is_ok_and(|re| re.is_match(dlq))
        .then(|| ("topics.regex", format!("The DLQ topic '{dlq}' may not be included in the regex matching the topics ('topics.regex={regex}') consumed by the connector")))
}

/// What was being processed when a stage failed: the source record (before transformations)
/// or the record consumed from Kafka.
#[derive(Debug, Clone, Copy)]
pub enum Errant<'a> {
    /// A source task's record.
    Source(&'a ConnectRecord),
    /// A sink task's consumed record.
    Consumed(&'a ConsumerRecord),
}

/// A failed stage: where, which class, what error.
#[derive(Debug)]
pub struct Failure {
    /// The stage.
    pub stage: Stage,
    /// The class that failed (the converter's or transformation's Kafka class name).
    pub class_name: String,
    /// The error.
    pub error: Error,
}

/// The error handler of one task (Kafka's `RetryWithToleranceOperator` with its reporters):
/// runs a stage with retries, counts failures, and logs / builds the dead letter queue record
/// of each.
#[derive(Debug)]
pub struct ErrorHandler {
    config: ErrorsConfig,
    connector: String,
    task: u32,
    total_failures: u64,
}

impl ErrorHandler {
    /// The handler of task `task` of `connector`.
    pub fn new(config: ErrorsConfig, connector: impl Into<String>, task: u32) -> ErrorHandler {
        ErrorHandler { config, connector: connector.into(), task, total_failures: 0 }
    }

    /// The config.
    pub fn config(&self) -> &ErrorsConfig {
        &self.config
    }

    /// How many operations failed so far.
    pub fn total_failures(&self) -> u64 {
        self.total_failures
    }

    /// Runs `op` for `stage` of `class_name`: retried with exponential backoff while it fails
    /// with [`Error::Retriable`] and `errors.retry.timeout` allows; any other failure at once.
    ///
    /// # Errors
    /// The [`Failure`], to be [`report`](Self::report)ed.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future between attempts only stops retrying.
    pub async fn execute<T>(&mut self, stage: Stage, class_name: &str, mut op: impl FnMut() -> Result<T>) -> Result<T, Failure> {
        let start = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match op() {
                Ok(v) => return Ok(v),
                Err(Error::Retriable(m)) if self.config.retry_timeout.is_none_or(|t| start.elapsed() < t) => {
                    let mut delay = RETRY_DELAY_MIN.saturating_mul(1u32 << (attempt - 1).min(16));
                    if delay > self.config.retry_delay_max {
                        delay = self.config.retry_delay_max;
                    }
                    if let Some(t) = self.config.retry_timeout {
                        delay = delay.min(t.saturating_sub(start.elapsed()));
                    }
                    tracing::debug!(connector = %self.connector, task = self.task, stage = stage.name(), attempt, error = %m, "retrying after {delay:?}");
                    tokio::time::sleep(delay).await;
                }
                Err(error) => {
                    self.total_failures += 1;
                    return Err(Failure { stage, class_name: class_name.to_owned(), error });
                }
            }
        }
    }

    /// Reports a failure: logs it (`errors.log.enable`) and, for a consumed record with a dead
    /// letter queue configured, returns the record to produce to it (the original key, value,
    /// headers and timestamp, plus the `__connect.errors.*` headers when enabled). Then, with
    /// `errors.tolerance=none`, the error that fails the task.
    ///
    /// # Errors
    /// [`Error::ToleranceExceeded`] with the failure's error as its source; the dead letter
    /// record is still returned through `dlq` first.
    pub fn report(&self, failure: Failure, errant: Errant<'_>, dlq: &mut Vec<ProducerRecord>) -> Result<()> {
        if self.config.log_enable {
            tracing::error!(error = %failure.error, "{}", self.log_message(&failure, errant));
        }
        if let (Some(topic), Errant::Consumed(original)) = (&self.config.dlq_topic, errant) {
            dlq.push(self.dlq_record(topic, &failure, original));
        }
        match self.config.tolerance {
            Tolerance::All => Ok(()),
            Tolerance::None => Err(Error::ToleranceExceeded(Box::new(failure.error))),
        }
    }

    /// Kafka's `LogReporter` message.
    pub fn log_message(&self, failure: &Failure, errant: Errant<'_>) -> String {
        let mut m = format!(
            "Error encountered in task {}-{} while performing {} operation with class '{}'",
            self.connector,
            self.task,
            failure.stage.name(),
            failure.class_name
        );
        if self.config.log_include_messages {
            match errant {
                Errant::Source(r) => m.push_str(&format!(", with record = {r:?}")),
                Errant::Consumed(r) => m.push_str(&format!(
                    ", msg.topic='{}', msg.partition={}, msg.offset={}, msg.timestamp={}, msg.timestampType=CreateTime",
                    r.topic, r.partition, r.offset, r.timestamp
                )),
            }
        }
        m.push('.');
        m
    }

    fn dlq_record(&self, topic: &str, failure: &Failure, original: &ConsumerRecord) -> ProducerRecord {
        let mut r = ProducerRecord::new(topic, original.key.clone(), original.value.clone());
        r.timestamp = (original.timestamp >= 0).then_some(original.timestamp);
        r.headers = original.headers.clone();
        if self.config.dlq_context_headers {
            let mut add = |name: &str, value: String| {
                let key = format!("{ERROR_HEADER_PREFIX}{name}");
                if r.headers.iter().any(|h| h.key == key) {
                    tracing::error!("Header already contains the '{key}' key.");
                } else {
                    r.headers.push(brook_common::Header { key, value: Some(Bytes::from(value)) });
                }
            };
            add("topic", original.topic.to_string());
            add("partition", original.partition.to_string());
            add("offset", original.offset.to_string());
            add("connector.name", self.connector.clone());
            add("task.id", self.task.to_string());
            add("stage", failure.stage.name().to_owned());
            add("class.name", failure.class_name.clone());
            add("exception.class.name", failure.error.java_class().to_owned());
            add("exception.message", failure.error.to_string());
            add("exception.stacktrace", stacktrace(&failure.error));
        }
        r
    }
}

/// Java's `printStackTrace` shape without frames: `Class: message`, then `Caused by:` lines.
fn stacktrace(e: &Error) -> String {
    let mut text = format!("{}: {e}\n", e.java_class());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!("Caused by: {s}\n"));
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn consumed() -> ConsumerRecord {
        ConsumerRecord {
            topic: "in".into(),
            partition: 2,
            offset: 17,
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"not json")),
            headers: vec![brook_common::Header { key: "trace".into(), value: Some(Bytes::from_static(b"t1")) }],
        }
    }

    #[test]
    fn config_defaults_and_errors() {
        assert_eq!(ErrorsConfig::from_config(&cfg(&[]), true).unwrap(), ErrorsConfig::default());
        let c = ErrorsConfig::from_config(
            &cfg(&[("errors.tolerance", "all"), ("errors.retry.timeout", "-1"), ("errors.deadletterqueue.topic.name", "dlq"), ("topics", "in")]),
            true,
        )
        .unwrap();
        assert_eq!((c.tolerance, c.retry_timeout, c.dlq_topic.as_deref()), (Tolerance::All, None, Some("dlq")));
        let source = ErrorsConfig::from_config(&cfg(&[("errors.deadletterqueue.topic.name", "dlq")]), false).unwrap();
        assert_eq!(source.dlq_topic, None, "source connectors have no dead letter queue");
        assert_eq!(
            ErrorsConfig::from_config(&cfg(&[("errors.tolerance", "some")]), true).unwrap_err().to_string(),
            "Invalid value some for configuration errors.tolerance: String must be one of: none, all"
        );
        assert_eq!(
            ErrorsConfig::from_config(&cfg(&[("errors.deadletterqueue.topic.name", "in"), ("topics", "a,in")]), true).unwrap_err().to_string(),
            "The DLQ topic 'in' may not be included in the list of topics ('topics=a,in') consumed by the connector"
        );
    }

    #[tokio::test]
    async fn tolerance_and_dead_letter_headers() {
        let config = ErrorsConfig::from_config(
            &cfg(&[("errors.tolerance", "all"), ("errors.deadletterqueue.topic.name", "dlq"), ("errors.deadletterqueue.context.headers.enable", "true"), ("errors.log.enable", "true")]),
            true,
        )
        .unwrap();
        let mut h = ErrorHandler::new(config, "sink", 0);
        let ok: Result<i32, Failure> = h.execute(Stage::ValueConverter, "x", || Ok(1)).await;
        assert_eq!(ok.unwrap(), 1);
        let failure = h.execute(Stage::ValueConverter, "org.apache.kafka.connect.json.JsonConverter", || -> Result<()> { Err(Error::Data("bad json".into())) }).await.unwrap_err();
        let original = consumed();
        let mut dlq = Vec::new();
        h.report(failure, Errant::Consumed(&original), &mut dlq).unwrap();
        assert_eq!(h.total_failures(), 1);
        let [r] = dlq.as_slice() else { panic!("one DLQ record, got {dlq:?}") };
        assert_eq!((r.topic.as_str(), r.key.as_deref(), r.value.as_deref(), r.timestamp), ("dlq", Some(&b"k"[..]), Some(&b"not json"[..]), Some(1_700_000_000_000)));
        let headers: Vec<(String, String)> = r.headers.iter().map(|h| (h.key.clone(), String::from_utf8_lossy(h.value.as_deref().unwrap_or_default()).into_owned())).collect();
        let expect = [
            ("trace", "t1"),
            ("__connect.errors.topic", "in"),
            ("__connect.errors.partition", "2"),
            ("__connect.errors.offset", "17"),
            ("__connect.errors.connector.name", "sink"),
            ("__connect.errors.task.id", "0"),
            ("__connect.errors.stage", "VALUE_CONVERTER"),
            ("__connect.errors.class.name", "org.apache.kafka.connect.json.JsonConverter"),
            ("__connect.errors.exception.class.name", "org.apache.kafka.connect.errors.DataException"),
            ("__connect.errors.exception.message", "bad json"),
            ("__connect.errors.exception.stacktrace", "org.apache.kafka.connect.errors.DataException: bad json\n"),
        ];
        assert_eq!(headers, expect.map(|(k, v)| (k.to_owned(), v.to_owned())));
    }

    #[tokio::test]
    async fn tolerance_none_fails_and_retriable_errors_are_retried() {
        let config = ErrorsConfig::from_config(&cfg(&[("errors.retry.timeout", "5000"), ("errors.retry.delay.max.ms", "1")]), true).unwrap();
        let mut h = ErrorHandler::new(config, "sink", 1);
        let mut calls = 0;
        let v = h
            .execute(Stage::Transformation, "t", || {
                calls += 1;
                if calls < 3 { Err(Error::Retriable("registry unreachable".into())) } else { Ok(calls) }
            })
            .await
            .unwrap();
        assert_eq!((v, h.total_failures()), (3, 0));
        let failure = h.execute(Stage::Transformation, "t", || -> Result<()> { Err(Error::Data("boom".into())) }).await.unwrap_err();
        let original = consumed();
        let mut dlq = Vec::new();
        let e = h.report(failure, Errant::Consumed(&original), &mut dlq).unwrap_err();
        assert_eq!(crate::worker::trace(&e), "Tolerance exceeded in error handler\nCaused by: boom");
        assert!(dlq.is_empty(), "no DLQ configured");
        assert_eq!(
            h.log_message(&Failure { stage: Stage::KeyConverter, class_name: "c".into(), error: Error::Data("x".into()) }, Errant::Consumed(&original)),
            "Error encountered in task sink-1 while performing KEY_CONVERTER operation with class 'c'."
        );
    }
}
