//! Log compaction for `cleanup.policy` containing `compact`.
//!
//! One pass:
//! 1. Scans the log for transaction outcomes: transactional records count only once their
//!    commit marker has been seen; records of aborted or still-open transactions never supersede
//!    anything.
//! 2. Reads the batches of the *dirty section* (from the first segment not cleaned by an earlier
//!    pass to the log end, the active segment included) into a bounded [`OffsetMap`]: per key,
//!    the offset of its latest record. When the map (`log.cleaner.dedupe.buffer.size`) is full,
//!    the range mapped so far is cleaned (step 3) and the next range mapped, as many rounds as
//!    needed (Kafka instead leaves the rest for its next pass). Records past the mapped range are
//!    kept as they are in that round, so the rounds together drop exactly what one unbounded
//!    map would.
//! 3. Rewrites each *cleanable* segment that has something to drop: the closed segments, oldest
//!    first, up to the first one holding a batch newer than `min.compaction.lag.ms` (so records
//!    newer than the lag are never dropped). A record is kept when it is the latest for its key
//!    (or has a null key); a key missing from the map had its last record cleaned by an earlier
//!    pass, where everything older was dropped. A latest record that is a tombstone (null value) is dropped once its
//!    batch's max timestamp is older than `now - delete.retention.ms`: consumers that keep up
//!    within `delete.retention.ms` of the tombstone see it. Surviving records keep their offsets
//!    (`rebuild_batch` keeps each batch's base and last offset).
//! 4. Leaves alone: control batches (transaction markers), and transactional batches that are
//!    aborted or not yet decided (aborted data may remain; `read_committed` consumers skip it
//!    through the markers as before). A batch whose records were all dropped disappears, unless
//!    it is the last batch of its producer id in the log, which stays as an empty batch so the
//!    producer's sequence state survives (Kafka does the same).
//!
//! Consecutive cleanable segments whose total size (before cleaning) fits `segment.bytes` are
//! merged into one, named after the first, as Kafka's cleaner groups them. A run is rewritten
//! only when something in it can be dropped or it has more than one segment.
//!
//! A pass runs only when the cleanable segments not cleaned by an earlier pass make up at least
//! `min.cleanable.dirty.ratio` of the cleanable bytes, or when a tombstone kept by the last pass
//! has expired since. This state is kept in memory: after a restart the first pass treats the
//! whole log as dirty.
//!
//! Crash safety: the new data is written to `B.log.cleaned` and fsynced, renamed to
//! `B.log.swap` (the commit point), the old segments' files deleted, and the swap renamed to
//! `B.log`. On open, `.cleaned` files are removed and `.swap` files complete their swap (see
//! `recovery`): the segments with base offsets in `[B, swap's next offset)` are replaced. An old
//! segment of the run past the swap's last offset (all its records were dropped) may then
//! survive a crash; it holds only superseded records, which the next pass drops again.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Write};

use crate::error::{Error, Result};
use crate::record::batch::set_partition_leader_epoch;
use crate::record::{control_type, decode_batch, rebuild_batch, ControlType};

use super::offset_map::OffsetMap;
use super::recovery::{recover_segment, remove_segment_files, sync_dir, CLEANED_SUFFIX, SWAP_SUFFIX};
use super::segment::{file_name, Next, Segment, LOG_SUFFIX, MAX_SEGMENT_BYTES};
use super::compaction::{CleanerState, CompactionStats};
use super::Log;

/// What a scan of the whole log learns about transactions.
#[derive(Debug, Default)]
struct TxnStatus {
    /// Base offsets of transactional batches that are aborted or undecided.
    untouchable: HashSet<i64>,
    /// Base offset of the last batch of each producer id.
    last_of_producer: HashMap<i64, i64>,
}

/// The offset map of one round and the offset range it covers.
#[derive(Debug)]
struct Mapped<'m> {
    map: &'m OffsetMap,
    /// Records at or past this offset were not mapped: they are kept as they are.
    end: i64,
}

/// The tombstone rule of one pass.
#[derive(Debug)]
struct Rules {
    /// Tombstones in batches with a max timestamp below this are dropped.
    horizon: i64,
    /// `delete.retention.ms`.
    retention: i64,
    /// The earliest expiry of a tombstone kept in this pass.
    next_expiry: Option<i64>,
}

#[cfg(test)]
thread_local! {
    /// Test hook: stop a pass with an error after step 1 (cleaned written), 2 (renamed to swap)
    /// or 3 (old files deleted) of the first segment swap.
    pub(crate) static CRASH_AFTER: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

fn crash_point(_step: u8) -> Result<()> {
    #[cfg(test)]
    if CRASH_AFTER.with(|c| c.get()) == _step {
        return Err(Error::Shutdown);
    }
    Ok(())
}

impl Log {
    /// One compaction pass (see the module documentation). Does nothing unless `cleanup.policy`
    /// contains `compact`.
    ///
    /// # Errors
    /// [`Error::Storage`] on I/O errors, [`Error::Corrupt`] on undecodable batches; the log stays
    /// consistent either way.
    pub(crate) fn compact(&mut self, now_ms: i64) -> Result<CompactionStats> {
        let mut stats = CompactionStats::default();
        if !self.config.cleanup_policy.compact {
            return Ok(stats);
        }
        let cleanable = self.cleanable(now_ms);
        if cleanable.is_empty() {
            return Ok(stats);
        }
        let total: u64 = cleanable.iter().map(|c| c.1).sum();
        let dirty: u64 = cleanable.iter().filter(|c| c.0 >= self.cleaner.first_dirty).map(|c| c.1).sum();
        let ratio = if total == 0 { 0.0 } else { dirty as f64 / total as f64 };
        let tombstones_due = self.cleaner.tombstone_expiry.is_some_and(|t| now_ms > t);
        if ratio < self.config.min_cleanable_dirty_ratio && !tombstones_due {
            return Ok(stats);
        }
        let last = cleanable.last().map_or(0, |c| c.0);
        let dirty_end = self.segments.range(last + 1..).next().map_or(last, |(b, _)| *b);
        let status = self.txn_status()?;
        let retention = self.config.delete_retention_ms.max(0);
        let mut rules = Rules {
            horizon: now_ms.saturating_sub(retention),
            retention,
            next_expiry: None,
        };
        let log_end = self.log_end_offset();
        let mut map = OffsetMap::with_memory(self.shared.dedupe_buffer_size);
        let mut from = self.cleaner.first_dirty.max(self.log_start_offset);
        loop {
            map.clear();
            let end = self.map_range(from, &status, &mut map)?;
            stats.passes += 1;
            let mapped = Mapped { map: &map, end };
            let cleanable: Vec<_> = self.cleanable(now_ms).into_iter().filter(|c| c.0 < end).collect();
            for group in self.groups(&cleanable) {
                self.clean_group(&group, &mapped, &status, &mut rules, &mut stats)?;
            }
            if end >= log_end {
                break;
            }
            tracing::debug!(dir = %self.dir.display(), from, end, keys = map.len(), "offset map full: compacting in another pass");
            from = end;
        }
        self.cleaner = CleanerState {
            first_dirty: dirty_end,
            tombstone_expiry: rules.next_expiry,
        };
        if stats.segments_cleaned > 0 {
            tracing::info!(
                dir = %self.dir.display(), segments = stats.segments_cleaned,
                records_removed = stats.records_removed, passes = stats.passes, bytes_before = stats.bytes_before,
                bytes_after = stats.bytes_after, "compacted"
            );
        }
        Ok(stats)
    }

    /// The closed segments old enough for `min.compaction.lag.ms`, oldest first, as
    /// (base offset, size, next offset).
    fn cleanable(&self, now_ms: i64) -> Vec<(i64, u64, i64)> {
        let lag = self.config.min_compaction_lag_ms;
        let lag_limit = now_ms.saturating_sub(lag.max(0));
        self.segments
            .values()
            .take(self.segments.len() - 1)
            .take_while(|s| lag <= 0 || s.max_timestamp <= lag_limit)
            .map(|s| (s.base_offset, s.size, s.next_offset))
            .collect()
    }

    /// Which transactional batches are aborted or undecided, and each producer's last batch
    /// (memory: one entry per such batch and per producer, not per key).
    fn txn_status(&self) -> Result<TxnStatus> {
        let mut status = TxnStatus::default();
        // Per producer id: the base offsets of its open transaction's batches.
        let mut pending: HashMap<i64, Vec<i64>> = HashMap::new();
        self.scan_batches(self.log_start_offset, &mut |h, bytes| {
            if h.has_producer_id() {
                status.last_of_producer.insert(h.producer_id, h.base_offset);
            }
            if h.is_control() {
                let batches = pending.remove(&h.producer_id).unwrap_or_default();
                match control_type(bytes) {
                    Ok(ControlType::Commit) => {}
                    Ok(ControlType::Abort) => status.untouchable.extend(batches),
                    Err(e) => {
                        tracing::warn!(offset = h.base_offset, error = %e, "unreadable control batch: keeping its transaction");
                        status.untouchable.extend(batches);
                    }
                }
            } else if h.is_transactional() {
                pending.entry(h.producer_id).or_default().push(h.base_offset);
            }
            Ok(())
        })?;
        status.untouchable.extend(pending.into_values().flatten());
        Ok(status)
    }

    /// Maps the latest offset of every key from offset `from` on (committed records only) until
    /// the map is full; returns the offset where it stopped (the log end offset when it did not).
    fn map_range(&self, from: i64, status: &TxnStatus, map: &mut OffsetMap) -> Result<i64> {
        let mut end = self.log_end_offset();
        self.scan_batches_while(from, &mut |h, bytes| {
            if h.is_control() || status.untouchable.contains(&h.base_offset) {
                return Ok(true);
            }
            let (_, records) = decode_batch(bytes)?;
            for r in records.iter().filter(|r| r.offset >= from) {
                if let Some(k) = &r.key {
                    if !map.put(k, r.offset) {
                        end = r.offset;
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        })?;
        Ok(end)
    }

    /// Splits the cleanable segments into runs to be merged: consecutive segments whose total
    /// size stays within `segment.bytes` and whose offsets fit one segment (as Kafka's
    /// `groupSegmentsBySize`, on the sizes before cleaning).
    fn groups(&self, cleanable: &[(i64, u64, i64)]) -> Vec<Vec<i64>> {
        let limit = self.config.segment_bytes.min(MAX_SEGMENT_BYTES);
        let mut groups: Vec<Vec<i64>> = Vec::new();
        let mut size = 0;
        let mut first = 0;
        for &(base, seg_size, next) in cleanable {
            match groups.last_mut() {
                Some(g) if size + seg_size <= limit && next - first <= i32::MAX as i64 => {
                    g.push(base);
                    size += seg_size;
                }
                _ => {
                    groups.push(vec![base]);
                    size = seg_size;
                    first = base;
                }
            }
        }
        groups
    }

    /// Rewrites a run of segments into one, named after the first, if anything in them can be
    /// dropped or there is more than one.
    fn clean_group(
        &mut self,
        group: &[i64],
        mapped: &Mapped<'_>,
        status: &TxnStatus,
        rules: &mut Rules,
        stats: &mut CompactionStats,
    ) -> Result<()> {
        let Some(&base) = group.first() else { return Ok(()) };
        let dir = self.dir.clone();
        let cleaned_path = dir.join(format!("{}.{CLEANED_SUFFIX}", file_name(base, LOG_SUFFIX)));
        let file = File::create(&cleaned_path)
            .map_err(|e| Error::storage(format!("creating {}", cleaned_path.display()), e))?;
        let mut out = BufWriter::new(file);
        let mut changed = group.len() > 1;
        let (mut removed, mut dropped, mut before) = (0, 0, 0);
        for b in group {
            let Some(seg) = self.segments.get(b) else { continue };
            before += seg.size;
            let res = clean_into(seg, mapped, status, rules, &mut out, &cleaned_path);
            match res {
                Ok((r, d)) => {
                    changed |= r > 0;
                    removed += r;
                    dropped += d;
                }
                Err(e) => {
                    drop(out);
                    let _ = std::fs::remove_file(&cleaned_path);
                    return Err(e);
                }
            }
        }
        let io_err = |e| Error::storage(format!("writing {}", cleaned_path.display()), e);
        let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
        if !changed {
            drop(file);
            let _ = std::fs::remove_file(&cleaned_path);
            return Ok(());
        }
        file.sync_all().map_err(io_err)?;
        drop(file);
        crash_point(1)?;
        let swap_path = dir.join(format!("{}.{SWAP_SUFFIX}", file_name(base, LOG_SUFFIX)));
        std::fs::rename(&cleaned_path, &swap_path).map_err(io_err)?;
        sync_dir(&dir)?;
        crash_point(2)?;
        for b in group {
            remove_segment_files(&dir, *b)?;
        }
        crash_point(3)?;
        let log_path = dir.join(file_name(base, LOG_SUFFIX));
        std::fs::rename(&swap_path, &log_path).map_err(io_err)?;
        sync_dir(&dir)?;
        // Until the new segment is in place, the old ones stay in the map: their open files
        // still read the replaced data, and the `.swap` (if any) is finished on the next open.
        let mut seg = Segment::open(&dir, base, &self.shared.files)?;
        if recover_segment(&mut seg, self.config.index_interval_bytes)? {
            tracing::error!(segment = base, "a freshly cleaned segment failed validation and was cut");
        }
        seg.persist_indexes(true)?;
        stats.segments_cleaned += group.len();
        stats.records_removed += removed;
        stats.batches_removed += dropped;
        stats.bytes_before += before;
        stats.bytes_after += seg.size;
        for b in group {
            self.segments.remove(b);
        }
        self.segments.insert(base, seg);
        Ok(())
    }
}

/// Copies one segment's batches into `out`, dropping what the map says can go. Returns the
/// number of records and of whole batches dropped.
fn clean_into(
    seg: &Segment,
    mapped: &Mapped<'_>,
    status: &TxnStatus,
    rules: &mut Rules,
    out: &mut impl Write,
    out_path: &std::path::Path,
) -> Result<(usize, usize)> {
    let io_err = |e| Error::storage(format!("writing {}", out_path.display()), e);
    let (mut removed, mut dropped) = (0, 0);
    let mut reader = seg.reader(0)?;
    loop {
        let (h, bytes) = match reader.next_batch()? {
            Next::End => break,
            Next::Invalid(pos, why) => {
                return Err(Error::Corrupt(format!("{} at {pos}: {why}", seg.path().display())));
            }
            Next::Batch(h, _, bytes) => (h, bytes),
        };
        if h.is_control() || h.base_offset >= mapped.end || status.untouchable.contains(&h.base_offset) {
            out.write_all(bytes).map_err(io_err)?;
            continue;
        }
        let (_, records) = decode_batch(bytes)?;
        let total = records.len();
        let mut kept_tombstone = false;
        let kept: Vec<_> = records
            .into_iter()
            .filter(|r| {
                let Some(k) = &r.key else { return true };
                if r.offset >= mapped.end {
                    return true;
                }
                // A key missing from the map has no record in the mapped range: as far as this
                // round knows, the record is its latest.
                let latest = mapped.map.get(k).is_none_or(|o| r.offset >= o);
                if !latest || r.value.is_some() {
                    return latest;
                }
                let expired = h.max_timestamp < rules.horizon;
                kept_tombstone |= !expired;
                !expired
            })
            .collect();
        if kept_tombstone {
            let expiry = h.max_timestamp.saturating_add(rules.retention);
            rules.next_expiry = Some(rules.next_expiry.map_or(expiry, |e| e.min(expiry)));
        }
        if kept.len() == total {
            out.write_all(bytes).map_err(io_err)?;
            continue;
        }
        removed += total - kept.len();
        let last_of_producer =
            h.has_producer_id() && status.last_of_producer.get(&h.producer_id) == Some(&h.base_offset);
        if kept.is_empty() && !last_of_producer {
            dropped += 1;
            continue;
        }
        let mut rebuilt = rebuild_batch(&h, &kept)?;
        set_partition_leader_epoch(&mut rebuilt, h.partition_leader_epoch);
        out.write_all(&rebuilt).map_err(io_err)?;
    }
    Ok((removed, dropped))
}
