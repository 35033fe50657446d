//! The embedded consumer: group membership through the classic protocol with client-side
//! assignors, positions, auto and manual commits, `read_committed` filtering, pause / resume,
//! seek, rebalance listeners and a wakeup handle.
//!
//! - [`ConsumerConfig`] (`config`): the settings, by their Java-client keys.
//! - `membership`: the group member (JoinGroup / SyncGroup, the leader's assignment, heartbeats,
//!   leaving).
//! - `commit`: [`CommitHandle`] and [`ConsumerGroupMetadata`], usable from rebalance listeners.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

mod commit;
mod config;
mod membership;

pub use brook_common::{ConsumerRecord, OffsetReset};
pub use commit::{CommitHandle, ConsumerGroupMetadata};
pub use config::ConsumerConfig;

use super::TopicPartition;
use crate::broker::{Broker, OffsetSpec};
use crate::changes::TopicChanges;
use crate::error::{Error, ErrorCode, Result};
use crate::record::{self, batch};
use membership::Membership;

/// Told about partitions moving to and from this consumer; revocation comes before the
/// rebalance, assignment after it, as in the Java client.
pub trait RebalanceListener: Send {
    /// Partitions taken away; commit their offsets here, through a [`CommitHandle`] taken
    /// from the consumer before `subscribe` (the member still has its generation now).
    fn on_partitions_revoked(&mut self, partitions: &[TopicPartition]);
    /// Partitions given to this consumer.
    fn on_partitions_assigned(&mut self, partitions: &[TopicPartition]);
}

/// Interrupts a blocking [`Consumer::poll`] from another task or thread.
#[derive(Debug, Clone)]
pub struct WakeupHandle {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl WakeupHandle {
    /// Makes the current or next poll return [`Error::Wakeup`].
    pub fn wakeup(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct PartState {
    position: Option<i64>,
    paused: bool,
}

/// An embedded Kafka consumer. Like the Java client it is used from one task at a time.
pub struct Consumer {
    broker: Broker,
    config: ConsumerConfig,
    subscription: Option<Vec<String>>,
    listener: Option<Box<dyn RebalanceListener>>,
    assigned: BTreeMap<TopicPartition, PartState>,
    buffer: VecDeque<ConsumerRecord>,
    member: Arc<Mutex<Membership>>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    last_commit: Instant,
    wakeup: WakeupHandle,
    /// Appends to the watched topics: what a blocking `poll` waits on.
    changes: TopicChanges,
    closed: bool,
    /// Set by [`Consumer::set_nonblocking`].
    nonblocking: Option<NonBlocking>,
    /// The topics whose appends wake a nonblocking consumer: the subscription, or the
    /// topics of the assigned partitions.
    watched: Arc<Watched>,
}

/// The topics a nonblocking consumer's watcher watches, and a signal when they change.
#[derive(Debug, Default)]
struct Watched {
    /// The topics, and a version bumped when they change.
    topics: Mutex<(Vec<String>, u64)>,
    retarget: Notify,
}

impl Watched {
    fn set(&self, topics: Vec<String>) {
        let mut t = self.topics.lock();
        if topics != t.0 {
            *t = (topics, t.1 + 1);
            drop(t);
            self.retarget.notify_one();
        }
    }
}

/// Where a background join leaves its assignment (or error) before calling `ready`.
type JoinSlot = Arc<Mutex<Option<Result<Vec<TopicPartition>>>>>;

/// A consumer driven by a scheduler of many consumers on few threads
/// ([`Consumer::set_nonblocking`]).
struct NonBlocking {
    handle: tokio::runtime::Handle,
    ready: Arc<dyn Fn() + Send + Sync>,
    /// The group join (JoinGroup + SyncGroup) running as a task: where it leaves its result,
    /// the task, and the subscription it joins with.
    join: Option<(JoinSlot, tokio::task::JoinHandle<()>, Vec<String>)>,
    /// Calls `ready` on data appended to the broker and on wakeups.
    watcher: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("config", &self.config)
            .field("assigned", &self.assigned.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// Creates a consumer over an embedded broker.
    pub fn new(broker: Broker, config: ConsumerConfig) -> Consumer {
        let changes = broker.watch_topics(std::iter::empty::<&str>());
        Consumer {
            broker,
            config,
            subscription: None,
            listener: None,
            assigned: BTreeMap::new(),
            buffer: VecDeque::new(),
            member: Arc::new(Mutex::new(Membership {
                generation: -1,
                ..Default::default()
            })),
            heartbeat: None,
            last_commit: Instant::now(),
            wakeup: WakeupHandle {
                flag: Arc::new(AtomicBool::new(false)),
                notify: Arc::new(Notify::new()),
            },
            changes,
            closed: false,
            nonblocking: None,
            watched: Arc::default(),
        }
    }

    /// Makes [`poll`](Self::poll) never wait: a group join (JoinGroup, SyncGroup, which wait for
    /// the other members) runs as a task on `handle`, and polls return no records until it is
    /// done. `ready` is called, from any thread, whenever a poll may return something new: a
    /// join finished, records were appended to the broker, [`WakeupHandle::wakeup`] was called
    /// or the heartbeat found the group rebalancing. For schedulers that run many consumers on
    /// a few threads (the stream thread pool of `brook-processor-api`); poll with a zero
    /// timeout then.
    ///
    /// Appends wake it only when they are to a topic it reads (its subscription, or the topics
    /// of its assigned partitions): its watcher waits on those topics'
    /// [`Broker::watch_topics`] signal.
    pub fn set_nonblocking(&mut self, handle: tokio::runtime::Handle, ready: Arc<dyn Fn() + Send + Sync>) {
        let notify = self.wakeup.notify.clone();
        let wake = ready.clone();
        let (broker, watched) = (self.broker.clone(), self.watched.clone());
        let watcher = handle.spawn(async move {
            let (topics, mut version) = watched.topics.lock().clone();
            let mut changes = broker.watch_topics(topics);
            // Appends made between `assign`/`subscribe` and this watch would wake nobody:
            // let the owner look once.
            wake();
            loop {
                tokio::select! {
                    () = changes.changed() => {}
                    () = notify.notified() => {}
                    () = watched.retarget.notified() => {
                        let (topics, v) = watched.topics.lock().clone();
                        if v == version {
                            continue;
                        }
                        version = v;
                        changes.set_topics(topics);
                        // The new topics may have been appended to before the watch: let the
                        // owner look once.
                    }
                }
                wake();
            }
        });
        if let Some(old) = self.nonblocking.replace(NonBlocking { handle, ready, join: None, watcher }) {
            old.watcher.abort();
        }
    }

    /// Joins the group and consumes the partitions the group assigns.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] without a `group.id`.
    pub fn subscribe(&mut self, topics: &[&str], listener: Option<Box<dyn RebalanceListener>>) -> Result<()> {
        if self.config.group_id.is_none() {
            return Err(Error::InvalidConfig("subscribe needs group.id".into()));
        }
        self.subscription = Some(topics.iter().map(|t| t.to_string()).collect());
        self.changes.set_topics(topics);
        self.watched.set(topics.iter().map(|t| t.to_string()).collect());
        self.listener = listener;
        let mut m = self.member.lock();
        m.needs_rejoin = true;
        m.subscribed = true;
        Ok(())
    }

    /// Consumes exactly these partitions, without group membership.
    pub fn assign(&mut self, partitions: &[TopicPartition]) {
        self.subscription = None;
        self.member.lock().subscribed = false;
        self.buffer.clear();
        self.assigned = partitions.iter().map(|tp| (tp.clone(), PartState::default())).collect();
        let mut topics: Vec<String> = partitions.iter().map(|tp| tp.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        self.changes.set_topics(&topics);
        self.watched.set(topics);
    }

    /// The partitions currently assigned.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assigned.keys().cloned().collect()
    }

    /// A handle that interrupts `poll`.
    pub fn wakeup_handle(&self) -> WakeupHandle {
        self.wakeup.clone()
    }

    /// The group identity for
    /// [`Producer::send_offsets_to_transaction`](super::Producer::send_offsets_to_transaction)
    /// (Java's `groupMetadata()`): group id (empty without one), generation and member id of the
    /// last join (-1 and empty before it, or when partitions are assigned manually), and
    /// `group.instance.id`.
    pub fn group_metadata(&self) -> ConsumerGroupMetadata {
        self.commit_handle().group_metadata()
    }

    /// A handle that commits offsets as this consumer's group member, usable inside a
    /// [`RebalanceListener`] (give the listener a handle taken before `subscribe`).
    pub fn commit_handle(&self) -> CommitHandle {
        CommitHandle::new(
            self.broker.clone(),
            self.config.group_id.clone(),
            self.config.group_instance_id.clone(),
            self.member.clone(),
        )
    }

    /// Stops fetching from these partitions until resumed.
    pub fn pause(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            // Records already buffered for a paused partition are dropped: rewind to the first.
            let first = self.buffer.iter().find(|r| r.is_from(tp)).map(|r| r.offset);
            if let Some(s) = self.assigned.get_mut(tp) {
                s.paused = true;
                if first.is_some() {
                    s.position = first;
                }
            }
        }
        self.buffer.retain(|r| !partitions.iter().any(|tp| r.is_from(tp)));
    }

    /// Resumes fetching.
    pub fn resume(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            if let Some(s) = self.assigned.get_mut(tp) {
                s.paused = false;
            }
        }
    }

    /// The offset of the next record that will be returned for `tp`.
    ///
    /// # Errors
    /// When `tp` is not assigned, or its committed offset cannot be read.
    ///
    /// # Cancel safety
    /// Cancel safe: it never yields.
    pub async fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        self.ensure_positions()?;
        let buffered = self.buffer.iter().find(|r| r.is_from(tp)).map(|r| r.offset);
        let state = self
            .assigned
            .get(tp)
            .ok_or_else(|| Error::InvalidConfig(format!("{tp} is not assigned")))?;
        Ok(buffered.or(state.position).unwrap_or(-1))
    }

    /// Moves the position of an assigned partition.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) {
        if let Some(s) = self.assigned.get_mut(tp) {
            s.position = Some(offset);
            self.buffer.retain(|r| !r.is_from(tp));
        }
    }

    /// Seeks to the log start of each partition.
    ///
    /// # Errors
    /// Unknown partitions.
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for tp in partitions {
            let (o, _) = self.broker.list_offset(&tp.topic, tp.partition, OffsetSpec::Earliest, self.config.isolation_level)?;
            self.seek(tp, o);
        }
        Ok(())
    }

    /// Seeks to the end of each partition.
    ///
    /// # Errors
    /// Unknown partitions.
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for tp in partitions {
            let (o, _) = self.broker.list_offset(&tp.topic, tp.partition, OffsetSpec::Latest, self.config.isolation_level)?;
            self.seek(tp, o);
        }
        Ok(())
    }

    /// Committed offsets of the group for these partitions (-1 when none).
    ///
    /// # Errors
    /// Without a `group.id`; coordinator errors.
    pub fn committed(&self, partitions: &[TopicPartition]) -> Result<BTreeMap<TopicPartition, i64>> {
        let group = self.group_id()?;
        let fetched = self
            .broker
            .groups()
            .fetch_offsets(&group, Some(partitions), false)
            .map_err(|c| Error::kafka(c, format!("fetching offsets of group {group}")))?;
        Ok(fetched
            .into_iter()
            .map(|f| (TopicPartition::new(f.topic, f.partition), f.offset))
            .collect())
    }

    fn group_id(&self) -> Result<String> {
        self.config
            .group_id
            .clone()
            .ok_or_else(|| Error::InvalidConfig("this operation needs group.id".into()))
    }

    /// Returns buffered or newly fetched records, waiting up to `timeout` for some.
    ///
    /// # Errors
    /// [`Error::Wakeup`] after [`WakeupHandle::wakeup`]; `OffsetOutOfRange` with
    /// `auto.offset.reset=none`; group errors.
    ///
    /// # Cancel safety
    /// Cancel safe: fetched records wait in the consumer's buffer until a call returns them, so
    /// none is lost when a poll is dropped (e.g. losing a `tokio::select!`); a group join
    /// interrupted by the drop starts over on the next call.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let mut out = Vec::new();
        self.poll_with(timeout, |r| out.push(r)).await?;
        Ok(out)
    }

    /// [`poll`](Self::poll) handing each record to `f` instead of collecting them: a caller
    /// that keeps its own buffer (the stream runtime's consumer) reuses it, so no fresh vector
    /// of up to a whole fetch of records is allocated per poll. Returns how many records `f`
    /// got.
    ///
    /// # Errors
    /// As [`poll`](Self::poll).
    ///
    /// # Cancel safety
    /// As [`poll`](Self::poll): records reach `f` only in the call's last step, which does not
    /// await.
    pub async fn poll_with(&mut self, timeout: Duration, f: impl FnMut(ConsumerRecord)) -> Result<usize> {
        if !self.wait_for_records(timeout).await? {
            return Ok(0);
        }
        let n = self.buffer.len().min(self.config.max_poll_records);
        self.buffer.drain(..n).for_each(f);
        Ok(n)
    }

    /// [`poll`](Self::poll) appending to `out`. When `out` is empty and the whole buffer
    /// fits `max.poll.records`, the buffer itself becomes `out` and `out`'s allocation the next
    /// buffer: no record is moved (what the stream runtime's consumer uses, polling into the
    /// one vector it keeps). Returns how many records `out` got.
    ///
    /// # Errors
    /// As [`poll`](Self::poll).
    ///
    /// # Cancel safety
    /// As [`poll`](Self::poll).
    pub async fn poll_into(&mut self, timeout: Duration, out: &mut Vec<ConsumerRecord>) -> Result<usize> {
        if !self.wait_for_records(timeout).await? {
            return Ok(0);
        }
        let n = self.buffer.len();
        if out.is_empty() && n <= self.config.max_poll_records {
            let records = std::mem::replace(&mut self.buffer, VecDeque::from(std::mem::take(out)));
            // The buffer was filled from empty, so it starts at its allocation's start and this
            // moves nothing.
            *out = Vec::from(records);
            return Ok(n);
        }
        let n = n.min(self.config.max_poll_records);
        out.extend(self.buffer.drain(..n));
        Ok(n)
    }

    /// The loop of a poll: group membership, auto-commit, fetching when the buffer is empty,
    /// waiting up to `timeout`. Returns whether the buffer has records.
    async fn wait_for_records(&mut self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.wakeup.flag.swap(false, Ordering::SeqCst) {
                return Err(Error::Wakeup);
            }
            if self.subscription.is_some() {
                self.ensure_membership().await?;
            }
            self.maybe_auto_commit();
            if self.buffer.is_empty() {
                self.ensure_positions()?;
                self.changes.mark_seen();
                self.fetch()?;
            }
            if !self.buffer.is_empty() {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let wait = (deadline - now).min(self.config.heartbeat_interval).min(Duration::from_millis(500));
            let notify = self.wakeup.notify.clone();
            tokio::select! {
                () = self.changes.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = notify.notified() => {}
            }
        }
    }

    fn ensure_positions(&mut self) -> Result<()> {
        let missing: Vec<TopicPartition> = self
            .assigned
            .iter()
            .filter(|(_, s)| s.position.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let committed = match &self.config.group_id {
            Some(_) => self.committed(&missing)?,
            None => BTreeMap::new(),
        };
        for tp in missing {
            let pos = match committed.get(&tp) {
                Some(&o) if o >= 0 => o,
                _ => self.reset_offset(&tp)?,
            };
            if let Some(s) = self.assigned.get_mut(&tp) {
                s.position = Some(pos);
            }
        }
        Ok(())
    }

    fn reset_offset(&self, tp: &TopicPartition) -> Result<i64> {
        let spec = match self.config.auto_offset_reset {
            OffsetReset::Earliest => OffsetSpec::Earliest,
            OffsetReset::Latest => OffsetSpec::Latest,
            OffsetReset::None => {
                return Err(Error::kafka(
                    ErrorCode::OffsetOutOfRange,
                    format!("no committed offset for {tp} and auto.offset.reset=none"),
                ))
            }
        };
        Ok(self.broker.list_offset(&tp.topic, tp.partition, spec, self.config.isolation_level)?.0)
    }

    fn fetch(&mut self) -> Result<()> {
        let parts: Vec<(TopicPartition, i64)> = self
            .assigned
            .iter()
            .filter(|(_, s)| !s.paused)
            .filter_map(|(tp, s)| s.position.map(|p| (tp.clone(), p)))
            .collect();
        for (tp, pos) in parts {
            let data = match self.broker.fetch(&tp.topic, tp.partition, pos, self.config.max_partition_fetch_bytes, self.config.isolation_level) {
                Ok(d) => d,
                Err(Error::OffsetOutOfRange { .. }) => {
                    let reset = self.reset_offset(&tp)?;
                    tracing::info!(%tp, from = pos, to = reset, "offset out of range; resetting");
                    self.seek(&tp, reset);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let next = self.decode_into_buffer(&tp, pos, &data)?;
            if let Some(s) = self.assigned.get_mut(&tp) {
                s.position = Some(next);
            }
        }
        Ok(())
    }

    /// Decodes fetched batches, skipping control batches and aborted transactions; returns the
    /// next position.
    fn decode_into_buffer(&mut self, tp: &TopicPartition, mut pos: i64, data: &crate::FetchData) -> Result<i64> {
        let mut aborted: VecDeque<_> = {
            let mut v = data.aborted.clone();
            v.sort_by_key(|a| a.first_offset);
            v.into()
        };
        let mut aborted_pids: HashSet<i64> = HashSet::new();
        let mut topic: Option<Arc<str>> = None;
        for (h, range) in batch::split_batches(&data.records)? {
            if h.next_offset() <= pos {
                continue;
            }
            while aborted.front().is_some_and(|a| a.first_offset <= h.last_offset()) {
                if let Some(a) = aborted.pop_front() {
                    aborted_pids.insert(a.producer_id);
                }
            }
            if h.is_control() {
                if record::control_type(&data.records[range.clone()])? == record::ControlType::Abort {
                    aborted_pids.remove(&h.producer_id);
                }
                pos = h.next_offset();
                continue;
            }
            if h.is_transactional() && aborted_pids.contains(&h.producer_id) {
                pos = h.next_offset();
                continue;
            }
            // Decoded straight into the buffer; one topic name per fetched partition, shared by
            // its records.
            let topic = topic.get_or_insert_with(|| Arc::<str>::from(tp.topic.as_str()));
            let before = self.buffer.len();
            let mut sink = BufferSink { buffer: &mut self.buffer, topic, partition: tp.partition, from: pos };
            if let Err(e) = record::decode_batch_into(data.records.slice(range), &mut sink) {
                // Nothing of a batch that does not decode is returned.
                self.buffer.truncate(before);
                return Err(e);
            }
            pos = h.next_offset();
        }
        Ok(pos)
    }

    fn maybe_auto_commit(&mut self) {
        if self.config.enable_auto_commit
            && self.config.group_id.is_some()
            && self.last_commit.elapsed() >= self.config.auto_commit_interval
        {
            if let Err(e) = self.commit_sync() {
                tracing::warn!(error = %e, "auto commit failed");
            }
        }
    }

    /// The positions to commit: the offset of the next record the application will see.
    fn consumed_offsets(&self) -> BTreeMap<TopicPartition, i64> {
        let mut out: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for (tp, s) in &self.assigned {
            if let Some(p) = s.position {
                out.insert(tp.clone(), p);
            }
        }
        // Records still buffered were not returned yet: commit up to the first of them.
        for r in &self.buffer {
            if let Some(o) = out.get_mut(&r.topic_partition()) {
                *o = (*o).min(r.offset);
            }
        }
        out
    }

    /// Commits the current positions.
    ///
    /// # Errors
    /// `RebalanceInProgress` / `IllegalGeneration` / `UnknownMemberId` when the group moved
    /// on (the partitions were reassigned); without a `group.id`.
    pub fn commit_sync(&mut self) -> Result<()> {
        let offsets = self.consumed_offsets();
        self.commit_offsets(&offsets)
    }

    /// Commits explicit offsets (the offset of the next record to read).
    ///
    /// # Errors
    /// As [`commit_sync`](Self::commit_sync).
    pub fn commit_offsets(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        self.group_id()?;
        self.last_commit = Instant::now();
        self.commit_handle().commit_offsets(offsets)
    }

    async fn ensure_membership(&mut self) -> Result<()> {
        if let Some(nb) = self.nonblocking.as_mut() {
            if let Some((slot, task, _)) = &nb.join {
                if slot.lock().is_none() {
                    if task.is_finished() {
                        nb.join = None;
                        return Err(Error::InvalidConfig("the group join task ended without a result".into()));
                    }
                    return Ok(());
                }
                let Some((slot, _, topics)) = nb.join.take() else { return Ok(()) };
                let Some(joined) = slot.lock().take() else { return Ok(()) };
                // A `subscribe` while the join ran: join again with the new topics.
                let resubscribed = self.subscription.as_ref() != Some(&topics);
                self.joined(joined?);
                if resubscribed {
                    self.member.lock().needs_rejoin = true;
                }
                return Ok(());
            }
        }
        if !self.member.lock().needs_rejoin {
            return Ok(());
        }
        let group = self.group_id()?;
        let topics = self.subscription.clone().unwrap_or_default();
        // Eager protocol: give everything up before rejoining.
        let revoked: Vec<TopicPartition> = self.assigned.keys().cloned().collect();
        if !revoked.is_empty() {
            if self.config.enable_auto_commit {
                let _ = self.commit_sync();
            }
            if let Some(l) = self.listener.as_mut() {
                l.on_partitions_revoked(&revoked);
            }
        }
        self.assigned.clear();
        self.buffer.clear();
        let join = membership::join_and_sync(self.broker.clone(), self.config.clone(), self.member.clone(), group, topics.clone());
        match self.nonblocking.as_mut() {
            Some(nb) => {
                let ready = nb.ready.clone();
                let slot = JoinSlot::default();
                let result = slot.clone();
                let task = nb.handle.spawn(async move {
                    let r = join.await;
                    *result.lock() = Some(r);
                    ready();
                });
                nb.join = Some((slot, task, topics));
            }
            None => {
                let tps = join.await?;
                self.joined(tps);
            }
        }
        Ok(())
    }

    /// Takes the assignment of a finished join.
    fn joined(&mut self, tps: Vec<TopicPartition>) {
        let Some(group) = self.config.group_id.clone() else { return };
        self.assigned = tps.iter().map(|tp| (tp.clone(), PartState::default())).collect();
        self.member.lock().needs_rejoin = false;
        self.start_heartbeat(group);
        if let Some(l) = self.listener.as_mut() {
            l.on_partitions_assigned(&tps);
        }
    }

    fn start_heartbeat(&mut self, group: String) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        self.heartbeat = Some(membership::spawn_heartbeat(
            &self.member,
            self.broker.groups().clone(),
            group,
            self.config.heartbeat_interval,
            self.config.group_instance_id.clone(),
            self.wakeup.notify.clone(),
        ));
    }

    /// Commits (with auto commit on), leaves the group at once and stops heartbeating.
    ///
    /// # Cancel safety
    /// Cancel safe: it never yields, and dropping the consumer (with the future) closes it the
    /// same way.
    pub async fn close(mut self) {
        self.close_inner();
    }

    fn close_inner(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        if let Some(nb) = self.nonblocking.take() {
            nb.watcher.abort();
            if let Some((_, task, _)) = nb.join {
                task.abort();
            }
        }
        if self.subscription.is_some() {
            if self.config.enable_auto_commit {
                let _ = self.commit_sync();
            }
            if let Some(group) = self.config.group_id.as_deref() {
                membership::leave(&self.broker, group, &self.member, self.config.group_instance_id.clone());
            }
        }
    }
}

/// Decodes a fetched batch's records at or after `from` into the consumer's buffer.
struct BufferSink<'a> {
    buffer: &'a mut VecDeque<ConsumerRecord>,
    topic: &'a Arc<str>,
    partition: i32,
    from: i64,
}

impl record::RecordSink for BufferSink<'_> {
    fn reserve(&mut self, n: usize) {
        self.buffer.reserve(n);
    }

    fn push(&mut self, r: record::Record) {
        self.push_parts(r.offset, r.timestamp, r.key, r.value, r.headers);
    }

    // Inlined into the batch's record loop: the record is built in the buffer, not moved
    // through a call or a `Record`.
    #[inline(always)]
    fn push_parts(&mut self, offset: i64, timestamp: i64, key: Option<Bytes>, value: Option<Bytes>, headers: Vec<record::Header>) {
        if offset >= self.from {
            self.buffer.push_back(ConsumerRecord {
                topic: self.topic.clone(),
                partition: self.partition,
                offset,
                timestamp,
                key,
                value,
                headers,
            });
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.close_inner();
    }
}
