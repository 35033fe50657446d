//! What every format shares, below them all: the [`FormatInfo`] a statement declares and its
//! property names, the [`Format`] and [`RowSerde`] traits, and ksqlDB's wording of format
//! errors (column lists, base type names, count mismatches, (de)serialization failures).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::value::{Column, Row, SqlType, Value};

/// Format property: the `DELIMITED` field separator (one character).
pub const DELIMITER: &str = "delimiter";
/// Format property: the Schema Registry schema id (`KEY_SCHEMA_ID` / `VALUE_SCHEMA_ID`).
pub const SCHEMA_ID: &str = "schemaId";
/// Format property: the full schema name (`KEY_SCHEMA_FULL_NAME` / `VALUE_SCHEMA_FULL_NAME`).
pub const FULL_SCHEMA_NAME: &str = "fullSchemaName";

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
