//! Kafka's offset and time indexes, kept in memory and persisted as plain files.
//!
//! ```text
//! .index      entries of 8 bytes:  relative offset: i32 | file position: i32
//! .timeindex  entries of 12 bytes: timestamp: i64       | relative offset: i32
//! ```
//! An offset index entry maps the last offset of a batch to the file position where that batch
//! starts; a time index entry records the largest timestamp seen so far in the segment and the
//! (relative) offset that carries it. Both are sparse: one entry every `index.interval.bytes`.
//! Entries are appended in memory and written to their file at roll, flush and rebuild time; the
//! active segment's indexes are always rebuilt by recovery, so a lost tail costs nothing.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One fixed-size index entry.
pub(crate) trait Entry: Copy + std::fmt::Debug {
    /// Encoded size in bytes.
    const SIZE: usize;
    fn decode(b: &[u8]) -> Self;
    fn encode(&self, out: &mut Vec<u8>);
}

/// Offset index entry: the last offset of a batch (relative to the segment base) and the position
/// of the batch in the `.log` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) rel: u32,
    pub(crate) pos: u32,
}

/// Time index entry: the largest timestamp so far and the relative offset carrying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) ts: i64,
    pub(crate) rel: u32,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Entry for OffsetEntry {
    const SIZE: usize = 8;
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            rel: u32_at(b, 0),
            pos: u32_at(b, 4),
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.rel.to_be_bytes());
        out.extend_from_slice(&self.pos.to_be_bytes());
    }
}

impl Entry for TimeEntry {
    const SIZE: usize = 12;
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[..8]);
        TimeEntry {
            ts: i64::from_be_bytes(ts),
            rel: u32_at(b, 8),
        }
    }
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ts.to_be_bytes());
        out.extend_from_slice(&self.rel.to_be_bytes());
    }
}

/// An index file and its entries. `persisted` entries are known to be in the file.
#[derive(Debug)]
pub(crate) struct Index<E: Entry> {
    path: PathBuf,
    pub(crate) entries: Vec<E>,
    persisted: usize,
}

/// The offset index of a segment.
pub(crate) type OffsetIndex = Index<OffsetEntry>;
/// The time index of a segment.
pub(crate) type TimeIndex = Index<TimeEntry>;

impl<E: Entry> Index<E> {
    /// An empty index whose file will be (re)written from scratch on the next persist.
    pub(crate) fn empty(path: PathBuf) -> Self {
        Index {
            path,
            entries: Vec::new(),
            persisted: 0,
        }
    }

    /// Reads the file; `Ok(None)` when it is missing or its size is not a multiple of the entry
    /// size (the caller rebuilds it).
    pub(crate) fn read(path: PathBuf) -> io::Result<Option<Self>> {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        if bytes.len() % E::SIZE != 0 {
            tracing::warn!(path = %path.display(), len = bytes.len(), "index file has a partial entry");
            return Ok(None);
        }
        let entries: Vec<E> = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        let persisted = entries.len();
        Ok(Some(Index {
            path,
            entries,
            persisted,
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn last(&self) -> Option<E> {
        self.entries.last().copied()
    }

    pub(crate) fn push(&mut self, e: E) {
        self.entries.push(e);
    }

    /// Keeps the first `n` entries (the file is cut on the next persist).
    pub(crate) fn truncate(&mut self, n: usize) {
        self.entries.truncate(n);
        self.persisted = self.persisted.min(n);
    }

    /// Writes the entries not yet in the file, cutting anything stale past them.
    pub(crate) fn persist(&mut self, sync: bool) -> io::Result<()> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        let at = (self.persisted * E::SIZE) as u64;
        file.set_len(at)?;
        let mut buf = Vec::with_capacity((self.entries.len() - self.persisted) * E::SIZE);
        for e in &self.entries[self.persisted..] {
            e.encode(&mut buf);
        }
        file.write_all_at(&buf, at)?;
        if sync {
            file.sync_data()?;
        }
        self.persisted = self.entries.len();
        Ok(())
    }

    /// Forgets what is in the file: the next persist rewrites it whole.
    pub(crate) fn mark_unpersisted(&mut self) {
        self.persisted = 0;
    }
}

impl OffsetIndex {
    /// Position of the last indexed batch whose last offset is <= `rel`, or 0: a scan for the
    /// batch containing `rel` can start there.
    pub(crate) fn floor_position(&self, rel: u32) -> u32 {
        let i = self.entries.partition_point(|e| e.rel <= rel);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].pos
        }
    }

    /// Why the entries are unusable for a log of `log_size` bytes, if they are.
    pub(crate) fn check(&self, log_size: u64) -> Option<String> {
        let mut prev: Option<OffsetEntry> = None;
        for e in &self.entries {
            if e.pos as u64 >= log_size {
                return Some(format!("entry {e:?} points past the end of the log ({log_size})"));
            }
            if let Some(p) = prev {
                if e.rel <= p.rel || e.pos <= p.pos {
                    return Some(format!("entries {p:?} and {e:?} are not increasing"));
                }
            }
            prev = Some(*e);
        }
        None
    }
}

impl TimeIndex {
    /// Relative offset of the last entry whose timestamp is < `ts`: every batch up to the one
    /// holding that offset has a max timestamp below `ts`.
    pub(crate) fn last_below(&self, ts: i64) -> Option<u32> {
        let i = self.entries.partition_point(|e| e.ts < ts);
        if i == 0 {
            None
        } else {
            Some(self.entries[i - 1].rel)
        }
    }

    /// Why the entries are unusable for a segment whose last relative offset is `last_rel`.
    pub(crate) fn check(&self, last_rel: Option<u32>) -> Option<String> {
        let mut prev: Option<TimeEntry> = None;
        for e in &self.entries {
            if last_rel.is_none_or(|l| e.rel > l) {
                return Some(format!("entry {e:?} points past the last offset {last_rel:?}"));
            }
            if let Some(p) = prev {
                if e.ts <= p.ts || e.rel < p.rel {
                    return Some(format!("entries {p:?} and {e:?} are not increasing"));
                }
            }
            prev = Some(*e);
        }
        None
    }
}

/// Opens `path` for reading and writing, creating it when missing.
pub(crate) fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_read_and_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = OffsetIndex::empty(dir.path().join("0.index"));
        idx.push(OffsetEntry { rel: 4, pos: 100 });
        idx.push(OffsetEntry { rel: 9, pos: 300 });
        idx.persist(false).unwrap();
        idx.push(OffsetEntry { rel: 20, pos: 900 });
        idx.persist(true).unwrap();
        let back = OffsetIndex::read(dir.path().join("0.index")).unwrap().unwrap();
        assert_eq!(back.entries, idx.entries);
        assert_eq!(back.floor_position(3), 0);
        assert_eq!(back.floor_position(4), 100);
        assert_eq!(back.floor_position(19), 300);
        assert_eq!(back.floor_position(25), 900);
        assert!(back.check(1000).is_none());
        assert!(back.check(900).is_some(), "position 900 is past a 900-byte log");
        let mut cut = back;
        cut.truncate(1);
        cut.persist(false).unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("0.index")).unwrap().len(), 8);
    }

    #[test]
    fn partial_and_unordered_files_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.timeindex");
        std::fs::write(&p, [0u8; 13]).unwrap();
        assert!(TimeIndex::read(p.clone()).unwrap().is_none());
        assert!(TimeIndex::read(dir.path().join("missing")).unwrap().is_none());
        let mut t = TimeIndex::empty(p);
        t.push(TimeEntry { ts: 10, rel: 1 });
        t.push(TimeEntry { ts: 5, rel: 2 });
        assert!(t.check(Some(5)).is_some());
        t.truncate(1);
        assert!(t.check(Some(5)).is_none());
        assert!(t.check(Some(0)).is_some());
        assert_eq!(t.last_below(11), Some(1));
        assert_eq!(t.last_below(10), None);
    }
}
