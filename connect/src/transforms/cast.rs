//! `Cast$Key` / `Cast$Value`: casts the whole key or value (`spec=int32`) or some of its
//! fields (`spec=id:int64,price:float32`) to a primitive type: int8..int64, float32, float64,
//! boolean, string. Numbers narrow as Java's `Number.intValue()` does; strings parse as Java's
//! `Integer.parseInt` / `Boolean.parseBoolean`.

use super::{invalid, java_class, list, make_struct, map_get, map_put, require_map, require_struct, struct_basics, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "cast types";

#[derive(Debug)]
pub(crate) struct Cast {
    side: Side,
    whole: Option<SchemaType>,
    fields: Vec<(String, SchemaType)>,
}

fn cast_type(spec: &str, t: &str) -> Result<SchemaType> {
    match SchemaType::from_name(t.trim()) {
        Some(st @ (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 | SchemaType::Float32 | SchemaType::Float64 | SchemaType::Boolean | SchemaType::String)) => Ok(st),
        Some(_) => Err(invalid("spec", spec, &format!("Cast transformation does not support casting to/from {}", t.trim().to_uppercase()))),
        None => Err(invalid("spec", spec, &format!("Invalid type found in casting spec: {}", t.trim()))),
    }
}

fn is_castable(t: SchemaType) -> bool {
    !matches!(t, SchemaType::Array | SchemaType::Map | SchemaType::Struct | SchemaType::Bytes)
}

/// A number as i64 and f64 (Java's `Number.longValue()` / `doubleValue()`), or a boolean as 1/0.
fn numeric(v: &Value) -> Option<(i64, f64)> {
    Some(match v {
        Value::Int8(n) => (i64::from(*n), f64::from(*n)),
        Value::Int16(n) => (i64::from(*n), f64::from(*n)),
        Value::Int32(n) => (i64::from(*n), f64::from(*n)),
        Value::Int64(n) => (*n, *n as f64),
        Value::Float32(f) => (*f as i64, f64::from(*f)),
        Value::Float64(f) => (*f as i64, *f),
        Value::Boolean(b) => (i64::from(*b), if *b { 1.0 } else { 0.0 }),
        _ => return None,
    })
}

/// Casts one value.
pub(crate) fn cast_value(v: &Value, to: SchemaType) -> Result<Value> {
    if *v == Value::Null {
        return Ok(Value::Null);
    }
    if to == SchemaType::String {
        return Ok(Value::String(v.to_string()));
    }
    if let Value::String(s) = v {
        let bad = || Error::Data(format!("For input string: \"{s}\""));
        let t = s.trim();
        return Ok(match to {
            SchemaType::Int8 => Value::Int8(t.parse().map_err(|_| bad())?),
            SchemaType::Int16 => Value::Int16(t.parse().map_err(|_| bad())?),
            SchemaType::Int32 => Value::Int32(t.parse().map_err(|_| bad())?),
            SchemaType::Int64 => Value::Int64(t.parse().map_err(|_| bad())?),
            SchemaType::Float32 => Value::Float32(t.parse().map_err(|_| bad())?),
            SchemaType::Float64 => Value::Float64(t.parse().map_err(|_| bad())?),
            SchemaType::Boolean => Value::Boolean(t.eq_ignore_ascii_case("true")),
            _ => return Err(Error::Data(format!("Unexpected type in Cast transformation: {}", java_class(v)))),
        });
    }
    let (i, f) = numeric(v).ok_or_else(|| Error::Data(format!("Unexpected type in Cast transformation: {}", java_class(v))))?;
    let is_float = matches!(v, Value::Float32(_) | Value::Float64(_));
    Ok(match to {
        SchemaType::Int8 => Value::Int8(i as i8),
        SchemaType::Int16 => Value::Int16(i as i16),
        SchemaType::Int32 => Value::Int32(i as i32),
        SchemaType::Int64 => Value::Int64(i),
        SchemaType::Float32 => Value::Float32(f as f32),
        SchemaType::Float64 => Value::Float64(f),
        SchemaType::Boolean => Value::Boolean(if is_float { f != 0.0 } else { i != 0 }),
        _ => return Err(Error::Data(format!("Unexpected type in Cast transformation: {}", java_class(v)))),
    })
}

impl Cast {
    pub(crate) fn new(side: Side) -> Cast {
        Cast { side, whole: None, fields: Vec::new() }
    }

    fn target(&self, name: &str) -> Option<SchemaType> {
        self.fields.iter().find(|(f, _)| f == name).map(|(_, t)| *t)
    }

    fn cast_schema(s: &Schema, to: SchemaType) -> Result<Schema> {
        if !is_castable(s.schema_type) || s.name.is_some() {
            return Err(Error::Data(format!("Cast transformation does not support casting to/from {}", s.schema_type.name().to_uppercase())));
        }
        let out = Schema::of(to);
        Ok(if s.optional { out.optional() } else { out })
    }

    /// What [`apply`](Transformation::apply) makes of the record's key or value (not null).
    fn updated(&self, part: &SchemaAndValue) -> Result<SchemaAndValue> {
        Ok(match (&part.schema, self.whole) {
            (Some(s), Some(to)) => SchemaAndValue { schema: Some(Self::cast_schema(s, to)?), value: cast_value(&part.value, to)? },
            (None, Some(to)) => SchemaAndValue { schema: None, value: cast_value(&part.value, to)? },
            (Some(s), None) => {
                let st = require_struct(&part.value, PURPOSE)?;
                let mut new_schema = struct_basics(s);
                let mut values = Vec::with_capacity(st.values.len());
                for (f, v) in s.fields.iter().zip(&st.values) {
                    match self.target(&f.name) {
                        Some(to) => {
                            new_schema.fields.push(Field { name: f.name.clone(), schema: Self::cast_schema(&f.schema, to)? });
                            values.push(cast_value(v, to)?);
                        }
                        None => {
                            new_schema.fields.push(f.clone());
                            values.push(v.clone());
                        }
                    }
                }
                SchemaAndValue { schema: Some(new_schema.clone()), value: make_struct(new_schema, values) }
            }
            (None, None) => {
                let mut m = require_map(&part.value, PURPOSE)?.clone();
                for (f, to) in &self.fields {
                    if let Some(v) = map_get(&m, f).cloned() {
                        map_put(&mut m, f, cast_value(&v, *to)?);
                    }
                }
                SchemaAndValue { schema: None, value: Value::Map(m) }
            }
        })
    }
}

impl Transformation for Cast {
    fn configure(&mut self, config: &Config) -> Result<()> {
        let spec = super::required(config, "spec")?;
        let entries = list(config, "spec");
        self.whole = None;
        self.fields.clear();
        if entries.is_empty() {
            return Err(invalid("spec", spec, "Must specify at least one field to cast."));
        }
        if entries.len() == 1 && !entries[0].contains(':') {
            self.whole = Some(cast_type(spec, &entries[0])?);
            return Ok(());
        }
        for e in &entries {
            match e.split(':').collect::<Vec<_>>().as_slice() {
                [f, t] => self.fields.push(((*f).trim().to_owned(), cast_type(spec, t)?)),
                _ => return Err(invalid("spec", spec, &format!("Invalid cast mapping: {e}"))),
            }
        }
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        self.side.update(record, |_, part| self.updated(part))
    }
}
