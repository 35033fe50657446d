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
//! Registry (a [`SchemaRegistryClient`] given to [`format_with`]) `AVRO`, `JSON_SR` and
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
pub(crate) mod avro;
mod decimal_bytes;
pub(crate) mod registry;
mod delimited;
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

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use brook_schema::SchemaRegistryClient;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::value::{Column, Row, SqlType, Value};

pub use adapter::RowSerdeAdapter;
pub use internal::InternalRowSerde;
pub use props::{formats_from_properties, sink_formats, FormatDefaults, SourceFormats};
pub use test_json::{row_from_json, row_to_json};

/// Format property: the `DELIMITED` field separator (one character).
pub const DELIMITER: &str = "delimiter";
/// Format property: the Schema Registry schema id (`KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`).
pub const SCHEMA_ID: &str = "schemaId";
/// Format property: the full schema name (`KEY_SCHEMA_FULL_NAME` / `VALUE_SCHEMA_FULL_NAME`).
pub const FULL_SCHEMA_NAME: &str = "fullSchemaName";

/// The formats ksqlDB knows, by their upper-case names.
pub(crate) const KNOWN_FORMATS: [&str; 8] =
    ["JSON", "DELIMITED", "KAFKA", "NONE", "AVRO", "JSON_SR", "PROTOBUF", "PROTOBUF_NOSR"];

/// A key or value format as a statement declares it (ksqlDB's `FormatInfo` plus the value's
/// wrapping setting, ksqlDB's `SerdeFeatures`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormatInfo {
    /// Upper-case format name: `JSON`, `DELIMITED`, `KAFKA`, `NONE`, `AVRO`, ...
    pub format: String,
    /// Format properties by ksqlDB's names ([`DELIMITER`], [`SCHEMA_ID`], ...).
    pub properties: BTreeMap<String, String>,
    /// `WRAP_SINGLE_VALUE` for a value format (`None`: the format's default, wrapped). Keys
    /// ignore it: a single key column is always unwrapped where the format can unwrap.
    pub wrap_single_value: Option<bool>,
}

impl FormatInfo {
    /// A format without properties; the name is upper-cased.
    #[must_use]
    pub fn of(format: &str) -> Self {
        FormatInfo { format: format.to_ascii_uppercase(), properties: BTreeMap::new(), wrap_single_value: None }
    }

    /// With one more property.
    #[must_use]
    pub fn with_property(mut self, key: &str, value: &str) -> Self {
        self.properties.insert(key.to_string(), value.to_string());
        self
    }

    /// With `WRAP_SINGLE_VALUE` set.
    #[must_use]
    pub fn with_wrap_single_value(mut self, wrap: bool) -> Self {
        self.wrap_single_value = Some(wrap);
        self
    }
}

impl fmt::Display for FormatInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format)
    }
}

/// What a serde is told about the record (topic, key or value, headers): the runtime's own
/// context type, so a format sees what the source, sink and store nodes pass.
pub use brook_state_store::SerdeContext;

/// Serializes the key columns or the value columns of records.
pub trait RowSerde: Send + Sync + fmt::Debug {
    /// `row` to bytes; `Ok(None)` is a null (tombstone) record, as `KAFKA` and unwrapped `JSON`
    /// write a single `NULL` column.
    ///
    /// # Errors
    /// [`Error::Serde`] when the row does not fit the columns.
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>>;
    /// Bytes to a row; `None` in (a null record) gives `None`, and so may a JSON `null`.
    ///
    /// # Errors
    /// [`Error::Serde`] with ksqlDB's wording when the bytes do not match the format or columns.
    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>>;
}

/// A key or value format.
pub trait Format: Send + Sync + fmt::Debug {
    /// The upper-case name, as in `FormatInfo::format`.
    fn name(&self) -> &'static str;

    /// Whether `WRAP_SINGLE_VALUE` may be set to `wrap` (ksqlDB's `WRAP_SINGLES` /
    /// `UNWRAP_SINGLES` features). Default: both, as `JSON`, `AVRO` and `JSON_SR` allow.
    fn supports_wrapping(&self, _wrap: bool) -> bool {
        true
    }

    /// Checks that the format can carry `columns` (type support, column count). Default: any
    /// columns, as `JSON`, `AVRO` and `JSON_SR` carry every type.
    ///
    /// # Errors
    /// [`Error::Analysis`] with ksqlDB's message, e.g. `The 'KAFKA' format does not support type 'BOOLEAN'`.
    fn validate(&self, _columns: &[Column]) -> Result<()> {
        Ok(())
    }

    /// A serde for `columns`: the key columns when `is_key`, else the value columns (without
    /// header columns, which come from the record's headers).
    ///
    /// # Errors
    /// As [`validate`](Self::validate).
    fn row_serde(&self, columns: &[Column], is_key: bool) -> Result<Arc<dyn RowSerde>>;
}

/// The format `info` names, configured with its properties.
///
/// # Examples
/// ```
/// use brook_sql_engine::format::{format_for, FormatInfo, SerdeContext};
/// use brook_sql_engine::{Column, ColumnNamespace, SqlType, Value};
///
/// let columns = vec![
///     Column { name: "ID".into(), ty: SqlType::BigInt, namespace: ColumnNamespace::Value },
///     Column { name: "NAME".into(), ty: SqlType::String, namespace: ColumnNamespace::Value },
/// ];
/// let serde = format_for(&FormatInfo::of("json"))?.row_serde(&columns, false)?;
/// let ctx = SerdeContext::value("orders");
/// let bytes = serde.serialize(&[Value::BigInt(1), Value::String("a".into())], &ctx)?.unwrap();
/// assert_eq!(bytes, br#"{"ID":1,"NAME":"a"}"#);
/// let row = serde.deserialize(Some(br#"{"id":"2","name":"b","extra":true}"#), &ctx)?.unwrap();
/// assert_eq!(row, vec![Value::BigInt(2), Value::String("b".into())]);
/// # Ok::<(), brook_sql_engine::Error>(())
/// ```
///
/// # Errors
/// [`Error::Analysis`] for an unknown name (`Unknown format: X`) or a property the format does
/// not take (`JSON does not support the following configs: [delimiter]`);
/// `AVRO`, `JSON_SR` and `PROTOBUF` without a registry (see [`format_with`]) fail with
/// [`Error::Unsupported`] when a serde is made.
pub fn format_for(info: &FormatInfo) -> Result<Arc<dyn Format>> {
    format_with(info, None)
}

/// As [`format_for`], with the Schema Registry client the `AVRO`, `JSON_SR` and `PROTOBUF`
/// formats read and register schemas through (the engine's, [`EngineConfig::schema_registry`](crate::EngineConfig)).
///
/// # Errors
/// As [`format_for`].
pub fn format_with(info: &FormatInfo, registry: Option<&Arc<dyn SchemaRegistryClient>>) -> Result<Arc<dyn Format>> {
    props::check_format_properties(info)?;
    match info.format.as_str() {
        "JSON" => Ok(Arc::new(json::JsonFormat::new(info.wrap_single_value))),
        "KAFKA" => Ok(Arc::new(kafka::KafkaFormat)),
        "DELIMITED" => Ok(Arc::new(delimited::DelimitedFormat::new(info)?)),
        "NONE" => Ok(Arc::new(none::NoneFormat)),
        "AVRO" => Ok(Arc::new(avro::AvroFormat::new(info, registry.cloned()))),
        "JSON_SR" => Ok(Arc::new(json_sr::JsonSrFormat::new(info, registry.cloned()))),
        "PROTOBUF" => Ok(Arc::new(protobuf::ProtobufFormat::new(info, registry.cloned(), false))),
        "PROTOBUF_NOSR" => Ok(Arc::new(protobuf::ProtobufFormat::new(info, None, true))),
        f => Err(Error::Analysis(format!("Unknown format: {f}"))),
    }
}

/// Checks that `info`'s format can carry `columns` (the key columns when `is_key`), with
/// ksqlDB's message: `Key format does not support schema.` then the format, the persistence
/// schema and the reason, one per line.
///
/// # Errors
/// As [`format_for`], and [`Error::Analysis`] when the columns do not fit.
pub fn validate_columns(info: &FormatInfo, columns: &[Column], is_key: bool) -> Result<()> {
    if is_key {
        if let Some(c) = columns.iter().find(|c| contains_map(&c.ty)) {
            return Err(Error::Analysis(format!(
                "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{}`. Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                c.name, c.ty
            )));
        }
    }
    let format = format_for(info)?;
    format.validate(columns).map_err(|reason| {
        let feature = if is_key {
            (columns.len() == 1 && format.supports_wrapping(true) && format.supports_wrapping(false)).then_some("UNWRAP_SINGLES")
        } else {
            info.wrap_single_value.map(|w| if w { "WRAP_SINGLES" } else { "UNWRAP_SINGLES" })
        };
        Error::Analysis(format!(
            "{} format does not support schema.\nformat: {}\nschema: Persistence{{columns={}, features=[{}]}}\nreason: {reason}",
            if is_key { "Key" } else { "Value" },
            format.name(),
            column_list(columns),
            feature.unwrap_or_default()
        ))
    })
}

fn contains_map(ty: &SqlType) -> bool {
    match ty {
        SqlType::Map(..) => true,
        SqlType::Array(t) => contains_map(t),
        SqlType::Struct(fields) => fields.iter().any(|(_, t)| contains_map(t)),
        _ => false,
    }
}

/// Whether a format carrying `columns` writes one anonymous value instead of a record: a single
/// key column always (where the format supports unwrapping), a single value column when
/// `WRAP_SINGLE_VALUE` is false.
pub(crate) fn unwrapped(columns: &[Column], is_key: bool, wrap_single_value: Option<bool>) -> bool {
    columns.len() == 1 && (is_key || wrap_single_value == Some(false))
}

/// ``[`K` STRING KEY, `A` INTEGER]``, as ksqlDB lists columns in format errors.
pub(crate) fn column_list(columns: &[Column]) -> String {
    let cols: Vec<String> = columns.iter().map(ToString::to_string).collect();
    format!("[{}]", cols.join(", "))
}

/// ksqlDB's `SqlBaseType` name of a type: `INTEGER`, `DECIMAL`, `ARRAY`, ...
pub(crate) fn base_type(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::BigInt => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    }
}

/// `Column count mismatch on serialization. topic: t, expected: 2, got: 1` (ksqlDB's
/// `SerdeUtils.throwOnColumnCountMismatch`).
pub(crate) fn check_count(expected: usize, got: usize, serialization: bool, topic: &str) -> Result<()> {
    if expected == got {
        return Ok(());
    }
    Err(Error::Serde(format!(
        "Column count mismatch on {}. topic: {topic}, expected: {expected}, got: {got}",
        if serialization { "serialization" } else { "deserialization" }
    )))
}

/// `Failed to deserialize value from topic: t. <reason>` (ksqlDB's `KsqlDeserializer`).
pub(crate) fn deserialize_error(ctx: &SerdeContext<'_>, reason: impl fmt::Display) -> Error {
    Error::Serde(format!("Failed to deserialize {} from topic: {}. {reason}", ctx.target(), ctx.topic))
}

/// `Error serializing message to topic: t. <reason>` (ksqlDB's `KsqlSerializer`).
pub(crate) fn serialize_error(ctx: &SerdeContext<'_>, reason: impl fmt::Display) -> Error {
    Error::Serde(format!("Error serializing message to topic: {}. {reason}", ctx.topic))
}

/// Deserializes arbitrary `bytes` as `info`'s format for `columns`: the entry point for fuzzing.
/// Every outcome is an `Ok` or an [`Error`]; none panics.
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
