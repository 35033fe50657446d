//! Shared push queries: one reader per source feeds every push query on it.
//!
//! A push query qualifies when it reads one stream or table (not windowed) through stateless
//! steps only (`WHERE`, projections, scalar functions, `LIMIT`) and starts at the end of the
//! topic (ksqlDB's default `auto.offset.reset=latest`): ksqlDB's scalable push queries. The
//! first such query on a source starts a `Feed`: a thread that reads the source topic's
//! partitions from their ends and decodes each record once into the row every query over the
//! source reads (value and header columns, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, the key
//! columns), appended to one ring shared by all subscribers. Each `Subscription` keeps its
//! own cursor into the ring and applies its own filter and projection as it reads.
//!
//! Memory is bounded by the ring, whatever the number of subscribers: it holds at most
//! `ksql.query.push.shared.max.lag.rows` rows (default 1,000). A subscriber that far behind
//! (a slow or stalled client) holds the reader back for at most
//! `ksql.query.push.shared.max.stall.ms` (default 2,000 ms) and is then dropped: its next read
//! ends with an error saying why, and the others go on. A subscriber whose client left is
//! dropped at once (its handle is dropped). The reader stops when the last subscriber leaves.
//!
//! Where Brook differs from ksqlDB: ksqlDB's scalable push queries read the output of a
//! persistent query and drop a subscriber the moment its queue of 100 rows is full; here they
//! read any source stream or table, and a subscriber gets a bounded grace period. Records
//! that do not decode are logged once (under the query id `push_<SOURCE>`), not once per
//! query. A table's push query emits every change (no record cache in front).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::thread;
use std::time::{Duration, Instant};

use brook_broker::{Broker, IsolationLevel, OffsetSpec};
use brook_state_store::Serde;

use crate::analyzer::{ExprEnv, QueryPlan};
use crate::cluster::committed_records;
use crate::engine::processing_log::{ProcessingLog, QueryLogger};
use crate::engine::push::Next;
use crate::expr::CompiledExpr;
use crate::lower::serde::SourceSerde;
use crate::lower::source::{layout, timestamp_millis, Layout};
use crate::plan::physical::{ExecutionStep, SourceStep};
use crate::{Error, Result, Row, SqlType, Value};

/// Rows a subscriber may be behind the reader. Default: 1,000.
pub const MAX_LAG_ROWS: &str = "ksql.query.push.shared.max.lag.rows";
/// How long a subscriber may stay [`MAX_LAG_ROWS`] behind before it is dropped. Default: 2,000 ms.
pub const MAX_STALL_MS: &str = "ksql.query.push.shared.max.stall.ms";
/// `false` runs every push query on its own topology. Default: `true`.
pub const SHARED_ENABLED: &str = "ksql.query.push.shared.enabled";

/// Rows a subscriber takes from the ring at once.
const TAKE_ROWS: usize = 64;
/// The most bytes one fetch of one partition reads.
const FETCH_BYTES: usize = 1 << 20;

/// The feeds of one engine, by source.
#[derive(Default)]
pub(crate) struct Feeds {
    feeds: Mutex<HashMap<String, Arc<Feed>>>,
}

impl std::fmt::Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feeds").field("sources", &self.lock().keys().count()).finish()
    }
}

/// A running feed, as [`crate::Engine::shared_push_feeds`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStats {
    /// The source's name.
    pub source: String,
    /// Push queries reading it (dropped ones included until their handle goes).
    pub subscribers: usize,
    /// Decoded rows held for subscribers that have not read them (at most the lag bound).
    pub buffered_rows: usize,
}

impl Feeds {
    /// The running feeds.
    pub(crate) fn stats(&self) -> Vec<FeedStats> {
        let feeds: Vec<Arc<Feed>> = self.lock().values().cloned().collect();
        feeds
            .iter()
            .map(|f| {
                let st = f.lock();
                FeedStats { source: f.source.clone(), subscribers: st.subs.len(), buffered_rows: st.ring.len() }
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Feed>>> {
        self.feeds.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends every feed (their subscribers see `reason`) and waits for the readers to stop.
    pub(crate) fn shutdown(&self, reason: &str) {
        let feeds: Vec<Arc<Feed>> = self.lock().drain().map(|(_, f)| f).collect();
        for f in &feeds {
            f.end(Some(reason.to_owned()));
        }
        for f in feeds {
            let reader = f.reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            if let Some(h) = reader {
                let _ = h.join();
            }
        }
    }
}

/// One source's reader and the ring of decoded rows its subscribers read.
pub(crate) struct Feed {
    source: String,
    state: Mutex<FeedState>,
    /// Rows arrived, a subscriber was dropped, or the feed ended.
    rows: Condvar,
    /// A subscriber moved on or left (the reader may be waiting for room).
    room: Condvar,
    max_lag: usize,
    max_stall: Duration,
    reader: Mutex<Option<thread::JoinHandle<()>>>,
}

struct FeedState {
    /// The sequence number of `ring[0]`.
    base: u64,
    ring: VecDeque<Arc<Row>>,
    subs: HashMap<u64, Sub>,
    next_sub: u64,
    /// No subscriber is left, or the engine stops: the reader ends.
    stopping: bool,
    /// Why the feed ended early (subscribers end with it).
    ended: Option<String>,
    reader_waiting: bool,
}

struct Sub {
    cursor: u64,
    waker: Option<Waker>,
    /// When the reader found it `max_lag` rows behind; cleared once it caught up halfway.
    behind_since: Option<Instant>,
    dropped: Option<String>,
}

impl FeedState {
    fn head(&self) -> u64 {
        self.base + self.ring.len() as u64
    }
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends the feed: the reader stops, subscribers end with `reason` (none: a normal end).
    fn end(&self, reason: Option<String>) {
        let mut st = self.lock();
        st.stopping = true;
        if st.ended.is_none() {
            st.ended = reason;
        }
        let wakers: Vec<Waker> = st.subs.values_mut().filter_map(|s| s.waker.take()).collect();
        drop(st);
        self.rows.notify_all();
        self.room.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Registers a subscriber at the head; `None` when the feed is stopping.
    fn add(&self) -> Option<u64> {
        let mut st = self.lock();
        if st.stopping {
            return None;
        }
        let id = st.next_sub;
        st.next_sub += 1;
        let cursor = st.head();
        st.subs.insert(id, Sub { cursor, waker: None, behind_since: None, dropped: None });
        Some(id)
    }

    fn remove(&self, id: u64) {
        let mut st = self.lock();
        st.subs.remove(&id);
        if st.subs.is_empty() {
            st.stopping = true;
        }
        drop(st);
        self.room.notify_all();
    }

    /// Appends decoded rows, waiting for room while a subscriber is `max_lag` rows behind, at
    /// most `max_stall` for each; subscribers that stay behind longer are dropped. `false` once
    /// the feed stops.
    fn publish(&self, rows: Vec<Row>) -> bool {
        let mut st = self.lock();
        for row in rows {
            loop {
                if st.stopping {
                    return false;
                }
                if st.ring.len() < self.max_lag {
                    break;
                }
                // Forget the rows every live subscriber has read.
                let head = st.head();
                let min = st.subs.values().filter(|s| s.dropped.is_none()).map(|s| s.cursor).min().unwrap_or(head);
                while st.base < min {
                    st.ring.pop_front();
                    st.base += 1;
                }
                if st.ring.len() < self.max_lag {
                    break;
                }
                let now = Instant::now();
                let base = st.base;
                let mut wait = self.max_stall;
                let mut dropped = Vec::new();
                for (id, s) in st.subs.iter_mut().filter(|(_, s)| s.dropped.is_none() && s.cursor <= base) {
                    let since = *s.behind_since.get_or_insert(now);
                    let waited = now.duration_since(since);
                    if waited >= self.max_stall {
                        s.dropped = Some(format!(
                            "push query dropped: its client left {} rows of {} unread for more than {} ms (a slow or stalled client)",
                            self.max_lag,
                            self.source,
                            self.max_stall.as_millis()
                        ));
                        dropped.extend(s.waker.take());
                        tracing::warn!(source = %self.source, subscriber = id, "dropping a push query whose client reads too slowly");
                    } else {
                        wait = wait.min(self.max_stall - waited);
                    }
                }
                if !dropped.is_empty() {
                    self.rows.notify_all();
                    dropped.into_iter().for_each(Waker::wake);
                    continue;
                }
                // Subscribers sleeping on the rows appended so far must hear of them first.
                st.subs.values_mut().filter_map(|s| s.waker.take()).for_each(Waker::wake);
                self.rows.notify_all();
                st.reader_waiting = true;
                st = self.room.wait_timeout(st, wait).unwrap_or_else(std::sync::PoisonError::into_inner).0;
                st.reader_waiting = false;
            }
            st.ring.push_back(Arc::new(row));
        }
        let wakers: Vec<Waker> = st.subs.values_mut().filter_map(|s| s.waker.take()).collect();
        drop(st);
        self.rows.notify_all();
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// Takes the rows subscriber `id` has not read (at most [`TAKE_ROWS`]) into `out`.
    fn take(&self, st: &mut FeedState, id: u64, out: &mut Vec<Arc<Row>>) -> std::result::Result<(), Option<String>> {
        let (base, head) = (st.base, st.head());
        let cursor = match st.subs.get(&id) {
            None => return Err(None),
            Some(Sub { dropped: Some(reason), .. }) => return Err(Some(reason.clone())),
            Some(s) => s.cursor,
        };
        let from = cursor.max(base);
        let to = head.min(from + TAKE_ROWS as u64);
        out.extend(st.ring.range((from - base) as usize..(to - base) as usize).cloned());
        if let Some(s) = st.subs.get_mut(&id) {
            s.cursor = to;
            if head - to < self.max_lag as u64 / 2 {
                s.behind_since = None;
            }
        }
        if out.is_empty() {
            if let Some(reason) = &st.ended {
                return Err(Some(reason.clone()));
            }
            if st.stopping {
                return Err(None);
            }
        } else if st.reader_waiting {
            self.room.notify_one();
        }
        Ok(())
    }
}

/// One step of a subscriber's own processing.
enum Stage {
    Filter(Arc<CompiledExpr>, QueryLogger),
    Select(Vec<(String, Arc<CompiledExpr>)>, QueryLogger),
}

/// A push query's place in its source's feed: the rows it has not read, through its own
/// filter and projection.
pub(crate) struct Subscription {
    feed: Arc<Feed>,
    id: u64,
    stages: Vec<Stage>,
    pending: VecDeque<Row>,
    taken: Vec<Arc<Row>>,
}

impl Subscription {
    fn apply(&self, row: &Row) -> Option<Row> {
        let mut owned: Option<Row> = None;
        for stage in &self.stages {
            let cur = owned.as_ref().unwrap_or(row);
            match stage {
                Stage::Filter(pred, log) => {
                    if !crate::lower::stream::test(pred, cur, log) {
                        return None;
                    }
                }
                Stage::Select(exprs, log) => owned = Some(crate::lower::stream::project(exprs, cur, log)),
            }
        }
        Some(owned.unwrap_or_else(|| row.clone()))
    }

    /// Takes what waits in the ring, keeping the rows this query selects. `Err` once it ended.
    fn fill(&mut self, st: &mut FeedState) -> std::result::Result<(), Option<String>> {
        let mut taken = std::mem::take(&mut self.taken);
        let r = self.feed.take(st, self.id, &mut taken);
        self.taken = taken;
        r
    }

    fn process_taken(&mut self) {
        let taken = std::mem::take(&mut self.taken);
        for r in &taken {
            if let Some(out) = self.apply(r) {
                self.pending.push_back(out);
            }
        }
        self.taken = taken;
        self.taken.clear();
    }

    pub(crate) fn next_row(&mut self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Next::Row(r);
            }
            let feed = self.feed.clone();
            let mut st = feed.lock();
            loop {
                if let Err(e) = self.fill(&mut st) {
                    return Next::End(e);
                }
                if !self.taken.is_empty() {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Next::Empty;
                }
                st = feed.rows.wait_timeout(st, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
            }
            drop(st);
            self.process_taken();
        }
    }

    pub(crate) fn poll_next_row(&mut self, waker: &Waker) -> Next {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Next::Row(r);
            }
            let feed = self.feed.clone();
            let mut st = feed.lock();
            if let Err(e) = self.fill(&mut st) {
                return Next::End(e);
            }
            if self.taken.is_empty() {
                if let Some(s) = st.subs.get_mut(&self.id) {
                    s.waker = Some(waker.clone());
                }
                return Next::Empty;
            }
            drop(st);
            self.process_taken();
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.feed.remove(self.id);
    }
}

/// The source step and the stateless steps above it (bottom first) of a plan that a shared
/// reader can serve; `None` for any other plan.
pub(crate) fn shared_stages(root: &ExecutionStep) -> Option<(&SourceStep, Vec<&ExecutionStep>)> {
    let mut steps = Vec::new();
    let mut step = root;
    loop {
        match step {
            ExecutionStep::StreamSource(s) | ExecutionStep::TableSource(s) => {
                steps.reverse();
                return Some((s, steps));
            }
            ExecutionStep::StreamFilter { source, .. }
            | ExecutionStep::TableFilter { source, .. }
            | ExecutionStep::StreamSelect { source, .. }
            | ExecutionStep::TableSelect { source, .. } => {
                steps.push(step);
                step = source;
            }
            _ => return None,
        }
    }
}

/// What the shared readers of an engine work with: its feeds, the embedded broker they read,
/// how subscribers compile their steps and log, and the engine's properties.
pub(crate) struct FeedContext<'a> {
    pub(crate) feeds: &'a Arc<Feeds>,
    pub(crate) broker: &'a Broker,
    pub(crate) env: &'a ExprEnv,
    pub(crate) log: &'a Arc<ProcessingLog>,
    pub(crate) registry: Option<&'a Arc<dyn brook_schema::SchemaRegistryClient>>,
    /// A property's value (session, then server).
    pub(crate) property: &'a dyn Fn(&str) -> Option<&'a String>,
}

/// Subscribes push query `id` to its source's feed when it qualifies (shared push queries
/// enabled, a stateless plan over one source, reading from the end); `None` otherwise.
pub(crate) fn subscribe(cx: &FeedContext<'_>, plan: &QueryPlan, id: &str) -> Result<Option<Subscription>> {
    let enabled = (cx.property)(SHARED_ENABLED).is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let earliest = (cx.property)("auto.offset.reset").is_some_and(|v| v == "earliest");
    let Some((source, steps)) = shared_stages(&plan.root).filter(|_| enabled && !earliest) else { return Ok(None) };
    let mut stages = Vec::with_capacity(steps.len());
    for step in steps {
        let input = &step.inputs()[0].schema().value;
        let log = QueryLogger::new(cx.log, id, &step.props().ctx);
        stages.push(match step {
            ExecutionStep::StreamFilter { predicate, .. } | ExecutionStep::TableFilter { predicate, .. } => {
                Stage::Filter(Arc::new(cx.env.compile(predicate, input)?), log)
            }
            ExecutionStep::StreamSelect { select, .. } | ExecutionStep::TableSelect { select, .. } => {
                let exprs = select.iter().map(|c| Ok((c.name.clone(), Arc::new(cx.env.compile(&c.expr, input)?)))).collect::<Result<_>>()?;
                Stage::Select(exprs, log)
            }
            _ => unreachable!("shared_stages returns filters and projections"),
        });
    }
    let max_lag = prop_u64(cx, MAX_LAG_ROWS, 1_000)?.max(1) as usize;
    let max_stall = Duration::from_millis(prop_u64(cx, MAX_STALL_MS, 2_000)?);
    let name = plan.sources.first().cloned().unwrap_or_default();
    let (feed, sub) = feed_for(cx.feeds, cx.broker, cx.log, cx.registry, source, &name, max_lag, max_stall)?;
    tracing::debug!(query = id, source = %name, subscriber = sub, "push query shares its source's reader");
    Ok(Some(Subscription { feed, id: sub, stages, pending: VecDeque::new(), taken: Vec::new() }))
}

fn prop_u64(cx: &FeedContext<'_>, name: &str, default: u64) -> Result<u64> {
    match (cx.property)(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| Error::Analysis(format!("invalid value for {name}: '{v}' (expected a non-negative integer)"))),
    }
}

/// The running feed of `source` with a new subscriber on it, starting one when needed.
#[allow(clippy::too_many_arguments)]
fn feed_for(feeds: &Arc<Feeds>, broker: &Broker, log: &Arc<ProcessingLog>, registry: Option<&Arc<dyn brook_schema::SchemaRegistryClient>>, source: &SourceStep, name: &str, max_lag: usize, max_stall: Duration) -> Result<(Arc<Feed>, u64)> {
    // Sources over one topic with the same schema and formats decode the same rows.
    let key = serde_json::to_string(&(&source.topic, &source.formats, &source.timestamp, &source.source_schema)).map_err(|e| Error::Eval(e.to_string()))?;
    let mut running = feeds.lock();
    if let Some(f) = running.get(&key) {
        if let Some(sub) = f.add() {
            return Ok((f.clone(), sub));
        }
    }
    let reader = SourceReader::new(broker, source, name, log, registry)?;
    let feed = Arc::new(Feed {
        source: name.to_owned(),
        state: Mutex::new(FeedState { base: 0, ring: VecDeque::new(), subs: HashMap::new(), next_sub: 0, stopping: false, ended: None, reader_waiting: false }),
        rows: Condvar::new(),
        room: Condvar::new(),
        max_lag,
        max_stall,
        reader: Mutex::new(None),
    });
    let Some(sub) = feed.add() else { unreachable!("a new feed is not stopping") };
    let (f, feeds_ref) = (feed.clone(), feeds.clone());
    let key2 = key.clone();
    let handle = thread::Builder::new().name(format!("brook-push-{name}")).spawn(move || {
        reader.run(&f);
        let mut feeds = feeds_ref.lock();
        if feeds.get(&key2).is_some_and(|g| Arc::ptr_eq(g, &f)) {
            feeds.remove(&key2);
        }
    })?;
    *feed.reader.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
    if let Some(old) = running.insert(key, feed.clone()) {
        // A stopping feed: its reader ends by itself.
        drop(old);
    }
    Ok((feed, sub))
}

/// Reads one source topic from its end and decodes its records into source rows.
struct SourceReader {
    broker: Broker,
    topic: String,
    /// Next offset of each partition.
    offsets: Vec<i64>,
    keys: SourceSerde,
    values: SourceSerde,
    layout: Layout,
    /// `TIMESTAMP` column: (in key, position, type, format).
    timestamp: Option<(bool, usize, SqlType, Option<String>)>,
    utc: crate::function::javatime::Zone,
}

impl SourceReader {
    fn new(broker: &Broker, s: &SourceStep, name: &str, log: &Arc<ProcessingLog>, registry: Option<&Arc<dyn brook_schema::SchemaRegistryClient>>) -> Result<Self> {
        let logger = QueryLogger::new(log, &format!("push_{name}"), &s.props.ctx);
        let (layout, key_cols, value_cols) = layout(s, false);
        let keys = SourceSerde::new(&s.formats.key, &key_cols, true, logger.clone(), registry)?;
        let values = SourceSerde::new(&s.formats.value, &value_cols, false, logger, registry)?;
        let timestamp = s.timestamp.as_ref().and_then(|ts| {
            let in_value = value_cols.iter().position(|c| c.name == ts.column).map(|i| (false, i, value_cols[i].ty.clone()));
            let in_key = || key_cols.iter().position(|c| c.name == ts.column).map(|i| (true, i, key_cols[i].ty.clone()));
            in_value.or_else(in_key).map(|(k, i, ty)| (k, i, ty, ts.format.clone()))
        });
        let err = |e: brook_broker::Error| Error::Eval(e.to_string());
        let partitions = broker.partition_count(&s.topic, false).map_err(err)?;
        let offsets = (0..partitions).map(|p| broker.list_offset(&s.topic, p, OffsetSpec::Latest, IsolationLevel::ReadCommitted).map(|o| o.0).map_err(err)).collect::<Result<_>>()?;
        Ok(SourceReader {
            broker: broker.clone(),
            topic: s.topic.clone(),
            offsets,
            keys,
            values,
            layout,
            timestamp,
            utc: crate::function::javatime::Zone::parse("UTC")?,
        })
    }

    /// Reads and publishes until the feed stops or the topic cannot be read.
    fn run(mut self, feed: &Feed) {
        // Woken by appends to this source's topic only.
        let mut changes = match self.broker.topic_changes(&self.topic) {
            Ok(c) => c,
            Err(e) => return feed.end(Some(format!("the source {} cannot be read: {e}", feed.source))),
        };
        loop {
            changes.mark_seen();
            let rows = match self.poll() {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(source = %feed.source, error = %e, "the shared push-query reader stops");
                    return feed.end(Some(format!("the source {} cannot be read: {e}", feed.source)));
                }
            };
            if rows.is_empty() {
                if feed.lock().stopping {
                    return;
                }
                changes.wait_timeout(Duration::from_millis(100));
                continue;
            }
            if !feed.publish(rows) {
                return;
            }
        }
    }

    /// One fetch of each partition, decoded.
    fn poll(&mut self) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        for p in 0..self.offsets.len() {
            let data = match self.broker.fetch(&self.topic, p as i32, self.offsets[p], FETCH_BYTES, IsolationLevel::ReadCommitted) {
                Ok(d) => d,
                Err(brook_broker::Error::OffsetOutOfRange { .. }) => {
                    // Retention removed what was not read: go on from the log's start.
                    self.offsets[p] = self.broker.list_offset(&self.topic, p as i32, OffsetSpec::Earliest, IsolationLevel::ReadCommitted).map_err(|e| Error::Eval(e.to_string()))?.0;
                    continue;
                }
                Err(e) => return Err(Error::Eval(e.to_string())),
            };
            if data.records.is_empty() {
                continue;
            }
            let mut offset = self.offsets[p];
            for r in committed_records(&data, &mut offset)? {
                if let Some(row) = self.decode(p as i32, r) {
                    rows.push(row);
                }
            }
            self.offsets[p] = offset;
        }
        Ok(rows)
    }

    /// The source row of a record; `None` for tombstones, records that do not decode (logged)
    /// and records without a valid timestamp, which queries skip too.
    fn decode(&self, partition: i32, r: brook_broker::record::Record) -> Option<Row> {
        let value = self.values.deserialize(&self.topic, r.value.as_deref()?).ok()?;
        let key = match r.key.as_deref() {
            Some(k) => self.keys.deserialize(&self.topic, k).ok()?,
            None => vec![Value::Null; self.layout.key_width],
        };
        let ts = match &self.timestamp {
            None => r.timestamp,
            Some((in_key, i, ty, format)) => {
                let v = if *in_key { key.get(*i) } else { value.get(*i) };
                timestamp_millis(v.cloned(), Some(ty), format.as_deref(), &self.utc)
            }
        };
        if ts < 0 {
            return None;
        }
        Some(self.layout.row(&key, &value, ts, partition, r.offset, &r.headers, None))
    }
}
