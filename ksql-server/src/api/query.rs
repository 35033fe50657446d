//! `POST /query` (API v1): a query or `PRINT`, answered as one chunked JSON array:
//! `{"header":{"queryId","schema"}}`, then `{"row":{"columns":[...]}}` per row, and
//! `{"finalMessage":"Limit Reached"}` when a push query reaches its `LIMIT`.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use super::ksql::{variables, KsqlRequest};
use super::streaming::{self, Framing};
use super::common::{read_json, wants_json, State};
use super::properties::properties;
use crate::media_type::{JSON, KSQL_V1_JSON};
use crate::Result;

/// The handler.
pub(crate) async fn handle(state: State, headers: HeaderMap, body: Body) -> Result<Response> {
    let req: KsqlRequest = read_json(body, state.config.max_body_bytes).await?;
    if let Some(n) = req.command_sequence_number {
        super::ksql::wait_for_command(&state, n).await?;
    }
    let props = properties(&req.streams_properties)?;
    let vars = variables(&req.session_variables);
    let started = streaming::start(&state, req.ksql, props, vars, true).await?;
    let body = streaming::body(&state, started, Framing::V1)?;
    let content_type = if wants_json(&headers) { JSON } else { KSQL_V1_JSON };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}
