//! `GET /`: `{"version","commit","kafka_cluster_id"}`. Where Brook differs: `version` is
//! Brook's version, not a Kafka release.

use axum::Json;

use super::common::State;
use crate::herder::ServerInfo;

/// The handler.
pub(crate) async fn handle(state: State) -> Json<ServerInfo> {
    Json(state.server_info())
}
