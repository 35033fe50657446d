//! The crate's error type.

/// Errors of the DSL: recorded while building and reported by
/// [`crate::StreamsBuilder::build`], or raised by the underlying topology.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A DSL program that cannot be lowered (missing serde, bad options, ...).
    #[error("invalid DSL program: {0}")]
    Invalid(String),
    /// The processor-api topology rejected a node.
    #[error(transparent)]
    Topology(#[from] brook_processor_api::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
