//! [`Record`]: what processors receive and forward (Kafka's `api.Record`), and the metadata of
//! the input record being processed.

use crate::engine::Header;

/// A record flowing through a topology: key, value, timestamp and headers.
///
/// Records are immutable values; the `with_*` methods return a copy with one part replaced, as
/// Kafka's `Record.withKey` and friends do.
///
/// # Examples
/// ```
/// use brook_processor_api::Record;
/// let r = Record::new("k", 1, 10);
/// let r2 = r.clone().with_value(2).with_timestamp(20);
/// assert_eq!((*r2.key(), *r2.value(), r2.timestamp()), ("k", 2, 20));
/// assert_eq!(*r.value(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<K, V> {
    key: K,
    value: V,
    timestamp: i64,
    headers: Vec<Header>,
}

impl<K, V> Record<K, V> {
    /// A record without headers.
    pub fn new(key: K, value: V, timestamp: i64) -> Self {
        Record { key, value, timestamp, headers: Vec::new() }
    }

    /// A record with headers.
    pub fn with_all(key: K, value: V, timestamp: i64, headers: Vec<Header>) -> Self {
        Record { key, value, timestamp, headers }
    }

    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// The value.
    pub fn value(&self) -> &V {
        &self.value
    }

    /// The timestamp (ms).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The headers.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// The headers, mutably.
    pub fn headers_mut(&mut self) -> &mut Vec<Header> {
        &mut self.headers
    }

    /// The same record with another key (possibly of another type).
    pub fn with_key<K2>(self, key: K2) -> Record<K2, V> {
        Record { key, value: self.value, timestamp: self.timestamp, headers: self.headers }
    }

    /// The same record with another value (possibly of another type).
    pub fn with_value<V2>(self, value: V2) -> Record<K, V2> {
        Record { key: self.key, value, timestamp: self.timestamp, headers: self.headers }
    }

    /// The same record with another timestamp.
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The same record with other headers.
    #[must_use]
    pub fn with_headers(mut self, headers: Vec<Header>) -> Self {
        self.headers = headers;
        self
    }

    /// Key, value, timestamp and headers.
    pub fn into_parts(self) -> (K, V, i64, Vec<Header>) {
        (self.key, self.value, self.timestamp, self.headers)
    }

    /// Maps key and value, keeping timestamp and headers.
    pub fn map<K2, V2>(self, f: impl FnOnce(K, V) -> (K2, V2)) -> Record<K2, V2> {
        let (key, value) = f(self.key, self.value);
        Record { key, value, timestamp: self.timestamp, headers: self.headers }
    }
}

/// Where the record being processed came from (Kafka's `RecordMetadata`, plus the record's
/// timestamp as its log holds it); absent in punctuators and cache-flush callbacks. One type
/// with the producer's answer to a send: `brook_common::RecordMetadata`.
pub use brook_common::RecordMetadata;
