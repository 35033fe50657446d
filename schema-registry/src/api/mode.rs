//! `/mode`: READWRITE, READONLY, READONLY_OVERRIDE, IMPORT, global and per subject.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::common::{flag, json, parse_body, Query};
use crate::registry::Mode;
use crate::{Error, SchemaRegistry};

#[derive(Debug, Deserialize)]
struct ModeUpdate {
    mode: String,
}

fn mode(body: &[u8]) -> Result<Mode, Error> {
    let u: ModeUpdate = parse_body(body)?;
    Mode::parse(&u.mode).ok_or(Error::InvalidMode)
}

fn out(m: Mode) -> Response {
    json(&serde_json::json!({ "mode": m.name() }))
}

/// `GET /mode`.
pub(crate) async fn get_global(State(r): State<SchemaRegistry>) -> Response {
    out(r.mode(None))
}

/// `PUT /mode?force=`.
pub(crate) async fn put_global(State(r): State<SchemaRegistry>, q: Query, body: Bytes) -> Result<Response, Error> {
    Ok(out(r.set_mode(None, mode(&body)?, flag(&q, "force")).await?))
}

/// `GET /mode/{s}?defaultToGlobal=`.
pub(crate) async fn get_subject(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query) -> Result<Response, Error> {
    match r.configured_mode(&subject) {
        Some(m) => Ok(out(m)),
        None if flag(&q, "defaultToGlobal") => Ok(out(r.mode(None))),
        None => Err(Error::SubjectModeNotConfigured(subject)),
    }
}

/// `PUT /mode/{s}?force=`.
pub(crate) async fn put_subject(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query, body: Bytes) -> Result<Response, Error> {
    Ok(out(r.set_mode(Some(&subject), mode(&body)?, flag(&q, "force")).await?))
}

/// `DELETE /mode/{s}`: the mode the subject had.
pub(crate) async fn delete_subject(State(r): State<SchemaRegistry>, Path(subject): Path<String>) -> Result<Response, Error> {
    Ok(out(r.delete_mode(&subject).await?))
}
