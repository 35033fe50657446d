//! The herder: what manages a worker's connectors (Kafka's `Herder`). The REST API, the SQL
//! statements and the CLI talk to a `dyn Herder`; the standalone herder
//! ([`crate::standalone::StandaloneHerder`]) keeps everything in memory and one offsets file,
//! a distributed herder keeps it in Kafka topics shared by a group of workers.
//!
//! The body types serialize to Connect's REST JSON (`ConnectorInfo`, `ConnectorStateInfo`,
//! `TaskInfo`, `ConnectorOffsets`, `ConfigInfos`, ...), field for field.
//!
//! Errors map to HTTP statuses in one place ([`crate::Error::http_status`]): an unknown
//! connector is [`crate::Error::NotFound`] (404), a second connector of one name
//! [`crate::Error::AlreadyExists`] (409), a bad request or an invalid config
//! [`crate::Error::BadRequest`] / [`crate::Error::Config`] (400), a request that cannot be served
//! right now (a rebalance) [`crate::Error::Conflict`] (409).

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::config::{Config, ConfigDef, ConfigValue};
use crate::error::Result;

/// The connector API's kind of connector, which the REST API's types carry.
pub use crate::connector::ConnectorType;

/// What a herder's async calls return.
pub type HerderFuture<'a, T> = BoxFuture<'a, Result<T>>;

/// Manages the connectors of a worker (or of a group of workers).
///
/// Every call is async and may be cancelled by dropping it; a change (create, delete, pause,
/// ...) is applied whole or not at all.
pub trait Herder: Send + Sync + std::fmt::Debug {
    /// `GET /`: the worker's version and cluster id.
    fn server_info(&self) -> ServerInfo;

    /// The names of the connectors, sorted.
    fn connectors(&self) -> HerderFuture<'_, Vec<String>>;

    /// A connector's config and tasks.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn connector_info<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorInfo>;

    /// A connector's config.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn connector_config<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Config> {
        Box::pin(async move { Ok(self.connector_info(name).await?.config) })
    }

    /// Creates the connector `name` with `config` (which holds `name`), or, with
    /// `allow_replace`, replaces its config (its tasks restart with the new one). The config is
    /// validated first.
    ///
    /// # Errors
    /// [`crate::Error::AlreadyExists`] without `allow_replace` when it exists;
    /// [`crate::Error::BadRequest`] with every validation error when the config is invalid.
    fn put_connector_config<'a>(&'a self, name: &'a str, config: Config, allow_replace: bool) -> HerderFuture<'a, Created<ConnectorInfo>>;

    /// Creates a connector in `initial` state (`POST /connectors` with KIP-980's
    /// `initial_state`): [`put_connector_config`](Self::put_connector_config) without replacing,
    /// then paused or stopped as asked.
    ///
    /// # Errors
    /// Those of `put_connector_config`.
    fn create_connector<'a>(&'a self, name: &'a str, config: Config, initial: TargetState) -> HerderFuture<'a, ConnectorInfo> {
        Box::pin(async move {
            let created = self.put_connector_config(name, config, false).await?;
            match initial {
                TargetState::Started => Ok(created.result),
                TargetState::Paused => {
                    self.pause_connector(name).await?;
                    self.connector_info(name).await
                }
                TargetState::Stopped => {
                    self.stop_connector(name).await?;
                    self.connector_info(name).await
                }
            }
        })
    }

    /// Stops and removes a connector (its offsets stay, as in Kafka).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn delete_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()>;

    /// The state of a connector and its tasks.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn connector_status<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorStateInfo>;

    /// The state of one task.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] for an unknown connector or task.
    fn task_status<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, TaskState> {
        Box::pin(async move {
            let status = self.connector_status(name).await?;
            status
                .tasks
                .into_iter()
                .find(|t| t.id == task)
                .ok_or_else(|| crate::Error::NotFound(format!("Status for task {name}-{task} not found")))
        })
    }

    /// The configs of a connector's tasks.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn task_configs<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<TaskInfo>>;

    /// Restarts a connector and, per `request`, its tasks. Returns `None` for a plain restart
    /// (neither `include_tasks` nor `only_failed`: Kafka answers 204), otherwise the state
    /// with what is restarted marked `RESTARTING` (Kafka answers 202 with it).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn restart_connector<'a>(&'a self, name: &'a str, request: RestartRequest) -> HerderFuture<'a, Option<ConnectorStateInfo>>;

    /// Restarts one task.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] for an unknown connector or task.
    fn restart_task<'a>(&'a self, name: &'a str, task: u32) -> HerderFuture<'a, ()>;

    /// Pauses a connector and its tasks (they stay assigned, they do not poll or put).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn pause_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()>;

    /// Resumes a paused or stopped connector.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn resume_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()>;

    /// Stops a connector: it and its tasks shut down and it keeps no task configs (Kafka 3.5's
    /// `STOPPED`), so its offsets can be altered or reset.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn stop_connector<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()>;

    /// The offsets of a connector: a source's stored source offsets, a sink's consumer group
    /// offsets (`{"kafka_topic","kafka_partition"}` -> `{"kafka_offset"}`).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ConnectorOffsets>;

    /// Alters offsets (a `null` offset removes the partition's). The connector must be stopped.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`]; [`crate::Error::BadRequest`] when it is not `STOPPED` or
    /// an offset is malformed.
    fn alter_connector_offsets<'a>(&'a self, name: &'a str, offsets: ConnectorOffsets) -> HerderFuture<'a, Message>;

    /// Removes every offset of a connector. The connector must be stopped.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`]; [`crate::Error::BadRequest`] when it is not `STOPPED`.
    fn reset_connector_offsets<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Message>;

    /// The topics a connector has produced to or consumed from since it was created (or its
    /// topics were last reset).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, Vec<String>>;

    /// Forgets a connector's active topics.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`].
    fn reset_connector_topics<'a>(&'a self, name: &'a str) -> HerderFuture<'a, ()>;

    /// The connector plugins the worker has.
    fn connector_plugins(&self) -> Vec<PluginInfo>;

    /// Validates a config for `plugin` (class name or alias): one entry per key with its errors.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] for an unknown plugin.
    fn validate_connector_config<'a>(&'a self, plugin: &'a str, config: Config) -> HerderFuture<'a, ConfigInfos>;
}

/// What a connector should be doing (Kafka's `TargetState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetState {
    /// Running.
    Started,
    /// Paused: tasks assigned, not polling.
    Paused,
    /// Stopped: no tasks.
    Stopped,
}

/// The result of a create-or-replace: whether it created.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    /// True when created, false when an existing one was replaced.
    pub created: bool,
    /// The result.
    pub result: T,
}

/// `GET /`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The worker's version.
    pub version: String,
    /// The source commit.
    pub commit: String,
    /// The Kafka cluster's id.
    pub kafka_cluster_id: String,
}

/// A task's id: `{"connector":"name","task":0}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    /// The connector.
    pub connector: String,
    /// The task's number.
    pub task: u32,
}

/// `GET /connectors/{name}`: `{"name","config","tasks":[{"connector","task"}],"type"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// The connector's name.
    pub name: String,
    /// Its config.
    pub config: Config,
    /// Its tasks.
    pub tasks: Vec<ConnectorTaskId>,
    /// Source or sink.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
}

/// `GET /connectors/{name}/tasks`: one task's id and config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The task.
    pub id: ConnectorTaskId,
    /// Its config.
    pub config: Config,
}

/// A connector's or task's state, as Connect names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// Not running on any worker (yet).
    Unassigned,
    /// Running.
    Running,
    /// Paused: assigned but not polling.
    Paused,
    /// Stopped: no tasks (Kafka 3.5).
    Stopped,
    /// Failed; `trace` says why.
    Failed,
    /// Being restarted (only in a restart's answer).
    Restarting,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        })
    }
}

/// The `connector` part of a status: `{"state","worker_id"}` (+ `"trace"` when failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorState {
    /// The state.
    pub state: State,
    /// The worker running it (`host:port` of its REST listener).
    pub worker_id: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// A task's status: `{"id","state","worker_id"}` (+ `"trace"` when failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    /// The task's number.
    pub id: u32,
    /// The state.
    pub state: State,
    /// The worker running it.
    pub worker_id: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `GET /connectors/{name}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    /// The connector's name.
    pub name: String,
    /// The connector's own state.
    pub connector: ConnectorState,
    /// Its tasks' states, by id.
    pub tasks: Vec<TaskState>,
    /// Source or sink.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
}

/// `POST /connectors/{name}/restart?includeTasks=..&onlyFailed=..`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestartRequest {
    /// Restart the tasks too.
    pub include_tasks: bool,
    /// Restart only what failed.
    pub only_failed: bool,
}

impl RestartRequest {
    /// Whether the connector instance itself is restarted, given its current state.
    pub fn restarts_connector(&self, state: State) -> bool {
        !self.only_failed || state == State::Failed
    }

    /// Whether a task in `state` is restarted.
    pub fn restarts_task(&self, state: State) -> bool {
        self.include_tasks && (!self.only_failed || state == State::Failed)
    }
}

/// One partition's offset: `{"partition":{...},"offset":{...}}` (a `null` offset in a PATCH
/// removes it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    /// The source partition, or `{"kafka_topic","kafka_partition"}` of a sink.
    pub partition: BTreeMap<String, Json>,
    /// The offset, or `{"kafka_offset"}` of a sink.
    pub offset: Option<BTreeMap<String, Json>>,
}

/// `GET /connectors/{name}/offsets`: `{"offsets":[...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    /// The offsets.
    pub offsets: Vec<ConnectorOffset>,
}

/// `{"message": "..."}`: the answer to an offsets change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The text.
    pub message: String,
}

/// One entry of `GET /connector-plugins`: `{"class","type","version"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The full class name.
    pub class: String,
    /// `source` or `sink`.
    #[serde(rename = "type")]
    pub kind: ConnectorType,
    /// The plugin's version.
    pub version: String,
}

/// `PUT /connector-plugins/{plugin}/config/validate`: `{"name","error_count","groups","configs"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfos {
    /// The connector's class.
    pub name: String,
    /// How many errors in all.
    pub error_count: usize,
    /// The groups of the keys, in order.
    pub groups: Vec<String>,
    /// One entry per key.
    pub configs: Vec<ConfigInfo>,
}

/// One key of a validation: its definition and its value with errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigInfo {
    /// The key's definition.
    pub definition: ConfigKeyInfo,
    /// The value and its errors.
    pub value: ConfigValueInfo,
}

/// A key's definition, as Connect's REST API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigKeyInfo {
    /// The key.
    pub name: String,
    /// Its type (`STRING`, `INT`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it has no default.
    pub required: bool,
    /// The default.
    pub default_value: Option<String>,
    /// `HIGH`, `MEDIUM` or `LOW`.
    pub importance: String,
    /// What it means.
    pub documentation: String,
    /// Its group.
    pub group: Option<String>,
    /// Its order in the group.
    pub order: i32,
    /// Its display width (always `NONE`).
    pub width: String,
    /// The name shown in UIs.
    pub display_name: String,
    /// Keys that depend on it.
    pub dependents: Vec<String>,
}

/// A key's value and errors, as Connect's REST API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigValueInfo {
    /// The key.
    pub name: String,
    /// The value given.
    pub value: Option<String>,
    /// Values it may take.
    pub recommended_values: Vec<String>,
    /// What is wrong with it.
    pub errors: Vec<String>,
    /// Whether a UI shows it.
    pub visible: bool,
}

impl ConfigInfos {
    /// Builds the answer of a validation from a definition and its per-key results.
    pub fn from_validation(class: &str, def: &ConfigDef, values: &[ConfigValue]) -> ConfigInfos {
        let configs: Vec<ConfigInfo> = def
            .keys()
            .iter()
            .zip(values)
            .map(|(k, v)| ConfigInfo {
                definition: ConfigKeyInfo {
                    name: k.name.clone(),
                    kind: k.kind.name().to_owned(),
                    required: k.required,
                    default_value: k.default.clone(),
                    importance: serde_json::to_value(k.importance).ok().and_then(|j| j.as_str().map(str::to_owned)).unwrap_or_default(),
                    documentation: k.documentation.clone(),
                    group: k.group.clone(),
                    order: k.order_in_group,
                    width: "NONE".to_owned(),
                    display_name: k.display_name.clone(),
                    dependents: Vec::new(),
                },
                value: ConfigValueInfo {
                    name: v.name.clone(),
                    value: v.value.clone(),
                    recommended_values: Vec::new(),
                    errors: v.errors.clone(),
                    visible: true,
                },
            })
            .collect();
        ConfigInfos {
            name: class.to_owned(),
            error_count: configs.iter().map(|c| c.value.errors.len()).sum(),
            groups: def.groups(),
            configs,
        }
    }

    /// Every error, `key: error` (for the 400 of a create with an invalid config).
    pub fn errors(&self) -> Vec<String> {
        self.configs.iter().flat_map(|c| c.value.errors.iter().cloned()).collect()
    }
}
