//! The records of the distributed worker's topics, in Kafka Connect's formats (schemaless JSON
//! values, string keys), so the topics read the same as a Kafka Connect cluster's:
//!
//! - config topic (`config.storage.topic`, one partition): `connector-<name>` ->
//!   `{"properties":{...}}` (a tombstone deletes), `task-<name>-<n>` -> `{"properties":{...}}`,
//!   `commit-<name>` -> `{"tasks":N}` (the task configs written before it become current),
//!   `target-state-<name>` -> `{"state":"STARTED"|"PAUSED"|"STOPPED"}`;
//! - status topic: `status-connector-<name>` / `status-task-<name>-<n>` ->
//!   `{"state":"RUNNING","trace":null,"worker_id":"host:port","generation":N}`;
//! - offset topic: `["<connector>",{partition}]` -> the offset object.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::config::Config;
use crate::herder::{State, TargetState};

/// The connectors, their task configs and target states, as the config topic says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ConfigState {
    pub(crate) connectors: BTreeMap<String, Config>,
    /// Committed task configs per connector.
    pub(crate) tasks: BTreeMap<String, Vec<Config>>,
    pub(crate) targets: BTreeMap<String, TargetState>,
    /// Task configs written but not yet committed.
    pending: BTreeMap<(String, u32), Config>,
}

fn properties(v: &Json) -> Option<Config> {
    let props = v.get("properties")?.as_object()?;
    Some(props.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect())
}

/// `task-<name>-<n>`: the connector name may itself hold dashes, the number is after the last.
fn task_key(rest: &str) -> Option<(String, u32)> {
    let (name, n) = rest.rsplit_once('-')?;
    Some((name.to_owned(), n.parse().ok()?))
}

impl ConfigState {
    /// Applies one config-topic record; records it does not know are skipped (logged).
    pub(crate) fn apply(&mut self, key: &[u8], value: Option<&[u8]>) {
        let Ok(key) = std::str::from_utf8(key) else { return };
        let value: Option<Json> = match value {
            None => None,
            Some(v) => match serde_json::from_slice(v) {
                Ok(j) => Some(j),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "skipping a config record that is not JSON");
                    return;
                }
            },
        };
        if let Some(name) = key.strip_prefix("connector-") {
            match value.as_ref().and_then(properties) {
                Some(p) => {
                    self.connectors.insert(name.to_owned(), p);
                }
                None => {
                    self.connectors.remove(name);
                    self.tasks.remove(name);
                    self.targets.remove(name);
                }
            }
        } else if let Some(rest) = key.strip_prefix("task-") {
            if let (Some(id), Some(p)) = (task_key(rest), value.as_ref().and_then(properties)) {
                self.pending.insert(id, p);
            }
        } else if let Some(name) = key.strip_prefix("commit-") {
            let n = value.as_ref().and_then(|v| v.get("tasks")).and_then(Json::as_u64).unwrap_or(0) as u32;
            let configs: Option<Vec<Config>> = (0..n).map(|i| self.pending.get(&(name.to_owned(), i)).cloned()).collect();
            match configs {
                Some(c) => {
                    self.tasks.insert(name.to_owned(), c);
                }
                None => tracing::warn!(connector = %name, "a task commit without every task config; ignored"),
            }
            self.pending.retain(|(c, _), _| c != name);
        } else if let Some(name) = key.strip_prefix("target-state-") {
            let state = value.as_ref().and_then(|v| v.get("state")).and_then(|s| serde_json::from_value::<TargetState>(s.clone()).ok());
            match state {
                Some(s) => {
                    self.targets.insert(name.to_owned(), s);
                }
                None => {
                    self.targets.remove(name);
                }
            }
        } else {
            tracing::debug!(%key, "skipping an unknown config record");
        }
    }

    /// A connector's target state (STARTED unless said otherwise).
    pub(crate) fn target(&self, name: &str) -> TargetState {
        self.targets.get(name).copied().unwrap_or(TargetState::Started)
    }

    /// What the group's assignment depends on: each connector and its task count (none when
    /// stopped).
    pub(crate) fn task_counts(&self) -> BTreeMap<String, u32> {
        self.connectors
            .keys()
            .map(|c| {
                let n = if self.target(c) == TargetState::Stopped { 0 } else { self.tasks.get(c).map_or(0, |t| t.len() as u32) };
                (c.clone(), n)
            })
            .collect()
    }
}

pub(crate) fn connector_key(name: &str) -> String {
    format!("connector-{name}")
}

pub(crate) fn connector_value(config: &Config) -> Vec<u8> {
    json!({ "properties": config }).to_string().into_bytes()
}

pub(crate) fn task_record(name: &str, n: usize, config: &Config) -> (String, Vec<u8>) {
    (format!("task-{name}-{n}"), json!({ "properties": config }).to_string().into_bytes())
}

pub(crate) fn commit_record(name: &str, tasks: usize) -> (String, Vec<u8>) {
    (format!("commit-{name}"), json!({ "tasks": tasks }).to_string().into_bytes())
}

pub(crate) fn target_record(name: &str, state: TargetState) -> (String, Vec<u8>) {
    (format!("target-state-{name}"), json!({ "state": state }).to_string().into_bytes())
}

/// A status record's value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Status {
    pub(crate) state: State,
    pub(crate) trace: Option<String>,
    pub(crate) worker_id: String,
    pub(crate) generation: i32,
}

pub(crate) fn connector_status_key(name: &str) -> String {
    format!("status-connector-{name}")
}

pub(crate) fn task_status_key(name: &str, n: u32) -> String {
    format!("status-task-{name}-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_records_build_the_state_as_connect_reads_them() {
        let mut s = ConfigState::default();
        let config: Config = [("connector.class".to_owned(), "FileStreamSource".to_owned())].into();
        s.apply(connector_key("my-src").as_bytes(), Some(&connector_value(&config)));
        let (k, v) = task_record("my-src", 0, &config);
        s.apply(k.as_bytes(), Some(&v));
        assert_eq!(s.task_counts()["my-src"], 0, "task configs count only once committed");
        let (k, v) = commit_record("my-src", 1);
        assert_eq!(String::from_utf8(v.clone()).unwrap(), r#"{"tasks":1}"#);
        s.apply(k.as_bytes(), Some(&v));
        assert_eq!(s.tasks["my-src"], vec![config.clone()]);
        let (k, v) = target_record("my-src", TargetState::Paused);
        assert_eq!(String::from_utf8(v.clone()).unwrap(), r#"{"state":"PAUSED"}"#);
        s.apply(k.as_bytes(), Some(&v));
        assert_eq!(s.target("my-src"), TargetState::Paused);
        s.apply(b"connector-my-src", None);
        assert!(s.connectors.is_empty() && s.tasks.is_empty() && s.targets.is_empty());
        s.apply(b"connector-x", Some(b"not json"));
        assert!(s.connectors.is_empty());
    }
}
