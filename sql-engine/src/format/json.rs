//! The `JSON` format, following ksqlDB's `KsqlJsonDeserializer` and Connect's `JsonConverter`
//! (schemas off, decimals as numbers).
//!
//! Writing: a record is an object with one field per column, named as the column is (upper
//! case unless quoted); a single key column, or a single value column with
//! `WRAP_SINGLE_VALUE=false`, is written bare, and a bare `NULL` is a null record. `DECIMAL` is
//! a JSON number with exactly `scale` fraction digits, in Java's `BigDecimal.toString` form
//! (`1.2E-7` below 10^-6), `BYTES` a base64 string, `TIMESTAMP` epoch milliseconds, `TIME`
//! milliseconds of the day, `DATE` days since the epoch, `DOUBLE` as Java prints it
//! (`NaN`/`Infinity` as strings, as Jackson does).
//!
//! Reading (ksqlDB's coercions): fields match the column name exactly, else case-insensitively
//! through the upper-cased JSON keys; missing fields and JSON `null` are `NULL`; extra fields
//! are ignored; numbers convert between numeric types (fractions truncate into integers) and
//! are read from strings; a `STRING` column takes any JSON value as text (objects re-serialized,
//! arrays as `[a, b]`); `DECIMAL` reads numbers or strings and must fit without rounding.
//! Errors read `Failed to deserialize value from topic: T. Can't convert type. sourceType:
//! BooleanNode, requiredType: BIGINT, path: $.ORDERTIME`.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

use super::api::{check_count, deserialize_error, unwrapped, Format, RowSerde, SerdeContext};
use super::json_flat::{self, FlatColumn};
use super::json_tree::{self, Json};
use super::scalar::{self, java_double};
use crate::error::Result;
use crate::value::{Column, Row, SqlType, Value};

/// The `JSON` format.
#[derive(Debug)]
pub(crate) struct JsonFormat {
    wrap_single_value: Option<bool>,
}

impl JsonFormat {
    pub(crate) fn new(wrap_single_value: Option<bool>) -> Self {
        JsonFormat { wrap_single_value }
    }
}

impl Format for JsonFormat {
    fn name(&self) -> &'static str {
        "JSON"
    }

    fn row_serde(&self, columns: &[Column], is_key: bool) -> Result<Arc<dyn RowSerde>> {
        Ok(Arc::new(JsonRowSerde::new(columns, unwrapped(columns, is_key, self.wrap_single_value))))
    }
}

/// Serde for one side of a record in `JSON`.
#[derive(Debug)]
pub(crate) struct JsonRowSerde {
    columns: Vec<(String, SqlType)>,
    unwrapped: bool,
    /// Each column's `"NAME":`, written once here rather than escaped per record.
    prefixes: Vec<String>,
    /// The columns for the flat-object fast path, when every column can take it.
    flat: Option<Vec<FlatColumn>>,
}

impl JsonRowSerde {
    /// `unwrapped` applies only to a single column.
    pub(crate) fn new(columns: &[Column], unwrapped: bool) -> Self {
        let prefixes = columns
            .iter()
            .map(|c| {
                let mut p = String::new();
                json_tree::write_str(&mut p, &c.name);
                p.push(':');
                p
            })
            .collect();
        let unwrapped = unwrapped && columns.len() == 1;
        JsonRowSerde {
            columns: columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect(),
            unwrapped,
            prefixes,
            flat: if unwrapped { None } else { flat_columns(columns) },
        }
    }

    /// The row as a JSON document (the object, or the bare value when unwrapped).
    pub(crate) fn to_text(&self, row: &[Value], topic: &str) -> Result<String> {
        check_count(self.columns.len(), row.len(), true, topic)?;
        // The names plus a guess of 16 bytes a value: most rows then need no reallocation.
        let mut out = String::with_capacity(2 + self.prefixes.iter().map(|p| p.len() + 17).sum::<usize>());
        if self.unwrapped {
            write_value(&mut out, &row[0]);
        } else {
            json_tree::write_joined(&mut out, '{', '}', self.prefixes.iter().zip(row), |out, (prefix, v)| {
                out.push_str(prefix);
                write_value(out, v);
            });
        }
        Ok(out)
    }

    /// Writes one object as [`Self::to_text`] frames it, `value(out, i)` writing column
    /// `i`'s value (callers write values as [`write_value`] does).
    pub(crate) fn write_object(&self, out: &mut String, mut value: impl FnMut(&mut String, usize)) {
        json_tree::write_joined(out, '{', '}', self.prefixes.iter().enumerate(), |out, (i, prefix)| {
            out.push_str(prefix);
            value(out, i);
        });
    }

    /// The row a parsed document holds (`None` for a JSON `null` record).
    pub(crate) fn read_tree(&self, doc: Option<&Json>) -> Result<Option<Row>, String> {
        // Room for `$.COLUMN` paths, so building them per field does not reallocate.
        let mut path = String::with_capacity(64);
        path.push('$');
        if self.unwrapped {
            let v = match doc {
                None => return Err(missing_node(&self.columns[0].1, &path)),
                Some(j) => coerce(j, &self.columns[0].1, &mut path)?,
            };
            return Ok(Some(vec![v]));
        }
        let obj = match doc {
            None => return Err(missing_node(&SqlType::Struct(self.columns.clone()), &path)),
            Some(Json::Null) => return Ok(None),
            Some(Json::Object(fields)) => fields,
            Some(other) => return Err(invalid(other, &connect_name(&SqlType::Struct(self.columns.clone())), &path)),
        };
        struct_fields(obj, &self.columns, &mut path).map(Some)
    }
}

fn missing_node(ty: &SqlType, path: &str) -> String {
    format!("Can't convert type. sourceType: MissingNode, requiredType: {}, path: {path}", connect_name(ty))
}

impl RowSerde for JsonRowSerde {
    /// An unwrapped `NULL` is a null record, as ksqlDB's unwrapped serializer hands the
    /// converter a null.
    fn serialize(&self, row: &[Value], ctx: &SerdeContext<'_>) -> Result<Option<Vec<u8>>> {
        if self.unwrapped && row.len() == 1 && row[0].is_null() {
            return Ok(None);
        }
        self.to_text(row, ctx.topic).map(|s| Some(s.into_bytes()))
    }

    fn deserialize(&self, bytes: Option<&[u8]>, ctx: &SerdeContext<'_>) -> Result<Option<Row>> {
        let Some(bytes) = bytes else { return Ok(None) };
        if let Some(flat) = &self.flat {
            // Room for what a query's source appends (`ROWTIME`, `ROWPARTITION`, `ROWOFFSET`,
            // a key column or two), so the source row grows in place.
            let mut row = Vec::with_capacity(flat.len() + 5);
            if json_flat::read_flat(bytes, flat, &mut row) {
                return Ok(Some(row));
            }
        }
        let fail = |m: String| deserialize_error(ctx, m);
        let doc = json_tree::parse(bytes).map_err(fail)?;
        self.read_tree(doc.as_ref()).map_err(fail)
    }
}

/// The columns of a wrapped JSON row for [`json_flat::read_flat`], when each is of a type it
/// reads (`None` otherwise).
pub(crate) fn flat_columns(columns: &[Column]) -> Option<Vec<FlatColumn>> {
    columns
        .iter()
        .map(|c| json_flat::flat_type(&c.ty).then(|| FlatColumn::new(&c.name, c.ty.clone())))
        .collect()
}

/// Writes one value as ksqlDB's JSON serializer does.
pub(crate) fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Date(i) | Value::Time(i) => {
            let _ = write!(out, "{i}");
        }
        Value::BigInt(i) | Value::Timestamp(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Double(d) if d.is_finite() => out.push_str(&java_double(*d)),
        Value::Double(d) => json_tree::write_str(out, &java_double(*d)),
        Value::Decimal(d) => scalar::write_java_big_decimal(out, d),
        Value::String(s) => json_tree::write_str(out, s),
        Value::Bytes(b) => json_tree::write_str(out, &scalar::base64_encode(b)),
        Value::Array(items) => json_tree::write_joined(out, '[', ']', items, write_value),
        Value::Map(entries) => json_tree::write_joined(out, '{', '}', entries, |out, (k, v)| {
            match k {
                Value::String(s) => json_tree::write_str(out, s),
                other => {
                    let mut text = String::new();
                    write_value(&mut text, other);
                    json_tree::write_str(out, text.trim_matches('"'));
                }
            }
            out.push(':');
            write_value(out, v);
        }),
        Value::Struct(fields) => write_fields(out, fields.iter().map(|(n, v)| (n.as_str(), v))),
    }
}

/// Writes an object of named values.
fn write_fields<'a>(out: &mut String, fields: impl IntoIterator<Item = (&'a str, &'a Value)>) {
    json_tree::write_joined(out, '{', '}', fields, |out, (name, v)| {
        json_tree::write_str(out, name);
        out.push(':');
        write_value(out, v);
    });
}

/// ksqlDB's connect-schema spelling in "requiredType": `VARCHAR`, `INT`, `STRUCT<A BIGINT>`.
pub(crate) fn connect_name(ty: &SqlType) -> String {
    match ty {
        SqlType::Boolean => "BOOLEAN".into(),
        SqlType::Int => "INT".into(),
        SqlType::BigInt => "BIGINT".into(),
        SqlType::Double => "DOUBLE".into(),
        SqlType::Decimal { precision, scale } => format!("DECIMAL({precision}, {scale})"),
        SqlType::String => "VARCHAR".into(),
        SqlType::Bytes => "BYTES".into(),
        SqlType::Date => "DATE".into(),
        SqlType::Time => "TIME".into(),
        SqlType::Timestamp => "TIMESTAMP".into(),
        SqlType::Array(t) => format!("ARRAY<{}>", connect_name(t)),
        SqlType::Map(k, v) => format!("MAP<{}, {}>", connect_name(k), connect_name(v)),
        SqlType::Struct(fields) => {
            let f: Vec<String> = fields.iter().map(|(n, t)| format!("{n} {}", connect_name(t))).collect();
            format!("STRUCT<{}>", f.join(", "))
        }
    }
}

fn invalid(j: &Json, required: &str, path: &str) -> String {
    format!("Can't convert type. sourceType: {}, requiredType: {required}, path: {path}", j.node_name())
}

fn string_coercion(target: &str, path: &str) -> String {
    format!("Can't coerce string to type. targetType: {target}, path: {path}")
}

/// Java's `JsonNode.longValue()` of a number: integers wrap to 64 bits, fractions truncate.
fn number_as_long(n: &str) -> i64 {
    if let Ok(i) = n.parse::<i64>() {
        return i;
    }
    if !n.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        // BigInteger.longValue(): the low 64 bits.
        return n.parse::<i128>().map_or_else(|_| n.parse::<f64>().map_or(0, |f| f as i64), |i| i as i64);
    }
    n.parse::<f64>().map_or(0, |f| f as i64)
}

/// Converts `j` to a value of `ty` with ksqlDB's coercions; `path` is the JSON path so far.
pub(crate) fn coerce(j: &Json, ty: &SqlType, path: &mut String) -> Result<Value, String> {
    if let Json::Null = j {
        return Ok(Value::Null);
    }
    match (ty, j) {
        (SqlType::Boolean, Json::Bool(b)) => Ok(Value::Boolean(*b)),
        (SqlType::Int, Json::Number(n)) => Ok(Value::Int(number_as_long(n) as i32)),
        (SqlType::Int, Json::String(s)) => scalar::parse_java_long(s)
            .and_then(|v| i32::try_from(v).ok())
            .map(Value::Int)
            .ok_or_else(|| string_coercion("INTEGER", path)),
        (SqlType::BigInt, Json::Number(n)) => Ok(Value::BigInt(number_as_long(n))),
        (SqlType::BigInt, Json::String(s)) => {
            scalar::parse_java_long(s).map(Value::BigInt).ok_or_else(|| string_coercion("BIGINT", path))
        }
        (SqlType::Double, Json::Number(n)) => Ok(Value::Double(n.parse().unwrap_or(0.0))),
        (SqlType::Double, Json::String(s)) => {
            scalar::parse_java_double(s).map(Value::Double).ok_or_else(|| string_coercion("DOUBLE", path))
        }
        (SqlType::Decimal { precision, scale }, Json::Number(t) | Json::String(t)) => {
            scalar::decimal_from_text(t, *precision, *scale).map(Value::Decimal).map_err(|m| format!("{m}, path: {path}"))
        }
        (SqlType::String, _) => Ok(Value::String(as_text(j, path)?)),
        (SqlType::Bytes, Json::String(s)) => scalar::base64_decode(s)
            .map(Value::Bytes)
            .ok_or_else(|| format!("Value is not a valid Base64 encoded string: {s}, path: {path}")),
        (SqlType::Date, Json::Number(n)) => Ok(Value::Date(number_as_long(n) as i32)),
        (SqlType::Date, Json::String(s)) => scalar::parse_java_long(s)
            .and_then(|v| i32::try_from(v).ok())
            .map(Value::Date)
            .ok_or_else(|| string_coercion("DATE", path)),
        (SqlType::Time, Json::Number(_) | Json::String(_)) => {
            let millis = match j {
                Json::Number(n) => number_as_long(n),
                Json::String(s) => scalar::parse_java_long(s).ok_or_else(|| string_coercion("TIME", path))?,
                _ => 0,
            };
            scalar::time_from_millis(millis).map(Value::Time).map_err(|m| format!("{m}, path: {path}"))
        }
        (SqlType::Timestamp, Json::Number(n)) => Ok(Value::Timestamp(number_as_long(n))),
        (SqlType::Timestamp, Json::String(s)) => {
            scalar::parse_java_long(s).map(Value::Timestamp).ok_or_else(|| string_coercion("TIMESTAMP", path))
        }
        (SqlType::Array(elem), Json::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                out.push(coerce(item, elem, path)?);
                path.truncate(len);
            }
            Ok(Value::Array(out))
        }
        (SqlType::Map(kt, vt), Json::Object(fields)) => {
            let mut out = Vec::with_capacity(fields.len());
            for (k, v) in fields {
                let len = path.len();
                let _ = write!(path, ".{k}.key");
                let key = coerce(&Json::String(Cow::Borrowed(k)), kt, path)?;
                path.truncate(len);
                let _ = write!(path, ".{k}.value");
                let value = coerce(v, vt, path)?;
                path.truncate(len);
                out.push((key, value));
            }
            Ok(Value::Map(out))
        }
        (SqlType::Struct(fields), Json::Object(obj)) => {
            let values = struct_fields(obj, fields, path)?;
            Ok(Value::Struct(fields.iter().map(|(n, _)| n.clone()).zip(values).collect()))
        }
        (SqlType::Boolean | SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Date | SqlType::Time | SqlType::Timestamp, _) => {
            Err(invalid(j, super::api::base_type(ty), path))
        }
        _ => Err(invalid(j, &connect_name(ty), path)),
    }
}

/// The values of `fields` from a JSON object: exact name first, then the upper-cased keys.
fn struct_fields(obj: &[(Cow<'_, str>, Json<'_>)], fields: &[(String, SqlType)], path: &mut String) -> Result<Vec<Value>, String> {
    let upper: Option<Vec<String>> =
        if obj.iter().any(|(k, _)| k.bytes().any(|b| b.is_ascii_lowercase()) || !k.is_ascii()) {
            Some(obj.iter().map(|(k, _)| k.to_uppercase()).collect())
        } else {
            None
        };
    let mut out = Vec::with_capacity(fields.len());
    for (name, ty) in fields {
        let found = obj.iter().find(|(k, _)| k == name).map(|(_, v)| v).or_else(|| {
            let upper = upper.as_ref()?;
            // Java's HashMap.put: the last key that upper-cases to the name wins.
            upper.iter().rposition(|u| u == name).map(|i| &obj[i].1)
        });
        match found {
            None => out.push(Value::Null),
            Some(v) => {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                out.push(coerce(v, ty, path)?);
                path.truncate(len);
            }
        }
    }
    Ok(out)
}

/// Jackson's `asText` for a `STRING` column, ksqlDB's way for containers.
fn as_text(j: &Json, path: &mut String) -> Result<String, String> {
    Ok(match j {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(t) | Json::String(t) => t.to_string(),
        Json::Object(_) => {
            let mut out = String::new();
            json_tree::write(&mut out, j);
            out
        }
        Json::Array(items) => {
            let mut parts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                parts.push(as_text(item, path)?);
                path.truncate(len);
            }
            format!("[{}]", parts.join(", "))
        }
    })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
