//! The seam itself: the [`Cluster`] trait, where a query's stream threads run
//! ([`StreamThreads`]), and the errors both implementations report.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use brook_processor_api::runtime::{SharedRuntime, StreamThreadPool};
use brook_processor_api::{KafkaStreams, StreamsConfig, TaskFactory};

use super::record::OutputRecord;
use crate::Result;

/// A Kafka cluster, as the SQL engine uses it. Calls block until the cluster answers.
pub trait Cluster: Send + Sync + fmt::Debug {
    /// Creates `topic` with `partitions` and topic `configs`; `Ok(false)` when it already
    /// exists (then nothing changes).
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster): an invalid name, partition count or config.
    fn create_topic(&self, topic: &str, partitions: i32, configs: &BTreeMap<String, String>) -> Result<bool>;

    /// The partition count of `topic`, `None` when it does not exist.
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster) when the cluster cannot be asked.
    fn partition_count(&self, topic: &str) -> Result<Option<i32>>;

    /// Every topic's name, internal ones included.
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster) when the cluster cannot be asked.
    fn list_topics(&self) -> Result<Vec<String>>;

    /// Deletes `topic` and its records.
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster): unknown topic, deletion disabled.
    fn delete_topic(&self, topic: &str) -> Result<()>;

    /// Appends `records` to `topic`, each to the partition of its key (murmur2, as Kafka's
    /// default partitioner; no key: partition 0), and returns once they are written with the
    /// offset each record got (in its partition), in the order of `records`.
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster): unknown topic, a rejected write.
    fn append_offsets(&self, topic: &str, records: &[OutputRecord]) -> Result<Vec<i64>>;

    /// [`append_offsets`](Self::append_offsets) without the offsets.
    ///
    /// # Errors
    /// As [`append_offsets`](Self::append_offsets).
    fn append(&self, topic: &str, records: &[OutputRecord]) -> Result<()> {
        self.append_offsets(topic, records).map(drop)
    }

    /// The end offset (last stable offset) of every partition of `topic`, in partition order.
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster): unknown topic.
    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>>;

    /// The committed records of one partition from offset `from` (`None`: the earliest kept)
    /// up to its end offset now, with each record's offset.
    ///
    /// # Errors
    /// [`Error::Cluster`](crate::Error::Cluster): unknown topic or partition.
    fn read(&self, topic: &str, partition: i32, from: Option<i64>) -> Result<Vec<(i64, OutputRecord)>>;

    /// Every committed record of `topic`, partition by partition.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    fn read_all(&self, topic: &str) -> Result<Vec<OutputRecord>> {
        let partitions = self.partition_count(topic)?.ok_or_else(|| unknown_topic(topic))?;
        let mut out = Vec::new();
        for p in 0..partitions {
            out.extend(self.read(topic, p, None)?.into_iter().map(|(_, r)| r));
        }
        Ok(out)
    }

    /// A `KafkaStreams` instance (state `CREATED`) running `factory` over this cluster's
    /// client seam, on `runtime` when given.
    ///
    /// # Errors
    /// The runtime's (state directory, clients).
    fn streams(&self, factory: Arc<dyn TaskFactory>, config: StreamsConfig, threads: StreamThreads<'_>) -> Result<KafkaStreams>;

    /// The in-process broker, when this is the embedded cluster: what reads it directly (the
    /// shared push-query readers long-poll its partitions) asks here.
    fn embedded_broker(&self) -> Option<&brook_broker::Broker> {
        None
    }
}

/// Where the stream threads of a query's [`KafkaStreams`] run.
#[derive(Debug, Clone, Copy)]
pub enum StreamThreads<'a> {
    /// Units of the engine's stream-thread pool (persistent queries), over either cluster.
    Pool(&'a StreamThreadPool),
    /// OS threads of the query's own, their clients on the shared runtime when there is one.
    Own(Option<&'a SharedRuntime>),
}

/// `unknown topic "t"`.
pub(super) fn unknown_topic(topic: &str) -> crate::Error {
    crate::Error::Cluster(format!("unknown topic \"{topic}\""))
}

pub(super) fn streams_err(e: brook_processor_api::Error) -> crate::Error {
    crate::Error::Cluster(e.to_string())
}
