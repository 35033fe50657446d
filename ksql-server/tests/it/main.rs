//! The ksqlDB REST API over real HTTP, against a server started in-process on a free port over
//! an embedded broker.

mod errors;
mod ksql;
mod push_fanout;
mod queries;
mod server;
mod support;
