//! What every step's lowering shares: the [`LowerContext`] it runs with and the [`Lowered`]
//! output it returns.

use std::sync::Arc;

use brook_state_store::Windowed;
use brook_streams_dsl::{KStream, KTable};

use crate::analyzer::ExprEnv;
use crate::engine::processing_log::{ProcessingLog, QueryLogger};
use crate::Row;

/// What lowering needs besides the plan.
#[derive(Debug, Clone)]
pub(crate) struct LowerContext {
    pub(crate) env: ExprEnv,
    pub(crate) query_id: String,
    pub(crate) log: Arc<ProcessingLog>,
    /// `cache.max.bytes.buffering` is 0: stores do not cache.
    pub(crate) caching: bool,
    /// `ksql.brook.vectorized.enable`: stateless stream queries run over Arrow batches
    /// ([`vector`](super::vector)).
    pub(crate) vectorized: bool,
    /// Where sources start without committed offsets (`auto.offset.reset`; ksqlDB's default
    /// is `latest`). `None` leaves the runtime's default.
    pub(crate) offset_reset: Option<brook_processor_api::OffsetReset>,
    /// The Schema Registry of the `AVRO` format's serdes.
    pub(crate) registry: Option<Arc<dyn brook_schema::SchemaRegistryClient>>,
    /// Stream sources forward records without a value (as `None`): set while lowering a
    /// stream query whose steps all pass them on ([`passes_null_values`](super::passes_null_values)).
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
