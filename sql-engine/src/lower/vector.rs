//! The vectorized path of stateless stream queries (`ksql.brook.vectorized.enable=true`):
//! `CREATE STREAM .. AS SELECT .. FROM s [WHERE ..]` over a `JSON` source and sink runs as one
//! batching processor between the source and the sink. The task hands it runs of the records
//! it polled ([`Processor::batching`]); at the end of a run it reads the values into Arrow
//! columns (flat objects straight into the columns, others through the format's reader), runs
//! `WHERE` and the projection as column kernels ([`crate::expr::vector`]), writes the JSON
//! values from the columns and forwards the records in their order, with their keys,
//! timestamps and headers.
//!
//! Results are the row path's ([`super::source`], [`super::stream`], [`super::sink`]): where a
//! kernel fails on a batch (`/ by zero`, a cast that does not fit), that batch is filtered and
//! projected row by row with the row path's functions, which log each failing record as the
//! row path does. Differences: the topology has one processor (`KSTREAM-PROCESSVALUES`)
//! where the row path has four; within one run, deserialization errors are logged before the
//! run's expression errors.
//!
//! Everything else (tables, joins, aggregations, `PARTITION BY`, table functions, header
//! columns, `TIMESTAMP=` columns, other formats, `ARRAY`/`MAP`/`STRUCT` columns) takes the
//! row path.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int32Array, Int64Array, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema};
use brook_processor_api::engine::Header;
use brook_processor_api::{Processor, ProcessorContext, Record, Result as PResult};
use brook_state_store::{BytesSerde, Serde};
use brook_streams_dsl::{Consumed, Produced, StreamsBuilder};
use bytes::Bytes;

use crate::engine::processing_log::QueryLogger;
use crate::expr::vector::{array_value, arrow_type, values_to_array};
use crate::expr::CompiledExpr;
use crate::format::json::{flat_columns, write_value, JsonRowSerde};
use crate::format::json_flat::{read_flat, FlatColumn};
use crate::format::scalar::write_java_big_decimal;
use crate::lower::serde::{columns, topic_serde, SourceSerde};
use crate::lower::source::layout;
use crate::lower::stream::{project, test};
use crate::lower::context::LowerContext;
use crate::plan::physical::{ExecutionStep, SinkStep, SourceStep};
use crate::value::Decimal;
use crate::{Result, Row, SqlType, Value};

/// What a query's batching processor needs, shared by its tasks.
struct VectorPlan {
    topic: String,
    /// The format's reader for keys (logs what it cannot read).
    keys: SourceSerde,
    /// The number of key columns.
    key_width: usize,
    /// The format's reader for values the flat path leaves (logs what it cannot read).
    values: SourceSerde,
    flat: Vec<FlatColumn>,
    /// The types of the source row's columns: values, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`,
    /// keys.
    scope: Vec<SqlType>,
    predicate: Option<(Arc<CompiledExpr>, QueryLogger)>,
    select: Vec<(String, Arc<CompiledExpr>)>,
    select_log: QueryLogger,
    /// The scope columns `WHERE` or the projection read: only these become Arrow arrays (the
    /// others are all-`NULL` arrays, and are read from the records only when a run is
    /// evaluated row by row).
    read: Vec<bool>,
    /// The sink's value writer.
    out: JsonRowSerde,
}

/// A record waiting for the end of the run, its key and value as read from the topic.
struct Pending {
    key: Option<Bytes>,
    value: Bytes,
    ts: i64,
    headers: Vec<Header>,
    partition: i32,
    offset: i64,
}

/// A record of the run whose key and value were read.
struct Decoded {
    key: Row,
    ts: i64,
    headers: Vec<Header>,
    partition: i32,
    offset: i64,
}

/// The batching processor: keeps the run's records, then works on them as columns. Its
/// buffers are kept from run to run.
struct VectorStage {
    plan: Arc<VectorPlan>,
    pending: Vec<Pending>,
    /// The records of the run's current segment whose values are in `cols`.
    decoded: Vec<Decoded>,
    /// One flat-read row.
    scratch: Vec<Value>,
    /// The segment's values, by column.
    cols: Vec<Vec<Value>>,
}

impl Processor<Option<Bytes>, Option<Bytes>, Option<Row>, Option<Bytes>> for VectorStage {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<Row>, Option<Bytes>>, r: Record<Option<Bytes>, Option<Bytes>>) -> PResult<()> {
        let (partition, offset) = ctx.record_metadata().map_or((-1, -1), |m| (m.partition, m.offset));
        let (key, value, ts, headers) = r.into_parts();
        let Some(value) = value else {
            // A record without a value passes a projection (with a `NULL` value) and fails a
            // filter, as in ksqlDB and the row path; the batch before it goes first.
            self.flush_batch(ctx)?;
            let Some(key) = self.read_key(key.as_deref()) else { return Ok(()) };
            if self.plan.predicate.is_some() {
                return Ok(());
            }
            let key = (!key.iter().all(Value::is_null)).then_some(key);
            return ctx.forward(Record::with_all(key, None, ts, headers));
        };
        self.pending.push(Pending { key, value, ts, headers, partition, offset });
        Ok(())
    }

    fn batching(&self) -> bool {
        true
    }

    fn flush_batch(&mut self, ctx: &mut ProcessorContext<'_, Option<Row>, Option<Bytes>>) -> PResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut pending = std::mem::take(&mut self.pending);
        let plan = self.plan.clone();
        self.cols.resize_with(plan.flat.len(), Vec::new);
        for p in pending.drain(..) {
            // Keys and values are read in record order; a record that cannot be read is logged
            // after the records before it went through (their expression errors logged first),
            // so the processing log is the row path's, entry for entry.
            let Some(key) = self.read_key_quietly(p.key.as_deref()) else {
                self.evaluate_segment(ctx)?;
                let _ = self.read_key(p.key.as_deref());
                continue;
            };
            if read_flat(&p.value, &plan.flat, &mut self.scratch) {
                for (c, v) in self.cols.iter_mut().zip(self.scratch.drain(..)) {
                    c.push(v);
                }
            } else {
                let row = match plan.values.read(&plan.topic, &p.value) {
                    Ok(row) => row,
                    Err(_) => {
                        self.evaluate_segment(ctx)?;
                        // Logged to the processing log; skipped as the runtime's handler skips it.
                        let _ = plan.values.deserialize(&plan.topic, &p.value);
                        continue;
                    }
                };
                for (c, v) in self.cols.iter_mut().zip(row) {
                    c.push(v);
                }
            }
            self.decoded.push(Decoded { key, ts: p.ts, headers: p.headers, partition: p.partition, offset: p.offset });
        }
        self.pending = pending;
        self.evaluate_segment(ctx)
    }
}

impl VectorStage {
    /// The key row of a record's key bytes (no key: all `NULL`), `None` when they cannot be
    /// read (logged to the processing log).
    fn read_key(&self, key: Option<&[u8]>) -> Option<Row> {
        match key {
            None => Some(vec![Value::Null; self.plan.key_width]),
            Some(b) => self.plan.keys.deserialize(&self.plan.topic, b).ok(),
        }
    }

    /// [`Self::read_key`] without logging.
    fn read_key_quietly(&self, key: Option<&[u8]>) -> Option<Row> {
        match key {
            None => Some(vec![Value::Null; self.plan.key_width]),
            Some(b) => self.plan.keys.read(&self.plan.topic, b).ok(),
        }
    }

    /// Filters and projects the records decoded so far and forwards their outputs in order.
    fn evaluate_segment(&mut self, ctx: &mut ProcessorContext<'_, Option<Row>, Option<Bytes>>) -> PResult<()> {
        if self.decoded.is_empty() {
            return Ok(());
        }
        let mut decoded = std::mem::take(&mut self.decoded);
        // The plan checked the column types, so building the batch cannot fail on a record.
        let outputs = batch(&self.plan, &mut self.cols, &decoded)
            .and_then(|b| evaluate(&self.plan, &b, || full_rows(&self.plan, &b, &self.cols, &decoded)))
            .map_err(|e| brook_processor_api::Error::Processing { processor: "vectorized select".into(), message: e.to_string() })?;
        self.cols.iter_mut().for_each(Vec::clear);
        let mut outputs = outputs.into_iter().peekable();
        for (i, d) in decoded.drain(..).enumerate() {
            let Some(value) = outputs.next_if(|(pos, _)| *pos == i).map(|(_, v)| v) else { continue };
            // Empty and all-`NULL` keys are Kafka's null key, as the row path's sink writes them.
            let key = if d.key.iter().all(Value::is_null) { None } else { Some(d.key) };
            ctx.forward(Record::with_all(key, Some(Bytes::from(value.into_bytes())), d.ts, d.headers))?;
        }
        self.decoded = decoded;
        Ok(())
    }
}

/// The source rows of a run as a record batch over the query's scope (`values` are drained).
fn batch(plan: &VectorPlan, values: &mut [Vec<Value>], kept: &[Decoded]) -> Result<RecordBatch> {
    let len = kept.len();
    let n_values = values.len();
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(plan.scope.len());
    // Columns no expression reads: `NULL`s, and their values stay in `values`.
    let unread = |i: usize| -> Option<ArrayRef> {
        (!plan.read[i]).then(|| arrow_array::new_null_array(&arrow_type(&plan.scope[i]).unwrap_or(DataType::Null), len))
    };
    for (i, (ty, col)) in plan.scope.iter().zip(values.iter_mut()).enumerate() {
        arrays.push(match unread(i) {
            Some(nulls) => nulls,
            None => values_to_array(ty, col.drain(..))?,
        });
    }
    arrays.push(unread(n_values).unwrap_or_else(|| Arc::new(kept.iter().map(|p| p.ts).collect::<Int64Array>())));
    arrays.push(unread(n_values + 1).unwrap_or_else(|| Arc::new(kept.iter().map(|p| p.partition).collect::<Int32Array>())));
    arrays.push(unread(n_values + 2).unwrap_or_else(|| Arc::new(kept.iter().map(|p| p.offset).collect::<Int64Array>())));
    for (k, ty) in plan.scope[n_values + 3..].iter().enumerate() {
        arrays.push(match unread(n_values + 3 + k) {
            Some(nulls) => nulls,
            None => values_to_array(ty, kept.iter().map(|p| p.key.get(k).cloned().unwrap_or(Value::Null)))?,
        });
    }
    let fields: Vec<Field> = arrays.iter().enumerate().map(|(i, a)| Field::new(format!("c{i}"), a.data_type().clone(), true)).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(len));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options).map_err(|e| crate::Error::Eval(e.to_string()))
}

/// The source rows of a batch, every column: those the expressions read from the batch, the
/// others from the run's `values` (not drained) and records.
fn full_rows(plan: &VectorPlan, batch: &RecordBatch, values: &[Vec<Value>], kept: &[Decoded]) -> Vec<Row> {
    let n_values = values.len();
    (0..batch.num_rows())
        .map(|r| {
            (0..plan.scope.len())
                .map(|i| match i {
                    _ if plan.read[i] => array_value(batch.column(i).as_ref(), r),
                    i if i < n_values => values[i][r].clone(),
                    i if i == n_values => Value::BigInt(kept[r].ts),
                    i if i == n_values + 1 => Value::Int(kept[r].partition),
                    i if i == n_values + 2 => Value::BigInt(kept[r].offset),
                    i => kept[r].key.get(i - n_values - 3).cloned().unwrap_or(Value::Null),
                })
                .collect()
        })
        .collect()
}

/// `WHERE` and the projection over a batch: the positions kept and their JSON values.
/// `full` gives the batch's full rows, for evaluating row by row.
fn evaluate(plan: &VectorPlan, batch: &RecordBatch, full: impl FnOnce() -> Vec<Row>) -> Result<Vec<(usize, String)>> {
    let rows = batch.num_rows();
    let selected: Option<Vec<usize>> = match &plan.predicate {
        None => Some((0..rows).collect()),
        Some((pred, _)) => pred.filter_batch(batch).ok(),
    };
    let kernels = match &selected {
        Some(s) if s.is_empty() => return Ok(Vec::new()),
        Some(s) => {
            let input = if s.len() == rows { batch.clone() } else { take(batch, s)? };
            let columns: Option<Vec<ArrayRef>> = plan.select.iter().map(|(_, e)| e.eval_batch(&input).ok()).collect();
            columns
        }
        None => None,
    };
    let mut out = Vec::with_capacity(selected.as_ref().map_or(rows, Vec::len));
    match (selected, kernels) {
        (Some(selected), Some(columns)) => {
            for (row, &pos) in selected.iter().enumerate() {
                let mut text = String::with_capacity(64);
                plan.out.write_object(&mut text, |out, c| write_cell(out, columns[c].as_ref(), row));
                out.push((pos, text));
            }
        }
        // A kernel failed on some row: row by row, the filter then the projection of each, so
        // failures reach the processing log in the row path's order.
        _ => {
            for (pos, row) in full().iter().enumerate() {
                if let Some((pred, log)) = &plan.predicate {
                    if !test(pred, row, log) {
                        continue;
                    }
                }
                let values = project(&plan.select, row, &plan.select_log);
                let mut text = String::with_capacity(64);
                plan.out.write_object(&mut text, |out, c| write_value(out, &values[c]));
                out.push((pos, text));
            }
        }
    }
    Ok(out)
}

/// The rows at `positions` (ascending) of a batch.
fn take(batch: &RecordBatch, positions: &[usize]) -> Result<RecordBatch> {
    let arrays = batch
        .columns()
        .iter()
        .map(|a| {
            let ty = sql_type_of(a.data_type());
            values_to_array(&ty, positions.iter().map(|&i| array_value(a.as_ref(), i)))
        })
        .collect::<Result<Vec<_>>>()?;
    let options = RecordBatchOptions::new().with_row_count(Some(positions.len()));
    RecordBatch::try_new_with_options(batch.schema(), arrays, &options).map_err(|e| crate::Error::Eval(e.to_string()))
}

/// The SQL type an Arrow array of the scope holds (the inverse of [`arrow_type`]).
fn sql_type_of(dt: &DataType) -> SqlType {
    match dt {
        DataType::Boolean => SqlType::Boolean,
        DataType::Int32 => SqlType::Int,
        DataType::Float64 => SqlType::Double,
        DataType::Decimal128(p, s) => SqlType::Decimal { precision: *p, scale: *s as u8 },
        DataType::Utf8 => SqlType::String,
        DataType::Binary => SqlType::Bytes,
        DataType::Date32 => SqlType::Date,
        DataType::Time32(_) => SqlType::Time,
        DataType::Timestamp(..) => SqlType::Timestamp,
        _ => SqlType::BigInt,
    }
}

/// Writes value `row` of a column as [`write_value`] writes it (the common types directly).
fn write_cell(out: &mut String, a: &dyn Array, row: usize) {
    use std::fmt::Write;
    if a.is_null(row) {
        out.push_str("null");
        return;
    }
    match a.data_type() {
        DataType::Int64 => {
            let _ = write!(out, "{}", a.as_primitive::<Int64Type>().value(row));
        }
        DataType::Int32 => {
            let _ = write!(out, "{}", a.as_primitive::<Int32Type>().value(row));
        }
        DataType::Decimal128(p, s) => {
            let d = Decimal { unscaled: a.as_primitive::<Decimal128Type>().value(row), precision: *p, scale: *s as u8 };
            write_java_big_decimal(out, &d);
        }
        _ => write_value(out, &array_value(a, row)),
    }
}

/// Lowers `root` the vectorized way when it is a stateless stream query this path runs;
/// `Ok(false)` leaves it to the row path.
pub(crate) fn try_lower(root: &ExecutionStep, builder: &StreamsBuilder, cx: &LowerContext) -> Result<bool> {
    let ExecutionStep::StreamSink(sink) = root else { return Ok(false) };
    let ExecutionStep::StreamSelect { props: select_props, source: select_input, select, .. } = &*sink.source else { return Ok(false) };
    let (filter, source) = match &**select_input {
        ExecutionStep::StreamFilter { props, source, predicate } => (Some((props, predicate)), &**source),
        other => (None, other),
    };
    let ExecutionStep::StreamSource(s) = source else { return Ok(false) };
    let Some(plan) = plan(s, sink, cx)? else { return Ok(false) };
    let scope_cols = &source.schema().value;
    let predicate = match filter {
        Some((props, e)) => Some((Arc::new(cx.env.compile(e, scope_cols)?), cx.logger(&props.ctx))),
        None => None,
    };
    let select = select.iter().map(|c| Ok((c.name.clone(), Arc::new(cx.env.compile(&c.expr, scope_cols)?)))).collect::<Result<Vec<_>>>()?;
    let mut read = vec![false; plan.scope.len()];
    for e in predicate.iter().map(|(p, _)| p).chain(select.iter().map(|(_, e)| e)) {
        for i in e.columns() {
            if let Some(r) = read.get_mut(i) {
                *r = true;
            }
        }
    }
    let plan = Arc::new(VectorPlan { predicate, select, select_log: cx.logger(&select_props.ctx), read, ..plan });

    let mut consumed = Consumed::<Bytes, Bytes>::with(Arc::new(BytesSerde), Arc::new(BytesSerde));
    if let Some(r) = cx.offset_reset {
        consumed = consumed.with_offset_reset_policy(r);
    }
    let schema = sink.source.schema();
    let sink_keys = topic_serde(&sink.formats.key, &columns(&schema.key, true), true, cx.registry.as_ref())?;
    let sink_values: Arc<dyn Serde<Bytes>> = Arc::new(BytesSerde);
    builder
        .stream::<Bytes, Bytes>(&[&s.topic], consumed)
        .process::<Row, Bytes, _>(
            move || VectorStage { plan: plan.clone(), pending: Vec::new(), decoded: Vec::new(), scratch: Vec::new(), cols: Vec::new() },
            &[],
        )
        .to(&sink.topic, Produced::with(sink_keys, sink_values));
    Ok(true)
}

/// The plan's parts that do not need the expressions, when the query fits the path.
fn plan(s: &SourceStep, sink: &SinkStep, cx: &LowerContext) -> Result<Option<VectorPlan>> {
    let (layout, key_cols, value_cols) = layout(s, false);
    let sink_cols = columns(&sink.source.schema().value, false);
    let json = |f: &crate::format::FormatInfo, cols: usize| f.format == "JSON" && !(cols == 1 && f.wrap_single_value == Some(false));
    if s.window.is_some()
        || s.timestamp.is_some()
        || !layout.plain()
        || !json(&s.formats.value, value_cols.len())
        || !json(&sink.formats.value, sink_cols.len())
    {
        return Ok(None);
    }
    let Some(flat) = flat_columns(&value_cols) else { return Ok(None) };
    let scope: Vec<SqlType> = s.props.schema.value.iter().map(|c| c.ty.clone()).collect();
    let n = value_cols.len();
    // The source row: values, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, keys (`Layout::row`).
    if scope.len() != n + 3 + layout.key_width
        || scope[n..n + 3] != [SqlType::BigInt, SqlType::Int, SqlType::BigInt]
        || scope.iter().any(|t| arrow_type(t).is_none())
    {
        return Ok(None);
    }
    let logger = cx.logger(&s.props.ctx);
    Ok(Some(VectorPlan {
        topic: s.topic.clone(),
        keys: SourceSerde::new(&s.formats.key, &key_cols, true, logger.clone(), cx.registry.as_ref())?,
        key_width: key_cols.len(),
        values: SourceSerde::new(&s.formats.value, &value_cols, false, logger.clone(), cx.registry.as_ref())?,
        flat,
        scope,
        predicate: None,
        select: Vec::new(),
        select_log: logger,
        read: Vec::new(),
        out: JsonRowSerde::new(&sink_cols, false),
    }))
}
