//! Broker and topic configuration, settable from Kafka's string keys (`log.retention.ms`,
//! `cleanup.policy`, ...). Defaults are Kafka's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use brook_common::Clock;

use crate::error::{Error, Result};

/// `cleanup.policy`: delete old segments, compact by key, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Old segments are deleted by `retention.ms` / `retention.bytes`.
    pub delete: bool,
    /// The log is compacted: the latest record per key is kept.
    pub compact: bool,
}

impl CleanupPolicy {
    /// Parses `delete`, `compact`, `compact,delete` or `delete,compact`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for anything else.
    pub fn parse(s: &str) -> Result<CleanupPolicy> {
        let mut p = CleanupPolicy {
            delete: false,
            compact: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "delete" => p.delete = true,
                "compact" => p.compact = true,
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "invalid value {other:?} for cleanup.policy (delete, compact)"
                    )))
                }
            }
        }
        Ok(p)
    }
}

impl std::fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.compact, self.delete) {
            (true, true) => f.write_str("compact,delete"),
            (true, false) => f.write_str("compact"),
            _ => f.write_str("delete"),
        }
    }
}

/// `message.timestamp.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamp is kept.
    CreateTime,
    /// The broker stamps the append time.
    LogAppendTime,
}

/// A topic config value: parsed from and printed as Kafka's strings.
trait TopicValue: Sized {
    fn parse_value(key: &str, v: &str) -> Result<Self>;
    fn render(&self) -> String;
}

macro_rules! numeric_topic_value {
    ($($t:ty),*) => {$(
        impl TopicValue for $t {
            fn parse_value(key: &str, v: &str) -> Result<Self> {
                parse_num(key, v)
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
numeric_topic_value!(i64, u64, usize, f64);

impl TopicValue for CleanupPolicy {
    fn parse_value(_: &str, v: &str) -> Result<Self> {
        CleanupPolicy::parse(v)
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl TopicValue for TimestampType {
    fn parse_value(key: &str, v: &str) -> Result<Self> {
        match v {
            "CreateTime" => Ok(TimestampType::CreateTime),
            "LogAppendTime" => Ok(TimestampType::LogAppendTime),
            _ => Err(Error::InvalidConfig(format!("invalid value {v:?} for {key} (CreateTime, LogAppendTime)"))),
        }
    }
    fn render(&self) -> String {
        match self {
            TimestampType::CreateTime => "CreateTime".into(),
            TimestampType::LogAppendTime => "LogAppendTime".into(),
        }
    }
}

/// Declares every topic-level key once: its field, type, default, Kafka key and documentation;
/// the struct, its `Default`, [`TopicConfig::set`], [`TopicConfig::get`], [`TopicConfig::doc`]
/// and [`TOPIC_CONFIG_KEYS`] are generated from the one list.
macro_rules! topic_configs {
    ($($(#[doc = $doc:literal])+ $key:literal => $field:ident: $ty:ty = $default:expr $(, at least $min:literal)?;)+) => {
        /// Per-topic log configuration. Broker defaults come from [`BrokerConfig::topic_defaults`].
        #[derive(Debug, Clone, PartialEq)]
        pub struct TopicConfig {
            $($(#[doc = $doc])+ pub $field: $ty,)+
        }

        impl Default for TopicConfig {
            fn default() -> Self {
                TopicConfig { $($field: $default,)+ }
            }
        }

        /// The topic-level keys Brook understands, in the order `describe` prints them.
        pub const TOPIC_CONFIG_KEYS: &[&str] = &[$($key),+];

        impl TopicConfig {
            /// Applies one topic-level key.
            ///
            /// # Errors
            /// [`Error::InvalidConfig`] for an unknown key or a bad value.
            pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
                match key {
                    $($key => {
                        let v = <$ty as TopicValue>::parse_value(key, value)?;
                        $(if v < $min {
                            return Err(Error::InvalidConfig(format!("{key} must be at least {}", $min)));
                        })?
                        self.$field = v;
                    })+
                    _ => return Err(Error::InvalidConfig(format!("unknown topic config {key:?}"))),
                }
                Ok(())
            }

            /// The value of a topic-level key as Kafka prints it.
            pub fn get(&self, key: &str) -> Option<String> {
                match key {
                    $($key => Some(self.$field.render()),)+
                    _ => None,
                }
            }

            /// The documentation of a topic-level key (what it does, its default).
            pub fn doc(key: &str) -> Option<&'static str> {
                match key {
                    $($key => Some(concat!($($doc),+).trim_start()),)+
                    _ => None,
                }
            }
        }
    };
}

topic_configs! {
    /// `cleanup.policy`. Default: delete.
    "cleanup.policy" => cleanup_policy: CleanupPolicy = CleanupPolicy { delete: true, compact: false };
    /// `delete.retention.ms`: how long tombstones survive compaction. Default: 1 day.
    "delete.retention.ms" => delete_retention_ms: i64 = 24 * 3600 * 1000;
    /// `flush.messages`: fsync after this many messages. Default: never (i64::MAX).
    "flush.messages" => flush_messages: i64 = i64::MAX;
    /// `flush.ms`: fsync after this long. Default: never (i64::MAX).
    "flush.ms" => flush_ms: i64 = i64::MAX;
    /// `index.interval.bytes`: bytes between offset index entries. Default: 4096.
    "index.interval.bytes" => index_interval_bytes: u64 = 4096;
    /// `max.message.bytes`: largest batch accepted. Default: 1048588.
    "max.message.bytes" => max_message_bytes: usize = 1_048_588;
    /// `message.timestamp.type`. Default: CreateTime.
    "message.timestamp.type" => timestamp_type: TimestampType = TimestampType::CreateTime;
    /// `min.cleanable.dirty.ratio`. Default: 0.5.
    "min.cleanable.dirty.ratio" => min_cleanable_dirty_ratio: f64 = 0.5;
    /// `min.compaction.lag.ms`. Default: 0.
    "min.compaction.lag.ms" => min_compaction_lag_ms: i64 = 0;
    /// `retention.bytes` per partition; -1 is unbounded. Default: -1.
    "retention.bytes" => retention_bytes: i64 = -1;
    /// `retention.ms`; -1 keeps forever. Default: 7 days.
    "retention.ms" => retention_ms: i64 = 7 * 24 * 3600 * 1000;
    /// `segment.bytes`: roll the active segment past this size. Default: 1 GiB.
    "segment.bytes" => segment_bytes: u64 = 1 << 30, at least 14;
    /// `segment.ms`: roll the active segment once its records span this long (record
    /// timestamps, as in Kafka). Default: 7 days.
    "segment.ms" => segment_ms: i64 = 7 * 24 * 3600 * 1000;
}

fn parse_num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.trim()
        .parse()
        .map_err(|_| Error::InvalidConfig(format!("invalid value {v:?} for {key}")))
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::InvalidConfig(format!(
            "invalid value {v:?} for {key} (true or false)"
        ))),
    }
}

impl TopicConfig {
    /// The defaults with `overrides` applied.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key or a bad value.
    pub fn with_overrides(&self, overrides: &BTreeMap<String, String>) -> Result<TopicConfig> {
        let mut c = self.clone();
        for (k, v) in overrides {
            c.set(k, v)?;
        }
        Ok(c)
    }
}

/// Broker-wide configuration (`server.properties`).
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `log.dirs`: where partition logs live. Default: `./data`.
    pub log_dir: PathBuf,
    /// `node.id` / `broker.id`. Default: 0.
    pub node_id: i32,
    /// `num.partitions` for auto-created topics. Default: 1.
    pub num_partitions: i32,
    /// `auto.create.topics.enable`. Default: true.
    pub auto_create_topics: bool,
    /// `delete.topic.enable`. Default: true.
    pub delete_topic_enable: bool,
    /// `message.max.bytes`: the broker-wide default for `max.message.bytes`. Default: 1048588.
    pub message_max_bytes: usize,
    /// `log.retention.check.interval.ms`. Default: 5 minutes.
    pub retention_check_interval: Duration,
    /// `log.cleaner.backoff.ms`: how often the cleaner looks for work. Default: 15 s.
    pub cleaner_backoff: Duration,
    /// `offsets.retention.minutes`: committed offsets of empty groups expire after this.
    /// Default: 7 days.
    pub offsets_retention: Duration,
    /// `offsets.topic.num.partitions`. Default: 50.
    pub offsets_topic_partitions: i32,
    /// `transaction.state.log.num.partitions`. Default: 50.
    pub transaction_topic_partitions: i32,
    /// `transaction.max.timeout.ms`. Default: 15 minutes.
    pub transaction_max_timeout: Duration,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`. Default: 10 s.
    pub transaction_abort_interval: Duration,
    /// `group.min.session.timeout.ms`. Default: 6 s.
    pub group_min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`. Default: 30 minutes.
    pub group_max_session_timeout: Duration,
    /// `group.initial.rebalance.delay.ms`: how long a new group waits for more members.
    /// Default: 3 s.
    pub group_initial_rebalance_delay: Duration,
    /// `max.partitions.per.topic`: the most partitions one topic may have; more is refused with
    /// INVALID_PARTITIONS before anything is created. Default: 10000.
    pub max_partitions_per_topic: i32,
    /// `max.broker.partitions`: the most partitions (internal topics included) this broker
    /// hosts; more is refused with POLICY_VIOLATION. Default: 200000.
    pub max_broker_partitions: usize,

    /// `log.open.files.max` (Brook's own): how many segment data files stay open at once,
    /// across all partitions; the least recently used is closed when another is needed.
    /// Default: half the soft `RLIMIT_NOFILE` at startup, between 32 and 65,536 (512 under the
    /// usual `ulimit -n` of 1024).
    pub log_open_files_max: usize,
    /// `log.cleaner.dedupe.buffer.size`: bytes of the compaction offset map (32 bytes per slot,
    /// filled to 90%); a log with more distinct keys in its dirty section is compacted in
    /// several rounds.
    /// Default: 128 MiB.
    pub log_cleaner_dedupe_buffer_size: usize,
    /// Defaults for every topic-level key (`log.retention.ms`, `log.segment.bytes`, ...).
    pub topic_defaults: TopicConfig,
    /// The wall clock of log append times, time-based retention and compaction, and
    /// transaction timestamps. Default: the system clock; tests use [`Clock::manual`].
    pub clock: Clock,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            log_dir: PathBuf::from("./data"),
            node_id: 0,
            num_partitions: 1,
            auto_create_topics: true,
            delete_topic_enable: true,
            message_max_bytes: 1_048_588,
            retention_check_interval: Duration::from_millis(300_000),
            cleaner_backoff: Duration::from_millis(15_000),
            offsets_retention: Duration::from_secs(7 * 24 * 3600),
            offsets_topic_partitions: 50,
            transaction_topic_partitions: 50,
            transaction_max_timeout: Duration::from_millis(900_000),
            transaction_abort_interval: Duration::from_millis(10_000),
            group_min_session_timeout: Duration::from_millis(6_000),
            group_max_session_timeout: Duration::from_millis(1_800_000),
            group_initial_rebalance_delay: Duration::from_millis(3_000),
            max_partitions_per_topic: 10_000,
            max_broker_partitions: 200_000,

            log_open_files_max: crate::log::default_max_open_files(),
            log_cleaner_dedupe_buffer_size: 128 << 20,
            topic_defaults: TopicConfig::default(),
            clock: Clock::system(),
        }
    }
}

fn ms(key: &str, v: &str) -> Result<Duration> {
    let n: u64 = parse_num(key, v)?;
    Ok(Duration::from_millis(n))
}

impl BrokerConfig {
    /// A configuration whose logs live in `dir`, everything else at its default.
    pub fn new(dir: impl Into<PathBuf>) -> BrokerConfig {
        BrokerConfig {
            log_dir: dir.into(),
            ..BrokerConfig::default()
        }
    }

    /// Applies one `server.properties` key.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown key or a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let d = &mut self.topic_defaults;
        match key {
            "log.dirs" | "log.dir" => {
                self.log_dir = PathBuf::from(value.split(',').next().unwrap_or(value).trim())
            }
            "node.id" | "broker.id" => self.node_id = parse_num(key, value)?,
            "num.partitions" => {
                let n: i32 = parse_num(key, value)?;
                if n < 1 {
                    return Err(Error::InvalidConfig(format!("{key} must be at least 1")));
                }
                self.num_partitions = n
            }
            "max.partitions.per.topic" => self.max_partitions_per_topic = parse_num(key, value)?,
            "max.broker.partitions" => self.max_broker_partitions = parse_num(key, value)?,
            "auto.create.topics.enable" => self.auto_create_topics = parse_bool(key, value)?,
            "delete.topic.enable" => self.delete_topic_enable = parse_bool(key, value)?,
            "message.max.bytes" => {
                self.message_max_bytes = parse_num(key, value)?;
                d.max_message_bytes = self.message_max_bytes;
            }
            "log.retention.check.interval.ms" => self.retention_check_interval = ms(key, value)?,
            "log.cleaner.backoff.ms" => self.cleaner_backoff = ms(key, value)?,
            "offsets.retention.minutes" => {
                let m: u64 = parse_num(key, value)?;
                self.offsets_retention = Duration::from_secs(m * 60)
            }
            "offsets.topic.num.partitions" => self.offsets_topic_partitions = parse_num(key, value)?,
            "transaction.state.log.num.partitions" => {
                self.transaction_topic_partitions = parse_num(key, value)?
            }
            "transaction.max.timeout.ms" => self.transaction_max_timeout = ms(key, value)?,
            "transaction.abort.timed.out.transaction.cleanup.interval.ms" => {
                self.transaction_abort_interval = ms(key, value)?
            }
            "group.min.session.timeout.ms" => self.group_min_session_timeout = ms(key, value)?,
            "group.max.session.timeout.ms" => self.group_max_session_timeout = ms(key, value)?,
            "group.initial.rebalance.delay.ms" => {
                self.group_initial_rebalance_delay = ms(key, value)?
            }
            "log.open.files.max" => self.log_open_files_max = parse_num(key, value)?,
            "log.cleaner.dedupe.buffer.size" => {
                self.log_cleaner_dedupe_buffer_size = parse_num(key, value)?
            }
            "log.retention.ms" => d.retention_ms = parse_num(key, value)?,
            "log.retention.minutes" => d.retention_ms = parse_num::<i64>(key, value)? * 60_000,
            "log.retention.hours" => d.retention_ms = parse_num::<i64>(key, value)? * 3_600_000,
            "log.retention.bytes" => d.retention_bytes = parse_num(key, value)?,
            "log.segment.bytes" => d.set("segment.bytes", value)?,
            "log.roll.ms" => d.segment_ms = parse_num(key, value)?,
            "log.roll.hours" => d.segment_ms = parse_num::<i64>(key, value)? * 3_600_000,
            "log.index.interval.bytes" => d.index_interval_bytes = parse_num(key, value)?,
            "log.cleanup.policy" => d.cleanup_policy = CleanupPolicy::parse(value)?,
            "log.cleaner.delete.retention.ms" => d.delete_retention_ms = parse_num(key, value)?,
            "log.cleaner.min.compaction.lag.ms" => {
                d.min_compaction_lag_ms = parse_num(key, value)?
            }
            "log.cleaner.min.cleanable.ratio" => {
                d.min_cleanable_dirty_ratio = parse_num(key, value)?
            }
            "log.flush.interval.messages" => d.flush_messages = parse_num(key, value)?,
            "log.flush.interval.ms" => d.flush_ms = parse_num(key, value)?,
            "log.message.timestamp.type" => d.set("message.timestamp.type", value)?,
            _ => return Err(Error::InvalidConfig(format!("unknown broker config {key:?}"))),
        }
        Ok(())
    }

    /// Applies a Java-properties file body (`key=value` lines, `#` comments), read with
    /// [`parse_properties`].
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a line without `=`, an unknown key or a bad value.
    pub fn apply_properties(&mut self, text: &str) -> Result<()> {
        for (_, k, v) in parse_properties(text)? {
            self.set(k, v)?;
        }
        Ok(())
    }
}

/// The `key=value` pairs of a Java-properties file body, trimmed, each with its line number
/// (from 1); blank lines and `#` or `!` comments are skipped. `brook server` reads its
/// `--config` file with it, handing each key to the server or the broker config.
///
/// # Errors
/// [`Error::InvalidConfig`] for a line without `=`, naming the line.
pub fn parse_properties(text: &str) -> Result<Vec<(usize, &str, &str)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| Error::InvalidConfig(format!("line {}: expected key=value, got {line:?}", n + 1)))?;
        out.push((n + 1, k.trim(), v.trim()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_override_defaults() {
        let mut c = BrokerConfig::default();
        c.apply_properties("# comment\nnum.partitions=3\nlog.retention.hours=1\nlog.cleanup.policy=compact,delete\n")
            .unwrap();
        assert_eq!(c.num_partitions, 3);
        assert_eq!(c.topic_defaults.retention_ms, 3_600_000);
        assert_eq!(c.topic_defaults.cleanup_policy.to_string(), "compact,delete");
        c.apply_properties("log.open.files.max=100\nlog.cleaner.dedupe.buffer.size=4096\n").unwrap();
        assert_eq!((c.log_open_files_max, c.log_cleaner_dedupe_buffer_size), (100, 4096));
        assert!(matches!(c.set("no.such.key", "1"), Err(Error::InvalidConfig(_))));
        assert!(matches!(c.set("num.partitions", "zero"), Err(Error::InvalidConfig(_))));
        assert!(matches!(c.apply_properties("oops"), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn topic_keys_round_trip() {
        let mut t = TopicConfig::default();
        for key in TOPIC_CONFIG_KEYS {
            let v = t.get(key).unwrap();
            t.set(key, &v).unwrap();
        }
        assert_eq!(t, TopicConfig::default());
        assert!(matches!(t.set("cleanup.policy", "shred"), Err(Error::InvalidConfig(_))));
        assert!(matches!(t.set("segment.bytes", "13"), Err(Error::InvalidConfig(m)) if m == "segment.bytes must be at least 14"));
        assert!(matches!(t.set("retention.ms", "soon"), Err(Error::InvalidConfig(_))));
        assert!(matches!(t.set("retention.hours", "1"), Err(Error::InvalidConfig(m)) if m.contains("unknown topic config")));
        assert_eq!(t.get("retention.hours"), None);
        t.set("message.timestamp.type", "LogAppendTime").unwrap();
        assert_eq!(t.timestamp_type, TimestampType::LogAppendTime);
    }

    #[test]
    fn every_topic_key_is_documented_here_and_in_the_broker_guide() {
        let guide = include_str!("../../docs/broker.md");
        let listed = guide.split("Topic keys:").nth(1).and_then(|s| s.split("\n\n").next()).unwrap();
        for key in TOPIC_CONFIG_KEYS {
            let doc = TopicConfig::doc(key).unwrap();
            assert!(doc.starts_with(&format!("`{key}`")) && doc.contains("Default:"), "{key}: {doc}");
            assert!(listed.contains(&format!("`{key}`")), "docs/broker.md does not list {key}");
        }
        assert_eq!(listed.matches('`').count(), 2 * TOPIC_CONFIG_KEYS.len(), "docs/broker.md lists a key Brook does not know");
    }
}
