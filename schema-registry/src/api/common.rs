//! What every endpoint shares: the content type, JSON answers (errors included), the query
//! string and its flags, request bodies.

use std::collections::HashMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Error;

/// The content type of every response.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A JSON response with the registry's content type.
pub(crate) fn json<T: Serialize>(v: &T) -> Response {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], bytes).into_response()
}

/// An error body: `{"error_code":..,"message":..}`.
pub(crate) fn body(code: i32, message: &str) -> Response {
    json(&serde_json::json!({ "error_code": code, "message": message }))
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "schema registry request failed");
        }
        (status, body(self.error_code(), &self.to_string())).into_response()
    }
}

/// The query string.
pub(crate) type Query = axum::extract::Query<HashMap<String, String>>;

/// A `true`/`false` query flag.
pub(crate) fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.get(name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A JSON request body, whatever its content type.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => Error::UnprocessableEntity(e.to_string()),
        _ => Error::BadRequest(e.to_string()),
    })
}
