//! `GET /clusterStatus`: one host, this server, alive, with no standby or lag information.

use axum::Json;
use serde_json::{json, Value};

use super::State;

/// The handler.
pub(crate) async fn handle(state: State) -> Json<Value> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Json(json!({
        "clusterStatus": {
            state.config.advertised.clone(): {
                "hostAlive": true,
                "lastStatusUpdateMs": now,
                "activeStandbyPerQuery": {},
                "hostStoreLags": { "stateStoreLags": {}, "updateTimeMs": now },
            }
        }
    }))
}
