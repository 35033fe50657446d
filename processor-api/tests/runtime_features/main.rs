//! Runtime features over the embedded broker with Processor API topologies: interactive
//! queries, global stores (the global stream thread) and pattern sources.

mod global;
mod harness;
mod patterns;
mod queries;
#[cfg(feature = "kafka")]
mod kafka_seam;
