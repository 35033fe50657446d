//! The command topic, `_confluent-ksql-<service id>_command_topic` (one partition): every
//! accepted statement that changes the catalog (`CREATE`, `DROP`, `ALTER`, `CREATE ... AS
//! SELECT`, `INSERT INTO ... SELECT`, `TERMINATE`, `CREATE TYPE`, `DROP TYPE`) is appended as
//! ksqlDB's `Command` (JSON: the statement, the properties in force, and its plan; see
//! [`brook_sql_engine::plan::command`]) keyed by its `commandId` (`stream/`S`/create`).
//!
//! Every server of a service id consumes the topic for as long as it runs, in order, each
//! record once: on start it applies every record ([`CommandTopic::catch_up`] from the
//! beginning), then it polls for records appended by the other servers (the poller of
//! [`crate::KsqlServer::serve`]) and catches up before it runs a request's statements. The
//! catalog and the queries are rebuilt from the recorded plans, not by planning the
//! statements again, so every query keeps its id (and so its application id, committed
//! offsets and state) and its semantics on every server. A server runs its own statements
//! at once and skips the records it wrote (it knows their offsets) when it reads them back.
//! The `commandSequenceNumber` of a command is its offset in the topic.
//!
//! Where Brook differs from ksqlDB: ksqlDB validates a statement in a sandbox, then writes it
//! inside a transaction that fences the other servers' writers once it has read the topic to
//! its end, and every server (the writer too) executes it from the topic. Brook catches up,
//! runs the statement, then appends it; two servers that accept clashing statements in the
//! same moment (`CREATE STREAM S` on both) each keep their own, and the other's record is
//! logged and skipped.
//!
//! The topic is created as ksqlDB creates it: `cleanup.policy=delete` with infinite retention
//! (`retention.ms=-1`), never compacted, so it holds the whole history; a restart compacts what
//! it read in memory, leaving out the queries terminated later (`compact`).
//!
//! A record that cannot be decoded or applied is logged and skipped; the server still starts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use brook_sql_engine::cluster::Cluster;
use brook_sql_engine::engine::OutputRecord;
use brook_sql_engine::plan::command::{Command, DdlCommand};
use brook_sql_engine::Engine;

use crate::{Error, Result};

/// `commandId` -> status message, for `/status` (the commands this server ran or applied).
pub(crate) type Statuses = Arc<Mutex<HashMap<String, String>>>;

/// Where this server is in the topic.
#[derive(Debug, Default)]
struct Position {
    /// The offset of the next record to apply.
    next: i64,
    /// Offsets at or past `next` of the records this server wrote (and so already ran).
    own: BTreeSet<i64>,
}

/// The command topic on the engine's cluster.
#[derive(Debug)]
pub(crate) struct CommandTopic {
    cluster: Arc<dyn Cluster>,
    topic: String,
    position: Mutex<Position>,
    statuses: Statuses,
}

fn cluster_err(e: brook_sql_engine::Error) -> Error {
    Error::Generic { code: crate::error::SERVER_ERROR, message: format!("command topic: {e}") }
}

/// What one catch-up did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replayed {
    pub(crate) applied: usize,
    pub(crate) skipped: usize,
}

impl CommandTopic {
    /// Opens the topic of `service_id`, creating it with one partition; nothing is read yet.
    pub(crate) fn open(cluster: Arc<dyn Cluster>, service_id: &str, statuses: Statuses) -> Result<Self> {
        let topic = format!("_confluent-ksql-{service_id}_command_topic");
        if cluster.partition_count(&topic).map_err(cluster_err)?.is_none() {
            let configs = BTreeMap::from([
                ("cleanup.policy".to_owned(), "delete".to_owned()),
                ("retention.ms".to_owned(), "-1".to_owned()),
            ]);
            cluster.create_topic(&topic, 1, &configs).map_err(cluster_err)?;
        }
        Ok(CommandTopic { cluster, topic, position: Mutex::new(Position::default()), statuses })
    }

    fn position(&self) -> std::sync::MutexGuard<'_, Position> {
        self.position.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The offset of the next record to apply: every command before it has been applied here.
    pub(crate) fn next_offset(&self) -> i64 {
        self.position().next
    }

    /// The offset of the latest command this server applied or wrote (0 before any).
    pub(crate) fn last_offset(&self) -> u64 {
        let position = self.position();
        let last = position.own.last().copied().unwrap_or(-1).max(position.next - 1);
        u64::try_from(last).unwrap_or(0)
    }

    /// Appends a command this server ran, keyed by its `commandId`, and returns its offset
    /// (its `commandSequenceNumber`); reading it back will not apply it again.
    pub(crate) fn append(&self, command: &Command) -> Result<i64> {
        let command_id = crate::json::command_id(&command.statement);
        let value = serde_json::to_vec(command).map_err(|e| Error::bad_request(e.to_string()))?;
        let now = brook_common::now_ms();
        let record = OutputRecord { key: Some(command_id.as_bytes().to_vec()), value: Some(value), timestamp: now, headers: vec![] };
        let offsets = self.cluster.append_offsets(&self.topic, &[record]).map_err(cluster_err)?;
        let offset = offsets.first().copied().ok_or_else(|| cluster_err(brook_sql_engine::Error::Cluster("no offset for the appended command".into())))?;
        let mut position = self.position();
        if offset >= position.next {
            position.own.insert(offset);
        }
        Ok(offset)
    }

    /// Whether the topic holds records past the ones applied (asks the cluster; for the
    /// poller, off the engine thread).
    pub(crate) fn behind(&self) -> Result<bool> {
        let end = self.cluster.end_offsets(&self.topic).map_err(cluster_err)?.first().copied().unwrap_or(0);
        Ok(end > self.next_offset())
    }

    /// Applies to `engine`, in order, every record past the ones applied, except those this
    /// server wrote. A record that cannot be decoded or applied is logged (with its offset)
    /// and skipped, as ksqlDB skips commands it cannot execute. Runs on the engine thread.
    pub(crate) fn catch_up(&self, engine: &mut Engine) -> Result<Replayed> {
        let from = self.next_offset();
        let end = self.cluster.end_offsets(&self.topic).map_err(cluster_err)?.first().copied().unwrap_or(0);
        let mut done = Replayed::default();
        if end <= from {
            return Ok(done);
        }
        let records = self.cluster.read(&self.topic, 0, Some(from).filter(|f| *f > 0)).map_err(cluster_err)?;
        let mut commands = Vec::with_capacity(records.len());
        for (offset, r) in records {
            {
                let mut position = self.position();
                position.next = position.next.max(offset + 1);
                if position.own.remove(&offset) {
                    continue;
                }
            }
            let Some(value) = r.value else { continue };
            match serde_json::from_slice::<Command>(&value) {
                Ok(c) => commands.push((offset, c)),
                Err(e) => {
                    tracing::error!(topic = %self.topic, offset, error = %e, "skipping a command that cannot be decoded");
                    done.skipped += 1;
                }
            }
        }
        // A restore from the beginning leaves out the queries terminated later, as ksqlDB does.
        if from == 0 {
            for id in compact(&mut commands) {
                engine.reserve_query_id(&id);
            }
        }
        for (offset, command) in commands {
            match engine.apply_command(&command) {
                Ok(()) => {
                    done.applied += 1;
                    let id = crate::json::command_id(&command.statement);
                    self.statuses.lock().unwrap_or_else(PoisonError::into_inner).insert(id, status_message(&command));
                }
                Err(e) => {
                    tracing::error!(topic = %self.topic, offset, statement = %command.statement, error = %e, "skipping a command that cannot be applied");
                    done.skipped += 1;
                }
            }
        }
        // Everything before `end` has been read (transaction markers included).
        let mut position = self.position();
        position.next = position.next.max(end);
        let next = position.next;
        position.own.retain(|o| *o >= next);
        drop(position);
        if done != Replayed::default() {
            tracing::info!(applied = done.applied, skipped = done.skipped, next, topic = %self.topic, "applied commands from the command topic");
        }
        Ok(done)
    }
}

/// Compacts the commands of a restore as ksqlDB's `RestoreCommandsCompactor`: a query that a
/// later command ends (`TERMINATE` it, `TERMINATE ALL`, a `DROP` of its sink, a `CREATE OR
/// REPLACE` with its id) is not started, its `CREATE ... AS SELECT` keeping only the catalog
/// change, and the `TERMINATE` that ended it goes too. Returns the ids of the queries left out
/// (not to be given out again).
fn compact(commands: &mut Vec<(i64, Command)>) -> Vec<String> {
    // Query id -> index of the command that starts it; sink name -> its query id.
    let mut starts: HashMap<String, usize> = HashMap::new();
    let mut sinks: HashMap<String, String> = HashMap::new();
    let mut ended: BTreeSet<usize> = BTreeSet::new();
    let mut dropped: BTreeSet<usize> = BTreeSet::new();
    for (i, (_, c)) in commands.iter().enumerate() {
        let Some(plan) = &c.plan else {
            let words: Vec<&str> = c.statement.split_whitespace().collect();
            if words.first().is_some_and(|w| w.eq_ignore_ascii_case("TERMINATE")) {
                let target = words.get(1).map(|w| w.trim_end_matches(';').to_uppercase()).unwrap_or_default();
                if target == "ALL" {
                    ended.extend(starts.drain().map(|(_, at)| at));
                } else if let Some(at) = starts.remove(&target) {
                    ended.insert(at);
                    dropped.insert(i);
                }
            }
            continue;
        };
        match (&plan.query_plan, &plan.ddl_command) {
            (Some(q), ddl) => {
                let create = match ddl {
                    Some(DdlCommand::CreateStream(c) | DdlCommand::CreateTable(c)) => Some(c),
                    _ => None,
                };
                // Only a `CREATE OR REPLACE` takes over a running query's id; any other
                // record with a taken id fails to apply and changes nothing.
                if starts.contains_key(&q.query_id) && !create.is_some_and(|c| c.or_replace) {
                    continue;
                }
                if let Some(at) = starts.insert(q.query_id.clone(), i) {
                    ended.insert(at);
                }
                if let Some(c) = create {
                    sinks.insert(c.source.name.clone(), q.query_id.clone());
                }
            }
            (None, Some(DdlCommand::DropSource { source_name, .. })) => {
                if let Some(at) = sinks.remove(source_name).and_then(|id| starts.remove(&id)) {
                    ended.insert(at);
                }
            }
            (None, _) => {}
        }
    }
    let mut left_out = Vec::new();
    for &at in &ended {
        let Some(plan) = commands[at].1.plan.as_mut() else { continue };
        if let Some(q) = plan.query_plan.take() {
            left_out.push(q.query_id);
        }
        if plan.ddl_command.is_none() {
            dropped.insert(at);
        }
    }
    let mut i = 0;
    commands.retain(|_| {
        i += 1;
        !dropped.contains(&(i - 1))
    });
    left_out
}

/// The status message of a command applied from the topic, as the statement's own result
/// words it.
fn status_message(c: &Command) -> String {
    let Some(plan) = &c.plan else { return "Query terminated.".into() };
    if let Some(q) = &plan.query_plan {
        return format!("Created query with ID {}", q.query_id);
    }
    match &plan.ddl_command {
        Some(DdlCommand::CreateStream(_)) => "Stream created".into(),
        Some(DdlCommand::CreateTable(_)) => "Table created".into(),
        Some(DdlCommand::DropSource { source_name, .. }) => format!("Source `{source_name}` was dropped."),
        Some(DdlCommand::AlterSource { .. }) => "Source altered.".into(),
        Some(DdlCommand::RegisterType { type_name, .. }) => format!("Registered custom type with name '{type_name}'"),
        Some(DdlCommand::DropType { type_name }) => format!("Dropped type '{type_name}'"),
        None => "Executed".into(),
    }
}
