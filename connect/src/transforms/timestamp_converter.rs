//! `TimestampConverter$Key` / `TimestampConverter$Value`: converts a timestamp (the whole key or
//! value, or its `field`) between `string` (with the Java `format`), `unix` (epoch in
//! `unix.precision`), `Date`, `Time` and `Timestamp`. Times are UTC, as in Kafka.

use std::fmt::Write as _;

use chrono::DateTime;

use super::{field, invalid, logical, make_struct, map_put, require_map, require_struct, struct_basics, timestamp_schema, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "converting timestamp formats";
const DAY_MS: i64 = 86_400_000;

/// A Java pattern as a validated strftime string.
pub(crate) fn java_format(pattern: &str) -> Result<String, String> {
    let fmt = brook_common::javatime::to_strftime(pattern)?;
    brook_common::javatime::items(&fmt)?;
    Ok(fmt)
}

/// Formats epoch milliseconds (UTC) with a strftime string from [`java_format`].
pub(crate) fn format_ms(ms: i64, fmt: &str) -> Result<String> {
    let items = brook_common::javatime::items(fmt).map_err(Error::Data)?;
    let t = DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::Data(format!("timestamp {ms} out of range")))?;
    let mut out = String::new();
    write!(out, "{}", t.format_with_items(items.iter())).map_err(|_| Error::Data(format!("cannot format timestamp {ms}")))?;
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

#[derive(Debug)]
pub(crate) struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    /// The Java pattern and its strftime form.
    format: Option<(String, String)>,
    precision: Precision,
}

impl TimestampConverter {
    pub(crate) fn new(side: Side) -> TimestampConverter {
        TimestampConverter { side, field: String::new(), target: Kind::Timestamp, format: None, precision: Precision::Millis }
    }

    fn kind_of_schema(s: &Schema) -> Result<Kind> {
        Ok(match (s.name.as_deref(), s.schema_type) {
            (Some(logical::TIMESTAMP), _) => Kind::Timestamp,
            (Some(logical::DATE), _) => Kind::Date,
            (Some(logical::TIME), _) => Kind::Time,
            (_, SchemaType::String) => Kind::String,
            (_, SchemaType::Int64) => Kind::Unix,
            _ => return Err(Error::Data(format!("Schema {} does not correspond to a known timestamp type format", crate::converter::schema_to_json(s)))),
        })
    }

    fn kind_of_value(v: &Value) -> Result<Kind> {
        match v {
            Value::Int64(_) => Ok(Kind::Unix),
            Value::String(_) => Ok(Kind::String),
            other => Err(Error::Data(format!("TimestampConverter does not support class {} objects as timestamps", super::java_class(other)))),
        }
    }

    /// A timestamp of `kind` as epoch milliseconds.
    fn to_ms(&self, kind: Kind, v: &Value) -> Result<i64> {
        let expected = |what: &str| Error::Data(format!("Expected {what}, but found {}", super::java_class(v)));
        Ok(match (kind, v) {
            (Kind::Timestamp, Value::Int64(ms)) => *ms,
            (Kind::Timestamp, _) => return Err(expected("Timestamp to be a java.util.Date")),
            (Kind::Date, Value::Int32(days)) => i64::from(*days) * DAY_MS,
            (Kind::Date, _) => return Err(expected("Date to be a java.util.Date")),
            (Kind::Time, Value::Int32(ms)) => i64::from(*ms),
            (Kind::Time, _) => return Err(expected("Time to be a java.util.Date")),
            (Kind::Unix, Value::Int64(n)) => match self.precision {
                Precision::Seconds => n.saturating_mul(1000),
                Precision::Millis => *n,
                Precision::Micros => n.div_euclid(1000),
                Precision::Nanos => n.div_euclid(1_000_000),
            },
            (Kind::Unix, _) => return Err(expected("UNIX timestamp to be a Long")),
            (Kind::String, Value::String(s)) => {
                let (pattern, _) = self.format.as_ref().ok_or_else(|| Error::Data("TimestampConverter requires format option to be specified when using string timestamps".into()))?;
                let (local, offset) = brook_common::javatime::parse_local(s, pattern)
                    .map_err(|_| Error::Data(format!("Could not parse timestamp: value ({s}) does not match pattern ({pattern})")))?;
                let utc_ms = local.and_utc().timestamp_millis();
                utc_ms - offset.map_or(0, |o| i64::from(o.local_minus_utc()) * 1000)
            }
            (Kind::String, _) => return Err(expected("string timestamp to be a String")),
        })
    }

    /// Epoch milliseconds as the target kind.
    fn from_ms(&self, ms: i64) -> Result<Value> {
        Ok(match self.target {
            Kind::Timestamp => Value::Int64(ms),
            Kind::Date => Value::Int32(i32::try_from(ms.div_euclid(DAY_MS)).map_err(|_| Error::Data(format!("date out of range: {ms}")))?),
            Kind::Time => Value::Int32(ms.rem_euclid(DAY_MS) as i32),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => ms.div_euclid(1000),
                Precision::Millis => ms,
                Precision::Micros => ms.saturating_mul(1000),
                Precision::Nanos => ms.saturating_mul(1_000_000),
            }),
            Kind::String => {
                let (_, fmt) = self.format.as_ref().ok_or_else(|| Error::Data("TimestampConverter requires format option to be specified when using string timestamps".into()))?;
                Value::String(format_ms(ms, fmt)?)
            }
        })
    }

    fn target_schema(&self, optional: bool) -> Schema {
        let s = match self.target {
            Kind::String => Schema::string(),
            Kind::Unix => Schema::of(SchemaType::Int64),
            Kind::Timestamp => timestamp_schema(false),
            Kind::Date => logical::date_schema(),
            Kind::Time => logical::time_schema(),
        };
        if optional { s.optional() } else { s }
    }

    fn convert(&self, kind: Kind, v: &Value) -> Result<Value> {
        if *v == Value::Null {
            return Ok(Value::Null);
        }
        self.from_ms(self.to_ms(kind, v)?)
    }

    /// What [`apply`](Transformation::apply) makes of the record's key or value (not null).
    fn updated(&self, part: &SchemaAndValue) -> Result<SchemaAndValue> {
        Ok(match (&part.schema, self.field.is_empty()) {
            (Some(s), true) => {
                let kind = Self::kind_of_schema(s)?;
                SchemaAndValue { schema: Some(self.target_schema(s.optional)), value: self.convert(kind, &part.value)? }
            }
            (None, true) => SchemaAndValue { schema: None, value: self.convert(Self::kind_of_value(&part.value)?, &part.value)? },
            (Some(s), false) => {
                let st = require_struct(&part.value, PURPOSE)?;
                let mut new_schema = struct_basics(s);
                let mut values = Vec::with_capacity(st.values.len());
                for (f, v) in s.fields.iter().zip(&st.values) {
                    if f.name == self.field {
                        let kind = Self::kind_of_schema(&f.schema)?;
                        new_schema.fields.push(Field { name: f.name.clone(), schema: self.target_schema(f.schema.optional) });
                        values.push(self.convert(kind, v)?);
                    } else {
                        new_schema.fields.push(f.clone());
                        values.push(v.clone());
                    }
                }
                if field(s, &self.field).is_none() {
                    return Err(Error::Data(format!("Unknown field: {}", self.field)));
                }
                SchemaAndValue { schema: Some(new_schema.clone()), value: make_struct(new_schema, values) }
            }
            (None, false) => {
                let mut m = require_map(&part.value, PURPOSE)?.clone();
                let v = super::map_get(&m, &self.field).cloned().unwrap_or(Value::Null);
                if v != Value::Null {
                    let converted = self.convert(Self::kind_of_value(&v)?, &v)?;
                    map_put(&mut m, &self.field, converted);
                }
                SchemaAndValue { schema: None, value: Value::Map(m) }
            }
        })
    }
}

impl Transformation for TimestampConverter {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.field = config.get("field").cloned().unwrap_or_default();
        let t = super::required(config, "target.type")?;
        self.target = match t {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            "Timestamp" => Kind::Timestamp,
            other => {
                return Err(Error::Config(format!(
                    "Unknown timestamp type in TimestampConverter: {other}. Valid values are string, unix, Date, Time, Timestamp."
                )))
            }
        };
        self.format = match config.get("format").filter(|f| !f.trim().is_empty()) {
            None => None,
            Some(p) => Some((
                p.clone(),
                java_format(p).map_err(|_| Error::Config(format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {p}")))?,
            )),
        };
        if self.target == Kind::String && self.format.is_none() {
            return Err(Error::Config("TimestampConverter requires format option to be specified when using string timestamps".into()));
        }
        self.precision = match config.get("unix.precision").map_or("milliseconds", String::as_str) {
            "seconds" => Precision::Seconds,
            "milliseconds" => Precision::Millis,
            "microseconds" => Precision::Micros,
            "nanoseconds" => Precision::Nanos,
            other => return Err(invalid("unix.precision", other, "String must be one of: nanoseconds, microseconds, milliseconds, seconds")),
        };
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        self.side.update(record, |_, part| self.updated(part))
    }
}
