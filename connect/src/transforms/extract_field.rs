//! `ExtractField$Key` / `ExtractField$Value`: replaces the key or value with one of its fields.
//! A null key or value stays null.

use super::{field, map_get, require_map, require_struct, required, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{SchemaAndValue, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "field extraction";

#[derive(Debug)]
pub(crate) struct ExtractField {
    side: Side,
    field: String,
}

impl ExtractField {
    pub(crate) fn new(side: Side) -> ExtractField {
        ExtractField { side, field: String::new() }
    }
}

impl Transformation for ExtractField {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.field = required(config, "field")?.to_owned();
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        let part = self.side.part(&record);
        let updated = match &part.schema {
            None => {
                if part.value == Value::Null {
                    SchemaAndValue { schema: None, value: Value::Null }
                } else {
                    let m = require_map(&part.value, PURPOSE)?;
                    SchemaAndValue { schema: None, value: map_get(m, &self.field).cloned().unwrap_or(Value::Null) }
                }
            }
            Some(schema) => {
                let f = field(schema, &self.field).ok_or_else(|| Error::Data(format!("Unknown field: {}", self.field)))?;
                let value = if part.value == Value::Null {
                    Value::Null
                } else {
                    require_struct(&part.value, PURPOSE)?.get(&self.field).cloned().unwrap_or(Value::Null)
                };
                SchemaAndValue { schema: Some(f.schema.clone()), value }
            }
        };
        Ok(Some(self.side.set(record, updated)))
    }
}
