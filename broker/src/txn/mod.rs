//! The transaction coordinator: producer ids and epochs, transaction state persisted in
//! `__transaction_state` (Kafka's `TransactionLogKey` / `TransactionLogValue` v0 schema), commit
//! and abort markers, and the timeout that aborts abandoned transactions.
//!
//! - [`TxnCoordinator`](coordinator::TxnCoordinator): the state and the requests (InitProducerId,
//!   AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit, DescribeTransactions).
//! - [`TxnLog`]: what it needs from the logs, implemented by the broker over its partitions,
//!   as the group coordinator reaches `__consumer_offsets` only through `OffsetsLog`.
//! - `storage`: the `__transaction_state` key/value schemas.

pub(crate) mod coordinator;
mod storage;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use brook_common::{Clock, TopicPartition};

use crate::config::BrokerConfig;
use crate::error::Result;
use crate::record::ControlType;

pub(crate) use coordinator::TxnCoordinator;

/// Kafka's `TransactionState`, with its on-disk status byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    /// No transaction in progress.
    Empty = 0,
    /// Partitions were added; data may have been written.
    Ongoing = 1,
    /// Commit decided; markers being written.
    PrepareCommit = 2,
    /// Abort decided; markers being written.
    PrepareAbort = 3,
    /// The last transaction committed.
    CompleteCommit = 4,
    /// The last transaction aborted.
    CompleteAbort = 5,
    /// The transactional id expired.
    Dead = 6,
}

impl TxnStatus {
    pub(crate) fn from_byte(b: i8) -> Option<TxnStatus> {
        Some(match b {
            0 => TxnStatus::Empty,
            1 => TxnStatus::Ongoing,
            2 => TxnStatus::PrepareCommit,
            3 => TxnStatus::PrepareAbort,
            4 => TxnStatus::CompleteCommit,
            5 => TxnStatus::CompleteAbort,
            6 => TxnStatus::Dead,
            _ => return None,
        })
    }

    /// The name Kafka's tools print.
    pub fn name(self) -> &'static str {
        match self {
            TxnStatus::Empty => "Empty",
            TxnStatus::Ongoing => "Ongoing",
            TxnStatus::PrepareCommit => "PrepareCommit",
            TxnStatus::PrepareAbort => "PrepareAbort",
            TxnStatus::CompleteCommit => "CompleteCommit",
            TxnStatus::CompleteAbort => "CompleteAbort",
            TxnStatus::Dead => "Dead",
        }
    }
}

/// One transactional id's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The transactional id.
    pub transactional_id: String,
    /// Its producer id.
    pub producer_id: i64,
    /// Its current epoch.
    pub producer_epoch: i16,
    /// `transaction.timeout.ms`.
    pub timeout_ms: i32,
    /// Where the transaction is.
    pub status: TxnStatus,
    /// Partitions in the current transaction.
    pub partitions: BTreeSet<TopicPartition>,
    /// When the current transaction started (ms), -1 if none.
    pub start_ms: i64,
    /// When the state last changed (ms).
    pub last_update_ms: i64,
}

/// The consumer group member a transactional offset commit speaks for (TxnOffsetCommit v3+).
#[derive(Debug, Clone, Copy)]
pub struct GroupMember<'a> {
    /// The member's generation.
    pub generation: i32,
    /// The member id.
    pub member_id: &'a str,
    /// `group.instance.id` for static members.
    pub instance_id: Option<&'a str>,
}

/// The transaction coordinator's settings, taken from [`BrokerConfig`].
#[derive(Debug, Clone)]
pub(crate) struct TxnConfig {
    /// `log.dirs`: where the producer-id block file lives.
    pub(crate) log_dir: PathBuf,
    /// `transaction.state.log.num.partitions`. Default: 50.
    pub(crate) state_partitions: i32,
    /// `transaction.max.timeout.ms`. Default: 15 minutes.
    pub(crate) max_timeout: Duration,
    /// The broker's clock (state timestamps, markers, timeouts).
    pub(crate) clock: Clock,
}

impl From<&BrokerConfig> for TxnConfig {
    fn from(c: &BrokerConfig) -> Self {
        TxnConfig {
            log_dir: c.log_dir.clone(),
            state_partitions: c.transaction_topic_partitions.max(1),
            max_timeout: c.transaction_max_timeout,
            clock: c.clock.clone(),
        }
    }
}

/// What the transaction coordinator needs from the logs: its own records in
/// `__transaction_state`, and the control markers in the partitions of a transaction.
/// Implemented by the broker over its partitions.
///
/// Appends happen under the coordinator's lock, in request order, and only reach the page cache;
/// [`TxnLog::sync`] makes them durable and is called after the lock is released, so one slow
/// fsync never holds up another transactional id.
pub(crate) trait TxnLog: Send + Sync + std::fmt::Debug {
    /// Appends one record to partition `partition` of `__transaction_state` (created on first
    /// use). Returns the partition's log end offset: pass it to [`TxnLog::sync`].
    ///
    /// # Errors
    /// Whatever the log returns; the coordinator then fails the request.
    fn append_state(&self, partition: i32, key: &[u8], value: &[u8], now_ms: i64) -> Result<i64>;

    /// Hands every record of `__transaction_state` to `f` in log order, partition by partition,
    /// as `(key, value)` (`None`: a tombstone). Undecodable batches are skipped with a warning.
    ///
    /// # Errors
    /// Storage errors reading the log.
    fn replay_state(&self, f: &mut dyn FnMut(&[u8], Option<&[u8]>)) -> Result<()>;

    /// Writes a COMMIT or ABORT marker of the producer to `tp` and wakes the partition's readers.
    /// Returns the marker's offset, or `None` when the partition no longer exists.
    ///
    /// # Errors
    /// A fenced producer epoch; storage errors.
    fn write_marker(
        &self,
        tp: &TopicPartition,
        producer: (i64, i16),
        kind: ControlType,
        now_ms: i64,
    ) -> Result<Option<i64>>;

    /// Blocks until everything appended to partition `partition` of `topic` (the
    /// coordinator's own `__transaction_state`, or `__consumer_offsets` for markers) below
    /// `upto` is durable. Callers waiting at the same time share one fsync.
    ///
    /// # Errors
    /// Whatever the fsync returns.
    fn sync(&self, topic: &str, partition: i32, upto: i64) -> Result<()>;
}
