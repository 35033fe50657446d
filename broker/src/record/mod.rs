//! Kafka's v2 record batch format: headers, records, compression and batch building.

pub mod batch;

pub use batch::{BatchHeader, BATCH_HEADER_LEN};
