//! `/config`: compatibility levels, global and per subject. Reads answer
//! `{"compatibilityLevel":..}`, updates `{"compatibility":..}`, as Confluent's do.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::common::{flag, json, parse_body, Query};
use crate::compat::Compatibility;
use crate::{Error, SchemaRegistry};

#[derive(Debug, Deserialize)]
struct ConfigUpdate {
    compatibility: Option<String>,
    #[serde(rename = "compatibilityLevel")]
    compatibility_level: Option<String>,
}

fn level(body: &[u8]) -> Result<Compatibility, Error> {
    let u: ConfigUpdate = parse_body(body)?;
    u.compatibility.or(u.compatibility_level).and_then(|c| Compatibility::parse(&c)).ok_or(Error::InvalidCompatibility)
}

fn read(c: Compatibility) -> Response {
    json(&serde_json::json!({ "compatibilityLevel": c.name() }))
}

/// `GET /config`.
pub(crate) async fn get_global(State(r): State<SchemaRegistry>) -> Response {
    read(r.compatibility(None))
}

/// `PUT /config`.
pub(crate) async fn put_global(State(r): State<SchemaRegistry>, body: Bytes) -> Result<Response, Error> {
    let c = r.set_compatibility(None, level(&body)?).await?;
    Ok(json(&serde_json::json!({ "compatibility": c.name() })))
}

/// `DELETE /config`: back to the default; the level before.
pub(crate) async fn delete_global(State(r): State<SchemaRegistry>) -> Result<Response, Error> {
    Ok(read(r.delete_compatibility(None).await?))
}

/// `GET /config/{s}?defaultToGlobal=`.
pub(crate) async fn get_subject(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query) -> Result<Response, Error> {
    match r.configured_compatibility(Some(&subject)) {
        Some(c) => Ok(read(c)),
        None if flag(&q, "defaultToGlobal") => Ok(read(r.compatibility(None))),
        None => Err(Error::SubjectCompatibilityNotConfigured(subject)),
    }
}

/// `PUT /config/{s}`.
pub(crate) async fn put_subject(State(r): State<SchemaRegistry>, Path(subject): Path<String>, body: Bytes) -> Result<Response, Error> {
    let c = r.set_compatibility(Some(&subject), level(&body)?).await?;
    Ok(json(&serde_json::json!({ "compatibility": c.name() })))
}

/// `DELETE /config/{s}`: the level the subject had.
pub(crate) async fn delete_subject(State(r): State<SchemaRegistry>, Path(subject): Path<String>) -> Result<Response, Error> {
    Ok(read(r.delete_compatibility(Some(&subject)).await?))
}
