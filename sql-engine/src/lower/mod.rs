//! Lowering: a physical plan onto the Streams DSL, over rows (`K` = the key columns, `V` =
//! the value columns, both [`Row`](crate::Row)). One file per step family: [`source`], [`stream`]
//! (filter, select, select key, flat map), [`aggregate`] (group by, aggregations, windows,
//! suppression), `join`, [`sink`]; `vector` runs stateless stream queries over Arrow batches.
//! This file dispatches each step to its file and lowers the inputs of joins (an aggregation
//! gets the dispatcher as a function to lower the step below its group-by); what the step files
//! share, [`LowerContext`] and [`Lowered`], is below them in `context.rs`.
//!
//! Failures on single records never stop a query, as in ksqlDB: a record whose key or value
//! does not deserialize is skipped (the runtime's deserialization handler is set to continue),
//! an expression that fails yields `NULL` (projections) or drops the record (filters, grouping),
//! and each such record is written to the processing log.
//!
//! Where Brook differs from ksqlDB: processor names are the DSL's generated ones
//! (`KSTREAM-PROCESSVALUES-0000000001` where ksqlDB has `KSTREAM-TRANSFORMVALUES-0000000001`,
//! `KSTREAM-MAPVALUES-<n>` for `Project`); operations ksqlDB names and that the DSL lets us
//! name keep ksqlDB's names (`WhereFilter`, `Aggregate-GroupBy` and its repartition topic, the
//! `Aggregate-Aggregate-Materialize` and `KsqlTopic-Reduce` stores and their changelogs).
//! Windowed tables become their changelog stream right after aggregation (and suppression),
//! so `HAVING` and the projection of windowed aggregations run on that stream.

pub(crate) mod aggregate;
mod context;
mod join;
pub(crate) mod serde;
mod sink;
pub(crate) mod source;
pub(crate) mod stream;
mod vector;

use brook_streams_dsl::StreamsBuilder;

use crate::plan::physical::ExecutionStep;
use crate::{Error, Result};

pub(crate) use self::context::{LowerContext, Lowered};

/// The property that runs stateless stream queries over Arrow batches ([`vector`]) where the
/// query allows it. Default: `true`; `false` keeps every query on the row path.
pub(crate) const VECTORIZED: &str = "ksql.brook.vectorized.enable";

/// Lowers `step` (and its inputs) into `builder`.
pub(crate) fn lower(step: &ExecutionStep, builder: &StreamsBuilder, cx: &LowerContext) -> Result<Lowered> {
    lower_with(step, builder, cx, false)
}

/// `emit_final`: a `TableSuppress` is above; the windowed aggregation below suppresses.
fn lower_with(step: &ExecutionStep, builder: &StreamsBuilder, cx: &LowerContext, emit_final: bool) -> Result<Lowered> {
    use ExecutionStep::*;
    match step {
        StreamSource(s) => source::stream_source(s, builder, cx),
        TableSource(s) => source::table_source(s, builder, cx),
        WindowedStreamSource(s) => source::windowed_source(s, builder, cx, false),
        WindowedTableSource(s) => source::windowed_source(s, builder, cx, true),
        // `HAVING` on a windowed aggregation filters the windowed table, which sees old values.
        TableFilter { props, source, predicate } if props.ctx.ends_with("HavingFilter") && matches!(**source, StreamWindowedAggregate { .. }) => {
            let StreamWindowedAggregate { aggregate: a, window } = &**source else { unreachable!("matched above") };
            aggregate::aggregate(a, Some(window), cx, emit_final, Some((props, predicate)), &|s| lower(s, builder, cx))
        }
        StreamFilter { props, source, predicate } | TableFilter { props, source, predicate } => {
            let input = lower_with(source, builder, cx, emit_final)?;
            stream::filter(input, props, &source.schema().value, predicate, cx)
        }
        StreamSelect { props, source, select, .. } | TableSelect { props, source, select, .. } => {
            let input = lower_with(source, builder, cx, emit_final)?;
            stream::select(input, props, &source.schema().value, select, cx)
        }
        StreamSelectKey { props, source, key_expressions } => {
            let input = lower_with(source, builder, cx, emit_final)?;
            stream::select_key(input, props, &source.schema().value, &source.schema().key, key_expressions, cx)
        }
        StreamFlatMap { props, source, table_functions } => {
            let input = lower_with(source, builder, cx, emit_final)?;
            stream::flat_map(input, props, &source.schema().value, table_functions, cx)
        }
        StreamAggregate(a) | TableAggregate(a) => aggregate::aggregate(a, None, cx, emit_final, None, &|s| lower(s, builder, cx)),
        StreamWindowedAggregate { aggregate: a, window } => aggregate::aggregate(a, Some(window), cx, emit_final, None, &|s| lower(s, builder, cx)),
        TableSuppress { source, .. } => lower_with(source, builder, cx, true),
        StreamGroupBy { .. } | StreamGroupByKey { .. } | TableGroupBy { .. } => {
            Err(Error::Unsupported(format!("{} outside an aggregation", step.step_name())))
        }
        StreamStreamJoin { join, within } => join::stream_stream(join, within, lower(&join.left, builder, cx)?, lower(&join.right, builder, cx)?, cx),
        StreamTableJoin(j) => join::stream_table(j, lower(&j.left, builder, cx)?, lower(&j.right, builder, cx)?, cx),
        TableTableJoin(j) => join::table_table(j, lower(&j.left, builder, cx)?, lower(&j.right, builder, cx)?, cx),
        ForeignKeyTableTableJoin { join, foreign_key } => {
            join::foreign_key(join, foreign_key, lower(&join.left, builder, cx)?, lower(&join.right, builder, cx)?, cx)
        }
        StreamSink(_) | TableSink(_) => Err(Error::Unsupported("a sink can only end a plan".into())),
    }
}

/// Whether `step` passes stream records without a value from its source to its sink, as
/// ksqlDB does: only projections and `PARTITION BY` do (the record keeps its `NULL` value and
/// gets a `NULL` key); filters, aggregations, joins and table functions drop such records.
fn passes_null_values(step: &ExecutionStep) -> bool {
    match step {
        ExecutionStep::StreamSelect { source, .. } | ExecutionStep::StreamSelectKey { source, .. } => passes_null_values(source),
        ExecutionStep::StreamSource(_) | ExecutionStep::WindowedStreamSource(_) => true,
        _ => false,
    }
}

/// Lowers a persistent query's plan (rooted at a sink) into `builder`.
pub(crate) fn lower_persistent(root: &ExecutionStep, builder: &StreamsBuilder, cx: &LowerContext) -> Result<()> {
    if cx.vectorized && vector::try_lower(root, builder, cx)? {
        return Ok(());
    }
    match root {
        ExecutionStep::StreamSink(s) | ExecutionStep::TableSink(s) => {
            let null_cx;
            let cx = if passes_null_values(&s.source) {
                null_cx = LowerContext { null_values: true, ..cx.clone() };
                &null_cx
            } else {
                cx
            };
            let input = lower(&s.source, builder, cx)?;
            sink::sink(input, s, cx)
        }
        other => Err(Error::Unsupported(format!("a persistent query ends in a sink, not {}", other.step_name()))),
    }
}
