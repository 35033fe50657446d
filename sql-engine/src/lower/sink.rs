//! `StreamSink` / `TableSink`: the key and value rows serialized with the sink's formats
//! (windowed keys as Kafka Streams writes them); tables write their changelog, deletes as
//! tombstones.
//!
//! A key without columns, or whose columns are all `NULL`, is written as Kafka's null key, as
//! ksqlDB does; streams get one processor before the sink for that (ksqlDB's serializer does it
//! in place).

use brook_processor_api::{Processor, ProcessorContext, Record, Result as PResult};
use brook_streams_dsl::{KStream, Produced};

use crate::lower::serde::{columns, topic_serde, windowed_serde};
use crate::lower::context::{LowerContext, Lowered};
use crate::plan::physical::SinkStep;
use crate::{Error, Result, Row};

/// Turns empty and all-`NULL` keys into null keys, and, with `null_values` (a `KAFKA` value
/// of one column), `NULL` values into null records, as ksqlDB's serializers write them.
struct NullKeys {
    null_values: bool,
}

impl Processor<Option<Row>, Option<Row>, Option<Row>, Option<Row>> for NullKeys {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<Row>, Option<Row>>, r: Record<Option<Row>, Option<Row>>) -> PResult<()> {
        let all_null = |row: &Option<Row>| row.as_ref().is_none_or(|k| k.iter().all(crate::Value::is_null));
        let r = if all_null(r.key()) { r.with_key(None) } else { r };
        if self.null_values && all_null(r.value()) {
            return ctx.forward(r.with_value(None));
        }
        ctx.forward(r)
    }
}

fn null_keys(s: KStream<Row, Row>, null_values: bool) -> KStream<Row, Row> {
    s.process_values(move || NullKeys { null_values }, &[])
}

pub(crate) fn sink(input: Lowered, s: &SinkStep, cx: &LowerContext) -> Result<()> {
    let schema = s.source.schema();
    let keys = topic_serde(&s.formats.key, &columns(&schema.key, true), true, cx.registry.as_ref())?;
    let values = topic_serde(&s.formats.value, &columns(&schema.value, false), false, cx.registry.as_ref())?;
    match input {
        Lowered::Stream(st) => {
            let null_values = s.formats.value.format == "KAFKA" && schema.value.len() == 1;
            null_keys(st, null_values).to(&s.topic, Produced::with(keys, values))
        }
        Lowered::Table(t) => t.to_stream().to(&s.topic, Produced::with(keys, values)),
        Lowered::Windowed(w) | Lowered::WindowedStream(w) => {
            let Some(window) = &s.window else {
                return Err(Error::Unsupported("a windowed result needs a windowed sink".into()));
            };
            w.to(&s.topic, Produced::with(windowed_serde(keys, window), values))
        }
    }
    Ok(())
}
