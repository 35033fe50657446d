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
//! # Interactive queries
//!
//! [`KafkaStreams::key_value_store`], [`window_store`](KafkaStreams::window_store) and
//! [`session_store`](KafkaStreams::session_store) take a [`StoreQueryParameters`] (Kafka's
//! `store(StoreQueryParameters)`) and return a read-only view across this instance's active
//! tasks, or of a global store: `get` answers from the first task that has the key, `range` /
//! `all` / `fetch_all` gather every task's entries (each task in key order, tasks one after the
//! other, as Kafka's composite stores). Reads go through the stores' caches, so they see every
//! processed record, committed or not. Raw bytes, plus typed reads through serdes (`ReadOnlyKeyValueView::with_serdes`).
//! Errors are [`Error::InvalidStateStore`](crate::Error::InvalidStateStore), Kafka's
//! `InvalidStateStoreException`: a store the topology does not have, an instance that is not
//! RUNNING (REBALANCING is allowed with
//! [`enable_stale_stores`](StoreQueryParameters::enable_stale_stores)), or no local task with
//! the store ("may have migrated to another instance"). [`KafkaStreams::query_metadata_for_key`]
//! says which partition, task and member hold a key.
//!
//! Differences from Kafka: results are collected into a `Vec` while the owning stream thread
//! is paused (Kafka hands out iterators over live stores), so keep ranges small; there is no
//! `QueryableStoreType` (one method per store shape instead), no IQv2 (`query(StateQueryRequest)`),
//! and standby tasks are not queried with stale stores enabled.
//!
//! # Global stores
//!
//! A topology with global stores ([`Topology::add_global_store`](crate::Topology::add_global_store),
//! or a `GlobalKTable` of the DSL) gets a global stream thread (Kafka's `GlobalStreamThread`).
//! [`KafkaStreams::start`] first bootstraps every global store: each partition of its topic
//! (assigned, not subscribed; `read_committed` under exactly-once) is read from the local
//! checkpoint, or the log start, up to the end offset, through the global processor, before
//! any stream thread starts (a missing global topic fails `start`). The thread then keeps
//! reading what is appended, polling every `poll.ms`, and writes the checkpoint
//! `state.dir/<application.id>/global/.checkpoint` every `commit.interval.ms` and on close,
//! so a restart reads only what is new. The stores live under
//! `state.dir/<application.id>/global/` and every task reads the same instance of them.
//!
//! Differences from Kafka: records are always replayed through the global processor on
//! bootstrap (Kafka 3.x, unless `reprocessOnRestore`, copies them into the store as they
//! are); in-memory global stores ignore the checkpoint and bootstrap from the beginning; a
//! global thread that fails moves the client to ERROR without a replacement.
//!
//! # Pattern sources
//!
//! A source added with [`SourceOptions::pattern`](crate::SourceOptions::pattern) reads every
//! topic whose whole name matches (Java regex semantics for the supported syntax) when the
//! instance starts, and, every `metadata.max.age.ms` (default 5 min), topics created since:
//! the stream threads commit, re-subscribe, and the rebalance gives the tasks the new
//! partitions. Internal topics never match: names starting with `__` and this application's
//! changelog and repartition topics. At least one topic must match at start (the partition
//! count of the sub-topology comes from them).
//!
//! Differences from Kafka: a deleted topic stays in the subscription; a topic matched later
//! with more partitions than the sub-topology has tasks is not subscribed (logged as an error;
//! Kafka fails on the internal topics' partition count instead).
//!
//! # Standby replicas
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
//! # Rebalances
//!
//! Under at-least-once a thread commits its input offsets inside the revocation
//! callback, before the group rebalances (both seams: the embedded consumer commits through a
//! [`CommitHandle`](brook_broker::client::CommitHandle) with the generation the member still
//! has), so the next owners start exactly where it stopped. Under exactly-once the
//! transactional offset commit carries the member's group metadata (generation, member id,
//! `group.instance.id`), so a thread expelled from the group is fenced by the group
//! coordinator, as with Kafka's `ConsumerGroupMetadata`.
//!
//! # Many instances in one process
//!
//! [`KafkaStreams::with_runtime`] runs an instance's client background tasks (heartbeats,
//! lingering batches) and its supervisor on a [`SharedRuntime`] given to many instances, instead
//! of two one-worker runtimes per stream thread and a supervisor thread per instance: `Q`
//! instances of `T` stream threads then need `Q x T + SharedRuntime::threads()` threads, not
//! `Q x (3 T + 1)`. Stream threads stay OS threads (a slow one holds no shared worker), and a
//! stream thread that panics is handled as one that failed.
//!
//! [`KafkaStreams::with_pool`] goes further: the instance's stream threads are units of a
//! [`StreamThreadPool`], whose `N` workers run the stream threads of every instance given it a
//! bounded step at a time (poll without waiting, process about 20,000 records or 100 ms,
//! punctuate, commit when due) and park the idle ones until their consumer wakes them, so `Q`
//! instances need `N + SharedRuntime::threads()` threads. Semantics are those of OS stream
//! threads (see [`StreamThreadPool`]).
//!
//! # Not supported yet
//!
//! Cooperative rebalancing (threads use the eager range assignor).

pub mod client;
#[cfg(feature = "kafka")]
pub mod kafka;
mod global_thread;
mod kafka_streams;
mod metadata;
mod os_thread;
mod pool;
mod process_id;
mod restore_listener;
mod shared;
mod standby;
mod state;
mod stream_thread;
mod task_manager;
mod thread_context;
mod topics;

pub use client::{
    ClientSupplier, ConsumerSettings, Embedded, GroupMetadata, InternalTopic, OffsetCommitFn, ProducerSettings,
    RebalanceHandler, RestoreConsumer, StreamsAdmin, StreamsConsumer, StreamsProducer, Waker,
};
#[cfg(feature = "kafka")]
pub use kafka::Kafka;
pub use kafka_streams::{
    KafkaStreams, ReadOnlyKeyValueView, ReadOnlySessionView, ReadOnlyWindowView, StateListener, StoreQueryParameters,
    UncaughtExceptionHandler,
};
pub use metadata::{KeyQueryMetadata, ThreadMetadata};
pub use restore_listener::StateRestoreListener;
pub use pool::StreamThreadPool;
pub use shared::SharedRuntime;
pub use state::State;
