//! Connect schemas and values <-> PostgreSQL types and values, as Confluent's PostgreSQL
//! dialect maps them:
//!
//! | Connect | PostgreSQL (auto.create) | read back as |
//! |---|---|---|
//! | int8, int16 | SMALLINT | int16 |
//! | int32 | INT | int32 |
//! | int64 | BIGINT | int64 |
//! | float32 | REAL | float32 |
//! | float64 | DOUBLE PRECISION | float64 |
//! | boolean | BOOLEAN | boolean |
//! | string | TEXT | string (also VARCHAR, CHAR, NAME, JSON, JSONB, UUID) |
//! | bytes | BYTEA | bytes |
//! | Date (int32 days) | DATE | Date |
//! | Time (int32 ms) | TIME | Time |
//! | Timestamp (int64 ms) | TIMESTAMP | Timestamp (also TIMESTAMPTZ) |
//! | Decimal (scale s) | NUMERIC(p, s), p from `connect.decimal.precision` else 1000 | NUMERIC(p, s) by `numeric.mapping` ([`NumericMapping`]) |
//!
//! Decimals are bound and read in PostgreSQL's binary `NUMERIC` format, exactly. An
//! unconstrained `NUMERIC` column (no precision and scale) is read as float64 under every
//! mapping: a Decimal needs one scale for the column.
//!
//! Values are sent in PostgreSQL's binary format with an explicit cast per placeholder
//! (`$1::int8`), so a column of a wider type (a BIGINT column for an int32 field) takes them by
//! PostgreSQL's assignment casts; and read in the binary format, decoded here.

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

use crate::data::{Schema, SchemaType, Value};
use crate::decimal::{self, BigDecimal};
use crate::error::{Error, Result};

/// Connect's logical type `Date`: int32 days since 1970-01-01.
pub(crate) const DATE: &str = "org.apache.kafka.connect.data.Date";
/// Connect's logical type `Time`: int32 milliseconds since midnight.
pub(crate) const TIME: &str = "org.apache.kafka.connect.data.Time";
/// Connect's logical type `Timestamp`: int64 milliseconds since the epoch.
pub(crate) const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

fn logical(schema: &Schema) -> Option<&str> {
    schema.name.as_deref().filter(|n| [DATE, TIME, TIMESTAMP].contains(n))
}

/// PostgreSQL's largest NUMERIC precision.
const PG_MAX_PRECISION: i64 = 1000;

/// The column type `auto.create` and `auto.evolve` give a field of `schema`.
///
/// # Errors
/// [`Error::Data`] for arrays, maps and structs, which have no column type here.
pub(crate) fn sql_type(field: &str, schema: &Schema) -> Result<String> {
    match logical(schema) {
        Some(DATE) => return Ok("DATE".into()),
        Some(TIME) => return Ok("TIME".into()),
        Some(TIMESTAMP) => return Ok("TIMESTAMP".into()),
        _ => {}
    }
    if decimal::is_decimal(schema) {
        // Constrained to the field's scale, so that the JDBC source reads the column back as
        // the same Decimal (Confluent's dialect creates an unconstrained DECIMAL).
        let scale = i64::from(decimal::scale(schema)?);
        let precision = decimal::precision(schema).map_or(PG_MAX_PRECISION, i64::from).clamp(1, PG_MAX_PRECISION);
        return Ok(if (0..=precision).contains(&scale) { format!("NUMERIC({precision}, {scale})") } else { "NUMERIC".into() });
    }
    Ok(match schema.schema_type {
        SchemaType::Int8 | SchemaType::Int16 => "SMALLINT",
        SchemaType::Int32 => "INT",
        SchemaType::Int64 => "BIGINT",
        SchemaType::Float32 => "REAL",
        SchemaType::Float64 => "DOUBLE PRECISION",
        SchemaType::Boolean => "BOOLEAN",
        SchemaType::String => "TEXT",
        SchemaType::Bytes if schema.name.is_none() => "BYTEA",
        _ => {
            let what = schema.name.as_deref().unwrap_or(schema.schema_type.name());
            return Err(Error::Data(format!("Unsupported type {what} of field \"{field}\": PostgreSQL columns take primitive types, Decimal, Date, Time and Timestamp")));
        }
    }
    .into())
}

/// The placeholder `$n` for a value of `schema`, with the cast its parameter needs.
pub(crate) fn placeholder(schema: &Schema, n: usize) -> String {
    match logical(schema) {
        Some(DATE) => return format!("(DATE '1970-01-01' + ${n}::int4)"),
        Some(TIME) => return format!("(TIME '00:00' + ${n}::int4 * INTERVAL '1 millisecond')"),
        Some(TIMESTAMP) => return format!("(TIMESTAMP 'epoch' + ${n}::int8 * INTERVAL '1 millisecond')"),
        _ => {}
    }
    let cast = match schema.schema_type {
        SchemaType::Int8 | SchemaType::Int16 => "int2",
        SchemaType::Int32 => "int4",
        SchemaType::Int64 => "int8",
        SchemaType::Float32 => "float4",
        SchemaType::Float64 => "float8",
        SchemaType::Boolean => "bool",
        SchemaType::Bytes if decimal::is_decimal(schema) => "numeric",
        SchemaType::Bytes => "bytea",
        _ => "text",
    };
    format!("${n}::{cast}")
}

/// A statement parameter, in the type its placeholder casts to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// A NUMERIC in PostgreSQL's binary format.
    Numeric(Vec<u8>),
}

impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::I16(v) => v.to_sql(ty, out),
            Param::I32(v) => v.to_sql(ty, out),
            Param::I64(v) => v.to_sql(ty, out),
            Param::F32(v) => v.to_sql(ty, out),
            Param::F64(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Bytes(v) => v.to_sql(ty, out),
            Param::Numeric(raw) => {
                out.extend_from_slice(raw);
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// The parameter for `value` of field `field` with `schema` (see [`placeholder`]).
///
/// # Errors
/// [`Error::Data`] when the value does not fit the schema, or is a container.
pub(crate) fn param(field: &str, schema: &Schema, value: &Value) -> Result<Param> {
    let wide = |v: i64| -> Result<Param> {
        Ok(match schema.schema_type {
            SchemaType::Int8 | SchemaType::Int16 => Param::I16(i16::try_from(v).map_err(|_| mismatch(field, schema, value))?),
            SchemaType::Int32 => Param::I32(i32::try_from(v).map_err(|_| mismatch(field, schema, value))?),
            SchemaType::Float32 => Param::F32(v as f32),
            SchemaType::Float64 => Param::F64(v as f64),
            SchemaType::String => Param::Text(v.to_string()),
            _ => Param::I64(v),
        })
    };
    Ok(match value {
        Value::Null => Param::Null,
        Value::Boolean(b) => Param::Bool(*b),
        Value::Int8(v) => wide(i64::from(*v))?,
        Value::Int16(v) => wide(i64::from(*v))?,
        Value::Int32(v) => wide(i64::from(*v))?,
        Value::Int64(v) => wide(*v)?,
        Value::Float32(v) if schema.schema_type == SchemaType::Float32 => Param::F32(*v),
        Value::Float32(v) => Param::F64(f64::from(*v)),
        Value::Float64(v) if schema.schema_type == SchemaType::Float32 => Param::F32(*v as f32),
        Value::Float64(v) => Param::F64(*v),
        Value::String(s) => Param::Text(s.clone()),
        Value::Bytes(b) if decimal::is_decimal(schema) => Param::Numeric(BigDecimal::from_unscaled_bytes(b, decimal::scale(schema)?)?.to_pg_numeric()?),
        Value::Bytes(b) => Param::Bytes(b.clone()),
        // Schemaless nested JSON goes into a TEXT column as JSON text.
        Value::Array(_) | Value::Map(_) if schema.schema_type == SchemaType::String => Param::Text(to_json(value).to_string()),
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => return Err(mismatch(field, schema, value)),
    })
}

fn mismatch(field: &str, schema: &Schema, value: &Value) -> Error {
    Error::Data(format!("Value {value} of field \"{field}\" does not fit its schema type {}", schema.name.as_deref().unwrap_or(schema.schema_type.name())))
}

/// The schema a schemaless value (`JsonConverter` with `schemas.enable=false`) gets as a
/// column: integers int64, numbers float64, nested objects and arrays their JSON text. Always
/// optional; a null is taken as an optional string.
pub(crate) fn infer(value: &Value) -> Schema {
    match value {
        Value::Boolean(_) => Schema::of(SchemaType::Boolean),
        Value::Int8(_) | Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => Schema::of(SchemaType::Int64),
        Value::Float32(_) | Value::Float64(_) => Schema::of(SchemaType::Float64),
        Value::Bytes(_) => Schema::of(SchemaType::Bytes),
        Value::Null | Value::String(_) | Value::Array(_) | Value::Map(_) | Value::Struct(_) => Schema::of(SchemaType::String),
    }
    .optional()
}

fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Int8(v) => J::from(*v),
        Value::Int16(v) => J::from(*v),
        Value::Int32(v) => J::from(*v),
        Value::Int64(v) => J::from(*v),
        Value::Float32(v) => J::from(f64::from(*v)),
        Value::Float64(v) => J::from(*v),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
        Value::Struct(s) => J::Object(s.schema.fields.iter().zip(&s.values).map(|(f, v)| (f.name.clone(), to_json(v))).collect()),
    }
}

/// The JDBC source's `numeric.mapping`: the Connect type of a `NUMERIC(p, s)` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum NumericMapping {
    /// `none` (the default): Decimal of scale `s`.
    #[default]
    None,
    /// `precision_only`: `s = 0` and `p <= 18` as int8 (p <= 2), int16 (p <= 4), int32 (p <= 9)
    /// or int64; otherwise Decimal.
    PrecisionOnly,
    /// `best_fit`: `p < 19` as those integers when `s <= 0`, float64 when `s > 0`; otherwise
    /// Decimal.
    BestFit,
    /// `best_fit_eager_double`: as `best_fit`, and float64 whenever `s > 0`.
    BestFitEagerDouble,
}

impl NumericMapping {
    /// The values `numeric.mapping` takes.
    pub(crate) const NAMES: [&'static str; 4] = ["none", "precision_only", "best_fit", "best_fit_eager_double"];

    /// Reads `numeric.mapping` (or the deprecated `numeric.precision.mapping=true`, which is
    /// `precision_only`).
    pub(crate) fn from_config(config: &crate::config::Config) -> Result<NumericMapping> {
        let legacy = super::boolean(config, "numeric.precision.mapping", false)?;
        let default = if legacy { "precision_only" } else { "none" };
        Ok(match super::one_of(config, "numeric.mapping", &Self::NAMES, default)?.as_str() {
            "precision_only" => NumericMapping::PrecisionOnly,
            "best_fit" => NumericMapping::BestFit,
            "best_fit_eager_double" => NumericMapping::BestFitEagerDouble,
            _ => NumericMapping::None,
        })
    }

    /// The schema of a `NUMERIC(precision, scale)` column.
    fn schema(self, precision: i32, scale: i32) -> Schema {
        let integer = || {
            Schema::of(match precision {
                ..=2 => SchemaType::Int8,
                3..=4 => SchemaType::Int16,
                5..=9 => SchemaType::Int32,
                _ => SchemaType::Int64,
            })
        };
        match self {
            NumericMapping::PrecisionOnly if scale == 0 && precision <= 18 => integer(),
            NumericMapping::BestFit | NumericMapping::BestFitEagerDouble if precision < 19 && scale <= 0 => integer(),
            NumericMapping::BestFit if precision < 19 => Schema::of(SchemaType::Float64),
            NumericMapping::BestFitEagerDouble if scale > 0 => Schema::of(SchemaType::Float64),
            _ => {
                let mut s = decimal::schema(scale);
                s.parameters.insert(decimal::PRECISION_PARAM.into(), precision.to_string());
                s
            }
        }
    }
}

/// The precision and scale of a NUMERIC column's type modifier; `None` when unconstrained.
fn numeric_typmod(typmod: i32) -> Option<(i32, i32)> {
    if typmod < 4 {
        return None;
    }
    let t = typmod - 4;
    // The scale is an 11-bit signed number (negative scales since PostgreSQL 15).
    Some(((t >> 16) & 0xffff, ((t & 0x7ff) ^ 1024) - 1024))
}

/// The Connect schema of a result column of type `ty` with type modifier `typmod` (optional
/// unless `not_null`); `None` for a type that is not read (the column is skipped, as
/// Confluent's source does).
pub(crate) fn column_schema(ty: &Type, typmod: i32, not_null: bool, numeric: NumericMapping) -> Option<Schema> {
    let s = match *ty {
        Type::BOOL => Schema::of(SchemaType::Boolean),
        Type::INT2 => Schema::of(SchemaType::Int16),
        Type::INT4 => Schema::of(SchemaType::Int32),
        Type::INT8 => Schema::of(SchemaType::Int64),
        Type::FLOAT4 => Schema::of(SchemaType::Float32),
        Type::NUMERIC => match numeric_typmod(typmod) {
            Some((precision, scale)) => numeric.schema(precision, scale),
            None => Schema::of(SchemaType::Float64),
        },
        Type::FLOAT8 => Schema::of(SchemaType::Float64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::JSONB | Type::UUID => Schema::of(SchemaType::String),
        Type::BYTEA => Schema::of(SchemaType::Bytes),
        Type::DATE => Schema::of(SchemaType::Int32).named(DATE),
        Type::TIME => Schema::of(SchemaType::Int32).named(TIME),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => Schema::of(SchemaType::Int64).named(TIMESTAMP),
        _ => return None,
    };
    Some(if not_null { s } else { s.optional() })
}

/// A column value in PostgreSQL's binary format, of any type; `Option<Raw>` reads NULL too.
#[derive(Debug)]
pub(crate) struct Raw(pub(crate) Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Raw, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn fixed<const N: usize>(raw: &[u8], ty: &Type) -> Result<[u8; N]> {
    raw.try_into().map_err(|_| Error::Data(format!("a {ty} value of {} bytes", raw.len())))
}

/// Microseconds since 1970-01-01 of a TIMESTAMP or TIMESTAMPTZ value.
pub(crate) fn timestamp_micros(ty: &Type, raw: &[u8]) -> Result<i64> {
    Ok(i64::from_be_bytes(fixed(raw, ty)?).saturating_add(PG_EPOCH_MICROS))
}

/// Decodes a binary value of a column whose type [`column_schema`] reads.
///
/// # Errors
/// [`Error::Data`] on a value of the wrong length or bad UTF-8.
pub(crate) fn decode(ty: &Type, raw: &[u8]) -> Result<Value> {
    let text = |raw: &[u8]| String::from_utf8(raw.to_vec()).map_err(|_| Error::Data(format!("a {ty} value that is not UTF-8")));
    Ok(match *ty {
        Type::BOOL => Value::Boolean(raw.first().is_some_and(|b| *b != 0)),
        Type::INT2 => Value::Int16(i16::from_be_bytes(fixed(raw, ty)?)),
        Type::INT4 => Value::Int32(i32::from_be_bytes(fixed(raw, ty)?)),
        Type::INT8 => Value::Int64(i64::from_be_bytes(fixed(raw, ty)?)),
        Type::FLOAT4 => Value::Float32(f32::from_be_bytes(fixed(raw, ty)?)),
        Type::FLOAT8 => Value::Float64(f64::from_be_bytes(fixed(raw, ty)?)),
        Type::NUMERIC => Value::Float64(numeric(raw)?),
        Type::JSONB => Value::String(text(raw.get(1..).unwrap_or_default())?),
        Type::UUID => {
            let b: [u8; 16] = fixed(raw, ty)?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Value::String(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
        }
        Type::BYTEA => Value::Bytes(raw.to_vec()),
        Type::DATE => Value::Int32(i32::from_be_bytes(fixed(raw, ty)?).saturating_add(PG_EPOCH_DAYS)),
        Type::TIME => Value::Int32(i32::try_from(i64::from_be_bytes(fixed(raw, ty)?) / 1000).unwrap_or(i32::MAX)),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => Value::Int64(timestamp_micros(ty, raw)?.div_euclid(1000)),
        _ => Value::String(text(raw)?),
    })
}

/// Decodes a binary value of a column read with `schema` ([`column_schema`]): NUMERIC as that
/// schema's Decimal (rescaled exactly), integer or float64; other types as [`decode`].
///
/// # Errors
/// [`Error::Data`] as [`decode`], and for a NUMERIC that does not fit its schema.
pub(crate) fn decode_as(ty: &Type, raw: &[u8], schema: &Schema) -> Result<Value> {
    if *ty != Type::NUMERIC {
        return decode(ty, raw);
    }
    if decimal::is_decimal(schema) {
        return Ok(Value::Bytes(BigDecimal::from_pg_numeric(raw)?.rescale(decimal::scale(schema)?)?.to_unscaled_bytes()));
    }
    if schema.schema_type == SchemaType::Float64 {
        return Ok(Value::Float64(numeric(raw)?));
    }
    let d = BigDecimal::from_pg_numeric(raw)?;
    let v = d.to_i64().ok_or_else(|| Error::Data(format!("NUMERIC value {} does not fit {}", d.to_plain_string(), schema.schema_type.name())))?;
    let narrow = || Error::Data(format!("NUMERIC value {v} does not fit {}", schema.schema_type.name()));
    Ok(match schema.schema_type {
        SchemaType::Int8 => Value::Int8(i8::try_from(v).map_err(|_| narrow())?),
        SchemaType::Int16 => Value::Int16(i16::try_from(v).map_err(|_| narrow())?),
        SchemaType::Int32 => Value::Int32(i32::try_from(v).map_err(|_| narrow())?),
        _ => Value::Int64(v),
    })
}

/// A NUMERIC in PostgreSQL's binary format (digit count, weight, sign, scale, base-10000
/// digits) as a float64.
fn numeric(raw: &[u8]) -> Result<f64> {
    let word = |i: usize| raw.get(i * 2..i * 2 + 2).map(|b| i16::from_be_bytes([b[0], b[1]])).ok_or_else(|| Error::Data("a truncated NUMERIC value".into()));
    let (ndigits, weight, sign) = (word(0)?, word(1)?, word(2)? as u16);
    if sign == 0xC000 {
        return Ok(f64::NAN);
    }
    let mut v = 0f64;
    for i in 0..usize::try_from(ndigits).unwrap_or(0) {
        let exp = i32::from(weight) - i32::try_from(i).unwrap_or(i32::MAX);
        v += f64::from(word(4 + i)?) * 10000f64.powi(exp);
    }
    Ok(if sign == 0x4000 { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_cast_and_logical_types_become_expressions() {
        assert_eq!(placeholder(&Schema::of(SchemaType::Int64), 3), "$3::int8");
        assert_eq!(placeholder(&Schema::of(SchemaType::Int64).named(TIMESTAMP), 1), "(TIMESTAMP 'epoch' + $1::int8 * INTERVAL '1 millisecond')");
        assert_eq!(sql_type("x", &Schema::of(SchemaType::Int32).named(DATE)).unwrap(), "DATE");
        let e = sql_type("tags", &Schema::array(Schema::string())).unwrap_err().to_string();
        assert!(e.contains("Unsupported type array of field \"tags\""), "{e}");
    }

    #[test]
    fn values_fit_their_schema_or_fail_clearly() {
        assert_eq!(param("a", &Schema::of(SchemaType::Int16), &Value::Int64(7)).unwrap(), Param::I16(7));
        let e = param("a", &Schema::of(SchemaType::Int16), &Value::Int64(70_000)).unwrap_err().to_string();
        assert!(e.contains("does not fit its schema type int16"), "{e}");
        let nested = Value::Map(vec![(Value::String("k".into()), Value::Int64(1))]);
        assert_eq!(param("a", &infer(&nested), &nested).unwrap(), Param::Text(r#"{"k":1}"#.into()));
    }

    #[test]
    fn binary_values_decode() {
        // 2000-01-01 00:00:01.5 is 1_500_000 µs after PostgreSQL's epoch.
        assert_eq!(decode(&Type::TIMESTAMP, &1_500_000i64.to_be_bytes()).unwrap(), Value::Int64(946_684_801_500));
        assert_eq!(decode(&Type::DATE, &1i32.to_be_bytes()).unwrap(), Value::Int32(10_958));
        // 12.5 = digits [12, 5000], weight 0, positive, scale 1.
        let raw: Vec<u8> = [2i16, 0, 0, 1, 12, 5000].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(decode(&Type::NUMERIC, &raw).unwrap(), Value::Float64(12.5));
        assert!(decode(&Type::INT4, &[1, 2]).is_err());
    }
}
