//! `GET /connectors` (names, or with `?expand=status` / `?expand=info` an object by name) and
//! `POST /connectors` (`{"name","config","initial_state"}`: 201 with the connector's info and a
//! `Location`; 409 if it exists; 400 with every error of an invalid config).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{parse_body, query_values, RestError, RestResult, State};
use crate::config::Config;
use crate::herder::TargetState;

/// `GET /connectors`.
pub(crate) async fn list(state: State, RawQuery(query): RawQuery) -> RestResult<Response> {
    let names = state.connectors().await?;
    let expand = query_values(query.as_deref(), "expand");
    if expand.is_empty() {
        return Ok(Json(names).into_response());
    }
    let mut out = BTreeMap::new();
    for name in names {
        let mut expansions = Map::new();
        // A connector deleted meanwhile is left out, as Kafka does.
        for e in &expand {
            match e.as_str() {
                "status" => match state.connector_status(&name).await {
                    Ok(s) => {
                        expansions.insert("status".into(), serde_json::to_value(s).unwrap_or(Value::Null));
                    }
                    Err(crate::Error::NotFound(_)) => continue,
                    Err(err) => return Err(err.into()),
                },
                "info" => match state.connector_info(&name).await {
                    Ok(i) => {
                        expansions.insert("info".into(), serde_json::to_value(i).unwrap_or(Value::Null));
                    }
                    Err(crate::Error::NotFound(_)) => continue,
                    Err(err) => return Err(err.into()),
                },
                other => tracing::info!(expansion = other, "ignoring unknown expansion type"),
            }
        }
        out.insert(name, Value::Object(expansions));
    }
    Ok(Json(out).into_response())
}

#[derive(Deserialize)]
struct CreateRequest {
    name: Option<String>,
    #[serde(default)]
    config: Option<Config>,
    initial_state: Option<TargetState>,
}

/// Puts `name` into `config`, or refuses a config whose `name` differs.
pub(crate) fn check_name(name: &str, config: &mut Config) -> RestResult<()> {
    match config.get("name") {
        Some(included) if included != name => Err(RestError::bad_request(format!(
            "Connector name configuration ({included}) doesn't match connector name in the URL ({name})"
        ))),
        Some(_) => Ok(()),
        None => {
            config.insert("name".to_owned(), name.to_owned());
            Ok(())
        }
    }
}

/// `POST /connectors`.
pub(crate) async fn create(state: State, body: Bytes) -> RestResult<Response> {
    let request: CreateRequest = parse_body(&body)?;
    let name = request.name.unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        return Err(RestError::bad_request("Connector name must not be empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(RestError::bad_request(format!("Connector name {name:?} must not contain control characters")));
    }
    let mut config = request.config.ok_or_else(|| RestError::bad_request("Connector config must be provided"))?;
    check_name(&name, &mut config)?;
    let info = state.create_connector(&name, config, request.initial_state.unwrap_or(TargetState::Started)).await?;
    let location = format!("/connectors/{name}");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(info)).into_response())
}
