//! `GET /connectors/{name}` (its info), `DELETE /connectors/{name}` (204),
//! `GET /connectors/{name}/config` and `PUT /connectors/{name}/config` (201 when it created the
//! connector, 200 when it replaced the config).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::connectors::check_name;
use super::common::{parse_body, RestResult, State};
use crate::config::Config;

/// `GET /connectors/{name}`.
pub(crate) async fn get(state: State, Path(name): Path<String>) -> RestResult<Response> {
    Ok(Json(state.connector_info(&name).await?).into_response())
}

/// `DELETE /connectors/{name}`.
pub(crate) async fn delete(state: State, Path(name): Path<String>) -> RestResult<StatusCode> {
    state.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /connectors/{name}/config`.
pub(crate) async fn get_config(state: State, Path(name): Path<String>) -> RestResult<Response> {
    Ok(Json(state.connector_config(&name).await?).into_response())
}

/// `PUT /connectors/{name}/config`.
pub(crate) async fn put_config(state: State, Path(name): Path<String>, body: Bytes) -> RestResult<Response> {
    let mut config: Config = parse_body(&body)?;
    check_name(&name, &mut config)?;
    let created = state.put_connector_config(&name, config, true).await?;
    Ok(if created.created {
        (StatusCode::CREATED, [(header::LOCATION, format!("/connectors/{name}"))], Json(created.result)).into_response()
    } else {
        Json(created.result).into_response()
    })
}
