//! Lowering: a physical plan onto the Streams DSL, over rows (`K` = the key columns, `V` =
//! the value columns, both [`Row`]). One file per step family: [`source`], [`stream`]
//! (filter, select, select key, flat map), [`aggregate`] (group by, aggregations, windows,
//! suppression), [`sink`].
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
mod join;
pub(crate) mod serde;
mod sink;
pub(crate) mod source;
pub(crate) mod stream;
mod vector;

use std::sync::Arc;

use brook_state_store::Windowed;
use brook_streams_dsl::{KStream, KTable, StreamsBuilder};

use crate::analyzer::ExprEnv;
use crate::engine::processing_log::{ProcessingLog, QueryLogger};
use crate::plan::physical::ExecutionStep;
use crate::{Error, Result, Row};

/// The property that runs stateless stream queries over Arrow batches ([`vector`]) where the
/// query allows it. Default: `true`; `false` keeps every query on the row path.
pub(crate) const VECTORIZED: &str = "ksql.brook.vectorized.enable";

/// What lowering needs besides the plan.
#[derive(Debug, Clone)]
pub(crate) struct LowerContext {
    pub(crate) env: ExprEnv,
    pub(crate) query_id: String,
    pub(crate) log: Arc<ProcessingLog>,
    /// `cache.max.bytes.buffering` is 0: stores do not cache.
    pub(crate) caching: bool,
    /// `ksql.brook.vectorized.enable`: stateless stream queries run over Arrow batches
    /// ([`vector`]).
    pub(crate) vectorized: bool,
    /// Where sources start without committed offsets (`auto.offset.reset`; ksqlDB's default
    /// is `latest`). `None` leaves the runtime's default.
    pub(crate) offset_reset: Option<brook_processor_api::OffsetReset>,
    /// The Schema Registry of the `AVRO` format's serdes.
    pub(crate) registry: Option<Arc<dyn brook_schema::SchemaRegistryClient>>,
    /// Stream sources forward records without a value (as `None`): set while lowering a
    /// stream query whose steps all pass them on ([`passes_null_values`]).
    pub(crate) null_values: bool,
}

impl LowerContext {
    pub(crate) fn logger(&self, ctx: &str) -> QueryLogger {
        QueryLogger::new(&self.log, &self.query_id, ctx)
    }
}

/// A lowered step's output.
pub(crate) enum Lowered {
    Stream(KStream<Row, Row>),
    Table(KTable<Row, Row>),
    /// A windowed table, as its changelog stream (null values delete).
    Windowed(KStream<Windowed<Row>, Row>),
    /// A stream with windowed keys (read from a windowed source).
    WindowedStream(KStream<Windowed<Row>, Row>),
}

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
            aggregate::aggregate(a, Some(window), builder, cx, emit_final, Some((props, predicate)))
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
        StreamAggregate(a) | TableAggregate(a) => aggregate::aggregate(a, None, builder, cx, emit_final, None),
        StreamWindowedAggregate { aggregate: a, window } => aggregate::aggregate(a, Some(window), builder, cx, emit_final, None),
        TableSuppress { source, .. } => lower_with(source, builder, cx, true),
        StreamGroupBy { .. } | StreamGroupByKey { .. } | TableGroupBy { .. } => {
            Err(Error::Unsupported(format!("{} outside an aggregation", step.step_name())))
        }
        StreamStreamJoin { join, within } => join::stream_stream(join, within, builder, cx),
        StreamTableJoin(j) => join::stream_table(j, builder, cx),
        TableTableJoin(j) => join::table_table(j, builder, cx),
        ForeignKeyTableTableJoin { join, foreign_key } => join::foreign_key(join, foreign_key, builder, cx),
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
