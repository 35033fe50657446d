//! The crate's one error type.

/// What can go wrong in a connector, a converter or the worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A missing or bad configuration value (connector, converter or worker).
    #[error("{0}")]
    Config(String),
    /// No plugin under this class name or alias.
    #[error("failed to find any class that implements Connector and which name matches {0}")]
    UnknownPlugin(String),
    /// Bytes a converter cannot turn into Connect data, or data it cannot serialize.
    #[error("{0}")]
    Data(String),
    /// A file the connector or the offset store reads or writes.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A database the connector reads or writes failed (PostgreSQL's message).
    #[error("{0}")]
    Database(String),
    /// No such connector, task or plugin (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// A connector of this name exists already (HTTP 409).
    #[error("{0}")]
    AlreadyExists(String),
    /// A request the herder refuses as it stands (HTTP 400): an invalid connector config, offsets
    /// altered while the connector runs.
    #[error("{0}")]
    BadRequest(String),
    /// A request that cannot be served now, e.g. during a rebalance (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A Connect REST API answered with an error (a herder over HTTP).
    #[error("{message}")]
    Rest {
        /// The HTTP status.
        status: u16,
        /// Its `message`.
        message: String,
    },
    /// A failure worth retrying (Kafka's `RetriableException`): the worker retries it for
    /// `errors.retry.timeout`.
    #[error("{0}")]
    Retriable(String),
    /// A converter or transformation failed and `errors.tolerance` does not allow skipping the
    /// record: the task fails (Kafka's `ConnectException("Tolerance exceeded in error handler")`).
    #[error("Tolerance exceeded in error handler")]
    ToleranceExceeded(#[source] Box<Error>),
    /// The broker refused a produce, fetch or commit.
    #[error(transparent)]
    Broker(#[from] brook_broker::Error),
    /// A client of the worker's seam (embedded or Kafka) failed.
    #[error(transparent)]
    Client(#[from] brook_processor_api::Error),
}

impl Error {
    /// The HTTP status Connect's REST API answers this error with.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::AlreadyExists(_) | Error::Conflict(_) => 409,
            Error::BadRequest(_) | Error::Config(_) | Error::UnknownPlugin(_) => 400,
            Error::Rest { status, .. } => *status,
            Error::Data(_) | Error::Io { .. } | Error::Database(_) | Error::Broker(_) | Error::Client(_) | Error::Retriable(_) | Error::ToleranceExceeded(_) => 500,
        }
    }

    /// The Java exception class Kafka would throw for this error, as the dead letter queue's
    /// `__connect.errors.exception.class.name` header names it.
    pub fn java_class(&self) -> &'static str {
        match self {
            Error::Data(_) => "org.apache.kafka.connect.errors.DataException",
            Error::Config(_) => "org.apache.kafka.common.config.ConfigException",
            Error::Retriable(_) => "org.apache.kafka.connect.errors.RetriableException",
            Error::NotFound(_) => "org.apache.kafka.connect.errors.NotFoundException",
            Error::Io { .. } => "java.io.IOException",
            _ => "org.apache.kafka.connect.errors.ConnectException",
        }
    }

    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Error {
        Error::Io { path: path.to_string(), source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
