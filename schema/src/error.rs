//! The crate's error type, with Schema Registry's error codes.

/// Schema Registry error codes (the `error_code` field of an error body).
pub mod code {
    /// 40101: the credentials were rejected.
    pub const UNAUTHORIZED: i32 = 40101;
    /// 40401: the subject does not exist.
    pub const SUBJECT_NOT_FOUND: i32 = 40401;
    /// 40402: the subject has no such version.
    pub const VERSION_NOT_FOUND: i32 = 40402;
    /// 40403: no schema with this id (or no matching schema under the subject).
    pub const SCHEMA_NOT_FOUND: i32 = 40403;
    /// 409: the schema is incompatible with earlier versions (HTTP 409).
    pub const INCOMPATIBLE_SCHEMA: i32 = 409;
    /// 42201: the schema does not parse.
    pub const INVALID_SCHEMA: i32 = 42201;
    /// 42202: the version is not a positive integer or `latest`.
    pub const INVALID_VERSION: i32 = 42202;
    /// 50001: the registry could not store the schema.
    pub const STORE_ERROR: i32 = 50001;
    /// 50002: the registry timed out.
    pub const OPERATION_TIMEOUT: i32 = 50002;
}

/// Errors of the registry clients, the wire format and the serdes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 40401.
    #[error("subject {0:?} not found")]
    SubjectNotFound(String),
    /// 40402.
    #[error("version {version} of subject {subject:?} not found")]
    VersionNotFound {
        /// The subject.
        subject: String,
        /// The version asked for.
        version: i32,
    },
    /// 40403: by id, or no schema under a subject equal to the one looked up.
    #[error("schema not found: {0}")]
    SchemaNotFound(String),
    /// 409.
    #[error("schema being registered is incompatible with an earlier schema: {0}")]
    Incompatible(String),
    /// 42201.
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// 42202.
    #[error("invalid version: {0}")]
    InvalidVersion(String),
    /// 40101 or HTTP 401/403.
    #[error("schema registry rejected the credentials: {0}")]
    Unauthorized(String),
    /// Any other error code the registry returned.
    #[error("schema registry error {code}: {message}")]
    Registry {
        /// The registry's `error_code`.
        code: i32,
        /// The registry's message.
        message: String,
    },
    /// The registry could not be reached (connection refused, timeout, DNS).
    #[error("schema registry at {url} is unreachable: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The registry answered with a body this client does not understand.
    #[error("unexpected response from schema registry at {url}: {reason}")]
    BadResponse {
        /// The URL requested.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A client configuration value is invalid.
    #[error("invalid schema registry config {key}: {reason}")]
    Config {
        /// The configuration key.
        key: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Serialized bytes do not start with the magic byte 0 and a 4-byte id.
    #[error("unknown magic byte: {0}")]
    UnknownMagicByte(String),
    /// A value could not be encoded with its schema.
    #[error("cannot serialize with {format} schema: {reason}")]
    Serialize {
        /// AVRO, JSON or PROTOBUF.
        format: &'static str,
        /// Why.
        reason: String,
    },
    /// Bytes could not be decoded with their schema.
    #[error("cannot deserialize {format} payload: {reason}")]
    Deserialize {
        /// AVRO, JSON or PROTOBUF.
        format: &'static str,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// The error for a registry answer with `error_code` `code` and `message`.
    #[must_use]
    pub fn from_code(code: i32, message: String) -> Self {
        match code {
            code::SUBJECT_NOT_FOUND => Self::SubjectNotFound(message),
            code::VERSION_NOT_FOUND => Self::VersionNotFound { subject: message, version: -1 },
            code::SCHEMA_NOT_FOUND => Self::SchemaNotFound(message),
            code::INCOMPATIBLE_SCHEMA => Self::Incompatible(message),
            code::INVALID_SCHEMA => Self::InvalidSchema(message),
            code::INVALID_VERSION => Self::InvalidVersion(message),
            code::UNAUTHORIZED => Self::Unauthorized(message),
            code => Self::Registry { code, message },
        }
    }

    /// The registry error code of this error, if it is one the registry answers with.
    #[must_use]
    pub fn code(&self) -> Option<i32> {
        Some(match self {
            Self::SubjectNotFound(_) => code::SUBJECT_NOT_FOUND,
            Self::VersionNotFound { .. } => code::VERSION_NOT_FOUND,
            Self::SchemaNotFound(_) => code::SCHEMA_NOT_FOUND,
            Self::Incompatible(_) => code::INCOMPATIBLE_SCHEMA,
            Self::InvalidSchema(_) => code::INVALID_SCHEMA,
            Self::InvalidVersion(_) => code::INVALID_VERSION,
            Self::Unauthorized(_) => code::UNAUTHORIZED,
            Self::Registry { code, .. } => *code,
            _ => return None,
        })
    }

    /// Whether retrying later may succeed (the registry is down or timed out).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
            || matches!(self.code(), Some(code::STORE_ERROR | code::OPERATION_TIMEOUT))
    }

    pub(crate) fn serialize(format: &'static str, reason: impl ToString) -> Self {
        Self::Serialize { format, reason: reason.to_string() }
    }

    pub(crate) fn deserialize(format: &'static str, reason: impl ToString) -> Self {
        Self::Deserialize { format, reason: reason.to_string() }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
