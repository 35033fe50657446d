//! The state a task's nodes share while processing: stores, punctuation schedules, output
//! buffer, clocks, and the node slots the graph is made of.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use brook_state_store::{FlushedRecord, RecordContext, StateManager};
use bytes::Bytes;
use parking_lot::Mutex;

use crate::engine::{AnyTaskId, OutputRecord};
use crate::error::{Error, Result};
use crate::punctuation::PunctuationType;
use crate::record::{Record, RecordMetadata};
use crate::store_ref::{GlobalStores, SharedStore};
use crate::task::erased::{with_erased, ErasedRecord, NodeResult};

/// An erased punctuator: called with its node's context and the punctuation time.
pub(crate) type PunctuateFn = Box<dyn FnMut(NodeCx<'_>, i64) -> Result<()> + Send>;
/// An erased cache-flush callback.
pub(crate) type FlushFn = Box<dyn FnMut(NodeCx<'_>, FlushedRecord) -> Result<()> + Send>;

/// A node of the graph as the task engine drives it.
pub(crate) trait ErasedProcessor: Send {
    fn init(&mut self, cx: NodeCx<'_>) -> Result<()>;
    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord<'_>) -> NodeResult;
    /// Processes an input record of the task with its raw key and value (a source node's
    /// override takes them without the erased slot). Default: [`ErasedProcessor::process`].
    fn process_input(&mut self, cx: NodeCx<'_>, record: Record<Option<Bytes>, Option<Bytes>>) -> NodeResult {
        with_erased(record, |r| self.process(cx, r))
    }
    fn close(&mut self) -> Result<()>;
    /// See [`Processor::batching`](crate::Processor::batching).
    fn batching(&self) -> bool {
        false
    }
    /// See [`Processor::flush_batch`](crate::Processor::flush_batch).
    fn flush_batch(&mut self, cx: NodeCx<'_>) -> Result<()> {
        let _ = cx;
        Ok(())
    }
}

/// One node of a task's graph.
pub(crate) struct NodeSlot {
    pub(crate) name: Arc<str>,
    pub(crate) children: Vec<usize>,
    /// The stores connected to the node, each with its position in the task's
    /// `StateManager` (`None`: not a local store), resolved once when the task is built.
    pub(crate) stores: Vec<(String, Option<usize>)>,
    /// Taken out while the node runs (the graph is a DAG, so a node never re-enters itself).
    pub(crate) proc: Option<Box<dyn ErasedProcessor>>,
}

impl fmt::Debug for NodeSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeSlot").field("name", &self.name).field("children", &self.children).finish_non_exhaustive()
    }
}

pub(crate) struct Schedule {
    pub(crate) id: u64,
    pub(crate) node: usize,
    pub(crate) ty: PunctuationType,
    pub(crate) next: i64,
    pub(crate) interval: i64,
    pub(crate) cancelled: Arc<AtomicBool>,
    pub(crate) f: Option<PunctuateFn>,
}

/// Shared task state.
pub(crate) struct TaskCore {
    pub(crate) application_id: String,
    pub(crate) task_id: AnyTaskId,
    pub(crate) stores: StateManager,
    /// The metadata of the record being processed, valid while `in_record` (kept between
    /// records so the next one of the same topic only updates its numbers): read through
    /// [`TaskCore::record_metadata`].
    pub(crate) metadata: Option<RecordMetadata>,
    /// A record is being processed (not a punctuator or a cache-flush callback).
    pub(crate) in_record: bool,
    pub(crate) stream_time: i64,
    pub(crate) wall_clock: i64,
    pub(crate) commit_requested: bool,
    pub(crate) output: Vec<OutputRecord>,
    pub(crate) record_context: RecordContext,
    /// The timestamp last written to `record_context` (written only when it changes).
    pub(crate) record_time: i64,
    pub(crate) schedules: Vec<Schedule>,
    pub(crate) next_schedule_id: u64,
    pub(crate) flushed: Arc<FlushQueue>,
    /// The cache-flush callbacks, one per store, indexed as the queue's records name them.
    pub(crate) flush_handlers: Vec<FlushHandler>,
    pub(crate) globals: GlobalStores,
    /// Global stores looked up so far (their guards borrow from here).
    pub(crate) global_cache: BTreeMap<String, SharedStore>,
    /// Global stores this task updates (the global-store task): flushed and closed by it.
    pub(crate) owned_globals: Vec<String>,
}

/// A cache-flush callback of node `node` for the records store `store` flushes.
pub(crate) struct FlushHandler {
    pub(crate) store: String,
    pub(crate) node: usize,
    /// Taken out while it runs.
    pub(crate) f: Option<FlushFn>,
}

/// Items pushed by the stores while the task writes them (flushed records, changelog records),
/// until the task takes them; `pending` lets the task check for none (after every record)
/// without the lock.
pub(crate) struct PendingQueue<T> {
    pending: AtomicBool,
    items: Mutex<Vec<T>>,
}

impl<T> Default for PendingQueue<T> {
    fn default() -> Self {
        PendingQueue { pending: AtomicBool::new(false), items: Mutex::new(Vec::new()) }
    }
}

impl<T> PendingQueue<T> {
    pub(crate) fn push(&self, item: T) {
        self.items.lock().push(item);
        self.pending.store(true, Ordering::Release);
    }

    /// Whether items may be queued (a spurious `true` is harmless: the queue is then empty).
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// The queued items; none without taking the lock when nothing was pushed.
    pub(crate) fn take(&self) -> Vec<T> {
        if !self.pending() {
            return Vec::new();
        }
        self.pending.store(false, Ordering::Release);
        std::mem::take(&mut *self.items.lock())
    }
}

/// The records the stores' caches flushed or evicted, each with the index of its flush handler,
/// until the task runs the handlers.
pub(crate) type FlushQueue = PendingQueue<(usize, FlushedRecord)>;

impl TaskCore {
    /// Sets the timestamp the stores give the changes of the record being processed.
    #[inline]
    pub(crate) fn set_record_time(&mut self, timestamp: i64) {
        if self.record_time != timestamp {
            self.record_time = timestamp;
            self.record_context.set_timestamp(timestamp);
        }
    }

    /// The metadata of the record being processed; `None` outside of one.
    #[inline]
    pub(crate) fn record_metadata(&self) -> Option<&RecordMetadata> {
        self.metadata.as_ref().filter(|_| self.in_record)
    }

    pub(crate) fn global_store(&mut self, name: &str) -> Option<&SharedStore> {
        if !self.global_cache.contains_key(name) {
            let s = self.globals.get(name)?;
            self.global_cache.insert(name.to_owned(), s);
        }
        self.global_cache.get(name)
    }
}

impl fmt::Debug for TaskCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCore")
            .field("task_id", &self.task_id)
            .field("stream_time", &self.stream_time)
            .field("schedules", &self.schedules.len())
            .finish_non_exhaustive()
    }
}

/// Node indexes a record is forwarded to.
pub(crate) type Targets = smallvec::SmallVec<[usize; 4]>;

/// A node's view of the task while it runs.
pub(crate) struct NodeCx<'a> {
    pub(crate) core: &'a mut TaskCore,
    pub(crate) nodes: &'a mut [NodeSlot],
    pub(crate) node: usize,
}

impl NodeCx<'_> {
    pub(crate) fn name(&self) -> Arc<str> {
        self.nodes[self.node].name.clone()
    }

    /// The children a forward goes to: all, or the one named `child` (inline up to a few, so
    /// a forward allocates nothing).
    pub(crate) fn targets(&self, child: Option<&str>) -> Result<Targets> {
        let children = &self.nodes[self.node].children;
        match child {
            None => Ok(Targets::from_slice(children)),
            Some(c) => children.iter().copied().find(|&i| &*self.nodes[i].name == c).map(|i| Targets::from_slice(&[i])).ok_or_else(|| {
                Error::Processing {
                    processor: self.nodes[self.node].name.to_string(),
                    message: format!("unknown child \"{c}\""),
                }
            }),
        }
    }

    /// Runs node `target` on `record`.
    #[inline]
    pub(crate) fn dispatch(&mut self, target: usize, record: ErasedRecord<'_>) -> NodeResult {
        dispatch(self.core, self.nodes, target, record)
    }

    pub(crate) fn schedule(&mut self, interval: i64, ty: PunctuationType, f: PunctuateFn) -> Arc<AtomicBool> {
        let cancelled = Arc::new(AtomicBool::new(false));
        let next = match ty {
            // Aligned to 0: punctuates as soon as there is data.
            PunctuationType::StreamTime => 0,
            PunctuationType::WallClockTime => self.core.wall_clock.saturating_add(interval),
        };
        let id = self.core.next_schedule_id;
        self.core.next_schedule_id += 1;
        self.core.schedules.push(Schedule { id, node: self.node, ty, next, interval, cancelled: cancelled.clone(), f: Some(f) });
        cancelled
    }
}

/// Runs node `target` on `record` with the task's shared state.
pub(crate) fn dispatch(core: &mut TaskCore, nodes: &mut [NodeSlot], target: usize, record: ErasedRecord<'_>) -> NodeResult {
    run_node(core, nodes, target, record.timestamp(), |p, cx| p.process(cx, record))
}

/// Runs source node `target` on an input record of the task.
pub(crate) fn dispatch_input(core: &mut TaskCore, nodes: &mut [NodeSlot], target: usize, record: Record<Option<Bytes>, Option<Bytes>>) -> NodeResult {
    run_node(core, nodes, target, record.timestamp(), |p, cx| p.process_input(cx, record))
}

/// Takes node `target`'s processor out of its slot while `f` runs it (the graph is a DAG: a
/// node never re-enters itself).
#[inline(always)]
fn run_node(
    core: &mut TaskCore,
    nodes: &mut [NodeSlot],
    target: usize,
    timestamp: i64,
    f: impl FnOnce(&mut dyn ErasedProcessor, NodeCx<'_>) -> NodeResult,
) -> NodeResult {
    let Some(mut p) = nodes[target].proc.take() else {
        return Err(reentered(&nodes[target].name));
    };
    core.set_record_time(timestamp);
    let result = f(&mut *p, NodeCx { core, nodes, node: target });
    nodes[target].proc = Some(p);
    result
}

#[cold]
fn reentered(node: &str) -> Box<Error> {
    Box::new(Error::IllegalState(format!("node {node} re-entered")))
}

/// Kafka's `PunctuationSchedule.next`: the first schedule time after `now`, aligned to the
/// original schedule.
fn next_time(scheduled: i64, interval: i64, now: i64) -> i64 {
    let next = scheduled.saturating_add(interval);
    if now >= next {
        let missed = (now - scheduled) / interval;
        scheduled.saturating_add((missed + 1).saturating_mul(interval))
    } else {
        next
    }
}

/// Kafka's `PunctuationQueue.mayPunctuate`: fires every due schedule of type `ty` once, earliest
/// first, with `now` as the punctuation time. Returns whether any fired.
pub(crate) fn may_punctuate(core: &mut TaskCore, nodes: &mut [NodeSlot], ty: PunctuationType, now: i64) -> Result<bool> {
    let mut fired = false;
    loop {
        core.schedules.retain(|s| !s.cancelled.load(Ordering::Relaxed));
        let due = core
            .schedules
            .iter()
            .filter(|s| s.ty == ty && s.next <= now && s.f.is_some())
            .min_by_key(|s| (s.next, s.id))
            .map(|s| s.id);
        let Some(id) = due else { break };
        let i = core.schedules.iter().position(|s| s.id == id).expect("schedule present");
        let node = core.schedules[i].node;
        let mut f = core.schedules[i].f.take().expect("checked");
        let saved = std::mem::replace(&mut core.in_record, false);
        core.set_record_time(now);
        let result = f(NodeCx { core: &mut *core, nodes: &mut *nodes, node }, now);
        core.in_record = saved;
        if let Some(s) = core.schedules.iter_mut().find(|s| s.id == id) {
            s.next = next_time(s.next, s.interval, now);
            s.f = Some(f);
        }
        fired = true;
        result?;
    }
    Ok(fired)
}

/// Runs the cache-flush callbacks for records the stores' caches flushed or evicted; returns
/// whether there were any.
#[inline]
pub(crate) fn drain_flushed(core: &mut TaskCore, nodes: &mut [NodeSlot]) -> Result<bool> {
    if !core.flushed.pending() {
        return Ok(false);
    }
    run_flushed(core, nodes)
}

fn run_flushed(core: &mut TaskCore, nodes: &mut [NodeSlot]) -> Result<bool> {
    let mut any = false;
    loop {
        let batch = core.flushed.take();
        if batch.is_empty() {
            return Ok(any);
        }
        any = true;
        for (handler, rec) in batch {
            let Some(h) = core.flush_handlers.get_mut(handler) else { continue };
            let node = h.node;
            let Some(mut f) = h.f.take() else { continue };
            core.set_record_time(rec.timestamp);
            let saved = std::mem::replace(&mut core.in_record, false);
            let result = f(NodeCx { core: &mut *core, nodes: &mut *nodes, node }, rec);
            core.in_record = saved;
            if let Some(h) = core.flush_handlers.get_mut(handler) {
                h.f = Some(f);
            }
            result?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::next_time;

    #[test]
    fn next_punctuation_stays_aligned() {
        assert_eq!(next_time(0, 10, 0), 10);
        assert_eq!(next_time(0, 10, 9), 10);
        assert_eq!(next_time(0, 10, 10), 20);
        assert_eq!(next_time(0, 10, 35), 40);
        assert_eq!(next_time(5, 10, 100), 105);
    }
}
