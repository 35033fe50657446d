//! The runtime: [`KafkaStreams`] runs a topology's tasks on stream threads (OS threads), over a
//! client seam ([`ClientSupplier`]): [`Embedded`] for the in-process broker, `Kafka` (feature
//! `kafka`) for any Kafka-protocol cluster through librdkafka.
//!
//! A stream thread loops poll -> add records to tasks -> process (bounded) -> punctuate ->
//! commit every `commit.interval.ms`. Tasks (sub-topology x partition) come from the consumer
//! group (group id = `application.id`, range assignor); each task's stores are restored from
//! their changelogs before it processes. Under `exactly_once_v2` each thread has one
//! transactional producer (`<application.id>-<process id>-<thread index>`), and output,
//! changelogs and input offsets commit in one transaction.
//!
//! Not supported yet: standby replicas (`num.standby.replicas`), global stores and pattern
//! sources (they are not part of [`SubtopologyInfo`](crate::SubtopologyInfo)), store handles
//! for interactive queries ([`KafkaStreams::store`] returns an error; use
//! [`KafkaStreams::with_tasks`]), and cooperative rebalancing (threads use the eager range
//! assignor).
//!
//! Rebalances: under at-least-once a thread commits its input offsets inside the revocation
//! callback, before the group rebalances (both seams: the embedded consumer commits through a
//! [`CommitHandle`](brook_broker::client::CommitHandle) with the generation the member still
//! has), so the next owners start exactly where it stopped. Under exactly-once the
//! transactional offset commit carries the member's group metadata (generation, member id,
//! `group.instance.id`), so a thread expelled from the group is fenced by the group
//! coordinator, as with Kafka's `ConsumerGroupMetadata`.

pub mod client;
#[cfg(feature = "kafka")]
pub mod kafka;
mod kafka_streams;
mod metadata;
mod process_id;
mod standby;
mod state;
mod stream_thread;
mod task_manager;
mod topics;

pub use client::{
    ClientSupplier, ConsumerSettings, Embedded, GroupMetadata, InternalTopic, OffsetCommitFn, ProducerSettings,
    RebalanceHandler, RestoreConsumer, StreamsAdmin, StreamsConsumer, StreamsProducer,
};
#[cfg(feature = "kafka")]
pub use kafka::Kafka;
pub use kafka_streams::{KafkaStreams, StateListener, UncaughtExceptionHandler};
pub use metadata::{KeyQueryMetadata, ThreadMetadata};
pub use state::State;
