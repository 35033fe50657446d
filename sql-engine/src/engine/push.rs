//! Push queries (`EMIT CHANGES`): a transient query whose rows arrive until its `LIMIT` is
//! reached, the handle is closed, or (shared push queries) the server drops it.
//!
//! Two ways to run one:
//! - shared (live mode, a stateless query over one stream or table, ksqlDB's "scalable push
//!   queries"): a subscription to the source's one reader ([`super::fanout`]), which decodes
//!   each record once for every push query on the source; the query applies its own `WHERE`
//!   and projection as it reads;
//! - dedicated (everything else: aggregations, joins, windows, table functions, `PARTITION BY`,
//!   `auto.offset.reset=earliest`, and test mode): the plan lowered onto its own topology,
//!   whose rows wait in a bounded `RowQueue` (`push/queue.rs`).
//!
//! Rows are read blocking ([`PushQuery::next_row`]) or from async code
//! ([`PushQuery::poll_next_row`]), the way the REST server streams them.

mod queue;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use brook_streams_dsl::StreamsBuilder;

pub(crate) use self::queue::Next;
use self::queue::RowQueue;
use crate::analyzer::{plan_query, QueryPlan};
use crate::engine::entities::FieldInfo;
use crate::engine::fanout::{self, FeedContext, Subscription};
use crate::engine::lifecycle::lower_context;
use crate::engine::state::{Engine, Runtime};
use crate::lower::{lower, Lowered};
use crate::parser::ast::Query;
use crate::{Result, Row};

/// Rows a dedicated live push query holds for a reader that has not taken them yet.
pub const PUSH_QUEUE_ROWS: usize = 500;

/// A running push query: iterate [`PushQuery::next_row`] (or poll [`PushQuery::poll_next_row`])
/// for its rows.
pub struct PushQuery {
    /// The transient query's id (`transient_<SOURCE>_<n>`).
    pub id: String,
    pub schema: Vec<FieldInfo>,
    rows: Rows,
    limit: Option<u64>,
    delivered: u64,
    /// Why the query ended early (the server dropped it), once it did.
    error: Option<String>,
    ended: bool,
    on_close: Option<Box<dyn FnOnce() + Send>>,
}

enum Rows {
    Dedicated(Arc<RowQueue>),
    Shared(Subscription),
    /// A shared query after `close`: its subscription is gone, so it holds no rows back.
    Left,
}

impl std::fmt::Debug for PushQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushQuery").field("id", &self.id).field("shared", &self.is_shared()).field("limit", &self.limit).field("delivered", &self.delivered).finish_non_exhaustive()
    }
}

impl PushQuery {
    /// The next row, waiting up to `timeout`; `None` on timeout, after `LIMIT` rows, or when
    /// the query ended ([`PushQuery::is_ended`] tells which, [`PushQuery::error`] why).
    pub fn next_row(&mut self, timeout: Duration) -> Option<Row> {
        if self.stop_if_done() {
            return None;
        }
        let next = match &mut self.rows {
            Rows::Dedicated(q) => q.pop(timeout),
            Rows::Shared(s) => s.next_row(timeout),
            Rows::Left => Next::End(None),
        };
        self.took(next)
    }

    /// The next row for async readers: `Ready(Some(row))`, `Ready(None)` once the query ended
    /// (its `LIMIT`, closed, or dropped: see [`PushQuery::error`]), or `Pending` (the waker in
    /// `cx` is woken when a row arrives or the query ends).
    pub fn poll_next_row(&mut self, cx: &mut Context<'_>) -> Poll<Option<Row>> {
        if self.stop_if_done() {
            return Poll::Ready(None);
        }
        let next = match &mut self.rows {
            Rows::Dedicated(q) => q.poll(cx.waker()),
            Rows::Shared(s) => s.poll_next_row(cx.waker()),
            Rows::Left => Next::End(None),
        };
        match self.took(next) {
            Some(r) => Poll::Ready(Some(r)),
            None if self.ended => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    fn stop_if_done(&mut self) -> bool {
        if self.is_complete() {
            self.close();
        }
        self.ended
    }

    fn took(&mut self, next: Next) -> Option<Row> {
        match next {
            Next::Row(r) => {
                self.delivered += 1;
                Some(r)
            }
            Next::Empty => None,
            Next::End(error) => {
                self.ended = true;
                self.error = error;
                None
            }
        }
    }

    /// Whether `LIMIT` rows were delivered.
    pub fn is_complete(&self) -> bool {
        self.limit.is_some_and(|l| self.delivered >= l)
    }

    /// Whether no more rows will come: `LIMIT` reached, closed, or dropped.
    pub fn is_ended(&self) -> bool {
        self.ended || self.is_complete()
    }

    /// Why the query ended before its `LIMIT`: a shared push query whose reader fell too far
    /// behind for too long, or whose source stopped. `None` while it runs or when it ended
    /// normally.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Whether the query reads its source's shared reader (else it runs its own topology).
    pub fn is_shared(&self) -> bool {
        matches!(self.rows, Rows::Shared(_) | Rows::Left)
    }

    /// Stops the query. A dedicated query's queue is closed first, so a stream thread blocked
    /// on a full queue returns before the query's threads are joined; a shared query leaves its
    /// source's reader (which stops when nobody is left).
    pub fn close(&mut self) {
        self.ended = true;
        if matches!(self.rows, Rows::Shared(_)) {
            self.rows = Rows::Left;
        }
        if let Some(f) = self.on_close.take() {
            if let Rows::Dedicated(q) = &self.rows {
                q.close();
            }
            f();
        }
    }
}

impl Drop for PushQuery {
    fn drop(&mut self) {
        self.close();
    }
}

/// Starts a push query: shared when it qualifies ([`fanout::shared_stages`]), else on its own
/// topology, run on a test driver (test mode) or its own `KafkaStreams` (live mode,
/// application id `_confluent-ksql-<service id>transient_<id>_<random>`).
pub(crate) fn start(engine: &mut Engine, q: &Query) -> Result<PushQuery> {
    let plan = plan_query(q, &engine.catalog, &engine.env, None)?;
    let n = engine.transient.fetch_add(1, Ordering::Relaxed);
    let first = plan.sources.first().cloned().unwrap_or_default();
    let id = format!("transient_{first}_{n}");
    let schema = plan.root.schema().value.iter().map(|c| FieldInfo::of(c, false)).collect();
    let (rows, on_close) = match shared(engine, &plan, &id)? {
        Some(sub) => (Rows::Shared(sub), Box::new(|| {}) as Box<dyn FnOnce() + Send>),
        None => {
            let (queue, on_close) = dedicated(engine, &plan, &id)?;
            (Rows::Dedicated(queue), on_close)
        }
    };
    Ok(PushQuery { id, schema, rows, limit: plan.limit, delivered: 0, error: None, ended: false, on_close: Some(on_close) })
}

/// Subscribes push query `id` to its source's shared reader ([`fanout::subscribe`]) in live
/// mode on the embedded broker; `None` otherwise: over a Kafka cluster and in test mode every
/// push query is dedicated.
fn shared(engine: &Engine, plan: &QueryPlan, id: &str) -> Result<Option<Subscription>> {
    let Runtime::Live(live) = &engine.runtime else { return Ok(None) };
    let Some(broker) = live.cluster.embedded_broker() else { return Ok(None) };
    let property = |name: &str| engine.property(name);
    let cx = FeedContext { feeds: &live.feeds, broker, env: &engine.env, log: &engine.log, registry: engine.config.schema_registry.as_ref(), property: &property };
    fanout::subscribe(&cx, plan, id)
}

/// A push query on its own topology; returns its queue and what stops it.
fn dedicated(engine: &mut Engine, plan: &QueryPlan, id: &str) -> Result<(Arc<RowQueue>, Box<dyn FnOnce() + Send>)> {
    let builder = StreamsBuilder::new();
    // Live mode: at most PUSH_QUEUE_ROWS rows wait for a reader. Test mode pipes records on
    // the caller's thread, which reads the rows only afterwards, and keeps every record
    // anyway: unbounded there.
    let capacity = if matches!(engine.runtime, Runtime::Live(_)) { PUSH_QUEUE_ROWS } else { usize::MAX };
    let queue = Arc::new(RowQueue::new(capacity));
    let q = queue.clone();
    let send = move |v: Option<&Row>| {
        if let Some(v) = v {
            q.push(v.clone());
        }
    };
    match lower(&plan.root, &builder, &lower_context(engine, id))? {
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
            p.start(id, &app, topology, reads, earliest)?;
            let (p, id2) = (p.clone(), id.to_owned());
            Box::new(move || {
                let _ = p.stop(&id2);
            })
        }
        Runtime::Live(l) => {
            let mut config = engine.streams_config(id)?;
            config.application_id = app;
            let state = config.state_dir.join(&config.application_id);
            let streams = l.launch(id, config, topology)?;
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
    Ok((queue, on_close))
}
