//! Standby replicas (`num.standby.replicas`): warm copies of other instances' stateful tasks,
//! kept by reading their changelogs, so that a failover restores only the tail.
//!
//! Active tasks are assigned by the consumer group's built-in assignor, which cannot place
//! standbys (and the rdkafka seam cannot run a custom one). So every instance derives the
//! standby placement from the group membership it can read through
//! [`StreamsAdmin`](super::client::StreamsAdmin): the processes of the group's members (from their
//! `client.id`, `<application.id>-<process id>-StreamThread-<n>-consumer`), sorted, and the
//! process running each stateful task. A task active on process `X` has its standbys on
//! `num.standby.replicas` distinct other processes, taken in sorted order cyclically after
//! `X`, starting at an offset that rotates with the task (so one instance's tasks spread
//! over the others); never on `X`, and fewer when there are not enough processes.
//!
//! A standby task is created through the [`TaskFactory`](crate::TaskFactory) like an active
//! one but is never initialised nor processed: it only applies changelog records (bounded per
//! stream-thread iteration, `read_committed` under exactly-once) and records the position it
//! reached through [`TaskEngine::post_commit`] every `commit.interval.ms` and on close (a
//! checkpoint file under at-least-once; with the data in the stores' write batch under
//! exactly-once), so that a task reopened from the same directory restores only from there.
//! Standby tasks are shared by the instance's threads: the thread that created one hosts
//! (updates) it, and a thread that gets the task as active takes the standby over (Kafka's
//! task recycling: the stores stay open, in-memory ones included) and restores only the
//! changelog records the standby had not read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::client::RestoreConsumer;
use super::thread_context::ThreadContext;
use crate::engine::{ConsumerRecord, TaskEngine, TaskId, TopicPartition};
use crate::error::Result;

/// One standby task.
pub(crate) struct StandbyTask {
    engine: Box<dyn TaskEngine>,
    /// The input partitions it was created with.
    inputs: Vec<TopicPartition>,
    /// The next changelog offset to read, per changelog partition.
    positions: BTreeMap<TopicPartition, i64>,
    /// Index of the stream thread hosting it.
    host: usize,
    /// Positions changed since the last checkpoint.
    dirty: bool,
}

/// The standby tasks of one instance.
#[derive(Default)]
pub(crate) struct Standbys {
    tasks: Mutex<BTreeMap<TaskId, StandbyTask>>,
}

impl std::fmt::Debug for Standbys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standbys").field("tasks", &self.tasks.lock().keys().collect::<Vec<_>>()).finish()
    }
}

/// The process id in a stream thread consumer's `client.id`
/// (`<application.id>-<process id>-StreamThread-<n>-consumer`); the whole id for any other
/// client, so every member counts as some process.
pub(crate) fn process_of_client(application_id: &str, client_id: &str) -> String {
    client_id
        .strip_suffix("-consumer")
        .and_then(|s| s.rsplit_once("-StreamThread-"))
        .and_then(|(head, _)| head.strip_prefix(application_id))
        .and_then(|s| s.strip_prefix('-'))
        .filter(|p| !p.is_empty())
        .unwrap_or(client_id)
        .to_owned()
}

/// The standby processes of each task, given each task's active process, every process of the
/// group, and `num.standby.replicas`.
pub(crate) fn placement(
    active: &BTreeMap<TaskId, String>,
    processes: &BTreeSet<String>,
    replicas: usize,
) -> BTreeMap<TaskId, Vec<String>> {
    let mut out = BTreeMap::new();
    if replicas == 0 {
        return out;
    }
    for (id, owner) in active {
        // The others, cyclically after the owner in sorted order.
        let after = processes.range::<String, _>((std::ops::Bound::Excluded(owner), std::ops::Bound::Unbounded));
        let before = processes.range::<String, _>(..owner);
        let others: Vec<&String> = after.chain(before).collect();
        if others.is_empty() {
            continue;
        }
        let n = replicas.min(others.len());
        let start = (id.subtopology as usize).wrapping_add(id.partition.unsigned_abs() as usize) % others.len();
        let chosen: Vec<String> = (0..n).map(|k| others[(start + k) % others.len()].clone()).collect();
        out.insert(*id, chosen);
    }
    out
}

impl Standbys {
    /// The standby tasks a thread hosts.
    pub(crate) fn hosted_by(&self, host: usize) -> BTreeSet<TaskId> {
        self.tasks.lock().iter().filter(|(_, t)| t.host == host).map(|(id, _)| *id).collect()
    }

    /// Runs `f` on every standby task engine.
    pub(crate) fn for_each(&self, f: &mut dyn FnMut(TaskId, &dyn TaskEngine)) {
        for (id, t) in self.tasks.lock().iter() {
            f(*id, t.engine.as_ref());
        }
    }

    /// Task `id` becomes active on thread `host` with `inputs`: its standby, if that thread
    /// hosts it, is handed over (Kafka's task recycling) with the changelog positions it
    /// reached, so the active task restores only the tail. A standby of another thread (its
    /// stores use that thread's record cache) or created for other input partitions is closed
    /// with its checkpoint instead, and the active task opens the same directory.
    pub(crate) fn take(
        &self,
        id: TaskId,
        inputs: &[TopicPartition],
        host: usize,
    ) -> Option<(Box<dyn TaskEngine>, BTreeMap<TopicPartition, i64>)> {
        let t = self.tasks.lock().remove(&id)?;
        let same = |a: &[TopicPartition], b: &[TopicPartition]| {
            a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
        };
        if t.host != host || !same(&t.inputs, inputs) {
            tracing::info!(task = %id, "standby task closed for its active task");
            close(id, t);
            return None;
        }
        tracing::info!(task = %id, positions = ?t.positions, "standby task recycled into the active task");
        Some((t.engine, t.positions))
    }

    /// Closes every standby a thread hosts (it is stopping); the next reconciliation places
    /// them again.
    pub(crate) fn close_hosted(&self, host: usize) {
        let mut tasks = self.tasks.lock();
        let ids: Vec<TaskId> = tasks.iter().filter(|(_, t)| t.host == host).map(|(id, _)| *id).collect();
        for id in ids {
            if let Some(t) = tasks.remove(&id) {
                close(id, t);
            }
        }
    }

    /// Drops the standbys a thread hosts without a checkpoint (the instance was abandoned, as
    /// in a crash).
    pub(crate) fn abandon_hosted(&self, host: usize) {
        self.tasks.lock().retain(|_, t| t.host != host);
    }

    /// Brings this instance's standby tasks in line with the group's current assignment.
    /// Returns `false` when it should be retried soon (the assignment was incomplete or a
    /// task could not be created).
    pub(crate) fn reconcile(&self, ctx: &ThreadContext, host: usize) -> bool {
        let replicas = ctx.config.num_standby_replicas;
        if replicas == 0 {
            return true;
        }
        let app = &ctx.config.application_id;
        let (owners, members) = match (ctx.admin.group_owners(app), ctx.admin.group_members(app)) {
            (Ok(o), Ok(m)) => (o, m),
            (Err(e), _) | (_, Err(e)) => {
                tracing::debug!(error = %e, "cannot describe the group to place standby tasks");
                return false;
            }
        };
        let mut processes: BTreeSet<String> = members.iter().map(|c| process_of_client(app, c)).collect();
        let mut active: BTreeMap<TaskId, String> = BTreeMap::new();
        for (tp, client) in &owners {
            let Some(id) = ctx.topics.task_of(tp) else { continue };
            let sub = ctx.topics.subtopologies.get(&id.subtopology);
            let stateful = sub.is_some_and(|s| !s.changelog_topics.is_empty());
            if stateful {
                let process = process_of_client(app, client);
                processes.insert(process.clone());
                active.entry(id).or_insert(process);
            }
        }
        let me = &ctx.process_id;
        let placed = placement(&active, &processes, replicas);
        let wanted: BTreeSet<TaskId> =
            placed.iter().filter(|(_, standbys)| standbys.contains(me)).map(|(id, _)| *id).collect();
        let mut complete = true;
        let mut tasks = self.tasks.lock();
        // Close standbys of tasks whose placement is known and no longer includes this process
        // (tasks without an owner right now, mid-rebalance, keep theirs).
        let drop: Vec<TaskId> =
            tasks.keys().filter(|id| active.contains_key(id) && !wanted.contains(id)).copied().collect();
        for id in drop {
            if let Some(t) = tasks.remove(&id) {
                tracing::info!(task = %id, "standby task no longer placed here");
                close(id, t);
            }
        }
        for id in wanted {
            if tasks.contains_key(&id) {
                continue;
            }
            match create(ctx, id, host) {
                Ok(t) => {
                    tracing::info!(task = %id, positions = ?t.positions, "standby task created");
                    tasks.insert(id, t);
                }
                Err(e) => {
                    // E.g. the directory is still locked by the active task a thread of this
                    // instance is closing.
                    tracing::debug!(task = %id, error = %e, "standby task not created yet");
                    complete = false;
                }
            }
        }
        complete
    }

    /// Applies new changelog records to the standbys `host` hosts, at most about `budget`
    /// records and for at most about `max_time` (end-offset lookups are round trips with a
    /// remote cluster); returns how many were applied.
    ///
    /// # Errors
    /// Client and store errors (the caller logs them; the standby retries later).
    pub(crate) fn update(
        &self,
        ctx: &ThreadContext,
        host: usize,
        restore: &mut dyn RestoreConsumer,
        budget: usize,
        max_time: Duration,
    ) -> Result<usize> {
        let started = Instant::now();
        let eos = ctx.config.exactly_once();
        let mut tasks = self.tasks.lock();
        let mut applied = 0usize;
        for (id, t) in tasks.iter_mut().filter(|(_, t)| t.host == host) {
            let changelogs: Vec<(TopicPartition, i64)> = t.positions.iter().map(|(tp, o)| (tp.clone(), *o)).collect();
            for (tp, pos) in changelogs {
                if applied >= budget || started.elapsed() >= max_time {
                    return Ok(applied);
                }
                let end = ctx.admin.end_offset(&tp, eos)?;
                if pos >= end {
                    continue;
                }
                // Compaction or retention may have removed the start of what is left to read.
                let from = pos.max(ctx.admin.start_offset(&tp)?);
                if from >= end {
                    continue;
                }
                let left = i64::try_from(budget - applied).unwrap_or(i64::MAX);
                let to = end.min(from.saturating_add(left));
                let engine = &mut t.engine;
                restore.read(&tp, from, to, &mut |records: &[ConsumerRecord]| {
                    engine.restore(&tp, records)?;
                    applied += records.len();
                    Ok(())
                })?;
                // Records in [from, to) are applied (the restore consumer filters past `to`).
                t.positions.insert(tp.clone(), to);
                t.dirty = true;
                tracing::trace!(task = %id, changelog = %tp, from, to, "standby updated");
            }
        }
        Ok(applied)
    }

    /// Writes the positions of the standbys `host` hosts as their checkpoints.
    pub(crate) fn checkpoint(&self, host: usize) {
        for (id, t) in self.tasks.lock().iter_mut().filter(|(_, t)| t.host == host && t.dirty) {
            match t.engine.post_commit(&t.positions) {
                Ok(()) => t.dirty = false,
                Err(e) => tracing::warn!(task = %id, error = %e, "standby checkpoint failed"),
            }
        }
    }
}

fn create(ctx: &ThreadContext, id: TaskId, host: usize) -> Result<StandbyTask> {
    let inputs: Vec<TopicPartition> = ctx
        .topics
        .subtopologies
        .get(&id.subtopology)
        .map(|s| {
            s.source_topics.iter().chain(&s.repartition_source_topics).map(|t| TopicPartition::new(t.clone(), id.partition)).collect()
        })
        .unwrap_or_default();
    let mut engine = ctx.factory.create_task(id, inputs.clone(), &ctx.app_dir, &ctx.config)?;
    let mut positions = BTreeMap::new();
    for (tp, start) in engine.changelog_start_offsets() {
        let log_start = match ctx.admin.start_offset(&tp) {
            Ok(o) => o,
            Err(e) => {
                let _ = engine.close(true);
                return Err(e);
            }
        };
        positions.insert(tp, start.max(log_start));
    }
    Ok(StandbyTask { engine, inputs, positions, host, dirty: false })
}

fn close(id: TaskId, mut t: StandbyTask) {
    if t.dirty {
        if let Err(e) = t.engine.post_commit(&t.positions) {
            tracing::warn!(task = %id, error = %e, "standby checkpoint failed");
        }
    }
    if let Err(e) = t.engine.close(true) {
        tracing::warn!(task = %id, error = %e, "closing a standby task failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: i32) -> TaskId {
        TaskId { subtopology: 0, partition: p }
    }

    #[test]
    fn the_process_comes_from_the_thread_client_id() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(process_of_client("my-app", &format!("my-app-{id}-StreamThread-2-consumer")), id);
        assert_eq!(process_of_client("my-app", "console-consumer"), "console-consumer");
        let foreign = format!("my-app-{id}-StreamThread-1-consumer");
        assert_eq!(process_of_client("other", &foreign), foreign);
    }

    #[test]
    fn standbys_go_to_other_processes_and_spread() {
        let procs: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let active: BTreeMap<TaskId, String> = (0..4).map(|p| (t(p), "a".to_owned())).collect();
        let one = placement(&active, &procs, 1);
        assert_eq!(one.len(), 4);
        let mut used = BTreeSet::new();
        for (id, s) in &one {
            assert_eq!(s.len(), 1, "{id}");
            assert_ne!(s[0], "a");
            used.insert(s[0].clone());
        }
        assert_eq!(used.len(), 2, "spread over b and c");
        // More replicas than other processes: every other process, once.
        let two = placement(&active, &procs, 5);
        for s in two.values() {
            let set: BTreeSet<&String> = s.iter().collect();
            assert_eq!(set.len(), 2);
            assert!(!s.contains(&"a".to_owned()));
        }
        // Alone: no standby; zero replicas: none.
        let alone: BTreeSet<String> = ["a".to_owned()].into();
        assert!(placement(&active, &alone, 1).is_empty());
        assert!(placement(&active, &procs, 0).is_empty());
        // Every instance computes the same thing.
        assert_eq!(placement(&active, &procs, 1), one);
    }
}
