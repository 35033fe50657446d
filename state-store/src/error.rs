//! The crate's error type.

use std::path::PathBuf;

/// Errors returned by state stores, serdes, restore and checkpoints.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filesystem operation failed (full disk, permissions, ...).
    #[error("i/o error on {path:?}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// RocksDB reported an error other than corruption.
    #[error("rocksdb error in store \"{store}\": {message}")]
    RocksDb {
        /// The store name.
        store: String,
        /// RocksDB's message.
        message: String,
    },
    /// A persistent store was opened by a build without the `rocksdb` feature.
    #[error(
        "store \"{store}\" is persistent (RocksDB) but brook-state-store was built without its `rocksdb` feature: \
         enable the feature (it is on by default) or use an in-memory store"
    )]
    RocksDbDisabled {
        /// The store name.
        store: String,
    },
    /// Bytes could not be decoded (serde, key schema, checkpoint file).
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The store was used after `close`.
    #[error("store \"{0}\" is closed")]
    Closed(String),
    /// A configuration value is invalid.
    #[error("invalid config {key}: {reason}")]
    Config {
        /// The configuration key.
        key: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    #[cfg(feature = "rocksdb")]
    pub(crate) fn rocks(store: &str, e: rocksdb::Error) -> Self {
        Error::RocksDb { store: store.to_owned(), message: e.into_string() }
    }

    pub(crate) fn decode(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Decode { what, reason: reason.into() }
    }
}
