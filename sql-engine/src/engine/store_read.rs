//! Reads of a query's state stores, as both runtimes answer them (the test drivers in test
//! mode, interactive queries over `KafkaStreams` in live mode) and pull queries ask them.

use bytes::Bytes;

/// A read of a state store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StoreRead {
    /// A key-value store: the entries of these keys (`None`: every entry).
    KeyValue(Option<Vec<Vec<u8>>>),
    /// A window store: the windows of these keys (`None`: every key) starting in `[from, to]`.
    Window { keys: Option<Vec<Vec<u8>>>, from: i64, to: i64 },
    /// A session store: the sessions of these keys (`None`: every key) ending at or after
    /// `earliest_end` and starting at or before `latest_start`.
    Session { keys: Option<Vec<Vec<u8>>>, earliest_end: i64, latest_start: i64 },
}

/// One entry a [`StoreRead`] found: the key bytes, the window (windowed stores; a time
/// window's end is its start, the store does not keep it) and the value bytes.
#[derive(Debug, Clone)]
pub(crate) struct StoreEntry {
    pub(crate) key: Bytes,
    pub(crate) window: Option<(i64, i64)>,
    pub(crate) value: Bytes,
}

/// The kind of store a materialization reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    KeyValue,
    /// Time windows of this size.
    Window(i64),
    Session,
}
