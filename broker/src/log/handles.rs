//! A bounded pool of open segment files, shared by every log of a broker.
//!
//! Kafka keeps every segment of every partition open; with one file per segment that is one
//! descriptor per partition at least, and 5,000 partitions exhaust the default `ulimit -n` of
//! 1024. Brook opens segment data files lazily through this pool instead and keeps at most
//! `log.open.files.max` of them open, closing the least recently used one when it needs room, so
//! the number of partitions is bounded by disk, not by the descriptor limit. A busy partition's
//! active segment is used on every produce and fetch and so stays open.
//!
//! A handle in use (an [`Arc<File>`] held by a read or a sync) stays valid after eviction: the
//! descriptor closes when its last user drops it, so the count can briefly exceed the bound by
//! the number of operations in flight.
//!
//! When opening fails with `EMFILE`/`ENFILE` (the process or the system is out of descriptors,
//! e.g. because sockets or RocksDB use more than expected), the pool closes half of its idle
//! handles and retries once; if that fails too, the operation fails with
//! [`Error::Storage`] and an error is logged naming the limit and the setting to change.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// `EMFILE` (per-process descriptor limit) and `ENFILE` (system-wide limit) on Linux and macOS.
const OUT_OF_DESCRIPTORS: [i32; 2] = [24, 23];

/// The default bound: half the soft `RLIMIT_NOFILE` (the other half is headroom for sockets,
/// index files being written and anything else in the process), between 32 and 65,536; 512 when
/// the limit cannot be read. Under the default `ulimit -n` of 1024 that is 512.
pub(crate) fn default_max_open_files() -> usize {
    soft_nofile_limit().map_or(512, |n| (n / 2).clamp(32, 65_536) as usize)
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits` (Linux).
pub(crate) fn soft_nofile_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    soft.parse().ok()
}

/// Identifies one file registered in the pool.
pub(crate) type FileId = u64;

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    /// Open handle and its last-use tick, when open.
    open: Option<(Arc<File>, u64)>,
}

#[derive(Debug, Default)]
struct FileTable {
    files: HashMap<FileId, Entry>,
    /// Last-use tick -> file, for the open ones (oldest first).
    lru: BTreeMap<u64, FileId>,
    next_id: FileId,
    tick: u64,
}

impl FileTable {
    fn close(&mut self, id: FileId) {
        if let Some((_, tick)) = self.files.get_mut(&id).and_then(|e| e.open.take()) {
            self.lru.remove(&tick);
        }
    }

    /// Closes the least recently used handles until at most `keep` are open; with `idle_only`,
    /// only handles nobody else holds.
    fn shrink_to(&mut self, keep: usize, idle_only: bool) {
        let victims: Vec<FileId> = self
            .lru
            .values()
            .copied()
            .filter(|id| {
                !idle_only
                    || self.files[id].open.as_ref().is_some_and(|(f, _)| Arc::strong_count(f) == 1)
            })
            .take(self.lru.len().saturating_sub(keep))
            .collect();
        for id in victims {
            self.close(id);
        }
    }

    fn mark_open(&mut self, id: FileId, file: Arc<File>, capacity: usize) {
        self.close(id);
        self.shrink_to(capacity.saturating_sub(1), false);
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.files.get_mut(&id) {
            e.open = Some((file, tick));
            self.lru.insert(tick, id);
        }
    }
}

/// The pool. Cheap to share as `Arc<FilePool>`; every method takes `&self`.
#[derive(Debug)]
pub(crate) struct FilePool {
    capacity: usize,
    inner: Mutex<FileTable>,
}

impl FilePool {
    /// A pool keeping at most `capacity` (at least 1) files open.
    pub(crate) fn new(capacity: usize) -> Arc<FilePool> {
        Arc::new(FilePool {
            capacity: capacity.max(1),
            inner: Mutex::new(FileTable::default()),
        })
    }

    /// Files currently open through the pool.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn open_count(&self) -> usize {
        self.inner.lock().lru.len()
    }

    /// Registers `path`, already opened as `file` (it counts against the bound).
    pub(crate) fn adopt(&self, path: PathBuf, file: File) -> FileId {
        let mut inner = self.inner.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.files.insert(id, Entry { path, open: None });
        inner.mark_open(id, Arc::new(file), self.capacity);
        id
    }

    /// Opens `path` read-write (creating it, and truncating it when `truncate`) and registers it.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be opened (see the module documentation for
    /// running out of descriptors).
    pub(crate) fn create(&self, path: PathBuf, truncate: bool) -> Result<FileId> {
        let file = self.open_with_retry(&path, truncate)?;
        Ok(self.adopt(path, file))
    }

    /// The open handle of `id`, reopening the file when it was closed.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be reopened; [`Error::Corrupt`] for an id that was
    /// forgotten (a bug).
    pub(crate) fn get(&self, id: FileId) -> Result<Arc<File>> {
        let path = {
            let mut inner = self.inner.lock();
            inner.tick += 1;
            let tick = inner.tick;
            let entry = inner
                .files
                .get_mut(&id)
                .ok_or_else(|| Error::Corrupt(format!("segment file {id} is not registered")))?;
            if let Some((file, last)) = entry.open.as_mut() {
                let (file, old) = (Arc::clone(file), std::mem::replace(last, tick));
                inner.lru.remove(&old);
                inner.lru.insert(tick, id);
                return Ok(file);
            }
            entry.path.clone()
        };
        // Opening happens outside the lock: other logs keep using their open files meanwhile.
        let file = Arc::new(self.open_with_retry(&path, false)?);
        let mut inner = self.inner.lock();
        if let Some((open, _)) = inner.files.get(&id).and_then(|e| e.open.as_ref()) {
            return Ok(Arc::clone(open)); // another thread reopened it first
        }
        if inner.files.contains_key(&id) {
            inner.mark_open(id, Arc::clone(&file), self.capacity);
        }
        Ok(file)
    }

    /// Closes and unregisters `id` (its segment is gone or replaced).
    pub(crate) fn forget(&self, id: FileId) {
        let mut inner = self.inner.lock();
        inner.close(id);
        inner.files.remove(&id);
    }

    /// Replaces the open handle of `id` (tests inject a read-only handle to provoke I/O errors).
    #[cfg(test)]
    pub(crate) fn replace_for_test(&self, id: FileId, file: File) {
        self.inner.lock().mark_open(id, Arc::new(file), self.capacity);
    }

    fn open_with_retry(&self, path: &Path, truncate: bool) -> Result<File> {
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(truncate)
                .open(path)
        };
        let out_of_fds = |e: &io::Error| e.raw_os_error().is_some_and(|c| OUT_OF_DESCRIPTORS.contains(&c));
        match open() {
            Ok(f) => return Ok(f),
            Err(e) if out_of_fds(&e) => {
                let mut inner = self.inner.lock();
                let keep = inner.lru.len() / 2;
                tracing::warn!(
                    path = %path.display(), open = inner.lru.len(), keep,
                    "out of file descriptors: closing idle segment files and retrying"
                );
                inner.shrink_to(keep, true);
            }
            Err(e) => return Err(Error::storage(format!("opening {}", path.display()), e)),
        }
        open().map_err(|e| {
            if out_of_fds(&e) {
                tracing::error!(
                    path = %path.display(), soft_limit = ?soft_nofile_limit(), pool_bound = self.capacity,
                    "out of file descriptors even after closing idle segment files: raise `ulimit -n` \
                     or lower log.open.files.max"
                );
            }
            Error::storage(format!("opening {}", path.display()), e)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;
    use std::process::Command;

    use super::*;
    use crate::record::{decode_batch_bytes, BatchBuilder, Compression};
    use crate::{Broker, BrokerConfig, IsolationLevel};

    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    #[test]
    fn evicted_files_reopen_and_the_bound_holds() {
        let dir = tempfile::tempdir().unwrap();
        let pool = FilePool::new(3);
        let ids: Vec<FileId> = (0..10)
            .map(|i| {
                let id = pool.create(dir.path().join(format!("{i}.log")), true).unwrap();
                pool.get(id).unwrap().write_all_at(&[i as u8], 0).unwrap();
                id
            })
            .collect();
        assert_eq!(pool.open_count(), 3);
        for (i, id) in ids.iter().enumerate() {
            let mut b = [0u8; 1];
            pool.get(*id).unwrap().read_exact_at(&mut b, 0).unwrap();
            assert_eq!(b[0], i as u8);
            assert!(pool.open_count() <= 3);
        }
        pool.forget(ids[9]);
        assert!(matches!(pool.get(ids[9]), Err(Error::Corrupt(_))));
    }

    /// Runs the ignored test `name` in a child process whose `RLIMIT_NOFILE` is 1024 and checks
    /// that it printed `expect`.
    fn run_under_1024_fds(name: &str, expect: &str) {
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("prlimit")
            .arg("--nofile=1024:1024")
            .arg(exe)
            .args(["--exact", name, "--ignored", "--nocapture"])
            .output()
            .expect("prlimit (util-linux) runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains(expect), "child did not run:\n{stdout}\n{stderr}");
    }

    #[test]
    fn twenty_thousand_partitions_under_a_1024_descriptor_limit() {
        run_under_1024_fds("log::handles::tests::serve_partitions_child", "served 20000 partitions");
    }

    #[test]
    fn running_out_of_descriptors_closes_idle_files_and_retries() {
        run_under_1024_fds("log::handles::tests::emfile_child", "opened 3000 files");
    }

    #[test]
    #[ignore = "run by running_out_of_descriptors_closes_idle_files_and_retries under prlimit"]
    fn emfile_child() {
        assert_eq!(soft_nofile_limit(), Some(1024), "run me under prlimit --nofile=1024");
        let dir = tempfile::tempdir().unwrap();
        // A bound far above the limit: only the EMFILE retry keeps this going.
        let pool = FilePool::new(100_000);
        let ids: Vec<FileId> = (0..3000)
            .map(|i| pool.create(dir.path().join(format!("{i}.log")), true).unwrap())
            .collect();
        assert!(open_fds() < 1024);
        for id in &ids {
            pool.get(*id).unwrap();
        }
        println!("opened {} files, {} open now", ids.len(), pool.open_count());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "run by twenty_thousand_partitions_under_a_1024_descriptor_limit under prlimit"]
    async fn serve_partitions_child() {
        assert_eq!(soft_nofile_limit(), Some(1024), "run me under prlimit --nofile=1024");
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig::new(dir.path());
        assert_eq!(config.log_open_files_max, 512);
        let bound = config.log_open_files_max + 100; // + runtime, sockets of the harness, a catalog
        let broker = Broker::open(config).await.unwrap();
        let (topics, per_topic) = (20, 1000);
        let mut peak = open_fds();
        // Records of now: retention (by record timestamps) keeps them however long this runs.
        let now = broker.config().clock.now_ms();
        for t in 0..topics {
            let name = format!("t{t}");
            broker.create_topic(&name, per_topic, Default::default()).unwrap();
            peak = peak.max(open_fds());
            for p in 0..per_topic {
                let mut b = BatchBuilder::new(Compression::None);
                b.push(now, Some(format!("k{t}-{p}").as_bytes()), Some(b"v"), &[]);
                let mut bytes = b.build().unwrap();
                assert_eq!(broker.produce(&name, p, &mut bytes).unwrap().base_offset, 0);
                if p % 100 == 0 {
                    peak = peak.max(open_fds());
                }
            }
        }
        for t in 0..topics {
            let name = format!("t{t}");
            for p in 0..per_topic {
                let data = broker.fetch(&name, p, 0, 1 << 20, IsolationLevel::ReadUncommitted).unwrap();
                let (_, records) = decode_batch_bytes(data.records).unwrap();
                assert_eq!(records.len(), 1);
                assert_eq!(records[0].key.as_deref(), Some(format!("k{t}-{p}").as_bytes()));
                if p % 100 == 0 {
                    peak = peak.max(open_fds());
                }
            }
        }
        // No `shutdown()`: its fsync of 20,000 dirty segments takes minutes on a shared disk.
        drop(broker);
        assert!(peak <= bound, "{peak} descriptors open at the peak, bound {bound}");
        println!("served {} partitions, peak {peak} descriptors", topics * per_topic);
    }
}
