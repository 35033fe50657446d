//! `PUT /connectors/{name}/pause`, `/resume` and `/stop`: 202 Accepted, no body.

use axum::extract::Path;
use axum::http::StatusCode;

use super::common::{RestResult, State};

/// `PUT /connectors/{name}/pause`.
pub(crate) async fn pause(state: State, Path(name): Path<String>) -> RestResult<StatusCode> {
    state.pause_connector(&name).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/resume`.
pub(crate) async fn resume(state: State, Path(name): Path<String>) -> RestResult<StatusCode> {
    state.resume_connector(&name).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT /connectors/{name}/stop`.
pub(crate) async fn stop(state: State, Path(name): Path<String>) -> RestResult<StatusCode> {
    state.stop_connector(&name).await?;
    Ok(StatusCode::ACCEPTED)
}
