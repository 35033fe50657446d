//! Source offsets of the standalone worker, in `offset.storage.file.filename`. Kafka keys each
//! offset by `[connector name, source partition]` and keeps the map as a Java-serialized
//! `HashMap` of JsonConverter bytes; Brook keeps the same keys and values as one JSON document
//! (`[[key, offset], ...]`), written to a temporary file and renamed over the old one, so a
//! crash leaves the previous version. A Kafka offsets file is not readable here (nor ours there).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value as Json};

use crate::connector::OffsetReader;
use crate::error::{Error, Result};

/// The offsets of every source connector of a worker.
#[derive(Debug)]
pub struct FileOffsetStore {
    path: PathBuf,
    /// Serialized `[name, partition]` -> offset.
    offsets: BTreeMap<String, Json>,
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
        Ok(FileOffsetStore { path, offsets })
    }

    /// Records the offset of `partition` of `connector` (in memory until [`flush`](Self::flush)).
    pub fn set(&mut self, connector: &str, partition: &Json, offset: Json) {
        self.offsets.insert(key(connector, partition), offset);
    }

    /// The stored offset of `partition` of `connector`.
    pub fn get(&self, connector: &str, partition: &Json) -> Option<Json> {
        self.offsets.get(&key(connector, partition)).cloned()
    }

    /// Writes the offsets to the file (temporary file, fsync, rename).
    ///
    /// # Errors
    /// I/O errors.
    pub fn flush(&self) -> Result<()> {
        let entries: Vec<Json> = self
            .offsets
            .iter()
            .map(|(k, v)| json!([serde_json::from_str::<Json>(k).unwrap_or(Json::Null), v]))
            .collect();
        let text = Json::Array(entries).to_string();
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

    /// A reader of `connector`'s offsets as they are now.
    pub fn reader(&self, connector: &str) -> impl OffsetReader + '_ {
        ConnectorOffsets { store: self, connector: connector.to_owned() }
    }
}

struct ConnectorOffsets<'a> {
    store: &'a FileOffsetStore,
    connector: String,
}

impl OffsetReader for ConnectorOffsets<'_> {
    fn offset(&self, partition: &Json) -> Option<Json> {
        self.store.get(&self.connector, partition)
    }
}
