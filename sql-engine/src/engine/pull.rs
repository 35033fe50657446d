//! Pull queries: `SELECT ... FROM table|stream [WHERE ...] [LIMIT n]` without `EMIT`, answered
//! once from the current contents.
//!
//! A table written by an aggregation (`CREATE TABLE ... AS SELECT ... GROUP BY`) is read from
//! the query's `Aggregate-Aggregate-Materialize` store (the test driver's store in test mode,
//! interactive queries in live mode), its rows turned into the table's rows by the writing
//! query's own output conversion, `HAVING` and projection, as ksqlDB does.
//!
//! Where Brook differs from ksqlDB: other tables (source tables, projections of tables,
//! windowed aggregations) are answered from their topic (the latest row per key, tombstones
//! deleting), and streams by scanning their topic; so every table is queryable, not only
//! materialized ones, and key lookups scan. The restrictions on clauses are ksqlDB's.

use std::collections::BTreeMap;

use brook_state_store::{Serde, ValueAndTimestamp};

use crate::analyzer::{plan_query, ExprEnv};
use crate::catalog::{QueryKind, WindowType};
use crate::engine::query::lower_context;
use crate::engine::Runtime;
use crate::format::InternalRowSerde;
use crate::lower::aggregate::output_of;
use crate::engine::entities::FieldInfo;
use crate::engine::{Engine, StatementResult};
use crate::expr::CompiledExpr;
use crate::format::SerdeContext;
use crate::lower::source::layout;
use crate::parser::ast::Query;
use crate::plan::physical::{ExecutionStep, SourceStep};
use crate::{analysis_err, Error, Result, Row, Value};

/// The stateless steps of a pull query's plan, source first.
fn chain(step: &ExecutionStep) -> Result<(&SourceStep, Vec<&ExecutionStep>)> {
    let mut steps = Vec::new();
    let mut s = step;
    loop {
        match s {
            ExecutionStep::StreamSource(src) | ExecutionStep::TableSource(src) | ExecutionStep::WindowedStreamSource(src) | ExecutionStep::WindowedTableSource(src) => {
                steps.reverse();
                return Ok((src, steps));
            }
            ExecutionStep::StreamFilter { source, .. } | ExecutionStep::TableFilter { source, .. } | ExecutionStep::StreamSelect { source, .. } | ExecutionStep::TableSelect { source, .. } => {
                steps.push(s);
                s = source;
            }
            other => return Err(Error::Unsupported(format!("pull queries with {}", other.step_name()))),
        }
    }
}

enum Op {
    Filter(CompiledExpr),
    Project(Vec<CompiledExpr>),
}

fn ops(env: &ExprEnv, steps: &[&ExecutionStep]) -> Result<Vec<Op>> {
    steps
        .iter()
        .map(|s| match s {
            ExecutionStep::StreamFilter { source, predicate, .. } | ExecutionStep::TableFilter { source, predicate, .. } => {
                Ok(Op::Filter(env.compile(predicate, &source.schema().value)?))
            }
            ExecutionStep::StreamSelect { source, select, .. } | ExecutionStep::TableSelect { source, select, .. } => {
                Ok(Op::Project(select.iter().map(|c| env.compile(&c.expr, &source.schema().value)).collect::<Result<_>>()?))
            }
            other => Err(Error::Unsupported(format!("pull queries with {}", other.step_name()))),
        })
        .collect()
}

/// Applies filters and projections; `None` when a filter drops the row.
fn apply(ops: &[Op], mut row: Row) -> Result<Option<Row>> {
    for op in ops {
        match op {
            Op::Filter(p) => {
                if !matches!(p.eval(&row)?, Value::Boolean(true)) {
                    return Ok(None);
                }
            }
            Op::Project(exprs) => row = exprs.iter().map(|e| e.eval(&row).unwrap_or(Value::Null)).collect(),
        }
    }
    Ok(Some(row))
}

/// A window's start and end.
type Bounds = (i64, i64);

/// Splits a windowed key into its bytes and window.
fn split_window<'a>(bytes: &'a [u8], src: &SourceStep) -> Option<(&'a [u8], Option<Bounds>)> {
    let Some(w) = src.window else { return Some((bytes, None)) };
    let be = |b: &[u8]| i64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
    match w.window_type {
        WindowType::Session => {
            let at = bytes.len().checked_sub(16)?;
            Some((&bytes[..at], Some((be(&bytes[at + 8..]), be(&bytes[at..at + 8])))))
        }
        _ => {
            let at = bytes.len().checked_sub(8)?;
            let start = be(&bytes[at..]);
            Some((&bytes[..at], Some((start, start.saturating_add(w.size_ms.unwrap_or(0) as i64)))))
        }
    }
}

/// The rows of `table` from the store of the aggregation that writes it, as (key, value,
/// timestamp) in the table's schema: the store's aggregate rows turned into output rows, then
/// the writing query's `HAVING` and projection. `None` when `table` is not an aggregation's
/// (non-windowed) output.
fn from_store(engine: &Engine, table: &str) -> Result<Option<Vec<(Row, Row, i64)>>> {
    let writer = engine.catalog.queries().find(|q| q.sink.as_deref() == Some(table) && q.kind == QueryKind::CreateTableAs);
    let Some(q) = writer else { return Ok(None) };
    let ExecutionStep::TableSink(sink) = &q.plan.root else { return Ok(None) };
    let mut steps = Vec::new();
    let mut s: &ExecutionStep = &sink.source;
    let agg = loop {
        match s {
            ExecutionStep::TableSelect { source, .. } | ExecutionStep::TableFilter { source, .. } => {
                steps.push(s);
                s = source;
            }
            ExecutionStep::StreamAggregate(a) | ExecutionStep::TableAggregate(a) => break a,
            _ => return Ok(None),
        }
    };
    steps.reverse();
    let cx = lower_context(engine, &q.id);
    let output = output_of(agg, &cx)?;
    let ops = ops(&engine.env, &steps)?;
    let entries = match &engine.runtime {
        Runtime::Test(p) => p.store_entries(&q.id, STORE)?,
        Runtime::Live(l) => l.store_entries(&q.id, STORE)?,
    };
    let Some(entries) = entries else { return Ok(None) };
    let serde = InternalRowSerde;
    let mut rows = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let key: Row = serde.deserialize(STORE, &k).map_err(|e| Error::Serde(e.to_string()))?;
        let vt = ValueAndTimestamp::from_bytes(&v).map_err(|e| Error::Serde(e.to_string()))?;
        let aggregate: Row = serde.deserialize(STORE, &vt.value).map_err(|e| Error::Serde(e.to_string()))?;
        if let Some(value) = apply(&ops, output(&aggregate))? {
            rows.push((key, value, vt.timestamp));
        }
    }
    Ok(Some(rows))
}

/// The store ksqlDB materializes aggregations in.
const STORE: &str = "Aggregate-Aggregate-Materialize";

pub(crate) fn pull(engine: &Engine, q: &Query) -> Result<StatementResult> {
    if !q.group_by.is_empty() {
        return analysis_err!("Pull queries don't support GROUP BY clauses.");
    }
    if q.window.is_some() {
        return analysis_err!("Pull queries don't support WINDOW clauses.");
    }
    if !q.partition_by.is_empty() {
        return analysis_err!("Pull queries don't support PARTITION BY clauses.");
    }
    if !q.from.joins.is_empty() {
        return analysis_err!("Pull queries don't support JOIN clauses.");
    }
    let plan = plan_query(q, &engine.catalog, &engine.env, None)?;
    let (src, steps) = chain(&plan.root)?;
    let table = matches!(steps.first().copied().unwrap_or(&plan.root), ExecutionStep::TableFilter { .. } | ExecutionStep::TableSelect { .. });
    let ops = ops(&engine.env, &steps)?;
    let (layout, key_cols, value_cols) = layout(src, table);
    let keys = crate::format::format_with(&src.formats.key, engine.config.schema_registry.as_ref())?.row_serde(&key_cols, true)?;
    let values = crate::format::format_with(&src.formats.value, engine.config.schema_registry.as_ref())?.row_serde(&value_cols, false)?;
    // Tables written by an aggregation are read from its store, as ksqlDB does.
    if table && src.window.is_none() {
        if let Some(name) = source_name(engine, src) {
            if let Some(entries) = from_store(engine, &name)? {
                let rows: Vec<Row> = entries.iter().map(|(k, v, ts)| layout.row(k, v, *ts, 0, 0, &[], None)).collect();
                return finish(q, &plan.root, &ops, rows);
            }
        }
    }
    let records = engine.read_output(&src.topic)?;
    let mut latest: BTreeMap<Vec<u8>, Row> = BTreeMap::new();
    let mut rows = Vec::new();
    for (offset, r) in records.iter().enumerate() {
        let raw_key = r.key.clone().unwrap_or_default();
        let Some((key_bytes, window)) = split_window(&raw_key, src) else { continue };
        let key = match keys.deserialize(r.key.as_ref().map(|_| key_bytes), &SerdeContext::key(&src.topic)) {
            Ok(k) => k.unwrap_or_else(|| vec![Value::Null; layout.key_width]),
            Err(_) => continue,
        };
        let value = match &r.value {
            None => None,
            Some(v) => match values.deserialize(Some(v), &SerdeContext::value(&src.topic)) {
                Ok(v) => v,
                Err(_) => continue,
            },
        };
        let headers: Vec<_> = r.headers.iter().map(|(k, v)| brook_processor_api::engine::Header { key: k.clone(), value: v.clone().map(Into::into) }).collect();
        match (table, value) {
            (true, None) => {
                latest.remove(&raw_key);
            }
            (false, None) => {}
            (true, Some(v)) => {
                latest.insert(raw_key, layout.row(&key, &v, r.timestamp, 0, offset as i64, &headers, window));
            }
            (false, Some(v)) => rows.push(layout.row(&key, &v, r.timestamp, 0, offset as i64, &headers, window)),
        }
    }
    if table {
        rows = latest.into_values().collect();
    }
    finish(q, &plan.root, &ops, rows)
}

/// The source the pull query reads, by name (the catalog source over the step's topic whose
/// schema it carries).
fn source_name(engine: &Engine, src: &SourceStep) -> Option<String> {
    engine.catalog.sources().find(|s| s.topic == src.topic && s.schema == src.source_schema).map(|s| s.name.clone())
}

/// Applies the pull query's filters, projection and `LIMIT`.
fn finish(q: &Query, root: &ExecutionStep, ops: &[Op], rows: Vec<Row>) -> Result<StatementResult> {
    let limit = q.limit.map_or(usize::MAX, |l| l as usize);
    let mut out = Vec::new();
    for row in rows {
        if out.len() >= limit {
            break;
        }
        if let Some(r) = apply(ops, row)? {
            out.push(r);
        }
    }
    let schema = root.schema().value.iter().map(|c| FieldInfo::of(c, false)).collect();
    Ok(StatementResult::Rows { schema, rows: out })
}
