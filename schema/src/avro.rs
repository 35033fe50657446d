//! Avro serdes (Confluent's `KafkaAvroSerializer` / `KafkaAvroDeserializer`): generic over
//! [`apache_avro::types::Value`], typed over serde structs.

use std::marker::PhantomData;
use std::sync::Arc;

use apache_avro::types::Value;
use apache_avro::Schema as AvroSchema;
use brook_state_store::serde::SerdeContext;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::{Schema, SchemaRegistryClient, SchemaType};
use crate::config::SerdeConfig;
use crate::error::{Error, Result};
use crate::registry::{Resolved, SchemaCache};
use crate::store_serde::registry_serde;
use crate::wire;

const FORMAT: &str = "AVRO";

/// An Avro schema parsed with the named schemas it references.
#[derive(Debug, Clone)]
pub struct ParsedAvro {
    /// The schema.
    pub schema: AvroSchema,
    /// The schemas it references (named types it uses), referenced first.
    pub references: Vec<AvroSchema>,
}

impl ParsedAvro {
    /// Parses Avro schema text that references no other schema.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when the text is not an Avro schema.
    pub fn parse(text: &str) -> Result<Self> {
        let schema = AvroSchema::parse_str(text).map_err(|e| Error::InvalidSchema(e.to_string()))?;
        Ok(Self { schema, references: Vec::new() })
    }

    /// Parses a schema fetched with its references.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when a text is not an Avro schema.
    pub fn resolved(resolved: &Resolved) -> Result<Self> {
        if resolved.references.is_empty() {
            return Self::parse(&resolved.schema.schema);
        }
        let texts: Vec<&str> = resolved.references.iter().map(|(_, s)| s.schema.as_str()).collect();
        let (schema, references) = AvroSchema::parse_str_with_list(&resolved.schema.schema, texts)
            .map_err(|e| Error::InvalidSchema(e.to_string()))?;
        Ok(Self { schema, references })
    }

    /// The full name of a named (record, enum, fixed) schema.
    #[must_use]
    pub fn full_name(&self) -> Option<String> {
        self.schema.name().map(|n| n.fullname(None))
    }

    /// Encodes `value` as an Avro datum; a value that does not match the schema as it is is
    /// resolved against it first (so `Long` fits `int` fields and plain values fit unions).
    ///
    /// # Errors
    /// [`Error::Serialize`] when the value does not match the schema.
    pub fn encode(&self, value: Value) -> Result<Vec<u8>> {
        let schemata: Vec<&AvroSchema> = self.references.iter().collect();
        let writer = apache_avro::writer::datum::GenericDatumWriter::builder(&self.schema)
            .schemata(schemata.clone())
            .and_then(|b| b.build())
            .map_err(|e| Error::serialize(FORMAT, e))?;
        // A value that already matches is written as is: apache-avro's resolution refuses
        // decimals shorter than their precision's widest encoding, which is how Java (and so
        // Confluent) writes small ones.
        let mut out = Vec::new();
        if writer.write_value_ref(&mut out, &value).is_ok() {
            return Ok(out);
        }
        // Widen decimals for the resolution, then write them minimal again.
        let value = map_decimals(value, &|bytes| sign_extend(bytes, 16));
        let value = value.resolve_schemata(&self.schema, schemata).map_err(|e| Error::serialize(FORMAT, e))?;
        let value = map_decimals(value, &minimal);
        writer.write_value_to_vec(value).map_err(|e| Error::serialize(FORMAT, e))
    }

    /// Decodes a datum written with this schema, resolved to `reader` when given.
    ///
    /// # Errors
    /// [`Error::Deserialize`] for bytes that are not a datum of this schema.
    pub fn decode(&self, mut bytes: &[u8], reader: Option<&ParsedAvro>) -> Result<Value> {
        let builder = apache_avro::reader::datum::GenericDatumReader::builder(&self.schema)
            .writer_schemata(self.references.iter().collect())
            .map_err(|e| Error::deserialize(FORMAT, e))?;
        let datum = match reader {
            Some(reader) => builder
                .reader_schema(&reader.schema)
                .reader_schemata(reader.references.iter().collect())
                .and_then(|b| b.build())
                .and_then(|r| r.read_value(&mut bytes)),
            None => builder.build().and_then(|r| r.read_value(&mut bytes)),
        }
        .map_err(|e| Error::deserialize(FORMAT, e))?;
        Ok(datum)
    }
}

/// Applies `f` to the two's complement bytes of every decimal in `value`.
fn map_decimals(value: Value, f: &dyn Fn(Vec<u8>) -> Vec<u8>) -> Value {
    match value {
        Value::Decimal(d) => match Vec::<u8>::try_from(&d) {
            Ok(bytes) => Value::Decimal(apache_avro::Decimal::from(f(bytes))),
            Err(_) => Value::Decimal(d),
        },
        Value::Union(i, inner) => Value::Union(i, Box::new(map_decimals(*inner, f))),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| map_decimals(v, f)).collect()),
        Value::Map(entries) => Value::Map(entries.into_iter().map(|(k, v)| (k, map_decimals(v, f))).collect()),
        Value::Record(fields) => Value::Record(fields.into_iter().map(|(k, v)| (k, map_decimals(v, f))).collect()),
        other => other,
    }
}

fn sign_extend(bytes: Vec<u8>, len: usize) -> Vec<u8> {
    if bytes.len() >= len {
        return bytes;
    }
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
    let mut out = vec![fill; len - bytes.len()];
    out.extend_from_slice(&bytes);
    out
}

/// The shortest two's complement encoding of the same number (Java's `BigInteger.toByteArray`),
/// as Avro decimals are written.
#[must_use]
pub fn minimal(bytes: Vec<u8>) -> Vec<u8> {
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Avro values to and from Confluent-framed bytes, through a Schema Registry.
///
/// Serializing writes the magic byte, the id of the writer's schema for the subject (registered
/// with `auto.register.schemas`, looked up otherwise, or the subject's latest with
/// `use.latest.version`), then the datum. Deserializing reads the writer's schema by id.
#[derive(Debug)]
pub struct GenericAvroSerde {
    cache: SchemaCache<ParsedAvro>,
    own: Option<(Schema, Arc<ParsedAvro>)>,
}

impl GenericAvroSerde {
    /// A serde that serializes with `schema` (Avro JSON text); `None` for a deserializer only.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when `schema` does not parse.
    pub fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig, schema: Option<&str>) -> Result<Self> {
        let own = schema.map(|text| Ok::<_, Error>((Schema::avro(text), Arc::new(ParsedAvro::parse(text)?)))).transpose()?;
        Ok(Self { cache: SchemaCache::new(client, config), own })
    }

    /// Serializes `value` for a record on `topic`, on the side [`SerdeConfig::is_key`] names.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes(&self, topic: &str, value: Value) -> Result<Vec<u8>> {
        self.to_bytes_with(&self.cache.context(topic), value)
    }

    /// Serializes `value` for the record `ctx` describes: its topic and side (key or value)
    /// name the subject.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes_with(&self, ctx: &SerdeContext<'_>, value: Value) -> Result<Vec<u8>> {
        let (schema, parsed) = self.own.as_ref().ok_or_else(|| Error::Config {
            key: "schema".to_owned(),
            reason: "this Avro serde was built without a schema to serialize with".to_owned(),
        })?;
        let (id, writer) = self.cache.writer(ctx, parsed.full_name().as_deref(), schema, parsed, ParsedAvro::resolved)?;
        let datum = writer.encode(value)?;
        let mut out = wire::header(id, datum.len());
        out.extend_from_slice(&datum);
        Ok(out)
    }

    /// Deserializes framed bytes with their writer's schema; returns the schema id too.
    ///
    /// # Errors
    /// [`Error::UnknownMagicByte`], [`Error::SchemaNotFound`], [`Error::Deserialize`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<(i32, Arc<ParsedAvro>, Value)> {
        let (id, payload) = wire::split(bytes)?;
        let writer = self.cache.by_id(id, |r| check_type(r, SchemaType::Avro).and_then(|()| ParsedAvro::resolved(r)))?;
        let value = writer.decode(payload, None)?;
        Ok((id, writer, value))
    }
}

pub(crate) fn check_type(resolved: &Resolved, expected: SchemaType) -> Result<()> {
    if resolved.schema.schema_type == expected {
        Ok(())
    } else {
        Err(Error::InvalidSchema(format!("expected a {expected} schema, the registry has a {} schema", resolved.schema.schema_type)))
    }
}

registry_serde!([] GenericAvroSerde => Value, |value| value.clone(), |(_, _, v)| v);

/// Serde structs to and from Confluent-framed Avro, with the struct's schema as the writer's
/// schema on serialize and the reader's schema on deserialize (Avro schema resolution, so a
/// record written with an older compatible schema reads).
pub struct AvroSerde<T> {
    inner: GenericAvroSerde,
    reader: Arc<ParsedAvro>,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for AvroSerde<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroSerde").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> AvroSerde<T> {
    /// A serde for `T` with Avro schema `schema`.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when `schema` does not parse.
    pub fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig, schema: &str) -> Result<Self> {
        let inner = GenericAvroSerde::new(client, config, Some(schema))?;
        let reader = inner.own.as_ref().map(|(_, p)| p.clone()).expect("schema given");
        Ok(Self { inner, reader, _type: PhantomData })
    }

    /// Serializes `value` for a record on `topic`, on the side [`SerdeConfig::is_key`] names.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes(&self, topic: &str, value: &T) -> Result<Vec<u8>> {
        self.to_bytes_with(&self.inner.cache.context(topic), value)
    }

    /// Serializes `value` for the record `ctx` describes (topic and side name the subject).
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes_with(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Vec<u8>> {
        let value = apache_avro::to_value(value).map_err(|e| Error::serialize(FORMAT, e))?;
        self.inner.to_bytes_with(ctx, value)
    }

    /// Deserializes framed bytes into `T`.
    ///
    /// # Errors
    /// [`Error::UnknownMagicByte`], [`Error::SchemaNotFound`], [`Error::Deserialize`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<T> {
        let (id, payload) = wire::split(bytes)?;
        let writer = self.inner.cache.by_id(id, ParsedAvro::resolved)?;
        let value = writer.decode(payload, Some(&self.reader))?;
        apache_avro::from_value(&value).map_err(|e| Error::deserialize(FORMAT, e))
    }
}

registry_serde!([T: Serialize + DeserializeOwned] AvroSerde<T> => T, |value| value, |v| v);
