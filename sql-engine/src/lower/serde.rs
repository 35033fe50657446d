//! Serdes of lowered queries: the formats' row serdes for source and sink topics (sources log
//! what they cannot read to the processing log), the internal serde for stores and
//! repartition topics, and windowed key serdes as Kafka Streams writes them.

use std::sync::Arc;

use brook_state_store::{Error as StoreError, Result as StoreResult, Serde, SessionWindowedSerde, TimeWindowedSerde, Windowed};

use crate::catalog::{WindowInfo, WindowType};
use crate::engine::processing_log::QueryLogger;
use crate::format::{format_with, FormatInfo, InternalRowSerde, RowSerde, RowSerdeAdapter, SerdeContext};
use crate::plan::physical::PlanColumn;
use crate::{Column, ColumnNamespace, Result, Row, Value};

/// Plan columns as format columns (key or value namespace).
pub(crate) fn columns(cols: &[PlanColumn], key: bool) -> Vec<Column> {
    cols.iter()
        .map(|c| Column { name: c.name.clone(), ty: c.ty.clone(), namespace: if key { ColumnNamespace::Key } else { ColumnNamespace::Value } })
        .collect()
}

/// A topic's key or value serde for `columns`.
pub(crate) fn topic_serde(format: &FormatInfo, columns: &[Column], is_key: bool, registry: Option<&Arc<dyn brook_schema::SchemaRegistryClient>>) -> Result<Arc<dyn Serde<Row>>> {
    Ok(Arc::new(RowSerdeAdapter::for_format_with(format, columns, is_key, registry)?))
}

/// The serde of stores and internal topics.
pub(crate) fn internal_serde() -> Arc<dyn Serde<Row>> {
    Arc::new(InternalRowSerde)
}

/// A source topic's serde: a null read (JSON `null`) is a row of nulls, and bytes that do not
/// deserialize are written to the processing log before the error goes to the runtime's
/// handler, which skips the record.
pub(crate) struct SourceSerde {
    inner: Arc<dyn RowSerde>,
    is_key: bool,
    width: usize,
    logger: QueryLogger,
}

impl SourceSerde {
    pub(crate) fn new(format: &FormatInfo, columns: &[Column], is_key: bool, logger: QueryLogger, registry: Option<&Arc<dyn brook_schema::SchemaRegistryClient>>) -> Result<Self> {
        Ok(SourceSerde { inner: format_with(format, registry)?.row_serde(columns, is_key)?, is_key, width: columns.len(), logger })
    }

    /// Deserializes without logging (timestamp extraction reads the value a second time).
    pub(crate) fn read(&self, topic: &str, bytes: &[u8]) -> Result<Row> {
        self.read_with(&SerdeContext { topic, is_key: self.is_key, headers: &[] }, bytes)
    }

    fn read_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> Result<Row> {
        Ok(self.inner.deserialize(Some(bytes), ctx)?.unwrap_or_else(|| vec![Value::Null; self.width]))
    }

    /// This serde's side in the runtime's context (topic and headers of the record).
    fn side<'a>(&self, ctx: &SerdeContext<'a>) -> SerdeContext<'a> {
        SerdeContext { is_key: self.is_key, ..*ctx }
    }

    fn write(&self, ctx: &SerdeContext<'_>, value: &Row) -> StoreResult<Vec<u8>> {
        match self.inner.serialize(value, ctx) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Ok(Vec::new()),
            Err(e) => Err(StoreError::Encode { what: "row", reason: e.to_string() }),
        }
    }

    /// Reads, logging what cannot be read to the processing log.
    fn read_logged(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> StoreResult<Row> {
        self.read_with(ctx, bytes).map_err(|e| {
            let msg = e.to_string();
            // The format's message may already carry ksqlDB's prefix; log the cause only.
            let prefix = format!("Failed to deserialize {} from topic: {}. ", ctx.target(), ctx.topic);
            let cause = msg.strip_prefix(&prefix).unwrap_or(&msg);
            self.logger.deserialization_error(ctx.topic, self.is_key, cause, bytes);
            StoreError::Decode { what: "row", reason: msg }
        })
    }
}

impl Serde<Row> for SourceSerde {
    fn serialize(&self, topic: &str, value: &Row) -> StoreResult<Vec<u8>> {
        self.write(&SerdeContext { topic, is_key: self.is_key, headers: &[] }, value)
    }

    fn deserialize(&self, topic: &str, bytes: &[u8]) -> StoreResult<Row> {
        self.read_logged(&SerdeContext { topic, is_key: self.is_key, headers: &[] }, bytes)
    }

    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &Row) -> StoreResult<Vec<u8>> {
        self.write(&self.side(ctx), value)
    }

    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> StoreResult<Row> {
        self.read_logged(&self.side(ctx), bytes)
    }
}

/// Forwards to a shared serde (the DSL's windowed serdes own their inner serde).
pub(crate) struct SharedSerde(pub(crate) Arc<dyn Serde<Row>>);

impl Serde<Row> for SharedSerde {
    fn serialize(&self, topic: &str, value: &Row) -> StoreResult<Vec<u8>> {
        self.0.serialize(topic, value)
    }
    fn deserialize(&self, topic: &str, bytes: &[u8]) -> StoreResult<Row> {
        self.0.deserialize(topic, bytes)
    }
    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &Row) -> StoreResult<Vec<u8>> {
        self.0.serialize_with(ctx, value)
    }
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> StoreResult<Row> {
        self.0.deserialize_with(ctx, bytes)
    }
}

/// Windowed keys as Kafka Streams writes them: key bytes + 8-byte start (time windows) or
/// + 8-byte end + 8-byte start (sessions).
pub(crate) fn windowed_serde(inner: Arc<dyn Serde<Row>>, window: &WindowInfo) -> Arc<dyn Serde<Windowed<Row>>> {
    match window.window_type {
        WindowType::Session => Arc::new(SessionWindowedSerde(SharedSerde(inner))),
        _ => Arc::new(TimeWindowedSerde::new(SharedSerde(inner), window.size_ms.map_or(i64::MAX, |s| s as i64))),
    }
}
