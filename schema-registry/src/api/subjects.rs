//! `/subjects`: list, register, look up, read and delete versions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use super::common::{flag, json, parse_body, Query, CONTENT_TYPE};
use crate::registry::{Registered, SchemaRequest, VersionSpec};
use crate::schema::{Reference, SchemaType};
use crate::{Error, SchemaRegistry};

/// `GET /subjects?deleted=&subjectPrefix=`: the subjects, sorted.
pub(crate) async fn list(State(r): State<SchemaRegistry>, q: Query) -> Response {
    let prefix = q.get("subjectPrefix").map(String::as_str).unwrap_or("");
    json(&r.subjects(prefix, flag(&q, "deleted")))
}

/// `GET /subjects/{s}/versions?deleted=`: the version numbers.
pub(crate) async fn versions(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query) -> Result<Response, Error> {
    Ok(json(&r.versions(&subject, flag(&q, "deleted"))?))
}

/// `POST /subjects/{s}/versions?normalize=`: registers; `{"id":N}`.
pub(crate) async fn register(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query, body: Bytes) -> Result<Response, Error> {
    let req: SchemaRequest = parse_body(&body)?;
    let id = r.register(&subject, &req, flag(&q, "normalize")).await?;
    Ok(json(&serde_json::json!({ "id": id })))
}

/// `GET /subjects/{s}/versions/{v}?deleted=`.
pub(crate) async fn version(
    State(r): State<SchemaRegistry>,
    Path((subject, version)): Path<(String, String)>,
    q: Query,
) -> Result<Response, Error> {
    let v = VersionSpec::parse(&version)?;
    Ok(json(&SchemaBody::from(r.version(&subject, v, flag(&q, "deleted"))?)))
}

/// `GET /subjects/{s}/versions/{v}/schema`: the schema text alone.
pub(crate) async fn version_schema(
    State(r): State<SchemaRegistry>,
    Path((subject, version)): Path<(String, String)>,
    q: Query,
) -> Result<Response, Error> {
    let v = VersionSpec::parse(&version)?;
    let s = r.version(&subject, v, flag(&q, "deleted"))?;
    Ok(raw(s.schema))
}

/// `GET /subjects/{s}/versions/{v}/referencedby`: the ids of the schemas that reference it.
pub(crate) async fn referenced_by(State(r): State<SchemaRegistry>, Path((subject, version)): Path<(String, String)>) -> Result<Response, Error> {
    let v = r.version(&subject, VersionSpec::parse(&version)?, false)?;
    let mut ids: Vec<i32> = r
        .all_schemas("", false, false)
        .into_iter()
        .filter(|s| s.references.iter().any(|x| x.subject == subject && x.version == v.version))
        .map(|s| s.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(json(&ids))
}

/// The schema text as the body (Confluent sends it with the JSON content type).
pub(crate) fn raw(text: String) -> Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// `POST /subjects/{s}?normalize=&deleted=`: the version with this schema.
pub(crate) async fn lookup(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query, body: Bytes) -> Result<Response, Error> {
    let req: SchemaRequest = parse_body(&body)?;
    Ok(json(&SchemaBody::from(r.lookup(&subject, &req, flag(&q, "normalize"), flag(&q, "deleted"))?)))
}

/// `DELETE /subjects/{s}?permanent=`: the versions deleted.
pub(crate) async fn delete(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query) -> Result<Response, Error> {
    Ok(json(&r.delete_subject(&subject, flag(&q, "permanent")).await?))
}

/// `DELETE /subjects/{s}/versions/{v}?permanent=`: the version deleted.
pub(crate) async fn delete_version(
    State(r): State<SchemaRegistry>,
    Path((subject, version)): Path<(String, String)>,
    q: Query,
) -> Result<Response, Error> {
    let v = VersionSpec::parse(&version)?;
    Ok(json(&r.delete_version(&subject, v, flag(&q, "permanent")).await?))
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
