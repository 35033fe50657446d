//! The [`TxnCoordinator`]: one lock over the state of every transactional id, appends to
//! `__transaction_state` under it, fsyncs and markers outside it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use brook_common::TopicPartition;
use parking_lot::Mutex;

use super::storage::{decode_key, decode_value, encode_key, encode_value};
use super::{GroupMember, TxnConfig, TxnLog, TxnMetadata, TxnStatus};
use crate::error::{Error, ErrorCode, Result};
use crate::group::{GroupCoordinator, OffsetCommit};
use crate::record::ControlType;
use crate::topic::{self, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC};

/// How many producer ids are reserved on disk at a time.
const PID_BLOCK: i64 = 1000;
const PID_FILE: &str = "brook-producer-ids";

/// The coordinator's in-memory state.
#[derive(Debug, Default)]
struct TxnState {
    txns: HashMap<String, TxnMetadata>,
    next_pid: i64,
    pid_block_end: i64,
}

impl TxnState {
    /// The metadata of `transactional_id`, if `producer_id` and `epoch` are its current ones.
    fn checked_mut(&mut self, transactional_id: &str, producer_id: i64, epoch: i16) -> Result<&mut TxnMetadata> {
        let m = self.txns.get_mut(transactional_id).ok_or_else(|| {
            Error::kafka(
                ErrorCode::InvalidProducerIdMapping,
                format!("unknown transactional id {transactional_id}"),
            )
        })?;
        check_producer(m, producer_id, epoch)?;
        Ok(m)
    }
}

/// An append to be made durable, outside the coordinator's lock.
#[derive(Debug)]
#[must_use = "the append is not durable until waited for"]
struct Durable {
    topic: &'static str,
    partition: i32,
    upto: i64,
}

impl Durable {
    /// Blocks until the append is durable (sharing fsyncs with concurrent callers).
    fn wait(self, log: &dyn TxnLog) -> Result<()> {
        log.sync(self.topic, self.partition, self.upto)
    }
}

fn concurrent(transactional_id: &str) -> Error {
    Error::kafka(
        ErrorCode::ConcurrentTransactions,
        format!("the transaction of {transactional_id} is completing"),
    )
}

fn fenced(msg: String) -> Error {
    Error::kafka(ErrorCode::ProducerFenced, msg)
}

fn check_producer(m: &TxnMetadata, producer_id: i64, epoch: i16) -> Result<()> {
    if m.producer_id != producer_id {
        return Err(Error::kafka(
            ErrorCode::InvalidProducerIdMapping,
            format!(
                "producer id {producer_id} is not the one of transactional id {} ({})",
                m.transactional_id, m.producer_id
            ),
        ));
    }
    if epoch != m.producer_epoch {
        return Err(fenced(format!(
            "producer epoch {epoch} of {} is fenced by epoch {}",
            m.transactional_id, m.producer_epoch
        )));
    }
    Ok(())
}

/// The transaction coordinator, owned by the broker; it reaches the logs through [`TxnLog`]
/// and the group coordinator for transactional offsets.
#[derive(Debug)]
pub(crate) struct TxnCoordinator {
    config: TxnConfig,
    log: Arc<dyn TxnLog>,
    groups: Arc<GroupCoordinator>,
    state: Mutex<TxnState>,
}

impl TxnCoordinator {
    pub(crate) fn new(config: TxnConfig, log: Arc<dyn TxnLog>, groups: Arc<GroupCoordinator>) -> TxnCoordinator {
        TxnCoordinator { config, log, groups, state: Mutex::new(TxnState::default()) }
    }

    fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }

    fn alloc_producer_id(&self, st: &mut TxnState) -> Result<i64> {
        if st.next_pid >= st.pid_block_end {
            let root = &self.config.log_dir;
            let start = read_pid_block(root)?.max(st.next_pid);
            let end = start + PID_BLOCK;
            topic::write_atomically(root, PID_FILE, end.to_string().as_bytes())?;
            st.next_pid = start;
            st.pid_block_end = end;
        }
        let pid = st.next_pid;
        st.next_pid += 1;
        Ok(pid)
    }

    /// The `__transaction_state` partition of `transactional_id`.
    pub(crate) fn state_partition(&self, transactional_id: &str) -> i32 {
        let h = crate::group::coordinator::java_hash(transactional_id);
        let abs = if h == i32::MIN { 0 } else { h.abs() };
        abs % self.config.state_partitions
    }

    /// Appends `m` to `__transaction_state` (not yet durable: see [`Durable::wait`]).
    fn persist(&self, m: &TxnMetadata) -> Result<Durable> {
        let partition = self.state_partition(&m.transactional_id);
        let upto = self.log.append_state(partition, &encode_key(&m.transactional_id), &encode_value(m), self.now_ms())?;
        Ok(Durable { topic: TRANSACTION_STATE_TOPIC, partition, upto })
    }

    /// Writes the markers, completes the group offsets and moves to the complete state, syncing
    /// the prepare record before the markers and the complete record before returning.
    fn complete(&self, m: &mut TxnMetadata, commit: bool) -> Result<()> {
        m.status = if commit { TxnStatus::PrepareCommit } else { TxnStatus::PrepareAbort };
        m.last_update_ms = self.now_ms();
        self.persist(m)?.wait(&*self.log)?;
        self.write_markers(m, commit)?;
        self.mark_complete(m, commit)?.wait(&*self.log)
    }

    /// Writes the COMMIT or ABORT markers to every partition of the transaction and completes
    /// its group offsets. Markers in `__consumer_offsets` are synced before this returns (the
    /// group coordinator's replay needs them; data partitions follow their flush policy).
    fn write_markers(&self, m: &TxnMetadata, commit: bool) -> Result<()> {
        let kind = if commit { ControlType::Commit } else { ControlType::Abort };
        let now = self.now_ms();
        let mut internal = Vec::new();
        for tp in &m.partitions {
            match self.log.write_marker(tp, (m.producer_id, m.producer_epoch), kind, now)? {
                Some(offset) if tp.topic == OFFSETS_TOPIC => {
                    internal.push(Durable { topic: OFFSETS_TOPIC, partition: tp.partition, upto: offset + 1 })
                }
                Some(_) => {}
                None => tracing::warn!(topic = %tp.topic, partition = tp.partition, "partition gone; marker skipped"),
            }
        }
        for d in internal {
            d.wait(&*self.log)?;
        }
        if m.partitions.iter().any(|tp| tp.topic == OFFSETS_TOPIC) {
            self.groups.complete_txn(m.producer_id, commit);
        }
        Ok(())
    }

    /// Moves `m` to the complete state and appends it.
    fn mark_complete(&self, m: &mut TxnMetadata, commit: bool) -> Result<Durable> {
        m.status = if commit { TxnStatus::CompleteCommit } else { TxnStatus::CompleteAbort };
        m.partitions.clear();
        m.start_ms = -1;
        m.last_update_ms = self.now_ms();
        self.persist(m)
    }

    /// Aborts transactions that ran past their timeout, bumping the epoch so that the
    /// abandoned producer is fenced.
    pub(crate) fn abort_timed_out(&self) {
        let now = self.now_ms();
        let mut prepared = Vec::new();
        {
            let mut st = self.state.lock();
            for m in st.txns.values_mut() {
                if m.status != TxnStatus::Ongoing || now - m.start_ms <= m.timeout_ms as i64 {
                    continue;
                }
                tracing::info!(transactional_id = %m.transactional_id, "aborting transaction past transaction.timeout.ms");
                match self.prepare_abort(m, now) {
                    Ok(aborting) => prepared.push(aborting),
                    Err(e) => tracing::warn!(transactional_id = %m.transactional_id, error = %e, "timed-out abort failed"),
                }
            }
        }
        for (work, durable) in prepared {
            let id = work.transactional_id.clone();
            if let Err(e) = self.finish_outside_lock(work, durable, false) {
                tracing::warn!(transactional_id = %id, error = %e, "timed-out abort failed");
            }
        }
    }

    /// Starts aborting `m`'s open transaction with a bumped epoch: appends the PrepareAbort
    /// record and marks `m` as aborting (its old producer is fenced from here on). Returns what
    /// [`TxnCoordinator::finish_outside_lock`] completes, after the lock is released.
    fn prepare_abort(&self, m: &mut TxnMetadata, now: i64) -> Result<(TxnMetadata, Durable)> {
        let mut work = m.clone();
        work.producer_epoch = work.producer_epoch.saturating_add(1);
        work.status = TxnStatus::PrepareAbort;
        work.last_update_ms = now;
        let durable = self.persist(&work)?;
        (m.producer_epoch, m.status) = (work.producer_epoch, work.status);
        Ok((work, durable))
    }

    /// Completes a transaction whose prepare record `prepared` was appended (its in-memory
    /// status is already `work.status`): syncs it, writes the markers, appends and syncs the
    /// completion, all without the coordinator's lock, so other transactional ids go on
    /// meanwhile. On failure the transaction goes back to ongoing (EndTxn can be retried, the
    /// timeout aborts it again).
    fn finish_outside_lock(&self, work: TxnMetadata, prepared: Durable, commit: bool) -> Result<()> {
        let (id, pid, epoch) = (work.transactional_id.as_str(), work.producer_id, work.producer_epoch);
        let done = prepared
            .wait(&*self.log)
            .and_then(|()| self.write_markers(&work, commit))
            .and_then(|()| {
                let mut st = self.state.lock();
                let m = st.checked_mut(id, pid, epoch)?;
                let mut finished = work.clone();
                let durable = self.mark_complete(&mut finished, commit)?;
                *m = finished;
                Ok(durable)
            });
        match done {
            Ok(durable) => durable.wait(&*self.log),
            Err(e) => {
                if let Ok(m) = self.state.lock().checked_mut(id, pid, epoch) {
                    if m.status == work.status {
                        m.status = TxnStatus::Ongoing;
                    }
                }
                Err(e)
            }
        }
    }

    /// Rebuilds transaction state from `__transaction_state` and finishes transactions that
    /// were between their decision and their markers when the broker stopped.
    pub(crate) fn replay(&self) -> Result<()> {
        let mut st = self.state.lock();
        self.log.replay_state(&mut |key, value| {
            let Ok(id) = decode_key(key) else {
                tracing::warn!("skipping undecodable transaction log key");
                return;
            };
            match value.map(|v| decode_value(&id, v)) {
                None => {
                    st.txns.remove(&id);
                }
                Some(Ok(m)) => {
                    st.txns.insert(id, m);
                }
                Some(Err(e)) => tracing::warn!(error = %e, "skipping bad transaction log value"),
            }
        })?;
        let pending: Vec<TxnMetadata> = st
            .txns
            .values()
            .filter(|m| matches!(m.status, TxnStatus::PrepareCommit | TxnStatus::PrepareAbort))
            .cloned()
            .collect();
        for mut m in pending {
            let commit = m.status == TxnStatus::PrepareCommit;
            tracing::info!(transactional_id = %m.transactional_id, commit, "completing transaction after restart");
            self.complete(&mut m, commit)?;
            st.txns.insert(m.transactional_id.clone(), m);
        }
        Ok(())
    }

    /// InitProducerId: see [`Broker::init_producer_id`](crate::Broker::init_producer_id).
    pub(crate) fn init_producer_id(&self, transactional_id: Option<&str>, timeout_ms: i32) -> Result<(i64, i16)> {
        let Some(id) = transactional_id else {
            return Ok((self.alloc_producer_id(&mut self.state.lock())?, 0));
        };
        if timeout_ms <= 0 || timeout_ms as u128 > self.config.max_timeout.as_millis() {
            return Err(Error::kafka(
                ErrorCode::InvalidTransactionTimeout,
                format!(
                    "transaction timeout {timeout_ms} ms must be in 1..={} ms (transaction.max.timeout.ms)",
                    self.config.max_timeout.as_millis()
                ),
            ));
        }
        // An open transaction is aborted first (with a bumped epoch), without holding the lock
        // during its fsyncs and markers.
        let mut st = loop {
            let mut st = self.state.lock();
            let aborting = match st.txns.get_mut(id) {
                Some(m) if m.status == TxnStatus::Ongoing => self.prepare_abort(m, self.now_ms())?,
                _ => break st,
            };
            drop(st);
            self.finish_outside_lock(aborting.0, aborting.1, false)?;
        };
        let now = self.now_ms();
        let mut m = match st.txns.get(id).cloned() {
            Some(m) if matches!(m.status, TxnStatus::PrepareCommit | TxnStatus::PrepareAbort) => {
                return Err(concurrent(id));
            }
            Some(mut m) => {
                if m.producer_epoch >= i16::MAX - 1 {
                    m.producer_id = self.alloc_producer_id(&mut st)?;
                    m.producer_epoch = 0;
                } else {
                    m.producer_epoch += 1;
                }
                m
            }
            None => TxnMetadata {
                transactional_id: id.to_owned(),
                producer_id: self.alloc_producer_id(&mut st)?,
                producer_epoch: 0,
                timeout_ms,
                status: TxnStatus::Empty,
                partitions: BTreeSet::new(),
                start_ms: -1,
                last_update_ms: now,
            },
        };
        m.timeout_ms = timeout_ms;
        m.status = TxnStatus::Empty;
        m.partitions.clear();
        m.last_update_ms = now;
        let durable = self.persist(&m)?;
        let res = (m.producer_id, m.producer_epoch);
        st.txns.insert(id.to_owned(), m);
        drop(st);
        durable.wait(&*self.log)?;
        Ok(res)
    }

    /// Adds partitions (which the caller checked exist) to the open transaction, opening it
    /// if none is.
    pub(crate) fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<()> {
        let mut st = self.state.lock();
        let m = st.checked_mut(transactional_id, producer_id, producer_epoch)?;
        match m.status {
            TxnStatus::PrepareCommit | TxnStatus::PrepareAbort => {
                return Err(Error::kafka(ErrorCode::ConcurrentTransactions, "transaction is completing"))
            }
            TxnStatus::Dead => return Err(Error::kafka(ErrorCode::InvalidTxnState, "transactional id expired")),
            TxnStatus::Ongoing => {}
            _ => {
                m.status = TxnStatus::Ongoing;
                m.start_ms = self.now_ms();
            }
        }
        let before = m.partitions.len();
        m.partitions.extend(partitions.iter().cloned());
        if m.partitions.len() != before || m.last_update_ms < m.start_ms {
            m.last_update_ms = self.now_ms();
            let snapshot = m.clone();
            let durable = self.persist(&snapshot)?;
            drop(st);
            durable.wait(&*self.log)?;
        }
        Ok(())
    }

    /// EndTxn: see [`Broker::end_txn`](crate::Broker::end_txn).
    pub(crate) fn end_txn(&self, transactional_id: &str, producer_id: i64, producer_epoch: i16, commit: bool) -> Result<()> {
        let (work, prepared) = {
            let mut st = self.state.lock();
            let m = st.checked_mut(transactional_id, producer_id, producer_epoch)?;
            match (m.status, commit) {
                (TxnStatus::Ongoing, _) => {
                    let mut work = m.clone();
                    work.status = if commit { TxnStatus::PrepareCommit } else { TxnStatus::PrepareAbort };
                    work.last_update_ms = self.now_ms();
                    let prepared = self.persist(&work)?;
                    // In memory the transaction is completing from here on: other requests for
                    // it get ConcurrentTransactions until it is done.
                    m.status = work.status;
                    (work, prepared)
                }
                (TxnStatus::CompleteCommit, true) | (TxnStatus::CompleteAbort, false) => return Ok(()),
                (TxnStatus::PrepareCommit | TxnStatus::PrepareAbort, _) => return Err(concurrent(transactional_id)),
                (s, _) => {
                    return Err(Error::kafka(
                        ErrorCode::InvalidTxnState,
                        format!(
                            "cannot {} transaction of {transactional_id} in state {}",
                            if commit { "commit" } else { "abort" },
                            s.name()
                        ),
                    ))
                }
            }
        };
        self.finish_outside_lock(work, prepared, commit)
    }

    /// TxnOffsetCommit: offsets that become visible when the transaction commits.
    ///
    /// # Errors
    /// `ProducerFenced`, `InvalidTxnState` when the group was not added to the transaction,
    /// group coordinator errors.
    pub(crate) fn txn_offset_commit(
        &self,
        transactional_id: &str,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        member: Option<GroupMember<'_>>,
        offsets: &[OffsetCommit],
    ) -> Result<Vec<ErrorCode>> {
        {
            let mut st = self.state.lock();
            let m = st.checked_mut(transactional_id, producer_id, producer_epoch)?;
            let group_partition = TopicPartition::new(OFFSETS_TOPIC, self.groups.partition_for(group_id));
            if m.status != TxnStatus::Ongoing || !m.partitions.contains(&group_partition) {
                return Err(Error::kafka(
                    ErrorCode::InvalidTxnState,
                    format!("group {group_id} was not added to the transaction (AddOffsetsToTxn)"),
                ));
            }
        }
        match member {
            // TxnOffsetCommit v3+ names the consumer's generation: an expelled member's producer
            // is fenced by the group coordinator, as in Kafka.
            Some(m) => self.groups.txn_commit_offsets_as_member(
                group_id,
                m.generation,
                m.member_id,
                m.instance_id,
                producer_id,
                producer_epoch,
                offsets,
            ),
            None => self.groups.txn_commit_offsets(group_id, producer_id, producer_epoch, offsets),
        }
        .map_err(|code| Error::kafka(code, format!("offset commit for group {group_id} failed")))
    }

    /// The state of every transactional id, sorted by id.
    pub(crate) fn list(&self) -> Vec<TxnMetadata> {
        let mut v: Vec<TxnMetadata> = self.state.lock().txns.values().cloned().collect();
        v.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        v
    }
}

fn read_pid_block(root: &std::path::Path) -> Result<i64> {
    match std::fs::read_to_string(root.join(PID_FILE)) {
        Ok(s) => s.trim().parse().map_err(|_| {
            Error::storage(
                "reading producer id block",
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad content {s:?}")),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::storage("reading producer id block", e)),
    }
}
