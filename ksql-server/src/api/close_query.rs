//! `POST /close-query` (`{"queryId":"..."}`): stops a push query started on `/query-stream`;
//! its response ends. An unknown id is a `generic_error` 40000.

use axum::body::Body;
use serde::Deserialize;

use super::common::{read_json, State};
use crate::{Error, Result};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseQueryArgs {
    query_id: String,
}

/// The handler.
pub(crate) async fn handle(state: State, body: Body) -> Result<()> {
    let req: CloseQueryArgs = read_json(body, state.config.max_body_bytes).await?;
    let queries = state.push_queries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match queries.get(&req.query_id) {
        Some(stop) => {
            stop.stop();
            Ok(())
        }
        None => Err(Error::bad_request(format!("No query with id {}", req.query_id))),
    }
}
