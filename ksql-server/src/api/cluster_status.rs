//! `GET /clusterStatus`: one host, this server, alive, with no standby or lag information.

use axum::Json;
use serde_json::{json, Value};

use super::common::State;

/// The handler.
pub(crate) async fn handle(state: State) -> Json<Value> {
    let now = u64::try_from(brook_common::now_ms()).unwrap_or(0);
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
