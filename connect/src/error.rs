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
    /// The broker refused a produce, fetch or commit.
    #[error(transparent)]
    Broker(#[from] brook_broker::Error),
    /// A client of the worker's seam (embedded or Kafka) failed.
    #[error(transparent)]
    Client(#[from] brook_processor_api::Error),
}

impl Error {
    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Error {
        Error::Io { path: path.to_string(), source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
