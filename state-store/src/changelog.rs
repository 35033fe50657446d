//! The changelogging layer: every write to the inner store also becomes a record of the store's
//! changelog topic `<application.id>-<store>-changelog`, sent through a [`ChangelogSink`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::Result;
use crate::backend::{Backend, KeyCodec, Layer, RecordContext};

/// Where changelog records go; the runtime implements it with its producer.
pub trait ChangelogSink: Send {
    /// Sends one record; `value: None` is a tombstone.
    fn send(&mut self, topic: &str, partition: i32, key: &[u8], value: Option<&[u8]>, timestamp: i64);
}

/// A sink shared by the stores of a task.
pub type SharedChangelogSink = Arc<Mutex<dyn ChangelogSink>>;

pub use brook_common::topics::changelog_topic;

/// Kafka's `windowstore.changelog.additional.retention.ms` default: one day.
pub const WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

/// The topic configs a changelog topic must be created with.
///
/// # Examples
/// ```
/// use brook_state_store::changelog::changelog_topic_config;
/// let kv = changelog_topic_config(None);
/// assert_eq!(kv["cleanup.policy"], "compact");
/// let window = changelog_topic_config(Some(3_600_000));
/// assert_eq!(window["cleanup.policy"], "compact,delete");
/// assert_eq!(window["retention.ms"], (3_600_000 + 86_400_000).to_string());
/// ```
#[must_use]
pub fn changelog_topic_config(store_retention_ms: Option<i64>) -> BTreeMap<String, String> {
    let mut c = BTreeMap::new();
    match store_retention_ms {
        None => {
            c.insert("cleanup.policy".to_owned(), "compact".to_owned());
        }
        Some(r) => {
            c.insert("cleanup.policy".to_owned(), "compact,delete".to_owned());
            let ms = r.saturating_add(WINDOW_CHANGELOG_ADDITIONAL_RETENTION_MS);
            c.insert("retention.ms".to_owned(), ms.to_string());
        }
    }
    c
}

/// One record captured by a [`CollectingChangelogSink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Key.
    pub key: Bytes,
    /// Value (`None`: tombstone).
    pub value: Option<Bytes>,
    /// Timestamp.
    pub timestamp: i64,
}

/// A sink that keeps every record in memory (tests, `TopologyTestDriver`).
#[derive(Debug, Clone, Default)]
pub struct CollectingChangelogSink {
    records: Arc<Mutex<Vec<SentRecord>>>,
}

impl CollectingChangelogSink {
    /// An empty sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the records sent so far.
    #[must_use]
    pub fn records(&self) -> Vec<SentRecord> {
        self.records.lock().clone()
    }

    /// This sink as a [`SharedChangelogSink`]; records stay visible through `self`.
    #[must_use]
    pub fn shared(&self) -> SharedChangelogSink {
        Arc::new(Mutex::new(self.clone()))
    }
}

impl ChangelogSink for CollectingChangelogSink {
    fn send(&mut self, topic: &str, partition: i32, key: &[u8], value: Option<&[u8]>, timestamp: i64) {
        self.records.lock().push(SentRecord {
            topic: topic.to_owned(),
            partition,
            key: Bytes::copy_from_slice(key),
            value: value.map(Bytes::copy_from_slice),
            timestamp,
        });
    }
}

pub(crate) struct LoggingBackend {
    inner: Box<dyn Backend>,
    sink: SharedChangelogSink,
    topic: String,
    partition: i32,
    codec: Arc<dyn KeyCodec>,
    record: RecordContext,
}

impl fmt::Debug for LoggingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggingBackend")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl LoggingBackend {
    pub(crate) fn new(
        inner: Box<dyn Backend>,
        sink: SharedChangelogSink,
        topic: String,
        partition: i32,
        codec: Arc<dyn KeyCodec>,
        record: RecordContext,
    ) -> Self {
        LoggingBackend { inner, sink, topic, partition, codec, record }
    }

    fn log(&self, sink: &mut dyn ChangelogSink, key: &Bytes, value: Option<&Bytes>) {
        let (k, v, ts) = self.codec.changelog(key, value);
        let ts = ts.unwrap_or_else(|| self.record.timestamp());
        sink.send(&self.topic, self.partition, &k, v.as_deref(), ts);
    }
}

/// Logs writes (`put_key` goes through `put`); deletes of expired segments and unlogged
/// removals are not logged: the changelog's retention drops them (as in Kafka).
impl Layer for LoggingBackend {
    fn inner(&self) -> &dyn Backend {
        &*self.inner
    }

    fn inner_mut(&mut self) -> &mut dyn Backend {
        &mut *self.inner
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        {
            let sink = self.sink.clone();
            let mut sink = sink.lock();
            self.log(&mut *sink, &key, value.as_ref());
        }
        self.inner.put(key, value)
    }

    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()> {
        {
            let sink = self.sink.clone();
            let mut sink = sink.lock();
            for (k, v) in &entries {
                self.log(&mut *sink, k, v.as_ref());
            }
        }
        self.inner.put_all(entries)
    }
}
