//! `StreamsConfig`: Kafka Streams' configuration names and defaults.
//!
//! Every key is declared once, in the `streams_config!` table below: the field, its type, its
//! default, its Kafka name (and aliases) and its documentation. From it come the struct,
//! [`StreamsConfig::new`], [`StreamsConfig::set`], [`StreamsConfig::get`] and
//! [`StreamsConfig::keys`] (the list that docs/streams-runtime.md is checked against).
//!
//! Keys for the clients (`consumer.*`, `producer.*`, `restore.consumer.*`, and the unprefixed
//! `auto.offset.reset` and `group.instance.id` of the main consumer) are kept as client
//! overrides; any other key is [`Error::UnknownConfig`], so a misspelt key is reported rather
//! than silently ignored.

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

/// One configuration key as [`StreamsConfig::keys`] lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigKey {
    /// Kafka's name.
    pub name: &'static str,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// What it sets, with its default.
    pub doc: &'static str,
}

/// Prefixes of keys passed to the stream threads' clients.
const CLIENT_PREFIXES: &[&str] = &["consumer.", "producer.", "restore.consumer."];
/// Unprefixed client keys the runtime reads (for the main consumer).
const CLIENT_KEYS: &[&str] = &["auto.offset.reset", "group.instance.id"];

/// A value type of a configuration key: parsed from and printed as Kafka's text.
trait ConfigValue: Sized {
    fn parse(text: &str) -> Option<Self>;
    fn print(&self) -> String;
}

impl ConfigValue for String {
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn print(&self) -> String {
        self.clone()
    }
}

impl ConfigValue for PathBuf {
    fn parse(text: &str) -> Option<Self> {
        Some(PathBuf::from(text))
    }
    fn print(&self) -> String {
        self.display().to_string()
    }
}

impl ConfigValue for usize {
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
    fn print(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for i16 {
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
    fn print(&self) -> String {
        self.to_string()
    }
}

/// Durations are milliseconds (every duration key ends in `.ms`).
impl ConfigValue for Duration {
    fn parse(text: &str) -> Option<Self> {
        text.trim().parse::<u64>().ok().map(Duration::from_millis)
    }
    fn print(&self) -> String {
        self.as_millis().to_string()
    }
}

impl ConfigValue for ProcessingGuarantee {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "at_least_once" => Some(ProcessingGuarantee::AtLeastOnce),
            "exactly_once_v2" | "exactly_once_beta" => Some(ProcessingGuarantee::ExactlyOnceV2),
            _ => None,
        }
    }
    fn print(&self) -> String {
        match self {
            ProcessingGuarantee::AtLeastOnce => "at_least_once",
            ProcessingGuarantee::ExactlyOnceV2 => "exactly_once_v2",
        }
        .to_owned()
    }
}

impl ConfigValue for HandlerResponse {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "fail" | "LogAndFailExceptionHandler" | "org.apache.kafka.streams.errors.LogAndFailExceptionHandler" => {
                Some(HandlerResponse::Fail)
            }
            "continue" | "LogAndContinueExceptionHandler" | "org.apache.kafka.streams.errors.LogAndContinueExceptionHandler" => {
                Some(HandlerResponse::Continue)
            }
            _ => None,
        }
    }
    fn print(&self) -> String {
        match self {
            HandlerResponse::Fail => "fail",
            HandlerResponse::Continue => "continue",
        }
        .to_owned()
    }
}

/// Declares the string-settable keys of [`StreamsConfig`], once each.
macro_rules! streams_config {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty = $default:expr, $key:literal $(| $alias:literal)*;
    )+) => {
        /// Kafka Streams configuration. Every field documents its Kafka key and default.
        #[derive(Debug, Clone)]
        pub struct StreamsConfig {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
            /// The uncaught exception handler's response. Default: shut the client down.
            pub uncaught_exception_response: UncaughtExceptionResponse,
            /// The runtime shared with other instances, set by
            /// [`KafkaStreams::with_runtime`](crate::KafkaStreams::with_runtime). Default: none
            /// (each stream thread's clients own their runtimes).
            pub(crate) runtime: Option<crate::runtime::SharedRuntime>,
            /// Keys for the clients (see the module docs).
            pub(crate) client_overrides: BTreeMap<String, String>,
            /// Whether `commit.interval.ms` was set (exactly-once then keeps it).
            commit_interval_set: bool,
        }

        impl StreamsConfig {
            /// A configuration with Kafka's defaults for this application id.
            pub fn new(application_id: impl Into<String>) -> StreamsConfig {
                let mut c = StreamsConfig {
                    $( $field: $default, )+
                    uncaught_exception_response: UncaughtExceptionResponse::ShutdownClient,
                    runtime: None,
                    client_overrides: BTreeMap::new(),
                    commit_interval_set: false,
                };
                c.application_id = application_id.into();
                c
            }

            /// Every string-settable key, in declaration order.
            pub fn keys() -> &'static [ConfigKey] {
                &[ $( ConfigKey { name: $key, aliases: &[$($alias),*], doc: concat!($($doc, "\n"),+) }, )+ ]
            }

            /// Parses `value` into the field of a declared key; `None` for another key.
            fn set_declared(&mut self, key: &str, value: &str) -> Option<Result<()>> {
                match key {
                    $( $key $(| $alias)* => Some(match <$ty as ConfigValue>::parse(value) {
                        Some(v) => {
                            self.$field = v;
                            Ok(())
                        }
                        None => Err(Error::InvalidConfig { key: key.to_owned(), value: value.to_owned() }),
                    }), )+
                    _ => None,
                }
            }

            /// The value of a key as Kafka's text: a declared key (or alias), or a client
            /// override; `None` for a client key that is not set or an unknown key.
            pub fn get(&self, key: &str) -> Option<String> {
                match key {
                    $( $key $(| $alias)* => Some(ConfigValue::print(&self.$field)), )+
                    _ => self.client_overrides.get(key).cloned(),
                }
            }
        }
    };
}

streams_config! {
    /// `application.id`: group id, prefix of internal topics and of the state directory.
    application_id: String = String::new(), "application.id";
    /// `bootstrap.servers`: used by the Kafka client seam; the embedded seam ignores it.
    bootstrap_servers: String = String::new(), "bootstrap.servers";
    /// `num.stream.threads`. Default: 1.
    num_stream_threads: usize = 1, "num.stream.threads";
    /// `commit.interval.ms`. Default: 30 s, or 100 ms under exactly-once.
    commit_interval: Duration = Duration::from_secs(30), "commit.interval.ms";
    /// `processing.guarantee`: `at_least_once` or `exactly_once_v2`. Default: at_least_once.
    processing_guarantee: ProcessingGuarantee = ProcessingGuarantee::AtLeastOnce, "processing.guarantee";
    /// `state.dir`. Default: `$TMPDIR/kafka-streams`.
    state_dir: PathBuf = std::env::temp_dir().join("kafka-streams"), "state.dir";
    /// `statestore.cache.max.bytes` (or `cache.max.bytes.buffering`). Default: 10 MiB.
    cache_max_bytes: usize = 10 << 20, "statestore.cache.max.bytes" | "cache.max.bytes.buffering";
    /// `max.task.idle.ms`. Default: 0.
    max_task_idle: Duration = Duration::ZERO, "max.task.idle.ms";
    /// `buffered.records.per.partition`. Default: 1000.
    buffered_records_per_partition: usize = 1000, "buffered.records.per.partition";
    /// `num.standby.replicas`: warm copies of each stateful task kept on other instances.
    /// Default: 0.
    num_standby_replicas: usize = 0, "num.standby.replicas";
    /// `replication.factor` for internal topics. Default: -1 (broker default).
    replication_factor: i16 = -1, "replication.factor";
    /// `default.deserialization.exception.handler`. Default: fail.
    deserialization_exception_handler: HandlerResponse = HandlerResponse::Fail,
        "default.deserialization.exception.handler" | "deserialization.exception.handler";
    /// `default.production.exception.handler`. Default: fail.
    production_exception_handler: HandlerResponse = HandlerResponse::Fail,
        "default.production.exception.handler" | "production.exception.handler";
    /// `processing.exception.handler`. Default: fail.
    processing_exception_handler: HandlerResponse = HandlerResponse::Fail, "processing.exception.handler";
    /// `poll.ms`. Default: 100 ms.
    poll: Duration = Duration::from_millis(100), "poll.ms";
    /// `session.timeout.ms` of the consumer. Default: 45 s.
    session_timeout: Duration = Duration::from_secs(45), "session.timeout.ms";
    /// `heartbeat.interval.ms` of the consumer. Default: 3 s.
    heartbeat_interval: Duration = Duration::from_secs(3), "heartbeat.interval.ms";
    /// `metadata.max.age.ms`: how often the runtime looks for new topics matching a pattern
    /// source (and re-subscribes). Default: 5 min.
    metadata_max_age: Duration = Duration::from_secs(300), "metadata.max.age.ms";
}

impl StreamsConfig {
    /// Whether exactly-once is on.
    pub fn exactly_once(&self) -> bool {
        self.processing_guarantee == ProcessingGuarantee::ExactlyOnceV2
    }

    /// Applies one key: a declared one (see [`StreamsConfig::keys`]) or one for the clients.
    /// Setting `processing.guarantee=exactly_once_v2` also lowers `commit.interval.ms` to 100
    /// unless it was set explicitly, as Kafka does.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a value the key does not take; [`Error::UnknownConfig`]
    /// for a key that is neither declared nor for the clients (nothing is changed).
    ///
    /// # Examples
    /// ```
    /// use brook_processor_api::{Error, StreamsConfig};
    /// let mut c = StreamsConfig::new("app");
    /// c.set("num.stream.threads", "2").unwrap().set("consumer.fetch.min.bytes", "1").unwrap();
    /// assert_eq!(c.num_stream_threads, 2);
    /// assert_eq!(c.get("consumer.fetch.min.bytes").as_deref(), Some("1"));
    /// assert!(matches!(c.set("num.stream.thread", "2"), Err(Error::UnknownConfig(_))));
    /// ```
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self> {
        if let Some(result) = self.set_declared(key, value) {
            result?;
            match key {
                "commit.interval.ms" => self.commit_interval_set = true,
                "processing.guarantee" if self.exactly_once() && !self.commit_interval_set => {
                    self.commit_interval = Duration::from_millis(100);
                }
                _ => {}
            }
        } else if CLIENT_KEYS.contains(&key) || CLIENT_PREFIXES.iter().any(|p| key.starts_with(p)) {
            self.client_overrides.insert(key.to_owned(), value.to_owned());
        } else {
            return Err(Error::UnknownConfig(key.to_owned()));
        }
        Ok(self)
    }

    /// The client overrides under `prefix`, without it (`consumer.` gives the consumer's).
    pub(crate) fn client_overrides_with(&self, prefix: &str) -> BTreeMap<String, String> {
        self.client_overrides.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone()))).collect()
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
        assert!(matches!(
            c.set("processing.guarantee", "maybe"),
            Err(Error::InvalidConfig { key, value }) if key == "processing.guarantee" && value == "maybe"
        ));
        assert!(c.client_overrides.is_empty(), "no key lands in the client overrides as a flag");
    }

    #[test]
    fn every_declared_key_reads_back_what_was_set() {
        let values = [
            ("application.id", "app2"),
            ("bootstrap.servers", "h:9092"),
            ("num.stream.threads", "3"),
            ("commit.interval.ms", "250"),
            ("processing.guarantee", "exactly_once_v2"),
            ("state.dir", "/tmp/s"),
            ("statestore.cache.max.bytes", "0"),
            ("max.task.idle.ms", "7"),
            ("buffered.records.per.partition", "5"),
            ("num.standby.replicas", "1"),
            ("replication.factor", "3"),
            ("default.deserialization.exception.handler", "continue"),
            ("default.production.exception.handler", "continue"),
            ("processing.exception.handler", "continue"),
            ("poll.ms", "10"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "200"),
            ("metadata.max.age.ms", "1000"),
        ];
        let names: Vec<&str> = StreamsConfig::keys().iter().map(|k| k.name).collect();
        assert_eq!(names, values.map(|(k, _)| k), "one test value per declared key");
        let mut c = StreamsConfig::new("app");
        for (k, v) in values {
            c.set(k, v).unwrap();
            assert_eq!(c.get(k).as_deref(), Some(v), "{k}");
        }
        assert_eq!(c.num_stream_threads, 3);
        assert_eq!(c.commit_interval, Duration::from_millis(250));
        assert_eq!(c.production_exception_handler, HandlerResponse::Continue);
        // Aliases set the same field.
        c.set("cache.max.bytes.buffering", "42").unwrap();
        assert_eq!(c.cache_max_bytes, 42);
        c.set("deserialization.exception.handler", "LogAndFailExceptionHandler").unwrap();
        assert_eq!(c.get("default.deserialization.exception.handler").as_deref(), Some("fail"));
    }

    #[test]
    fn client_keys_are_kept_and_unknown_keys_reported() {
        let mut c = StreamsConfig::new("app");
        c.set("auto.offset.reset", "earliest").unwrap();
        c.set("producer.linger.ms", "5").unwrap();
        c.set("restore.consumer.fetch.max.bytes", "1024").unwrap();
        assert_eq!(c.client_overrides_with("producer."), BTreeMap::from([("linger.ms".to_owned(), "5".to_owned())]));
        assert_eq!(c.get("auto.offset.reset").as_deref(), Some("earliest"));
        assert!(matches!(c.set("num.streams.threads", "2"), Err(Error::UnknownConfig(k)) if k == "num.streams.threads"));
        assert!(matches!(c.set("num.stream.threads", "two"), Err(Error::InvalidConfig { .. })));
        assert_eq!(c.num_stream_threads, 1, "a bad value changes nothing");
        assert_eq!(c.get("num.streams.threads"), None);
    }

    #[test]
    fn the_runtime_guide_documents_every_key() {
        let guide = include_str!("../../docs/streams-runtime.md");
        for k in StreamsConfig::keys() {
            assert!(guide.contains(&format!("`{}`", k.name)), "docs/streams-runtime.md does not list {}", k.name);
        }
    }
}
