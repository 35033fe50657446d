//! The endpoints, one file each, behind one route table ([`router`]) with its media type
//! checks. What they share is below them: their state, reading a JSON body within the size
//! limit and content negotiation in `common.rs`, property validation in `properties.rs`.

mod close_query;
mod cluster_status;
mod common;
mod healthcheck;
mod info;
mod inserts_stream;
mod is_valid_property;
mod ksql;
mod properties;
mod query;
mod query_stream;
mod status;
pub(crate) mod streaming;
mod terminate;
mod ws;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::shared::Shared;
use crate::Error;

pub use crate::media_type::{DELIMITED, JSON, KSQL_V1_JSON};

/// Every route, behind the media type checks and, when configured, basic authentication.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let auth = shared.config.auth.clone();
    let router = Router::new()
        .route("/ksql", post(ksql::handle))
        .route("/ksql/terminate", post(terminate::handle))
        .route("/query", post(query::handle))
        .route("/query-stream", post(query_stream::handle))
        .route("/close-query", post(close_query::handle))
        .route("/inserts-stream", post(inserts_stream::handle))
        .route("/info", get(info::handle))
        .route("/healthcheck", get(healthcheck::handle))
        .route("/status/{*command_id}", get(status::handle))
        .route("/clusterStatus", get(cluster_status::handle))
        .route("/is_valid_property/{name}", post(is_valid_property::handle))
        .route("/ws/query", get(ws::handle))
        .fallback(|| async { Error::not_found("HTTP 404 Not Found") })
        .with_state(shared)
        .layer(axum::middleware::from_fn(media_types));
    // Outermost, so nothing is read or checked before the credentials.
    match auth {
        Some(auth) => router.layer(axum::middleware::from_fn_with_state(auth, crate::auth::require)),
        None => router,
    }
}

/// The essence of a media type: `application/json` of `Application/JSON; charset=utf-8`.
fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Refuses a request body that is not JSON (415, `error_code` 41500) and an `Accept` header
/// that takes neither JSON nor ksqlDB's types (406, 40600). A body without a `Content-Type` is
/// read as JSON; WebSocket upgrades are not checked.
async fn media_types(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let ours = |t: &str| t == JSON || t.starts_with("application/vnd.ksql");
    if request.method() == Method::POST {
        if let Some(ct) = text(header::CONTENT_TYPE) {
            if !ours(&essence(ct)) {
                let message = format!("Unsupported Content-Type {ct}: send {JSON} or {KSQL_V1_JSON}");
                return Error::Generic { code: crate::error::UNSUPPORTED_MEDIA_TYPE, message }.into_response();
            }
        }
    }
    if let Some(accept) = text(header::ACCEPT).filter(|_| !headers.contains_key(header::UPGRADE)) {
        if !accept.split(',').map(essence).any(|t| t == "*/*" || t == "application/*" || ours(&t)) {
            let message = format!("None of the types in Accept: {accept} is served: accept {JSON}, {KSQL_V1_JSON} or {DELIMITED}");
            return Error::Generic { code: crate::error::NOT_ACCEPTABLE, message }.into_response();
        }
    }
    next.run(request).await
}
