//! ksqlDB-dialect SQL engine: parser, catalog, planner lowered to the Streams DSL.
//!
//! Layout (see ARCHITECTURE.md):
//! - [`parser`]: statement text -> [`parser::ast`] (a hand-written lexer and recursive-descent
//!   parser for ksqlDB's grammar, statements and expressions);
//! - [`value`]: [`SqlType`], [`Value`], [`Row`], [`LogicalSchema`];
//! - [`expr`]: expression type checking and evaluation; [`function`]: the function registry
//!   (scalar, aggregate, table functions and Rust UDFs);
//! - [`format`](mod@format): key and value formats (JSON, DELIMITED, KAFKA, NONE, AVRO, JSON_SR, PROTOBUF, PROTOBUF_NOSR) and the serdes over them;
//! - [`catalog`]: streams, tables, types and queries;
//! - `analyzer` and [`plan`]: a `SELECT` against the catalog -> ksqlDB execution steps;
//! - `lower`: execution steps -> a Streams DSL topology;
//! - [`cluster`]: what live mode needs from a Kafka cluster, over the embedded broker or (feature
//!   `kafka`) any Kafka-protocol cluster;
//! - [`engine`]: statements in, typed results out; persistent queries on the runtime or, in
//!   test mode, on one `TopologyTestDriver` each;
//! - [`testing`]: ksqlDB's test tooling (ksql-test-runner files, QTT cases) over the test mode;
//! - [`Error`]: the crate's one error type.

pub(crate) mod analyzer;
pub mod catalog;
pub mod cluster;
pub mod engine;
mod error;
pub mod expr;
pub mod format;
pub mod function;
pub(crate) mod lower;
pub mod parser;
pub mod plan;
pub mod testing;
pub mod value;

pub use engine::{Engine, EngineConfig, StatementResult};
pub use error::{Error, Result};
pub use value::{Column, ColumnNamespace, Decimal, LogicalSchema, Row, SqlType, Value};
