//! What the handlers share: the herder as their state, error answers and results, request
//! bodies, query parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

use crate::herder::Herder;

/// The herder the handlers share.
pub(crate) type State = axum::extract::State<Arc<dyn Herder>>;

/// An error answer: `{"error_code": STATUS, "message": "..."}`.
#[derive(Debug)]
pub(crate) struct RestError {
    status: StatusCode,
    message: String,
}

impl RestError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> RestError {
        RestError { status, message: message.into() }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> RestError {
        RestError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<crate::Error> for RestError {
    fn from(e: crate::Error) -> RestError {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %e, "Connect REST request failed");
        }
        RestError { status, message: e.to_string() }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error_code": self.status.as_u16(), "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

/// A handler's result.
pub(crate) type RestResult<T> = Result<T, RestError>;

/// Parses a request body as `T`; a body that is not JSON of that shape is a 400.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &Bytes) -> RestResult<T> {
    serde_json::from_slice(body).map_err(|e| RestError::bad_request(format!("Invalid request body: {e}")))
}

/// The values of query parameter `key` in a raw query string (`expand=status&expand=info`).
pub(crate) fn query_values(query: Option<&str>, key: &str) -> Vec<String> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == key).then(|| v.to_owned())
        })
        .collect()
}

/// A boolean query parameter (`includeTasks=true`); absent is false.
pub(crate) fn query_flag(query: Option<&str>, key: &str) -> RestResult<bool> {
    match query_values(query, key).last().map(String::as_str) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(RestError::bad_request(format!("Invalid value {v} for query parameter {key}: expected true or false"))),
    }
}
