//! `StreamSource` and `TableSource`: read the topic with its formats, then one processor
//! (ksqlDB's source `transformValues`) builds the value row the rest of the query reads:
//! value and header columns, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, copies of the key
//! columns. Tables are then materialized in `KsqlTopic-Reduce`.

use std::sync::Arc;

use brook_processor_api::engine::Header;
use brook_processor_api::{ConsumerRecord, Processor, ProcessorContext, Record, Result as PResult};
use brook_state_store::{Serde, Windowed};
use brook_streams_dsl::{Consumed, KStream, Materialized, Named, StreamsBuilder};

use crate::lower::serde::{internal_serde, windowed_serde, SourceSerde};
use crate::lower::context::{LowerContext, Lowered};
use crate::plan::physical::SourceStep;
use crate::{Column, ColumnNamespace, Result, Row, SqlType, Value};

/// Where each value column of the source's schema comes from.
#[derive(Debug, Clone)]
enum Slot {
    /// Position in the deserialized value row.
    Value(usize),
    /// All headers (`None`) or the last value of one header.
    Header(Option<String>),
}

/// How a source record becomes the value row queries read.
#[derive(Debug)]
pub(crate) struct Layout {
    slots: Vec<Slot>,
    pub(crate) key_width: usize,
    table: bool,
}

impl Layout {
    /// Whether the row is the value columns in order, then the pseudo and key columns (no
    /// header columns).
    pub(crate) fn plain(&self) -> bool {
        self.slots.iter().enumerate().all(|(i, s)| matches!(s, Slot::Value(j) if *j == i))
    }

    /// Value and header columns, `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`, the key columns, and
    /// for windowed sources `WINDOWSTART`, `WINDOWEND`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn row(&self, key: &Row, value: &Row, ts: i64, partition: i32, offset: i64, headers: &[Header], window: Option<(i64, i64)>) -> Row {
        let mut row: Row = Vec::with_capacity(self.slots.len() + 5 + key.len());
        for slot in &self.slots {
            row.push(match slot {
                Slot::Value(i) => value.get(*i).cloned().unwrap_or(Value::Null),
                Slot::Header(None) => Value::Array(
                    headers
                        .iter()
                        .map(|h| {
                            Value::Struct(vec![
                                ("KEY".into(), Value::String(h.key.clone())),
                                ("VALUE".into(), h.value.as_ref().map_or(Value::Null, |v| Value::Bytes(v.to_vec()))),
                            ])
                        })
                        .collect(),
                ),
                Slot::Header(Some(name)) => {
                    headers.iter().rev().find(|h| h.key == *name).and_then(|h| h.value.as_ref()).map_or(Value::Null, |v| Value::Bytes(v.to_vec()))
                }
            });
        }
        row.push(Value::BigInt(ts));
        row.push(Value::Int(partition));
        row.push(Value::BigInt(offset));
        row.extend(key.iter().cloned());
        if let Some((start, end)) = window {
            row.push(Value::BigInt(start));
            row.push(Value::BigInt(end));
        }
        row
    }
}

/// The record time a `TIMESTAMP` column's value gives (`format` parses strings); -1 for a
/// value that is unreadable or `NULL`, whose record is skipped, as ksqlDB's extractors do.
pub(crate) fn timestamp_millis(v: Option<Value>, ty: Option<&SqlType>, format: Option<&str>, utc: &crate::function::javatime::Zone) -> i64 {
    match (v, ty) {
        (Some(Value::BigInt(ms)) | Some(Value::Timestamp(ms)), _) => ms,
        (Some(Value::Int(ms)), Some(SqlType::Int)) => i64::from(ms),
        (Some(Value::String(text)), _) => match format {
            Some(f) => crate::function::javatime::parse_instant(&text, f, utc).unwrap_or(-1),
            None => -1,
        },
        _ => -1,
    }
}

/// The key of a source record: plain key columns, or key columns with their window.
pub(crate) trait SourceKey: brook_streams_dsl::Data {
    /// The key columns and the window bounds.
    fn parts(&self) -> (&Row, Option<(i64, i64)>);
    /// The key of a record without one (`None`: drop the record).
    fn null(width: usize) -> Option<Self>;
}

impl SourceKey for Row {
    fn parts(&self) -> (&Row, Option<(i64, i64)>) {
        (self, None)
    }
    fn null(width: usize) -> Option<Self> {
        Some(vec![Value::Null; width])
    }
}

impl SourceKey for Windowed<Row> {
    fn parts(&self) -> (&Row, Option<(i64, i64)>) {
        (&self.key, Some((self.window.start, self.window.end)))
    }
    fn null(_width: usize) -> Option<Self> {
        None
    }
}

struct SourceProcessor {
    layout: Arc<Layout>,
    /// [`Layout::plain`].
    plain: bool,
    /// Forward stream records without a value ([`LowerContext::null_values`]).
    null_values: bool,
}

impl<K: SourceKey> Processor<Option<K>, Option<Row>, Option<K>, Option<Row>> for SourceProcessor {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<K>, Option<Row>>, r: Record<Option<K>, Option<Row>>) -> PResult<()> {
        let (partition, offset) = ctx.record_metadata().map_or((-1, -1), |m| (m.partition, m.offset));
        let (key, value, ts, headers) = r.into_parts();
        let Some(key) = key.or_else(|| K::null(self.layout.key_width)) else { return Ok(()) };
        let Some(value) = value else {
            // A tombstone deletes a table row; streams pass it only to steps that keep it.
            if self.layout.table || self.null_values {
                return ctx.forward(Record::with_all(Some(key), None, ts, headers));
            }
            return Ok(());
        };
        let (cols, window) = key.parts();
        let row = if self.plain {
            // The value row already starts the source row: append the rest in place.
            let mut row = value;
            row.reserve(3 + cols.len() + 2 * usize::from(window.is_some()));
            row.resize(self.layout.slots.len(), Value::Null);
            row.push(Value::BigInt(ts));
            row.push(Value::Int(partition));
            row.push(Value::BigInt(offset));
            row.extend(cols.iter().cloned());
            if let Some((start, end)) = window {
                row.push(Value::BigInt(start));
                row.push(Value::BigInt(end));
            }
            row
        } else {
            self.layout.row(cols, &value, ts, partition, offset, &headers, window)
        };
        ctx.forward(Record::with_all(Some(key), Some(row), ts, headers))
    }
}

/// The layout of a source, and its key and value columns (as the formats carry them).
pub(crate) fn layout(s: &SourceStep, table: bool) -> (Layout, Vec<Column>, Vec<Column>) {
    let key_cols: Vec<Column> = s.source_schema.key().cloned().collect();
    let mut value_cols = Vec::new();
    let mut slots = Vec::new();
    for c in s.source_schema.value() {
        match &c.namespace {
            ColumnNamespace::Header(h) => slots.push(Slot::Header(h.clone())),
            _ => {
                slots.push(Slot::Value(value_cols.len()));
                value_cols.push(c.clone());
            }
        }
    }
    (Layout { slots, key_width: key_cols.len(), table }, key_cols, value_cols)
}

/// Reads the source topic with key serde `keys` (made from the key columns' serde): the
/// processed stream (tombstones kept for tables).
fn read<K: SourceKey>(
    s: &SourceStep,
    builder: &StreamsBuilder,
    cx: &LowerContext,
    table: bool,
    keys: impl FnOnce(Arc<dyn Serde<Row>>) -> Arc<dyn Serde<K>>,
) -> Result<KStream<K, Row>> {
    let logger = cx.logger(&s.props.ctx);
    let (layout, key_cols, value_cols) = layout(s, table);
    let keys = keys(Arc::new(SourceSerde::new(&s.formats.key, &key_cols, true, logger.clone(), cx.registry.as_ref())?));
    let values = Arc::new(SourceSerde::new(&s.formats.value, &value_cols, false, logger, cx.registry.as_ref())?);
    let mut consumed = Consumed::with(keys, values.clone());
    if let Some(r) = cx.offset_reset {
        consumed = consumed.with_offset_reset_policy(r);
    }
    if let Some(ts) = &s.timestamp {
        let pos = value_cols.iter().position(|c| c.name == ts.column);
        let key_pos = key_cols.iter().position(|c| c.name == ts.column);
        let ty = value_cols.iter().chain(&key_cols).find(|c| c.name == ts.column).map(|c| c.ty.clone());
        let key_serde = SourceSerde::new(&s.formats.key, &key_cols, true, cx.logger(&s.props.ctx), cx.registry.as_ref())?;
        let values = values.clone();
        let format = ts.format.clone();
        let utc = crate::function::javatime::Zone::parse("UTC")?;
        let extractor = move |r: &ConsumerRecord, _partition_time: i64| -> i64 {
            let v = match (pos, key_pos) {
                (Some(i), _) => r.value.as_ref().and_then(|b| values.read(&r.topic, b).ok()).and_then(|row| row.get(i).cloned()),
                (None, Some(i)) => r.key.as_ref().and_then(|b| key_serde.read(&r.topic, b).ok()).and_then(|row| row.get(i).cloned()),
                _ => None,
            };
            timestamp_millis(v, ty.as_ref(), format.as_deref(), &utc)
        };
        consumed = consumed.with_timestamp_extractor(Arc::new(extractor));
    }
    let stream: KStream<K, Row> = builder.stream(&[&s.topic], consumed);
    let layout = Arc::new(layout);
    let plain = layout.plain();
    let null_values = cx.null_values && !table;
    Ok(stream.process_values(move || SourceProcessor { layout: layout.clone(), plain, null_values }, &[]))
}

/// `StreamSource`.
pub(crate) fn stream_source(s: &SourceStep, builder: &StreamsBuilder, cx: &LowerContext) -> Result<Lowered> {
    Ok(Lowered::Stream(read(s, builder, cx, false, |k| k)?))
}

/// `WindowedStreamSource` / `WindowedTableSource`: keys carry their window (Kafka Streams'
/// windowed key layout); `WINDOWSTART` and `WINDOWEND` are columns. A windowed table is
/// read as its changelog (not materialized).
pub(crate) fn windowed_source(s: &SourceStep, builder: &StreamsBuilder, cx: &LowerContext, table: bool) -> Result<Lowered> {
    let Some(window) = s.window else {
        return Err(crate::Error::Unsupported("a windowed source without window information".into()));
    };
    let stream = read(s, builder, cx, table, |k| windowed_serde(k, &window))?;
    Ok(if table { Lowered::Windowed(stream) } else { Lowered::WindowedStream(stream) })
}

/// The store a `TableSource` is materialized in, as ksqlDB names it: the source context with
/// `Reduce` for `Source` (`KsqlTopic-Reduce`, `KafkaTopic_Left-Reduce`, ...).
pub(crate) fn reduce_store_name(s: &SourceStep) -> String {
    format!("{}-Reduce", s.props.ctx.strip_suffix("/Source").unwrap_or(&s.props.ctx).replace('/', "-"))
}

/// `TableSource`: the stream upserted into the `KsqlTopic-Reduce` store.
pub(crate) fn table_source(s: &SourceStep, builder: &StreamsBuilder, cx: &LowerContext) -> Result<Lowered> {
    let stream = read(s, builder, cx, true, |k| k)?;
    let mut m = Materialized::named(reduce_store_name(s)).with_key_serde(internal_serde()).with_value_serde(internal_serde());
    if !cx.caching {
        m = m.with_caching_disabled();
    }
    Ok(Lowered::Table(stream.to_table(Named::default(), m)))
}
