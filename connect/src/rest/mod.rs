//! Connect's REST API (port 8083) over a [`Herder`]: one file per resource behind one route
//! table ([`router`]), with Connect's bodies and status codes. Errors are Connect's
//! `{"error_code": 404, "message": "Connector x not found"}`.
//!
//! Where Brook differs from Kafka: a body that is not valid JSON is a 400 (Kafka answers 500
//! with Jackson's message); requests are never forwarded to a leader (a distributed herder
//! answers 409 while it cannot serve one).

mod client;
mod connector;
mod connectors;
mod lifecycle;
mod offsets;
mod plugins;
mod restart;
mod root;
mod status;
mod tasks;
mod topics;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::herder::Herder;

pub use self::client::RestHerder;

/// The herder the handlers share.
pub(crate) type State = axum::extract::State<Arc<dyn Herder>>;

/// Every route of Connect's REST API.
pub fn router(herder: Arc<dyn Herder>) -> Router {
    Router::new()
        .route("/", get(root::handle))
        .route("/connectors", get(connectors::list).post(connectors::create))
        .route("/connectors/{name}", get(connector::get).delete(connector::delete))
        .route("/connectors/{name}/config", get(connector::get_config).put(connector::put_config))
        .route("/connectors/{name}/status", get(status::connector))
        .route("/connectors/{name}/tasks", get(tasks::list))
        .route("/connectors/{name}/tasks/{task}/status", get(status::task))
        .route("/connectors/{name}/tasks/{task}/restart", post(tasks::restart))
        .route("/connectors/{name}/restart", post(restart::handle))
        .route("/connectors/{name}/pause", put(lifecycle::pause))
        .route("/connectors/{name}/resume", put(lifecycle::resume))
        .route("/connectors/{name}/stop", put(lifecycle::stop))
        .route("/connectors/{name}/offsets", get(offsets::get).patch(offsets::alter).delete(offsets::reset))
        .route("/connectors/{name}/topics", get(topics::get))
        .route("/connectors/{name}/topics/reset", put(topics::reset))
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{plugin}/config", get(plugins::config))
        .route("/connector-plugins/{plugin}/config/validate", put(plugins::validate))
        .fallback(|| async { RestError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found") })
        .method_not_allowed_fallback(|| async { RestError::new(StatusCode::METHOD_NOT_ALLOWED, "HTTP 405 Method Not Allowed") })
        .with_state(herder)
}

/// Serves the REST API on `listener` until `shutdown` completes.
///
/// # Errors
/// I/O errors of the listener.
///
/// # Cancel safety
/// Dropping the future closes the listener; requests already being served finish on their own
/// tasks. Use `shutdown` for a graceful stop.
pub async fn serve(listener: tokio::net::TcpListener, herder: Arc<dyn Herder>, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "Kafka Connect REST API listening");
    axum::serve(listener, router(herder)).with_graceful_shutdown(shutdown).await
}

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
