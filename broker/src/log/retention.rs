//! Deleting old data: `retention.ms`, `retention.bytes` and DeleteRecords (the log start offset,
//! checkpointed in the log directory so it survives restarts).


use crate::error::{Error, Result};

use super::start_offset::write_log_start_offset;
use super::Log;

impl Log {
    /// DeleteRecords: moves the log start offset up to `offset` and deletes the segments wholly
    /// below it. The new start offset is checkpointed before any file is deleted. Returns the
    /// (possibly unchanged) log start offset.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] when `offset` is past the log end offset, [`Error::Storage`]
    /// on I/O errors.
    pub(crate) fn delete_records(&mut self, offset: i64) -> Result<i64> {
        let end = self.log_end_offset();
        if offset > end || offset < 0 {
            return Err(Error::OffsetOutOfRange {
                offset,
                start: self.log_start_offset,
                end,
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        write_log_start_offset(&self.dir, offset)?;
        self.log_start_offset = offset;
        if offset == end && !self.active().is_empty() {
            self.roll(end, "delete records")?;
        }
        let bases: Vec<i64> = self.segment_base_offsets();
        let doomed = bases
            .windows(2)
            .take_while(|w| w[1] <= offset)
            .count();
        self.delete_oldest(doomed)?;
        Ok(self.log_start_offset)
    }

    /// Deletes, oldest first, the segments past `retention.ms` (by their largest timestamp) and
    /// then while the log is larger than `retention.bytes`. Only for `cleanup.policy` containing
    /// `delete`. As in Kafka the active segment goes too when its turn comes and it holds
    /// records: the log first rolls a new, empty active segment at the log end offset, so the
    /// offsets go on. Returns the number of segments deleted.
    ///
    /// # Errors
    /// [`Error::Storage`] when a file cannot be created or deleted.
    pub(crate) fn enforce_retention(&mut self, now_ms: i64) -> Result<usize> {
        if !self.config.cleanup_policy.delete {
            return Ok(0);
        }
        // Every segment, but an empty active one (Kafka's `isLastSegmentAndEmpty`).
        let keep_active = usize::from(self.active().is_empty());
        let candidates: Vec<(u64, i64)> = self
            .segments
            .values()
            .take(self.segments.len() - keep_active)
            .map(|s| (s.size, s.max_timestamp))
            .collect();
        let mut n = 0;
        if self.config.retention_ms >= 0 {
            n = candidates
                .iter()
                .take_while(|(_, ts)| now_ms.saturating_sub(*ts) > self.config.retention_ms)
                .count();
        }
        if self.config.retention_bytes >= 0 {
            let mut diff = self.size_bytes() as i64 - self.config.retention_bytes;
            diff -= candidates[..n].iter().map(|(size, _)| *size as i64).sum::<i64>();
            for (size, _) in &candidates[n..] {
                if diff - (*size as i64) < 0 {
                    break;
                }
                diff -= *size as i64;
                n += 1;
            }
        }
        if n == 0 {
            return Ok(0);
        }
        if n == self.segments.len() {
            let end = self.log_end_offset();
            self.roll(end, "retention")?;
        }
        tracing::info!(dir = %self.dir.display(), segments = n, "deleting segments past retention");
        self.delete_oldest(n)?;
        Ok(n)
    }

    /// Deletes the `n` oldest segments (never the active one) and moves the log start offset to
    /// the new first segment when it was below it.
    fn delete_oldest(&mut self, n: usize) -> Result<()> {
        let n = n.min(self.segments.len() - 1);
        for _ in 0..n {
            if let Some((_, seg)) = self.segments.pop_first() {
                seg.delete_files()?;
            }
        }
        let first = self.first_segment().base_offset;
        self.log_start_offset = self.log_start_offset.max(first);
        Ok(())
    }
}
