//! A statement's `WITH (...)` properties, read with ksqlDB's messages: strings, numbers, and the
//! `TIMESTAMP` column they name.

use crate::catalog::TimestampColumn;
use crate::parser::ast::{Literal, Properties};
use crate::{analysis_err, Error, LogicalSchema, Result};

/// A `WITH` property, by upper-case name (the last one written wins).
fn prop<'a>(props: &'a Properties, name: &str) -> Option<&'a Literal> {
    props.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A string `WITH` property.
pub(crate) fn prop_string(props: &Properties, name: &str) -> Result<Option<String>> {
    match prop(props, name) {
        None => Ok(None),
        Some(Literal::String(s)) => Ok(Some(s.clone())),
        Some(other) => analysis_err!("Invalid value {other:?} for property {name}: Expected value to be a string"),
    }
}

/// A number `WITH` property (a string holding one is read too).
pub(crate) fn prop_int(props: &Properties, name: &str) -> Result<Option<i64>> {
    match prop(props, name) {
        None => Ok(None),
        Some(Literal::Int(i)) => Ok(Some(i64::from(*i))),
        Some(Literal::BigInt(i)) => Ok(Some(*i)),
        Some(Literal::String(s)) => s.trim().parse().map(Some).map_err(|_| Error::Analysis(format!("Invalid value {s} for property {name}: Not a number"))),
        Some(other) => analysis_err!("Invalid value {other:?} for property {name}: Not a number"),
    }
}

/// `TIMESTAMP` / `TIMESTAMP_FORMAT`.
pub(crate) fn timestamp_of(props: &Properties, schema: &LogicalSchema) -> Result<Option<TimestampColumn>> {
    let Some(col) = prop_string(props, "TIMESTAMP")? else { return Ok(None) };
    let col = col.to_uppercase();
    let Some(c) = schema.find(&col) else {
        return analysis_err!("The TIMESTAMP column set in the WITH clause does not exist in the schema: '{col}'");
    };
    let format = prop_string(props, "TIMESTAMP_FORMAT")?;
    match (&c.ty, &format) {
        (crate::SqlType::BigInt | crate::SqlType::Timestamp, None) => {}
        (crate::SqlType::String, Some(f)) => {
            crate::function::javatime::to_strftime(f).map_err(|e| Error::Analysis(format!("Invalid timestamp format: {f}. {e}")))?;
        }
        (t, _) => return analysis_err!("Timestamp column, `{col}`, should be LONG(INT64), TIMESTAMP, or a String with a timestamp_format specified. Got {t}"),
    }
    Ok(Some(TimestampColumn { column: col, format }))
}
