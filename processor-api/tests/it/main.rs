//! Integration tests of the Processor API, one binary: topologies, describe(), the task engine
//! and the test driver; the runtime over the embedded broker with a counting task engine of its
//! own (`runtime`); and runtime features with Processor API topologies: interactive queries,
//! global stores (the global stream thread), pattern sources, offset reset policies, instances
//! sharing a runtime or a stream-thread pool, and the Kafka client seam.

mod common;
mod describe;
mod driver;
mod global;
mod handlers;
mod harness;
#[cfg(feature = "kafka")]
mod kafka_seam;
mod many_instances;
mod offset_reset;
mod patterns;
mod punctuation;
mod queries;
mod runtime;
mod task_engine;
