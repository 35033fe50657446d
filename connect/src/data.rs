//! Connect's data model: a [`Schema`] (Kafka's `org.apache.kafka.connect.data.Schema`) and the
//! dynamic [`Value`] it describes, [`Struct`] included. Logical types (Decimal, Date, ...) are
//! named schemas over their primitive type, as in Kafka: [`logical`] has the names of Date,
//! Time and Timestamp and their schemas (Decimal is [`crate::decimal`]'s); nothing here
//! interprets their values.

use std::collections::BTreeMap;
use std::fmt;

/// The type of a schema (Kafka's `Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaType {
    /// `int8`
    Int8,
    /// `int16`
    Int16,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `boolean`
    Boolean,
    /// `string`
    String,
    /// `bytes`
    Bytes,
    /// `array`
    Array,
    /// `map`
    Map,
    /// `struct`
    Struct,
}

impl SchemaType {
    /// The name Connect's JSON schemas use (`int32`, `struct`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float32",
            SchemaType::Float64 => "float64",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }

    /// The type named `name`, if any.
    pub fn from_name(name: &str) -> Option<SchemaType> {
        Some(match name {
            "int8" => SchemaType::Int8,
            "int16" => SchemaType::Int16,
            "int32" => SchemaType::Int32,
            "int64" => SchemaType::Int64,
            "float32" => SchemaType::Float32,
            "float64" => SchemaType::Float64,
            "boolean" => SchemaType::Boolean,
            "string" => SchemaType::String,
            "bytes" => SchemaType::Bytes,
            "array" => SchemaType::Array,
            "map" => SchemaType::Map,
            "struct" => SchemaType::Struct,
            _ => return None,
        })
    }
}

/// A field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// The field's schema.
    pub schema: Schema,
}

/// A Connect schema: type, optionality, name, version, doc, and the parts of the
/// container types (array items, map keys and values, struct fields).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The type.
    pub schema_type: SchemaType,
    /// Whether null is a valid value.
    pub optional: bool,
    /// The schema's name (logical types use it: `org.apache.kafka.connect.data.Decimal`).
    pub name: Option<String>,
    /// The schema's version.
    pub version: Option<i32>,
    /// Documentation.
    pub doc: Option<String>,
    /// Array items, map values.
    pub value_schema: Option<Box<Schema>>,
    /// Map keys.
    pub key_schema: Option<Box<Schema>>,
    /// Struct fields, in order.
    pub fields: Vec<Field>,
    /// Schema parameters (Kafka's `Schema.parameters()`: `scale` of a Decimal, the Avro
    /// converter's `connect.record.doc`, ...), sorted by key.
    pub parameters: BTreeMap<String, String>,
}

impl Schema {
    /// A required schema of a primitive type.
    pub fn of(schema_type: SchemaType) -> Schema {
        Schema { schema_type, optional: false, name: None, version: None, doc: None, value_schema: None, key_schema: None, fields: Vec::new(), parameters: BTreeMap::new() }
    }

    /// `Schema.STRING_SCHEMA`.
    pub fn string() -> Schema {
        Schema::of(SchemaType::String)
    }

    /// `Schema.OPTIONAL_STRING_SCHEMA`.
    pub fn optional_string() -> Schema {
        Schema::of(SchemaType::String).optional()
    }

    /// An array of `items`.
    pub fn array(items: Schema) -> Schema {
        Schema { value_schema: Some(Box::new(items)), ..Schema::of(SchemaType::Array) }
    }

    /// A map from `keys` to `values`.
    pub fn map(keys: Schema, values: Schema) -> Schema {
        Schema { key_schema: Some(Box::new(keys)), value_schema: Some(Box::new(values)), ..Schema::of(SchemaType::Map) }
    }

    /// A struct of `fields` (name, schema), in order.
    pub fn structure(fields: impl IntoIterator<Item = (impl Into<String>, Schema)>) -> Schema {
        let fields = fields.into_iter().map(|(name, schema)| Field { name: name.into(), schema }).collect();
        Schema { fields, ..Schema::of(SchemaType::Struct) }
    }

    /// This schema, optional.
    #[must_use]
    pub fn optional(mut self) -> Schema {
        self.optional = true;
        self
    }

    /// This schema, named.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Schema {
        self.name = Some(name.into());
        self
    }
}

/// A struct value: its schema and one value per field, in the schema's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// The struct's schema (type `struct`).
    pub schema: Schema,
    /// One value per field of `schema`.
    pub values: Vec<Value>,
}

impl Struct {
    /// The value of field `name`, if the schema has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let i = self.schema.fields.iter().position(|f| f.name == name)?;
        self.values.get(i)
    }
}

/// A Connect value (what Kafka passes as `Object`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// null
    Null,
    /// boolean
    Boolean(bool),
    /// int8
    Int8(i8),
    /// int16
    Int16(i16),
    /// int32
    Int32(i32),
    /// int64
    Int64(i64),
    /// float32
    Float32(f32),
    /// float64
    Float64(f64),
    /// string
    String(String),
    /// bytes
    Bytes(Vec<u8>),
    /// array
    Array(Vec<Value>),
    /// map, entries in order
    Map(Vec<(Value, Value)>),
    /// struct
    Struct(Struct),
}

impl Value {
    /// The name of the value's type as Connect's messages print it (`int32`, `struct`; `null`).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Int8(_) => "int8",
            Value::Int16(_) => "int16",
            Value::Int32(_) => "int32",
            Value::Int64(_) => "int64",
            Value::Float32(_) => "float32",
            Value::Float64(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
        }
    }
}

/// Java's `toString()` of the value, as `FileStreamSink` writes it: `null`, `Struct{id=1,name=a}`,
/// `{k=v, k2=v2}`, `[a, b]`. Bytes are written as (lossy) UTF-8 text, not Java's `[B@1b6d3586`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => write!(f, "{v:?}"),
            Value::Float64(v) => write!(f, "{v:?}"),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Struct(s) => {
                f.write_str("Struct{")?;
                let mut first = true;
                for (field, v) in s.schema.fields.iter().zip(&s.values) {
                    // Java's Struct.toString skips null fields.
                    if *v == Value::Null {
                        continue;
                    }
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    write!(f, "{}={v}", field.name)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// A record key or value with its schema (`None`: schemaless, as `JsonConverter` produces with
/// `schemas.enable=false`).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAndValue {
    /// The schema, if any.
    pub schema: Option<Schema>,
    /// The value.
    pub value: Value,
}

impl SchemaAndValue {
    /// No schema, no value (`SchemaAndValue.NULL`).
    pub fn null() -> SchemaAndValue {
        SchemaAndValue { schema: None, value: Value::Null }
    }
}

/// Logical type names (Kafka's `org.apache.kafka.connect.data.*`).
pub mod logical {
    use super::{Schema, SchemaType};

    /// `Timestamp`: int64 epoch milliseconds.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// `Date`: int32 days since the epoch.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `Time`: int32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";

    /// `Timestamp.SCHEMA`: an int64 named [`TIMESTAMP`], version 1.
    pub fn timestamp_schema() -> Schema {
        Schema { version: Some(1), ..Schema::of(SchemaType::Int64).named(TIMESTAMP) }
    }

    /// `Date.SCHEMA`: an int32 named [`DATE`], version 1.
    pub fn date_schema() -> Schema {
        Schema { version: Some(1), ..Schema::of(SchemaType::Int32).named(DATE) }
    }

    /// `Time.SCHEMA`: an int32 named [`TIME`], version 1.
    pub fn time_schema() -> Schema {
        Schema { version: Some(1), ..Schema::of(SchemaType::Int32).named(TIME) }
    }
}
