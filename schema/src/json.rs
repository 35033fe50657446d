//! JSON Schema serdes (Confluent's `KafkaJsonSchemaSerializer` / `-Deserializer`): generic over
//! [`serde_json::Value`], typed over serde structs. Values are validated against the schema on
//! serialize, as Confluent's serializer does; the payload is compact JSON text (as Java's
//! Jackson writes it).

use std::marker::PhantomData;
use std::sync::Arc;

use brook_state_store::serde::SerdeContext;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::avro::check_type;
use crate::client::{Schema, SchemaRegistryClient, SchemaType};
use crate::config::SerdeConfig;
use crate::error::{Error, Result};
use crate::registry::{Resolved, SchemaCache};
use crate::store_serde::registry_serde;
use crate::wire;

const FORMAT: &str = "JSON";

/// A JSON Schema, parsed and compiled to a validator.
pub struct ParsedJson {
    /// The schema document.
    pub schema: serde_json::Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for ParsedJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedJson").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl ParsedJson {
    /// Parses and compiles JSON Schema text.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when the text is not JSON or not a valid schema.
    pub fn parse(text: &str) -> Result<Self> {
        let schema: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::InvalidSchema(e.to_string()))?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| Error::InvalidSchema(e.to_string()))?;
        Ok(Self { schema, validator })
    }

    fn resolved(resolved: &Resolved) -> Result<Self> {
        check_type(resolved, SchemaType::Json)?;
        Self::parse(&resolved.schema.schema)
    }

    /// The schema's `title`, its record name for the subject name strategies.
    #[must_use]
    pub fn title(&self) -> Option<&str> {
        self.schema.get("title").and_then(serde_json::Value::as_str)
    }

    /// Checks `value` against the schema.
    ///
    /// # Errors
    /// [`Error::Serialize`] naming the first violation.
    pub fn validate(&self, value: &serde_json::Value) -> Result<()> {
        self.validator.validate(value).map_err(|e| Error::serialize(FORMAT, format!("{e} at {}", e.instance_path)))
    }
}

/// JSON values to and from Confluent-framed JSON Schema records.
#[derive(Debug)]
pub struct GenericJsonSchemaSerde {
    cache: SchemaCache<ParsedJson>,
    own: Option<(Schema, Arc<ParsedJson>)>,
}

impl GenericJsonSchemaSerde {
    /// A serde that serializes with `schema` (JSON Schema text); `None` for a deserializer only.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when `schema` does not parse.
    pub fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig, schema: Option<&str>) -> Result<Self> {
        let own = schema.map(|text| Ok::<_, Error>((Schema::json(text), Arc::new(ParsedJson::parse(text)?)))).transpose()?;
        Ok(Self { cache: SchemaCache::new(client, config), own })
    }

    /// Validates and serializes `value` for a record on `topic`, on the side
    /// [`SerdeConfig::is_key`] names.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`] when the value breaks the schema.
    pub fn to_bytes(&self, topic: &str, value: &serde_json::Value) -> Result<Vec<u8>> {
        self.to_bytes_with(&self.cache.context(topic), value)
    }

    /// Validates and serializes `value` for the record `ctx` describes (topic and side name
    /// the subject).
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`] when the value breaks the schema.
    pub fn to_bytes_with(&self, ctx: &SerdeContext<'_>, value: &serde_json::Value) -> Result<Vec<u8>> {
        let (id, writer) = self.writer_for(ctx)?;
        writer.validate(value)?;
        let text = serde_json::to_vec(value).map_err(|e| Error::serialize(FORMAT, e))?;
        let mut out = wire::header(id, text.len());
        out.extend_from_slice(&text);
        Ok(out)
    }

    fn writer_for(&self, ctx: &SerdeContext<'_>) -> Result<(i32, Arc<ParsedJson>)> {
        let (schema, parsed) = self.own.as_ref().ok_or_else(|| Error::Config {
            key: "schema".to_owned(),
            reason: "this JSON Schema serde was built without a schema to serialize with".to_owned(),
        })?;
        self.cache.writer(ctx, parsed.title(), schema, parsed, ParsedJson::resolved)
    }

    /// Deserializes framed bytes; returns the schema id and its parsed schema too.
    ///
    /// # Errors
    /// [`Error::UnknownMagicByte`], [`Error::SchemaNotFound`], [`Error::Deserialize`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<(i32, Arc<ParsedJson>, serde_json::Value)> {
        let (id, payload) = wire::split(bytes)?;
        let schema = self.cache.by_id(id, ParsedJson::resolved)?;
        let value = serde_json::from_slice(payload).map_err(|e| Error::deserialize(FORMAT, e))?;
        Ok((id, schema, value))
    }
}

registry_serde!([] GenericJsonSchemaSerde => serde_json::Value, |value| value, |(_, _, v)| v);

/// Serde structs to and from Confluent-framed JSON Schema records.
pub struct JsonSchemaSerde<T> {
    inner: GenericJsonSchemaSerde,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for JsonSchemaSerde<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchemaSerde").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> JsonSchemaSerde<T> {
    /// A serde for `T` with JSON Schema `schema`.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when `schema` does not parse.
    pub fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig, schema: &str) -> Result<Self> {
        Ok(Self { inner: GenericJsonSchemaSerde::new(client, config, Some(schema))?, _type: PhantomData })
    }

    /// Validates and serializes `value` for a record on `topic`, on the side
    /// [`SerdeConfig::is_key`] names.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes(&self, topic: &str, value: &T) -> Result<Vec<u8>> {
        self.to_bytes_with(&self.inner.cache.context(topic), value)
    }

    /// Validates and serializes `value` for the record `ctx` describes (topic and side name
    /// the subject).
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes_with(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Vec<u8>> {
        // Validate the value tree, but write `T` itself so fields keep their declared order.
        let tree = serde_json::to_value(value).map_err(|e| Error::serialize(FORMAT, e))?;
        let (id, writer) = self.inner.writer_for(ctx)?;
        writer.validate(&tree)?;
        let text = serde_json::to_vec(value).map_err(|e| Error::serialize(FORMAT, e))?;
        let mut out = wire::header(id, text.len());
        out.extend_from_slice(&text);
        Ok(out)
    }

    /// Deserializes framed bytes into `T`.
    ///
    /// # Errors
    /// [`Error::UnknownMagicByte`], [`Error::SchemaNotFound`], [`Error::Deserialize`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<T> {
        let (_, _, value) = self.inner.from_bytes(bytes)?;
        serde_json::from_value(value).map_err(|e| Error::deserialize(FORMAT, e))
    }
}

registry_serde!([T: Serialize + DeserializeOwned] JsonSchemaSerde<T> => T, |value| value, |v| v);
