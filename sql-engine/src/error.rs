//! The SQL engine's one error type. Messages follow ksqlDB's wording where users grep for it
//! (`Syntax Error`, `Exception while preprocessing step`, ...), identifiers quoted, lowercase
//! start, no trailing period.

use crate::parser::position::Position;

/// Everything the SQL engine can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a statement: `line 1:8: Syntax Error ...`.
    #[error("line {}:{}: {message}", position.line, position.column)]
    Parse { position: Position, message: String },
    /// The statement parses but does not make sense against the catalog (unknown source or
    /// column, type mismatch, unsupported clause combination).
    #[error("{0}")]
    Analysis(String),
    /// An expression failed on one record (division by zero, bad cast, ...). Queries catch it,
    /// write it to the processing log and go on.
    #[error("{0}")]
    Eval(String),
    /// A record could not be serialized or deserialized with its format.
    #[error("{0}")]
    Serde(String),
    /// The statement is valid ksqlDB that Brook does not run (yet).
    #[error("{0}")]
    Unsupported(String),
    /// The Kafka cluster refused or failed a call (topic creation, an append, a read).
    #[error("{0}")]
    Cluster(String),
    /// A failure of the stream runtime or the DSL below the engine.
    #[error(transparent)]
    Streams(#[from] brook_streams_dsl::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Err(Error::Analysis(format!(...)))`.
#[macro_export]
macro_rules! analysis_err {
    ($($arg:tt)*) => { Err($crate::Error::Analysis(format!($($arg)*))) };
}

/// `Err(Error::Eval(format!(...)))`.
#[macro_export]
macro_rules! eval_err {
    ($($arg:tt)*) => { Err($crate::Error::Eval(format!($($arg)*))) };
}
