//! Partition logs: segments, indexes, recovery, retention and compaction.
//!
//! A [`Log`] is the directory `<log.dirs>/<topic>-<partition>/` holding segments named by their
//! base offset (`00000000000000000000.log`, `.index`, `.timeindex`), Kafka's layout. Batches are
//! stored exactly as received; the log only patches their base offset (and, for
//! `LogAppendTime` topics, their timestamp). See `recovery` for what happens on open, `retention`
//! for deletion and `cleaner` for compaction.
//!
//! - Indexes (`index`) are sparse, one entry per `index.interval.bytes`, kept in memory and
//!   written as plain files when a segment is closed or flushed.
//! - Durability: appends reach the page cache; `flush.messages` / `flush.ms` (or
//!   [`Log::flush`]) fsync them. A segment is fsynced with its indexes when it is rolled, so on
//!   open only the active segment (and any segment with missing or inconsistent indexes) is
//!   scanned batch by batch with CRC checks.
//! - `log-start-offset.checkpoint` in the directory keeps the start offset set by DeleteRecords.
//! - Segment data files are opened on demand through a [`FilePool`] shared by every log of the
//!   broker, which keeps at most `log.open.files.max` open (see `handles`); index files are only
//!   open while they are written.

mod cleaner;
#[cfg(test)]
mod cleaner_tests;
mod compaction;
mod handles;
mod index;
mod offset_map;
mod recovery;
mod retention;
mod segment;
mod start_offset;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::config::{BrokerConfig, TimestampType, TopicConfig};
use crate::error::{Error, ErrorCode, Result};
use crate::record::batch::{set_base_offset, set_log_append_time, split_batches, BatchHeader};

pub(crate) use handles::{default_max_open_files, FilePool};
use compaction::CleanerState;
use segment::{Segment, SyncTarget, MAX_SEGMENT_BYTES};
#[cfg(test)]
pub(crate) use segment::block_syncs_under;

/// What the logs of one broker share: the open-file pool and the cleaner's memory bound.
#[derive(Debug)]
pub(crate) struct LogShared {
    /// Segment data files, at most `log.open.files.max` open at once.
    pub(crate) files: Arc<FilePool>,
    /// `log.cleaner.dedupe.buffer.size`: bytes of the compaction offset map.
    pub(crate) dedupe_buffer_size: usize,
}

impl LogShared {
    /// The shared resources for the logs of a broker running with `config`.
    pub(crate) fn new(config: &BrokerConfig) -> Arc<LogShared> {
        Arc::new(LogShared {
            files: FilePool::new(config.log_open_files_max),
            dedupe_buffer_size: config.log_cleaner_dedupe_buffer_size,
        })
    }
}

/// Kafka's default `segment.index.bytes` (10 MiB) in offset index entries.
const DEFAULT_MAX_INDEX_ENTRIES: usize = 10 * 1024 * 1024 / 8;

/// What an append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AppendInfo {
    /// Offset of the first record appended.
    pub first_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// Largest batch max timestamp, -1 when there is none.
    pub max_timestamp: i64,
    /// Last offset of the (first) batch carrying `max_timestamp`, -1 when there is none.
    pub offset_of_max_timestamp: i64,
    /// Bytes appended.
    pub bytes: usize,
}

/// Whole batches read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadResult {
    /// Whole batches, concatenated.
    pub records: Bytes,
    /// The offset after the last batch returned; the requested offset when none was.
    pub next_offset: i64,
}

/// One partition's log. Not internally synchronised: the caller holds it in a mutex.
#[derive(Debug)]
pub(crate) struct Log {
    dir: PathBuf,
    config: TopicConfig,
    /// Never empty: the last one is the active segment.
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    /// Offsets appended since the last fsync.
    unflushed: i64,
    last_flush_ms: Option<i64>,
    /// The latest `now_ms` an append saw.
    clock_ms: i64,
    max_index_entries: usize,
    shared: Arc<LogShared>,
    /// Compaction state (in memory: after a restart the first pass treats everything as dirty).
    cleaner: CleanerState,
    /// Test-only fault injection: appends fail with this error before touching the segment.
    #[cfg(test)]
    pub(crate) injected_fault: Option<std::io::ErrorKind>,
}

impl Log {
    /// Opens a log with resources of its own (the default broker settings).
    #[cfg(test)]
    pub(crate) fn open(dir: PathBuf, config: TopicConfig) -> Result<Log> {
        Log::open_in(dir, config, LogShared::new(&BrokerConfig::default()))
    }

    /// Opens (creating if missing) and recovers the log in `dir`, its files opened through
    /// `shared`.
    ///
    /// # Errors
    /// [`Error::Storage`] when the directory or its files cannot be read or written. A torn or
    /// corrupt tail is truncated (with a warning), never an error.
    pub(crate) fn open_in(dir: PathBuf, config: TopicConfig, shared: Arc<LogShared>) -> Result<Log> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::storage(format!("creating {}", dir.display()), e))?;
        let mut segments = recovery::open_segments(&dir, config.index_interval_bytes, &shared.files)?;
        let checkpoint = start_offset::read_log_start_offset(&dir)?;
        if segments.is_empty() {
            let base = checkpoint.unwrap_or(0).max(0);
            segments.insert(base, Segment::create(&dir, base, &shared.files)?);
        }
        let mut log = Log {
            dir,
            config,
            segments,
            log_start_offset: 0,
            unflushed: 0,
            last_flush_ms: None,
            clock_ms: 0,
            max_index_entries: DEFAULT_MAX_INDEX_ENTRIES,
            shared,
            cleaner: CleanerState::default(),
            #[cfg(test)]
            injected_fault: None,
        };
        let first = log.first_segment().base_offset;
        log.log_start_offset = checkpoint.unwrap_or(first).max(first).min(log.log_end_offset());
        tracing::debug!(
            dir = %log.dir.display(), segments = log.segments.len(),
            start = log.log_start_offset, end = log.log_end_offset(), "opened log"
        );
        Ok(log)
    }

    /// Replaces the topic configuration; it applies from the next operation on.
    pub(crate) fn set_config(&mut self, config: TopicConfig) {
        self.config = config;
    }

    pub(crate) fn config(&self) -> &TopicConfig {
        &self.config
    }

    fn first_segment(&self) -> &Segment {
        self.segments.values().next().expect("a log always has a segment")
    }

    fn active(&self) -> &Segment {
        self.segments.values().next_back().expect("a log always has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.values_mut().next_back().expect("a log always has a segment")
    }

    /// The first offset still readable.
    pub(crate) fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The next offset to be assigned.
    pub(crate) fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    /// Bytes of all segment data files.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size).sum()
    }

    /// Base offsets of the segments, oldest first (the last one is active).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.keys().copied().collect()
    }

    /// Offsets appended since the last fsync.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn unflushed_messages(&self) -> i64 {
        self.unflushed
    }

    /// Overrides the number of offset index entries after which a segment is rolled (Kafka's
    /// `segment.index.bytes` / 8). Default: 1310720.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn set_max_index_entries(&mut self, n: usize) {
        self.max_index_entries = n.max(1);
    }

    /// Appends whole v2 batches, assigning offsets from the log end offset on.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] when one batch exceeds `max.message.bytes`, [`Error::Corrupt`]
    /// when `batches` does not split into whole batches, [`Error::Storage`] on I/O errors (nothing
    /// of the failed append stays visible).
    pub(crate) fn append(&mut self, batches: &mut [u8], now_ms: i64) -> Result<AppendInfo> {
        let ranges = self.split_checked(batches)?;
        let mut next = self.log_end_offset();
        let stamp = self.config.timestamp_type == TimestampType::LogAppendTime;
        let mut headers = Vec::with_capacity(ranges.len());
        for (_, r) in ranges {
            let b = &mut batches[r];
            set_base_offset(b, next);
            if stamp {
                set_log_append_time(b, now_ms);
            }
            let h = BatchHeader::parse(b)?;
            next = h.next_offset();
            headers.push(h);
            debug_assert_eq!(h.total_len(), b.len());
        }
        self.append_headers(batches, headers, now_ms)
    }

    /// Appends batches keeping the offsets they carry (replaying or copying a log).
    ///
    /// # Errors
    /// As [`Log::append`], and [`ErrorCode::InvalidRecord`] when an offset goes backwards or is
    /// below the log end offset.
    #[cfg_attr(not(test), allow(dead_code))] // API for replaying/copying logs; no caller yet
    pub(crate) fn append_with_offsets(&mut self, batches: &[u8], now_ms: i64) -> Result<AppendInfo> {
        let ranges = self.split_checked(batches)?;
        let mut expect = self.log_end_offset();
        let mut headers = Vec::with_capacity(ranges.len());
        for (h, _) in ranges {
            if h.base_offset < expect {
                return Err(Error::kafka(
                    ErrorCode::InvalidRecord,
                    format!("batch offset {} is below the expected offset {expect}", h.base_offset),
                ));
            }
            expect = h.next_offset();
            headers.push(h);
        }
        self.append_headers(batches, headers, now_ms)
    }

    fn split_checked(&self, batches: &[u8]) -> Result<Vec<(BatchHeader, std::ops::Range<usize>)>> {
        let ranges = split_batches(batches)?;
        for (h, _) in &ranges {
            if h.total_len() > self.config.max_message_bytes {
                return Err(Error::MessageTooLarge {
                    size: h.total_len(),
                    max: self.config.max_message_bytes,
                });
            }
        }
        Ok(ranges)
    }

    fn append_headers(&mut self, bytes: &[u8], headers: Vec<BatchHeader>, now_ms: i64) -> Result<AppendInfo> {
        #[cfg(test)]
        if let Some(kind) = self.injected_fault {
            return Err(Error::storage(format!("appending to {}", self.dir.display()), kind.into()));
        }
        self.clock_ms = self.clock_ms.max(now_ms);
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            let end = self.log_end_offset();
            return Ok(AppendInfo {
                first_offset: end,
                last_offset: end - 1,
                max_timestamp: -1,
                offset_of_max_timestamp: -1,
                bytes: 0,
            });
        };
        let (first_offset, last_offset) = (first.base_offset, last.last_offset());
        let mut info = AppendInfo {
            first_offset,
            last_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            bytes: bytes.len(),
        };
        for h in &headers {
            if h.max_timestamp > info.max_timestamp {
                info.max_timestamp = h.max_timestamp;
                info.offset_of_max_timestamp = h.last_offset();
            }
        }
        self.maybe_roll(&info, now_ms)?;
        let interval = self.config.index_interval_bytes;
        let seg = self.active_mut();
        let undo = (seg.base_offset, seg.size);
        seg.first_append_ms.get_or_insert(now_ms);
        seg.append(bytes, &headers, interval)?;
        self.unflushed += last_offset - first_offset + 1;
        let last_flush = *self.last_flush_ms.get_or_insert(now_ms);
        if self.unflushed >= self.config.flush_messages
            || now_ms.saturating_sub(last_flush) >= self.config.flush_ms
        {
            if let Err(e) = self.flush() {
                // The data may not be durable: take the append back, so that the producer's
                // retry does not duplicate it.
                self.unflushed -= last_offset - first_offset + 1;
                self.undo_append(undo.0, undo.1);
                return Err(e);
            }
        }
        Ok(info)
    }

    /// Cuts the segment `base` back to `size` bytes after a failed append, rebuilding its state.
    fn undo_append(&mut self, base: i64, size: u64) {
        let interval = self.config.index_interval_bytes;
        let Some(seg) = self.segments.get_mut(&base) else { return };
        let res = seg
            .truncate_at(size)
            .and_then(|()| recovery::recover_segment(seg, interval));
        if let Err(e) = res {
            tracing::error!(dir = %self.dir.display(), error = %e, "could not take a failed append back");
        }
    }

    /// Rolls the active segment when the append `info` would take it past `segment.bytes`, its
    /// index or its offset range, or past `segment.ms`. As in Kafka, `segment.ms` compares record
    /// timestamps (the append's largest with the segment's first batch's), not the wall clock:
    /// a segment of old records is not rolled because the broker restarted or time passed. Only
    /// when the first batch has no timestamp does the wall clock (`now_ms`) count, from the
    /// segment's first append.
    fn maybe_roll(&mut self, info: &AppendInfo, now_ms: i64) -> Result<()> {
        let (first_offset, last_offset) = (info.first_offset, info.last_offset);
        let max_entries = self.max_index_entries;
        let limit = self.config.segment_bytes.min(MAX_SEGMENT_BYTES);
        let segment_ms = self.config.segment_ms;
        let seg = self.active();
        let waited_ms = match seg.rolling_timestamp {
            Some(first) if first >= 0 => info.max_timestamp.saturating_sub(first),
            _ => now_ms.saturating_sub(seg.first_append_ms.unwrap_or(now_ms)),
        };
        let reason = if !seg.can_hold(last_offset) || !seg.can_hold(first_offset) {
            "offset range"
        } else if seg.is_empty() {
            return Ok(());
        } else if seg.size + info.bytes as u64 > limit {
            "segment.bytes"
        } else if waited_ms > segment_ms {
            "segment.ms"
        } else if seg.index.len() >= max_entries || seg.time_index.len() >= max_entries {
            "index full"
        } else {
            return Ok(());
        };
        self.roll(first_offset, reason)
    }

    /// Closes the active segment and starts a new one at `base`.
    fn roll(&mut self, base: i64, reason: &str) -> Result<()> {
        let old = self.active_mut();
        let old_base = old.base_offset;
        if old.is_empty() && old_base == base {
            return Ok(());
        }
        if !old.is_empty() {
            old.close_for_append()?;
        }
        let new = Segment::create(&self.dir, base, &self.shared.files)?;
        self.segments.insert(base, new);
        if self.segments.get(&old_base).is_some_and(Segment::is_empty) {
            if let Some(s) = self.segments.remove(&old_base) {
                s.delete_files()?;
            }
        }
        tracing::debug!(dir = %self.dir.display(), base, reason, "rolled a new segment");
        Ok(())
    }

    /// Whole batches from the one containing `offset`, up to `max_bytes` (at least one batch
    /// when one is available), only batches whose base offset is below `upto`.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] outside `[log_start_offset, log_end_offset]`,
    /// [`Error::Storage`] / [`Error::Corrupt`] when the data cannot be read.
    pub(crate) fn read(&self, offset: i64, max_bytes: usize, upto: i64) -> Result<ReadResult> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(Error::OffsetOutOfRange {
                offset,
                start: self.log_start_offset,
                end,
            });
        }
        // The bytes read from each segment, kept as read: a fetch within one segment (the usual
        // case) hands its read buffer on without copying it.
        let mut parts: Vec<Bytes> = Vec::new();
        let mut len = 0usize;
        let mut next_offset = offset;
        let start_base = self.segments.range(..=offset).next_back().map_or(offset, |(b, _)| *b);
        for seg in self.segments.range(start_base..).map(|(_, s)| s) {
            let Some((pos, h)) = seg.locate(next_offset)? else { continue };
            if h.base_offset >= upto {
                break;
            }
            let budget = max_bytes.saturating_sub(len);
            if budget < h.total_len() && len > 0 {
                break;
            }
            let want = (budget.max(h.total_len()) as u64).min(seg.size - pos) as usize;
            let buf = seg.read_bytes(pos, want)?;
            let mut taken = 0;
            for (h, r) in split_prefix(&buf) {
                let first = len == 0 && taken == 0;
                if h.base_offset >= upto || (r.end > budget && !first) {
                    break;
                }
                taken = r.end;
                next_offset = h.next_offset();
            }
            let read = buf.len();
            if taken > 0 {
                let mut buf = Bytes::from(buf);
                buf.truncate(taken);
                parts.push(buf);
                len += taken;
            }
            if taken < read || pos + (taken as u64) < seg.size || len >= max_bytes {
                break;
            }
        }
        let records = match parts.len() {
            0 => Bytes::new(),
            1 => parts.swap_remove(0),
            _ => {
                let mut out = BytesMut::with_capacity(len);
                for p in &parts {
                    out.extend_from_slice(p);
                }
                out.freeze()
            }
        };
        Ok(ReadResult { records, next_offset })
    }

    /// The first batch whose max timestamp is >= `ts`, with its bytes.
    ///
    /// # Errors
    /// [`Error::Storage`] / [`Error::Corrupt`] when the data cannot be read.
    pub(crate) fn batch_for_timestamp(&self, ts: i64) -> Result<Option<(BatchHeader, Bytes)>> {
        for seg in self.segments.values() {
            if seg.max_timestamp < ts || seg.next_offset <= self.log_start_offset {
                continue;
            }
            if let Some((pos, h)) = seg.locate_timestamp(ts, self.log_start_offset)? {
                let bytes = seg.read_bytes(pos, h.total_len())?;
                return Ok(Some((h, Bytes::from(bytes))));
            }
        }
        Ok(None)
    }

    /// The first batch carrying the log's largest max timestamp (ListOffsets' MAX_TIMESTAMP),
    /// found through the segments' max timestamps and time indexes instead of a scan.
    ///
    /// # Errors
    /// [`Error::Storage`] / [`Error::Corrupt`] when the data cannot be read.
    pub(crate) fn batch_with_max_timestamp(&self) -> Result<Option<(BatchHeader, Bytes)>> {
        let best = self
            .segments
            .values()
            .filter(|s| s.next_offset > self.log_start_offset && s.max_timestamp >= 0)
            .fold(None::<&Segment>, |b, s| match b {
                Some(b) if b.max_timestamp >= s.max_timestamp => Some(b),
                _ => Some(s),
            });
        let Some(seg) = best else { return Ok(None) };
        match seg.locate_timestamp(seg.max_timestamp, self.log_start_offset)? {
            Some((pos, h)) => Ok(Some((h, Bytes::from(seg.read_bytes(pos, h.total_len())?)))),
            None => Ok(None),
        }
    }

    /// What to fsync, outside the log's lock, to make every append so far durable: the active
    /// segment (closed segments were fsynced when they were rolled). Its indexes need no sync:
    /// recovery rebuilds the active segment's.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be reopened.
    pub(crate) fn sync_target(&self) -> Result<SyncTarget> {
        self.active().sync_target()
    }

    /// fsyncs every segment written since the last flush.
    ///
    /// # Errors
    /// [`Error::Storage`] when a sync fails.
    pub(crate) fn flush(&mut self) -> Result<()> {
        for seg in self.segments.values_mut().filter(|s| s.dirty) {
            seg.flush()?;
        }
        self.unflushed = 0;
        self.last_flush_ms = Some(self.clock_ms);
        Ok(())
    }

    /// Calls `f` with every batch from the one containing `from` on, in offset order, with the
    /// batch's bytes.
    ///
    /// # Errors
    /// What `f` returns, or [`Error::Storage`] / [`Error::Corrupt`] when the data cannot be read.
    pub(crate) fn scan_batches(
        &self,
        from: i64,
        f: &mut dyn FnMut(&BatchHeader, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.scan_batches_while(from, &mut |h, bytes| f(h, bytes).map(|()| true))
    }

    /// As [`Log::scan_batches`], stopping after the first batch for which `f` returns false.
    ///
    /// # Errors
    /// As [`Log::scan_batches`].
    pub(crate) fn scan_batches_while(
        &self,
        from: i64,
        f: &mut dyn FnMut(&BatchHeader, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let start_base = self.segments.range(..=from).next_back().map_or(from, |(b, _)| *b);
        for seg in self.segments.range(start_base..).map(|(_, s)| s) {
            let mut r = seg.reader(seg.scan_start(from))?;
            loop {
                match r.next_batch()? {
                    segment::Next::End => break,
                    segment::Next::Invalid(pos, why) => {
                        return Err(Error::Corrupt(format!(
                            "{} at position {pos}: {why}",
                            seg.path().display()
                        )))
                    }
                    segment::Next::Batch(h, _, bytes) => {
                        if h.last_offset() >= from && !f(&h, bytes)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes the whole directory (topic deletion).
    ///
    /// # Errors
    /// [`Error::Storage`] when the directory cannot be removed.
    pub(crate) fn delete(self) -> Result<()> {
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(&dir)
            .map_err(|e| Error::storage(format!("deleting {}", dir.display()), e))
    }
}

/// The whole batches at the start of `buf` (a read may end in the middle of one).
fn split_prefix(buf: &[u8]) -> Vec<(BatchHeader, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Ok(h) = BatchHeader::parse(&buf[pos..]) {
        let end = pos + h.total_len();
        if end > buf.len() {
            break;
        }
        out.push((h, pos..end));
        pos = end;
    }
    out
}
