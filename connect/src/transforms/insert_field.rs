//! `InsertField$Key` / `InsertField$Value`: adds the record's topic, partition, offset (sink
//! records), timestamp and a static string as fields. A field spec ending in `!` is required,
//! in `?` (or nothing) optional. Tombstones pass unchanged.

use super::{make_struct, map_put, require_map, require_struct, struct_basics, timestamp_schema, Side, Transformation};
use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};

const PURPOSE: &str = "field insertion";

#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

fn spec(config: &Config, key: &str) -> Option<Spec> {
    let v = config.get(key)?;
    Some(if let Some(n) = v.strip_suffix('?') {
        Spec { name: n.to_owned(), optional: true }
    } else if let Some(n) = v.strip_suffix('!') {
        Spec { name: n.to_owned(), optional: false }
    } else {
        Spec { name: v.clone(), optional: true }
    })
}

#[derive(Debug)]
pub(crate) struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
}

impl InsertField {
    pub(crate) fn new(side: Side) -> InsertField {
        InsertField { side, topic: None, partition: None, offset: None, timestamp: None, static_field: None, static_value: None }
    }

    /// The (name, value, schema) of each configured field, in Kafka's order.
    fn inserts(&self, r: &ConnectRecord, sink_offset: Option<i64>) -> Result<Vec<(&Spec, Value, Schema)>> {
        let mut out = Vec::new();
        let opt = |s: Schema, spec: &Spec| if spec.optional { s.optional() } else { s };
        if let Some(s) = &self.topic {
            out.push((s, Value::String(r.topic.clone()), opt(Schema::string(), s)));
        }
        if let Some(s) = &self.partition {
            out.push((s, r.partition.map_or(Value::Null, Value::Int32), opt(Schema::of(SchemaType::Int32), s)));
        }
        if let Some(s) = &self.offset {
            let offset = sink_offset.ok_or_else(|| {
                Error::Data(format!("Only SinkRecord supported for [{PURPOSE}], found: org.apache.kafka.connect.source.SourceRecord"))
            })?;
            out.push((s, Value::Int64(offset), opt(Schema::of(SchemaType::Int64), s)));
        }
        if let Some(s) = &self.timestamp {
            out.push((s, r.timestamp.map_or(Value::Null, Value::Int64), timestamp_schema(s.optional)));
        }
        if let Some(s) = &self.static_field {
            out.push((s, self.static_value.clone().map_or(Value::Null, Value::String), opt(Schema::string(), s)));
        }
        Ok(out)
    }

    /// What [`apply`](Transformation::apply) makes of the record's key or value (not null).
    fn updated(&self, record: &ConnectRecord, part: &SchemaAndValue, sink_offset: Option<i64>) -> Result<SchemaAndValue> {
        let inserts = self.inserts(record, sink_offset)?;
        Ok(match &part.schema {
            None => {
                let mut m = require_map(&part.value, PURPOSE)?.clone();
                for (spec, v, _) in inserts {
                    // Schemaless: absent partition / timestamp / static value are not inserted.
                    if v != Value::Null {
                        map_put(&mut m, &spec.name, v);
                    }
                }
                SchemaAndValue { schema: None, value: Value::Map(m) }
            }
            Some(schema) => {
                let st = require_struct(&part.value, PURPOSE)?;
                let mut new_schema = struct_basics(schema);
                new_schema.fields = schema.fields.clone();
                let mut values = st.values.clone();
                for (spec, v, s) in inserts {
                    new_schema.fields.push(Field { name: spec.name.clone(), schema: s });
                    values.push(v);
                }
                SchemaAndValue { schema: Some(new_schema.clone()), value: make_struct(new_schema, values) }
            }
        })
    }
}

impl Transformation for InsertField {
    fn configure(&mut self, config: &Config) -> Result<()> {
        self.topic = spec(config, "topic.field");
        self.partition = spec(config, "partition.field");
        self.offset = spec(config, "offset.field");
        self.timestamp = spec(config, "timestamp.field");
        self.static_field = spec(config, "static.field");
        self.static_value = config.get("static.value").cloned();
        Ok(())
    }

    fn apply(&self, record: ConnectRecord, sink_offset: Option<i64>) -> Result<Option<ConnectRecord>> {
        self.side.update(record, |record, part| self.updated(record, part, sink_offset))
    }
}
