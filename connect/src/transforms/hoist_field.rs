//! `HoistField$Key` / `HoistField$Value`: wraps the key or value in a struct (schemaless: a
//! map) with one field, `field`.

use super::{make_struct, required, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Value};
use crate::error::Result;

#[derive(Debug)]
pub(crate) struct HoistField {
    side: Side,
    field: String,
}

impl HoistField {
    pub(crate) fn new(side: Side) -> HoistField {
        HoistField { side, field: String::new() }
    }
}

impl Transformation for HoistField {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.field = required(config, "field")?.to_owned();
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, _sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        let part = self.side.part(&record).clone();
        let updated = match part.schema {
            None => SchemaAndValue { schema: None, value: Value::Map(vec![(Value::String(self.field.clone()), part.value)]) },
            Some(s) => {
                let schema = Schema { fields: vec![Field { name: self.field.clone(), schema: s }], ..Schema::of(SchemaType::Struct) };
                SchemaAndValue { schema: Some(schema.clone()), value: make_struct(schema, vec![part.value]) }
            }
        };
        Ok(Some(self.side.set(record, updated)))
    }
}
