//! `SetSchemaMetadata$Key` / `SetSchemaMetadata$Value`: sets the schema's `schema.name` and / or
//! `schema.version` (a struct value gets the new schema too).

use super::{require_schema, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{SchemaAndValue, Struct, Value};
use crate::error::{Error, Result};

#[derive(Debug)]
pub(crate) struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
}

impl SetSchemaMetadata {
    pub(crate) fn new(side: Side) -> SetSchemaMetadata {
        SetSchemaMetadata { side, name: None, version: None }
    }
}

impl Transformation for SetSchemaMetadata {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.name = config.get("schema.name").filter(|s| !s.is_empty()).cloned();
        self.version = match config.get("schema.version") {
            None => None,
            Some(v) => Some(v.trim().parse().map_err(|_| super::invalid("schema.version", v, "Not a number of type INT"))?),
        };
        if self.name.is_none() && self.version.is_none() {
            return Err(Error::Config("Neither schema name nor version configured".into()));
        }
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        let part = self.side.part(&record);
        let mut schema = require_schema(part.schema.as_ref(), "updating schema metadata")?.clone();
        if let Some(n) = &self.name {
            schema.name = Some(n.clone());
        }
        if let Some(v) = self.version {
            schema.version = Some(v);
        }
        let value = match &part.value {
            Value::Struct(s) => Value::Struct(Struct { schema: schema.clone(), values: s.values.clone() }),
            v => v.clone(),
        };
        Ok(Some(self.side.set(record, SchemaAndValue { schema: Some(schema), value })))
    }
}
