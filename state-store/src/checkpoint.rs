//! The checkpoint file of a task (Kafka's `OffsetCheckpoint`, `<task dir>/.checkpoint`): the last
//! changelog offset reflected in each store, per changelog partition. Written under
//! at-least-once by commits that moved the offsets by more than 10,000 records since the last
//! write (Kafka's `OFFSET_DELTA_THRESHOLD_FOR_CHECKPOINT`) and on clean close, atomically (temp
//! file, fsync, rename, directory fsync).
//!
//! Format (Kafka's): a version line `0`, a count line, then one `topic partition offset` line
//! per entry.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use brook_common::TopicPartition;

use crate::error::{Error, Result};

/// File name of a task's checkpoint.
pub const CHECKPOINT_FILE_NAME: &str = ".checkpoint";

/// Offsets keyed by changelog topic-partition.
pub type Offsets = BTreeMap<TopicPartition, i64>;

/// A checkpoint file.
///
/// # Examples
/// ```
/// use brook_common::TopicPartition;
/// use brook_state_store::OffsetCheckpoint;
/// let dir = tempfile::tempdir().unwrap();
/// let cp = OffsetCheckpoint::new(dir.path().join(".checkpoint"));
/// assert!(cp.read().unwrap().is_empty());
/// let offsets = [(TopicPartition::new("app-s-changelog", 0), 41)].into_iter().collect();
/// cp.write(&offsets).unwrap();
/// assert_eq!(cp.read().unwrap(), offsets);
/// ```
#[derive(Debug, Clone)]
pub struct OffsetCheckpoint {
    path: PathBuf,
}

impl OffsetCheckpoint {
    /// The checkpoint at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OffsetCheckpoint { path: path.into() }
    }

    /// The checkpoint of the task whose directory is `task_dir`.
    #[must_use]
    pub fn for_task_dir(task_dir: &Path) -> Self {
        Self::new(task_dir.join(CHECKPOINT_FILE_NAME))
    }

    /// Its path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the file with `offsets`, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] (a full disk included); the previous file is then left intact.
    pub fn write(&self, offsets: &Offsets) -> Result<()> {
        let mut text = format!("0\n{}\n", offsets.len());
        for (TopicPartition { topic, partition }, offset) in offsets {
            text.push_str(&format!("{topic} {partition} {offset}\n"));
        }
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        write_atomically(&self.path, text.as_bytes())
    }

    /// Reads the offsets; a missing file is empty.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Decode`] for a malformed file.
    pub fn read(&self) -> Result<Offsets> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Offsets::new()),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let bad = |reason: String| Error::decode("checkpoint file", reason);
        let mut lines = text.lines();
        match lines.next() {
            Some("0") => {}
            other => return Err(bad(format!("unsupported version {other:?}"))),
        }
        let count: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| bad("missing entry count".to_owned()))?;
        let mut out = Offsets::new();
        for line in lines.by_ref().take(count) {
            let mut parts = line.split(' ');
            let (Some(topic), Some(p), Some(o), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(bad(format!("malformed line {line:?}")));
            };
            let p: i32 = p.parse().map_err(|_| bad(format!("bad partition in {line:?}")))?;
            let o: i64 = o.parse().map_err(|_| bad(format!("bad offset in {line:?}")))?;
            out.insert(TopicPartition::new(topic, p), o);
        }
        if out.len() != count || lines.any(|l| !l.trim().is_empty()) {
            return Err(bad(format!("expected {count} entries")));
        }
        Ok(out)
    }

    /// Deletes the file (Kafka does so on start under exactly-once); missing is fine.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn delete(&self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }
}

/// Writes `contents` to `path` atomically: temp file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(contents).map_err(|e| Error::io(&tmp, e))?;
    f.sync_all().map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let cp = OffsetCheckpoint::new(dir.path().join("cp"));
        for bad in ["", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n", "0\n1\nt 0 1 2\n", "0\n1\nt 0 1\nextra 0 1\n"] {
            fs::write(cp.path(), bad).unwrap();
            assert!(matches!(cp.read(), Err(Error::Decode { .. })), "{bad:?}");
        }
        fs::write(cp.path(), "0\n1\napp-s-changelog 3 17\n").unwrap();
        assert_eq!(cp.read().unwrap()[&TopicPartition::new("app-s-changelog", 3)], 17);
        cp.delete().unwrap();
        cp.delete().unwrap();
        assert!(cp.read().unwrap().is_empty());
    }
}
