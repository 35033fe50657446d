//! Aggregations: `StreamGroupBy` / `StreamGroupByKey` / `TableGroupBy` (through the
//! `Aggregate-GroupBy` repartition topic), then `StreamAggregate`, `StreamWindowedAggregate`
//! (tumbling, hopping, session) or `TableAggregate` into the `Aggregate-Aggregate-Materialize`
//! store, then the aggregate row turned into the output schema (accumulators to results, window
//! bounds). `EMIT FINAL` suppresses until the window closes.
//!
//! The aggregate row is `[non-aggregate columns..., accumulators...]`; non-aggregate columns
//! take the latest record's values.

use std::sync::Arc;
use std::time::Duration;

use brook_state_store::Windowed;
use brook_streams_dsl::{Grouped, KGroupedStream, KTable, Materialized, Named, SessionWindows, Suppressed, TimeWindows};

use crate::analyzer::env::AggregateCall;
use crate::analyzer::{AGG_PREFIX, WINDOWEND, WINDOWSTART};
use crate::engine::processing_log::QueryLogger;
use crate::expr::CompiledExpr;
use crate::lower::serde::internal_serde;
use crate::lower::stream::{map_changelog, test};
use crate::lower::context::{LowerContext, Lowered};
use crate::parser::ast::{Expr, WindowExpr};
use crate::plan::physical::{AggregateStep, ExecutionStep, PlanColumn, StepProperties};
use crate::{Error, Result, Row, Value};

/// ksqlDB's default grace period when a window gives none: 24 hours.
const DEFAULT_GRACE_MS: u64 = 24 * 60 * 60 * 1000;

/// Folds records into aggregate rows.
struct Aggregator {
    /// Positions of the non-aggregate columns in the input row.
    non_agg: Vec<usize>,
    calls: Vec<AggregateCall>,
    log: QueryLogger,
}

impl Aggregator {
    fn init(&self) -> Row {
        let mut row = vec![Value::Null; self.non_agg.len()];
        row.extend(self.calls.iter().map(|c| c.function.init()));
        row
    }

    fn args(&self, call: &AggregateCall, v: &Row) -> Vec<Value> {
        call.args
            .iter()
            .map(|a| {
                a.eval_reporting(v, |m| self.log.processing_error(m, v)).unwrap_or_else(|e| {
                    self.log.processing_error(&e.to_string(), v);
                    Value::Null
                })
            })
            .collect()
    }

    /// `agg` if it has this aggregation's layout, else a fresh row (a store written by an
    /// earlier plan of a replaced query).
    fn checked(&self, agg: Row) -> Row {
        if agg.len() == self.non_agg.len() + self.calls.len() {
            agg
        } else {
            tracing::warn!(columns = agg.len(), "aggregate row of another layout; starting over");
            self.init()
        }
    }

    fn add(&self, v: &Row, agg: Row) -> Row {
        let mut agg = self.checked(agg);
        let n = self.non_agg.len();
        for (j, &i) in self.non_agg.iter().enumerate() {
            agg[j] = v.get(i).cloned().unwrap_or(Value::Null);
        }
        for (j, call) in self.calls.iter().enumerate() {
            let args = self.args(call, v);
            let acc = std::mem::replace(&mut agg[n + j], Value::Null);
            agg[n + j] = match call.function.add(acc.clone(), &args) {
                Ok(a) => a,
                Err(e) => {
                    self.log.processing_error(&e.to_string(), v);
                    acc
                }
            };
        }
        agg
    }

    fn undo(&self, v: &Row, agg: Row) -> Row {
        let mut agg = self.checked(agg);
        let n = self.non_agg.len();
        for (j, call) in self.calls.iter().enumerate() {
            let args = self.args(call, v);
            let acc = std::mem::replace(&mut agg[n + j], Value::Null);
            agg[n + j] = match call.function.undo(acc.clone(), &args) {
                Some(Ok(a)) => a,
                Some(Err(e)) => {
                    self.log.processing_error(&e.to_string(), v);
                    acc
                }
                None => acc,
            };
        }
        agg
    }

    fn merge(&self, a: Row, b: Row) -> Row {
        let (a, b) = (self.checked(a), self.checked(b));
        let n = self.non_agg.len();
        let mut out = b.clone();
        for (j, call) in self.calls.iter().enumerate() {
            out[n + j] = call.function.merge(a[n + j].clone(), b[n + j].clone()).unwrap_or_else(|e| {
                self.log.processing_error(&e.to_string(), &b);
                b[n + j].clone()
            });
        }
        out
    }

    /// The aggregate row with accumulators turned into results (ksqlDB's `ToOutputSchema`).
    fn output(&self, agg: &Row) -> Row {
        let n = self.non_agg.len();
        let mut out: Row = agg[..n.min(agg.len())].to_vec();
        for (j, call) in self.calls.iter().enumerate() {
            let acc = agg.get(n + j).cloned().unwrap_or(Value::Null);
            out.push(call.function.result(&acc).unwrap_or_else(|e| {
                self.log.processing_error(&e.to_string(), agg);
                Value::Null
            }));
        }
        out
    }
}

fn materialized(cx: &LowerContext, retention: Option<u64>) -> Materialized<Row, Row> {
    let mut m = Materialized::named("Aggregate-Aggregate-Materialize").with_key_serde(internal_serde()).with_value_serde(internal_serde());
    if !cx.caching {
        m = m.with_caching_disabled();
    }
    if let Some(r) = retention {
        m = m.with_retention(Duration::from_millis(r));
    }
    m
}

fn compile_all(cx: &LowerContext, exprs: &[Expr], cols: &[PlanColumn]) -> Result<Vec<Arc<CompiledExpr>>> {
    exprs.iter().map(|e| Ok(Arc::new(cx.env.compile(e, cols)?))).collect()
}

/// Evaluates grouping expressions; `None` (logged) when one fails or is `NULL`, as ksqlDB
/// excludes such rows.
fn group_key(exprs: &[Arc<CompiledExpr>], v: &Row, log: &QueryLogger) -> Option<Row> {
    let mut key = Vec::with_capacity(exprs.len());
    for (i, e) in exprs.iter().enumerate() {
        match e.eval_reporting(v, |m| log.processing_error(&format!("Error computing group-by column with index {i}: {m}"), v)) {
            Ok(Value::Null) => {
                log.processing_error(&format!("Group-by column with index {i} resolved to null. The source row will be excluded from the table."), v);
                return None;
            }
            Ok(x) => key.push(x),
            Err(err) => {
                log.processing_error(&format!("Error computing group-by column with index {i}: {err}"), v);
                return None;
            }
        }
    }
    Some(key)
}

/// Lowers a step below an aggregation.
type LowerInput<'a> = &'a dyn Fn(&ExecutionStep) -> Result<Lowered>;

fn grouped(name: &str) -> Grouped<Row, Row> {
    Grouped::with(internal_serde(), internal_serde()).with_name(name)
}

/// Lowers the group-by step below an aggregation to a grouped stream (its input through `lower`).
fn group_stream(step: &ExecutionStep, cx: &LowerContext, lower: LowerInput<'_>) -> Result<KGroupedStream<Row, Row>> {
    match step {
        ExecutionStep::StreamGroupByKey { props, source, .. } => match lower(source)? {
            Lowered::Stream(s) => Ok(s.group_by_key(grouped(&props.op_name()))),
            _ => Err(Error::Unsupported("GROUP BY key of a table".into())),
        },
        ExecutionStep::StreamGroupBy { props, source, group_by, .. } => {
            let Lowered::Stream(s) = lower(source)? else {
                return Err(Error::Unsupported("StreamGroupBy of a table".into()));
            };
            let exprs = Arc::new(compile_all(cx, group_by, &source.schema().value)?);
            let log = cx.logger(&props.ctx);
            let (e2, l2) = (exprs.clone(), log.clone());
            // Rows whose grouping key is NULL or fails are excluded (and logged).
            let kept = s.filter(move |_, v| group_key(&e2, v, &l2).is_some());
            Ok(kept.group_by(move |_, v| group_key(&exprs, v, &log).unwrap_or_default(), grouped(&props.op_name())))
        }
        other => Err(Error::Unsupported(format!("{} below a stream aggregation", other.step_name()))),
    }
}

/// The aggregator of an aggregation step.
fn aggregator(a: &AggregateStep, cx: &LowerContext) -> Result<Arc<Aggregator>> {
    let input = &a.source.schema().value;
    let input_cols = match &*a.source {
        ExecutionStep::StreamGroupBy { source, .. } | ExecutionStep::StreamGroupByKey { source, .. } | ExecutionStep::TableGroupBy { source, .. } => {
            source.schema().value.clone()
        }
        _ => input.clone(),
    };
    let non_agg = a
        .non_aggregate_columns
        .iter()
        .map(|n| input_cols.iter().position(|c| &c.name == n).ok_or_else(|| Error::Analysis(format!("unknown column \"{n}\""))))
        .collect::<Result<Vec<_>>>()?;
    let calls = a.aggregations.iter().map(|c| cx.env.aggregate(c, &input_cols)).collect::<Result<Vec<_>>>()?;
    if a.formats.value.format == "DELIMITED" && calls.iter().any(|c| c.function.intermediate_is_struct()) {
        return Err(Error::Analysis("One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.".into()));
    }
    let agg = Arc::new(Aggregator { non_agg, calls, log: cx.logger(&a.props.ctx) });
    debug_assert!(a.props.schema.value.iter().filter(|c| c.name.starts_with(AGG_PREFIX)).count() == agg.calls.len());
    Ok(agg)
}

/// Turns a stored aggregate row into the aggregation's output row (ksqlDB's
/// `ToOutputSchema`), for pull queries over the aggregation's store.
pub(crate) fn output_of(a: &AggregateStep, cx: &LowerContext) -> Result<impl Fn(&Row) -> Row> {
    let agg = aggregator(a, cx)?;
    Ok(move |row: &Row| agg.output(row))
}

/// `StreamAggregate`, `StreamWindowedAggregate`, `TableAggregate`; `having` (a windowed
/// aggregation's `HavingFilter`) filters the windowed table with its old values, so a window
/// that never passed gets no tombstone and one that stops passing gets one (ksqlDB). `lower`
/// lowers the step below the group-by (the dispatcher in `mod.rs`, passed in).
pub(crate) fn aggregate(
    a: &AggregateStep,
    window: Option<&WindowExpr>,
    cx: &LowerContext,
    emit_final: bool,
    having: Option<(&StepProperties, &Expr)>,
    lower: LowerInput<'_>,
) -> Result<Lowered> {
    let agg = aggregator(a, cx)?;
    if let ExecutionStep::TableGroupBy { props, source, group_by, .. } = &*a.source {
        let Lowered::Table(t) = lower(source)? else {
            return Err(Error::Unsupported("TableGroupBy of a stream".into()));
        };
        if let Some(i) = agg.calls.iter().position(|c| !c.function.supports_undo()) {
            let name = match &a.aggregations[i] {
                Expr::Function { name, .. } => name.clone(),
                _ => String::new(),
            };
            return Err(Error::Analysis(format!("The aggregation functions {name} cannot be applied to a table source, only to a stream source.")));
        }
        let exprs = Arc::new(compile_all(cx, group_by, &source.schema().value)?);
        let log = cx.logger(&props.ctx);
        let (e2, l2) = (exprs.clone(), log.clone());
        let kept: KTable<Row, Row> = t.filter(move |_, v| group_key(&e2, v, &l2).is_some());
        let g = kept.group_by(move |_, v| (group_key(&exprs, v, &log).unwrap_or_default(), v.clone()), grouped(&props.op_name()));
        let (a1, a2, a3) = (agg.clone(), agg.clone(), agg.clone());
        let table = g.aggregate(move || a1.init(), move |_, v, acc| a2.add(v, acc), move |_, v, acc| a3.undo(v, acc), materialized(cx, None));
        let out = agg.clone();
        return Ok(Lowered::Table(table.map_values(move |v| out.output(v))));
    }
    let g = group_stream(&a.source, cx, lower)?;
    let (a1, a2) = (agg.clone(), agg.clone());
    let Some(window) = window else {
        let table = g.aggregate(move || a1.init(), move |_, v, acc| a2.add(v, acc), materialized(cx, None));
        let out = agg.clone();
        return Ok(Lowered::Table(table.map_values(move |v| out.output(v))));
    };
    let ms = |x: u64| Duration::from_millis(x);
    let table: KTable<Windowed<Row>, Row> = match *window {
        WindowExpr::Tumbling { size_ms, retention_ms, grace_ms } | WindowExpr::Hopping { size_ms, retention_ms, grace_ms, .. } => {
            let grace = grace_ms.unwrap_or(DEFAULT_GRACE_MS);
            let mut w = TimeWindows::of_size_and_grace(ms(size_ms), ms(grace));
            if let WindowExpr::Hopping { advance_ms, .. } = *window {
                w = w.advance_by(ms(advance_ms));
            }
            let retention = retention_ms.unwrap_or(size_ms + grace).max(size_ms + grace);
            g.windowed_by(w).aggregate(move || a1.init(), move |_, v, acc| a2.add(v, acc), materialized(cx, Some(retention)))
        }
        WindowExpr::Session { gap_ms, retention_ms, grace_ms } => {
            let grace = grace_ms.unwrap_or(DEFAULT_GRACE_MS);
            let a3 = agg.clone();
            let retention = retention_ms.unwrap_or(gap_ms + grace).max(gap_ms + grace);
            g.windowed_by_session(SessionWindows::of_inactivity_gap_and_grace(ms(gap_ms), ms(grace))).aggregate(
                move || a1.init(),
                move |_, v, acc| a2.add(v, acc),
                move |_, x, y| a3.merge(x, y),
                materialized(cx, Some(retention)),
            )
        }
    };
    let table = if emit_final { table.suppress(Suppressed::until_window_closes().with_name("Suppress")) } else { table };
    // Window bounds go into the row (ksqlDB's WINDOWSTART / WINDOWEND columns).
    let bounds = a.props.schema.value.iter().any(|c| c.name == WINDOWSTART) && a.props.schema.value.iter().any(|c| c.name == WINDOWEND);
    let output = Arc::new(move |out: &Aggregator, k: Option<&Windowed<Row>>, v: &Row| {
        let mut row = out.output(v);
        if bounds {
            let (s, e) = k.map_or((Value::Null, Value::Null), |k| (Value::BigInt(k.window.start), Value::BigInt(k.window.end)));
            row.push(s);
            row.push(e);
        }
        row
    });
    let table = match having {
        Some((props, predicate)) => {
            let pred = Arc::new(cx.env.compile(predicate, &a.props.schema.value)?);
            let log = cx.logger(&props.ctx);
            let (out, output) = (agg.clone(), output.clone());
            table.filter_named_with_old_values(move |k, v| test(&pred, &output(&out, Some(k), v), &log), Named::as_(props.op_name()))
        }
        None => table,
    };
    let out = agg.clone();
    let changelog = map_changelog(table.to_stream(), Arc::new(move |k: Option<&Windowed<Row>>, v: &Row| Some(output(&out, k, v))));
    Ok(Lowered::Windowed(changelog))
}
