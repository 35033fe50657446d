//! A [`Herder`] over HTTP: a client of a Connect REST API (Kafka's, or Brook's), for the SQL
//! engine's `ksql.connect.url`. Connect's error answers come back as this crate's errors:
//! 404 as [`Error::NotFound`], 409 as [`Error::AlreadyExists`] (or [`Error::Conflict`] when it
//! is not about an existing connector), 400 as [`Error::BadRequest`], others as
//! [`Error::Rest`].

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::herder::{
    ConfigInfos, ConnectorInfo, ConnectorOffsets, ConnectorStateInfo, Created, Herder, HerderFuture, Message, PluginInfo, RestartRequest, ServerInfo,
    TaskInfo, TaskState,
};

/// A herder reached over Connect's REST API at `base` (`http://host:8083`).
#[derive(Debug, Clone)]
pub struct RestHerder {
    base: String,
    http: reqwest::Client,
}

/// A path segment with what a URL cannot carry as is percent-encoded.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl RestHerder {
    /// A client of the REST API at `base`.
    pub fn new(base: &str) -> RestHerder {
        RestHerder { base: base.trim_end_matches('/').to_owned(), http: reqwest::Client::new() }
    }

    /// Sends a request; `Ok(None)` for an answer without a body.
    async fn call<T: DeserializeOwned>(&self, method: Method, path: &str, body: Option<Json>) -> Result<(u16, Option<T>)> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url).header("accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let unreachable = |e: reqwest::Error| Error::Rest { status: 503, message: format!("cannot reach the Connect REST API at {url}: {e}") };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        if status >= 400 {
            let message = serde_json::from_slice::<Json>(&bytes)
                .ok()
                .and_then(|j| j.get("message").and_then(Json::as_str).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            return Err(match status {
                404 => Error::NotFound(message),
                409 if message.contains("already exists") => Error::AlreadyExists(message),
                409 => Error::Conflict(message),
                400 => Error::BadRequest(message),
                _ => Error::Rest { status, message },
            });
        }
        if bytes.is_empty() {
            return Ok((status, None));
        }
        let value = serde_json::from_slice(&bytes).map_err(|e| Error::Rest { status: 502, message: format!("unexpected answer from {url}: {e}") })?;
        Ok((status, Some(value)))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None).await?.1.ok_or_else(|| Error::Rest { status: 502, message: format!("{path}: empty answer") })
    }

    async fn send(&self, method: Method, path: &str) -> Result<()> {
        self.call::<Json>(method, path, None).await.map(|_| ())
    }
}

fn connector_path(name: &str) -> String {
    format!("/connectors/{}", segment(name))
}

impl Herder for RestHerder {
    /// Not fetched: the version of this client, the cluster unknown.
    fn server_info(&self) -> ServerInfo {
        ServerInfo { version: env!("CARGO_PKG_VERSION").to_owned(), commit: String::new(), kafka_cluster_id: String::new() }
    }

    fn connectors(&self) -> HerderFuture<'_, Vec<String>> {
        Box::pin(self.get("/connectors"))
    }

    fn connector_info<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorInfo> {
        Box::pin(async move { self.get(&connector_path(name)).await })
    }

    fn connector_config<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Config> {
        Box::pin(async move { self.get(&format!("{}/config", connector_path(name))).await })
    }

    fn put_connector_config<'a>(&'a self, name: &'a str, config: Config, allow_replace: bool) -> HerderFuture<'a, Created<ConnectorInfo>> {
        Box::pin(async move {
            let (status, info) = if allow_replace {
                self.call(Method::PUT, &format!("{}/config", connector_path(name)), Some(serde_json::to_value(&config).unwrap_or_default())).await?
            } else {
                let body = serde_json::json!({ "name": name, "config": config });
                self.call(Method::POST, "/connectors", Some(body)).await?
            };
            let result = info.ok_or_else(|| Error::Rest { status: 502, message: "empty answer to a connector create".into() })?;
            Ok(Created { created: status == 201, result })
        })
    }

    fn delete_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move { self.send(Method::DELETE, &connector_path(name)).await })
    }

    fn connector_status<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorStateInfo> {
        Box::pin(async move { self.get(&format!("{}/status", connector_path(name))).await })
    }

    fn task_status<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, TaskState> {
        Box::pin(async move { self.get(&format!("{}/tasks/{task}/status", connector_path(name))).await })
    }

    fn task_configs<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<TaskInfo>> {
        Box::pin(async move { self.get(&format!("{}/tasks", connector_path(name))).await })
    }

    fn restart_connector<'a>(&'a self, name: &'a str, request: RestartRequest) -> HerderFuture<'a, Option<ConnectorStateInfo>> {
        Box::pin(async move {
            let path = format!("{}/restart?includeTasks={}&onlyFailed={}", connector_path(name), request.include_tasks, request.only_failed);
            Ok(self.call(Method::POST, &path, None).await?.1)
        })
    }

    fn restart_task<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, ()> {
        Box::pin(async move { self.send(Method::POST, &format!("{}/tasks/{task}/restart", connector_path(name))).await })
    }

    fn pause_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move { self.send(Method::PUT, &format!("{}/pause", connector_path(name))).await })
    }

    fn resume_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move { self.send(Method::PUT, &format!("{}/resume", connector_path(name))).await })
    }

    fn stop_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move { self.send(Method::PUT, &format!("{}/stop", connector_path(name))).await })
    }

    fn connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorOffsets> {
        Box::pin(async move { self.get(&format!("{}/offsets", connector_path(name))).await })
    }

    fn alter_connector_offsets<'a>(&'a self, name: &'a str, offsets: ConnectorOffsets) -> HerderFuture<'a, Message> {
        Box::pin(async move {
            let body = serde_json::to_value(&offsets).unwrap_or_default();
            self.call(Method::PATCH, &format!("{}/offsets", connector_path(name)), Some(body))
                .await?
                .1
                .ok_or_else(|| Error::Rest { status: 502, message: "empty answer to an offsets change".into() })
        })
    }

    fn reset_connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Message> {
        Box::pin(async move {
            self.call(Method::DELETE, &format!("{}/offsets", connector_path(name)), None)
                .await?
                .1
                .ok_or_else(|| Error::Rest { status: 502, message: "empty answer to an offsets reset".into() })
        })
    }

    fn connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<String>> {
        Box::pin(async move {
            let body: Json = self.get(&format!("{}/topics", connector_path(name))).await?;
            Ok(body
                .get(name)
                .and_then(|c| c.get("topics"))
                .and_then(Json::as_array)
                .map(|ts| ts.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .unwrap_or_default())
        })
    }

    fn reset_connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()> {
        Box::pin(async move { self.send(Method::PUT, &format!("{}/topics/reset", connector_path(name))).await })
    }

    /// Not fetched (the trait's call is synchronous): empty.
    fn connector_plugins(&self) -> Vec<PluginInfo> {
        Vec::new()
    }

    fn validate_connector_config<'a>(&'a self, plugin: &'a str, config: Config) -> HerderFuture<'a, ConfigInfos> {
        Box::pin(async move {
            let body = serde_json::to_value(&config).unwrap_or_default();
            self.call(Method::PUT, &format!("/connector-plugins/{}/config/validate", segment(plugin)), Some(body))
                .await?
                .1
                .ok_or_else(|| Error::Rest { status: 502, message: "empty answer to a validation".into() })
        })
    }
}
