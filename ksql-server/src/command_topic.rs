//! The command topic, `_confluent-ksql-<service id>_command_topic` (one partition): every
//! accepted statement that changes the catalog (`CREATE`, `DROP`, `ALTER`, `CREATE ... AS
//! SELECT`, `INSERT INTO ... SELECT`, `TERMINATE`, `CREATE TYPE`, `DROP TYPE`) is appended with
//! the properties it ran with, and replayed in order when the server starts, so a restarted
//! server has the same streams, tables, types and queries (with the same query ids, so queries
//! resume from their committed offsets).
//!
//! Where Brook differs from ksqlDB: records are `{"statement","streamsProperties"}` JSON keyed
//! by `commandId`, not ksqlDB's `Command` with its serialized plan, so a replay plans each
//! statement again; statements that use `${variables}` are not recorded.

use std::collections::BTreeMap;

use std::sync::Arc;

use brook_sql_engine::cluster::Cluster;
use brook_sql_engine::engine::OutputRecord;
use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::Engine;
use serde::{Deserialize, Serialize};

use crate::{session, Error, Result};

/// One record of the topic.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Command {
    statement: String,
    #[serde(default)]
    streams_properties: BTreeMap<String, String>,
}

/// The command topic on the engine's cluster.
#[derive(Debug)]
pub(crate) struct CommandTopic {
    cluster: Arc<dyn Cluster>,
    topic: String,
}

fn cluster_err(e: brook_sql_engine::Error) -> Error {
    Error::Generic { code: crate::error::SERVER_ERROR, message: format!("command topic: {e}") }
}

/// Whether a statement is recorded.
pub(crate) fn recorded(s: &Statement) -> bool {
    matches!(
        s,
        Statement::CreateSource(_)
            | Statement::CreateType { .. }
            | Statement::DropType { .. }
            | Statement::DropSource { .. }
            | Statement::CreateAsSelect(_)
            | Statement::InsertInto { .. }
            | Statement::Terminate(_)
            | Statement::AlterSource { .. }
    )
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

    /// Appends an accepted statement.
    pub(crate) fn append(&self, command_id: &str, statement: &str, props: &BTreeMap<String, String>) -> Result<()> {
        let value = serde_json::to_vec(&Command { statement: statement.to_owned(), streams_properties: props.clone() })
            .map_err(|e| Error::bad_request(e.to_string()))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let record = OutputRecord { key: Some(command_id.as_bytes().to_vec()), value: Some(value), timestamp: now, headers: vec![] };
        self.cluster.append(&self.topic, &[record]).map_err(cluster_err)
    }

    /// Runs every recorded statement on `engine`, in order; a statement that fails now is
    /// logged and skipped, as ksqlDB skips commands it cannot execute on replay.
    pub(crate) fn replay(&self, engine: &mut Engine) -> Result<usize> {
        let records = self.cluster.read_all(&self.topic).map_err(cluster_err)?;
        let mut n = 0;
        for r in records {
            let Some(value) = r.value else { continue };
            let command: Command = match serde_json::from_slice(&value) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "skipping an unreadable command");
                    continue;
                }
            };
            let outcome = session::scoped(engine, &command.streams_properties, &BTreeMap::new(), |e| e.execute(&command.statement));
            match outcome {
                Ok(_) => n += 1,
                Err(e) => tracing::warn!(statement = %command.statement, error = %e, "a recorded statement failed on replay; skipped"),
            }
        }
        tracing::info!(commands = n, topic = %self.topic, "replayed the command topic");
        Ok(n)
    }
}
