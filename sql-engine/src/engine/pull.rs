//! Pull queries: `SELECT ... FROM table|stream [WHERE ...] [LIMIT n]` without `EMIT`, answered
//! once from the current contents.
//!
//! A table is read from the state store of the query that materializes it ([`store`]), as
//! ksqlDB does: a source table (`CREATE SOURCE TABLE`) from its `CST_` query's store, a table
//! written by `CREATE TABLE ... AS SELECT` from the writing query's store (aggregations,
//! windowed or not, and projections or filters of a table), through the steps above the store
//! in that query. The `WHERE` clause picks what is read ([`lookup`]): point gets for key
//! equalities (`K = x`, `K IN (...)`, every column of a multi-column key), window fetches
//! bounded by `WINDOWSTART` / `WINDOWEND`, else a scan of the store; the whole clause then
//! filters what was read, and `LIMIT` stops early. A table no query materializes (`CREATE TABLE`
//! without `SOURCE`) is refused with ksqlDB's message. Streams are scanned from their topic.
//!
//! Where Brook differs from ksqlDB: tables written by joins, and windowed tables declared with
//! `WINDOW_TYPE`, are answered from their topic (the latest row per key, tombstones deleting);
//! any `WHERE` expression is accepted (ksqlDB takes comparisons, `LIKE`, `IN` and `BETWEEN`
//! joined by `AND` / `OR`); key ranges scan with the filter (see [`lookup`]).

mod lookup;
mod ops;
mod store;

use std::collections::BTreeMap;

use brook_state_store::Serde;

use self::ops::{apply, ops, Op};
use crate::analyzer::plan_query;
use crate::catalog::{DataSource, QueryKind, WindowType};
use crate::engine::entities::{FieldInfo, StatementResult};
use crate::engine::state::Engine;
use crate::format::SerdeContext;
use crate::lower::source::{layout, Layout};
use crate::parser::ast::{Expr, Query, SelectItem, SourceKind};
use crate::plan::physical::{ExecutionStep, SourceStep};
use crate::{Error, Result, Row, Value};

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

/// ksqlDB's `PullQueryValidator`: the clauses a pull query may not have, with its messages.
fn validate(q: &Query) -> Result<()> {
    let refused = |what: &str| Err(Error::Analysis(format!("Pull queries don't support {what} clauses.{}", lookup::SYNTAX_HELP)));
    if !q.from.joins.is_empty() {
        return refused("JOIN");
    }
    if q.window.is_some() {
        return refused("WINDOW");
    }
    if !q.group_by.is_empty() {
        return refused("GROUP BY");
    }
    if !q.partition_by.is_empty() {
        return refused("PARTITION BY");
    }
    if q.having.is_some() {
        return refused("HAVING");
    }
    // ROWPARTITION and ROWOFFSET are not kept by state stores.
    let disallowed = |exprs: &mut dyn Iterator<Item = &Expr>| -> String {
        let mut names = Vec::new();
        for e in exprs {
            columns(e, &mut |n| {
                if (n == "ROWPARTITION" || n == "ROWOFFSET") && !names.iter().any(|x: &String| x == n) {
                    names.push(n.to_owned());
                }
            });
        }
        names.join(", ")
    };
    let selected = disallowed(&mut q.select.iter().filter_map(|s| match s {
        SelectItem::Expr { expr, .. } => Some(expr),
        _ => None,
    }));
    if !selected.is_empty() {
        return Err(Error::Analysis(format!("Pull queries don't support the following columns in SELECT clauses: {selected}\n{}", lookup::SYNTAX_HELP)));
    }
    let filtered = disallowed(&mut q.where_clause.iter());
    if !filtered.is_empty() {
        return Err(Error::Analysis(format!("Pull queries don't support the following columns in WHERE clauses: {filtered}\n{}", lookup::SYNTAX_HELP)));
    }
    Ok(())
}

/// Calls `f` with the name of every column `e` refers to.
fn columns(e: &Expr, f: &mut dyn FnMut(&str)) {
    match e {
        Expr::Column { name, .. } => f(name),
        Expr::Literal(_) | Expr::Star => {}
        Expr::Dereference { base, .. } => columns(base, f),
        Expr::Subscript { base, index } => {
            columns(base, f);
            columns(index, f);
        }
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => columns(expr, f),
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            columns(left, f);
            columns(right, f);
        }
        Expr::Like { expr, pattern, .. } => {
            columns(expr, f);
            columns(pattern, f);
        }
        Expr::Between { expr, low, high, .. } => {
            for x in [expr, low, high] {
                columns(x, f);
            }
        }
        Expr::InList { expr, list, .. } => {
            columns(expr, f);
            list.iter().for_each(|x| columns(x, f));
        }
        Expr::Case { operand, when_then, else_result } => {
            operand.iter().chain(else_result.iter()).for_each(|x| columns(x, f));
            for (w, t) in when_then {
                columns(w, f);
                columns(t, f);
            }
        }
        Expr::Function { args, .. } | Expr::Array(args) => args.iter().for_each(|x| columns(x, f)),
        Expr::Lambda { body, .. } => columns(body, f),
        Expr::Map(entries) => entries.iter().for_each(|(k, v)| {
            columns(k, f);
            columns(v, f);
        }),
        Expr::Struct(fields) => fields.iter().for_each(|(_, v)| columns(v, f)),
    }
}

/// A pull query on windowed table `table` as ksqlDB runs it: `*` is the key columns, then
/// `WINDOWSTART` and `WINDOWEND`, then the value columns; datetime strings compared to the
/// window bounds are milliseconds.
fn windowed(q: &Query, table: &DataSource) -> Query {
    let col = |name: &str| SelectItem::Expr { expr: Expr::Column { source: None, name: name.to_owned() }, alias: None };
    let select = q
        .select
        .iter()
        .flat_map(|item| match item {
            SelectItem::Star => table
                .schema
                .key()
                .map(|c| col(&c.name))
                .chain([col(crate::analyzer::WINDOWSTART), col(crate::analyzer::WINDOWEND)])
                .chain(table.schema.value().map(|c| col(&c.name)))
                .collect(),
            other => vec![other.clone()],
        })
        .collect();
    Query { select, where_clause: q.where_clause.as_ref().map(lookup::with_instants), ..q.clone() }
}

/// ksqlDB's message for a table no query materializes.
fn not_queryable(name: &str) -> Error {
    Error::Analysis(format!(
        "The `{name}` table isn't queryable. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_{name} AS SELECT * FROM {name}'.{}",
        lookup::SYNTAX_HELP
    ))
}

pub(crate) fn pull(engine: &Engine, q: &Query) -> Result<StatementResult> {
    validate(q)?;
    let source = engine.catalog.source(&q.from.source.name).cloned();
    // The WHERE clause is read before the query is planned, as ksqlDB's filter node reads it.
    let lookup = match &source {
        Some(s) if s.kind == SourceKind::Table => {
            let key: Vec<_> = s.schema.key().cloned().collect();
            Some(lookup::Analyzer { env: &engine.env, key: &key, window: s.window.map(|w| w.window_type) }.lookup(q.where_clause.as_ref())?)
        }
        _ => None,
    };
    let rewritten = source.as_ref().filter(|s| s.kind == SourceKind::Table && s.window.is_some()).map(|s| windowed(q, s));
    let q = rewritten.as_ref().unwrap_or(q);
    let plan = plan_query(q, &engine.catalog, &engine.env, None)?;
    let (src, steps) = chain(&plan.root)?;
    let table = matches!(src_step(&plan.root), ExecutionStep::TableSource(_) | ExecutionStep::WindowedTableSource(_));
    let ops = ops(&engine.env, &steps)?;
    let (layout, key_cols, value_cols) = layout(src, table);
    if let (true, Some(source), Some(lookup)) = (table, &source, &lookup) {
        if let Some(rows) = from_store(engine, source, lookup, &layout)? {
            return finish(q, &plan.root, &ops, rows);
        }
        let written = engine.catalog.queries().any(|w| w.kind == QueryKind::CreateTableAs && w.sink.as_deref() == Some(source.name.as_str()));
        if !source.is_source && !written {
            return Err(not_queryable(&source.name));
        }
    }
    let keys = crate::format::format_with(&src.formats.key, engine.config.schema_registry.as_ref())?.row_serde(&key_cols, true)?;
    let values = crate::format::format_with(&src.formats.value, engine.config.schema_registry.as_ref())?.row_serde(&value_cols, false)?;
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

/// The source step under a pull query's steps.
fn src_step(root: &ExecutionStep) -> &ExecutionStep {
    let mut s = root;
    while let ExecutionStep::TableFilter { source, .. } | ExecutionStep::TableSelect { source, .. } | ExecutionStep::StreamFilter { source, .. } | ExecutionStep::StreamSelect { source, .. } = s {
        s = source;
    }
    s
}

/// The rows of table `source` from the store of the query that materializes it, in the
/// table's source layout; `None` when no running query keeps a store of it.
fn from_store(engine: &Engine, source: &DataSource, lookup: &lookup::Lookup, layout: &Layout) -> Result<Option<Vec<Row>>> {
    let Some(m) = store::materialization(engine, &source.name)? else { return Ok(None) };
    let serde = crate::format::InternalRowSerde;
    let read = lookup.read(m.kind, |k| serde.serialize(&m.store, k).map_err(|e| Error::Serde(e.to_string())))?;
    let Some(rows) = m.rows(engine, read)? else { return Ok(None) };
    Ok(Some(rows.into_iter().map(|r| if m.direct { r.value } else { layout.row(&r.key, &r.value, r.timestamp, 0, 0, &[], r.window) }).collect()))
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
