//! `GET /connectors/{name}/tasks` (`[{"id":{"connector","task"},"config":{...}}]`) and
//! `POST /connectors/{name}/tasks/{task}/restart` (204).

use axum::extract::Path;
use axum::http::StatusCode;
use axum::Json;

use super::common::{RestResult, State};
use crate::herder::TaskInfo;

/// `GET /connectors/{name}/tasks`.
pub(crate) async fn list(state: State, Path(name): Path<String>) -> RestResult<Json<Vec<TaskInfo>>> {
    Ok(Json(state.task_configs(&name).await?))
}

/// `POST /connectors/{name}/tasks/{task}/restart`.
pub(crate) async fn restart(state: State, Path((name, task)): Path<(String, u32)>) -> RestResult<StatusCode> {
    state.restart_task(&name, task).await?;
    Ok(StatusCode::NO_CONTENT)
}
