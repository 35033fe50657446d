//! ksqlDB's key and value formats: how the key columns and the value columns of a record
//! become bytes and back.
//!
//! A [`FormatInfo`] (format name + properties, from a source's `WITH` clause, see
//! [`formats_from_properties`]) gives a [`Format`] through [`format_for`]; a format and the
//! columns it carries give a [`RowSerde`]. [`RowSerdeAdapter`] turns a `RowSerde` into the
//! Streams DSL's [`Serde<Row>`](brook_state_store::Serde); [`InternalRowSerde`] is a compact
//! self-describing encoding for state stores and internal topics.
//!
//! Formats here: `JSON`, `DELIMITED`, `KAFKA`, `NONE`, `PROTOBUF_NOSR`, and through Schema
//! Registry (a [`SchemaRegistryClient`](brook_schema::SchemaRegistryClient) given to [`format_with`]) `AVRO`, `JSON_SR` and
//! `PROTOBUF`.
//!
//! Differences from ksqlDB (all listed in `docs/sql.md`, section Formats):
//! - JSON nesting deeper than 256 levels is a deserialization error (Jackson allows 1000).
//! - JSON parse errors follow Jackson's wording for the common cases only. As Jackson's
//!   `readTree` does, bytes after the first value are ignored.
//! - A JSON number read into a `STRING` column keeps the text as written (`1e5` stays `1e5`;
//!   Jackson's `BigDecimal` prints `1E+5`).
//! - Doubles are written with the shortest round-trip digits (Java 19+'s `Double.toString`).
//! - Stores and internal topics use [`InternalRowSerde`], not the query's formats.

mod adapter;
mod api;
pub(crate) mod avro;
mod decimal_bytes;
pub(crate) mod registry;
mod delimited;
mod dispatch;
mod internal;
pub(crate) mod json;
pub(crate) mod json_flat;
pub(crate) mod json_sr;
pub(crate) mod protobuf;
mod json_tree;
mod kafka;
mod none;
mod props;
pub(crate) mod scalar;
mod sr;
mod test_json;

use crate::error::Result;
use crate::value::{Column, Row, SqlType};

pub use adapter::RowSerdeAdapter;
pub(crate) use api::unwrapped;
pub use api::{Format, FormatInfo, RowSerde, SerdeContext, DELIMITER, FULL_SCHEMA_NAME, SCHEMA_ID};
pub use dispatch::{format_for, format_with, validate_columns};
pub use internal::InternalRowSerde;
pub use props::{formats_from_properties, sink_formats, FormatDefaults, SourceFormats};
pub use test_json::{row_from_json, row_to_json};

/// Deserializes arbitrary `bytes` as `info`'s format for `columns`: the entry point for fuzzing.
/// Every outcome is an `Ok` or an [`Error`](crate::Error); none panics.
///
/// # Errors
/// Whatever the format reports for these bytes and columns.
pub fn deserialize_arbitrary(info: &FormatInfo, columns: &[Column], is_key: bool, bytes: &[u8]) -> Result<Option<Row>> {
    let serde = format_for(info)?.row_serde(columns, is_key)?;
    let ctx = SerdeContext { topic: "fuzz", is_key, headers: &[] };
    serde.deserialize(Some(bytes), &ctx)
}

/// A fuzz target body: the first bytes choose a format and a schema, the rest is the record.
/// Also round-trips every row that decodes through [`InternalRowSerde`].
pub fn fuzz_one(data: &[u8]) {
    use brook_state_store::Serde;
    let Some((&selector, rest)) = data.split_first() else { return };
    let Some((&schema_seed, record)) = rest.split_first() else { return };
    let info = match selector % 6 {
        0 => FormatInfo::of("JSON"),
        1 => FormatInfo::of("JSON").with_wrap_single_value(false),
        2 => FormatInfo::of("DELIMITED"),
        3 => FormatInfo::of("KAFKA"),
        4 => FormatInfo::of("NONE"),
        _ => FormatInfo::of("PROTOBUF_NOSR"),
    };
    let pool = [
        SqlType::Int,
        SqlType::BigInt,
        SqlType::Double,
        SqlType::String,
        SqlType::Boolean,
        SqlType::Decimal { precision: 10, scale: 2 },
        SqlType::Bytes,
        SqlType::Timestamp,
        SqlType::Array(Box::new(SqlType::Int)),
        SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
        SqlType::Struct(vec![("A".into(), SqlType::String), ("B".into(), SqlType::Array(Box::new(SqlType::Date)))]),
    ];
    let n = usize::from(schema_seed >> 5);
    let columns: Vec<Column> = (0..n)
        .map(|i| Column {
            name: format!("C{i}"),
            ty: pool[(usize::from(schema_seed) + i * 7) % pool.len()].clone(),
            namespace: crate::value::ColumnNamespace::Value,
        })
        .collect();
    if let Ok(Some(row)) = deserialize_arbitrary(&info, &columns, selector & 0x80 != 0, record) {
        let internal = InternalRowSerde;
        if let Ok(bytes) = Serde::<Row>::serialize(&internal, "fuzz", &row) {
            let _ = Serde::<Row>::deserialize(&internal, "fuzz", &bytes);
        }
    }
    let _ = Serde::<Row>::deserialize(&InternalRowSerde, "fuzz", record);
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::value::{Column, ColumnNamespace, SqlType};

    /// Value columns from `(name, type)` pairs.
    pub(crate) fn cols(spec: &[(&str, SqlType)]) -> Vec<Column> {
        spec.iter().map(|(n, t)| Column { name: (*n).to_string(), ty: t.clone(), namespace: ColumnNamespace::Value }).collect()
    }

    /// Key columns from `(name, type)` pairs.
    pub(crate) fn key_cols(spec: &[(&str, SqlType)]) -> Vec<Column> {
        spec.iter().map(|(n, t)| Column { name: (*n).to_string(), ty: t.clone(), namespace: ColumnNamespace::Key }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn unknown_and_registry_formats_are_errors() {
        let e = format_for(&FormatInfo::of("bob")).unwrap_err();
        assert_eq!(e.to_string(), "Unknown format: BOB");
        for name in ["avro", "json_sr", "protobuf"] {
            let format = format_for(&FormatInfo::of(name)).unwrap();
            assert!(matches!(format.row_serde(&[], false), Err(Error::Unsupported(_))), "{name} without a registry");
        }
        assert_eq!(format_for(&FormatInfo::of("json")).unwrap().name(), "JSON");
    }

    /// Every truncation and many single-byte corruptions of valid records decode to a value or
    /// an error; the intact records decode.
    #[test]
    fn corrupted_records_never_panic() {
        let struct_ty = SqlType::Struct(vec![("A".into(), SqlType::String), ("B".into(), SqlType::Array(Box::new(SqlType::Date)))]);
        let columns = test_util::cols(&[
            ("I", SqlType::Int),
            ("D", SqlType::Decimal { precision: 6, scale: 2 }),
            ("S", SqlType::String),
            ("M", SqlType::Map(Box::new(SqlType::String), Box::new(struct_ty))),
            ("B", SqlType::Bytes),
        ]);
        let flat = &columns[..3];
        let cases: Vec<(FormatInfo, &[Column], &[u8])> = vec![
            (FormatInfo::of("JSON"), &columns, br#"{"I":1,"d":"12.30","S":"h\u00e9","M":{"k":{"A":"x","B":[1,2]}},"B":"AAE="}"#),
            (FormatInfo::of("DELIMITED"), flat, br#"1,12.30,"a,""b""#),
            (FormatInfo::of("DELIMITED").with_property(DELIMITER, "TAB"), flat, b"1\t12.30\tx"),
            (FormatInfo::of("KAFKA"), &columns[..1], &[0, 0, 0, 1]),
            // I=1, D=12.30 (unscaled 1230, scale 2), S="hé", M={"k": {A: "x", B: [1970-01-02]}}, B=[0, 1].
            (
                FormatInfo::of("PROTOBUF_NOSR"),
                &columns,
                &[
                    0x08, 0x01, 0x12, 0x06, 0x0a, 0x02, 0x04, 0xce, 0x18, 0x02, 0x1a, 0x03, b'h', 0xc3, 0xa9, 0x22, 0x11, 0x0a,
                    0x01, b'k', 0x12, 0x0c, 0x0a, 0x01, b'x', 0x12, 0x07, 0x08, 0xb2, 0x0f, 0x10, 0x01, 0x18, 0x02, 0x2a, 0x02,
                    0x00, 0x01,
                ],
            ),
        ];
        let ctx = SerdeContext::value("t");
        for (info, cols, record) in cases {
            let serde = format_for(&info).unwrap().row_serde(cols, false).unwrap();
            assert!(serde.deserialize(Some(record), &ctx).unwrap().is_some(), "{info:?}");
            for n in 0..record.len() {
                let _ = serde.deserialize(Some(&record[..n]), &ctx);
                for b in [0u8, b'"', b'[', b'{', b'\\', b',', b'9', b'e', 0xff, 0xc3] {
                    let mut bad = record.to_vec();
                    bad[n] = b;
                    let _ = serde.deserialize(Some(&bad), &ctx);
                }
            }
        }
    }

    #[test]
    fn fuzz_entry_survives_hostile_input() {
        let mut seeds: Vec<Vec<u8>> = vec![vec![], vec![0], vec![0, 0xff, b'{'], vec![2, 0x60, b'"', b'a']];
        for sel in 0..6u8 {
            for seed in [0u8, 0x20, 0x41, 0x63, 0xe7] {
                for body in [&b"{\"C0\":[1,2,{\"A\":\"x\"}],\"c1\":\"1.5\"}"[..], b"1,2,\"x\"", b"\x00\x00\x00\x01", b"\xff\xfe", b"[[[[[[", b"\x01\x03\x0e\xff\xff\xff\xff\x0f"] {
                    let mut d = vec![sel, seed];
                    d.extend_from_slice(body);
                    seeds.push(d);
                }
            }
        }
        for s in seeds {
            fuzz_one(&s);
        }
    }
}
