//! Where a table's pull queries read: the state store of the persistent query that
//! materializes it, as ksqlDB's `KsqlMaterialization` does, and how the entries a read of it
//! finds (point gets, window fetches, scans: `engine/store_read.rs`, answered in test mode and
//! live mode alike) become the table's rows.
//!
//! - A source table (`CREATE SOURCE TABLE`) is materialized by its `CST_<NAME>_<n>` query in
//!   `KsqlTopic-Reduce`: the store holds the table's rows as they are.
//! - A table written by `CREATE TABLE ... AS SELECT` is read from the writing query's store, then
//!   turned into the table's rows by the steps above that store in the query (`HAVING`,
//!   `WHERE`, the projection): the `Aggregate-Aggregate-Materialize` store of an aggregation
//!   (key-value, window or session store; accumulators turned into results), or the
//!   `<source>-Reduce` store of the table a projection or filter reads.
//!
//! Tables written otherwise (joins) have no materialization here; see [`super`].

use brook_state_store::ValueAndTimestamp;

use crate::catalog::{QueryKind, WindowType};
use crate::engine::lifecycle::lower_context;
use crate::engine::state::{Engine, Runtime};
use crate::engine::store_read::{StoreKind, StoreRead};
use crate::lower::aggregate::output_of;
use crate::lower::source::reduce_store_name;
use crate::plan::physical::{AggregateStep, ExecutionStep};
use crate::{Error, Result, Row, Value};

use super::ops::{apply, ops, Op};

/// How a table's rows come out of a query's store.
pub(crate) struct Materialization {
    pub(crate) query_id: String,
    pub(crate) store: String,
    pub(crate) kind: StoreKind,
    /// The stored value as the row the steps above the store read (aggregations: the
    /// accumulators turned into results, then the window bounds where the schema has them).
    convert: Box<dyn Fn(&Row, Option<(i64, i64)>) -> Row>,
    /// The steps between the store and the table, in order.
    ops: Vec<Op>,
    /// The rows are the table's source rows already (a source table's own store): no layout.
    pub(crate) direct: bool,
}

/// A row read from a materialization: the key columns, the table's value row (or, when
/// [`Materialization::direct`], its whole source row), the timestamp and the window.
pub(crate) struct StoredRow {
    pub(crate) key: Row,
    pub(crate) value: Row,
    pub(crate) timestamp: i64,
    pub(crate) window: Option<(i64, i64)>,
}

impl std::fmt::Debug for Materialization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Materialization").field("query_id", &self.query_id).field("store", &self.store).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// The store ksqlDB materializes aggregations in.
pub(crate) const AGGREGATE_STORE: &str = "Aggregate-Aggregate-Materialize";

/// The materialization of table `name`, if a running query keeps one.
pub(crate) fn materialization(engine: &Engine, name: &str) -> Result<Option<Materialization>> {
    let writer = engine.catalog.queries().find(|q| {
        (q.kind == QueryKind::CreateTableAs && q.sink.as_deref() == Some(name)) || (q.kind == QueryKind::SourceTable && q.sources.iter().any(|s| s == name))
    });
    let Some(q) = writer else { return Ok(None) };
    let mut steps = Vec::new();
    let mut s: &ExecutionStep = match &q.plan.root {
        ExecutionStep::TableSink(sink) => &sink.source,
        root => root,
    };
    loop {
        match s {
            ExecutionStep::TableSelect { source, .. } | ExecutionStep::TableFilter { source, .. } => {
                steps.push(s);
                s = source;
            }
            ExecutionStep::TableSuppress { source, .. } => s = source,
            _ => break,
        }
    }
    steps.reverse();
    let ops = ops(&engine.env, &steps)?;
    let id = q.id.clone();
    let (store, kind, convert, direct): (String, StoreKind, Box<dyn Fn(&Row, Option<(i64, i64)>) -> Row>, bool) = match s {
        ExecutionStep::TableSource(src) => (reduce_store_name(src), StoreKind::KeyValue, Box::new(|r: &Row, _| r.clone()), q.kind == QueryKind::SourceTable),
        ExecutionStep::StreamAggregate(a) | ExecutionStep::TableAggregate(a) => {
            let output = output_of(a, &lower_context(engine, &id))?;
            (AGGREGATE_STORE.into(), StoreKind::KeyValue, Box::new(move |r: &Row, _| output(r)), false)
        }
        ExecutionStep::StreamWindowedAggregate { aggregate, .. } => {
            let Some(window) = writer_window(engine, name) else { return Ok(None) };
            let kind = match window.window_type {
                WindowType::Session => StoreKind::Session,
                _ => StoreKind::Window(window.size_ms.map_or(i64::MAX, |s| s as i64)),
            };
            (AGGREGATE_STORE.into(), kind, windowed_output(engine, &id, aggregate)?, false)
        }
        _ => return Ok(None),
    };
    Ok(Some(Materialization { query_id: id, store, kind, convert, ops, direct }))
}

/// The window of table `name` (as the catalog records it).
fn writer_window(engine: &Engine, name: &str) -> Option<crate::catalog::WindowInfo> {
    engine.catalog.source(name).and_then(|s| s.window)
}

/// A windowed aggregation's stored row as its output row: results, then `WINDOWSTART` and
/// `WINDOWEND` where its schema has them (as the lowered aggregation builds them).
fn windowed_output(engine: &Engine, id: &str, a: &AggregateStep) -> Result<Box<dyn Fn(&Row, Option<(i64, i64)>) -> Row>> {
    let output = output_of(a, &lower_context(engine, id))?;
    let names = |n: &str| a.props.schema.value.iter().any(|c| c.name == n);
    let bounds = names(crate::analyzer::WINDOWSTART) && names(crate::analyzer::WINDOWEND);
    Ok(Box::new(move |r: &Row, w: Option<(i64, i64)>| {
        let mut row = output(r);
        if bounds {
            let (s, e) = w.map_or((Value::Null, Value::Null), |(s, e)| (Value::BigInt(s), Value::BigInt(e)));
            row.push(s);
            row.push(e);
        }
        row
    }))
}

impl Materialization {
    /// The rows `read` finds, through the steps above the store (rows those steps drop are
    /// left out).
    pub(crate) fn rows(&self, engine: &Engine, read: StoreRead) -> Result<Option<Vec<StoredRow>>> {
        let entries = match &engine.runtime {
            Runtime::Test(p) => p.read_store(&self.query_id, &self.store, read)?,
            Runtime::Live(l) => l.read_store(&self.query_id, &self.store, read)?,
        };
        let Some(entries) = entries else { return Ok(None) };
        let serde = crate::format::InternalRowSerde;
        let decode = |b: &[u8]| -> Result<Row> { brook_state_store::Serde::<Row>::deserialize(&serde, &self.store, b).map_err(|e| Error::Serde(e.to_string())) };
        let mut rows = Vec::with_capacity(entries.len());
        for e in entries {
            let key = decode(&e.key)?;
            let (timestamp, bytes) = match self.kind {
                StoreKind::Session => (e.window.map_or(0, |w| w.1), &e.value[..]),
                _ => ValueAndTimestamp::split(&e.value).map_err(|err| Error::Serde(err.to_string()))?,
            };
            let window = match (self.kind, e.window) {
                (StoreKind::Window(size), Some((start, _))) => Some((start, start.saturating_add(size))),
                (_, w) => w,
            };
            let stored = (self.convert)(&decode(bytes)?, window);
            if let Some(value) = apply(&self.ops, stored)? {
                rows.push(StoredRow { key, value, timestamp, window });
            }
        }
        Ok(Some(rows))
    }
}
