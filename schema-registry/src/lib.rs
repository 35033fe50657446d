//! A Confluent-compatible Schema Registry: the REST API ([`api`]), compatibility checks for
//! Avro, JSON Schema and Protobuf ([`Compatibility`]), and storage in a compacted `_schemas`
//! topic ([`SchemaLog`], [`EmbeddedLog`]) in Confluent's record format, read fully at start so
//! ids and versions survive restarts. `brook server` serves it on port 8081.
//!
//! Where it differs from Confluent's registry: see `docs/schema-registry.md` (no leader
//! election between servers sharing a topic; stored text is the submitted one minified;
//! contexts, metadata, rule sets and the `/exporters` and `/contexts` APIs are absent).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use brook_schema_registry::{EmbeddedLog, RegistryConfig, SchemaRegistry, SchemaRequest};
//! let broker = brook_broker::Broker::open(brook_broker::BrokerConfig::new("data")).await?;
//! let log = Arc::new(EmbeddedLog::open(broker, "_schemas")?);
//! let registry = SchemaRegistry::start(log, RegistryConfig::default()).await?;
//! let id = registry.register("orders-value", &SchemaRequest::avro(r#""string""#), false).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! brook_schema_registry::serve(registry, listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

pub mod api;
mod compat;
mod error;
mod log;
mod record;
mod registry;
mod schema;
mod state;

pub use compat::Compatibility;
pub use error::{Error, Result};
pub use log::{EmbeddedLog, LogRecord, SchemaLog};
pub use registry::{Mode, Registered, RegistryConfig, SchemaRegistry, SchemaRequest, VersionSpec};
pub use schema::{Reference, SchemaType};

/// Serves the REST API of `registry` on `listener` until `shutdown` resolves.
///
/// # Errors
/// I/O errors of the listener.
///
/// # Cancel safety
/// Dropping the future closes the listener and every connection.
pub async fn serve(
    registry: SchemaRegistry,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "schema registry listening");
    axum::serve(listener, api::router(registry)).with_graceful_shutdown(shutdown).await
}
