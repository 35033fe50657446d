//! The record vocabulary every layer speaks: a [`TopicPartition`], a record [`Header`], a record
//! read from a partition ([`ConsumerRecord`]), where a record sits in its log
//! ([`RecordMetadata`]) and where a consumer starts without a committed offset
//! ([`OffsetReset`]). One definition each: the broker, the embedded clients, the stream runtime
//! and the Processor API all use these.
//!
//! # Examples
//! ```
//! use brook_common::{OffsetReset, TopicPartition};
//! let tp = TopicPartition::new("orders", 3);
//! assert_eq!(tp.to_string(), "orders-3");
//! assert_eq!("earliest".parse::<OffsetReset>(), Ok(OffsetReset::Earliest));
//! assert_eq!(OffsetReset::Latest.as_str(), "latest");
//! assert!("first".parse::<OffsetReset>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;

/// A topic and a partition, printed `topic-partition` as in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic-partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition { topic: topic.into(), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A record header: a string key and an optional byte value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Header value; `None` is Kafka's null.
    pub value: Option<Bytes>,
}

/// A record read from a partition: what the embedded consumer polls and what crosses from the
/// stream runtime into a task (Kafka's `ConsumerRecord`). The topic name is shared by the records
/// of one fetch, not copied per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// Timestamp.
    pub timestamp: i64,
    /// Key bytes.
    pub key: Option<Bytes>,
    /// Value bytes; `None` for a tombstone.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<Header>,
}

impl ConsumerRecord {
    /// The topic-partition the record was read from.
    #[must_use]
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(&*self.topic, self.partition)
    }

    /// Whether the record was read from `tp`.
    #[must_use]
    pub fn is_from(&self, tp: &TopicPartition) -> bool {
        self.partition == tp.partition && *self.topic == *tp.topic
    }
}

/// Where a record sits in its log: the producer's answer to a send (Kafka's
/// `producer.RecordMetadata`) and, for a record being processed, where it came from (the Processor
/// API's `RecordMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// The record's timestamp as the log holds it (the append time under `LogAppendTime`).
    pub timestamp: i64,
}

/// Where a consumer starts reading a partition its group has no committed offset for
/// (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetReset {
    /// From the log start (`earliest`).
    Earliest,
    /// From the log end (`latest`).
    Latest,
    /// Fail instead (`none`).
    None,
}

impl OffsetReset {
    /// The config value: `earliest`, `latest` or `none`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "none",
        }
    }
}

impl fmt::Display for OffsetReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value of `auto.offset.reset` that is not `earliest`, `latest` or `none`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOffsetReset(pub String);

impl fmt::Display for UnknownOffsetReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown auto.offset.reset {:?}: expected earliest, latest or none", self.0)
    }
}

impl std::error::Error for UnknownOffsetReset {}

impl FromStr for OffsetReset {
    type Err = UnknownOffsetReset;

    fn from_str(s: &str) -> Result<OffsetReset, UnknownOffsetReset> {
        match s {
            "earliest" => Ok(OffsetReset::Earliest),
            "latest" => Ok(OffsetReset::Latest),
            "none" => Ok(OffsetReset::None),
            _ => Err(UnknownOffsetReset(s.to_string())),
        }
    }
}
