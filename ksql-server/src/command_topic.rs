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

use brook_broker::record::{BatchBuilder, Compression};
use brook_broker::Broker;
use brook_sql_engine::plan::command::Command;
use brook_sql_engine::Engine;

use crate::{Error, Result};

/// The command topic over a broker.
#[derive(Debug)]
pub(crate) struct CommandTopic {
    broker: Broker,
    topic: String,
}

fn broker_err(e: brook_broker::Error) -> Error {
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
    pub(crate) fn open(broker: Broker, service_id: &str) -> Result<Self> {
        let topic = format!("_confluent-ksql-{service_id}_command_topic");
        if broker.partition_count(&topic, false).is_err() {
            let configs = BTreeMap::from([("retention.ms".to_owned(), "-1".to_owned())]);
            broker.create_topic(&topic, 1, configs).map_err(broker_err)?;
        }
        Ok(CommandTopic { broker, topic })
    }

    /// Appends a command the engine recorded, keyed by its `commandId`.
    pub(crate) fn append(&self, command: &Command) -> Result<()> {
        let command_id = crate::json::command_id(&command.statement);
        let value = serde_json::to_vec(command).map_err(|e| Error::bad_request(e.to_string()))?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let mut b = BatchBuilder::new(Compression::None);
        b.push(now, Some(command_id.as_bytes()), Some(&value), &[]);
        let mut batch = b.build().map_err(broker_err)?;
        self.broker.produce(&self.topic, 0, &mut batch).map_err(broker_err)?;
        Ok(())
    }

    /// Applies every recorded command to `engine`, in order. A record that cannot be decoded
    /// or applied now is logged (with its index among the topic's records) and skipped, as ksqlDB skips commands it cannot
    /// execute on replay.
    pub(crate) fn replay(&self, engine: &mut Engine) -> Result<Replayed> {
        let records = engine.read_output(&self.topic).map_err(|e| Error::Generic { code: crate::error::SERVER_ERROR, message: e.to_string() })?;
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
