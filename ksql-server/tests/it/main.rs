//! The ksqlDB REST API over real HTTP, against a server started in-process on a free port over
//! an embedded broker.

mod bad_input;
mod errors;
mod golden;
mod ksql;
mod push_fanout;
mod queries;
mod security;
mod server;
mod support;
mod ws;
