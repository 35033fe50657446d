//! Converters: Connect data <-> the bytes of a record key or value (Kafka's
//! `org.apache.kafka.connect.storage.Converter`, the [`Converter`] trait). `StringConverter`,
//! `ByteArrayConverter` and `JsonConverter`, and over a Schema Registry `AvroConverter`,
//! `JsonSchemaConverter` and `ProtobufConverter`; [`converter_by_class`] builds one by class
//! name, configured from the worker's or the connector's `key.converter.*` /
//! `value.converter.*` keys.
//!
//! Layers: the trait (`api.rs`) is a leaf; the converters import it and the JSON helpers
//! (`json.rs`); this module, the registry, imports the converters.

mod api;
pub mod avro;
mod json;
pub mod json_schema;
mod plain;
pub mod protobuf;
mod schema_registry;

pub use api::Converter;
pub use avro::AvroConverter;
pub use json::{schema_from_json, schema_to_json, DecimalFormat, JsonConverter};
pub use json_schema::JsonSchemaConverter;
pub use plain::{ByteArrayConverter, StringConverter};
pub use protobuf::ProtobufConverter;

use crate::error::{Error, Result};

/// Builds the converter of `class` (full class name or simple name).
///
/// # Errors
/// [`Error::Config`] for a class Brook does not have.
pub fn converter_by_class(class: &str) -> Result<Box<dyn Converter>> {
    let simple = class.rsplit('.').next().unwrap_or(class);
    match simple {
        "StringConverter" => Ok(Box::new(StringConverter)),
        "ByteArrayConverter" => Ok(Box::new(ByteArrayConverter)),
        "JsonConverter" => Ok(Box::new(JsonConverter::new(true))),
        "AvroConverter" => Ok(Box::<AvroConverter>::default()),
        "JsonSchemaConverter" => Ok(Box::<JsonSchemaConverter>::default()),
        "ProtobufConverter" => Ok(Box::<ProtobufConverter>::default()),
        _ => Err(Error::Config(format!(
            "unknown converter class {class:?}: Brook has org.apache.kafka.connect.storage.StringConverter, \
             org.apache.kafka.connect.converters.ByteArrayConverter, org.apache.kafka.connect.json.JsonConverter, \
             io.confluent.connect.avro.AvroConverter, io.confluent.connect.json.JsonSchemaConverter and \
             io.confluent.connect.protobuf.ProtobufConverter"
        ))),
    }
}
