//! Source offsets. Kafka keys each offset by `[connector name, source partition]`.
//!
//! - The standalone worker keeps them in `offset.storage.file.filename` ([`FileOffsetStore`]):
//!   Kafka keeps the map as a Java-serialized `HashMap` of JsonConverter bytes; Brook keeps the
//!   same keys and values as one JSON document (`[[key, offset], ...]`), written to a temporary
//!   file and renamed over the old one, so a crash leaves the previous version. A Kafka offsets
//!   file is not readable here (nor ours there).
//! - The distributed worker keeps them in `offset.storage.topic` ([`TopicOffsetStore`], Kafka's
//!   `KafkaOffsetBackingStore`): every worker reads the whole topic (compacted: the last record
//!   per key wins) before it starts source tasks, so a task that moves to another worker, or a
//!   restarted one, resumes from the offset last flushed; `flush` produces the offsets set since
//!   the last flush and waits for them. Under exactly-once source support the topic is read
//!   `read_committed` and the tasks write their offsets themselves, in their transactions
//!   (`crate::exactly_once`); a connector's own `offsets.storage.topic` is another such store.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use brook_processor_api::runtime::StreamsProducer;
use brook_processor_api::OutputRecord;
use parking_lot::Mutex;
use serde_json::{json, Value as Json};

use crate::clients::{Clients, TopicReader};
use crate::connector::OffsetReader;
use crate::error::{Error, Result};

/// Where a worker keeps its source connectors' offsets: a file (standalone) or a compacted
/// topic (distributed). Keyed by connector name and source partition; writes are buffered until
/// [`flush`](OffsetStore::flush).
pub trait OffsetStore: Send + Sync + std::fmt::Debug {
    /// The stored offset of `partition` of `connector`.
    fn get(&self, connector: &str, partition: &Json) -> Option<Json>;
    /// Records the offset of `partition` of `connector` (`None` removes it).
    fn set(&self, connector: &str, partition: &Json, offset: Option<Json>);
    /// Makes what was set durable.
    ///
    /// # Errors
    /// I/O or broker errors.
    fn flush(&self) -> Result<()>;
    /// Every `(partition, offset)` of `connector`.
    fn connector_offsets(&self, connector: &str) -> Vec<(Json, Json)>;
    /// Reads what other workers stored since the last read. Default: nothing to read (a file
    /// only this worker writes).
    ///
    /// # Errors
    /// Client errors.
    fn refresh(&self) -> Result<()> {
        Ok(())
    }
}

/// The offsets of every source connector of a standalone worker, in one file.
#[derive(Debug)]
pub struct FileOffsetStore {
    path: PathBuf,
    /// Serialized `[name, partition]` -> offset.
    offsets: Mutex<BTreeMap<String, Json>>,
}

fn key(connector: &str, partition: &Json) -> String {
    json!([connector, partition]).to_string()
}

/// An offset record's key: `["<connector>",{partition}]`, as Kafka writes it.
pub(crate) fn offset_key(connector: &str, partition: &Json) -> Vec<u8> {
    key(connector, partition).into_bytes()
}

impl FileOffsetStore {
    /// Loads `path` (missing: no offsets yet).
    ///
    /// # Errors
    /// An unreadable file, or one that is not an offsets document.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileOffsetStore> {
        let path = path.into();
        let mut offsets = BTreeMap::new();
        match std::fs::read(&path) {
            Ok(bytes) if bytes.is_empty() => {}
            Ok(bytes) => {
                let bad = || Error::Config(format!("{}: not a Brook offsets file (expected [[key, offset], ...])", path.display()));
                let doc: Json = serde_json::from_slice(&bytes).map_err(|_| bad())?;
                for entry in doc.as_array().ok_or_else(bad)? {
                    match entry.as_array().map(Vec::as_slice) {
                        Some([k, v]) => {
                            offsets.insert(k.to_string(), v.clone());
                        }
                        _ => return Err(bad()),
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(path.display(), e)),
        }
        Ok(FileOffsetStore { path, offsets: Mutex::new(offsets) })
    }
}

impl OffsetStore for FileOffsetStore {
    fn get(&self, connector: &str, partition: &Json) -> Option<Json> {
        self.offsets.lock().get(&key(connector, partition)).cloned()
    }

    fn set(&self, connector: &str, partition: &Json, offset: Option<Json>) {
        let mut offsets = self.offsets.lock();
        match offset {
            Some(o) => offsets.insert(key(connector, partition), o),
            None => offsets.remove(&key(connector, partition)),
        };
    }

    /// Writes the offsets to the file (temporary file, fsync, rename).
    fn flush(&self) -> Result<()> {
        let text = {
            let offsets = self.offsets.lock();
            let entries: Vec<Json> =
                offsets.iter().map(|(k, v)| json!([serde_json::from_str::<Json>(k).unwrap_or(Json::Null), v])).collect();
            Json::Array(entries).to_string()
        };
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| Error::io(self.path.display(), e))
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(Json, Json)> {
        self.offsets
            .lock()
            .iter()
            .filter_map(|(k, v)| Some((partition_of(k.as_bytes(), connector)?, v.clone())))
            .collect()
    }
}

/// The source partition of an offset key `["<connector>",{partition}]` (serialized JSON), when
/// the key is `connector`'s.
pub(crate) fn partition_of(key: &[u8], connector: &str) -> Option<Json> {
    match serde_json::from_slice::<Json>(key).ok()?.as_array()?.as_slice() {
        [Json::String(name), partition] if name == connector => Some(partition.clone()),
        _ => None,
    }
}

/// The offsets of every source connector of a distributed worker's group, in a compacted topic
/// (the worker's `offset.storage.topic`, or a connector's own).
pub struct TopicOffsetStore {
    topic: Arc<str>,
    /// Serialized `["<connector>",{partition}]` -> offset.
    offsets: Mutex<BTreeMap<Vec<u8>, Json>>,
    pending: Mutex<BTreeMap<Vec<u8>, Option<Json>>>,
    producer: Mutex<Box<dyn StreamsProducer>>,
    reader: Mutex<TopicReader>,
}

impl std::fmt::Debug for TopicOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicOffsetStore").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl TopicOffsetStore {
    /// The store of `topic` (which must exist); `read_committed` under exactly-once source
    /// support, so that offsets of aborted transactions are never read.
    ///
    /// # Errors
    /// Client errors making its producer or reader.
    pub(crate) fn new(clients: &Clients, topic: &str, client_id: &str, read_committed: bool) -> Result<TopicOffsetStore> {
        Ok(TopicOffsetStore {
            topic: Arc::from(topic),
            offsets: Mutex::default(),
            pending: Mutex::default(),
            producer: Mutex::new(clients.producer(format!("{client_id}-offsets"))?),
            reader: Mutex::new(clients.reader_with(format!("{client_id}-offsets-reader"), read_committed)?),
        })
    }

    /// The topic.
    pub(crate) fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// Records offsets a task committed in its own transaction (no write needed).
    pub(crate) fn committed(&self, offsets: &BTreeMap<Vec<u8>, Json>) {
        let mut have = self.offsets.lock();
        for (k, v) in offsets {
            have.insert(k.clone(), v.clone());
        }
    }
}

impl OffsetStore for TopicOffsetStore {
    fn get(&self, connector: &str, partition: &Json) -> Option<Json> {
        let k = offset_key(connector, partition);
        if let Some(p) = self.pending.lock().get(&k) {
            return p.clone();
        }
        self.offsets.lock().get(&k).cloned()
    }

    fn set(&self, connector: &str, partition: &Json, offset: Option<Json>) {
        self.pending.lock().insert(offset_key(connector, partition), offset);
    }

    fn flush(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock());
        if pending.is_empty() {
            return Ok(());
        }
        let mut producer = self.producer.lock();
        for (k, v) in &pending {
            producer.send(offset_record(&self.topic, k.clone(), v.as_ref()))?;
        }
        producer.flush()?;
        let mut offsets = self.offsets.lock();
        for (k, v) in pending {
            match v {
                Some(v) => offsets.insert(k, v),
                None => offsets.remove(&k),
            };
        }
        Ok(())
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(Json, Json)> {
        self.offsets
            .lock()
            .iter()
            .filter_map(|(k, v)| Some((partition_of(k, connector)?, v.clone())))
            .collect()
    }

    fn refresh(&self) -> Result<()> {
        let mut offsets = self.offsets.lock();
        self.reader.lock().read_to_end(&self.topic, &mut |r| {
            let Some(k) = r.key.as_ref() else { return };
            match r.value.as_deref().map(serde_json::from_slice::<Json>) {
                Some(Ok(v)) => {
                    offsets.insert(k.to_vec(), v);
                }
                None => {
                    offsets.remove(k.as_ref());
                }
                Some(Err(_)) => tracing::warn!("skipping an offset record that is not JSON"),
            }
        })?;
        Ok(())
    }
}

/// An offset record of `topic`: key `["<connector>",{partition}]`, the offset as JSON (`None`:
/// a tombstone).
pub(crate) fn offset_record(topic: &Arc<str>, key: Vec<u8>, offset: Option<&Json>) -> OutputRecord {
    OutputRecord {
        topic: topic.clone(),
        partition: None,
        key: Some(key.into()),
        value: offset.map(|v| v.to_string().into_bytes().into()),
        timestamp: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64),
        headers: Vec::new(),
    }
}

/// The [`OffsetReader`] of one connector over an [`OffsetStore`].
#[derive(Debug)]
pub struct ConnectorOffsetReader<'a> {
    /// The store.
    pub store: &'a dyn OffsetStore,
    /// The connector.
    pub connector: &'a str,
}

impl OffsetReader for ConnectorOffsetReader<'_> {
    fn offset(&self, partition: &Json) -> Option<Json> {
        self.store.get(self.connector, partition)
    }
}
