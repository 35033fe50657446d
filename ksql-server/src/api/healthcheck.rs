//! `GET /healthcheck`: `{"isHealthy":true,"details":{"metastore":..,"kafka":..,"commandRunner":..}}`.
//! The engine is checked by running `SHOW STREAMS` on it; the embedded broker is in-process.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::common::State;

/// The handler: 200 when healthy, 503 otherwise, as ksqlDB answers.
pub(crate) async fn handle(state: State) -> (StatusCode, Json<Value>) {
    let metastore = matches!(state.engine.call(|e| e.execute("SHOW STREAMS;").is_ok()).await, Ok(true));
    let status = if metastore { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "isHealthy": metastore,
        "details": {
            "metastore": { "isHealthy": metastore },
            "kafka": { "isHealthy": true },
            "commandRunner": { "isHealthy": metastore },
        }
    });
    (status, Json(body))
}
