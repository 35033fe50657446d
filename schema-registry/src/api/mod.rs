//! Confluent Schema Registry's REST API on axum, one file per resource: [`subjects`],
//! [`schemas`], [`config`], [`mode`], [`compatibility`]. Responses are
//! `application/vnd.schemaregistry.v1+json`; request bodies are read as JSON whatever their
//! content type (`application/vnd.schemaregistry.v1+json`, `application/json`,
//! `application/octet-stream`), as Confluent accepts all three. Errors are
//! `{"error_code":..,"message":..}` with Confluent's codes.

pub mod compatibility;
pub mod config;
pub mod mode;
pub mod schemas;
pub mod subjects;

use std::collections::HashMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use crate::registry::Registered;
use crate::schema::{Reference, SchemaType};
use crate::{Error, SchemaRegistry};

/// The content type of every response.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The router over `registry`.
pub fn router(registry: SchemaRegistry) -> Router {
    Router::new()
        .route("/", get(|| async { json(&serde_json::json!({})) }))
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
        .method_not_allowed_fallback(|| async { (StatusCode::METHOD_NOT_ALLOWED, body(405, "HTTP 405 Method Not Allowed")).into_response() })
        .with_state(registry)
}

/// A JSON response with the registry's content type.
pub(crate) fn json<T: Serialize>(v: &T) -> Response {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], bytes).into_response()
}

fn body(code: i32, message: &str) -> Response {
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

/// A version of a subject, as Confluent's `Schema` entity prints it.
#[derive(Debug, Serialize)]
pub(crate) struct SchemaBody {
    subject: String,
    version: i32,
    id: i32,
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    schema_type: Option<SchemaType>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    schema: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
}

impl From<Registered> for SchemaBody {
    fn from(r: Registered) -> Self {
        SchemaBody {
            subject: r.subject,
            version: r.version,
            id: r.id,
            schema_type: (r.schema_type != SchemaType::Avro).then_some(r.schema_type),
            references: r.references,
            schema: r.schema,
            deleted: r.deleted,
        }
    }
}
