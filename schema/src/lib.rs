//! Schema Registry support: the client seam, the Confluent wire format, and serdes for Avro,
//! JSON Schema and Protobuf.
//!
//! [`SchemaRegistryClient`] is what serializers need from a registry. Three implementations:
//! [`HttpClient`] (REST, blocking, for Brook's own registry in `brook server` or Confluent's),
//! [`CachedClient`] (wraps any client; schemas by id never change) and [`MemoryClient`] (tests
//! and `brook test-runner`, like Confluent's mock client).
//!
//! ```
//! use brook_schema::{MemoryClient, Schema, SchemaRegistryClient};
//!
//! let registry = MemoryClient::new();
//! let id = registry.register("orders-value", &Schema::avro(r#""string""#), false).unwrap();
//! assert_eq!(registry.latest("orders-value").unwrap().id, id);
//! ```

pub mod avro;
mod cached;
mod client;
mod config;
mod error;
mod http;
pub mod json;
mod memory;
pub mod protobuf;
mod registry;
mod store_serde;
pub mod wire;

pub use cached::CachedClient;
pub use avro::{AvroSerde, GenericAvroSerde};
pub use client::{RegisteredSchema, Schema, SchemaReference, SchemaRegistryClient, SchemaType};
pub use config::{SerdeConfig, SubjectNameStrategy};
pub use error::{code, Error, Result};
pub use http::{HttpClient, HttpClientConfig};
pub use json::{GenericJsonSchemaSerde, JsonSchemaSerde};
pub use memory::MemoryClient;
pub use protobuf::{GenericProtobufSerde, ProtobufSerde};
pub use registry::{resolve_references, Resolved};
/// What a serde is told about a record (topic, key or value, headers); `serialize_with` names
/// the subject from it.
pub use brook_state_store::SerdeContext;

/// Re-exported so callers build values with the same crate versions.
pub use {apache_avro, prost, prost_reflect, serde_json};
