//! A stream thread: an OS thread looping poll -> add records -> process -> punctuate -> commit
//! over the tasks its group consumer was assigned.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::client::{GroupMetadata, OffsetCommitFn, RebalanceHandler, StreamsConsumer, Waker};
use super::metadata::ThreadMetadata;
use super::standby::Standbys;
use super::state::ThreadState;
use super::task_manager::{is_fenced, StandbyTimers, TaskManager, MAX_PROCESS_TIME, MAX_RECORDS_PER_ITERATION};
use super::thread_context::{consumer_settings, producer_settings, ThreadContext};
use crate::engine::{ConsumerRecord, TaskEngine, TaskId, TopicPartition};
use crate::error::Result;
use crate::processor::OffsetReset;

/// The part of a thread the instance sees: its state, stop flags and tasks.
pub(crate) struct ThreadShared {
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) transactional_id: Option<String>,
    pub(crate) state: Mutex<ThreadState>,
    /// Clean shutdown requested.
    pub(crate) stop: AtomicBool,
    /// Stop at once without committing (the instance was dropped without `close`).
    pub(crate) abandon: AtomicBool,
    pub(crate) core: Mutex<Option<TaskManager>>,
    /// Interrupts the consumer's poll while the thread has a consumer that can be woken.
    waker: Mutex<Option<Waker>>,
    ctx: Arc<ThreadContext>,
    /// The instance's standby tasks (this thread hosts some of them).
    standbys: Arc<Standbys>,
}

impl std::fmt::Debug for ThreadShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadShared")
            .field("name", &self.name)
            .field("state", &*self.state.lock())
            .finish_non_exhaustive()
    }
}

impl ThreadShared {
    pub(crate) fn new(ctx: Arc<ThreadContext>, standbys: Arc<Standbys>, index: usize) -> Arc<ThreadShared> {
        let app = &ctx.config.application_id;
        Arc::new(ThreadShared {
            index,
            name: format!("{app}-{}-StreamThread-{index}", ctx.process_id),
            transactional_id: ctx.config.exactly_once().then(|| format!("{app}-{}-{index}", ctx.process_id)),
            state: Mutex::new(ThreadState::Starting),
            stop: AtomicBool::new(false),
            abandon: AtomicBool::new(false),
            core: Mutex::new(None),
            waker: Mutex::new(None),
            ctx,
            standbys,
        })
    }

    /// Asks the thread to stop cleanly, waking its consumer's poll so it does at once.
    pub(crate) fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(wake) = &*self.waker.lock() {
            wake();
        }
    }

    pub(crate) fn state(&self) -> ThreadState {
        *self.state.lock()
    }

    fn set_state(&self, s: ThreadState) {
        let changed = {
            let mut st = self.state.lock();
            let changed = *st != s && *st != ThreadState::Dead;
            if changed {
                tracing::debug!(thread = %self.name, from = ?*st, to = ?s, "stream thread state");
                *st = s;
            }
            changed
        };
        if changed {
            (self.ctx.on_state_change)();
        }
    }

    pub(crate) fn metadata(&self) -> ThreadMetadata {
        let (active_tasks, partitions) = match &*self.core.lock() {
            Some(core) => (
                core.tasks.keys().copied().collect(),
                core.tasks.values().flat_map(|t| t.inputs.iter().cloned()).collect(),
            ),
            None => (BTreeSet::new(), BTreeSet::new()),
        };
        ThreadMetadata {
            thread_name: self.name.clone(),
            state: match self.state() {
                ThreadState::Starting => "STARTING",
                ThreadState::Rebalancing => "PARTITIONS_ASSIGNED",
                ThreadState::Running => "RUNNING",
                ThreadState::PendingShutdown => "PENDING_SHUTDOWN",
                ThreadState::Dead => "DEAD",
            }
            .to_owned(),
            active_tasks,
            standby_tasks: self.standbys.hosted_by(self.index),
            partitions,
            transactional_id: self.transactional_id.clone(),
        }
    }

    /// Runs `f` on every task engine of this thread.
    pub(crate) fn for_each_task(&self, f: &mut dyn FnMut(TaskId, &dyn TaskEngine)) {
        if let Some(core) = &*self.core.lock() {
            for (id, t) in &core.tasks {
                if t.initialized {
                    f(*id, t.engine.as_ref());
                }
            }
        }
    }
}

/// The main consumer's `auto.offset.reset` when sources set their own: their policy when they
/// all agree (the SQL engine sets one on every source). Kafka Streams resets each topic by its
/// source's policy, which one consumer setting cannot express: that one policy then also covers
/// the sources without one and the repartition topics (created by the application, so they start
/// empty), and with mixed policies the configured `auto.offset.reset` applies to all, with a
/// warning.
fn sources_offset_reset(resets: &BTreeMap<String, OffsetReset>) -> Option<&'static str> {
    let policies: BTreeSet<&'static str> = resets
        .values()
        .map(|r| r.as_str())
        .collect();
    if policies.len() > 1 {
        tracing::warn!(?resets, "sources set different auto.offset.reset policies; the configured one applies to all");
        return None;
    }
    policies.into_iter().next()
}

/// The rebalance callbacks of a thread's consumer.
struct Handler {
    shared: Arc<ThreadShared>,
}

impl RebalanceHandler for Handler {
    fn on_revoked(&mut self, partitions: &[TopicPartition], group: &GroupMetadata, committer: &mut OffsetCommitFn<'_>) {
        self.shared.set_state(ThreadState::Rebalancing);
        if self.shared.abandon.load(Ordering::SeqCst) {
            return;
        }
        if let Some(core) = self.shared.core.lock().as_mut() {
            core.on_revoked(partitions, group, committer);
        }
    }

    fn on_assigned(&mut self, partitions: &[TopicPartition]) {
        self.shared.set_state(ThreadState::Rebalancing);
        if let Some(core) = self.shared.core.lock().as_mut() {
            core.pending_assignment = Some(partitions.to_vec());
        }
    }
}

/// A started stream thread: its group consumer and the subscription version it follows.
pub(crate) struct Started {
    consumer: Box<dyn StreamsConsumer>,
    version: u64,
    /// The vector every poll fills and the tasks drain (its capacity is kept).
    records: Vec<ConsumerRecord>,
}

/// How a loop iteration ([`step`]) polls and how much it processes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    /// Poll with a zero timeout always (a pooled unit: it is parked instead of waiting);
    /// otherwise wait up to `poll.ms` when nothing is buffered.
    pub(crate) never_wait: bool,
    /// Records processed per iteration, at most (about).
    pub(crate) max_records: usize,
    /// Time spent processing per iteration, at most (about).
    pub(crate) max_time: Duration,
}

impl Pace {
    /// A dedicated OS thread: waits in poll, processes up to 20,000 records or 100 ms.
    pub(crate) const DEDICATED: Pace =
        Pace { never_wait: false, max_records: MAX_RECORDS_PER_ITERATION, max_time: MAX_PROCESS_TIME };
}

/// What one loop iteration came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Asked to stop (or abandoned): call [`finish`].
    Stop,
    /// It polled or processed records, or has records buffered: run it again soon.
    Busy,
    /// Nothing polled, nothing buffered: nothing to do until new records or `poll.ms`.
    Idle,
}

/// Runs a stream thread to its end on the calling OS thread; the error is what the uncaught
/// exception handler sees.
pub(crate) fn run(shared: &Arc<ThreadShared>) -> Result<()> {
    let mut started = start(shared, None)?;
    let result = loop {
        match step(shared, &mut started, Pace::DEDICATED) {
            Ok(Step::Stop) => break Ok(()),
            Ok(Step::Busy | Step::Idle) => {}
            Err(e) => break Err(e),
        }
    };
    finish(shared, started, result)
}

/// Creates the thread's clients and subscribes. `pooled`: the thread is a unit of a
/// [`StreamThreadPool`](super::StreamThreadPool) and this wakes it; its consumer is switched
/// to never waiting (when the seam can) and calls it when a poll may return something new.
pub(crate) fn start(shared: &Arc<ThreadShared>, pooled: Option<Arc<dyn Fn() + Send + Sync>>) -> Result<Started> {
    let ctx = shared.ctx.clone();
    let config = &ctx.config;
    let mut producer =
        ctx.supplier.producer(&producer_settings(config, &shared.name, shared.transactional_id.clone()))?;
    if config.exactly_once() {
        producer.init_transactions()?;
    }
    let restore = ctx.supplier.restore_consumer(&consumer_settings(
        config,
        format!("{}-restore-consumer", shared.name),
        false,
        shared.index,
    ))?;
    let mut settings = consumer_settings(config, format!("{}-consumer", shared.name), true, shared.index);
    if let Some(reset) = sources_offset_reset(&ctx.factory.offset_resets()) {
        settings.overrides.insert("auto.offset.reset".into(), reset.into());
    }
    let mut consumer = ctx.supplier.consumer(&settings)?;
    *shared.core.lock() = Some(TaskManager {
        ctx: ctx.clone(),
        standbys: shared.standbys.clone(),
        index: shared.index,
        name: shared.name.clone(),
        transactional_id: shared.transactional_id.clone(),
        producer,
        restore,
        tasks: BTreeMap::new(),
        paused: BTreeSet::new(),
        in_txn: false,
        written: BTreeMap::new(),
        pending_assignment: None,
        needs_reinit: false,
        last_commit: Instant::now(),
        processed_since_commit: 0,
        standby: StandbyTimers::new(),
    });
    let (version, topics) = ctx.topics.versioned_subscription();
    if let Some(wake) = &pooled {
        let w = wake.clone();
        if !consumer.set_cooperative(Box::new(move || w())) {
            tracing::debug!(thread = %shared.name, "the client seam cannot wake a pooled stream thread; it polls every poll.ms");
        }
    }
    consumer.subscribe(&topics, Box::new(Handler { shared: shared.clone() }))?;
    tracing::info!(thread = %shared.name, ?topics, pooled = pooled.is_some(), "stream thread started");
    let consumer_waker = consumer.waker();
    *shared.waker.lock() = match (consumer_waker, pooled) {
        (Some(c), Some(p)) => Some(Box::new(move || {
            c();
            p();
        })),
        (Some(c), None) => Some(c),
        (None, Some(p)) => Some(Box::new(move || p())),
        (None, None) => None,
    };
    Ok(Started { consumer, version, records: Vec::new() })
}

/// Ends a started thread: a final commit and clean close after `result` is `Ok`, a dirty close
/// after an error, nothing committed when abandoned. Returns `result`.
pub(crate) fn finish(shared: &Arc<ThreadShared>, started: Started, result: Result<()>) -> Result<()> {
    let Started { mut consumer, .. } = started;
    *shared.waker.lock() = None;
    if shared.abandon.load(Ordering::SeqCst) {
        // Like a crash: nothing is committed; the tasks and clients are just dropped.
        *shared.core.lock() = None;
        shared.standbys.abandon_hosted(shared.index);
        drop(consumer);
        return result;
    }
    shared.set_state(ThreadState::PendingShutdown);
    if let Some(core) = shared.core.lock().as_mut() {
        match &result {
            Ok(()) => core.shutdown(consumer.as_mut()),
            Err(_) => core.close_dirty(),
        }
    }
    consumer.close();
    *shared.core.lock() = None;
    shared.standbys.close_hosted(shared.index);
    tracing::info!(thread = %shared.name, "stream thread stopped");
    result
}

/// A pattern source matched new topics: commit, then subscribe to the new list (the group
/// rebalances and the tasks get the new partitions).
fn resubscribe(shared: &Arc<ThreadShared>, consumer: &mut dyn StreamsConsumer, version: &mut u64) -> Result<()> {
    let ctx = &shared.ctx;
    if ctx.topics.version() == *version {
        return Ok(());
    }
    if let Some(core) = shared.core.lock().as_mut() {
        if !core.tasks.is_empty() {
            let group = consumer.group_metadata();
            if let Err(e) = core.commit(&mut |o| consumer.commit(o), &group) {
                if core.eos() {
                    core.recover_from_failed_commit(&e)?;
                } else {
                    // The tasks' next owners start from the last committed offsets.
                    tracing::warn!(thread = %shared.name, error = %e, "commit before re-subscribing failed");
                }
            }
        }
    }
    let (v, topics) = ctx.topics.versioned_subscription();
    tracing::info!(thread = %shared.name, ?topics, "re-subscribing: pattern sources match new topics");
    consumer.subscribe(&topics, Box::new(Handler { shared: shared.clone() }))?;
    *version = v;
    Ok(())
}

/// One loop iteration: poll, add records, process (bounded by `pace`), punctuate, standbys,
/// commit when due.
pub(crate) fn step(shared: &Arc<ThreadShared>, started: &mut Started, pace: Pace) -> Result<Step> {
    if shared.stop.load(Ordering::SeqCst) || shared.abandon.load(Ordering::SeqCst) {
        return Ok(Step::Stop);
    }
    let consumer = started.consumer.as_mut();
    resubscribe(shared, consumer, &mut started.version)?;
    let busy = shared.core.lock().as_ref().is_some_and(TaskManager::has_buffered);
    let timeout = if busy || pace.never_wait { Duration::ZERO } else { shared.ctx.config.poll };
    let records = &mut started.records;
    records.clear();
    consumer.poll(timeout, records)?;
    if shared.abandon.load(Ordering::SeqCst) {
        return Ok(Step::Stop);
    }
    let polled = !records.is_empty();
    let mut guard = shared.core.lock();
    let Some(core) = guard.as_mut() else { return Ok(Step::Stop) };
    if let Some(assigned) = core.pending_assignment.take() {
        core.assign(&assigned)?;
        drop(guard);
        shared.set_state(ThreadState::Running);
        guard = shared.core.lock();
    }
    let Some(core) = guard.as_mut() else { return Ok(Step::Stop) };
    if core.needs_reinit {
        core.reinit(consumer)?;
        // Records fetched before the rewind are dropped; they come again.
        return Ok(Step::Busy);
    }
    core.add_records(records, consumer);
    let step = core.process_bounded(pace.max_records, pace.max_time).and_then(|n| core.punctuate().map(|()| n));
    let processed = match step {
        Ok(n) => n,
        Err(e) if core.eos() && is_fenced(&e) => {
            core.recover_from_failed_commit(&e)?;
            return Ok(Step::Busy);
        }
        Err(e) => return Err(e),
    };
    core.resume_drained(consumer);
    core.maintain_standbys();
    if core.commit_due() {
        let group = consumer.group_metadata();
        if let Err(e) = core.commit(&mut |o| consumer.commit(o), &group) {
            if core.eos() {
                core.recover_from_failed_commit(&e)?;
            } else {
                return Err(e);
            }
        }
    }
    // Records buffered that the tasks would not process (waiting for `max.task.idle.ms`) do
    // not make the thread busy: a pooled unit is parked until new records or `poll.ms`.
    Ok(if polled || processed > 0 { Step::Busy } else { Step::Idle })
}
