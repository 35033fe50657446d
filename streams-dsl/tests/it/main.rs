//! Integration tests of the Streams DSL: every operation through the TopologyTestDriver, and
//! `describe()` compared with what Kafka Streams prints for the same programs.

mod aggregate;
mod common;
mod describe;
mod joins;
mod runtime;
mod serde_context;
mod stateless;
mod tables;
mod windowed;
