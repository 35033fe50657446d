//! [`RowSerdeAdapter`]: any [`RowSerde`] as the Streams DSL's `Serde<Row>` (and
//! `Serde<Option<Row>>`), for source, sink and repartition topics and for stores whose bytes
//! must match ksqlDB's (table sources materialize in the topic's own format).

use std::fmt;
use std::sync::Arc;

use brook_state_store::{Error as StoreError, Result as StoreResult, Serde};

use super::api::{RowSerde, SerdeContext};
use crate::error::Result;
use crate::value::{Column, Row};

/// A [`RowSerde`] bound to the key or the value side, usable wherever the DSL takes
/// `Arc<dyn Serde<Row>>`.
///
/// `Serde<Row>` has no null: a row the format writes as a null record (a `KAFKA` column that
/// is `NULL`) fails to serialize, and a record that reads as null (JSON `null`) fails to
/// deserialize. Use the `Serde<Option<Row>>` side where null records are expected.
#[derive(Clone)]
pub struct RowSerdeAdapter {
    inner: Arc<dyn RowSerde>,
    is_key: bool,
}

impl RowSerdeAdapter {
    /// Adapts `inner`, which serializes keys when `is_key`, else values.
    #[must_use]
    pub fn new(inner: Arc<dyn RowSerde>, is_key: bool) -> Self {
        RowSerdeAdapter { inner, is_key }
    }

    /// The serde `info`'s format makes for `columns`, adapted.
    ///
    /// # Errors
    /// As [`format_for`](super::dispatch::format_for) and [`Format::row_serde`](super::api::Format::row_serde).
    pub fn for_format(info: &super::api::FormatInfo, columns: &[Column], is_key: bool) -> Result<Self> {
        Self::for_format_with(info, columns, is_key, None)
    }

    /// As [`for_format`](Self::for_format), with the Schema Registry of the `AVRO` format.
    ///
    /// # Errors
    /// As [`format_with`](super::dispatch::format_with) and [`Format::row_serde`](super::api::Format::row_serde).
    pub fn for_format_with(
        info: &super::api::FormatInfo,
        columns: &[Column],
        is_key: bool,
        registry: Option<&Arc<dyn brook_schema::SchemaRegistryClient>>,
    ) -> Result<Self> {
        let serde = super::dispatch::format_with(info, registry)?.row_serde(columns, is_key)?;
        Ok(RowSerdeAdapter::new(serde, is_key))
    }

    fn ctx<'a>(&self, topic: &'a str) -> SerdeContext<'a> {
        SerdeContext { topic, is_key: self.is_key, headers: &[] }
    }

    /// The runtime's context with this adapter's side: sources, sinks and stores pass the
    /// record's topic (a store's changelog topic) and headers; the side is the adapter's own.
    fn side<'a>(&self, ctx: &SerdeContext<'a>) -> SerdeContext<'a> {
        SerdeContext { is_key: self.is_key, ..*ctx }
    }
}

impl fmt::Debug for RowSerdeAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowSerdeAdapter").field("inner", &self.inner).field("is_key", &self.is_key).finish()
    }
}

fn encode_err(e: crate::Error) -> StoreError {
    StoreError::Encode { what: "row", reason: e.to_string() }
}

fn decode_err(e: crate::Error) -> StoreError {
    StoreError::Decode { what: "row", reason: e.to_string() }
}

impl RowSerdeAdapter {
    fn write(&self, ctx: &SerdeContext<'_>, value: &Row) -> StoreResult<Vec<u8>> {
        self.inner
            .serialize(value, ctx)
            .map_err(encode_err)?
            .ok_or_else(|| StoreError::Encode { what: "row", reason: "the format writes this row as a null record".into() })
    }

    fn read(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> StoreResult<Row> {
        self.inner
            .deserialize(Some(bytes), ctx)
            .map_err(decode_err)?
            .ok_or_else(|| StoreError::Decode { what: "row", reason: "the record reads as null".to_string() })
    }

    fn write_option(&self, ctx: &SerdeContext<'_>, value: &Option<Row>) -> StoreResult<Vec<u8>> {
        match value {
            None => Ok(Vec::new()),
            Some(row) => Ok(self.inner.serialize(row, ctx).map_err(encode_err)?.unwrap_or_default()),
        }
    }
}

impl Serde<Row> for RowSerdeAdapter {
    fn serialize(&self, topic: &str, value: &Row) -> StoreResult<Vec<u8>> {
        self.write(&self.ctx(topic), value)
    }

    fn deserialize(&self, topic: &str, bytes: &[u8]) -> StoreResult<Row> {
        self.read(&self.ctx(topic), bytes)
    }

    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &Row) -> StoreResult<Vec<u8>> {
        self.write(&self.side(ctx), value)
    }

    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> StoreResult<Row> {
        self.read(&self.side(ctx), bytes)
    }
}

impl Serde<Option<Row>> for RowSerdeAdapter {
    /// A `None` row, or a row the format writes as null, serializes to empty bytes: `Serde`
    /// cannot return Kafka's null, so sinks should send `None` values for `None` rows.
    fn serialize(&self, topic: &str, value: &Option<Row>) -> StoreResult<Vec<u8>> {
        self.write_option(&self.ctx(topic), value)
    }

    fn deserialize(&self, topic: &str, bytes: &[u8]) -> StoreResult<Option<Row>> {
        self.inner.deserialize(Some(bytes), &self.ctx(topic)).map_err(decode_err)
    }

    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &Option<Row>) -> StoreResult<Vec<u8>> {
        self.write_option(&self.side(ctx), value)
    }

    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> StoreResult<Option<Row>> {
        self.inner.deserialize(Some(bytes), &self.side(ctx)).map_err(decode_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_util::{cols, key_cols};
    use crate::format::FormatInfo;
    use crate::value::{SqlType, Value};

    #[test]
    fn json_value_serde_through_the_dsl_trait() {
        let columns = cols(&[("A", SqlType::Int), ("B", SqlType::String)]);
        let serde: Arc<dyn Serde<Row>> = Arc::new(RowSerdeAdapter::for_format(&FormatInfo::of("JSON"), &columns, false).unwrap());
        let row = vec![Value::Int(1), Value::String("x".into())];
        let bytes = serde.serialize("t", &row).unwrap();
        assert_eq!(bytes, br#"{"A":1,"B":"x"}"#);
        assert_eq!(serde.deserialize("t", &bytes).unwrap(), row);
        let e = serde.deserialize("t", b"null").unwrap_err();
        assert!(e.to_string().contains("reads as null"), "{e}");
        let e = serde.deserialize("t", b"[").unwrap_err();
        assert!(e.to_string().contains("Failed to deserialize value from topic: t."), "{e}");
    }

    #[test]
    fn kafka_key_null_column_needs_the_option_side() {
        let adapter = RowSerdeAdapter::for_format(&FormatInfo::of("KAFKA"), &key_cols(&[("K", SqlType::BigInt)]), true).unwrap();
        assert!(Serde::<Row>::serialize(&adapter, "t", &vec![Value::Null]).is_err());
        assert_eq!(Serde::<Option<Row>>::serialize(&adapter, "t", &Some(vec![Value::BigInt(7)])).unwrap(), 7i64.to_be_bytes());
        assert_eq!(Serde::<Option<Row>>::deserialize(&adapter, "t", &7i64.to_be_bytes()).unwrap(), Some(vec![Value::BigInt(7)]));
        let json = RowSerdeAdapter::for_format(&FormatInfo::of("JSON"), &cols(&[("A", SqlType::Int), ("B", SqlType::Int)]), false).unwrap();
        assert_eq!(Serde::<Option<Row>>::deserialize(&json, "t", b"null").unwrap(), None);
    }

    /// The runtime's record context reaches the format: the topic and headers of the record,
    /// with the adapter's own side (what the Schema Registry formats derive subjects from).
    #[test]
    fn the_record_context_reaches_the_format() {
        #[derive(Debug, Default)]
        struct Seen(std::sync::Mutex<Vec<String>>);
        impl RowSerde for Seen {
            fn serialize(&self, _row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
                self.0.lock().unwrap().push(format!("{}-{} {}", ctx.topic, ctx.target(), ctx.headers.len()));
                Ok(Some(vec![]))
            }
            fn deserialize(&self, _bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
                self.0.lock().unwrap().push(format!("{}-{} {}", ctx.topic, ctx.target(), ctx.headers.len()));
                Ok(Some(vec![]))
            }
        }
        let seen = Arc::new(Seen::default());
        let adapter = RowSerdeAdapter::new(seen.clone(), true);
        let headers = [brook_state_store::Header { key: "h".into(), value: None }];
        let ctx = SerdeContext::value("orders").with_headers(&headers);
        Serde::<Row>::serialize_with(&adapter, &ctx, &vec![]).unwrap();
        Serde::<Row>::deserialize_with(&adapter, &ctx, b"").unwrap();
        Serde::<Option<Row>>::deserialize_with(&adapter, &SerdeContext::key("t-changelog"), b"").unwrap();
        Serde::<Row>::serialize(&adapter, "plain", &vec![]).unwrap();
        assert_eq!(*seen.0.lock().unwrap(), ["orders-key 1", "orders-key 1", "t-changelog-key 0", "plain-key 0"]);
    }
}
