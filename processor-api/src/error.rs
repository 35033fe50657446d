//! The processor API's error type.

/// Errors of topologies, tasks and the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An invalid configuration value.
    #[error("invalid config: {0}")]
    Config(String),
    /// A topology that does not validate (unknown parent, duplicate name, unconnected store).
    #[error("invalid topology: {0}")]
    Topology(String),
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

/// The processor API's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
