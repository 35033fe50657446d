//! `GET /connectors/{name}/status` and `GET /connectors/{name}/tasks/{task}/status`.

use axum::extract::Path;
use axum::Json;

use super::common::{RestResult, State};
use crate::herder::{ConnectorStateInfo, TaskState};

/// `GET /connectors/{name}/status`.
pub(crate) async fn connector(state: State, Path(name): Path<String>) -> RestResult<Json<ConnectorStateInfo>> {
    Ok(Json(state.connector_status(&name).await?))
}

/// `GET /connectors/{name}/tasks/{task}/status`.
pub(crate) async fn task(state: State, Path((name, task)): Path<(String, u32)>) -> RestResult<Json<TaskState>> {
    Ok(Json(state.task_status(&name, task).await?))
}
