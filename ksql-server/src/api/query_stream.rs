//! `POST /query-stream`: a pull or push query, answered as a header object
//! (`{"queryId","columnNames","columnTypes"}`) then one JSON array per row, each on its own line
//! (`application/vnd.ksqlapi.delimited.v1`, the default) or all in one JSON array
//! (`Accept: application/json`). Push queries stream until `LIMIT`, `/close-query` or the client
//! disconnects. Errors are `generic_error` bodies.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::streaming::{self, generic, Framing};
use super::common::{read_json, wants_json, State};
use super::properties::properties;
use crate::media_type::{DELIMITED, JSON};
use crate::Result;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryStreamArgs {
    sql: String,
    #[serde(default)]
    properties: Map<String, Json>,
    #[serde(default)]
    session_variables: Map<String, Json>,
}

/// The handler.
pub(crate) async fn handle(state: State, headers: HeaderMap, body: Body) -> Result<Response> {
    let req: QueryStreamArgs = read_json(body, state.config.max_body_bytes).await?;
    let props = properties(&req.properties)?;
    let vars = super::ksql::variables(&req.session_variables);
    let (framing, content_type) = if wants_json(&headers) { (Framing::JsonArray, JSON) } else { (Framing::Delimited, DELIMITED) };
    let started = streaming::start(&state, req.sql, props, vars, false).await.map_err(generic)?;
    let body = streaming::body(&state, started, framing)?;
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
