//! Kafka Connect on Brook, its first layer: the connector API ([`ConnectorBase`], what every
//! connector does; [`SourceConnector`] / [`SourceTask`], [`SinkConnector`] / [`SinkTask`]) over
//! Connect's data model ([`Schema`], [`Value`], [`Struct`]; [`decimal`] for the Decimal logical
//! type), the converters ([`converter`]: `StringConverter`, `ByteArrayConverter`,
//! `JsonConverter`, and over a Schema Registry `AvroConverter`, `JsonSchemaConverter`,
//! `ProtobufConverter`), the `FileStreamSource` / `FileStreamSink` connectors, the PostgreSQL
//! connectors ([`postgres`]: Confluent's JDBC sink and source), the `datagen` connector
//! ([`datagen`]), a plugin registry by class name, the [`Herder`] that manages a worker's
//! connectors (the standalone one over the embedded broker), and the worker running their
//! tasks through the [`transforms`] chain and the [`error_handling`] (`errors.tolerance`, dead
//! letter queue); the distributed herder ([`distributed`]) runs a group of workers
//! (docs/connect.md).
//!
//! ```
//! use brook_connect::converter::{Converter, JsonConverter};
//! use brook_connect::data::{Schema, SchemaAndValue, Value};
//!
//! let json = JsonConverter::new(true);
//! let line = SchemaAndValue { schema: Some(Schema::string()), value: Value::String("hello".into()) };
//! let bytes = json.from_connect_data("t", &line).unwrap().unwrap();
//! assert_eq!(bytes, br#"{"schema":{"type":"string","optional":false},"payload":"hello"}"#);
//! assert_eq!(json.to_connect_data("t", Some(&bytes)).unwrap(), line);
//! ```

pub mod clients;
pub mod config;
pub mod connector;
pub mod converter;
pub mod data;
pub mod datagen;
pub mod decimal;
pub mod distributed;
pub mod error;
pub mod error_handling;
pub mod exactly_once;
pub mod file;
pub mod herder;
pub mod offsets;
pub mod plugins;
pub mod postgres;
pub mod rest;
pub mod standalone;
pub mod transforms;
pub mod worker;

/// The Schema Registry converters under their former paths (`brook_connect::converter_avro::AvroConverter`).
pub use converter::{avro as converter_avro, json_schema as converter_json_schema, protobuf as converter_protobuf};
pub use config::Config;
pub use connector::{ConnectRecord, Connector, ConnectorBase, Header, OffsetReader, SinkConnector, SinkRecord, SinkTask, SourceConnector, SourceRecord, SourceTask};
pub use data::{Schema, SchemaAndValue, SchemaType, Struct, Value};
pub use error::{Error, Result};
pub use plugins::Plugins;
pub use herder::Herder;
pub use standalone::{StandaloneHerder, StandaloneWorker, WorkerConfig};
pub use worker::Worker;
pub use clients::Clients;
pub use distributed::{DistributedConfig, DistributedHerder};
