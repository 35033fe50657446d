//! The fixed 61-byte header of a Kafka v2 record batch: parsing, validation and in-place patching.
//!
//! ```text
//! baseOffset: i64 | batchLength: i32 | partitionLeaderEpoch: i32 | magic: i8 (=2) | crc: u32
//! attributes: i16 | lastOffsetDelta: i32 | baseTimestamp: i64 | maxTimestamp: i64
//! producerId: i64 | producerEpoch: i16 | baseSequence: i32 | recordCount: i32 | records...
//! ```
//! The CRC-32C covers everything from `attributes` to the end of the batch, so the broker can
//! rewrite `baseOffset` and `partitionLeaderEpoch` without recomputing it.

use crate::error::{Error, Result};

/// Size of the v2 batch header, up to and including the record count.
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts from: baseOffset + batchLength.
pub const LOG_OVERHEAD: usize = 12;

pub(crate) const BASE_OFFSET: usize = 0;
pub(crate) const BATCH_LENGTH: usize = 8;
pub(crate) const PARTITION_LEADER_EPOCH: usize = 12;
pub(crate) const MAGIC: usize = 16;
pub(crate) const CRC: usize = 17;
pub(crate) const ATTRIBUTES: usize = 21;
pub(crate) const LAST_OFFSET_DELTA: usize = 23;
pub(crate) const BASE_TIMESTAMP: usize = 27;
pub(crate) const MAX_TIMESTAMP: usize = 35;
pub(crate) const PRODUCER_ID: usize = 43;
pub(crate) const PRODUCER_EPOCH: usize = 51;
pub(crate) const BASE_SEQUENCE: usize = 53;
pub(crate) const RECORD_COUNT: usize = 57;

/// Batch attribute bits.
pub mod attributes {
    /// Mask of the compression codec bits.
    pub const COMPRESSION_MASK: i16 = 0x07;
    /// Set when timestamps are `LogAppendTime` rather than `CreateTime`.
    pub const TIMESTAMP_TYPE: i16 = 0x08;
    /// Set on batches written inside a transaction.
    pub const TRANSACTIONAL: i16 = 0x10;
    /// Set on control batches (transaction markers).
    pub const CONTROL: i16 = 0x20;
    /// Set when the batch carries a delete horizon (compaction of tombstones).
    pub const DELETE_HORIZON: i16 = 0x40;
}

/// A decoded v2 batch header. Cheap to copy; the batch bytes stay where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Length of the batch counted from the partition leader epoch (total size - 12).
    pub batch_length: i32,
    /// Leader epoch stamped by the broker.
    pub partition_leader_epoch: i32,
    /// Magic byte; always 2 here.
    pub magic: i8,
    /// CRC-32C of attributes..end.
    pub crc: u32,
    /// Attribute bits, see [`attributes`].
    pub attributes: i16,
    /// Offset of the last record minus the base offset.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Parses the header at the start of `buf` without checking the CRC.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if `buf` is shorter than a header, the magic is not 2, or the lengths
    /// are inconsistent.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader> {
        if buf.len() < BATCH_HEADER_LEN {
            return Err(Error::Corrupt(format!(
                "batch header needs {BATCH_HEADER_LEN} bytes, got {}",
                buf.len()
            )));
        }
        let h = BatchHeader {
            base_offset: i64_at(buf, BASE_OFFSET),
            batch_length: i32_at(buf, BATCH_LENGTH),
            partition_leader_epoch: i32_at(buf, PARTITION_LEADER_EPOCH),
            magic: buf[MAGIC] as i8,
            crc: u32::from_be_bytes([buf[CRC], buf[CRC + 1], buf[CRC + 2], buf[CRC + 3]]),
            attributes: i16_at(buf, ATTRIBUTES),
            last_offset_delta: i32_at(buf, LAST_OFFSET_DELTA),
            base_timestamp: i64_at(buf, BASE_TIMESTAMP),
            max_timestamp: i64_at(buf, MAX_TIMESTAMP),
            producer_id: i64_at(buf, PRODUCER_ID),
            producer_epoch: i16_at(buf, PRODUCER_EPOCH),
            base_sequence: i32_at(buf, BASE_SEQUENCE),
            record_count: i32_at(buf, RECORD_COUNT),
        };
        if h.magic != 2 {
            return Err(Error::Corrupt(format!(
                "unsupported magic {} (only v2 batches are accepted)",
                h.magic
            )));
        }
        if (h.batch_length as i64) < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(Error::Corrupt(format!("batch length {} too small", h.batch_length)));
        }
        if h.last_offset_delta < 0 || h.record_count < 0 {
            return Err(Error::Corrupt(format!(
                "negative last offset delta {} or record count {}",
                h.last_offset_delta, h.record_count
            )));
        }
        Ok(h)
    }

    /// Total size of the batch in bytes, header included.
    pub fn total_len(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Offset the next batch starts at.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// Compression codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression(&self) -> i16 {
        self.attributes & attributes::COMPRESSION_MASK
    }

    /// Whether the batch was written inside a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & attributes::TRANSACTIONAL != 0
    }

    /// Whether this is a control batch (a transaction marker).
    pub fn is_control(&self) -> bool {
        self.attributes & attributes::CONTROL != 0
    }

    /// Whether timestamps are `LogAppendTime`.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & attributes::TIMESTAMP_TYPE != 0
    }

    /// Whether the batch carries producer state (idempotent or transactional).
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence of the last record, wrapping as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        ((self.base_sequence as i64 + self.last_offset_delta as i64) % (i32::MAX as i64 + 1)) as i32
    }
}

/// Computes the CRC-32C that a v2 batch carries: over `attributes..end`.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES..])
}

/// Checks the whole batch: header sanity, exact length and CRC.
///
/// # Errors
/// [`Error::Corrupt`] when anything does not match.
pub fn validate(batch: &[u8]) -> Result<BatchHeader> {
    let h = BatchHeader::parse(batch)?;
    if h.total_len() != batch.len() {
        return Err(Error::Corrupt(format!(
            "batch declares {} bytes but {} were given",
            h.total_len(),
            batch.len()
        )));
    }
    let crc = compute_crc(batch);
    if crc != h.crc {
        return Err(Error::Corrupt(format!(
            "CRC mismatch: header says {:#010x}, data gives {crc:#010x}",
            h.crc
        )));
    }
    Ok(h)
}

/// Splits a buffer of concatenated batches (as a produce request or a log segment carries them)
/// into `(header, range)` pairs, validating lengths but not CRCs.
///
/// # Errors
/// [`Error::Corrupt`] on a partial or malformed batch.
pub fn split_batches(buf: &[u8]) -> Result<Vec<(BatchHeader, std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let h = BatchHeader::parse(&buf[pos..])?;
        let end = pos
            .checked_add(h.total_len())
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "batch at byte {pos} declares {} bytes, only {} remain",
                    h.total_len(),
                    buf.len() - pos
                ))
            })?;
        out.push((h, pos..end));
        pos = end;
    }
    Ok(out)
}

/// Rewrites the base offset of the batch in place (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Rewrites the partition leader epoch in place (not covered by the CRC).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Switches the batch to `LogAppendTime` with the given time and recomputes the CRC, as Kafka
/// does for topics with `message.timestamp.type=LogAppendTime`.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attrs = i16_at(batch, ATTRIBUTES) | attributes::TIMESTAMP_TYPE;
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attrs.to_be_bytes());
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_batch() -> Vec<u8> {
        let mut b = vec![0u8; BATCH_HEADER_LEN];
        b[BATCH_LENGTH..BATCH_LENGTH + 4]
            .copy_from_slice(&((BATCH_HEADER_LEN - LOG_OVERHEAD) as i32).to_be_bytes());
        b[MAGIC] = 2;
        b[PRODUCER_ID..PRODUCER_ID + 8].copy_from_slice(&(-1i64).to_be_bytes());
        let crc = compute_crc(&b);
        b[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn parse_validate_and_patch() {
        let mut b = empty_batch();
        let h = validate(&b).unwrap();
        assert_eq!(h.base_offset, 0);
        assert_eq!(h.producer_id, -1);
        set_base_offset(&mut b, 42);
        set_partition_leader_epoch(&mut b, 7);
        let h = validate(&b).expect("offset and epoch are outside the CRC");
        assert_eq!((h.base_offset, h.partition_leader_epoch), (42, 7));
        set_log_append_time(&mut b, 1234);
        let h = validate(&b).expect("CRC recomputed");
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 1234);
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let mut b = empty_batch();
        b[40] ^= 0xff;
        assert!(matches!(validate(&b), Err(Error::Corrupt(_))));
        assert!(matches!(BatchHeader::parse(&b[..10]), Err(Error::Corrupt(_))));
        let mut b = empty_batch();
        b[MAGIC] = 1;
        assert!(matches!(BatchHeader::parse(&b), Err(Error::Corrupt(_))));
        let mut two = empty_batch();
        two.extend_from_slice(&empty_batch()[..30]);
        assert!(matches!(split_batches(&two), Err(Error::Corrupt(_))));
        let mut b = empty_batch();
        b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(split_batches(&b), Err(Error::Corrupt(_))));
    }
}
