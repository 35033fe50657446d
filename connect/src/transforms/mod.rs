//! Single Message Transforms and predicates (Kafka's `org.apache.kafka.connect.transforms`):
//! a [`Transformation`] turns one record into another or drops it; a [`Predicate`] decides
//! whether a transformation applies. A connector's chain comes from its config, as in Kafka:
//!
//! ```properties
//! transforms=addSource,route
//! transforms.addSource.type=org.apache.kafka.connect.transforms.InsertField$Value
//! transforms.addSource.static.field=source
//! transforms.addSource.static.value=file
//! transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//! transforms.route.regex=(.*)
//! transforms.route.replacement=$1-copy
//! transforms.route.predicate=isOrders
//! transforms.route.negate=false
//! predicates=isOrders
//! predicates.isOrders.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
//! predicates.isOrders.pattern=orders.*
//! ```
//!
//! Each transformation has Kafka's class name (`InsertField$Value`, `Cast$Key`, ...), config
//! keys and error messages; values follow Connect's data model ([`Value`]), with logical types
//! as their underlying values (a `Timestamp` is an int64 of epoch milliseconds, a `Date` an int32
//! of days, a `Time` an int32 of milliseconds of the day). Where they differ from Kafka:
//! docs/connect.md.

mod cast;
mod chain;
mod extract_field;
mod hoist_field;
mod insert_field;
mod mask_field;
pub mod predicates;
mod replace_field;
mod router;
mod set_schema_metadata;
mod timestamp_converter;
mod value_to_key;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use chain::{TransformationChain, PREDICATE_CLASSES, TRANSFORMATION_CLASSES};

use crate::config::Config;
use crate::connector::ConnectRecord;
use crate::data::{Field, Schema, SchemaAndValue, SchemaType, Struct, Value};
use crate::error::{Error, Result};

/// The logical type names the transformations know (their home is the data model).
pub use crate::data::logical;

/// Kafka's `Transformation`: configured once, then applied to every record of a task.
pub trait Transformation: Send + Sync {
    /// Reads the transformation's keys (`transforms.<alias>.` stripped).
    ///
    /// # Errors
    /// [`Error::Config`] on a missing or bad key, with Kafka's message.
    fn configure(&mut self, config: &Config) -> Result<()>;

    /// The record transformed, or `None` to drop it. `sink_offset` is the Kafka offset of a
    /// sink record (`None`: a source record).
    ///
    /// # Errors
    /// [`Error::Data`] when the record does not fit the transformation (Kafka's
    /// `DataException`), with Kafka's message.
    fn apply(&self, record: ConnectRecord, sink_offset: Option<i64>) -> Result<Option<ConnectRecord>>;
}

/// Kafka's `Predicate`: a condition on a record.
pub trait Predicate: Send + Sync {
    /// Reads the predicate's keys (`predicates.<alias>.` stripped).
    ///
    /// # Errors
    /// [`Error::Config`] on a missing or bad key.
    fn configure(&mut self, config: &Config) -> Result<()>;

    /// Whether the record matches.
    fn test(&self, record: &ConnectRecord) -> bool;
}

/// Whether a `$Key` or `$Value` variant: which part of the record it works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

impl Side {
    pub(crate) fn part(self, r: &ConnectRecord) -> &SchemaAndValue {
        match self {
            Side::Key => &r.key,
            Side::Value => &r.value,
        }
    }

    pub(crate) fn set(self, mut r: ConnectRecord, data: SchemaAndValue) -> ConnectRecord {
        match self {
            Side::Key => r.key = data,
            Side::Value => r.value = data,
        }
        r
    }

    /// A `$Key` / `$Value` transformation's `apply`: the record as it is when this part's value
    /// is null (Kafka's transformations pass a tombstone through), else with the part replaced
    /// by `update(record, part)`.
    pub(crate) fn update(self, record: ConnectRecord, update: impl FnOnce(&ConnectRecord, &SchemaAndValue) -> Result<SchemaAndValue>) -> Result<Option<ConnectRecord>> {
        let part = self.part(&record);
        if part.value == Value::Null {
            return Ok(Some(record));
        }
        let updated = update(&record, part)?;
        Ok(Some(self.set(record, updated)))
    }
}

/// Java's class name of a value, as Kafka's messages print it (`java.lang.String`).
pub(crate) fn java_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
    }
}

/// Kafka's `Requirements.requireMap`: the entries of a schemaless map value.
pub(crate) fn require_map<'a>(v: &'a Value, purpose: &str) -> Result<&'a Vec<(Value, Value)>> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(Error::Data(format!("Only Map objects supported in absence of schema for [{purpose}], found: {}", java_class(other)))),
    }
}

/// Kafka's `Requirements.requireStruct`.
pub(crate) fn require_struct<'a>(v: &'a Value, purpose: &str) -> Result<&'a Struct> {
    match v {
        Value::Struct(s) => Ok(s),
        other => Err(Error::Data(format!("Only Struct objects supported for [{purpose}], found: {}", java_class(other)))),
    }
}

/// Kafka's `Requirements.requireSchema`.
pub(crate) fn require_schema<'a>(s: Option<&'a Schema>, purpose: &str) -> Result<&'a Schema> {
    s.ok_or_else(|| Error::Data(format!("Schema required for [{purpose}]")))
}

/// The value of `key` in a map with string keys.
pub(crate) fn map_get<'a>(m: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    m.iter().find(|(k, _)| matches!(k, Value::String(s) if s == key)).map(|(_, v)| v)
}

/// Sets `key` in a map (replacing its entry, else appending), as Java's `Map.put`.
pub(crate) fn map_put(m: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match m.iter_mut().find(|(k, _)| matches!(k, Value::String(s) if s == key)) {
        Some(e) => e.1 = value,
        None => m.push((Value::String(key.to_owned()), value)),
    }
}

/// Kafka's `SchemaUtil.copySchemaBasics(schema, SchemaBuilder.struct())`: a struct schema
/// with the name, version, doc and parameters of `s`, no fields, not optional.
pub(crate) fn struct_basics(s: &Schema) -> Schema {
    Schema { name: s.name.clone(), version: s.version, doc: s.doc.clone(), parameters: s.parameters.clone(), ..Schema::of(SchemaType::Struct) }
}

/// A struct value from (field, value) pairs.
pub(crate) fn make_struct(schema: Schema, values: Vec<Value>) -> Value {
    Value::Struct(Struct { schema, values })
}

/// A field by name.
pub(crate) fn field<'a>(s: &'a Schema, name: &str) -> Option<&'a Field> {
    s.fields.iter().find(|f| f.name == name)
}

/// A comma-separated list config (`fields=a,b`): trimmed, empty items dropped.
pub(crate) fn list(config: &Config, key: &str) -> Vec<String> {
    config.get(key).map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()).unwrap_or_default()
}

/// A required string config.
pub(crate) fn required<'a>(config: &'a Config, key: &str) -> Result<&'a str> {
    config.get(key).map(String::as_str).ok_or_else(|| Error::Config(format!("Missing required configuration \"{key}\" which has no default value.")))
}

/// Kafka's `ConfigException(name, value, message)` text.
pub(crate) fn invalid(key: &str, value: &str, why: &str) -> Error {
    Error::Config(format!("Invalid value {value} for configuration {key}: {why}"))
}

/// `Timestamp.SCHEMA`, optional or not.
pub(crate) fn timestamp_schema(optional: bool) -> Schema {
    let s = logical::timestamp_schema();
    if optional { s.optional() } else { s }
}

/// The stripped sub-config of a prefix (`transforms.a.` -> keys without it).
pub(crate) fn sub_config(config: &Config, prefix: &str) -> Config {
    config.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| (k.to_owned(), v.clone()))).collect::<BTreeMap<_, _>>()
}
