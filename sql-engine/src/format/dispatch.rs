//! The formats by name: [`format_for`] / [`format_with`] build the format a [`FormatInfo`]
//! names (the one file that imports every format), the properties each format takes, and
//! [`validate_columns`], which checks a format can carry a schema.

use std::sync::Arc;

use brook_schema::SchemaRegistryClient;

use super::api::{column_list, Format, FormatInfo, DELIMITER, FULL_SCHEMA_NAME, SCHEMA_ID};
use super::{avro, delimited, json, json_sr, kafka, none, protobuf};
use crate::error::{Error, Result};
use crate::value::{Column, SqlType};

/// The formats ksqlDB knows, by their upper-case names.
pub(crate) const KNOWN_FORMATS: [&str; 8] =
    ["JSON", "DELIMITED", "KAFKA", "NONE", "AVRO", "JSON_SR", "PROTOBUF", "PROTOBUF_NOSR"];

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
    check_format_properties(info)?;
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

/// The properties each format takes; anything else is ksqlDB's `X does not support the
/// following configs: [p]`, an empty value `p cannot be empty. Format configuration: {..}`.
pub(crate) fn check_format_properties(info: &FormatInfo) -> Result<()> {
    let supported: &[&str] = match info.format.as_str() {
        "DELIMITED" => &[DELIMITER],
        "AVRO" | "JSON_SR" | "PROTOBUF" => &[SCHEMA_ID, FULL_SCHEMA_NAME],
        "PROTOBUF_NOSR" => &[],
        _ => &[],
    };
    let unsupported: Vec<&str> = info.properties.keys().map(String::as_str).filter(|k| !supported.contains(k)).collect();
    if !unsupported.is_empty() {
        return Err(Error::Analysis(format!(
            "{} does not support the following configs: [{}]",
            info.format,
            unsupported.join(", ")
        )));
    }
    if let Some((k, _)) = info.properties.iter().find(|(k, v)| v.trim().is_empty() && k.as_str() != DELIMITER) {
        let all: Vec<String> = info.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
        return Err(Error::Analysis(format!("{k} cannot be empty. Format configuration: {{{}}}", all.join(", "))));
    }
    Ok(())
}
