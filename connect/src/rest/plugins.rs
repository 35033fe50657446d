//! `GET /connector-plugins` (`[{"class","type","version"}]`),
//! `GET /connector-plugins/{plugin}/config` (the plugin's keys) and
//! `PUT /connector-plugins/{plugin}/config/validate` (the config checked key by key:
//! `{"name","error_count","groups","configs":[{"definition","value":{"errors":[...]}}]}`).
//! Where Brook differs: a validate body without `connector.class` is validated against the
//! plugin of the path (Kafka refuses it); `connectorsOnly=false` lists connectors only.

use axum::body::Bytes;
use axum::extract::Path;
use axum::Json;

use super::common::{parse_body, RestError, RestResult, State};
use crate::config::Config;
use crate::herder::{ConfigInfos, ConfigKeyInfo, PluginInfo};

/// `GET /connector-plugins`.
pub(crate) async fn list(state: State) -> Json<Vec<PluginInfo>> {
    Json(state.connector_plugins())
}

/// The simple name without `Connector`: how Kafka compares a body's class with the path's.
fn normalized(class: &str) -> &str {
    let simple = class.rsplit('.').next().unwrap_or(class);
    simple.strip_suffix("Connector").unwrap_or(simple)
}

/// `PUT /connector-plugins/{plugin}/config/validate`.
pub(crate) async fn validate(state: State, Path(plugin): Path<String>, body: Bytes) -> RestResult<Json<ConfigInfos>> {
    let mut config: Config = parse_body(&body)?;
    match config.get("connector.class") {
        Some(included) if normalized(included) != normalized(&plugin) => {
            return Err(RestError::bad_request(format!("Included connector type {included} does not match request type {plugin}")));
        }
        Some(_) => {}
        None => {
            config.insert("connector.class".to_owned(), plugin.clone());
        }
    }
    Ok(Json(state.validate_connector_config(&plugin, config).await?))
}

/// `GET /connector-plugins/{plugin}/config`.
pub(crate) async fn config(state: State, Path(plugin): Path<String>) -> RestResult<Json<Vec<ConfigKeyInfo>>> {
    let infos = state.validate_connector_config(&plugin, Config::new()).await?;
    Ok(Json(infos.configs.into_iter().map(|c| c.definition).collect()))
}
