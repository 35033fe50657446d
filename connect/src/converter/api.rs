//! The converter API: Kafka's `org.apache.kafka.connect.storage.Converter`, which every
//! converter implements and the worker calls.

use std::collections::BTreeMap;

use crate::data::SchemaAndValue;
use crate::error::Result;

/// Turns Connect data into record bytes and back.
pub trait Converter: Send + Sync {
    /// Configures the converter; `is_key` says whether it converts keys.
    ///
    /// # Errors
    /// [`crate::Error::Config`] on a bad value.
    fn configure(&mut self, config: &BTreeMap<String, String>, is_key: bool) -> Result<()>;

    /// Connect data -> bytes (`None`: a null key or value).
    ///
    /// # Errors
    /// [`crate::Error::Data`] when the value does not fit the schema or the converter.
    fn from_connect_data(&self, topic: &str, data: &SchemaAndValue) -> Result<Option<Vec<u8>>>;

    /// Bytes -> Connect data.
    ///
    /// # Errors
    /// [`crate::Error::Data`] on bytes the converter cannot read.
    fn to_connect_data(&self, topic: &str, bytes: Option<&[u8]>) -> Result<SchemaAndValue>;
}
