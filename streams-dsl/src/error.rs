//! The crate's error type.

use brook_processor_api::TopologyError;

/// Errors of the DSL: recorded while building and reported by [`crate::StreamsBuilder::build`]
/// (the first one, at every call; hence `Clone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A type with no default serde, and none passed in the options or registered.
    #[error("no {what} serde for type {type_name} (pass one in the options)")]
    MissingSerde {
        /// "key" or "value".
        what: &'static str,
        /// The Rust type.
        type_name: &'static str,
    },
    /// `suppress(until_window_closes)` on a table that is not windowed.
    #[error("suppress(until_window_closes) on \"{0}\" needs a windowed table")]
    SuppressNeedsWindows(String),
    /// A lookup by key (a join, a value getter) on a windowed or suppressed table.
    #[error("table \"{0}\" cannot be looked up by key (windowed or suppressed)")]
    NotLookupable(String),
    /// The processor-api topology rejected a node the DSL added.
    #[error(transparent)]
    Topology(#[from] TopologyError),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
