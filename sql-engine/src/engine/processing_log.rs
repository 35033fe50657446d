//! The processing log: records that a query could not deserialize, or whose expressions
//! failed, are written as ksqlDB writes them (JSON with `level`, `logger`, `time` and a
//! `message` struct whose `type` is 0 for deserialization and 1 for record processing errors)
//! to the processing-log topic, and counted per query for `DESCRIBE EXTENDED`.
//!
//! Where Brook differs from ksqlDB: entries are buffered in memory and written by the engine
//! (after each piped record in test mode, by a background flusher in live mode) instead of a
//! log4j appender; `recordB64`/`record` are always included (ksqlDB's
//! `ksql.logging.processing.rows.include=true`). At most [`MAX_PENDING`] entries wait to be
//! written; beyond that the oldest are dropped (counted, and logged through `tracing` anyway),
//! so a flood of bad records or a stalled writer never grows memory without bound.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::{LogicalSchema, Value};

/// How many entries may wait to be written before the oldest are dropped.
pub const MAX_PENDING: usize = 10_000;

/// The name of the processing-log stream.
pub const PROCESSING_LOG_STREAM: &str = "KSQL_PROCESSING_LOG";

/// The processing-log topic of a service: `<service id>ksql_processing_log`.
pub fn processing_log_topic(service_id: &str) -> String {
    format!("{service_id}ksql_processing_log")
}

/// One entry, ready to be written: its JSON value and timestamp.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub timestamp: i64,
    pub json: Json,
}

/// Shared by every query of an engine.
#[derive(Debug, Default)]
pub struct ProcessingLog {
    pending: Mutex<VecDeque<LogEntry>>,
    /// Signalled when an entry arrives or a writer is woken to stop.
    ready: Condvar,
    errors: Mutex<BTreeMap<String, u64>>,
    dropped: AtomicU64,
}

use brook_common::now_ms;

impl ProcessingLog {
    /// An empty log.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Takes the entries not yet written.
    pub fn drain(&self) -> Vec<LogEntry> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect()
    }

    /// Takes the entries not yet written, waiting up to `timeout` (or until [`wake`](Self::wake))
    /// for one to arrive when there are none.
    pub fn wait_drain(&self, timeout: Duration) -> Vec<LogEntry> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.is_empty() {
            pending = self.ready.wait_timeout(pending, timeout).unwrap_or_else(PoisonError::into_inner).0;
        }
        pending.drain(..).collect()
    }

    /// Wakes a writer blocked in [`wait_drain`](Self::wait_drain).
    pub fn wake(&self) {
        self.ready.notify_all();
    }

    /// Entries dropped because [`MAX_PENDING`] were already waiting.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many records of `query_id` failed so far.
    pub fn error_count(&self, query_id: &str) -> u64 {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner).get(query_id).copied().unwrap_or(0)
    }

    fn push(&self, query_id: &str, logger: String, message: Json) {
        *self.errors.lock().unwrap_or_else(PoisonError::into_inner).entry(query_id.to_owned()).or_default() += 1;
        let time = now_ms();
        tracing::warn!(target: "brook_sql::processing", logger = %logger, message = %message, "record failed");
        let json = json!({ "level": "ERROR", "logger": logger, "time": time, "message": message });
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING {
            pending.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        pending.push_back(LogEntry { timestamp: time, json });
        drop(pending);
        self.ready.notify_one();
    }
}

/// The logger one processing step of one query writes through.
#[derive(Debug, Clone)]
pub(crate) struct QueryLogger {
    pub(crate) log: Arc<ProcessingLog>,
    pub(crate) query_id: String,
    /// ksqlDB's logger suffix: the step context, `.`-separated.
    pub(crate) ctx: String,
}

fn message(kind: i32, deser: Json, processing: Json) -> Json {
    json!({
        "type": kind,
        "deserializationError": deser,
        "recordProcessingError": processing,
        "productionError": null,
        "serializationError": null,
        "kafkaStreamsThreadError": null
    })
}

impl QueryLogger {
    pub(crate) fn new(log: &Arc<ProcessingLog>, query_id: &str, ctx: &str) -> Self {
        QueryLogger { log: log.clone(), query_id: query_id.to_owned(), ctx: ctx.replace('/', ".") }
    }

    /// A record's key or value could not be deserialized; ksqlDB skips it.
    pub(crate) fn deserialization_error(&self, topic: &str, is_key: bool, error: &str, bytes: &[u8]) {
        let target = if is_key { "key" } else { "value" };
        let error_message = format!("Failed to deserialize {target} from topic: {topic}. {error}");
        let deser = json!({
            "target": target,
            "errorMessage": error_message,
            "recordB64": base64(bytes),
            "cause": [error],
            "topic": topic
        });
        self.log.push(&self.query_id, format!("processing.{}.{}.deserializer", self.query_id, self.ctx), message(0, deser, Json::Null));
    }

    /// An expression failed on a record (its result is NULL, or the record is dropped).
    pub(crate) fn processing_error(&self, error: &str, row: &[Value]) {
        let record = serde_json::to_string(&row.iter().map(value_json).collect::<Vec<_>>()).unwrap_or_default();
        let processing = json!({ "errorMessage": error, "record": record, "cause": [] });
        self.log.push(&self.query_id, format!("processing.{}.{}", self.query_id, self.ctx), message(1, Json::Null, processing));
    }
}

/// A value as JSON for log records (strings quoted, decimals as numbers).
fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::BigInt(i) | Value::Timestamp(i) => json!(i),
        Value::Double(d) => json!(d),
        Value::Decimal(d) => d.to_string().parse::<f64>().map_or(Json::Null, |f| json!(f)),
        Value::String(s) => json!(s),
        Value::Bytes(b) => json!(base64(b)),
        Value::Date(d) | Value::Time(d) => json!(d),
        Value::Array(a) => Json::Array(a.iter().map(value_json).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (key_text(k), value_json(v))).collect()),
        Value::Struct(f) => Json::Object(f.iter().map(|(k, v)| (k.clone(), value_json(v))).collect()),
    }
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => value_json(other).to_string(),
    }
}

/// Standard base64 with padding (the processing log's `recordB64`).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The schema of the `KSQL_PROCESSING_LOG` stream (the parts of ksqlDB's schema Brook fills;
/// names upper case as ksqlDB declares them, the JSON fields match case-insensitively).
pub(crate) fn processing_log_schema() -> LogicalSchema {
    use crate::{Column, ColumnNamespace, SqlType as T};
    let s = |fields: Vec<(&str, T)>| T::Struct(fields.into_iter().map(|(n, t)| (n.to_owned(), t)).collect());
    let causes = || T::Array(Box::new(T::String));
    let message = s(vec![
        ("TYPE", T::Int),
        (
            "DESERIALIZATIONERROR",
            s(vec![("TARGET", T::String), ("ERRORMESSAGE", T::String), ("RECORDB64", T::String), ("CAUSE", causes()), ("TOPIC", T::String)]),
        ),
        ("RECORDPROCESSINGERROR", s(vec![("ERRORMESSAGE", T::String), ("RECORD", T::String), ("CAUSE", causes())])),
        ("PRODUCTIONERROR", s(vec![("ERRORMESSAGE", T::String)])),
        ("SERIALIZATIONERROR", s(vec![("TARGET", T::String), ("ERRORMESSAGE", T::String), ("RECORD", T::String), ("CAUSE", causes()), ("TOPIC", T::String)])),
        ("KAFKASTREAMSTHREADERROR", s(vec![("ERRORMESSAGE", T::String), ("THREADNAME", T::String), ("CAUSE", causes())])),
    ]);
    let col = |name: &str, ty: T| Column { name: name.to_owned(), ty, namespace: ColumnNamespace::Value };
    LogicalSchema { columns: vec![col("LOGGER", T::String), col("LEVEL", T::String), col("TIME", T::BigInt), col("MESSAGE", message)] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_counted_per_query_and_drained_once() {
        let log = ProcessingLog::new();
        let l = QueryLogger::new(&log, "CSAS_OUT_0", "KsqlTopic/Source");
        l.deserialization_error("in", false, "bad json", b"{x");
        l.processing_error("division by zero", &[Value::Int(1)]);
        assert_eq!(log.error_count("CSAS_OUT_0"), 2);
        assert_eq!(log.error_count("CSAS_OTHER_1"), 0);
        let entries = log.drain();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].json["logger"], "processing.CSAS_OUT_0.KsqlTopic.Source.deserializer");
        assert_eq!(entries[0].json["message"]["type"], 0);
        assert_eq!(entries[0].json["message"]["deserializationError"]["errorMessage"], "Failed to deserialize value from topic: in. bad json");
        assert_eq!(entries[1].json["message"]["recordProcessingError"]["record"], "[1]");
        assert!(log.drain().is_empty());
    }

    #[test]
    fn pending_entries_are_bounded_and_the_oldest_dropped() {
        let log = ProcessingLog::new();
        let l = QueryLogger::new(&log, "CSAS_OUT_0", "KsqlTopic/Source");
        for i in 0..MAX_PENDING + 5 {
            l.deserialization_error("in", false, &format!("bad {i}"), b"{x");
        }
        assert_eq!(log.error_count("CSAS_OUT_0"), (MAX_PENDING + 5) as u64);
        assert_eq!(log.dropped(), 5);
        let entries = log.wait_drain(Duration::from_secs(1));
        assert_eq!(entries.len(), MAX_PENDING);
        assert_eq!(entries[0].json["message"]["deserializationError"]["errorMessage"], "Failed to deserialize value from topic: in. bad 5");
    }

    #[test]
    fn a_waiting_writer_is_woken_by_an_entry() {
        let log = ProcessingLog::new();
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = log.clone();
        std::thread::spawn(move || {
            let mut got = 0;
            while got == 0 {
                got = writer.wait_drain(Duration::from_secs(60)).len();
            }
            let _ = tx.send(got);
        });
        QueryLogger::new(&log, "Q", "S").deserialization_error("in", false, "bad", b"x");
        // Well before the writer's 60 s timeout: the entry itself woke it.
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(1));
    }
}
