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
//! Standby replicas (`num.standby.replicas`, default 0): with `N > 0` every stateful task has
//! warm copies on up to `N` other instances, which read the task's changelogs continuously
//! (bounded per loop iteration, `read_committed` under exactly-once) and checkpoint the
//! position they reached every `commit.interval.ms` and on close; when one of them gets the
//! task as active, the standby becomes the active task (its stores stay open) and restores
//! only the changelog tail it had not read.
//! Threads list them in [`ThreadMetadata::standby_tasks`]; [`KafkaStreams::with_standby_tasks`]
//! reaches their engines (stale reads). Difference from Kafka Streams: the active tasks come
//! from the consumer group's built-in assignor, which knows nothing of standbys, so instead of
//! Kafka's `StreamsPartitionAssignor` (which also moves active tasks to caught-up standbys and
//! uses warmup replicas) every instance derives the standby placement from the group's
//! membership: the processes of the members (from their `client.id`s), sorted, and for a task
//! active on process `X`, `N` distinct other processes cyclically after `X`, starting at an
//! offset that rotates with the task (so one instance's tasks spread over the others).
//! [`KafkaStreams::set_global_state_restore_listener`] reports the restores of active tasks.
//!
//! Not supported yet: global stores and pattern
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
mod restore_listener;
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
pub use restore_listener::StateRestoreListener;
pub use state::State;
