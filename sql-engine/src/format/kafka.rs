//! The `KAFKA` format: Kafka's primitive serializers for one column. `INT` is 4 bytes
//! big-endian, `BIGINT` 8, `DOUBLE` an 8-byte IEEE 754 big-endian, `STRING` UTF-8, `BYTES` raw.
//! No columns is Kafka's `Void` serde. A `NULL` column is a null record.
//!
//! As Java's `StringDeserializer`, invalid UTF-8 in a `STRING` is replaced with U+FFFD rather
//! than rejected.

use std::sync::Arc;

use super::api::{check_count, column_list, Format, RowSerde, SerdeContext};
use crate::error::{Error, Result};
use crate::value::{Column, Row, SqlType, Value};

/// The `KAFKA` format.
#[derive(Debug)]
pub(crate) struct KafkaFormat;

impl Format for KafkaFormat {
    fn name(&self) -> &'static str {
        "KAFKA"
    }

    fn supports_wrapping(&self, wrap: bool) -> bool {
        !wrap
    }

    fn validate(&self, columns: &[Column]) -> Result<()> {
        match columns {
            [] => Ok(()),
            [c] => match c.ty {
                SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::String | SqlType::Bytes => Ok(()),
                ref ty => Err(Error::Analysis(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    super::api::base_type(ty)
                ))),
            },
            _ => Err(Error::Analysis(format!(
                "The 'KAFKA' format only supports a single field. Got: {}",
                column_list(columns)
            ))),
        }
    }

    fn row_serde(&self, columns: &[Column], _is_key: bool) -> Result<Arc<dyn RowSerde>> {
        self.validate(columns)?;
        Ok(Arc::new(KafkaRowSerde { ty: columns.first().map(|c| c.ty.clone()) }))
    }
}

/// Serde for a single primitive column (or none).
#[derive(Debug)]
pub(crate) struct KafkaRowSerde {
    ty: Option<SqlType>,
}

impl KafkaRowSerde {
    pub(crate) fn new(ty: Option<SqlType>) -> Self {
        KafkaRowSerde { ty }
    }
}

impl RowSerde for KafkaRowSerde {
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        let Some(ty) = &self.ty else {
            check_count(0, row.len(), true, ctx.topic)?;
            return Ok(None);
        };
        check_count(1, row.len(), true, ctx.topic)?;
        let bytes = match (&row[0], ty) {
            (Value::Null, _) => return Ok(None),
            (Value::Int(i), SqlType::Int) => i.to_be_bytes().to_vec(),
            (Value::BigInt(i), SqlType::BigInt) => i.to_be_bytes().to_vec(),
            (Value::Double(d), SqlType::Double) => d.to_be_bytes().to_vec(),
            (Value::String(s), SqlType::String) => s.as_bytes().to_vec(),
            (Value::Bytes(b), SqlType::Bytes) => b.clone(),
            (v, ty) => {
                return Err(Error::Serde(format!(
                    "value does not match expected type. expected: {ty}, but got: {}",
                    value_kind(v)
                )))
            }
        };
        Ok(Some(bytes))
    }

    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        let Some(bytes) = bytes else { return Ok(None) };
        let Some(ty) = &self.ty else { return Ok(Some(Vec::new())) };
        let fixed = |n: usize, who: &str| -> Result<&[u8]> {
            if bytes.len() == n {
                Ok(bytes)
            } else {
                Err(Error::Serde(format!(
                    "Error deserializing KAFKA message from topic: {}. Size of data received by {who} is not {n}",
                    ctx.topic
                )))
            }
        };
        let v = match ty {
            SqlType::Int => Value::Int(i32::from_be_bytes(fixed(4, "IntegerDeserializer")?.try_into().unwrap_or_default())),
            SqlType::BigInt => Value::BigInt(i64::from_be_bytes(fixed(8, "LongDeserializer")?.try_into().unwrap_or_default())),
            SqlType::Double => Value::Double(f64::from_be_bytes(fixed(8, "Deserializer")?.try_into().unwrap_or_default())),
            SqlType::String => Value::String(String::from_utf8_lossy(bytes).into_owned()),
            _ => Value::Bytes(bytes.to_vec()),
        };
        Ok(Some(vec![v]))
    }
}

/// The Java class ksqlDB would name for a value in a type mismatch.
fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "Boolean",
        Value::Int(_) => "Integer",
        Value::BigInt(_) => "Long",
        Value::Double(_) => "Double",
        Value::Decimal(_) => "BigDecimal",
        Value::String(_) => "String",
        Value::Bytes(_) => "ByteBuffer",
        Value::Date(_) => "Date",
        Value::Time(_) => "Time",
        Value::Timestamp(_) => "Timestamp",
        Value::Array(_) => "ArrayList",
        Value::Map(_) => "HashMap",
        Value::Struct(_) => "Struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_util::{cols, key_cols};
    use crate::format::{format_for, FormatInfo};

    fn serde(ty: SqlType) -> Arc<dyn RowSerde> {
        KafkaFormat.row_serde(&key_cols(&[("K", ty)]), true).unwrap()
    }

    #[test]
    fn primitives_use_kafka_encodings() {
        let ctx = SerdeContext::key("t");
        let cases = [
            (SqlType::Int, Value::Int(-2), vec![0xff, 0xff, 0xff, 0xfe]),
            (SqlType::BigInt, Value::BigInt(1), vec![0, 0, 0, 0, 0, 0, 0, 1]),
            (SqlType::Double, Value::Double(1.0), vec![0x3f, 0xf0, 0, 0, 0, 0, 0, 0]),
            (SqlType::String, Value::String("hé".into()), "hé".as_bytes().to_vec()),
            (SqlType::Bytes, Value::Bytes(vec![0, 1, 255]), vec![0, 1, 255]),
        ];
        for (ty, v, bytes) in cases {
            let s = serde(ty);
            assert_eq!(s.serialize(std::slice::from_ref(&v), &ctx).unwrap(), Some(bytes.clone()));
            assert_eq!(s.deserialize(Some(&bytes), &ctx).unwrap(), Some(vec![v]));
        }
    }

    #[test]
    fn null_column_is_a_null_record() {
        let s = serde(SqlType::Int);
        let ctx = SerdeContext::key("t");
        assert_eq!(s.serialize(&[Value::Null], &ctx).unwrap(), None);
        assert_eq!(s.deserialize(None, &ctx).unwrap(), None);
    }

    #[test]
    fn wrong_sizes_and_types_are_serde_errors() {
        let ctx = SerdeContext::value("orders");
        let e = serde(SqlType::Int).deserialize(Some(&[1, 2, 3]), &ctx).unwrap_err();
        assert_eq!(e.to_string(), "Error deserializing KAFKA message from topic: orders. Size of data received by IntegerDeserializer is not 4");
        assert!(matches!(serde(SqlType::BigInt).deserialize(Some(&[]), &ctx), Err(Error::Serde(_))));
        assert!(matches!(serde(SqlType::Double).deserialize(Some(&[0; 9]), &ctx), Err(Error::Serde(_))));
        assert!(matches!(serde(SqlType::Int).serialize(&[Value::String("x".into())], &ctx), Err(Error::Serde(_))));
        let e = serde(SqlType::Int).serialize(&[Value::Int(1), Value::Int(2)], &ctx).unwrap_err();
        assert_eq!(e.to_string(), "Column count mismatch on serialization. topic: orders, expected: 1, got: 2");
    }

    #[test]
    fn invalid_utf8_is_replaced_as_java_does() {
        let got = serde(SqlType::String).deserialize(Some(b"a\xffb"), &SerdeContext::key("t")).unwrap();
        assert_eq!(got, Some(vec![Value::String("a\u{FFFD}b".into())]));
    }

    #[test]
    fn validation_matches_ksqldb_messages() {
        let kafka = format_for(&FormatInfo::of("KAFKA")).unwrap();
        let e = kafka.validate(&cols(&[("A", SqlType::Boolean)])).unwrap_err();
        assert_eq!(e.to_string(), "The 'KAFKA' format does not support type 'BOOLEAN'");
        let e = kafka.validate(&cols(&[("A", SqlType::Decimal { precision: 4, scale: 2 })])).unwrap_err();
        assert_eq!(e.to_string(), "The 'KAFKA' format does not support type 'DECIMAL'");
        let e = kafka.validate(&cols(&[("A", SqlType::Int), ("B", SqlType::String)])).unwrap_err();
        assert_eq!(e.to_string(), "The 'KAFKA' format only supports a single field. Got: [`A` INTEGER, `B` STRING]");
        assert!(kafka.validate(&[]).is_ok());
    }

    #[test]
    fn no_columns_ignore_the_bytes() {
        let s = KafkaFormat.row_serde(&[], true).unwrap();
        let ctx = SerdeContext::key("t");
        assert_eq!(s.serialize(&[], &ctx).unwrap(), None);
        assert_eq!(s.deserialize(Some(b"whatever"), &ctx).unwrap(), Some(vec![]));
    }
}
