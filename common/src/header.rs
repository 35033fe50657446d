//! The record header, shared by the broker (record batches), the runtime (records) and the
//! serdes (which see the headers of the record they (de)serialize).

use bytes::Bytes;

/// A record header: a string key and an optional byte value (Kafka's `Header`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Header value; `None` is Kafka's null.
    pub value: Option<Bytes>,
}
