//! Key and value formats from a source's `WITH` clause, with ksqlDB's rules and messages
//! (`CreateSourceProperties`, `DefaultFormatInjector`, `SerdeFeaturesFactory`):
//!
//! - `FORMAT` sets both formats and excludes `KEY_FORMAT` and `VALUE_FORMAT`;
//! - `KEY_FORMAT` defaults to `ksql.persistence.default.format.key` (`KAFKA`), `VALUE_FORMAT`
//!   to `ksql.persistence.default.format.value` (unset: the property is required);
//! - `KEY_DELIMITER` / `VALUE_DELIMITER` become the `delimiter` property, `KEY_SCHEMA_ID` /
//!   `VALUE_SCHEMA_ID` and `*_SCHEMA_FULL_NAME` the Schema Registry properties;
//! - `WRAP_SINGLE_VALUE` must be supported by the value format and needs one value column;
//! - a `... AS SELECT` sink inherits the source's formats ([`sink_formats`]).

use serde::{Deserialize, Serialize};

use super::adapter::RowSerdeAdapter;
use super::api::{Format, FormatInfo, DELIMITER, FULL_SCHEMA_NAME, SCHEMA_ID};
use super::dispatch::{check_format_properties, format_for, validate_columns, KNOWN_FORMATS};
use crate::error::{Error, Result};
use crate::parser::ast::Literal;
use crate::value::{Column, ColumnNamespace, LogicalSchema};

/// Server-side defaults (`ksql.persistence.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatDefaults {
    /// `ksql.persistence.default.format.key`. Default: `KAFKA`.
    pub key_format: Option<String>,
    /// `ksql.persistence.default.format.value`. Default: unset.
    pub value_format: Option<String>,
    /// `ksql.persistence.wrap.single.values`. Default: unset (wrapped).
    pub wrap_single_values: Option<bool>,
}

impl Default for FormatDefaults {
    fn default() -> Self {
        FormatDefaults { key_format: Some("KAFKA".into()), value_format: None, wrap_single_values: None }
    }
}

/// The key and value formats of a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceFormats {
    /// Format of the key columns.
    pub key: FormatInfo,
    /// Format of the value columns.
    pub value: FormatInfo,
}

impl SourceFormats {
    /// Checks both formats against `schema` (types, column counts, wrapping).
    ///
    /// # Errors
    /// [`Error::Analysis`] with ksqlDB's message.
    pub fn validate(&self, schema: &LogicalSchema) -> Result<()> {
        let (key, value) = split(schema);
        validate_columns(&self.key, &key, true)?;
        check_wrapping(format_for(&self.value)?.as_ref(), self.value.wrap_single_value, value.len())?;
        validate_columns(&self.value, &value, false)
    }

    /// The key and value serdes of a source with `schema`, for the Streams DSL.
    ///
    /// # Errors
    /// As [`validate`](Self::validate).
    pub fn serdes(&self, schema: &LogicalSchema) -> Result<(RowSerdeAdapter, RowSerdeAdapter)> {
        self.validate(schema)?;
        let (key, value) = split(schema);
        Ok((RowSerdeAdapter::for_format(&self.key, &key, true)?, RowSerdeAdapter::for_format(&self.value, &value, false)?))
    }
}

/// The key columns and the value columns of `schema`. Header columns come from the record's
/// headers, not from the value format.
fn split(schema: &LogicalSchema) -> (Vec<Column>, Vec<Column>) {
    let key = schema.key().cloned().collect();
    let value = schema.value().filter(|c| c.namespace == ColumnNamespace::Value).cloned().collect();
    (key, value)
}

fn check_wrapping(format: &dyn Format, wrap: Option<bool>, value_columns: usize) -> Result<()> {
    let Some(wrap) = wrap else { return Ok(()) };
    if !format.supports_wrapping(wrap) {
        return Err(Error::Analysis(format!(
            "Format '{}' does not support 'WRAP_SINGLE_VALUE' set to '{wrap}'.",
            format.name()
        )));
    }
    if value_columns != 1 {
        return Err(Error::Analysis("'WRAP_SINGLE_VALUE' is only valid for single-field value schemas".into()));
    }
    Ok(())
}

/// Reads the format properties of a `CREATE STREAM/TABLE` (or `... AS SELECT`) `WITH` clause.
/// Other properties are ignored here.
///
/// # Errors
/// [`Error::Analysis`] with ksqlDB's messages for conflicting, missing or ill-typed properties
/// and unknown formats.
pub fn formats_from_properties(props: &[(String, Literal)], defaults: &FormatDefaults) -> Result<SourceFormats> {
    let fallback = (defaults.key_format.as_deref().map(FormatInfo::of), defaults.value_format.as_deref().map(FormatInfo::of));
    read_formats(props, fallback, defaults)
}

/// The formats of the sink of a `CREATE STREAM/TABLE ... AS SELECT`: what the `WITH` clause
/// sets, else the source's format with its properties (a DELIMITED source's delimiter carries
/// over, as in ksqlDB). A `NONE` key format is not inherited by a sink with key columns
/// (`has_key_columns`): it gets `ksql.persistence.default.format.key`. `WRAP_SINGLE_VALUE` is
/// never inherited.
///
/// # Errors
/// As [`formats_from_properties`].
pub fn sink_formats(
    props: &[(String, Literal)],
    source: &SourceFormats,
    defaults: &FormatDefaults,
    has_key_columns: bool,
) -> Result<SourceFormats> {
    // Only the delimiter carries over: a schema id or name belongs to the source's subject.
    let inherit = |info: &FormatInfo| FormatInfo {
        format: info.format.clone(),
        properties: info.properties.iter().filter(|(k, _)| k.as_str() == DELIMITER).map(|(k, v)| (k.clone(), v.clone())).collect(),
        wrap_single_value: None,
    };
    let key = if source.key.format == "NONE" && has_key_columns {
        defaults.key_format.as_deref().map(FormatInfo::of)
    } else {
        Some(inherit(&source.key))
    };
    read_formats(props, (key, Some(inherit(&source.value))), defaults)
}

/// Formats from `props`, each side falling back to `fallback` when not named.
fn read_formats(
    props: &[(String, Literal)],
    fallback: (Option<FormatInfo>, Option<FormatInfo>),
    defaults: &FormatDefaults,
) -> Result<SourceFormats> {
    let get = |name: &str| props.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
    let string = |name: &str| -> Result<Option<String>> {
        match get(name) {
            None => Ok(None),
            Some(Literal::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::Analysis(format!(
                "Invalid value {} for property {name}: Expected value to be a string, but it was a {}",
                literal_text(other),
                java_class(other)
            ))),
        }
    };
    let format = string("FORMAT")?;
    for other in ["KEY_FORMAT", "VALUE_FORMAT"] {
        if format.is_some() && get(other).is_some() {
            return Err(Error::Analysis(format!(
                "Cannot supply both '{other}' and 'FORMAT' properties, as 'FORMAT' sets both key and value formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
            )));
        }
    }
    let named = |name: Option<String>| -> Result<Option<FormatInfo>> {
        let Some(info) = name.map(|n| FormatInfo::of(&n)) else { return Ok(None) };
        if !KNOWN_FORMATS.contains(&info.format.as_str()) {
            return Err(Error::Analysis(format!("Unknown format: {}", info.format)));
        }
        Ok(Some(info))
    };
    let key = named(format.clone().or(string("KEY_FORMAT")?))?.or(fallback.0);
    let value = named(format.or(string("VALUE_FORMAT")?))?.or(fallback.1);
    let Some(mut value) = value else {
        return Err(Error::Analysis(
            "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.value' config.".into(),
        ));
    };
    let Some(mut key) = key else {
        return Err(Error::Analysis(
            "Statement is missing the 'KEY_FORMAT' property from the WITH clause. Either provide one or set a default via the 'ksql.persistence.default.format.key' config.".into(),
        ));
    };
    for (prop, info) in [("KEY_DELIMITER", &mut key), ("VALUE_DELIMITER", &mut value)] {
        if let Some(d) = string(prop)? {
            super::delimited::parse_delimiter(&d)
                .map_err(|e| Error::Analysis(format!("Failed to prepare statement: Configuration {prop} is invalid: {e}")))?;
            info.properties.insert(DELIMITER.into(), d);
        }
    }
    for (prop, format_prop, info) in [("KEY_SCHEMA_ID", "KEY_FORMAT", &mut key), ("VALUE_SCHEMA_ID", "VALUE_FORMAT", &mut value)] {
        if get(prop).is_some() && !matches!(info.format.as_str(), "AVRO" | "JSON_SR" | "PROTOBUF") {
            return Err(Error::Analysis(format!(
                "{format_prop} should support schema inference when {prop} is provided. Current format is {}.",
                info.format
            )));
        }
        match get(prop) {
            None => {}
            Some(Literal::Int(id)) => {
                info.properties.insert(SCHEMA_ID.into(), id.to_string());
            }
            Some(Literal::String(s)) if s.trim().parse::<i32>().is_ok() => {
                info.properties.insert(SCHEMA_ID.into(), s.trim().to_string());
            }
            Some(other) => {
                return Err(Error::Analysis(format!(
                    "Invalid value {} for property {prop}: Not a number of type INT",
                    literal_text(other)
                )))
            }
        }
    }
    if let Some(n) = string("KEY_SCHEMA_FULL_NAME")? {
        key.properties.insert(FULL_SCHEMA_NAME.into(), n);
    }
    if let Some(a) = string("VALUE_AVRO_SCHEMA_FULL_NAME")? {
        if get("VALUE_SCHEMA_FULL_NAME").is_some() {
            return Err(Error::Analysis(
                "Cannot supply both 'VALUE_AVRO_SCHEMA_FULL_NAME' and 'VALUE_SCHEMA_FULL_NAME' properties. Please only set 'VALUE_SCHEMA_FULL_NAME'.".into(),
            ));
        }
        value.properties.insert(FULL_SCHEMA_NAME.into(), a);
    }
    if let Some(n) = string("VALUE_SCHEMA_FULL_NAME")? {
        value.properties.insert(FULL_SCHEMA_NAME.into(), n);
    }
    value.wrap_single_value = match get("WRAP_SINGLE_VALUE") {
        None => None,
        Some(Literal::Boolean(b)) => Some(*b),
        Some(Literal::String(s)) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Some(Literal::String(s)) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        Some(other) => {
            return Err(Error::Analysis(format!(
                "Invalid value {} for property WRAP_SINGLE_VALUE: Expected value to be either true or false",
                literal_text(other)
            )))
        }
    };
    if value.wrap_single_value.is_none() {
        // The server default applies only where the format can honour it.
        if let (Some(w), Ok(f)) = (defaults.wrap_single_values, format_for(&value)) {
            if f.supports_wrapping(w) {
                value.wrap_single_value = Some(w);
            }
        }
    }
    check_format_properties(&key)?;
    check_format_properties(&value)?;
    Ok(SourceFormats { key, value })
}

fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Null => "null".into(),
        Literal::Boolean(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::BigInt(i) => i.to_string(),
        Literal::Decimal(d) => d.clone(),
        Literal::Double(d) => super::scalar::java_double(*d),
        Literal::String(s) => s.clone(),
        Literal::Bytes(b) => format!("{b:?}"),
    }
}

fn java_class(l: &Literal) -> &'static str {
    match l {
        Literal::Null => "null",
        Literal::Boolean(_) => "java.lang.Boolean",
        Literal::Int(_) => "java.lang.Integer",
        Literal::BigInt(_) => "java.lang.Long",
        Literal::Decimal(_) => "java.math.BigDecimal",
        Literal::Double(_) => "java.lang.Double",
        Literal::String(_) => "java.lang.String",
        Literal::Bytes(_) => "[B",
    }
}

#[cfg(test)]
#[path = "props_tests.rs"]
mod tests;
