//! The sql-engine's integration tests, one module per area.

mod parser;
mod qtt;
