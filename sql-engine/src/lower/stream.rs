//! Stateless steps: `StreamFilter`/`TableFilter` (`WhereFilter`, `HavingFilter`),
//! `StreamSelect`/`TableSelect` (`Project`), `StreamSelectKey` (`PARTITION BY`) and
//! `StreamFlatMap` (table functions). Each works on streams, tables and windowed changelogs.

use std::sync::Arc;

use brook_processor_api::{Processor, ProcessorContext, Record, Result as PResult};
use brook_streams_dsl::Named;

use crate::engine::processing_log::QueryLogger;
use crate::expr::CompiledExpr;
use crate::lower::context::{LowerContext, Lowered};
use crate::parser::ast::Expr;
use crate::plan::physical::{PlanColumn, SelectColumn, StepProperties};
use brook_streams_dsl::Data;

use crate::{Result, Row, Value};

/// Evaluates a predicate: only `TRUE` keeps the row; a failure is logged and drops it.
pub(crate) fn test(pred: &CompiledExpr, row: &[Value], log: &QueryLogger) -> bool {
    match pred.eval_reporting(row, |m| log.processing_error(&format!("Error evaluating predicate {}: {m}", pred_text(pred)), row)) {
        Ok(Value::Boolean(true)) => true,
        Ok(_) => false,
        Err(e) => {
            log.processing_error(&format!("Error evaluating predicate {}: {e}", pred_text(pred)), row);
            false
        }
    }
}

fn pred_text(_pred: &CompiledExpr) -> &'static str {
    "expression"
}

/// Evaluates the select expressions; a failing one is `NULL` and logged (ksqlDB's message).
pub(crate) fn project(exprs: &[(String, Arc<CompiledExpr>)], row: &[Value], log: &QueryLogger) -> Row {
    exprs
        .iter()
        .enumerate()
        .map(|(i, (name, e))| match e.eval_reporting(row, |m| log.processing_error(&format!("Error computing expression for column {name} with index {i}: {m}"), row)) {
            Ok(v) => v,
            Err(err) => {
                log.processing_error(&format!("Error computing expression for column {name} with index {i}: {err}"), row);
                Value::Null
            }
        })
        .collect()
}

/// Maps a value seeing the key; `None` turns the record into a tombstone.
pub(crate) type ChangelogFn<K> = Arc<dyn Fn(Option<&K>, &Row) -> Option<Row> + Send + Sync>;

/// A value mapper on changelog streams.
struct ChangelogMapper<K> {
    f: ChangelogFn<K>,
}

impl<K: Data> Processor<Option<K>, Option<Row>, Option<K>, Option<Row>> for ChangelogMapper<K> {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<K>, Option<Row>>, r: Record<Option<K>, Option<Row>>) -> PResult<()> {
        let out = r.value().as_ref().and_then(|v| (self.f)(r.key().as_ref(), v));
        ctx.forward(r.with_value(out))
    }
}

/// Applies `f` to the values of a windowed changelog.
pub(crate) fn map_changelog(
    s: brook_streams_dsl::KStream<brook_state_store::Windowed<Row>, Row>,
    f: ChangelogFn<brook_state_store::Windowed<Row>>,
) -> brook_streams_dsl::KStream<brook_state_store::Windowed<Row>, Row> {
    s.process_values(move || ChangelogMapper { f: f.clone() }, &[])
}

fn compile(cx: &LowerContext, e: &Expr, input: &[PlanColumn]) -> Result<Arc<CompiledExpr>> {
    Ok(Arc::new(cx.env.compile(e, input)?))
}

/// `StreamFilter` / `TableFilter`.
pub(crate) fn filter(input: Lowered, props: &StepProperties, cols: &[PlanColumn], predicate: &Expr, cx: &LowerContext) -> Result<Lowered> {
    let pred = compile(cx, predicate, cols)?;
    let log = cx.logger(&props.ctx);
    let name = Named::as_(props.op_name());
    Ok(match input {
        Lowered::Stream(s) => Lowered::Stream(s.filter_named(move |_, v| test(&pred, v, &log), name)),
        // HAVING filters an aggregation, which sends its old values: a group that never passed
        // gets no tombstone (ksqlDB). A WHERE on a source table deletes every failing key.
        Lowered::Table(t) if props.ctx.ends_with("HavingFilter") => Lowered::Table(t.filter_named_with_old_values(move |_, v| test(&pred, v, &log), name)),
        Lowered::Table(t) => Lowered::Table(t.filter_named(move |_, v| test(&pred, v, &log), name)),
        Lowered::Windowed(s) => Lowered::Windowed(map_changelog(s, Arc::new(move |_, v| test(&pred, v, &log).then(|| v.clone())))),
        Lowered::WindowedStream(s) => Lowered::WindowedStream(s.filter_named(move |_, v| test(&pred, v, &log), name)),
    })
}

/// `StreamSelect` / `TableSelect`: the key passes unchanged (only its column names change).
pub(crate) fn select(input: Lowered, props: &StepProperties, cols: &[PlanColumn], select: &[SelectColumn], cx: &LowerContext) -> Result<Lowered> {
    let exprs: Vec<(String, Arc<CompiledExpr>)> = select.iter().map(|s| Ok((s.name.clone(), compile(cx, &s.expr, cols)?))).collect::<Result<_>>()?;
    let exprs = Arc::new(exprs);
    let log = cx.logger(&props.ctx);
    Ok(match input {
        Lowered::Stream(s) => Lowered::Stream(s.map_values(move |v| project(&exprs, v, &log))),
        Lowered::Table(t) => Lowered::Table(t.map_values(move |v| project(&exprs, v, &log))),
        Lowered::Windowed(s) => Lowered::Windowed(map_changelog(s, Arc::new(move |_, v| Some(project(&exprs, v, &log))))),
        Lowered::WindowedStream(s) => Lowered::WindowedStream(s.map_values(move |v| project(&exprs, v, &log))),
    })
}

/// `StreamSelectKey` (`PARTITION BY`): the key becomes the expressions' values (a failing
/// expression gives a `NULL` key column, logged). A record without a value (passed on as in
/// ksqlDB) keeps it: an expression over key columns only is evaluated on them (`PARTITION BY
/// K + 2` gives `2` for key `0`), any other is `NULL`.
pub(crate) fn select_key(input: Lowered, props: &StepProperties, cols: &[PlanColumn], key_cols: &[PlanColumn], keys: &[Expr], cx: &LowerContext) -> Result<Lowered> {
    let Lowered::Stream(s) = input else {
        return Err(crate::Error::Unsupported("PARTITION BY on a table".into()));
    };
    let exprs: Vec<(String, Arc<CompiledExpr>)> =
        keys.iter().zip(&props.schema.key).map(|(e, c)| Ok((c.name.clone(), compile(cx, e, cols)?))).collect::<Result<_>>()?;
    // Where each key column's copy sits in the input row, and which expressions read only those.
    let key_slots: Vec<Option<usize>> = key_cols.iter().map(|k| cols.iter().rposition(|c| c.name == k.name)).collect();
    let on_key: Vec<bool> = exprs.iter().map(|(_, e)| e.columns().iter().all(|i| key_slots.contains(&Some(*i)))).collect();
    let width = cols.len();
    let log = cx.logger(&props.ctx);
    Ok(Lowered::Stream(s.select_key_with_nulls(move |k, v| match v {
        Some(v) => project(&exprs, v, &log),
        None => {
            let mut row = vec![Value::Null; width];
            for (slot, value) in key_slots.iter().zip(k.into_iter().flatten()) {
                if let Some(i) = slot {
                    row[*i] = value.clone();
                }
            }
            exprs.iter().zip(&on_key).map(|((_, e), on_key)| if *on_key { e.eval(&row).unwrap_or(Value::Null) } else { Value::Null }).collect()
        }
    })))
}

/// `StreamFlatMap`: one output row per element of the longest table function result; shorter
/// results pad with `NULL`, as ksqlDB does.
pub(crate) fn flat_map(input: Lowered, props: &StepProperties, cols: &[PlanColumn], functions: &[Expr], cx: &LowerContext) -> Result<Lowered> {
    let Lowered::Stream(s) = input else {
        return Err(crate::Error::Unsupported("table functions on a table".into()));
    };
    let calls = functions.iter().map(|f| cx.env.table_function(f, cols)).collect::<Result<Vec<_>>>()?;
    let log = cx.logger(&props.ctx);
    Ok(Lowered::Stream(s.flat_map_values(move |v: &Row| {
        let mut results: Vec<Vec<Value>> = Vec::with_capacity(calls.len());
        for c in &calls {
            let args: Vec<Value> = c
                .args
                .iter()
                .map(|a| {
                    a.eval_reporting(v, |m| log.processing_error(m, v)).unwrap_or_else(|e| {
                        log.processing_error(&e.to_string(), v);
                        Value::Null
                    })
                })
                .collect();
            results.push(c.function.apply(&args).unwrap_or_else(|e| {
                log.processing_error(&e.to_string(), v);
                Vec::new()
            }));
        }
        let n = results.iter().map(Vec::len).max().unwrap_or(0);
        (0..n)
            .map(|i| {
                let mut row = v.clone();
                row.extend(results.iter().map(|r| r.get(i).cloned().unwrap_or(Value::Null)));
                row
            })
            .collect::<Vec<_>>()
    })))
}
