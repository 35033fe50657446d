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

mod cached;
mod client;
mod error;
mod http;
mod memory;

pub use cached::CachedClient;
pub use client::{RegisteredSchema, Schema, SchemaReference, SchemaRegistryClient, SchemaType};
pub use error::{code, Error, Result};
pub use http::{HttpClient, HttpClientConfig};
pub use memory::MemoryClient;
