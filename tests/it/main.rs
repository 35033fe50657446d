//! Integration tests: real Kafka clients and the `brook` CLI against an in-process server.

mod cli;
mod kcat;
mod python;
mod rdkafka_clients;
mod util;
mod streams_crash;
mod structure;
