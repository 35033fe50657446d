//! How sources read and decode, and how sinks encode and route: [`SourceOptions`] and
//! [`SinkOptions`] (Kafka's `Consumed`/`Produced` at the Processor API level).

use std::fmt;
use std::sync::Arc;

use brook_state_store::{BytesSerde, Serde};
use bytes::Bytes;

use crate::processor::{OffsetReset, TimestampExtractor};

/// Picks the output topic of each record (Kafka's `TopicNameExtractor`).
pub type TopicNameExtractor<K, V> = Arc<dyn Fn(Option<&K>, Option<&V>) -> String + Send + Sync>;
/// Picks the partition of each output record (Kafka's `StreamPartitioner`); `None` leaves it to
/// the producer's default partitioner.
pub type Partitioner<K, V> = Arc<dyn Fn(&str, Option<&K>, Option<&V>) -> Option<i32> + Send + Sync>;

/// How a source subscribes and decodes.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_processor_api::{OffsetReset, SourceOptions};
/// use brook_state_store::StringSerde;
/// let o = SourceOptions::topics(["a", "b"]).with_serdes(Arc::new(StringSerde), Arc::new(StringSerde)).with_offset_reset(OffsetReset::Earliest);
/// # let _ = o;
/// ```
pub struct SourceOptions<K, V> {
    pub(crate) topics: Vec<String>,
    pub(crate) pattern: Option<String>,
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
    pub(crate) extractor: Option<Arc<dyn TimestampExtractor>>,
    pub(crate) reset: Option<OffsetReset>,
}

impl<K, V> fmt::Debug for SourceOptions<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceOptions").field("topics", &self.topics).field("pattern", &self.pattern).finish_non_exhaustive()
    }
}

impl SourceOptions<Bytes, Bytes> {
    /// A source of these topics, forwarding raw bytes.
    pub fn topics<I: IntoIterator<Item = S>, S: Into<String>>(topics: I) -> Self {
        SourceOptions {
            topics: topics.into_iter().map(Into::into).collect(),
            pattern: None,
            keys: Arc::new(BytesSerde),
            values: Arc::new(BytesSerde),
            extractor: None,
            reset: None,
        }
    }

    /// A source of every topic whose whole name matches `regex`.
    pub fn pattern(regex: impl Into<String>) -> Self {
        let mut o = Self::topics(Vec::<String>::new());
        o.pattern = Some(regex.into());
        o
    }
}

impl<K, V> SourceOptions<K, V> {
    /// Decodes keys and values with these serdes.
    pub fn with_serdes<K2, V2>(self, keys: Arc<dyn Serde<K2>>, values: Arc<dyn Serde<V2>>) -> SourceOptions<K2, V2> {
        SourceOptions { topics: self.topics, pattern: self.pattern, keys, values, extractor: self.extractor, reset: self.reset }
    }

    /// Uses `extractor` for record timestamps. Default: the record's timestamp.
    #[must_use]
    pub fn with_timestamp_extractor(mut self, extractor: Arc<dyn TimestampExtractor>) -> Self {
        self.extractor = Some(extractor);
        self
    }

    /// Uses `reset` when the group has no committed offset. Default: the client's.
    #[must_use]
    pub fn with_offset_reset(mut self, reset: OffsetReset) -> Self {
        self.reset = Some(reset);
        self
    }
}

/// Where a sink writes and how it encodes.
pub struct SinkOptions<K, V> {
    pub(crate) topic: Option<String>,
    pub(crate) extractor: Option<(TopicNameExtractor<K, V>, String)>,
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
    pub(crate) partitioner: Option<Partitioner<K, V>>,
}

impl<K, V> fmt::Debug for SinkOptions<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkOptions").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl<K, V> SinkOptions<K, V> {
    /// Writes to `topic`, encoding with these serdes.
    pub fn topic(topic: impl Into<String>, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        SinkOptions { topic: Some(topic.into()), extractor: None, keys, values, partitioner: None }
    }

    /// Writes each record to the topic `extractor` picks; `description` is what `describe()`
    /// prints as the extractor class.
    pub fn extractor(
        extractor: TopicNameExtractor<K, V>,
        description: impl Into<String>,
        keys: Arc<dyn Serde<K>>,
        values: Arc<dyn Serde<V>>,
    ) -> Self {
        SinkOptions { topic: None, extractor: Some((extractor, description.into())), keys, values, partitioner: None }
    }

    /// Picks partitions with `partitioner`.
    #[must_use]
    pub fn with_partitioner(mut self, partitioner: Partitioner<K, V>) -> Self {
        self.partitioner = Some(partitioner);
        self
    }
}
