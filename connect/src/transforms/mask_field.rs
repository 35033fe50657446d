//! `MaskField$Key` / `MaskField$Value`: replaces `fields` with their type's empty value
//! (`false`, `0`, `""`, an empty array or map) or with `replacement` (parsed as the field's type).

use super::cast::cast_value;
use super::{java_class, list, make_struct, map_get, map_put, require_map, require_struct, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{SchemaAndValue, SchemaType, Struct, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "mask fields";

#[derive(Debug)]
pub(crate) struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
}

impl MaskField {
    pub(crate) fn new(side: Side) -> MaskField {
        MaskField { side, fields: Vec::new(), replacement: None }
    }

    fn masked(&self, v: &Value) -> Result<Value> {
        let Some(r) = &self.replacement else {
            return Ok(match v {
                Value::Null => Value::Null,
                Value::Boolean(_) => Value::Boolean(false),
                Value::Int8(_) => Value::Int8(0),
                Value::Int16(_) => Value::Int16(0),
                Value::Int32(_) => Value::Int32(0),
                Value::Int64(_) => Value::Int64(0),
                Value::Float32(_) => Value::Float32(0.0),
                Value::Float64(_) => Value::Float64(0.0),
                Value::String(_) => Value::String(String::new()),
                Value::Bytes(_) => Value::Bytes(Vec::new()),
                Value::Array(_) => Value::Array(Vec::new()),
                Value::Map(_) => Value::Map(Vec::new()),
                Value::Struct(_) => return Err(Error::Data(format!("Cannot mask value of type: {}", java_class(v)))),
            });
        };
        let to = match v {
            Value::Null => return Ok(Value::Null),
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            other => return Err(Error::Data(format!("Cannot mask value of type {} with custom replacement.", java_class(other)))),
        };
        cast_value(&Value::String(r.clone()), to).map_err(|_| Error::Data(format!("Unable to convert {r} (java.lang.String) to {}", java_class(v))))
    }

    /// What [`apply`](Transformation::apply) makes of the record's key or value (not null).
    fn updated(&self, part: &SchemaAndValue) -> Result<SchemaAndValue> {
        Ok(match &part.schema {
            None => {
                let mut m = require_map(&part.value, PURPOSE)?.clone();
                for f in &self.fields {
                    let v = map_get(&m, f).cloned().unwrap_or(Value::Null);
                    map_put(&mut m, f, self.masked(&v)?);
                }
                SchemaAndValue { schema: None, value: Value::Map(m) }
            }
            Some(s) => {
                let st: &Struct = require_struct(&part.value, PURPOSE)?;
                let mut values = st.values.clone();
                for (i, f) in s.fields.iter().enumerate() {
                    if self.fields.contains(&f.name) {
                        values[i] = self.masked(&st.values[i])?;
                    }
                }
                SchemaAndValue { schema: Some(s.clone()), value: make_struct(st.schema.clone(), values) }
            }
        })
    }
}

impl Transformation for MaskField {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.fields = list(config, "fields");
        if self.fields.is_empty() {
            return Err(super::invalid("fields", config.get("fields").map_or("null", String::as_str), "Empty list"));
        }
        self.replacement = config.get("replacement").filter(|r| !r.is_empty()).cloned();
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        self.side.update(record, |_, part| self.updated(part))
    }
}
