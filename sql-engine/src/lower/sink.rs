//! `StreamSink` / `TableSink`: the key and value rows serialized with the sink's formats
//! (windowed keys as Kafka Streams writes them); tables write their changelog, deletes as
//! tombstones.

use brook_streams_dsl::Produced;

use crate::lower::serde::{columns, topic_serde, windowed_serde};
use crate::lower::Lowered;
use crate::plan::physical::SinkStep;
use crate::{Error, Result};

pub(crate) fn sink(input: Lowered, s: &SinkStep) -> Result<()> {
    let schema = s.source.schema();
    let keys = topic_serde(&s.formats.key, &columns(&schema.key, true), true)?;
    let values = topic_serde(&s.formats.value, &columns(&schema.value, false), false)?;
    match input {
        Lowered::Stream(st) => st.to(&s.topic, Produced::with(keys, values)),
        Lowered::Table(t) => t.to_stream().to(&s.topic, Produced::with(keys, values)),
        Lowered::Windowed(w) => {
            let Some(window) = &s.window else {
                return Err(Error::Unsupported("a windowed result needs a windowed sink".into()));
            };
            w.to(&s.topic, Produced::with(windowed_serde(keys, window), values))
        }
    }
    Ok(())
}
