//! `POST /connectors/{name}/restart?includeTasks=..&onlyFailed=..`: without either flag the
//! connector instance alone restarts (204, no body); with them, 202 with the connector's
//! status, what is being restarted marked `RESTARTING`.

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::common::{query_flag, RestResult, State};
use crate::herder::RestartRequest;

/// The handler.
pub(crate) async fn handle(state: State, Path(name): Path<String>, RawQuery(query): RawQuery) -> RestResult<Response> {
    let request = RestartRequest { include_tasks: query_flag(query.as_deref(), "includeTasks")?, only_failed: query_flag(query.as_deref(), "onlyFailed")? };
    Ok(match state.restart_connector(&name, request).await? {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(plan) => (StatusCode::ACCEPTED, Json(plan)).into_response(),
    })
}
