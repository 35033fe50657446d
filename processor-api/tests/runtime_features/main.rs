//! Runtime features over the embedded broker with Processor API topologies: interactive
//! queries, global stores (the global stream thread), pattern sources, instances sharing a
//! runtime, and instances whose stream threads run on a pool.

mod global;
#[path = "../common/mod.rs"]
mod harness;
#[cfg(feature = "kafka")]
mod kafka_seam;
mod many_instances;
mod offset_reset;
mod patterns;
mod queries;
