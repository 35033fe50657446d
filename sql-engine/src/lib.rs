//! ksqlDB-dialect SQL engine: parser, catalog, planner lowered to the Streams DSL.
//!
//! Layout (see ARCHITECTURE.md):
//! - [`parser`]: statement text -> [`parser::ast`] (sqlparser for expressions where it fits,
//!   ksqlDB's own clauses around it);
//! - [`value`]: [`SqlType`], [`Value`], [`Row`], [`LogicalSchema`];
//! - [`expr`]: expression type checking and evaluation; [`function`]: the function registry
//!   (scalar, aggregate, table functions and Rust UDFs);
//! - [`format`](mod@format): key and value formats (JSON, DELIMITED, KAFKA, NONE) and the serdes over them;
//! - [`Error`]: the crate's one error type.

mod error;
pub mod expr;
pub mod format;
pub mod function;
pub mod parser;
pub mod testing;
pub mod value;

pub use error::{Error, Result};
pub use value::{Column, ColumnNamespace, Decimal, LogicalSchema, Row, SqlType, Value};
