//! Confluent Schema Registry's REST API on axum, one file per resource: [`subjects`],
//! [`schemas`], [`config`], [`mode`], [`compatibility`]. Responses are
//! `application/vnd.schemaregistry.v1+json`; request bodies are read as JSON whatever their
//! content type (`application/vnd.schemaregistry.v1+json`, `application/json`,
//! `application/octet-stream`), as Confluent accepts all three. Errors are
//! `{"error_code":..,"message":..}` with Confluent's codes. What the endpoints share (the content
//! type, JSON answers and errors, query flags, request bodies) is in `common.rs`.

pub mod compatibility;
pub mod config;
mod common;
pub mod mode;
pub mod schemas;
pub mod subjects;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::{Error, SchemaRegistry};

pub use self::common::CONTENT_TYPE;

/// The router over `registry`.
pub fn router(registry: SchemaRegistry) -> Router {
    Router::new()
        .route("/", get(|| async { common::json(&serde_json::json!({})) }))
        .route("/subjects", get(subjects::list))
        .route("/subjects/{subject}", post(subjects::lookup).delete(subjects::delete))
        .route("/subjects/{subject}/versions", get(subjects::versions).post(subjects::register))
        .route("/subjects/{subject}/versions/{version}", get(subjects::version).delete(subjects::delete_version))
        .route("/subjects/{subject}/versions/{version}/schema", get(subjects::version_schema))
        .route("/subjects/{subject}/versions/{version}/referencedby", get(subjects::referenced_by))
        .route("/schemas", get(schemas::list))
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::raw_by_id))
        .route("/schemas/ids/{id}/versions", get(schemas::versions))
        .route("/schemas/ids/{id}/subjects", get(schemas::subjects))
        .route("/config", get(config::get_global).put(config::put_global).delete(config::delete_global))
        .route("/config/{subject}", get(config::get_subject).put(config::put_subject).delete(config::delete_subject))
        .route("/mode", get(mode::get_global).put(mode::put_global))
        .route("/mode/{subject}", get(mode::get_subject).put(mode::put_subject).delete(mode::delete_subject))
        .route("/compatibility/subjects/{subject}/versions", post(compatibility::against_all))
        .route("/compatibility/subjects/{subject}/versions/{version}", post(compatibility::against_version))
        .fallback(|| async { Error::NoSuchEndpoint })
        .method_not_allowed_fallback(|| async { (StatusCode::METHOD_NOT_ALLOWED, common::body(405, "HTTP 405 Method Not Allowed")).into_response() })
        .with_state(registry)
}
