//! `GET /info`: `{"KsqlServerInfo":{"version","kafkaClusterId","ksqlServiceId","serverStatus"}}`.
//! Where Brook differs: `version` is Brook's version, not a ksqlDB release.

use axum::Json;
use serde_json::{json, Value};

use super::common::State;

/// The handler.
pub(crate) async fn handle(state: State) -> Json<Value> {
    Json(json!({
        "KsqlServerInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "kafkaClusterId": state.config.cluster_id,
            "ksqlServiceId": state.config.service_id,
            "serverStatus": "RUNNING",
        }
    }))
}
