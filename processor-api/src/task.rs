//! [`StreamTask`]: the task engine of one sub-topology x partition (Kafka's `StreamTask`),
//! implementing [`TaskEngine`], and [`TopologyTaskFactory`], the [`crate::TaskFactory`] of a
//! [`Topology`].
//!
//! - One record queue per input partition; the next record is the queue head with the smallest
//!   timestamp. While some partition is empty the task waits up to `max.task.idle.ms` of wall
//!   clock, then processes what it has (enforced processing).
//! - Stream time is the largest timestamp processed; stream-time punctuators fire after each
//!   record, wall-clock ones from [`TaskEngine::punctuate`].
//! - Stores live under `state_dir/<application.id>/<task id>/` and are opened through a
//!   [`StateManager`]; changelog records are buffered by the task's [`ChangelogSink`] and sent
//!   through the [`RecordCollector`] after each record and on commit, so they precede the
//!   commit of the input offsets.

pub(crate) mod build;
pub(crate) mod core;
pub(crate) mod erased;
mod factory;
pub(crate) mod nodes;
pub(crate) mod typed;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use brook_state_store::{
    AnyStore, ChangelogRecord, ChangelogSink, RecordContext, RocksDbEnv, SharedChangelogSink, StateManager, StoreContext,
    ThreadCache,
};
use bytes::Bytes;
use parking_lot::Mutex;

pub use self::factory::TopologyTaskFactory;
use self::core::{dispatch_input, drain_flushed, may_punctuate, NodeCx, NodeSlot, PendingQueue, TaskCore};
use crate::config::{HandlerResponse, StreamsConfig};
use crate::engine::{AnyTaskId, ConsumerRecord, OutputRecord, RecordCollector, TaskEngine, TaskId, TopicPartition};
use crate::error::{Error, Result, TopologyError};
use crate::processor::TimestampExtractor;
use crate::punctuation::PunctuationType;
use crate::record::{Record, RecordMetadata};
use crate::store_ref::{GlobalStores, StoreRef};
use crate::topology::pattern::TopicPattern;
use crate::topology::{NodeKind, Topology};

/// The most records a task processes in one run when a node batches.
const MAX_RUN: usize = 1024;

/// Changelog records the stores wrote, until the task hands them to its `RecordCollector`.
type Changelogs = PendingQueue<OutputRecord>;

/// Buffers changelog records until the task hands them to its `RecordCollector`. Keeps the
/// last topic's name (one store writes one changelog: no allocation per record for it).
struct BufferingSink {
    out: Arc<Changelogs>,
    topic: Option<Arc<str>>,
}

impl ChangelogSink for BufferingSink {
    fn send(&mut self, topic: &str, partition: i32, key: &[u8], value: Option<&[u8]>, timestamp: i64) {
        let topic = match &self.topic {
            Some(t) if **t == *topic => t.clone(),
            _ => self.topic.insert(Arc::from(topic)).clone(),
        };
        self.out.push(OutputRecord {
            topic,
            partition: Some(partition),
            key: Some(Bytes::copy_from_slice(key)),
            value: value.map(Bytes::copy_from_slice),
            timestamp,
            headers: Vec::new(),
        });
    }
}

struct SourceInput {
    topics: Vec<String>,
    pattern: Option<TopicPattern>,
    node: usize,
    extractor: Option<Arc<dyn TimestampExtractor>>,
}

impl SourceInput {
    fn reads(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic) || self.pattern.as_ref().is_some_and(|p| p.matches(topic))
    }
}

struct PartitionQueue {
    tp: TopicPartition,
    /// Records with their extracted timestamp (`None`: invalid, skipped when reached).
    records: VecDeque<(Option<i64>, ConsumerRecord)>,
    partition_time: i64,
    source: usize,
    /// `None`: the record's own timestamp ([`crate::RecordTimestampExtractor`], without a dynamic
    /// call per record).
    extractor: Option<Arc<dyn TimestampExtractor>>,
    /// The offset to commit (the next one after the last record consumed) since the last
    /// commit.
    consumed: Option<i64>,
}

/// What the tasks of a stream thread share.
#[derive(Debug, Clone, Default)]
pub struct TaskResources {
    /// The thread's record cache.
    pub cache: Option<ThreadCache>,
    /// The RocksDB environment (block cache, write-buffer limits); `None`: the state-store
    /// crate's default.
    pub rocksdb: Option<RocksDbEnv>,
    /// The instance's global stores: the global-store task registers them, every task can
    /// read them.
    pub global_stores: GlobalStores,
}

/// The task engine of one task of a [`Topology`].
pub struct StreamTask {
    core: TaskCore,
    nodes: Vec<NodeSlot>,
    /// The input partitions' queues, sorted by partition (a task's choice is a position here).
    queues: Vec<PartitionQueue>,
    idle_since: Option<i64>,
    max_idle_ms: i64,
    /// The topic name the task's record metadata (`core.metadata`, kept between records) was
    /// last read with: the next record of the same topic only updates the metadata's numbers
    /// (consumers share one name per fetch, so this is mostly a pointer comparison).
    metadata_topic: Option<Arc<str>>,
    changelogs: Arc<Changelogs>,
    changelog_to_store: BTreeMap<String, String>,
    committed_changelog: BTreeMap<String, i64>,
    deserialization_handler: HandlerResponse,
    processing_handler: HandlerResponse,
    production_handler: HandlerResponse,
    initialized: bool,
    /// Some node batches ([`crate::Processor::batching`]): records are processed in runs.
    batching: bool,
    closed: bool,
    /// Sources by the topic names and patterns they read, to accept new partitions.
    source_topics: Vec<SourceInput>,
}

impl fmt::Debug for StreamTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamTask")
            .field("id", &self.core.task_id)
            .field("nodes", &self.nodes)
            .field("partitions", &self.queues.iter().map(|q| &q.tp).collect::<Vec<_>>())
            .field("stream_time", &self.core.stream_time)
            .finish_non_exhaustive()
    }
}

use brook_common::now_ms;

impl StreamTask {
    /// Creates task `id` of `topology`: builds its nodes and opens its stores under
    /// `state_dir/<application.id>/<id>/` (`state_dir` is `state.dir` itself). `resources`
    /// holds the stream thread's record cache (`None`, or `statestore.cache.max.bytes` = 0,
    /// disables caching) and the shared RocksDB environment.
    ///
    /// # Errors
    /// [`Error::Topology`] for an unknown or global sub-topology or an input partition no
    /// source reads; store errors.
    pub fn new(
        topology: &Topology,
        id: TaskId,
        inputs: &[TopicPartition],
        state_dir: &Path,
        config: &StreamsConfig,
        resources: TaskResources,
    ) -> Result<StreamTask> {
        let app = config.application_id.as_str();
        let groups = topology.node_groups();
        let Some((group, global)) = groups.get(id.subtopology as usize) else {
            return Err(TopologyError::UnknownSubtopology(id.subtopology).into());
        };
        if *global {
            return Err(TopologyError::GlobalSubtopology(id.subtopology).into());
        }
        Self::build(topology, id.into(), group, inputs, state_dir, config, resources, app)
    }

    /// Builds the engine for the nodes `group` (also used for global-store groups by the test
    /// driver).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn build(
        topology: &Topology,
        id: AnyTaskId,
        group: &[usize],
        inputs: &[TopicPartition],
        state_dir: &Path,
        config: &StreamsConfig,
        resources: TaskResources,
        app: &str,
    ) -> Result<StreamTask> {
        let changelogs = Arc::new(Changelogs::default());
        let sink: SharedChangelogSink = Arc::new(Mutex::new(BufferingSink { out: changelogs.clone(), topic: None }));
        let record_context = RecordContext::default();
        // The global-store task (see `TopologyTaskFactory::create_global_task`) lives in
        // `state.dir/<application.id>/global`, as Kafka's global state directory. Its stores
        // have no changelog, hence no changelog partition (-1).
        let dir_name = id.to_string();
        let mut ctx = StoreContext::new(state_dir, app, dir_name, id.partition().unwrap_or(-1))
            .with_changelog_sink(sink)
            .with_record_context(record_context.clone())
            .with_transactional_offsets(config.exactly_once());
        if let Some(cache) = resources.cache.filter(|_| config.cache_max_bytes > 0) {
            ctx = ctx.with_thread_cache(cache);
        }
        if let Some(env) = resources.rocksdb {
            ctx = ctx.with_rocksdb(env);
        }
        let mut stores = StateManager::new(ctx.clone());
        let mut changelog_to_store = BTreeMap::new();
        let mut opened: Vec<String> = Vec::new();
        let mut owned_globals = Vec::new();
        for &i in group {
            for s in &topology.nodes[i].stores {
                if opened.contains(s) {
                    continue;
                }
                let def = &topology.stores[s];
                if def.global {
                    // The global-store task always opens its stores afresh (a factory may be
                    // reused after an earlier instance closed them).
                    if id == AnyTaskId::Global || resources.global_stores.get(s).is_none() {
                        resources.global_stores.insert(s, def.factory.build_store(&ctx)?);
                    }
                    owned_globals.push(s.clone());
                    opened.push(s.clone());
                    continue;
                }
                let store: AnyStore = def.factory.build_store(&ctx)?;
                stores.register(store);
                if def.factory.logging_enabled() && !def.global {
                    changelog_to_store.insert(ctx.changelog_topic(s), s.clone());
                }
                opened.push(s.clone());
            }
        }

        let local = |name: &str| group.iter().position(|&i| topology.nodes[i].name == name);
        let mut nodes: Vec<NodeSlot> = Vec::with_capacity(group.len());
        for &i in group {
            let def = &topology.nodes[i];
            let resolved = match &def.kind {
                NodeKind::Sink { topic: Some(t), .. } => Some(topology.resolve_topic(app, t)),
                _ => None,
            };
            nodes.push(NodeSlot {
                name: Arc::from(def.name.as_str()),
                children: Vec::new(),
                stores: def.stores.iter().map(|s| (s.clone(), stores.position(s))).collect(),
                proc: Some(def.spec.instantiate(resolved.as_deref())),
            });
        }
        for (j, &i) in group.iter().enumerate() {
            for p in &topology.nodes[i].parents {
                if let Some(pi) = local(p) {
                    if !nodes[pi].children.contains(&j) {
                        nodes[pi].children.push(j);
                    }
                }
            }
        }

        let source_topics: Vec<_> = group
            .iter()
            .enumerate()
            .filter_map(|(j, &i)| match &topology.nodes[i].kind {
                NodeKind::Source { topics, pattern, extractor, .. } => Some(SourceInput {
                    topics: topics.iter().map(|t| topology.resolve_topic(app, t)).collect(),
                    pattern: pattern.clone(),
                    node: j,
                    extractor: extractor.clone(),
                }),
                _ => None,
            })
            .collect();

        let mut task = StreamTask {
            core: TaskCore {
                application_id: app.to_owned(),
                task_id: id,
                stores,
                metadata: None,
                in_record: false,
                stream_time: -1,
                wall_clock: now_ms(),
                commit_requested: false,
                output: Vec::new(),
                record_context,
                record_time: i64::MIN,
                schedules: Vec::new(),
                next_schedule_id: 0,
                flushed: Arc::default(),
                flush_handlers: Vec::new(),
                globals: resources.global_stores,
                global_cache: BTreeMap::new(),
                owned_globals,
            },
            nodes,
            queues: Vec::new(),
            idle_since: None,
            max_idle_ms: i64::try_from(config.max_task_idle.as_millis()).unwrap_or(i64::MAX),
            metadata_topic: None,
            changelogs,
            changelog_to_store,
            committed_changelog: BTreeMap::new(),
            deserialization_handler: config.deserialization_exception_handler,
            processing_handler: config.processing_exception_handler,
            production_handler: config.production_exception_handler,
            initialized: false,
            batching: false,
            closed: false,
            source_topics,
        };
        for tp in inputs {
            if !task.add_partition(tp) {
                return Err(TopologyError::UnreadPartition { task: id, topic: tp.topic.clone() }.into());
            }
        }
        Ok(task)
    }

    /// Whether a source of this task reads `topic` (by name or pattern).
    pub fn reads_topic(&self, topic: &str) -> bool {
        self.source_topics.iter().any(|s| s.reads(topic))
    }

    /// Starts reading `tp` if a source reads its topic (by name or pattern); returns whether
    /// the task reads it.
    pub fn add_partition(&mut self, tp: &TopicPartition) -> bool {
        let Err(at) = self.queues.binary_search_by(|q| q.tp.cmp(tp)) else { return true };
        let Some(found) = self.source_topics.iter().find(|s| s.reads(&tp.topic)) else { return false };
        let extractor = found.extractor.clone();
        self.queues.insert(at, PartitionQueue {
                tp: tp.clone(),
                records: VecDeque::new(),
                partition_time: -1,
                source: found.node,
                extractor,
                consumed: None,
            });
        true
    }

    /// Sets the wall-clock time wall-clock punctuators scheduled in `init` start from (the
    /// test driver's mock clock). Default: the system clock when the task was created.
    pub fn set_wall_clock(&mut self, wall_clock_ms: i64) {
        self.core.wall_clock = wall_clock_ms;
    }

    /// The task's stream time (-1 before the first record).
    pub fn stream_time(&self) -> i64 {
        self.core.stream_time
    }

    /// A store of this task by name, or a global store this task updates (interactive
    /// queries, tests).
    pub fn store_mut(&mut self, name: &str) -> Option<StoreRef<'_, AnyStore>> {
        if self.core.stores.store_names().any(|n| n == name) {
            return self.core.stores.get_mut(name).map(StoreRef::local);
        }
        if !self.core.owned_globals.iter().any(|n| n == name) {
            return None;
        }
        let shared = self.core.global_store(name)?;
        Some(StoreRef::global(parking_lot::MutexGuard::map(shared.lock(), |s| s)))
    }

    /// A local store of this task by name, to read (interactive queries on active and standby
    /// tasks, tests).
    pub fn store(&self, name: &str) -> Option<&AnyStore> {
        self.core.stores.get(name)
    }

    /// Names of this task's stores (global stores it updates included).
    pub fn store_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.core.stores.store_names().map(str::to_owned).collect();
        names.extend(self.core.owned_globals.iter().cloned());
        names
    }

    /// Runs `f` on a store of this task (not a global store) for reads; `None` when the task
    /// has no such store. Reads go through the store's layers, caching included, so they see
    /// the task's latest writes (interactive queries).
    pub fn read_store<R>(&self, name: &str, f: impl FnOnce(&AnyStore) -> R) -> Option<R> {
        self.core.stores.get(name).map(f)
    }

    /// Runs `f` on a global store of the instance (shared by every task) for reads; `None`
    /// when there is no such global store.
    pub fn read_global_store<R>(&self, name: &str, f: impl FnOnce(&AnyStore) -> R) -> Option<R> {
        let shared = self.core.globals.get(name)?;
        let guard = shared.lock();
        Some(f(&guard))
    }

    pub(crate) fn local_store_names(&self) -> Vec<String> {
        self.core.stores.store_names().map(str::to_owned).collect()
    }

    pub(crate) fn local_store_mut(&mut self, name: &str) -> Option<&mut AnyStore> {
        self.core.stores.get_mut(name)
    }

    /// The input partitions.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.queues.iter().map(|q| q.tp.clone()).collect()
    }

    fn queue_mut(&mut self, tp: &TopicPartition) -> Option<&mut PartitionQueue> {
        // The partition number first: the topic's name is compared only for the match.
        self.queues.iter_mut().find(|q| q.tp.partition == tp.partition && q.tp.topic == tp.topic)
    }

    fn send_all(&mut self, out: &mut dyn RecordCollector) -> Result<()> {
        let changelogs = self.changelogs.take();
        if changelogs.is_empty() && self.core.output.is_empty() {
            return Ok(());
        }
        let keep_going = self.production_handler == HandlerResponse::Continue;
        for r in changelogs.into_iter().chain(self.core.output.drain(..)) {
            // The topic is only kept for the warning of a skipped record.
            let (topic, partition) = (keep_going.then(|| r.topic.clone()), r.partition);
            if let Err(e) = out.send(r) {
                match topic {
                    Some(topic) => {
                        tracing::warn!(task = %self.core.task_id, %topic, ?partition, error = %e, "send failed; skipping the record (production.exception.handler=continue)")
                    }
                    None => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Chooses the partition to process next (its position in `queues`), or `None` to wait.
    fn choose(&mut self, wall_clock: i64) -> Option<usize> {
        if self.queues.len() == 1 {
            // One input partition (most tasks): never idle-waits for another one.
            let q = &mut self.queues[0];
            while let Some((None, r)) = q.records.front() {
                q.consumed = Some(r.offset + 1);
                q.records.pop_front();
            }
            self.idle_since = None;
            return (!q.records.is_empty()).then_some(0);
        }
        // Drop invalid-timestamp heads first: they are consumed without processing.
        for q in &mut self.queues {
            while let Some((None, r)) = q.records.front() {
                q.consumed = Some(r.offset + 1);
                q.records.pop_front();
            }
        }
        let any_empty = self.queues.iter().any(|q| q.records.is_empty());
        let all_empty = self.queues.iter().all(|q| q.records.is_empty());
        if all_empty {
            return None;
        }
        if any_empty {
            let since = *self.idle_since.get_or_insert(wall_clock);
            if wall_clock.saturating_sub(since) < self.max_idle_ms {
                return None;
            }
            tracing::debug!(task = %self.core.task_id, "max.task.idle.ms passed; enforced processing");
        } else {
            self.idle_since = None;
        }
        self.queues
            .iter()
            .enumerate()
            .filter_map(|(i, q)| q.records.front().and_then(|(ts, _)| ts.map(|ts| (ts, i))))
            .min_by_key(|(ts, _)| *ts)
            .map(|(_, i)| i)
    }

    fn handle(&mut self, result: Result<()>, meta: &RecordMetadata) -> Result<()> {
        match result {
            Ok(()) => Ok(()),
            Err(e @ Error::Deserialization { .. }) => match self.deserialization_handler {
                HandlerResponse::Continue => {
                    tracing::warn!(task = %self.core.task_id, topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %e, "skipping record that failed to deserialize");
                    Ok(())
                }
                HandlerResponse::Fail => Err(e),
            },
            Err(e @ Error::Processing { .. }) => match self.processing_handler {
                HandlerResponse::Continue => {
                    tracing::warn!(task = %self.core.task_id, topic = %meta.topic, partition = meta.partition, offset = meta.offset, error = %e, "skipping record that failed processing");
                    Ok(())
                }
                HandlerResponse::Fail => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    fn flush_stores(&mut self) -> Result<()> {
        let names = self.local_store_names();
        // Flushing a cache may forward records that write other stores, whose caches then need a
        // flush of their own: repeat until quiet. Records only flow downstream, so a chain of
        // caches is at most as long as the task has stores; a task still forwarding after that
        // many rounds has a cache-flush handler writing a store it is fed from (a cycle), which
        // would never settle.
        let rounds = names.len() + self.core.owned_globals.len() + 1;
        for _ in 0..rounds {
            for n in &names {
                if let Some(s) = self.core.stores.get_mut(n) {
                    s.state_store_mut().flush()?;
                }
            }
            for n in self.core.owned_globals.clone() {
                if let Some(s) = self.core.global_store(&n) {
                    s.lock().state_store_mut().flush()?;
                }
            }
            if !drain_flushed(&mut self.core, &mut self.nodes)? {
                return Ok(());
            }
        }
        Err(Error::IllegalState(format!(
            "task {}: flushing its stores did not settle after {rounds} rounds: a cache-flush handler writes a store it is fed from",
            self.core.task_id
        )))
    }
    /// Processes the head record of queue `chosen` (its position in `queues`), sends its
    /// output and fires due stream-time punctuators.
    fn process_one(&mut self, chosen: usize, out: &mut dyn RecordCollector) -> Result<()> {
        self.process_deferred(chosen)?;
        drain_flushed(&mut self.core, &mut self.nodes)?;
        self.send_all(out)?;
        if self.core.schedules.is_empty() {
            return Ok(());
        }
        let now = self.core.stream_time;
        if may_punctuate(&mut self.core, &mut self.nodes, PunctuationType::StreamTime, now)? {
            drain_flushed(&mut self.core, &mut self.nodes)?;
            self.send_all(out)?;
        }
        Ok(())
    }

    /// Processes the head record of queue `chosen`; its output stays in the task's buffer.
    fn process_deferred(&mut self, chosen: usize) -> Result<()> {
        let sent_before = self.core.output.len();
        let q = &mut self.queues[chosen];
        let (ts, r) = q.records.pop_front().expect("non-empty");
        q.consumed = Some(r.offset + 1);
        let source = q.source;
        let ts = ts.expect("valid heads only");
        self.core.stream_time = self.core.stream_time.max(ts);
        let ConsumerRecord { topic, partition, offset, timestamp, key, value, headers } = r;
        let same_topic = match (&self.metadata_topic, &self.core.metadata) {
            (Some(t), Some(m)) => Arc::ptr_eq(t, &topic) || *m.topic == *topic,
            _ => false,
        };
        match &mut self.core.metadata {
            Some(m) if same_topic => {
                m.partition = partition;
                m.offset = offset;
                m.timestamp = timestamp;
            }
            m => *m = Some(RecordMetadata { topic: topic.to_string(), partition, offset, timestamp }),
        }
        self.metadata_topic = Some(topic);
        self.core.in_record = true;
        let result = dispatch_input(&mut self.core, &mut self.nodes, source, Record::with_all(key, value, ts, headers));
        self.core.in_record = false;
        let result = match result {
            Ok(()) => Ok(()),
            Err(e) => {
                let e = *e;
                let meta = self.core.metadata.clone().unwrap_or_else(|| RecordMetadata {
                    topic: self.metadata_topic.as_deref().unwrap_or_default().to_owned(),
                    partition,
                    offset,
                    timestamp,
                });
                self.handle(Err(e), &meta)
            }
        };
        if result.is_err() {
            // Nothing of a failed record leaves the task.
            self.core.output.truncate(sent_before);
        }
        result
    }

    /// Ends a run: the batching nodes forward what they kept, upstream first.
    fn flush_batches(&mut self, out: &mut dyn RecordCollector) -> Result<()> {
        for i in 0..self.nodes.len() {
            let Some(mut p) = self.nodes[i].proc.take() else { continue };
            let r = if p.batching() { p.flush_batch(NodeCx { core: &mut self.core, nodes: &mut self.nodes, node: i }) } else { Ok(()) };
            self.nodes[i].proc = Some(p);
            r?;
        }
        drain_flushed(&mut self.core, &mut self.nodes)?;
        self.send_all(out)
    }
}

impl TaskEngine for StreamTask {
    fn id(&self) -> AnyTaskId {
        self.core.task_id
    }

    fn changelog_start_offsets(&self) -> BTreeMap<TopicPartition, i64> {
        let starts = self.core.stores.restore_start_offsets().unwrap_or_else(|e| {
            tracing::warn!(task = %self.core.task_id, error = %e, "unreadable checkpoint; restoring from the beginning");
            BTreeMap::new()
        });
        // The global task has no changelogs (its topics are its stores' changelogs).
        let Some(partition) = self.core.task_id.partition() else { return BTreeMap::new() };
        self.changelog_to_store
            .iter()
            .map(|(topic, store)| (TopicPartition::new(topic.clone(), partition), starts.get(store).copied().flatten().unwrap_or(0)))
            .collect()
    }

    fn restore(&mut self, changelog: &TopicPartition, records: &[ConsumerRecord]) -> Result<()> {
        let Some(store) = self.changelog_to_store.get(&changelog.topic).cloned() else {
            return Err(Error::IllegalState(format!("task {} has no store for changelog {}", self.core.task_id, changelog.topic)));
        };
        let batch: Vec<ChangelogRecord> = records
            .iter()
            .filter_map(|r| {
                Some(ChangelogRecord { key: r.key.clone()?, value: r.value.clone(), offset: r.offset, timestamp: r.timestamp })
            })
            .collect();
        if let Some(last) = records.last() {
            self.committed_changelog.insert(store.clone(), last.offset);
        }
        let Some(s) = self.core.stores.get_mut(&store) else { return Ok(()) };
        s.state_store_mut().restore_batch(&batch)?;
        Ok(())
    }

    fn initialize(&mut self) -> Result<()> {
        if self.initialized {
            return Ok(());
        }
        for i in 0..self.nodes.len() {
            let Some(mut p) = self.nodes[i].proc.take() else { continue };
            let r = p.init(NodeCx { core: &mut self.core, nodes: &mut self.nodes, node: i });
            self.nodes[i].proc = Some(p);
            r?;
        }
        self.batching = self.nodes.iter().any(|n| n.proc.as_ref().is_some_and(|p| p.batching()));
        self.initialized = true;
        Ok(())
    }

    fn add_records(&mut self, partition: &TopicPartition, records: Vec<ConsumerRecord>) {
        self.add_record_run(partition, &mut records.into_iter());
    }

    fn add_record_run(&mut self, partition: &TopicPartition, records: &mut dyn Iterator<Item = ConsumerRecord>) {
        let Some(q) = self.queue_mut(partition) else {
            tracing::warn!(task = %self.core.task_id, topic = %partition.topic, partition = partition.partition, "records for a partition this task does not own");
            return;
        };
        for r in records {
            let ts = match &q.extractor {
                None => r.timestamp,
                Some(x) => x.extract(&r, q.partition_time),
            };
            if ts < 0 {
                tracing::warn!(topic = %r.topic, partition = r.partition, offset = r.offset, timestamp = ts, "skipping record with invalid timestamp");
                q.records.push_back((None, r));
            } else {
                q.partition_time = q.partition_time.max(ts);
                q.records.push_back((Some(ts), r));
            }
        }
    }

    fn buffered(&self, partition: &TopicPartition) -> usize {
        self.queues.iter().find(|q| q.tp == *partition).map_or(0, |q| q.records.len())
    }

    fn process(&mut self, wall_clock_ms: i64, out: &mut dyn RecordCollector) -> Result<bool> {
        self.core.wall_clock = wall_clock_ms;
        let Some(mut chosen) = self.choose(wall_clock_ms) else { return Ok(false) };
        if !self.batching {
            self.process_one(chosen, out)?;
            return Ok(true);
        }
        // A run of records, as one-by-one calls would take them; punctuators would see the
        // batching nodes' records late, so with any scheduled the run is one record.
        let run = if self.core.schedules.is_empty() { MAX_RUN } else { 1 };
        // Without stores nothing flushes from a cache mid-run: the run's output is sent at
        // its end, in order.
        let defer = run > 1 && self.core.stores.store_names().next().is_none() && self.core.owned_globals.is_empty();
        for n in 1.. {
            if defer {
                self.process_deferred(chosen)?;
            } else {
                self.process_one(chosen, out)?;
            }
            if n == run {
                break;
            }
            match self.choose(wall_clock_ms) {
                Some(c) => chosen = c,
                None => break,
            }
        }
        self.flush_batches(out)?;
        Ok(true)
    }

    fn punctuate(&mut self, wall_clock_ms: i64, out: &mut dyn RecordCollector) -> Result<bool> {
        self.core.wall_clock = wall_clock_ms;
        let fired = may_punctuate(&mut self.core, &mut self.nodes, PunctuationType::WallClockTime, wall_clock_ms)?;
        drain_flushed(&mut self.core, &mut self.nodes)?;
        self.send_all(out)?;
        Ok(fired)
    }

    fn prepare_commit(&mut self, out: &mut dyn RecordCollector) -> Result<BTreeMap<TopicPartition, i64>> {
        self.flush_stores()?;
        self.send_all(out)?;
        Ok(self.queues.iter_mut().filter_map(|q| Some((q.tp.clone(), q.consumed.take()?))).collect())
    }

    fn post_commit(&mut self, changelog_offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        for (TopicPartition { topic, partition }, end) in changelog_offsets {
            if Some(*partition) != self.core.task_id.partition() {
                continue;
            }
            if let Some(store) = self.changelog_to_store.get(topic) {
                // End offsets are exclusive; the stores record the last offset they include.
                self.committed_changelog.insert(store.clone(), end - 1);
            }
        }
        let offsets = self.committed_changelog.clone();
        self.core.stores.commit(&offsets)?;
        self.core.commit_requested = false;
        Ok(())
    }

    fn commit_requested(&mut self) -> bool {
        self.core.commit_requested
    }

    fn close(&mut self, clean: bool) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let mut result = Ok(());
        // A standby task's processors were never initialised: only its stores close.
        for n in self.nodes.iter_mut().filter(|_| self.initialized) {
            if let Some(p) = n.proc.as_mut() {
                if let Err(e) = p.close() {
                    result = result.and(Err(e));
                }
            }
        }
        for n in self.core.owned_globals.clone() {
            if let Some(s) = self.core.global_store(&n) {
                if let Err(e) = s.lock().state_store_mut().close() {
                    result = result.and(Err(e.into()));
                }
            }
        }
        if clean {
            let offsets = self.committed_changelog.clone();
            result = result.and(self.core.stores.commit(&offsets).map_err(Error::from));
            result = result.and(self.core.stores.close().map_err(Error::from));
        } else {
            for n in self.local_store_names() {
                if let Some(s) = self.core.stores.get_mut(&n) {
                    if let Err(e) = s.state_store_mut().close() {
                        tracing::warn!(task = %self.core.task_id, store = %n, error = %e, "closing a dirty store failed");
                    }
                }
            }
        }
        result
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
