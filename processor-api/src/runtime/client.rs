//! The client seam: what a stream thread needs from Kafka, as small traits; [`Embedded`]
//! (`client/embedded.rs`) implements them over the in-process broker, `Kafka` (`kafka.rs`,
//! feature `kafka`) over any Kafka-protocol cluster.
//!
//! The traits are synchronous: a stream thread is an OS thread. The embedded implementation
//! drives the async embedded client with `block_on` on the stream thread, over small runtimes
//! owned by each client (the group consumer's has one worker thread for its heartbeats, the
//! producer's one for lingering batches) or, when the settings carry a [`SharedRuntime`], over
//! that one; either way no store or processor work ever runs on a tokio worker.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::shared::SharedRuntime;
use crate::engine::{ConsumerRecord, OutputRecord, TopicPartition};
use crate::error::{Error, Result};

mod embedded;

pub use self::embedded::Embedded;

/// The consumer group identity that `send_offsets_to_transaction` fences with.
#[derive(Clone, Default)]
pub struct GroupMetadata {
    /// `group.id` (the application id).
    pub group_id: String,
    /// The generation of the last join, -1 before the first.
    pub generation: i32,
    /// The member id, empty before the first join.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// The librdkafka handle, when the metadata comes from the Kafka seam.
    #[cfg(feature = "kafka")]
    pub(crate) rdkafka: Option<Arc<rdkafka::consumer::ConsumerGroupMetadata>>,
}

impl fmt::Debug for GroupMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupMetadata")
            .field("group_id", &self.group_id)
            .field("generation", &self.generation)
            .field("member_id", &self.member_id)
            .field("group_instance_id", &self.group_instance_id)
            .finish_non_exhaustive()
    }
}

/// Told about partitions moving; both calls happen inside [`StreamsConsumer::poll`], on the
/// stream thread. Revocation comes before the group rebalances, so it is the place to commit.
pub trait RebalanceHandler: Send {
    /// Partitions taken away from this member. `commit` commits consumer offsets from inside
    /// the callback, synchronously, with the member's current generation (`group`), as both
    /// seams allow.
    fn on_revoked(&mut self, partitions: &[TopicPartition], group: &GroupMetadata, commit: &mut OffsetCommitFn<'_>);
    /// Partitions given to this member.
    fn on_assigned(&mut self, partitions: &[TopicPartition]);
}

/// Commits consumer offsets from inside a rebalance callback.
pub type OffsetCommitFn<'a> = dyn FnMut(&BTreeMap<TopicPartition, i64>) -> Result<()> + 'a;

/// Consumer settings the runtime decides.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// `group.id`; `None` for the restore consumer.
    pub group_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// `isolation.level=read_committed` under exactly-once.
    pub read_committed: bool,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `max.poll.records`.
    pub max_poll_records: usize,
    /// `consumer.*` overrides from the streams config, prefix stripped.
    pub overrides: BTreeMap<String, String>,
    /// The runtime shared by the process's instances, when the instance was given one: seams
    /// that drive async clients run their background tasks there instead of on runtimes of
    /// their own (the `Kafka` seam's librdkafka threads are its own either way).
    pub runtime: Option<SharedRuntime>,
}

/// Producer settings the runtime decides.
#[derive(Debug, Clone)]
pub struct ProducerSettings {
    /// `client.id`.
    pub client_id: String,
    /// `transactional.id` under exactly-once.
    pub transactional_id: Option<String>,
    /// `producer.*` overrides from the streams config, prefix stripped.
    pub overrides: BTreeMap<String, String>,
    /// The shared runtime, as [`ConsumerSettings::runtime`].
    pub runtime: Option<SharedRuntime>,
}

/// An internal topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopic {
    /// Full name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Topic configs.
    pub configs: BTreeMap<String, String>,
}

/// The group consumer of a stream thread.
pub trait StreamsConsumer: Send {
    /// Subscribes (range assignor, group id = application id); `handler` hears about
    /// assignments.
    ///
    /// # Errors
    /// Client errors.
    fn subscribe(&mut self, topics: &[String], handler: Box<dyn RebalanceHandler>) -> Result<()>;
    /// Appends the records fetched to `out`, waiting up to `timeout` for some; rebalance
    /// callbacks run inside. The stream thread passes the same emptied vector every time, so
    /// polling allocates no vector of records.
    ///
    /// # Errors
    /// Client errors.
    fn poll(&mut self, timeout: Duration, out: &mut Vec<ConsumerRecord>) -> Result<()>;
    /// Stops fetching from these partitions.
    fn pause(&mut self, partitions: &[TopicPartition]);
    /// Resumes fetching.
    fn resume(&mut self, partitions: &[TopicPartition]);
    /// Moves the position of an assigned partition.
    fn seek(&mut self, partition: &TopicPartition, offset: i64);
    /// The committed offsets of these partitions (-1 / absent when none).
    ///
    /// # Errors
    /// Client errors.
    fn committed(&mut self, partitions: &[TopicPartition]) -> Result<BTreeMap<TopicPartition, i64>>;
    /// Commits offsets (the next offset to read) synchronously.
    ///
    /// # Errors
    /// `RebalanceInProgress`, `IllegalGeneration`, ... when the group moved on.
    fn commit(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()>;
    /// The group identity for `send_offsets_to_transaction`.
    fn group_metadata(&self) -> GroupMetadata;
    /// The partitions assigned now.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Leaves the group.
    fn close(self: Box<Self>);
    /// Something that makes a `poll` in progress (or the next one) return at once, with no
    /// records, from another thread: closing instances then need not wait out their polls.
    /// `None` (the default) when the seam cannot.
    fn waker(&self) -> Option<Waker> {
        None
    }
    /// Switches the consumer to cooperative use by a
    /// [`StreamThreadPool`](super::StreamThreadPool), before `subscribe`: `poll` never waits
    /// (not for records, not for a group rebalance), and `ready` is called, from any thread,
    /// whenever a poll may return something new (records appended, a rebalance done, a
    /// wakeup). Returns `false` when the seam cannot (the default): the pool then polls the
    /// consumer every `poll.ms` while it is idle.
    fn set_cooperative(&mut self, ready: Waker) -> bool {
        let _ = ready;
        false
    }
}

/// Interrupts a consumer's `poll` ([`StreamsConsumer::waker`]).
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// The producer of a stream thread (transactional under exactly-once).
pub trait StreamsProducer: Send {
    /// Queues one record.
    ///
    /// # Errors
    /// Immediate errors (unknown topic, fenced producer).
    fn send(&mut self, record: OutputRecord) -> Result<()>;
    /// Sends everything queued and waits for it; returns, per partition written since the
    /// last flush, the offset after the last record written.
    ///
    /// # Errors
    /// The first failed delivery.
    fn flush(&mut self) -> Result<BTreeMap<TopicPartition, i64>>;
    /// Registers the transactional id, fencing older producers with it.
    ///
    /// # Errors
    /// Coordinator errors.
    fn init_transactions(&mut self) -> Result<()>;
    /// Opens a transaction.
    ///
    /// # Errors
    /// Fenced or already open.
    fn begin_transaction(&mut self) -> Result<()>;
    /// Adds the input offsets to the open transaction.
    ///
    /// # Errors
    /// Fenced, coordinator errors.
    fn send_offsets_to_transaction(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
        group: &GroupMetadata,
    ) -> Result<()>;
    /// Commits the open transaction.
    ///
    /// # Errors
    /// Fenced, failed sends in the transaction.
    fn commit_transaction(&mut self) -> Result<()>;
    /// Aborts the open transaction.
    ///
    /// # Errors
    /// Coordinator errors.
    fn abort_transaction(&mut self) -> Result<()>;
}

/// Topic administration and changelog reads.
pub trait StreamsAdmin: Send + Sync {
    /// Partition count of a topic, `None` when it does not exist.
    ///
    /// # Errors
    /// Client errors other than "unknown topic".
    fn partition_count(&self, topic: &str) -> Result<Option<i32>>;
    /// Creates topics that do not exist yet; existing ones are left alone.
    ///
    /// # Errors
    /// Client errors other than "already exists".
    fn create_topics(&self, topics: &[InternalTopic]) -> Result<()>;
    /// The end offset of a partition: the last stable offset when `read_committed`.
    ///
    /// # Errors
    /// Client errors.
    fn end_offset(&self, partition: &TopicPartition, read_committed: bool) -> Result<i64>;
    /// The log start offset of a partition.
    ///
    /// # Errors
    /// Client errors.
    fn start_offset(&self, partition: &TopicPartition) -> Result<i64>;
    /// Names of every topic of the cluster (pattern sources match against them).
    ///
    /// # Errors
    /// Client errors; the default implementation says the seam cannot list topics.
    fn list_topics(&self) -> Result<Vec<String>> {
        Err(Error::IllegalState("this client seam cannot list topics (needed by pattern sources)".into()))
    }
    /// Which member (`client.id`) of a group owns each partition; empty when the seam cannot
    /// tell.
    ///
    /// # Errors
    /// Client errors.
    fn group_owners(&self, _group_id: &str) -> Result<BTreeMap<TopicPartition, String>> {
        Ok(BTreeMap::new())
    }
    /// The `client.id` of every member of a group, those without partitions included; the
    /// owners' ids when the seam cannot tell more.
    ///
    /// # Errors
    /// Client errors.
    fn group_members(&self, group_id: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self.group_owners(group_id)?.into_values().collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

/// A consumer without a group, reading changelogs for restore.
pub trait RestoreConsumer: Send {
    /// Reads `[from, to)` of one partition, handing batches of records to `sink`; returns the
    /// position reached (`>= to`, control records included).
    ///
    /// # Errors
    /// Client errors and the sink's.
    fn read(
        &mut self,
        partition: &TopicPartition,
        from: i64,
        to: i64,
        sink: &mut dyn FnMut(&[ConsumerRecord]) -> Result<()>,
    ) -> Result<i64>;
}

/// Makes the clients of a [`KafkaStreams`](super::KafkaStreams) instance.
pub trait ClientSupplier: Send + Sync + fmt::Debug {
    /// The admin client.
    ///
    /// # Errors
    /// Connection errors.
    fn admin(&self) -> Result<Arc<dyn StreamsAdmin>>;
    /// A stream thread's group consumer.
    ///
    /// # Errors
    /// Connection or config errors.
    fn consumer(&self, settings: &ConsumerSettings) -> Result<Box<dyn StreamsConsumer>>;
    /// A stream thread's producer.
    ///
    /// # Errors
    /// Connection or config errors.
    fn producer(&self, settings: &ProducerSettings) -> Result<Box<dyn StreamsProducer>>;
    /// A restore consumer.
    ///
    /// # Errors
    /// Connection or config errors.
    fn restore_consumer(&self, settings: &ConsumerSettings) -> Result<Box<dyn RestoreConsumer>>;
}
