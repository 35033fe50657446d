//! Source offsets of the standalone worker, in `offset.storage.file.filename`. Kafka keys each
//! offset by `[connector name, source partition]` and keeps the map as a Java-serialized
//! `HashMap` of JsonConverter bytes; Brook keeps the same keys and values as one JSON document
//! (`[[key, offset], ...]`), written to a temporary file and renamed over the old one, so a
//! crash leaves the previous version. A Kafka offsets file is not readable here (nor ours there).

use std::collections::BTreeMap;
use std::path::PathBuf;

use parking_lot::Mutex;
use serde_json::{json, Value as Json};

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
