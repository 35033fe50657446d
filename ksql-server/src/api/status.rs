//! `GET /status/{commandId}`: `{"status":"SUCCESS","message":...,"queryId":null}` for a command
//! this server ran, or applied from the command topic (written by another server of its service
//! id, or replayed at start). Where Brook differs: statements run synchronously, so every known
//! command is `SUCCESS`; an unknown one is `generic_error` 40400.

use axum::extract::Path;
use axum::Json;
use serde_json::{json, Value};

use super::common::State;
use crate::{Error, Result};

/// The handler.
pub(crate) async fn handle(state: State, Path(command_id): Path<String>) -> Result<Json<Value>> {
    let commands = state.commands.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match commands.get(&command_id) {
        Some(message) => Ok(Json(json!({ "status": "SUCCESS", "message": message, "queryId": null }))),
        None => Err(Error::not_found(format!("Command not found: {command_id}"))),
    }
}
