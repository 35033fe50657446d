//! The processor API's error type, and [`TopologyError`]: why a topology is rejected, while it
//! is built or when the runtime checks it against the cluster. `TopologyError` is its own
//! enum (inside [`Error::Topology`]) because it is `Clone` and `PartialEq`: the DSL records the
//! first one while lowering and reports it at every `build()`, and tests compare it whole.

use std::path::PathBuf;

/// Errors of topologies, tasks and the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration the runtime cannot start with.
    #[error("invalid config: {0}")]
    Config(String),
    /// A configuration value its key does not take.
    #[error("invalid value {value:?} for {key}")]
    InvalidConfig {
        /// The key.
        key: String,
        /// The value given.
        value: String,
    },
    /// A configuration key that is neither a Kafka Streams key Brook knows nor one for the
    /// clients (`consumer.*`, `producer.*`, ...).
    #[error("unknown config {0:?}")]
    UnknownConfig(String),
    /// A topology that does not validate (unknown parent, duplicate name, unconnected store),
    /// or that the cluster cannot run (a missing source topic, partition counts that differ).
    #[error("invalid topology: {0}")]
    Topology(#[from] TopologyError),
    /// A local file of the state directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done: "creating", "writing", "removing".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A state store error.
    #[error(transparent)]
    Store(#[from] brook_state_store::Error),
    /// A broker or client error.
    #[error(transparent)]
    Broker(#[from] brook_broker::Error),
    /// A record that the source's serde cannot decode.
    #[error("deserialization failed for {topic}-{partition}@{offset}: {message}")]
    Deserialization {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// What went wrong.
        message: String,
    },
    /// A processor failed.
    #[error("processing failed in {processor}: {message}")]
    Processing {
        /// The processor node name.
        processor: String,
        /// What went wrong.
        message: String,
    },
    /// The client is not in a state that allows the call.
    #[error("illegal state: {0}")]
    IllegalState(String),
    /// The task was fenced or migrated to another instance.
    #[error("task migrated: {0}")]
    TaskMigrated(String),
    /// A timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// An interactive query cannot use the store now (Kafka's `InvalidStateStoreException`):
    /// unknown store, instance not running, or a rebalance moving it.
    #[error("invalid state store: {0}")]
    InvalidStateStore(String),
}

/// Why a topology is rejected. Each variant's message names the nodes, stores and topics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    // --- While building ---
    /// A node name that is empty.
    #[error("node names must not be empty")]
    EmptyName,
    /// A node name that is already taken.
    #[error("processor \"{0}\" is already added")]
    DuplicateNode(String),
    /// A processor or sink added without parents.
    #[error("processor \"{0}\" must have at least one parent")]
    NoParent(String),
    /// A node named as its own parent.
    #[error("processor \"{0}\" cannot be a parent of itself")]
    SelfParent(String),
    /// A parent that is not added yet.
    #[error("parent processor \"{parent}\" is not added yet for \"{node}\"")]
    UnknownParent {
        /// The node being added.
        node: String,
        /// The missing parent.
        parent: String,
    },
    /// A sink or a global source named as a parent (they forward nothing to other nodes).
    #[error("{parent_kind} \"{parent}\" cannot be used as a parent of \"{node}\"")]
    InvalidParent {
        /// The node being added.
        node: String,
        /// The parent.
        parent: String,
        /// "sink" or "global source".
        parent_kind: &'static str,
    },
    /// A node whose input types differ from what its parent forwards.
    #[error("\"{node}\" takes {part} of type {expected} but parent \"{parent}\" forwards {actual}")]
    TypeMismatch {
        /// The node being added.
        node: String,
        /// The parent.
        parent: String,
        /// "keys" or "values".
        part: &'static str,
        /// The type the node takes.
        expected: &'static str,
        /// The type the parent forwards.
        actual: &'static str,
    },
    /// A source with neither topics nor a pattern.
    #[error("source \"{0}\" must have at least one topic or a pattern")]
    SourceWithoutTopic(String),
    /// A topic that another source already reads.
    #[error("topic {0} has already been registered by another source")]
    TopicAlreadyRead(String),
    /// A topic that the pattern of another source matches.
    #[error("topic {topic} matches the pattern of source \"{pattern_source}\"")]
    TopicMatchesPattern {
        /// The topic.
        topic: String,
        /// The source with the pattern.
        pattern_source: String,
    },
    /// A pattern that matches a topic another source reads.
    #[error("pattern {pattern} matches topic {topic} of source \"{topic_source}\"")]
    PatternMatchesTopic {
        /// The pattern.
        pattern: String,
        /// The topic.
        topic: String,
        /// The source reading the topic.
        topic_source: String,
    },
    /// A topic pattern that does not compile.
    #[error("invalid topic pattern \"{pattern}\": {reason}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An invalid topic name.
    #[error("invalid topic name \"{0}\"")]
    InvalidTopicName(String),
    /// A fixed partition count below 1 for an internal topic.
    #[error("internal topic \"{topic}\" needs at least 1 partition, got {partitions}")]
    InvalidPartitionCount {
        /// The internal topic.
        topic: String,
        /// The count asked for.
        partitions: i32,
    },
    /// A name given as a source that is not a (non-global) source.
    #[error("\"{0}\" is not a source")]
    NotASource(String),
    /// A name given as a processor that is not added yet.
    #[error("processor \"{0}\" is not added yet")]
    UnknownProcessor(String),
    /// A source or sink given stores (only processors use stores).
    #[error("\"{0}\" is not a processor; only processors can use state stores")]
    NotAProcessor(String),
    /// A store name that is already taken.
    #[error("state store \"{0}\" is already added")]
    DuplicateStore(String),
    /// A store that is not added yet.
    #[error("state store \"{0}\" is not added yet")]
    UnknownStore(String),
    /// A store that no processor uses.
    #[error("state store \"{0}\" is not connected to any processor")]
    UnconnectedStore(String),
    /// A global store connected to a processor (only its global processor writes it).
    #[error("global state store \"{0}\" cannot be connected to a processor")]
    GlobalStoreConnected(String),
    /// A global store with a changelog (its topic is its changelog).
    #[error("global state store \"{0}\" must have logging disabled")]
    GlobalStoreLogged(String),
    /// A global source with several topics or a pattern.
    #[error("global source \"{0}\" must read exactly one topic")]
    GlobalSourceTopics(String),

    // --- Against the cluster, when the runtime starts ---
    /// A source topic that does not exist.
    #[error("source topic \"{topic}\" of sub-topology {subtopology} does not exist; create it before starting")]
    MissingSourceTopic {
        /// The topic.
        topic: String,
        /// The sub-topology reading it.
        subtopology: u32,
    },
    /// A global store's topic that does not exist.
    #[error("global topic \"{0}\" does not exist; create it before starting")]
    MissingGlobalTopic(String),
    /// A pattern source that matches no topic.
    #[error("no topic matches the pattern source \"{pattern}\" of sub-topology {subtopology}; create one before starting")]
    NoTopicMatchesPattern {
        /// The pattern.
        pattern: String,
        /// The sub-topology of the source.
        subtopology: u32,
    },
    /// An existing repartition topic whose partition count differs from the fixed count the
    /// topology declares.
    #[error("repartition topic \"{topic}\" exists with {have} partitions but the topology asks for {want}")]
    RepartitionTopicPartitions {
        /// The topic.
        topic: String,
        /// Its partitions.
        have: i32,
        /// The declared count.
        want: i32,
    },
    /// An existing changelog topic whose partition count differs from its sub-topology's tasks.
    #[error("changelog topic \"{topic}\" has {have} partitions but sub-topology {subtopology} has {tasks} tasks")]
    ChangelogTopicPartitions {
        /// The topic.
        topic: String,
        /// Its partitions.
        have: i32,
        /// The sub-topology of its store.
        subtopology: u32,
        /// The sub-topology's task count.
        tasks: i32,
    },
    /// A sub-topology whose partition count follows from no topic.
    #[error("cannot determine the partition count of sub-topology {0}")]
    UnknownPartitionCount(u32),
    /// Topics that must be co-partitioned but have different partition counts.
    #[error("topics {topics:?} must be co-partitioned (same partition count) but have {}", partition_counts(.counts))]
    NotCopartitioned {
        /// The co-partition group.
        topics: Vec<String>,
        /// The partition count of each topic of the group that exists.
        counts: Vec<(String, i32)>,
    },
    /// A topic read by two sub-topologies.
    #[error("topic \"{topic}\" is read by sub-topologies {first} and {second}")]
    TopicReadTwice {
        /// The topic.
        topic: String,
        /// One reader.
        first: u32,
        /// The other.
        second: u32,
    },

    // --- Creating tasks ---
    /// A task of a sub-topology the topology does not have.
    #[error("no sub-topology {0}")]
    UnknownSubtopology(u32),
    /// A task asked of the sub-topology of a global store (it has none: the global-store task
    /// reads its topic).
    #[error("sub-topology {0} is a global store and has no tasks")]
    GlobalSubtopology(u32),
    /// A task given a partition that none of its sources reads.
    #[error("no source of task {task} reads {topic}")]
    UnreadPartition {
        /// The task.
        task: crate::task_id::AnyTaskId,
        /// The topic of the partition.
        topic: String,
    },
}

fn partition_counts(counts: &[(String, i32)]) -> String {
    counts.iter().map(|(t, n)| format!("{t}: {n}")).collect::<Vec<_>>().join(", ")
}

/// The processor API's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
