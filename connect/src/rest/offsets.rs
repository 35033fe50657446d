//! `GET /connectors/{name}/offsets` (`{"offsets":[{"partition","offset"}]}`), `PATCH` (alter,
//! body of the same shape; a `null` offset removes a partition's) and `DELETE` (reset): 200
//! with `{"message"}`. Altering and resetting need the connector `STOPPED` (400 otherwise), as
//! in Kafka 3.6+.

use axum::body::Bytes;
use axum::extract::Path;
use axum::Json;

use super::common::{parse_body, RestResult, State};
use crate::herder::{ConnectorOffsets, Message};

/// `GET /connectors/{name}/offsets`.
pub(crate) async fn get(state: State, Path(name): Path<String>) -> RestResult<Json<ConnectorOffsets>> {
    Ok(Json(state.connector_offsets(&name).await?))
}

/// `PATCH /connectors/{name}/offsets`.
pub(crate) async fn alter(state: State, Path(name): Path<String>, body: Bytes) -> RestResult<Json<Message>> {
    let offsets: ConnectorOffsets = parse_body(&body)?;
    Ok(Json(state.alter_connector_offsets(&name, offsets).await?))
}

/// `DELETE /connectors/{name}/offsets`.
pub(crate) async fn reset(state: State, Path(name): Path<String>) -> RestResult<Json<Message>> {
    Ok(Json(state.reset_connector_offsets(&name).await?))
}
