//! What every endpoint shares: its state (the server's [`Shared`]), reading a JSON body within
//! the size limit, whether the client asked for plain JSON.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use crate::media_type::JSON;
use crate::shared::Shared;
use crate::{Error, Result};

/// The state every handler takes.
pub(crate) type State = axum::extract::State<Arc<Shared>>;

/// Reads a whole body (at most `limit` bytes) and parses it as `T`.
pub(crate) async fn read_json<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Error::Generic { code: crate::error::PAYLOAD_TOO_LARGE, message: format!("Request body is larger than the limit of {limit} bytes") })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::bad_request(format!("Invalid JSON in request: {e}")))
}

/// Whether the client asked for `application/json` rather than ksqlDB's own type.
pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains(JSON) && !a.contains("vnd.ksql"))
}
