//! `/schemas`: schemas by their global id, and the types this registry knows.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use super::common::{flag, json, Query};
use super::subjects::{raw, SchemaBody};
use crate::schema::{Reference, SchemaType};
use crate::{Error, SchemaRegistry};

/// `GET /schemas/types`.
pub(crate) async fn types() -> Response {
    json(&["JSON", "PROTOBUF", "AVRO"])
}

/// `GET /schemas?subjectPrefix=&deleted=&latestOnly=`: every version.
pub(crate) async fn list(State(r): State<SchemaRegistry>, q: Query) -> Response {
    let prefix = q.get("subjectPrefix").map(String::as_str).unwrap_or("");
    let all: Vec<SchemaBody> = r.all_schemas(prefix, flag(&q, "deleted"), flag(&q, "latestOnly")).into_iter().map(SchemaBody::from).collect();
    json(&all)
}

#[derive(Debug, Serialize)]
struct SchemaString {
    #[serde(rename = "schemaType", skip_serializing_if = "Option::is_none")]
    schema_type: Option<SchemaType>,
    schema: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
}

fn id(s: &str) -> Result<i32, Error> {
    s.parse().map_err(|_| Error::SchemaNotFound(None))
}

/// `GET /schemas/ids/{id}?subject=`.
pub(crate) async fn by_id(State(r): State<SchemaRegistry>, Path(i): Path<String>, q: Query) -> Result<Response, Error> {
    let s = r.schema_by_id(id(&i)?, q.get("subject").map(String::as_str))?;
    Ok(json(&SchemaString { schema_type: (s.schema_type != SchemaType::Avro).then_some(s.schema_type), schema: s.schema, references: s.references }))
}

/// `GET /schemas/ids/{id}/schema`: the text alone.
pub(crate) async fn raw_by_id(State(r): State<SchemaRegistry>, Path(i): Path<String>, q: Query) -> Result<Response, Error> {
    let s = r.schema_by_id(id(&i)?, q.get("subject").map(String::as_str))?;
    Ok(raw(s.schema))
}

#[derive(Debug, Serialize)]
struct SubjectVersion {
    subject: String,
    version: i32,
}

/// `GET /schemas/ids/{id}/versions?deleted=`.
pub(crate) async fn versions(State(r): State<SchemaRegistry>, Path(i): Path<String>, q: Query) -> Result<Response, Error> {
    let v: Vec<SubjectVersion> =
        r.id_versions(id(&i)?, flag(&q, "deleted"))?.into_iter().map(|(subject, version)| SubjectVersion { subject, version }).collect();
    Ok(json(&v))
}

/// `GET /schemas/ids/{id}/subjects?deleted=`.
pub(crate) async fn subjects(State(r): State<SchemaRegistry>, Path(i): Path<String>, q: Query) -> Result<Response, Error> {
    Ok(json(&r.id_subjects(id(&i)?, flag(&q, "deleted"))?))
}
