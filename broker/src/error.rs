//! The broker's error type and the Kafka wire error codes it maps to.

use std::io;

/// Kafka's wire error codes (`org.apache.kafka.common.protocol.Errors`), the subset Brook returns.
///
/// Every [`Error`] maps to exactly one code through [`Error::code`]; this is the only place where
/// Rust errors become wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(i16)]
pub enum ErrorCode {
    /// The server experienced an unexpected error.
    UnknownServerError = -1,
    /// No error.
    None = 0,
    /// The requested offset is not within the range of offsets maintained by the server.
    OffsetOutOfRange = 1,
    /// The message failed its CRC check, or is otherwise corrupt.
    CorruptMessage = 2,
    /// This server does not host this topic-partition.
    UnknownTopicOrPartition = 3,
    /// The requested fetch size is invalid.
    InvalidFetchSize = 4,
    /// The request timed out.
    RequestTimedOut = 7,
    /// The request included a message larger than the max message size the server will accept.
    MessageTooLarge = 10,
    /// The metadata field of the offset request was too large.
    OffsetMetadataTooLarge = 12,
    /// The coordinator is loading and hence can't process requests.
    CoordinatorLoadInProgress = 14,
    /// The coordinator is not available.
    CoordinatorNotAvailable = 15,
    /// This is not the correct coordinator.
    NotCoordinator = 16,
    /// The request attempted to perform an operation on an invalid topic.
    InvalidTopicException = 17,
    /// The request included message batch larger than the configured segment size on the server.
    RecordListTooLarge = 18,
    /// The group member's generation id is not valid.
    IllegalGeneration = 22,
    /// The group member's supported protocols are incompatible with those of existing members.
    InconsistentGroupProtocol = 23,
    /// The configured groupId is invalid.
    InvalidGroupId = 24,
    /// The coordinator is not aware of this member.
    UnknownMemberId = 25,
    /// The session timeout is not within the range allowed by the broker.
    InvalidSessionTimeout = 26,
    /// The group is rebalancing, so a rejoin is needed.
    RebalanceInProgress = 27,
    /// The committing offset data size is not valid.
    InvalidCommitOffsetSize = 28,
    /// Topic authorization failed.
    TopicAuthorizationFailed = 29,
    /// The version of API is not supported.
    UnsupportedVersion = 35,
    /// Topic with this name already exists.
    TopicAlreadyExists = 36,
    /// Number of partitions is below 1.
    InvalidPartitions = 37,
    /// Replication factor is below 1 or larger than the number of available brokers.
    InvalidReplicationFactor = 38,
    /// This is not the correct controller for this cluster.
    NotController = 41,
    /// The request parameters do not satisfy the configuration constraints.
    InvalidRequest = 42,
    /// The request parameters do not satisfy the configured policy.
    PolicyViolation = 44,
    /// The broker received an out of order sequence number.
    OutOfOrderSequenceNumber = 45,
    /// The broker received a duplicate sequence number.
    DuplicateSequenceNumber = 46,
    /// Producer attempted to produce with an old epoch.
    InvalidProducerEpoch = 47,
    /// The producer attempted a transactional operation in an invalid state.
    InvalidTxnState = 48,
    /// The producer attempted to use a producer id which is not currently assigned to its
    /// transactional id.
    InvalidProducerIdMapping = 49,
    /// The transaction timeout is larger than the maximum value allowed by the broker.
    InvalidTransactionTimeout = 50,
    /// The producer attempted to update a transaction while another concurrent operation on the
    /// same transaction was ongoing.
    ConcurrentTransactions = 51,
    /// Indicates that the transaction coordinator sending a WriteTxnMarker is no longer the current
    /// coordinator for a given producer.
    TransactionCoordinatorFenced = 52,
    /// Transactional Id authorization failed.
    TransactionalIdAuthorizationFailed = 53,
    /// Security features are disabled.
    SecurityDisabled = 54,
    /// Disk error when trying to access log file on the disk.
    KafkaStorageError = 56,
    /// SASL Authentication failed.
    SaslAuthenticationFailed = 58,
    /// This exception is raised by the broker if it could not locate the producer metadata
    /// associated with the producerId in question.
    UnknownProducerId = 59,
    /// Requested operation is not supported by this broker (e.g. topic deletion is disabled).
    InvalidConfig = 40,
    /// The record's timestamp is invalid.
    InvalidTimestamp = 32,
    /// The message format version on the broker does not support the request.
    UnsupportedForMessageFormat = 43,
    /// Unsupported SASL mechanism.
    UnsupportedSaslMechanism = 33,
    /// Request is not valid given the current SASL state.
    IllegalSaslState = 34,
    /// The group is not empty.
    NonEmptyGroup = 68,
    /// The group id does not exist.
    GroupIdNotFound = 69,
    /// The fetch session ID was not found.
    FetchSessionIdNotFound = 70,
    /// The fetch session epoch is invalid.
    InvalidFetchSessionEpoch = 71,
    /// Topic deletion is disabled.
    TopicDeletionDisabled = 73,
    /// The leader epoch in the request is older than the epoch on the broker.
    FencedLeaderEpoch = 74,
    /// The leader epoch in the request is newer than the epoch on the broker.
    UnknownLeaderEpoch = 75,
    /// The requesting client does not support the compression type of given partition.
    UnsupportedCompressionType = 76,
    /// The group member needs to have a valid member id before actually entering a consumer group.
    MemberIdRequired = 79,
    /// The coordinator considers the group full.
    GroupMaxSizeReached = 81,
    /// The broker rejected this static consumer since another consumer with the same
    /// group.instance.id has registered with a different member.id.
    FencedInstanceId = 82,
    /// The record batch was rejected because it contained one or more invalid records.
    InvalidRecord = 87,
    /// There are unstable offsets that need to be cleared.
    UnstableOffsetCommit = 88,
    /// The transactional id could not be found.
    TransactionalIdNotFound = 105,
    /// The producer was fenced (an epoch bump happened, or the transaction timed out).
    ProducerFenced = 90,
}

impl ErrorCode {
    /// The wire value of this code.
    pub fn as_i16(self) -> i16 {
        self as i16
    }

    /// Whether a client may retry the request that produced this code.
    pub fn is_retriable(self) -> bool {
        matches!(
            self,
            ErrorCode::CorruptMessage
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::RequestTimedOut
                | ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator
                | ErrorCode::ConcurrentTransactions
                | ErrorCode::KafkaStorageError
                | ErrorCode::UnstableOffsetCommit
                | ErrorCode::RebalanceInProgress
        )
    }
}

/// Everything that can go wrong inside the broker and its embedded client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on the log directory: a full disk, a permission problem.
    #[error("storage error: {context}: {source}")]
    Storage {
        /// What the broker was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Bytes that do not decode: a corrupt batch, a bad CRC, a truncated frame.
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
    /// A record or batch above `message.max.bytes` / `max.message.bytes`.
    #[error("record batch of {size} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// The offending size.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The topic or partition does not exist.
    #[error("unknown topic or partition: {0}")]
    UnknownTopicOrPartition(String),
    /// A topic with this name (or a colliding name) already exists.
    #[error("topic already exists: {0}")]
    TopicAlreadyExists(String),
    /// The topic name breaks Kafka's naming rules, or the topic is internal.
    #[error("invalid topic: {0}")]
    InvalidTopic(String),
    /// A partition count that is not positive, or smaller than the current one.
    #[error("invalid partitions: {0}")]
    InvalidPartitions(String),
    /// A replication factor other than 1 (Brook runs one node).
    #[error("invalid replication factor: {0}")]
    InvalidReplicationFactor(String),
    /// An unknown or invalid configuration key or value.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A fetch or lookup offset outside the log.
    #[error("offset {offset} is out of range [{start}, {end}]")]
    OffsetOutOfRange {
        /// The requested offset.
        offset: i64,
        /// The log start offset.
        start: i64,
        /// The log end offset.
        end: i64,
    },
    /// Topic deletion is disabled by `delete.topic.enable=false`.
    #[error("topic deletion is disabled")]
    TopicDeletionDisabled,
    /// Any other broker error that maps directly onto a Kafka error code.
    #[error("{message}")]
    Kafka {
        /// The wire code.
        code: ErrorCode,
        /// Human-readable detail.
        message: String,
    },
    /// The data directory (or a stream application's state directory) is locked by another
    /// broker or instance; the message names the holder's pid.
    #[error("{0}")]
    DirectoryLocked(String),
    /// The broker is shutting down or the operation was cancelled.
    #[error("broker is shut down")]
    Shutdown,
    /// A consumer's poll was interrupted by its wakeup handle.
    #[error("consumer poll was woken up")]
    Wakeup,
    /// A client-side timeout expired.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl Error {
    /// The Kafka error code this error is reported as on the wire.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Storage { .. } => ErrorCode::KafkaStorageError,
            Error::Corrupt(_) => ErrorCode::CorruptMessage,
            Error::MessageTooLarge { .. } => ErrorCode::MessageTooLarge,
            Error::UnknownTopicOrPartition(_) => ErrorCode::UnknownTopicOrPartition,
            Error::TopicAlreadyExists(_) => ErrorCode::TopicAlreadyExists,
            Error::InvalidTopic(_) => ErrorCode::InvalidTopicException,
            Error::InvalidPartitions(_) => ErrorCode::InvalidPartitions,
            Error::InvalidReplicationFactor(_) => ErrorCode::InvalidReplicationFactor,
            Error::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Error::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            Error::TopicDeletionDisabled => ErrorCode::TopicDeletionDisabled,
            Error::Kafka { code, .. } => *code,
            Error::DirectoryLocked(_) => ErrorCode::KafkaStorageError,
            Error::Shutdown => ErrorCode::UnknownServerError,
            Error::Timeout(_) => ErrorCode::RequestTimedOut,
            Error::Wakeup => ErrorCode::UnknownServerError,
        }
    }

    /// An error that is just a Kafka code with a message.
    pub fn kafka(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Kafka {
            code,
            message: message.into(),
        }
    }

    /// Wraps an I/O error with what the broker was doing.
    pub fn storage(context: impl Into<String>, source: io::Error) -> Error {
        Error::Storage {
            context: context.into(),
            source,
        }
    }
}

/// The broker's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
