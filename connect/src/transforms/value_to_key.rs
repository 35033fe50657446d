//! `ValueToKey`: replaces the key with a struct (or, schemaless, a map) of the value's `fields`.

use super::{field, list, make_struct, map_get, require_map, require_struct, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "copying fields from value to key";

#[derive(Debug, Default)]
pub(crate) struct ValueToKey {
    fields: Vec<String>,
}

impl Transformation for ValueToKey {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.fields = list(config, "fields");
        if self.fields.is_empty() {
            let v = config.get("fields").map_or("null", String::as_str);
            return Err(super::invalid("fields", v, "Empty list"));
        }
        Ok(())
    }

    fn apply(&self, mut record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        record.key = match &record.value.schema {
            None => {
                let m = require_map(&record.value.value, PURPOSE)?;
                let key = self.fields.iter().map(|f| (Value::String(f.clone()), map_get(m, f).cloned().unwrap_or(Value::Null))).collect();
                SchemaAndValue { schema: None, value: Value::Map(key) }
            }
            Some(_) => {
                let st = require_struct(&record.value.value, PURPOSE)?;
                let mut key_schema = Schema::of(SchemaType::Struct);
                let mut values = Vec::new();
                for name in &self.fields {
                    let f = field(&st.schema, name).ok_or_else(|| Error::Data(format!("Field does not exist: {name}")))?;
                    key_schema.fields.push(Field { name: name.clone(), schema: f.schema.clone() });
                    values.push(st.get(name).cloned().unwrap_or(Value::Null));
                }
                SchemaAndValue { schema: Some(key_schema.clone()), value: make_struct(key_schema, values) }
            }
        };
        Ok(Some(record))
    }
}
