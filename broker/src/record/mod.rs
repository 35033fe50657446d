//! Kafka's v2 record batch format: headers, records, compression and batch building.

pub mod batch;
pub mod compression;
pub mod records;

pub use batch::{BatchHeader, BATCH_HEADER_LEN};
pub use compression::Compression;
pub use records::{
    control_batch, control_type, decode_batch, decode_batch_bytes, decode_batch_into, rebuild_batch,
    BatchBuilder, ControlType, Header, Record, RecordSink,
};
