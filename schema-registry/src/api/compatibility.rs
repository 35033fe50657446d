//! `/compatibility`: would this schema be accepted? `{"is_compatible":bool}`, with
//! `"messages"` under `?verbose=true`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::common::{flag, json, parse_body, Query};
use crate::registry::{SchemaRequest, VersionSpec};
use crate::{Error, SchemaRegistry};

fn answer(messages: Vec<String>, verbose: bool) -> Response {
    if verbose {
        json(&serde_json::json!({ "is_compatible": messages.is_empty(), "messages": messages }))
    } else {
        json(&serde_json::json!({ "is_compatible": messages.is_empty() }))
    }
}

/// `POST /compatibility/subjects/{s}/versions/{v}?verbose=`: against that version.
pub(crate) async fn against_version(
    State(r): State<SchemaRegistry>,
    Path((subject, version)): Path<(String, String)>,
    q: Query,
    body: Bytes,
) -> Result<Response, Error> {
    let v = VersionSpec::parse(&version)?;
    let req: SchemaRequest = parse_body(&body)?;
    Ok(answer(r.test_compatibility(&subject, Some(v), &req)?, flag(&q, "verbose")))
}

/// `POST /compatibility/subjects/{s}/versions?verbose=`: against the versions the subject's
/// level names.
pub(crate) async fn against_all(State(r): State<SchemaRegistry>, Path(subject): Path<String>, q: Query, body: Bytes) -> Result<Response, Error> {
    let req: SchemaRequest = parse_body(&body)?;
    Ok(answer(r.test_compatibility(&subject, None, &req)?, flag(&q, "verbose")))
}
