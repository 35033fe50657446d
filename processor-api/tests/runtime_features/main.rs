//! Runtime features over the embedded broker with Processor API topologies: interactive
//! queries, global stores (the global stream thread), pattern sources and instances sharing a
//! runtime.

mod global;
#[path = "../common/mod.rs"]
mod harness;
#[cfg(feature = "kafka")]
mod kafka_seam;
mod offset_reset;
mod patterns;
mod queries;
mod shared_runtime;
