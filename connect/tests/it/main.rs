//! brook-connect integration tests: converters (golden envelopes), plugins, FileStream
//! connectors through the standalone worker over a real embedded broker and real files, the
//! PostgreSQL connectors against a real PostgreSQL server.

mod converters;
mod avro;
mod schema_converters;
mod datagen;
mod distributed;
mod exactly_once;
mod herder;
mod postgres;
mod rest;
mod sink_offsets;
mod standalone;
mod transforms;
