//! The endpoints, one file each, behind one route table ([`router`]), and what they share:
//! reading a JSON body within the size limit, content negotiation, property validation.

mod close_query;
mod cluster_status;
mod healthcheck;
mod info;
mod inserts_stream;
mod is_valid_property;
mod ksql;
mod query;
mod query_stream;
mod status;
pub(crate) mod streaming;
mod terminate;
mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::shared::Shared;
use crate::{Error, Result};

pub use crate::media_type::{DELIMITED, JSON, KSQL_V1_JSON};

pub(crate) type State = axum::extract::State<Arc<Shared>>;

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

/// Kafka Streams, consumer and producer properties a request may set besides `ksql.*`.
const STREAMS_PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "buffered.records.per.partition",
    "cache.max.bytes.buffering",
    "statestore.cache.max.bytes",
    "commit.interval.ms",
    "default.deserialization.exception.handler",
    "default.production.exception.handler",
    "max.task.idle.ms",
    "num.standby.replicas",
    "num.stream.threads",
    "poll.ms",
    "processing.guarantee",
    "replication.factor",
    "state.dir",
    "topology.optimization",
    "fetch.min.bytes",
    "fetch.max.wait.ms",
    "max.poll.records",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "isolation.level",
    "linger.ms",
    "batch.size",
    "acks",
    "compression.type",
];

/// Checks a property a request sets, with ksqlDB's messages.
pub(crate) fn check_property(name: &str, value: &str) -> Result<()> {
    let bare = name.strip_prefix("ksql.streams.").unwrap_or(name);
    let bare = bare.strip_prefix("consumer.").or_else(|| bare.strip_prefix("producer.")).unwrap_or(bare);
    if !(name.starts_with("ksql.") && !name.starts_with("ksql.streams.")) && !STREAMS_PROPERTIES.contains(&bare) {
        return Err(Error::bad_request(format!("Not recognizable as ksql, streams, consumer, or producer property: '{name}'")));
    }
    if bare == "auto.offset.reset" && !matches!(value, "earliest" | "latest" | "none") {
        return Err(Error::bad_request(format!("Invalid value {value} for configuration {name}: String must be one of: latest, earliest, none")));
    }
    Ok(())
}

/// A JSON property value as the engine takes it (`SET 'name'='value'`).
pub(crate) fn property_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Validates `streamsProperties` / `properties` and returns them as strings.
pub(crate) fn properties(props: &serde_json::Map<String, serde_json::Value>) -> Result<BTreeMap<String, String>> {
    props
        .iter()
        .map(|(k, v)| {
            let text = property_text(v);
            check_property(k, &text)?;
            Ok((k.clone(), text))
        })
        .collect()
}
