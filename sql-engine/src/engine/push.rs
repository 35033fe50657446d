//! Push queries (`EMIT CHANGES`): a transient query whose rows arrive on a channel until its
//! `LIMIT` is reached or the handle is closed.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use brook_streams_dsl::StreamsBuilder;

use crate::analyzer::plan_query;
use crate::engine::entities::FieldInfo;
use crate::engine::query::lower_context;
use crate::engine::{Engine, Runtime, StatementResult};
use crate::lower::{lower, Lowered};
use crate::parser::ast::Query;
use crate::{Result, Row};

/// Rows a live push query holds for a reader that has not taken them yet.
pub const PUSH_QUEUE_ROWS: usize = 500;

/// A running push query: iterate [`PushQuery::next_row`] for its rows.
pub struct PushQuery {
    /// The transient query's id (`transient_<SOURCE>_<n>`).
    pub id: String,
    pub schema: Vec<FieldInfo>,
    pub(crate) rows: Receiver<Row>,
    pub(crate) limit: Option<u64>,
    pub(crate) delivered: u64,
    pub(crate) on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl std::fmt::Debug for PushQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushQuery").field("id", &self.id).field("limit", &self.limit).field("delivered", &self.delivered).finish_non_exhaustive()
    }
}

impl PushQuery {
    /// The next row, waiting up to `timeout`; `None` on timeout, after `LIMIT` rows, or when
    /// the query stopped.
    pub fn next_row(&mut self, timeout: Duration) -> Option<Row> {
        if self.limit.is_some_and(|l| self.delivered >= l) {
            self.close();
            return None;
        }
        match self.rows.recv_timeout(timeout) {
            Ok(r) => {
                self.delivered += 1;
                Some(r)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Whether `LIMIT` rows were delivered.
    pub fn is_complete(&self) -> bool {
        self.limit.is_some_and(|l| self.delivered >= l)
    }

    /// Stops the query. The row channel is dropped first, so a stream thread blocked on a full
    /// queue returns before the query's threads are joined.
    pub fn close(&mut self) {
        if let Some(f) = self.on_close.take() {
            drop(std::mem::replace(&mut self.rows, mpsc::channel().1));
            f();
        }
    }
}

impl Drop for PushQuery {
    fn drop(&mut self) {
        self.close();
    }
}

/// Starts a push query: its plan lowered onto a topology ending in a channel, run on a test
/// driver (test mode) or its own `KafkaStreams` (live mode, application id
/// `_confluent-ksql-<service id>transient_<id>_<random>`).
pub(crate) fn start(engine: &mut Engine, q: &Query) -> Result<StatementResult> {
    let plan = plan_query(q, &engine.catalog, &engine.env, None)?;
    let n = engine.transient.fetch_add(1, Ordering::Relaxed);
    let first = plan.sources.first().cloned().unwrap_or_default();
    let id = format!("transient_{first}_{n}");
    let builder = StreamsBuilder::new();
    // Live mode: at most PUSH_QUEUE_ROWS rows wait for a reader; a full queue holds back this
    // query's own stream thread (ksqlDB's TransientQueryQueue blocks the same way), so a slow
    // client costs no memory. Test mode pipes records on the caller's thread, which reads the
    // rows only afterwards, and keeps every record anyway: unbounded there.
    let (send_row, rx): (Box<dyn Fn(Row) + Send + Sync>, Receiver<Row>) = if matches!(engine.runtime, Runtime::Live(_)) {
        let (tx, rx) = mpsc::sync_channel::<Row>(PUSH_QUEUE_ROWS);
        (Box::new(move |r| drop(tx.send(r))), rx)
    } else {
        let (tx, rx) = mpsc::channel::<Row>();
        (Box::new(move |r| drop(tx.send(r))), rx)
    };
    let send = move |v: Option<&Row>| {
        if let Some(v) = v {
            send_row(v.clone());
        }
    };
    match lower(&plan.root, &builder, &lower_context(engine, &id))? {
        Lowered::Stream(s) => s.foreach(move |_, v| send(v)),
        Lowered::Table(t) => t.to_stream().foreach(move |_, v| send(v)),
        Lowered::Windowed(w) | Lowered::WindowedStream(w) => w.foreach(move |_, v| send(v)),
    }
    let topology = builder.build()?;
    let reads: Vec<String> = plan.sources.iter().filter_map(|s| engine.catalog.source(s).map(|d| d.topic.clone())).collect();
    // A random suffix, as ksqlDB's: SQL servers sharing a service id (and so a cluster) must not
    // share a push query's consumer group.
    let app = format!("_confluent-ksql-{}transient_{id}_{}", engine.config.service_id, rand::random::<u32>());
    let on_close: Box<dyn FnOnce() + Send> = match &engine.runtime {
        Runtime::Test(p) => {
            let earliest = engine.property("auto.offset.reset").is_some_and(|v| v == "earliest");
            p.start(&id, &app, topology, reads, earliest)?;
            let (p, id2) = (p.clone(), id.clone());
            Box::new(move || {
                let _ = p.stop(&id2);
            })
        }
        Runtime::Live(l) => {
            let mut config = engine.streams_config(&id)?;
            config.application_id = app;
            let state = config.state_dir.join(&config.application_id);
            let streams = l.launch(&id, config, topology)?;
            Box::new(move || {
                streams.close(Duration::from_secs(30));
                drop(streams);
                // Each push query has its own application id: its local state is never reused.
                if let Err(e) = std::fs::remove_dir_all(&state) {
                    tracing::debug!(dir = %state.display(), error = %e, "cannot remove a push query's state");
                }
            })
        }
    };
    let schema = plan.root.schema().value.iter().map(|c| FieldInfo::of(c, false)).collect();
    Ok(StatementResult::PushQuery(PushQuery { id, schema, rows: rx, limit: plan.limit, delivered: 0, on_close: Some(on_close) }))
}
