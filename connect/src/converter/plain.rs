//! The converters that read and write bytes as they are: `StringConverter` (UTF-8 text) and
//! `ByteArrayConverter`.

use std::collections::BTreeMap;

use super::api::Converter;
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};

/// `org.apache.kafka.connect.storage.StringConverter`: UTF-8 text; reads as an optional string.
#[derive(Debug, Clone, Copy, Default)]
pub struct StringConverter;

impl Converter for StringConverter {
    fn configure(&mut self, config: &BTreeMap<String, String>, _is_key: bool) -> Result<()> {
        for k in ["converter.encoding", "serializer.encoding", "deserializer.encoding"] {
            if let Some(enc) = config.get(k) {
                if !enc.eq_ignore_ascii_case("UTF8") && !enc.eq_ignore_ascii_case("UTF-8") {
                    return Err(Error::Config(format!("{k}={enc}: only UTF-8 is supported")));
                }
            }
        }
        Ok(())
    }

    fn from_connect_data(&self, _topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>> {
        Ok(match &data.value {
            Value::Null => None,
            v => Some(v.to_string().into_bytes()),
        })
    }

    fn to_connect_data(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let value = match bytes {
            None => Value::Null,
            Some(b) => Value::String(
                String::from_utf8(b.to_vec()).map_err(|e| Error::Data(format!("StringConverter: the bytes are not UTF-8: {e}")))?,
            ),
        };
        Ok(SchemaAndValue { schema: Some(Schema::optional_string()), value })
    }
}

/// `org.apache.kafka.connect.converters.ByteArrayConverter`: bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn configure(&mut self, _config: &BTreeMap<String, String>, _is_key: bool) -> Result<()> {
        Ok(())
    }

    fn from_connect_data(&self, _topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>> {
        if let Some(s) = &data.schema {
            if s.schema_type != SchemaType::Bytes {
                return Err(Error::Data(format!("Invalid schema type for ByteArrayConverter: {}", s.schema_type.name())));
            }
        }
        match &data.value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            v => Err(Error::Data(format!("ByteArrayConverter is not compatible with objects of type {}", v.type_name()))),
        }
    }

    fn to_connect_data(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue> {
        let value = bytes.map_or(Value::Null, |b| Value::Bytes(b.to_vec()));
        Ok(SchemaAndValue { schema: Some(Schema::of(SchemaType::Bytes).optional()), value })
    }
}
