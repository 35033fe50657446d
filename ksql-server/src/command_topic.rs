//! The command topic, `_confluent-ksql-<service id>_command_topic` (one partition): every
//! accepted statement that changes the catalog (`CREATE`, `DROP`, `ALTER`, `CREATE ... AS
//! SELECT`, `INSERT INTO ... SELECT`, `TERMINATE`, `CREATE TYPE`, `DROP TYPE`) is appended as
//! ksqlDB's `Command` (JSON: the statement, the properties in force, and its plan; see
//! [`brook_sql_engine::plan::command`]) keyed by its `commandId` (`stream/`S`/create`), and
//! applied in order when the server starts: the catalog and the queries are rebuilt from the
//! recorded plans, not by planning the statements again, so every query keeps its id (and so
//! its application id, committed offsets and state) and its semantics.
//!
//! A record that cannot be decoded or applied is logged and skipped; the server still starts.

use std::collections::BTreeMap;

use std::sync::Arc;

use brook_sql_engine::cluster::Cluster;
use brook_sql_engine::engine::OutputRecord;
use brook_sql_engine::plan::command::Command;
use brook_sql_engine::Engine;

use crate::{Error, Result};

/// The command topic on the engine's cluster.
#[derive(Debug)]
pub(crate) struct CommandTopic {
    cluster: Arc<dyn Cluster>,
    topic: String,
}

fn cluster_err(e: brook_sql_engine::Error) -> Error {
    Error::Generic { code: crate::error::SERVER_ERROR, message: format!("command topic: {e}") }
}

/// What replaying the topic did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replayed {
    pub(crate) applied: usize,
    pub(crate) skipped: usize,
}

impl CommandTopic {
    /// Opens the topic of `service_id`, creating it with one partition.
    pub(crate) fn open(cluster: Arc<dyn Cluster>, service_id: &str) -> Result<Self> {
        let topic = format!("_confluent-ksql-{service_id}_command_topic");
        if cluster.partition_count(&topic).map_err(cluster_err)?.is_none() {
            let configs = BTreeMap::from([("retention.ms".to_owned(), "-1".to_owned())]);
            cluster.create_topic(&topic, 1, &configs).map_err(cluster_err)?;
        }
        Ok(CommandTopic { cluster, topic })
    }

    /// Appends a command the engine recorded, keyed by its `commandId`.
    pub(crate) fn append(&self, command: &Command) -> Result<()> {
        let command_id = crate::json::command_id(&command.statement);
        let value = serde_json::to_vec(command).map_err(|e| Error::bad_request(e.to_string()))?;
        let now = brook_common::now_ms();
        let record = OutputRecord { key: Some(command_id.as_bytes().to_vec()), value: Some(value), timestamp: now, headers: vec![] };
        self.cluster.append(&self.topic, &[record]).map_err(cluster_err)
    }

    /// Applies every recorded command to `engine`, in order. A record that cannot be decoded
    /// or applied now is logged (with its index among the topic's records) and skipped, as ksqlDB skips commands it cannot
    /// execute on replay.
    pub(crate) fn replay(&self, engine: &mut Engine) -> Result<Replayed> {
        let records = self.cluster.read_all(&self.topic).map_err(cluster_err)?;
        let mut done = Replayed::default();
        for (index, r) in records.into_iter().enumerate() {
            let Some(value) = r.value else { continue };
            let command: Command = match serde_json::from_slice(&value) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(topic = %self.topic, record = index, error = %e, "skipping a command that cannot be decoded");
                    done.skipped += 1;
                    continue;
                }
            };
            match engine.apply_command(&command) {
                Ok(()) => done.applied += 1,
                Err(e) => {
                    tracing::error!(topic = %self.topic, record = index, statement = %command.statement, error = %e, "skipping a command that cannot be applied");
                    done.skipped += 1;
                }
            }
        }
        tracing::info!(applied = done.applied, skipped = done.skipped, topic = %self.topic, "replayed the command topic");
        Ok(done)
    }
}
