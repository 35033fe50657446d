//! Connect's REST API (port 8083) over a [`Herder`]: one file per resource behind one route
//! table ([`router`]), with Connect's bodies and status codes. Errors are Connect's
//! `{"error_code": 404, "message": "Connector x not found"}`.
//!
//! Where Brook differs from Kafka: a body that is not valid JSON is a 400 (Kafka answers 500
//! with Jackson's message); requests are never forwarded to a leader (a distributed herder
//! answers 409 while it cannot serve one).
//!
//! What the handlers share (the herder as their state, error answers, request bodies, query
//! parameters) is in `common.rs`.

mod client;
mod common;
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

use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::Router;

use self::common::RestError;
use crate::herder::Herder;

pub use self::client::RestHerder;

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
