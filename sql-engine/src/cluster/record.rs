//! A record of a topic as the engine writes and reads it ([`OutputRecord`]), and the
//! partition Kafka's default partitioner gives it.

/// A record of a topic, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: i64,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// The partition `record` goes to in a topic of `partitions`.
pub(crate) fn partition_of(record: &OutputRecord, partitions: i32) -> i32 {
    record.key.as_deref().map_or(0, |k| brook_broker::client::partitioner::partition_for_key(k, partitions))
}

