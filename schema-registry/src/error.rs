//! The registry's one error type: every variant knows its HTTP status and Confluent's
//! `error_code` (the body of an error response is `{"error_code":..,"message":..}`).

/// What went wrong, with Confluent's messages (`Errors.java` of the Schema Registry).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 40401.
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    /// 40402.
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    /// 40403, with the id when one was asked for.
    #[error("{}", match .0 { Some(id) => format!("Schema {id} not found"), None => "Schema not found".to_owned() })]
    SchemaNotFound(Option<i32>),
    /// 40404.
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    /// 40405.
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    /// 40406.
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, i32),
    /// 40407.
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, i32),
    /// 40408.
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectCompatibilityNotConfigured(String),
    /// 40409.
    #[error("Subject '{0}' does not have subject-level mode configured")]
    SubjectModeNotConfigured(String),
    /// 409: the schema breaks the subject's compatibility level.
    #[error("{0}")]
    Incompatible(String),
    /// 42201.
    #[error("Invalid schema {0}")]
    InvalidSchema(String),
    /// 42202.
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    /// 42203.
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibility,
    /// 42204.
    #[error("Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, IMPORT")]
    InvalidMode,
    /// 42205.
    #[error("{0}")]
    OperationNotPermitted(String),
    /// 42206: a schema that others reference cannot be deleted.
    #[error("{0}")]
    ReferenceExists(String),
    /// 42207: IMPORT mode, the id is taken by another schema.
    #[error("{0}")]
    IdDoesNotMatch(String),
    /// 42208.
    #[error("Invalid subject {0}")]
    InvalidSubject(String),
    /// 422: a request body that is not what the endpoint takes.
    #[error("{0}")]
    UnprocessableEntity(String),
    /// 400: a request body that is not JSON.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such endpoint.
    #[error("HTTP 404 Not Found")]
    NoSuchEndpoint,
    /// 50001: the `_schemas` topic could not be written or read.
    #[error("Error while storing the schema: {0}")]
    Store(String),
    /// 50002: the write was not read back in time.
    #[error("Write to the Kafka store timed out while waiting for the record to be read back")]
    Timeout,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        match self {
            Error::SubjectNotFound(_)
            | Error::VersionNotFound(_)
            | Error::SchemaNotFound(_)
            | Error::SubjectSoftDeleted(_)
            | Error::SubjectNotSoftDeleted(_)
            | Error::VersionSoftDeleted(..)
            | Error::VersionNotSoftDeleted(..)
            | Error::SubjectCompatibilityNotConfigured(_)
            | Error::SubjectModeNotConfigured(_)
            | Error::NoSuchEndpoint => 404,
            Error::BadRequest(_) => 400,
            Error::Incompatible(_) => 409,
            Error::InvalidSchema(_)
            | Error::InvalidVersion(_)
            | Error::InvalidCompatibility
            | Error::InvalidMode
            | Error::OperationNotPermitted(_)
            | Error::ReferenceExists(_)
            | Error::IdDoesNotMatch(_)
            | Error::InvalidSubject(_)
            | Error::UnprocessableEntity(_) => 422,
            Error::Store(_) | Error::Timeout => 500,
        }
    }

    /// Confluent's `error_code`.
    pub fn error_code(&self) -> i32 {
        match self {
            Error::SubjectNotFound(_) => 40401,
            Error::VersionNotFound(_) => 40402,
            Error::SchemaNotFound(_) => 40403,
            Error::SubjectSoftDeleted(_) => 40404,
            Error::SubjectNotSoftDeleted(_) => 40405,
            Error::VersionSoftDeleted(..) => 40406,
            Error::VersionNotSoftDeleted(..) => 40407,
            Error::SubjectCompatibilityNotConfigured(_) => 40408,
            Error::SubjectModeNotConfigured(_) => 40409,
            Error::NoSuchEndpoint => 404,
            Error::BadRequest(_) => 400,
            Error::Incompatible(_) => 409,
            Error::InvalidSchema(_) => 42201,
            Error::InvalidVersion(_) => 42202,
            Error::InvalidCompatibility => 42203,
            Error::InvalidMode => 42204,
            Error::OperationNotPermitted(_) => 42205,
            Error::ReferenceExists(_) => 42206,
            Error::IdDoesNotMatch(_) => 42207,
            Error::InvalidSubject(_) => 42208,
            Error::UnprocessableEntity(_) => 422,
            Error::Store(_) => 50001,
            Error::Timeout => 50002,
        }
    }
}
