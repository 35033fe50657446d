//! The JSON form of keys and values in ksql-test-runner files (`input.json` / `output.json`),
//! whatever the topic's format, as ksqlDB's functional-test serde suppliers read and write it:
//!
//! - `JSON`, and the Schema Registry formats (`AVRO`, `JSON_SR`, `PROTOBUF`): the JSON document
//!   the `JSON` format writes (an object of columns, or the bare value of a single key column
//!   or of an unwrapped single value column);
//! - `KAFKA`: the plain value of the one column (`BYTES` as base64);
//! - `DELIMITED`: the CSV line as a string;
//! - `NONE`: `null`.
//!
//! A JSON `null` key or value is a null record: callers handle it before calling
//! [`row_from_json`], and write `null` for a null record themselves.
//!
//! Decimals pass through `serde_json::Value`, whose numbers are `f64` (the workspace does not
//! enable `arbitrary_precision`): `12.30` reads back as `12.3`, which the decimal columns
//! rescale exactly, but digits beyond an `f64`'s 17 are lost.

use super::api::{unwrapped, FormatInfo, RowSerde, SerdeContext};
use super::delimited::{DelimitedFormat, DelimitedRowSerde};
use super::json::{self, JsonRowSerde};
use super::json_tree::{self, Json};
use super::kafka::KafkaRowSerde;
use crate::error::{Error, Result};
use crate::value::{Column, ColumnNamespace, Row, Value};

/// Whether `columns` are key columns (the test files give keys and values separately).
fn is_key(columns: &[Column]) -> bool {
    columns.first().is_some_and(|c| c.namespace == ColumnNamespace::Key)
}

fn json_shape(columns: &[Column], info: &FormatInfo) -> JsonRowSerde {
    JsonRowSerde::new(columns, unwrapped(columns, is_key(columns), info.wrap_single_value))
}

fn delimited(columns: &[Column], info: &FormatInfo) -> Result<DelimitedRowSerde> {
    Ok(DelimitedFormat::new(info)?.serde(columns))
}

/// `row` (the key or value columns of a record) as the test files write it for `info`'s format.
///
/// # Errors
/// [`Error::Serde`] when the row does not fit the columns; [`Error::Analysis`] for an unknown
/// format or a bad delimiter.
pub fn row_to_json(columns: &[Column], row: &[Value], info: &FormatInfo) -> Result<serde_json::Value> {
    match info.format.as_str() {
        "JSON" | "AVRO" | "JSON_SR" | "PROTOBUF" | "PROTOBUF_NOSR" => {
            let text = json_shape(columns, info).to_text(row, "test")?;
            let tree = json_tree::parse(text.as_bytes()).map_err(Error::Serde)?.unwrap_or(Json::Null);
            Ok(json_tree::to_serde(&tree))
        }
        "KAFKA" => {
            super::api::check_count(columns.len().min(1), row.len(), true, "test")?;
            let Some(v) = row.first() else { return Ok(serde_json::Value::Null) };
            // Validates the value against the column type as the KAFKA serializer does.
            KafkaRowSerde::new(columns.first().map(|c| c.ty.clone())).serialize(row, &SerdeContext::value("test"))?;
            let mut text = String::new();
            json::write_value(&mut text, v);
            let tree = json_tree::parse(text.as_bytes()).map_err(Error::Serde)?.unwrap_or(Json::Null);
            Ok(json_tree::to_serde(&tree))
        }
        "DELIMITED" => Ok(serde_json::Value::String(delimited(columns, info)?.to_line(row, "test")?)),
        "NONE" => Ok(serde_json::Value::Null),
        f => Err(Error::Analysis(format!("Unknown format: {f}"))),
    }
}

/// The row a test file's key or value holds for `info`'s format (see the module docs).
///
/// # Errors
/// [`Error::Serde`] with the format's message when the JSON does not fit the columns, and for a
/// JSON `null` where a row is expected.
pub fn row_from_json(columns: &[Column], json: &serde_json::Value, info: &FormatInfo) -> Result<Row> {
    let null_record = || Error::Serde("a null record has no row: handle null keys and values before row_from_json".into());
    match info.format.as_str() {
        "NONE" => Ok(Vec::new()),
        "KAFKA" if columns.is_empty() => Ok(Vec::new()),
        _ if json.is_null() => Err(null_record()),
        "JSON" | "AVRO" | "JSON_SR" | "PROTOBUF" | "PROTOBUF_NOSR" => json_shape(columns, info)
            .read_tree(Some(&json_tree::from_serde(json)))
            .map_err(|m| Error::Serde(format!("Failed to read the test record. {m}")))?
            .ok_or_else(null_record),
        "KAFKA" => {
            let column = &columns[0];
            super::format_for(info)?.validate(columns)?;
            let v = json::coerce(&json_tree::from_serde(json), &column.ty, &mut String::from("$"))
                .map_err(|m| Error::Serde(format!("Failed to read the test record. {m}")))?;
            Ok(vec![v])
        }
        "DELIMITED" => match json {
            serde_json::Value::String(line) => {
                delimited(columns, info)?.parse_line(line, "test").map_err(|m| Error::Serde(format!("Error deserializing delimited. {m}")))
            }
            other => Err(Error::Serde(format!("a DELIMITED record is written as a string in test files, got {other}"))),
        },
        f => Err(Error::Analysis(format!("Unknown format: {f}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::test_util::{cols, key_cols};
    use crate::format::DELIMITER;
    use crate::value::{Decimal, SqlType};
    use serde_json::json;

    #[test]
    fn each_format_has_its_test_file_shape() {
        let value = cols(&[("ID", SqlType::BigInt), ("NAME", SqlType::String), ("PRICE", SqlType::Decimal { precision: 5, scale: 2 })]);
        let row = vec![Value::BigInt(1), Value::String("a,b".into()), Value::Decimal(Decimal { unscaled: 1230, precision: 5, scale: 2 })];
        let j = row_to_json(&value, &row, &FormatInfo::of("JSON")).unwrap();
        assert_eq!(j, json!({"ID": 1, "NAME": "a,b", "PRICE": 12.3}));
        assert_eq!(row_from_json(&value, &j, &FormatInfo::of("JSON")).unwrap(), row);
        let d = row_to_json(&value, &row, &FormatInfo::of("DELIMITED")).unwrap();
        assert_eq!(d, json!("1,\"a,b\",12.30"));
        assert_eq!(row_from_json(&value, &d, &FormatInfo::of("DELIMITED")).unwrap(), row);
        let piped = FormatInfo::of("DELIMITED").with_property(DELIMITER, "|");
        assert_eq!(row_to_json(&value, &row, &piped).unwrap(), json!("1|a,b|12.30"));

        let key = key_cols(&[("K", SqlType::Int)]);
        for f in ["KAFKA", "JSON", "AVRO"] {
            let info = FormatInfo::of(f);
            assert_eq!(row_to_json(&key, &[Value::Int(5)], &info).unwrap(), json!(5), "{f}");
            assert_eq!(row_from_json(&key, &json!(5), &info).unwrap(), vec![Value::Int(5)], "{f}");
        }
        assert_eq!(row_to_json(&[], &[], &FormatInfo::of("NONE")).unwrap(), serde_json::Value::Null);
        assert_eq!(row_from_json(&[], &json!("ignored"), &FormatInfo::of("NONE")).unwrap(), Vec::<Value>::new());
        let single = cols(&[("V", SqlType::String)]);
        let unwrapped = FormatInfo::of("JSON").with_wrap_single_value(false);
        assert_eq!(row_to_json(&single, &[Value::String("x".into())], &unwrapped).unwrap(), json!("x"));
        assert_eq!(row_to_json(&single, &[Value::String("x".into())], &FormatInfo::of("JSON")).unwrap(), json!({"V": "x"}));
    }

    #[test]
    fn kafka_values_are_coerced_to_the_column_type() {
        let bigint = key_cols(&[("K", SqlType::BigInt)]);
        assert_eq!(row_from_json(&bigint, &json!(5), &FormatInfo::of("KAFKA")).unwrap(), vec![Value::BigInt(5)]);
        let bytes = key_cols(&[("K", SqlType::Bytes)]);
        assert_eq!(row_to_json(&bytes, &[Value::Bytes(vec![123])], &FormatInfo::of("KAFKA")).unwrap(), json!("ew=="));
        assert_eq!(row_from_json(&bytes, &json!("ew=="), &FormatInfo::of("KAFKA")).unwrap(), vec![Value::Bytes(vec![123])]);
        assert!(row_to_json(&bigint, &[Value::String("x".into())], &FormatInfo::of("KAFKA")).is_err());
        let boolean = key_cols(&[("K", SqlType::Boolean)]);
        assert!(matches!(row_from_json(&boolean, &json!(true), &FormatInfo::of("KAFKA")), Err(Error::Analysis(_))));
    }

    #[test]
    fn bad_shapes_are_errors() {
        let value = cols(&[("A", SqlType::Int), ("B", SqlType::Int)]);
        assert!(matches!(row_from_json(&value, &json!(null), &FormatInfo::of("JSON")), Err(Error::Serde(_))));
        let e = row_from_json(&value, &json!([1, 2]), &FormatInfo::of("JSON")).unwrap_err();
        assert!(e.to_string().contains("sourceType: ArrayNode, requiredType: STRUCT<A INT, B INT>, path: $"), "{e}");
        assert!(row_from_json(&value, &json!({"A": 1}), &FormatInfo::of("DELIMITED")).is_err());
        assert!(row_from_json(&value, &json!("1"), &FormatInfo::of("DELIMITED")).is_err());
        assert!(row_to_json(&value, &[Value::Int(1)], &FormatInfo::of("JSON")).is_err());
        assert!(matches!(row_to_json(&value, &[], &FormatInfo::of("XML")), Err(Error::Analysis(_))));
    }
}
