//! Pull queries: `SELECT ... FROM table|stream [WHERE ...] [LIMIT n]` without `EMIT`, answered
//! once from the current contents.
//!
//! Where Brook differs from ksqlDB: the answer is computed from the source's topic (a table:
//! the latest row per key, tombstones deleting; a stream: every record), not from the state
//! stores of the query that writes the table; so every table is queryable, not only
//! materialized ones, and key lookups scan (no point reads). The restrictions on clauses are
//! ksqlDB's.

use std::collections::BTreeMap;

use crate::analyzer::{plan_query, ExprEnv};
use crate::catalog::WindowType;
use crate::engine::entities::FieldInfo;
use crate::engine::{Engine, StatementResult};
use crate::expr::CompiledExpr;
use crate::format::{format_for, SerdeContext};
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
    let keys = format_for(&src.formats.key)?.row_serde(&key_cols, true)?;
    let values = format_for(&src.formats.value)?.row_serde(&value_cols, false)?;
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
    let limit = q.limit.map_or(usize::MAX, |l| l as usize);
    let mut out = Vec::new();
    for row in rows {
        if out.len() >= limit {
            break;
        }
        if let Some(r) = apply(&ops, row)? {
            out.push(r);
        }
    }
    let schema = plan.root.schema().value.iter().map(|c| FieldInfo::of(c, false)).collect();
    Ok(StatementResult::Rows { schema, rows: out })
}
