//! The registry client seam: schema types and [`SchemaRegistryClient`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The kind of a registered schema (`schemaType` in the REST API; absent means AVRO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    /// Apache Avro (the default).
    #[default]
    Avro,
    /// JSON Schema.
    Json,
    /// Protocol Buffers (`.proto` text).
    Protobuf,
}

impl SchemaType {
    /// The REST API's name: `AVRO`, `JSON` or `PROTOBUF`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avro => "AVRO",
            Self::Json => "JSON",
            Self::Protobuf => "PROTOBUF",
        }
    }

    fn is_avro(&self) -> bool {
        *self == Self::Avro
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SchemaType {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(Self::Avro),
            "JSON" => Ok(Self::Json),
            "PROTOBUF" => Ok(Self::Protobuf),
            _ => Err(crate::Error::InvalidSchema(format!("unknown schema type {s:?}"))),
        }
    }
}

/// A reference from one schema to another registered schema (an Avro named type, a JSON `$ref`,
/// a Protobuf `import`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaReference {
    /// The name the referring schema uses (Avro full name, JSON URL, `.proto` import path).
    pub name: String,
    /// The subject the referenced schema is registered under.
    pub subject: String,
    /// Its version in that subject.
    pub version: i32,
}

/// A schema as sent to and read from the registry: its type, text and references.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schema {
    /// AVRO, JSON or PROTOBUF.
    #[serde(rename = "schemaType", default, skip_serializing_if = "SchemaType::is_avro")]
    pub schema_type: SchemaType,
    /// The schema text (Avro JSON, JSON Schema, `.proto`).
    pub schema: String,
    /// The schemas it references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
}

impl Schema {
    /// A schema of `schema_type` without references.
    #[must_use]
    pub fn new(schema_type: SchemaType, schema: impl Into<String>) -> Self {
        Self { schema_type, schema: schema.into(), references: Vec::new() }
    }

    /// An Avro schema.
    #[must_use]
    pub fn avro(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Avro, schema)
    }

    /// A JSON Schema.
    #[must_use]
    pub fn json(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Json, schema)
    }

    /// A Protobuf schema (`.proto` text).
    #[must_use]
    pub fn protobuf(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Protobuf, schema)
    }
}

/// A schema registered under a subject: what `GET /subjects/{s}/versions/{v}` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredSchema {
    /// The global schema id (the 4 bytes after the magic byte).
    pub id: i32,
    /// The subject.
    pub subject: String,
    /// The version within the subject, from 1.
    pub version: i32,
    /// The schema.
    #[serde(flatten)]
    pub schema: Schema,
}

/// What serializers and deserializers need from a Schema Registry.
///
/// Calls are synchronous: serdes run on stream threads, which are OS threads. The HTTP client
/// ([`HttpClient`](crate::HttpClient)) blocks without a runtime of its own, so it may be called
/// from any thread, a tokio worker included (where it blocks that worker for the request).
pub trait SchemaRegistryClient: Send + Sync + fmt::Debug {
    /// Registers `schema` under `subject` and returns its id; registering a schema the subject
    /// already has returns the existing id. `normalize` asks the registry to normalize the schema
    /// first (`?normalize=true`).
    ///
    /// # Errors
    /// [`Error::Incompatible`](crate::Error::Incompatible), [`Error::InvalidSchema`](crate::Error::InvalidSchema),
    /// transport errors.
    fn register(&self, subject: &str, schema: &Schema, normalize: bool) -> Result<i32>;

    /// The schema with global id `id`.
    ///
    /// # Errors
    /// [`Error::SchemaNotFound`](crate::Error::SchemaNotFound), transport errors.
    fn schema_by_id(&self, id: i32) -> Result<Schema>;

    /// The latest version registered under `subject`.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`](crate::Error::SubjectNotFound), transport errors.
    fn latest(&self, subject: &str) -> Result<RegisteredSchema>;

    /// Version `version` of `subject`.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`](crate::Error::SubjectNotFound),
    /// [`Error::VersionNotFound`](crate::Error::VersionNotFound), transport errors.
    fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema>;

    /// The registration of `schema` under `subject`, without registering it.
    ///
    /// # Errors
    /// [`Error::SubjectNotFound`](crate::Error::SubjectNotFound),
    /// [`Error::SchemaNotFound`](crate::Error::SchemaNotFound), transport errors.
    fn lookup(&self, subject: &str, schema: &Schema) -> Result<RegisteredSchema>;
}

impl<C: SchemaRegistryClient + ?Sized> SchemaRegistryClient for std::sync::Arc<C> {
    fn register(&self, subject: &str, schema: &Schema, normalize: bool) -> Result<i32> {
        (**self).register(subject, schema, normalize)
    }
    fn schema_by_id(&self, id: i32) -> Result<Schema> {
        (**self).schema_by_id(id)
    }
    fn latest(&self, subject: &str) -> Result<RegisteredSchema> {
        (**self).latest(subject)
    }
    fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema> {
        (**self).version(subject, version)
    }
    fn lookup(&self, subject: &str, schema: &Schema) -> Result<RegisteredSchema> {
        (**self).lookup(subject, schema)
    }
}
