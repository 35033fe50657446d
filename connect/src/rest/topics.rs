//! `GET /connectors/{name}/topics` (`{"name":{"topics":[...]}}`) and
//! `PUT /connectors/{name}/topics/reset` (202).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::common::{RestResult, State};

/// `GET /connectors/{name}/topics`.
pub(crate) async fn get(state: State, Path(name): Path<String>) -> RestResult<Json<Value>> {
    let topics = state.connector_topics(&name).await?;
    Ok(Json(json!({ name: { "topics": topics } })))
}

/// `PUT /connectors/{name}/topics/reset`.
pub(crate) async fn reset(state: State, Path(name): Path<String>) -> RestResult<StatusCode> {
    state.reset_connector_topics(&name).await?;
    Ok(StatusCode::ACCEPTED)
}
