//! The crate's one error type, and ksqlDB's error bodies: `{"@type":"generic_error",
//! "error_code":40000,"message":...}`, and `statement_error` with `statementText` and the
//! `entities` of the statements that ran before the failing one. The HTTP status is the error
//! code divided by 100, as in ksqlDB's `Errors`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// `BAD_REQUEST`: malformed JSON, unknown properties, bad arguments.
pub(crate) const BAD_REQUEST: u32 = 40000;
/// `BAD_STATEMENT`: a statement failed to parse, plan or run.
pub(crate) const BAD_STATEMENT: u32 = 40001;
/// `QUERY_ENDPOINT`: `SELECT` or `PRINT` sent to `/ksql`.
pub(crate) const QUERY_ENDPOINT: u32 = 40002;
/// `UNAUTHORIZED`: no or wrong credentials (status 401, with `WWW-Authenticate`).
pub(crate) const UNAUTHORIZED: u32 = 40100;
/// `FORBIDDEN`: a user without an allowed role.
pub(crate) const FORBIDDEN: u32 = 40300;
/// `NOT_FOUND`.
pub(crate) const NOT_FOUND: u32 = 40400;
/// `NOT_ACCEPTABLE`: the `Accept` header asks for nothing the endpoint writes.
pub(crate) const NOT_ACCEPTABLE: u32 = 40600;
/// `PAYLOAD_TOO_LARGE`: a request body over the limit.
pub(crate) const PAYLOAD_TOO_LARGE: u32 = 41300;
/// `UNSUPPORTED_MEDIA_TYPE`: a request body that is not JSON.
pub(crate) const UNSUPPORTED_MEDIA_TYPE: u32 = 41500;
/// `SERVER_ERROR`.
pub(crate) const SERVER_ERROR: u32 = 50000;
/// `COMMAND_QUEUE_CATCHUP_TIMEOUT`: the command of a request's `commandSequenceNumber` was
/// not applied in time.
pub(crate) const COMMAND_QUEUE_CATCHUP_TIMEOUT: u32 = 50302;
/// `SERVER_SHUTTING_DOWN`.
pub(crate) const SHUTTING_DOWN: u32 = 50303;

/// `WWW-Authenticate` on a 401 ([`UNAUTHORIZED`]), with the realm ksqlDB's documentation
/// configures for basic authentication.
pub(crate) const CHALLENGE: &str = "Basic realm=\"KsqlServer-Props\"";

/// Everything the REST server can fail with; each renders as a ksqlDB error body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request ksqlDB answers with a `generic_error` (`error_code` gives the status).
    #[error("{message}")]
    Generic { code: u32, message: String },
    /// A statement failed: `statement_error` with the entities of the statements before it.
    #[error("{message}")]
    Statement { code: u32, message: String, statement_text: String, entities: Vec<Value> },
    /// The engine thread is gone (the server is shutting down).
    #[error("The server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The password file of `--ksql-auth` cannot be used (`line` 0: the whole file).
    #[error("{}:{line}: {message}", path.display())]
    Auth { path: std::path::PathBuf, line: usize, message: String },
    /// A PEM file of `--ksql-tls-cert` / `--ksql-tls-key` cannot be read.
    #[error("{}: {source}", path.display())]
    Pem { path: std::path::PathBuf, source: rustls_pki_types::pem::Error },
    /// The certificate and key do not make a TLS configuration.
    #[error("TLS: {0}")]
    Tls(#[from] tokio_rustls::rustls::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A `generic_error` with `BAD_REQUEST`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error::Generic { code: BAD_REQUEST, message: message.into() }
    }

    /// A `generic_error` with `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::Generic { code: NOT_FOUND, message: message.into() }
    }

    /// ksqlDB's `error_code`.
    pub fn code(&self) -> u32 {
        match self {
            Error::Generic { code, .. } | Error::Statement { code, .. } => *code,
            Error::ShuttingDown => SHUTTING_DOWN,
            Error::Io(_) | Error::Auth { .. } | Error::Pem { .. } | Error::Tls(_) => SERVER_ERROR,
        }
    }

    /// The HTTP status: the error code divided by 100.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16((self.code() / 100) as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        match self {
            Error::Statement { code, message, statement_text, entities } => json!({
                "@type": "statement_error",
                "error_code": code,
                "message": message,
                "statementText": statement_text,
                "entities": entities,
            }),
            other => json!({ "@type": "generic_error", "error_code": other.code(), "message": other.to_string() }),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "ksql request failed");
        }
        let mut response = (status, [(axum::http::header::CONTENT_TYPE, crate::media_type::KSQL_V1_JSON)], self.body().to_string()).into_response();
        if self.code() == UNAUTHORIZED {
            response.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static(CHALLENGE));
        }
        response
    }
}
