//! The tasks of one stream thread: creating and restoring them, feeding and processing them,
//! committing them (at-least-once or in one transaction per thread), closing them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::ErrorCode;

use super::client::{GroupMetadata, OffsetCommitFn, RestoreConsumer, StreamsConsumer, StreamsProducer};
use super::restore_listener::store_of_changelog;
use super::standby::Standbys;
use super::thread_context::{producer_settings, ThreadContext};
use crate::config::HandlerResponse;
use crate::engine::{ConsumerRecord, OutputRecord, RecordCollector, TaskEngine, TaskId, TopicPartition};
use crate::error::{Error, Result};

/// Records processed per task before moving to the next task.
const PROCESS_BATCH: usize = 256;
/// At most this many records per loop iteration before polling again.
pub(crate) const MAX_RECORDS_PER_ITERATION: usize = 20_000;
/// At most this long processing before polling again.
pub(crate) const MAX_PROCESS_TIME: Duration = Duration::from_millis(100);

/// Changelog records applied to standby tasks per loop iteration, at most (about).
const STANDBY_RECORDS_PER_ITERATION: usize = 10_000;
/// At most about this long reading standby changelogs per loop iteration.
const STANDBY_MAX_TIME_PER_ITERATION: Duration = Duration::from_millis(50);
/// How often a thread reads its standby tasks' changelogs.
const STANDBY_UPDATE_INTERVAL: Duration = Duration::from_millis(100);
/// How often standby placement is checked against the group without a rebalance.
const STANDBY_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Retry delay after an incomplete standby placement.
const STANDBY_RETRY: Duration = Duration::from_millis(500);

/// When a thread last worked on its standby tasks.
pub(crate) struct StandbyTimers {
    /// Next placement check.
    reconcile_at: Instant,
    last_update: Instant,
    last_checkpoint: Instant,
}

impl StandbyTimers {
    pub(crate) fn new() -> StandbyTimers {
        let now = Instant::now();
        StandbyTimers { reconcile_at: now + STANDBY_REFRESH_INTERVAL, last_update: now, last_checkpoint: now }
    }
}

/// One task and the runtime's bookkeeping about it.
pub(crate) struct TaskSlot {
    pub(crate) engine: Box<dyn TaskEngine>,
    pub(crate) inputs: Vec<TopicPartition>,
    pub(crate) initialized: bool,
    /// For a task recycled from a standby: the changelog positions the standby reached, where
    /// its restore starts.
    pub(crate) standby_positions: BTreeMap<TopicPartition, i64>,
}

/// A stream thread's task manager (Kafka's `TaskManager`): its tasks and clients (the
/// consumer stays outside: rebalance callbacks run while it polls).
pub(crate) struct TaskManager {
    pub(crate) ctx: Arc<ThreadContext>,
    /// The instance's standby tasks: this thread hosts some, and takes over those of tasks it
    /// gets as active.
    pub(crate) standbys: Arc<Standbys>,
    /// The thread index (hosts standby tasks by it).
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) transactional_id: Option<String>,
    pub(crate) producer: Box<dyn StreamsProducer>,
    pub(crate) restore: Box<dyn RestoreConsumer>,
    pub(crate) tasks: BTreeMap<TaskId, TaskSlot>,
    pub(crate) paused: BTreeSet<TopicPartition>,
    pub(crate) in_txn: bool,
    /// Offsets after the last changelog (and output) records written, per partition.
    pub(crate) written: BTreeMap<TopicPartition, i64>,
    /// Partitions assigned by the last rebalance, not yet turned into tasks.
    pub(crate) pending_assignment: Option<Vec<TopicPartition>>,
    /// Under exactly-once, a failed commit closed every task dirty: rewind and recreate them.
    pub(crate) needs_reinit: bool,
    pub(crate) last_commit: Instant,
    pub(crate) processed_since_commit: usize,
    pub(crate) standby: StandbyTimers,
}

struct Collector<'a> {
    producer: &'a mut dyn StreamsProducer,
    eos: bool,
    in_txn: &'a mut bool,
    handler: HandlerResponse,
}

impl RecordCollector for Collector<'_> {
    fn send(&mut self, record: OutputRecord) -> Result<()> {
        if self.eos && !*self.in_txn {
            self.producer.begin_transaction()?;
            *self.in_txn = true;
        }
        match self.producer.send(record) {
            Ok(()) => Ok(()),
            Err(e) if self.handler == HandlerResponse::Continue && !self.eos => {
                tracing::warn!(error = %e, "send failed; skipping the record (production.exception.handler=continue)");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether an error means the producer was fenced or the tasks migrated.
pub(crate) fn is_fenced(e: &Error) -> bool {
    match e {
        Error::Broker(b) => matches!(
            b.code(),
            ErrorCode::ProducerFenced
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::InvalidProducerIdMapping
                | ErrorCode::TransactionalIdAuthorizationFailed
        ),
        Error::TaskMigrated(_) => true,
        _ => false,
    }
}

impl TaskManager {
    pub(crate) fn eos(&self) -> bool {
        self.ctx.config.exactly_once()
    }

    fn collector(&mut self) -> Collector<'_> {
        Collector {
            producer: self.producer.as_mut(),
            eos: self.ctx.config.exactly_once(),
            in_txn: &mut self.in_txn,
            handler: self.ctx.config.production_exception_handler,
        }
    }

    /// Turns assigned partitions into tasks: create, restore, initialise.
    pub(crate) fn assign(&mut self, assigned: &[TopicPartition]) -> Result<()> {
        let wanted = self.ctx.topics.tasks_of(assigned);
        let stale: Vec<TaskId> = self.tasks.keys().filter(|id| !wanted.contains_key(id)).copied().collect();
        if !stale.is_empty() {
            self.close_tasks(&stale, true);
        }
        self.standby.reconcile_at = Instant::now();
        for (id, inputs) in wanted {
            if self.tasks.contains_key(&id) {
                continue;
            }
            // A standby of this instance becomes the active task (its stores stay open, in-memory
            // ones included) and restores only what it had not read yet.
            let (engine, standby_positions) = match self.standbys.take(id, &inputs, self.index) {
                Some(recycled) => recycled,
                None => (
                    self.ctx.factory.create_task(id, inputs.clone(), &self.ctx.app_dir, &self.ctx.config)?,
                    BTreeMap::new(),
                ),
            };
            self.tasks.insert(id, TaskSlot { engine, inputs, initialized: false, standby_positions });
        }
        let ids: Vec<TaskId> = self.tasks.iter().filter(|(_, t)| !t.initialized).map(|(id, _)| *id).collect();
        for id in ids {
            self.restore_task(id)?;
            if let Some(t) = self.tasks.get_mut(&id) {
                t.engine.initialize()?;
                t.initialized = true;
            }
        }
        tracing::info!(thread = %self.name, tasks = ?self.tasks.keys().map(ToString::to_string).collect::<Vec<_>>(), "tasks assigned and restored");
        Ok(())
    }

    fn restore_task(&mut self, id: TaskId) -> Result<()> {
        let eos = self.eos();
        let Some(slot) = self.tasks.get_mut(&id) else { return Ok(()) };
        let engine = &mut slot.engine;
        let mut starts = engine.changelog_start_offsets();
        starts.extend(std::mem::take(&mut slot.standby_positions));
        for (tp, start) in starts {
            let end = self.ctx.admin.end_offset(&tp, eos)?;
            let log_start = self.ctx.admin.start_offset(&tp)?;
            let from = start.max(log_start);
            if from > end {
                tracing::warn!(task = %id, changelog = %tp, from, end, "checkpoint is past the changelog end");
            }
            if from >= end {
                continue;
            }
            tracing::info!(task = %id, changelog = %tp, from, end, "restoring");
            let listener = self.ctx.restore_listener.as_deref();
            let store = store_of_changelog(&self.ctx.config.application_id, &tp.topic);
            if let Some(l) = listener {
                l.on_restore_start(&tp, store, from, end);
            }
            let t0 = Instant::now();
            let mut n = 0usize;
            let mut last_log = Instant::now();
            self.restore.read(&tp, from, end, &mut |records: &[ConsumerRecord]| {
                engine.restore(&tp, records)?;
                n += records.len();
                if let (Some(l), Some(last)) = (listener, records.last()) {
                    l.on_batch_restored(&tp, store, last.offset, records.len() as u64);
                }
                if last_log.elapsed() >= Duration::from_secs(5) {
                    last_log = Instant::now();
                    let at = records.last().map_or(from, |r| r.offset);
                    tracing::info!(task = %id, changelog = %tp.topic, restored = n, offset = at, end, "restore progress");
                }
                Ok(())
            })?;
            tracing::info!(task = %id, changelog = %tp, records = n, ms = t0.elapsed().as_millis() as u64, "restored");
            if let Some(l) = listener {
                l.on_restore_end(&tp, store, n as u64);
            }
            let w = self.written.entry(tp).or_insert(end);
            *w = (*w).max(end);
        }
        Ok(())
    }

    /// Hands the polled `records` to their tasks, leaving `records` empty (its capacity is
    /// kept for the next poll).
    pub(crate) fn add_records(&mut self, records: &mut Vec<ConsumerRecord>, consumer: &mut dyn StreamsConsumer) {
        if records.is_empty() {
            return;
        }
        // Consumers return each partition's records in runs: each run goes to its task as an
        // iterator over the poll's vector (no lookup per record, no vector per run).
        let limit = self.ctx.config.buffered_records_per_partition.max(1);
        let mut pause = Vec::new();
        let mut iter = records.drain(..);
        while let Some(first) = iter.as_slice().first() {
            // The run's length is found first, so its records move once, from the vector
            // to the task's queue.
            let (topic, partition) = (&first.topic, first.partition);
            let same = |r: &ConsumerRecord| r.partition == partition && (Arc::ptr_eq(&r.topic, topic) || r.topic == *topic);
            let n = iter.as_slice().iter().take_while(|r| same(r)).count();
            let tp = TopicPartition::new(&**topic, partition);
            let mut run = iter.by_ref().take(n);
            let task = self.ctx.topics.task_of(&tp).and_then(|id| self.tasks.get_mut(&id));
            match task {
                Some(t) if t.initialized => {
                    t.engine.add_record_run(&tp, &mut run);
                    // Whatever the engine did not take (a partition it does not own) is dropped.
                    run.for_each(drop);
                    if t.engine.buffered(&tp) >= limit && !self.paused.contains(&tp) {
                        pause.push(tp);
                    }
                }
                _ => {
                    // Fetched for a partition whose task is not (or no longer) here; the
                    // consumer will fetch it again from the committed offset.
                    run.for_each(drop);
                    tracing::debug!(partition = %tp, "records for a partition without a task");
                }
            }
        }
        drop(iter);
        if !pause.is_empty() {
            consumer.pause(&pause);
            self.paused.extend(pause);
        }
    }

    pub(crate) fn resume_drained(&mut self, consumer: &mut dyn StreamsConsumer) {
        if self.paused.is_empty() {
            return;
        }
        let limit = self.ctx.config.buffered_records_per_partition.max(1);
        let mut resume = Vec::new();
        for tp in &self.paused {
            let buffered =
                self.ctx.topics.task_of(tp).and_then(|id| self.tasks.get(&id)).map_or(0, |t| t.engine.buffered(tp));
            if buffered < limit {
                resume.push(tp.clone());
            }
        }
        if !resume.is_empty() {
            consumer.resume(&resume);
            for tp in &resume {
                self.paused.remove(tp);
            }
        }
    }

    pub(crate) fn has_buffered(&self) -> bool {
        self.tasks.values().any(|t| t.initialized && t.inputs.iter().any(|tp| t.engine.buffered(tp) > 0))
    }

    /// Processes buffered records, at most about `max_records` or `max_time`; returns how many.
    pub(crate) fn process_bounded(&mut self, max_records: usize, max_time: Duration) -> Result<usize> {
        let started = Instant::now();
        let now = brook_common::now_ms();
        let eos = self.eos();
        let handler = self.ctx.config.production_exception_handler;
        let mut total = 0;
        let ids: Vec<TaskId> = self.tasks.keys().copied().collect();
        loop {
            let mut progressed = false;
            for id in &ids {
                let Some(slot) = self.tasks.get_mut(id) else { continue };
                if !slot.initialized {
                    continue;
                }
                let mut out = Collector { producer: self.producer.as_mut(), eos, in_txn: &mut self.in_txn, handler };
                for _ in 0..PROCESS_BATCH {
                    if !slot.engine.process(now, &mut out)? {
                        break;
                    }
                    total += 1;
                    progressed = true;
                }
            }
            if !progressed || total >= max_records || started.elapsed() >= max_time {
                break;
            }
        }
        self.processed_since_commit += total;
        Ok(total)
    }

    pub(crate) fn punctuate(&mut self) -> Result<()> {
        let now = brook_common::now_ms();
        let eos = self.eos();
        let handler = self.ctx.config.production_exception_handler;
        for slot in self.tasks.values_mut().filter(|t| t.initialized) {
            let mut out = Collector { producer: self.producer.as_mut(), eos, in_txn: &mut self.in_txn, handler };
            slot.engine.punctuate(now, &mut out)?;
        }
        Ok(())
    }

    /// Standby work of one loop iteration: placement after a rebalance (and now and then),
    /// a bounded changelog read, and checkpoints every `commit.interval.ms`.
    pub(crate) fn maintain_standbys(&mut self) {
        if self.ctx.config.num_standby_replicas == 0 {
            return;
        }
        let now = Instant::now();
        if now >= self.standby.reconcile_at {
            let complete = self.standbys.reconcile(&self.ctx, self.index);
            self.standby.reconcile_at = now + if complete { STANDBY_REFRESH_INTERVAL } else { STANDBY_RETRY };
        }
        if now.duration_since(self.standby.last_update) >= STANDBY_UPDATE_INTERVAL {
            self.standby.last_update = now;
            let r = self.standbys.update(
                &self.ctx,
                self.index,
                self.restore.as_mut(),
                STANDBY_RECORDS_PER_ITERATION,
                STANDBY_MAX_TIME_PER_ITERATION,
            );
            if let Err(e) = r {
                tracing::warn!(thread = %self.name, error = %e, "updating standby tasks failed");
            }
        }
        if now.duration_since(self.standby.last_checkpoint) >= self.ctx.config.commit_interval {
            self.standby.last_checkpoint = now;
            self.standbys.checkpoint(self.index);
        }
    }

    pub(crate) fn commit_due(&mut self) -> bool {
        let mut requested = false;
        for t in self.tasks.values_mut().filter(|t| t.initialized) {
            requested |= t.engine.commit_requested();
        }
        requested || self.last_commit.elapsed() >= self.ctx.config.commit_interval
    }

    /// Commits every task; `committer` commits consumer offsets under at-least-once (inside a
    /// rebalance callback too), `group` fences the transactional offset commit under
    /// exactly-once.
    pub(crate) fn commit(&mut self, committer: &mut OffsetCommitFn<'_>, group: &GroupMetadata) -> Result<()> {
        self.last_commit = Instant::now();
        let mut offsets: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        let ids: Vec<TaskId> = self.tasks.iter().filter(|(_, t)| t.initialized).map(|(id, _)| *id).collect();
        for id in &ids {
            let mut slot = self.tasks.remove(id).expect("task present");
            let r = slot.engine.prepare_commit(&mut self.collector());
            self.tasks.insert(*id, slot);
            offsets.extend(r?);
        }
        if self.eos() {
            if offsets.is_empty() && !self.in_txn {
                return Ok(());
            }
            if !self.in_txn {
                self.producer.begin_transaction()?;
                self.in_txn = true;
            }
            let ends = self.producer.flush()?;
            if !offsets.is_empty() {
                self.producer.send_offsets_to_transaction(&offsets, group)?;
            }
            self.producer.commit_transaction()?;
            self.in_txn = false;
            self.written.extend(ends);
        } else {
            let ends = self.producer.flush()?;
            self.written.extend(ends);
            if !offsets.is_empty() {
                if let Err(e) = committer(&offsets) {
                    // The group moved on (this member was expelled): the partitions are
                    // reprocessed from the last committed offsets by their next owner, as
                    // at-least-once allows.
                    tracing::warn!(thread = %self.name, error = %e, "offset commit failed");
                    return Ok(());
                }
            }
        }
        tracing::trace!(thread = %self.name, records = self.processed_since_commit, "committed");
        self.processed_since_commit = 0;
        for id in &ids {
            if let Some(t) = self.tasks.get_mut(id) {
                t.engine.post_commit(&self.written)?;
            }
        }
        Ok(())
    }

    /// After a failed exactly-once commit (or a fenced send): abort, close every task dirty, and
    /// get a usable producer again. The main loop rewinds and recreates the tasks, restoring
    /// them from their changelogs.
    pub(crate) fn recover_from_failed_commit(&mut self, e: &Error) -> Result<()> {
        tracing::warn!(thread = %self.name, error = %e, "commit failed; aborting the transaction and closing tasks dirty");
        if self.in_txn {
            if let Err(abort) = self.producer.abort_transaction() {
                tracing::debug!(thread = %self.name, error = %abort, "abort failed");
            }
            self.in_txn = false;
        }
        let ids: Vec<TaskId> = self.tasks.keys().copied().collect();
        self.close_tasks(&ids, false);
        // A fenced producer is unusable, and after a failed commit the transaction state is
        // unknown: start over with a new producer (its init_transactions aborts anything left).
        self.producer = self.ctx.supplier.producer(&producer_settings(
            &self.ctx.config,
            &self.name,
            self.transactional_id.clone(),
        ))?;
        self.producer.init_transactions()?;
        self.needs_reinit = true;
        Ok(())
    }

    /// Seeks the assigned partitions back to their committed offsets and recreates the tasks.
    pub(crate) fn reinit(&mut self, consumer: &mut dyn StreamsConsumer) -> Result<()> {
        self.needs_reinit = false;
        let assigned = consumer.assignment();
        let committed = consumer.committed(&assigned)?;
        for tp in &assigned {
            let offset = match committed.get(tp) {
                Some(&o) if o >= 0 => o,
                _ => self.ctx.admin.start_offset(tp)?,
            };
            consumer.seek(tp, offset);
        }
        let paused: Vec<TopicPartition> = std::mem::take(&mut self.paused).into_iter().collect();
        consumer.resume(&paused);
        self.assign(&assigned)
    }

    fn close_tasks(&mut self, ids: &[TaskId], clean: bool) {
        for id in ids {
            if let Some(mut t) = self.tasks.remove(id) {
                self.paused.retain(|tp| !t.inputs.contains(tp));
                if let Err(e) = t.engine.close(clean) {
                    tracing::warn!(task = %id, error = %e, "closing the task failed");
                }
            }
        }
    }

    /// Rebalance: partitions taken away. Commit, then close their tasks.
    pub(crate) fn on_revoked(
        &mut self,
        partitions: &[TopicPartition],
        group: &GroupMetadata,
        committer: &mut OffsetCommitFn<'_>,
    ) {
        let ids: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.inputs.iter().any(|tp| partitions.contains(tp)))
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return;
        }
        let clean = match self.commit(committer, group) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(thread = %self.name, error = %e, "commit on revocation failed");
                if self.in_txn {
                    let _ = self.producer.abort_transaction();
                    self.in_txn = false;
                }
                false
            }
        };
        tracing::info!(thread = %self.name, tasks = ?ids.iter().map(ToString::to_string).collect::<Vec<_>>(), "closing revoked tasks");
        self.close_tasks(&ids, clean);
    }

    /// Clean shutdown: commit and close every task.
    pub(crate) fn shutdown(&mut self, consumer: &mut dyn StreamsConsumer) {
        let group = consumer.group_metadata();
        let clean = match self.commit(&mut |o| consumer.commit(o), &group) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(thread = %self.name, error = %e, "final commit failed");
                false
            }
        };
        if !clean && self.in_txn {
            let _ = self.producer.abort_transaction();
            self.in_txn = false;
        }
        let ids: Vec<TaskId> = self.tasks.keys().copied().collect();
        self.close_tasks(&ids, clean);
    }

    /// After an error: abort and close dirty.
    pub(crate) fn close_dirty(&mut self) {
        if self.in_txn {
            let _ = self.producer.abort_transaction();
            self.in_txn = false;
        }
        let ids: Vec<TaskId> = self.tasks.keys().copied().collect();
        self.close_tasks(&ids, false);
    }
}
