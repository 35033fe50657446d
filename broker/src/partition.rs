//! A partition: its log plus the producer state that makes appends idempotent and transactional
//! (sequence checks, ongoing transactions, the aborted-transaction list, the last stable offset).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::config::TopicConfig;
use crate::error::{Error, ErrorCode, Result};
use crate::log::{Log, LogShared};
use crate::record::batch::{self, BatchHeader};
use crate::record::{self, ControlType};
use crate::storage_health::{StorageFault, StorageHealth};

/// How many recent batches per producer are remembered for duplicate detection (Kafka: 5, the
/// largest `max.in.flight.requests.per.connection` idempotence allows).
const DEDUP_WINDOW: usize = 5;

/// Which records a fetch may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Everything up to the high watermark, aborted data included.
    #[default]
    ReadUncommitted,
    /// Only up to the last stable offset; aborted transactions are listed so they can be skipped.
    ReadCommitted,
}

/// An aborted transaction's offset range in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer whose data must be skipped.
    pub producer_id: i64,
    /// First offset the transaction wrote here.
    pub first_offset: i64,
    /// Offset of the abort marker.
    pub last_offset: i64,
}

/// What an append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Offset of the first record appended (or of the original, for a duplicate).
    pub base_offset: i64,
    /// The broker's append time under `LogAppendTime`, else -1.
    pub log_append_time: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
}

/// What a partition fetch returns.
#[derive(Debug, Clone)]
pub struct FetchData {
    /// Whole batches, concatenated.
    pub records: Bytes,
    /// The high watermark (log end offset on one node).
    pub high_watermark: i64,
    /// The last stable offset.
    pub last_stable_offset: i64,
    /// The log start offset.
    pub log_start_offset: i64,
    /// Aborted transactions overlapping the returned range (read_committed only).
    pub aborted: Vec<AbortedTxn>,
}

/// One producer's state in a partition, as `DescribeProducers` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    /// Producer id.
    pub producer_id: i64,
    /// Current epoch.
    pub producer_epoch: i16,
    /// Last sequence appended, -1 if none.
    pub last_sequence: i32,
    /// Timestamp of the last append.
    pub last_timestamp: i64,
    /// Epoch of the coordinator that wrote the last marker.
    pub coordinator_epoch: i32,
    /// First offset of the ongoing transaction, if any.
    pub current_txn_start_offset: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    first_offset: i64,
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
    last_timestamp: i64,
    coordinator_epoch: i32,
}

impl ProducerEntry {
    fn new(epoch: i16) -> ProducerEntry {
        ProducerEntry {
            epoch,
            batches: VecDeque::new(),
            last_timestamp: -1,
            coordinator_epoch: -1,
        }
    }

    fn last_seq(&self) -> i32 {
        self.batches.back().map_or(-1, |b| b.last_seq)
    }

    fn remember(&mut self, h: &BatchHeader, first_offset: i64) {
        self.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            first_offset,
        });
        if self.batches.len() > DEDUP_WINDOW {
            self.batches.pop_front();
        }
        self.last_timestamp = h.max_timestamp;
    }
}

#[derive(Debug)]
struct State {
    log: Log,
    producers: HashMap<i64, ProducerEntry>,
    /// Producer id -> first offset of its open transaction in this partition.
    ongoing: HashMap<i64, i64>,
    aborted: Vec<AbortedTxn>,
}

/// The outcome of checking a producer batch against the producer state.
enum Check {
    Append,
    Duplicate(i64),
}

fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

impl State {
    fn check_producer(&self, h: &BatchHeader) -> Result<Check> {
        let Some(entry) = self.producers.get(&h.producer_id) else {
            if h.base_sequence != 0 {
                return Err(Error::kafka(
                    ErrorCode::OutOfOrderSequenceNumber,
                    format!(
                        "unknown producer {} must start at sequence 0, got {}",
                        h.producer_id, h.base_sequence
                    ),
                ));
            }
            return Ok(Check::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(Error::kafka(
                ErrorCode::InvalidProducerEpoch,
                format!(
                    "producer {} epoch {} is older than the current epoch {}",
                    h.producer_id, h.producer_epoch, entry.epoch
                ),
            ));
        }
        if h.producer_epoch == entry.epoch {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == h.base_sequence && b.last_seq == h.last_sequence())
            {
                return Ok(Check::Duplicate(dup.first_offset));
            }
        }
        let last = if h.producer_epoch == entry.epoch { entry.last_seq() } else { -1 };
        let expected = if last < 0 { 0 } else { next_seq(last) };
        if h.base_sequence != expected {
            return Err(Error::kafka(
                ErrorCode::OutOfOrderSequenceNumber,
                format!(
                    "out of order sequence for producer {}: expected {expected}, got {}",
                    h.producer_id, h.base_sequence
                ),
            ));
        }
        Ok(Check::Append)
    }

    fn apply_batch(&mut self, h: &BatchHeader, bytes: &[u8]) {
        if !h.has_producer_id() {
            return;
        }
        if h.is_control() {
            let Ok(kind) = record::control_type(bytes) else {
                tracing::warn!(offset = h.base_offset, "skipping undecodable control batch");
                return;
            };
            self.apply_marker(h.producer_id, h.producer_epoch, kind, h.base_offset);
            return;
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry::new(h.producer_epoch));
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.remember(h, h.base_offset);
        if h.is_transactional() {
            self.ongoing.entry(h.producer_id).or_insert(h.base_offset);
        }
    }

    fn apply_marker(&mut self, pid: i64, epoch: i16, kind: ControlType, marker_offset: i64) {
        let entry = self
            .producers
            .entry(pid)
            .or_insert_with(|| ProducerEntry::new(epoch));
        if epoch > entry.epoch {
            entry.epoch = epoch;
            entry.batches.clear();
        }
        if let Some(first) = self.ongoing.remove(&pid) {
            if kind == ControlType::Abort {
                self.aborted.push(AbortedTxn {
                    producer_id: pid,
                    first_offset: first,
                    last_offset: marker_offset,
                });
            }
        }
    }

    fn last_stable_offset(&self) -> i64 {
        self.ongoing
            .values()
            .copied()
            .min()
            .unwrap_or_else(|| self.log.log_end_offset())
    }
}

/// One partition of a topic.
#[derive(Debug)]
pub struct Partition {
    pub(crate) topic: String,
    pub(crate) index: i32,
    state: Mutex<State>,
    health: StorageHealth,

    /// The offset below which the log is known durable; held while syncing (group commit).
    durable: Mutex<i64>,
}

impl Partition {
    /// Opens the partition's log in `dir` (its files through `shared`), recovering it and
    /// rebuilding producer state.
    pub(crate) fn open(
        topic: &str,
        index: i32,
        dir: PathBuf,
        config: TopicConfig,
        shared: Arc<LogShared>,
    ) -> Result<Partition> {
        let log = Log::open_in(dir, config, shared)?;
        let mut state = State {
            log,
            producers: HashMap::new(),
            ongoing: HashMap::new(),
            aborted: Vec::new(),
        };
        let start = state.log.log_start_offset();
        let mut seen = Vec::new();
        state.log.scan_batches(start, &mut |h: &BatchHeader, bytes: &[u8]| {
            if h.has_producer_id() {
                let control = if h.is_control() { Some(bytes.to_vec()) } else { None };
                seen.push((*h, control));
            }
            Ok(())
        })?;
        for (h, control) in seen {
            state.apply_batch(&h, control.as_deref().unwrap_or(&[]));
        }
        Ok(Partition {
            topic: topic.to_owned(),
            index,
            state: Mutex::new(state),
            health: StorageHealth::default(),

            durable: Mutex::new(0),
        })
    }

    /// Validates and appends the batches of one produce request for this partition.
    ///
    /// # Errors
    /// `CorruptMessage` for a bad batch, `MessageTooLarge`, `InvalidProducerEpoch`,
    /// `OutOfOrderSequenceNumber`; nothing is appended for a batch that fails.
    pub(crate) fn append(&self, batches: &mut [u8], now_ms: i64) -> Result<AppendResult> {
        let r = self.append_from(batches, now_ms, true);
        self.health.observe(&self.topic, self.index, &r, now_ms);
        r
    }

    /// Appends records the broker writes itself (coordinator records): no client checks of
    /// producer sequences, as Kafka's `AppendOrigin.COORDINATOR`.
    pub(crate) fn append_internal(&self, batches: &mut [u8], now_ms: i64) -> Result<AppendResult> {
        let r = self.append_from(batches, now_ms, false);
        self.health.observe(&self.topic, self.index, &r, now_ms);
        r
    }

    /// The storage fault appends are failing on, if they are.
    pub(crate) fn storage_fault(&self) -> Option<StorageFault> {
        self.health.fault()
    }

    /// Makes the log's appends fail with `kind` (`None`: succeed again), as a full disk would.
    #[cfg(test)]
    pub(crate) fn inject_storage_fault(&self, kind: Option<std::io::ErrorKind>) {
        self.state.lock().log.injected_fault = kind;
    }

    fn append_from(&self, batches: &mut [u8], now_ms: i64, from_client: bool) -> Result<AppendResult> {
        let ranges = batch::split_batches(batches)?;
        if ranges.is_empty() {
            return Err(Error::kafka(ErrorCode::InvalidRecord, "empty record set"));
        }
        let mut st = self.state.lock();
        let max = st.log.config().max_message_bytes;
        let mut first: Option<i64> = None;
        let mut append_time = -1;
        for (_, range) in ranges {
            let h = batch::validate(&batches[range.clone()])?;
            if h.total_len() > max {
                return Err(Error::MessageTooLarge { size: h.total_len(), max });
            }
            if h.is_control() && from_client {
                return Err(Error::kafka(
                    ErrorCode::InvalidRecord,
                    "clients may not write control batches",
                ));
            }
            if h.has_producer_id() && from_client {
                if let Check::Duplicate(offset) = st.check_producer(&h)? {
                    first.get_or_insert(offset);
                    continue;
                }
            }
            let info = st.log.append(&mut batches[range.clone()], now_ms)?;
            let mut appended = h;
            appended.base_offset = info.first_offset;
            st.apply_batch(&appended, &[]);
            first.get_or_insert(info.first_offset);
            if st.log.config().timestamp_type == crate::config::TimestampType::LogAppendTime {
                append_time = now_ms;
            }
        }
        Ok(AppendResult {
            base_offset: first.unwrap_or(-1),
            log_append_time: append_time,
            log_start_offset: st.log.log_start_offset(),
        })
    }

    /// Writes a transaction marker for `producer_id` and updates the transaction state.
    ///
    /// # Errors
    /// `InvalidProducerEpoch` for a marker older than the producer's epoch; storage errors.
    pub(crate) fn write_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        kind: ControlType,
        coordinator_epoch: i32,
        now_ms: i64,
    ) -> Result<i64> {
        let mut st = self.state.lock();
        if let Some(e) = st.producers.get(&producer_id) {
            if producer_epoch < e.epoch {
                return Err(Error::kafka(
                    ErrorCode::InvalidProducerEpoch,
                    format!("marker epoch {producer_epoch} older than {}", e.epoch),
                ));
            }
        }
        let mut marker =
            record::control_batch(producer_id, producer_epoch, kind, coordinator_epoch, now_ms);
        let info = st.log.append(&mut marker, now_ms)?;
        st.apply_marker(producer_id, producer_epoch, kind, info.first_offset);
        if let Some(e) = st.producers.get_mut(&producer_id) {
            e.coordinator_epoch = coordinator_epoch;
        }
        Ok(info.first_offset)
    }

    /// Whole batches from `offset`, bounded by `max_bytes` (at least one batch) and by the high
    /// watermark or, for read_committed, the last stable offset.
    ///
    /// # Errors
    /// `OffsetOutOfRange` outside `[log_start, log_end]`; storage errors.
    pub(crate) fn read(&self, offset: i64, max_bytes: usize, isolation: IsolationLevel) -> Result<FetchData> {
        let st = self.state.lock();
        let hw = st.log.log_end_offset();
        let lso = st.last_stable_offset();
        let upto = match isolation {
            IsolationLevel::ReadUncommitted => hw,
            IsolationLevel::ReadCommitted => lso,
        };
        let res = st.log.read(offset, max_bytes, upto)?;
        let aborted = if isolation == IsolationLevel::ReadCommitted && !res.records.is_empty() {
            st.aborted
                .iter()
                .filter(|a| a.last_offset >= offset && a.first_offset < res.next_offset)
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        Ok(FetchData {
            records: res.records,
            high_watermark: hw,
            last_stable_offset: lso,
            log_start_offset: st.log.log_start_offset(),
            aborted,
        })
    }

    /// The log start offset.
    pub(crate) fn log_start_offset(&self) -> i64 {
        self.state.lock().log.log_start_offset()
    }

    /// The high watermark: the log end offset on one node.
    pub(crate) fn high_watermark(&self) -> i64 {
        self.state.lock().log.log_end_offset()
    }

    /// The last stable offset: the first offset of the oldest open transaction, else the high
    /// watermark.
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.state.lock().last_stable_offset()
    }

    /// The first record with a timestamp at or after `ts`: `(offset, timestamp)`.
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub(crate) fn offset_for_timestamp(&self, ts: i64) -> Result<Option<(i64, i64)>> {
        let found = self.state.lock().log.batch_for_timestamp(ts)?;
        let Some((_, bytes)) = found else { return Ok(None) };
        let (_, records) = record::decode_batch_bytes(bytes)?;
        Ok(records
            .iter()
            .find(|r| r.timestamp >= ts)
            .map(|r| (r.offset, r.timestamp)))
    }

    /// The record with the largest timestamp (ListOffsets' MAX_TIMESTAMP): `(offset, timestamp)`.
    ///
    /// # Errors
    /// Storage or corruption errors.
    pub(crate) fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>> {
        let found = self.state.lock().log.batch_with_max_timestamp()?;
        let Some((h, bytes)) = found else { return Ok(None) };
        let (_, records) = record::decode_batch_bytes(bytes)?;
        Ok(records
            .iter()
            .find(|r| r.timestamp == h.max_timestamp)
            .map(|r| (r.offset, r.timestamp)))
    }

    /// Moves the log start offset forward (DeleteRecords). -1 means the high watermark.
    ///
    /// # Errors
    /// `OffsetOutOfRange` beyond the high watermark.
    pub(crate) fn delete_records(&self, offset: i64) -> Result<i64> {
        let mut st = self.state.lock();
        let target = if offset == -1 { st.log.log_end_offset() } else { offset };
        if target < 0 || target > st.log.log_end_offset() {
            return Err(Error::OffsetOutOfRange {
                offset,
                start: st.log.log_start_offset(),
                end: st.log.log_end_offset(),
            });
        }
        let start = st.log.delete_records(target)?;
        st.aborted.retain(|a| a.last_offset >= start);
        Ok(start)
    }

    /// Applies the delete cleanup policy (when `retention`) and the compact one (when
    /// `compact`); returns segments deleted.
    pub(crate) fn cleanup(&self, now_ms: i64, retention: bool, compact: bool) -> Result<usize> {
        let mut st = self.state.lock();
        let policy = st.log.config().cleanup_policy;
        let mut deleted = 0;
        if retention && policy.delete {
            deleted = st.log.enforce_retention(now_ms)?;
            let start = st.log.log_start_offset();
            st.aborted.retain(|a| a.last_offset >= start);
        }
        if compact && policy.compact {
            st.log.compact(now_ms)?;
        }
        Ok(deleted)
    }

    /// Blocks until every record below `upto` is durable. The fsync runs without the
    /// partition's lock, so appends go on meanwhile; callers arriving during an fsync wait for
    /// it and usually find their records covered (group commit).
    ///
    /// # Errors
    /// Storage errors of the fsync.
    pub(crate) fn sync_to(&self, upto: i64) -> Result<()> {
        let mut durable = self.durable.lock();
        if *durable >= upto {
            return Ok(());
        }
        let target = self.state.lock().log.sync_target()?;
        target.sync()?;
        *durable = target.end;
        Ok(())
    }

    /// Forces an fsync.
    pub(crate) fn flush(&self) -> Result<()> {
        self.state.lock().log.flush()
    }

    /// Applies a new topic configuration.
    pub(crate) fn set_config(&self, config: TopicConfig) {
        self.state.lock().log.set_config(config);
    }

    /// Producer states for `DescribeProducers`.
    pub(crate) fn producers(&self) -> Vec<ProducerState> {
        let st = self.state.lock();
        let mut out: Vec<ProducerState> = st
            .producers
            .iter()
            .map(|(&pid, e)| ProducerState {
                producer_id: pid,
                producer_epoch: e.epoch,
                last_sequence: e.last_seq(),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_start_offset: st.ongoing.get(&pid).copied(),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// Removes the partition's directory.
    pub(crate) fn delete(self) -> Result<()> {
        self.state.into_inner().log.delete()
    }

    /// Reads every batch from `offset` on, for replaying internal topics at startup.
    pub(crate) fn scan(&self, f: &mut dyn FnMut(&BatchHeader, &[u8]) -> Result<()>) -> Result<()> {
        let st = self.state.lock();
        let start = st.log.log_start_offset();
        st.log.scan_batches(start, f)
    }
}
