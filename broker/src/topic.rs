//! Topics: Kafka's naming rules, and the topic catalog persisted in the data directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use crate::config::TopicConfig;
use crate::error::{Error, Result};
use crate::partition::Partition;

/// The compacted topic holding committed consumer offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// The topic holding transaction coordinator state.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// The longest legal topic name.
pub const MAX_NAME_LEN: usize = 249;

/// Checks a topic name against Kafka's `Topic.validate`: 1 to 249 characters of
/// `[a-zA-Z0-9._-]`, and not `.` or `..`.
///
/// # Errors
/// [`Error::InvalidTopic`] naming the rule that was broken.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidTopic("topic name is illegal, it can't be empty".into()));
    }
    if name == "." || name == ".." {
        return Err(Error::InvalidTopic(format!(
            "topic name cannot be \"{name}\""
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::InvalidTopic(format!(
            "topic name is illegal, it can't be longer than {MAX_NAME_LEN} characters, topic name: {name}"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Error::InvalidTopic(format!(
            "topic name {name:?} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-' ({bad:?})"
        )));
    }
    Ok(())
}

/// Whether the name is one of Kafka's internal topics.
pub fn is_internal(name: &str) -> bool {
    name == OFFSETS_TOPIC || name == TRANSACTION_STATE_TOPIC
}

/// Whether a name mixes `.` and `_`, which Kafka warns about because metric names collide.
pub fn has_collision_chars(name: &str) -> bool {
    name.contains('.') || name.contains('_')
}

/// The form under which two names collide: `.` replaced by `_`.
pub fn unify_collision_chars(name: &str) -> String {
    name.replace('.', "_")
}

/// What the catalog file records per topic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct TopicMeta {
    pub(crate) name: String,
    pub(crate) id: [u8; 16],
    pub(crate) partitions: i32,
    pub(crate) configs: BTreeMap<String, String>,
}

/// A topic: its metadata, effective config, and partitions.
#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) name: String,
    pub(crate) id: [u8; 16],
    pub(crate) overrides: RwLock<BTreeMap<String, String>>,
    pub(crate) config: RwLock<TopicConfig>,
    pub(crate) partitions: RwLock<Vec<Arc<Partition>>>,
    /// Notified on every append to one of the partitions ([`crate::Broker::watch_topics`]).
    pub(crate) changes: Arc<crate::changes::ChangeSignal>,
}

impl Topic {
    pub(crate) fn meta(&self) -> TopicMeta {
        TopicMeta {
            name: self.name.clone(),
            id: self.id,
            partitions: self.partitions.read().len() as i32,
            configs: self.overrides.read().clone(),
        }
    }

    pub(crate) fn partition(&self, p: i32) -> Option<Arc<Partition>> {
        usize::try_from(p)
            .ok()
            .and_then(|p| self.partitions.read().get(p).cloned())
    }

    pub(crate) fn is_internal(&self) -> bool {
        is_internal(&self.name)
    }
}

/// The directory of one partition: `<log.dirs>/<topic>-<partition>`.
pub(crate) fn partition_dir(root: &Path, topic: &str, partition: i32) -> PathBuf {
    root.join(format!("{topic}-{partition}"))
}

const CATALOG: &str = "brook-topics.json";

/// Reads the topic catalog; a missing file is an empty catalog.
pub(crate) fn load_catalog(root: &Path) -> Result<Vec<TopicMeta>> {
    let path = root.join(CATALOG);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::storage(
                format!("reading {}", path.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::storage(format!("reading {}", path.display()), e)),
    }
}

/// Writes the topic catalog atomically (temp file, fsync, rename, fsync of the directory).
pub(crate) fn store_catalog(root: &Path, topics: &[TopicMeta]) -> Result<()> {
    let json = serde_json::to_vec_pretty(topics).map_err(|e| {
        Error::storage("encoding topic catalog", std::io::Error::other(e))
    })?;
    write_atomically(root, CATALOG, &json)
}

/// Writes `name` under `root` through a temp file and a rename, fsyncing both.
pub(crate) fn write_atomically(root: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = root.join(format!("{name}.tmp"));
    let ctx = |what: &str| format!("{what} {}", tmp.display());
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::storage(ctx("creating"), e))?;
    f.write_all(bytes).map_err(|e| Error::storage(ctx("writing"), e))?;
    f.sync_all().map_err(|e| Error::storage(ctx("syncing"), e))?;
    std::fs::rename(&tmp, root.join(name)).map_err(|e| Error::storage(ctx("renaming"), e))?;
    if let Ok(dir) = std::fs::File::open(root) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_name_rules() {
        for ok in ["a", "orders", "my.topic-1_x", &"x".repeat(249), OFFSETS_TOPIC] {
            validate_name(ok).unwrap();
        }
        for bad in ["", ".", "..", "has space", "ümlaut", "a/b", &"x".repeat(250)] {
            assert!(matches!(validate_name(bad), Err(Error::InvalidTopic(_))), "{bad:?}");
        }
        assert_eq!(unify_collision_chars("a.b_c"), "a_b_c");
        assert!(is_internal(TRANSACTION_STATE_TOPIC));
        assert!(!is_internal("orders"));
    }

    #[test]
    fn catalog_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_catalog(dir.path()).unwrap().is_empty());
        let metas = vec![TopicMeta {
            name: "t".into(),
            id: [7; 16],
            partitions: 3,
            configs: BTreeMap::from([("cleanup.policy".into(), "compact".into())]),
        }];
        store_catalog(dir.path(), &metas).unwrap();
        assert_eq!(load_catalog(dir.path()).unwrap(), metas);
        std::fs::write(dir.path().join(CATALOG), b"{not json").unwrap();
        assert!(matches!(load_catalog(dir.path()), Err(Error::Storage { .. })));
    }
}
