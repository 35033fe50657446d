//! One log segment: a `.log` file of concatenated v2 batches plus its offset and time indexes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::record::batch::{BatchHeader, BATCH_HEADER_LEN};

use super::handles::{FileId, FilePool};
use super::index::{OffsetEntry, OffsetIndex, TimeEntry, TimeIndex};

/// Suffix of segment data files.
pub(crate) const LOG_SUFFIX: &str = "log";
/// Suffix of offset index files.
pub(crate) const INDEX_SUFFIX: &str = "index";
/// Suffix of time index files.
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";

/// Largest size a segment may reach: positions are 4-byte fields in the index.
pub(crate) const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;
/// Chunk in which batches are read sequentially.
const READ_CHUNK: usize = 1 << 20;
/// Read-ahead of index-guided lookups (a little more than the default index interval).
const LOOKUP_CHUNK: usize = 8 << 10;

/// Test hooks: each is called with the path of every segment data file about to be fsynced
/// (tests block in them to play a slow disk; see [`block_syncs_under`]).
#[cfg(test)]
#[allow(clippy::type_complexity)]
static SYNC_HOOKS: std::sync::Mutex<Vec<(u64, Arc<dyn Fn(&Path) + Send + Sync>)>> =
    std::sync::Mutex::new(Vec::new());

/// A slow disk for the segments under one directory, from [`block_syncs_under`].
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct SlowDisk {
    /// Receives one message per fsync that started blocking.
    pub(crate) entered: std::sync::mpsc::Receiver<()>,
    release: Option<std::sync::mpsc::Sender<()>>,
    id: u64,
}

#[cfg(test)]
impl SlowDisk {
    /// Lets the blocked fsyncs, and all later ones, go through.
    pub(crate) fn release(&mut self) {
        self.release = None;
    }
}

#[cfg(test)]
impl Drop for SlowDisk {
    fn drop(&mut self) {
        if let Ok(mut hooks) = SYNC_HOOKS.lock() {
            hooks.retain(|(id, _)| *id != self.id);
        }
    }
}

/// Test helper: until [`SlowDisk::release`], every fsync of a segment under `dir` announces
/// itself on [`SlowDisk::entered`] and then blocks. Tests running in parallel do not interfere:
/// each blocks only its own directory.
#[cfg(test)]
pub(crate) fn block_syncs_under(dir: PathBuf) -> SlowDisk {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hook = move |path: &Path| {
        if path.starts_with(&dir) {
            let _ = entered_tx.send(());
            let _ = release_rx.lock().map(|rx| rx.recv());
        }
    };
    SYNC_HOOKS.lock().unwrap().push((id, Arc::new(hook)));
    SlowDisk { entered, release: Some(release), id }
}

/// fsyncs the data of the segment file `file` at `path`.
pub(crate) fn sync_data(file: &File, path: &Path) -> Result<()> {
    #[cfg(test)]
    {
        let hooks: Vec<_> = SYNC_HOOKS.lock().map(|h| h.iter().map(|(_, f)| Arc::clone(f)).collect()).unwrap_or_default();
        hooks.iter().for_each(|hook| hook(path));
    }
    file.sync_data()
        .map_err(|e| Error::storage(format!("syncing {}", path.display()), e))
}

/// What syncing a log's appends so far needs: its active segment's file, outside the log's lock.
#[derive(Debug)]
pub(crate) struct SyncTarget {
    file: Arc<File>,
    path: PathBuf,
    /// The log end offset when the target was taken: what a sync makes durable.
    pub(crate) end: i64,
}

impl SyncTarget {
    /// fsyncs the file.
    ///
    /// # Errors
    /// [`Error::Storage`] when the fsync fails.
    pub(crate) fn sync(&self) -> Result<()> {
        sync_data(&self.file, &self.path)
    }
}

/// `00000000000000000042.log` for base offset 42 and suffix `log`.
pub(crate) fn file_name(base: i64, suffix: &str) -> String {
    format!("{base:020}.{suffix}")
}

/// A segment: `base_offset` is the offset its name carries, `next_offset` the offset after its
/// last batch (the base offset while it is empty).
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    pub(crate) next_offset: i64,
    pub(crate) size: u64,
    /// Largest batch max timestamp, -1 when there is none.
    pub(crate) max_timestamp: i64,
    /// Max timestamp of the first batch, what `segment.ms` counts from (Kafka's
    /// `rollingBasedTimestamp`): the same before and after a restart.
    pub(crate) rolling_timestamp: Option<i64>,
    /// Wall-clock time of the first append since the segment was created or opened: what
    /// `segment.ms` counts from when the first batch carries no timestamp (-1), as Kafka counts
    /// from the segment's creation.
    pub(crate) first_append_ms: Option<i64>,
    /// Written since the last fsync.
    pub(crate) dirty: bool,
    path: PathBuf,
    file: PooledFile,
    pub(crate) index: OffsetIndex,
    pub(crate) time_index: TimeIndex,
    bytes_since_index: u64,
    offset_of_max_timestamp: i64,
}

/// A segment's data file, opened on demand through the broker's [`FilePool`].
#[derive(Debug)]
pub(crate) struct PooledFile {
    id: FileId,
    pool: Arc<FilePool>,
}

impl PooledFile {
    /// Opens (creating, and truncating when `truncate`) `path` through `pool`.
    pub(crate) fn open(pool: &Arc<FilePool>, path: PathBuf, truncate: bool) -> Result<PooledFile> {
        Ok(PooledFile {
            id: pool.create(path, truncate)?,
            pool: Arc::clone(pool),
        })
    }

    /// The open handle, reopened when the pool had closed it.
    pub(crate) fn get(&self) -> Result<Arc<File>> {
        self.pool.get(self.id)
    }
}

impl Drop for PooledFile {
    fn drop(&mut self) {
        self.pool.forget(self.id);
    }
}

/// The result of asking a reader for its next batch.
#[derive(Debug)]
pub(crate) enum Next<'a> {
    /// A structurally sound batch (CRC not checked) at file position `pos`.
    Batch(BatchHeader, u64, &'a [u8]),
    /// The end of the data.
    End,
    /// A torn or malformed batch at `pos`.
    Invalid(u64, String),
}

/// Reads whole batches sequentially from a file, in large chunks.
#[derive(Debug)]
pub(crate) struct BatchReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    buf_start: u64,
    chunk: usize,
}

impl BatchReader {
    pub(crate) fn new(file: Arc<File>, pos: u64, end: u64) -> Self {
        BatchReader {
            file,
            pos,
            end,
            buf: Vec::new(),
            buf_start: pos,
            chunk: READ_CHUNK,
        }
    }

    /// A reader that reads ahead `chunk` bytes at a time (small for index-guided lookups).
    pub(crate) fn with_chunk(file: Arc<File>, pos: u64, end: u64, chunk: usize) -> Self {
        BatchReader {
            chunk,
            ..BatchReader::new(file, pos, end)
        }
    }

    /// Makes `[self.pos, self.pos + need)` available in the buffer.
    fn fill(&mut self, need: usize) -> io::Result<()> {
        let have_from = (self.pos - self.buf_start) as usize;
        if self.pos >= self.buf_start && have_from + need <= self.buf.len() {
            return Ok(());
        }
        let want = need.max(self.chunk).min((self.end - self.pos) as usize);
        self.buf.resize(want, 0);
        self.file.read_exact_at(&mut self.buf, self.pos)?;
        self.buf_start = self.pos;
        Ok(())
    }

    pub(crate) fn next_batch(&mut self) -> Result<Next<'_>> {
        let (h, pos) = match self.header()? {
            Ok(found) => found,
            Err(next) => return Ok(next),
        };
        let len = h.total_len();
        self.fill(len)
            .map_err(|e| Error::storage("reading a log segment", e))?;
        self.pos += len as u64;
        let off = (pos - self.buf_start) as usize;
        Ok(Next::Batch(h, pos, &self.buf[off..off + len]))
    }

    /// As [`next_batch`](Self::next_batch) without reading the batch's body (the returned
    /// slice is empty): lookups need only the headers, and a batch can be megabytes.
    pub(crate) fn next_header(&mut self) -> Result<Next<'_>> {
        let (h, pos) = match self.header()? {
            Ok(found) => found,
            Err(next) => return Ok(next),
        };
        self.pos += h.total_len() as u64;
        Ok(Next::Batch(h, pos, &[]))
    }

    /// The checked header of the batch at the current position and that position, or what is
    /// there instead (the end, or a torn or malformed batch).
    fn header(&mut self) -> Result<std::result::Result<(BatchHeader, u64), Next<'static>>> {
        let remaining = self.end.saturating_sub(self.pos);
        if remaining == 0 {
            return Ok(Err(Next::End));
        }
        let pos = self.pos;
        if remaining < BATCH_HEADER_LEN as u64 {
            return Ok(Err(Next::Invalid(pos, format!("torn batch header of {remaining} bytes"))));
        }
        self.fill(BATCH_HEADER_LEN)
            .map_err(|e| Error::storage("reading a log segment", e))?;
        let off = (pos - self.buf_start) as usize;
        let h = match BatchHeader::parse(&self.buf[off..]) {
            Ok(h) => h,
            Err(e) => return Ok(Err(Next::Invalid(pos, e.to_string()))),
        };
        if h.base_offset < 0 || h.base_offset > i64::MAX - (1 << 32) {
            return Ok(Err(Next::Invalid(pos, format!("batch base offset {} out of range", h.base_offset))));
        }
        let len = h.total_len();
        if len as u64 > remaining {
            return Ok(Err(Next::Invalid(
                pos,
                format!("batch declares {len} bytes, only {remaining} remain"),
            )));
        }
        Ok(Ok((h, pos)))
    }
}

/// Reads the batch header at `pos` of `file`.
pub(crate) fn read_header(file: &File, pos: u64) -> Result<BatchHeader> {
    let mut b = [0u8; BATCH_HEADER_LEN];
    file.read_exact_at(&mut b, pos)
        .map_err(|e| Error::storage("reading a batch header", e))?;
    BatchHeader::parse(&b)
}

impl Segment {
    /// Creates an empty segment (truncating stale files of the same name).
    pub(crate) fn create(dir: &Path, base: i64, pool: &Arc<FilePool>) -> Result<Segment> {
        let path = dir.join(file_name(base, LOG_SUFFIX));
        let file = PooledFile::open(pool, path.clone(), true)?;
        Ok(Segment::from_parts(dir, base, path, file, 0))
    }

    /// Opens the existing data file of segment `base`, with empty in-memory state to be filled
    /// by recovery.
    pub(crate) fn open(dir: &Path, base: i64, pool: &Arc<FilePool>) -> Result<Segment> {
        let path = dir.join(file_name(base, LOG_SUFFIX));
        let file = PooledFile::open(pool, path.clone(), false)?;
        let size = file
            .get()?
            .metadata()
            .map_err(|e| Error::storage(format!("reading {}", path.display()), e))?
            .len();
        Ok(Segment::from_parts(dir, base, path, file, size))
    }

    /// A segment over a pooled file, with empty in-memory state to be filled by recovery.
    fn from_parts(dir: &Path, base: i64, path: PathBuf, file: PooledFile, size: u64) -> Segment {
        Segment {
            base_offset: base,
            next_offset: base,
            size,
            max_timestamp: -1,
            rolling_timestamp: None,
            first_append_ms: None,
            dirty: false,
            path,
            file,
            index: OffsetIndex::empty(dir.join(file_name(base, INDEX_SUFFIX))),
            time_index: TimeIndex::empty(dir.join(file_name(base, TIME_INDEX_SUFFIX))),
            bytes_since_index: 0,
            offset_of_max_timestamp: -1,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The data file, reopened through the pool when it was closed.
    pub(crate) fn file(&self) -> Result<Arc<File>> {
        self.file.get()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether `offset` can be stored relative to the base offset in 4 bytes.
    pub(crate) fn can_hold(&self, offset: i64) -> bool {
        offset >= self.base_offset && offset - self.base_offset <= i32::MAX as i64
    }

    /// Records one batch already written at `pos` in the in-memory state and indexes.
    pub(crate) fn track_batch(&mut self, h: &BatchHeader, pos: u64, interval: u64) {
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.last_offset();
        }
        self.rolling_timestamp.get_or_insert(h.max_timestamp);
        if self.bytes_since_index > interval {
            self.index.push(OffsetEntry {
                rel: (h.last_offset() - self.base_offset) as u32,
                pos: pos as u32,
            });
            self.maybe_time_entry();
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += h.total_len() as u64;
        self.next_offset = h.next_offset();
    }

    fn maybe_time_entry(&mut self) {
        if self.offset_of_max_timestamp < self.base_offset {
            return;
        }
        if self.time_index.last().is_none_or(|l| self.max_timestamp > l.ts) {
            self.time_index.push(TimeEntry {
                ts: self.max_timestamp,
                rel: (self.offset_of_max_timestamp - self.base_offset) as u32,
            });
        }
    }

    /// Appends `bytes` (whole batches described by `headers`). On an I/O error the file is cut
    /// back to its previous size and no state changes.
    pub(crate) fn append(&mut self, bytes: &[u8], headers: &[BatchHeader], interval: u64) -> Result<()> {
        let start = self.size;
        let file = self.file()?;
        if let Err(e) = file.write_all_at(bytes, start) {
            if let Err(e2) = file.set_len(start) {
                tracing::error!(path = %self.path.display(), error = %e2, "could not cut a failed append back");
            }
            return Err(Error::storage(format!("appending to {}", self.path.display()), e));
        }
        let mut pos = start;
        for h in headers {
            self.track_batch(h, pos, interval);
            pos += h.total_len() as u64;
        }
        self.size = pos;
        self.dirty = true;
        Ok(())
    }

    /// Called when the segment stops being the active one: a final time index entry, and data
    /// and indexes synced (as Kafka flushes rolled segments), so recovery can trust closed
    /// segments whose indexes are sane.
    pub(crate) fn close_for_append(&mut self) -> Result<()> {
        self.maybe_time_entry();
        self.flush()
    }

    pub(crate) fn persist_indexes(&mut self, sync: bool) -> Result<()> {
        self.index
            .persist(sync)
            .and_then(|()| self.time_index.persist(sync))
            .map_err(|e| Error::storage(format!("writing the indexes of {}", self.path.display()), e))
    }

    /// fsyncs data and indexes.
    pub(crate) fn flush(&mut self) -> Result<()> {
        sync_data(&*self.file()?, &self.path)?;
        self.persist_indexes(true)?;
        self.dirty = false;
        Ok(())
    }

    /// The data file to fsync to make the segment's appends so far durable.
    pub(crate) fn sync_target(&self) -> Result<SyncTarget> {
        Ok(SyncTarget {
            file: self.file()?,
            path: self.path.clone(),
            end: self.next_offset,
        })
    }

    /// Position from which a forward scan finds the batch containing `offset`.
    pub(crate) fn scan_start(&self, offset: i64) -> u64 {
        let rel = (offset - self.base_offset).clamp(0, u32::MAX as i64) as u32;
        self.index.floor_position(rel) as u64
    }

    /// Position and header of the first batch whose last offset is >= `offset`, if any.
    pub(crate) fn locate(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        self.find(self.scan_start(offset), |h| h.last_offset() >= offset)
    }

    /// Position and header of the first batch whose max timestamp is >= `ts` (and last offset
    /// >= `min_offset`), if any.
    pub(crate) fn locate_timestamp(&self, ts: i64, min_offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        let from = match self.time_index.last_below(ts) {
            Some(rel) => self.base_offset + rel as i64,
            None => self.base_offset,
        };
        self.find(self.scan_start(from.max(min_offset)), |h| {
            h.max_timestamp >= ts && h.last_offset() >= min_offset
        })
    }

    /// Scans forward from `pos` for the first batch matching `pred`.
    fn find(&self, pos: u64, pred: impl Fn(&BatchHeader) -> bool) -> Result<Option<(u64, BatchHeader)>> {
        let mut r = BatchReader::with_chunk(self.file()?, pos, self.size, LOOKUP_CHUNK);
        loop {
            match r.next_header()? {
                Next::End => return Ok(None),
                Next::Invalid(pos, why) => {
                    return Err(Error::Corrupt(format!("{} at {pos}: {why}", self.path.display())))
                }
                Next::Batch(h, pos, _) if pred(&h) => return Ok(Some((pos, h))),
                Next::Batch(..) => {}
            }
        }
    }

    /// Reads `len` bytes at `pos`.
    pub(crate) fn read_bytes(&self, pos: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file()?
            .read_exact_at(&mut buf, pos)
            .map_err(|e| Error::storage(format!("reading {}", self.path.display()), e))?;
        Ok(buf)
    }

    pub(crate) fn reader(&self, pos: u64) -> Result<BatchReader> {
        Ok(BatchReader::new(self.file()?, pos, self.size))
    }

    /// Cuts the segment at `pos` (a batch boundary), dropping index entries past it.
    pub(crate) fn truncate_at(&mut self, pos: u64) -> Result<()> {
        self.file()?
            .set_len(pos)
            .map_err(|e| Error::storage(format!("truncating {}", self.path.display()), e))?;
        self.size = pos;
        Ok(())
    }

    /// Resets the in-memory state before a rebuild from the data.
    pub(crate) fn reset_state(&mut self) {
        self.next_offset = self.base_offset;
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = -1;
        self.rolling_timestamp = None;
        self.bytes_since_index = 0;
        self.index.truncate(0);
        self.index.mark_unpersisted();
        self.time_index.truncate(0);
        self.time_index.mark_unpersisted();
    }

    /// Sets the state recovered from intact index files and a scan of the tail.
    pub(crate) fn set_loaded_state(&mut self, next_offset: i64, max_timestamp: i64, rolling_timestamp: Option<i64>) {
        self.next_offset = next_offset;
        self.max_timestamp = max_timestamp;
        self.rolling_timestamp = rolling_timestamp;
    }

    /// Swaps the data file handle (tests inject a read-only handle to provoke I/O errors).
    #[cfg(test)]
    pub(crate) fn replace_file_for_test(&mut self, file: File) {
        self.file.pool.replace_for_test(self.file.id, file);
    }

    /// Removes the segment's files.
    pub(crate) fn delete_files(self) -> Result<()> {
        let Segment {
            path,
            file,
            index,
            time_index,
            ..
        } = self;
        drop(file);
        for p in [path.as_path(), index.path(), time_index.path()] {
            match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::storage(format!("deleting {}", p.display()), e)),
            }
        }
        Ok(())
    }
}
