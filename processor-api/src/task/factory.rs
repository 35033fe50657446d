//! [`TopologyTaskFactory`]: the runtime's [`TaskFactory`] for a [`Topology`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::thread::ThreadId;

use brook_state_store::{RocksDbConfig, RocksDbEnv, ThreadCache};
use parking_lot::Mutex;

use super::{StreamTask, TaskResources};
use crate::config::StreamsConfig;
use crate::engine::{AnyTaskId, SubtopologyInfo, TaskEngine, TaskFactory, TaskId, TopicPartition};
use crate::error::Result;
use crate::store_ref::GlobalStores;
use crate::topology::{NodeKind, Topology};

/// Creates [`StreamTask`]s for a validated [`Topology`].
///
/// `create_task`'s `state_dir` is the application's directory, `state.dir/<application.id>`
/// (what the runtime passes); a task's stores live in `state_dir/<task id>/`.
///
/// # Thread caches
/// Kafka gives each stream thread one record cache of `statestore.cache.max.bytes /
/// num.stream.threads`, shared by the thread's tasks. `create_task` has no thread parameter, so
/// the factory keeps one [`ThreadCache`] per OS thread that calls it: create a thread's tasks on
/// that thread (as Kafka's stream threads do) and they share its cache. Use
/// [`TopologyTaskFactory::set_thread_cache`] to hand a task's thread a specific cache instead.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_processor_api::{SinkOptions, SourceOptions, StreamsConfig, TaskFactory, Topology, TopologyTaskFactory};
/// use brook_state_store::BytesSerde;
/// use bytes::Bytes;
/// let mut t = Topology::new();
/// t.add_source("src", SourceOptions::topics(["in"])).unwrap()
///     .add_sink("sink", SinkOptions::<Bytes, Bytes>::topic("out", Arc::new(BytesSerde), Arc::new(BytesSerde)), &["src"]).unwrap();
/// let factory = TopologyTaskFactory::new(t, &StreamsConfig::new("app")).unwrap();
/// assert_eq!(factory.subtopologies()[0].source_topics, vec!["in".to_owned()]);
/// ```
pub struct TopologyTaskFactory {
    topology: Topology,
    application_id: String,
    caches: Mutex<HashMap<ThreadId, ThreadCache>>,
    cache_bytes: usize,
    rocksdb: Mutex<Option<RocksDbEnv>>,
    global_stores: GlobalStores,
}

impl std::fmt::Debug for TopologyTaskFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopologyTaskFactory").field("application_id", &self.application_id).finish_non_exhaustive()
    }
}

impl TopologyTaskFactory {
    /// Validates `topology` for the application of `config`.
    ///
    /// # Errors
    /// [`crate::Error::Topology`] from [`Topology::validate`].
    pub fn new(topology: Topology, config: &StreamsConfig) -> Result<Self> {
        topology.validate()?;
        let cache_bytes = config.cache_max_bytes / config.num_stream_threads.max(1);
        Ok(TopologyTaskFactory {
            topology,
            application_id: config.application_id.clone(),
            caches: Mutex::new(HashMap::new()),
            cache_bytes,
            rocksdb: Mutex::new(None),
            global_stores: GlobalStores::new(),
        })
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The instance's global stores, shared by every task this factory creates.
    pub fn global_stores(&self) -> &GlobalStores {
        &self.global_stores
    }

    /// Creates the task that keeps the global stores up to date: it reads `inputs` (every
    /// partition of the global topics, see [`Topology::global_stores`]) through the global
    /// processors. Feed it all records up to the topics' end before starting the stream
    /// threads, then keep feeding it (Kafka's global thread); `None` without global stores.
    /// Its id is [`AnyTaskId::Global`]; `state_dir` as for `create_task`.
    ///
    /// # Errors
    /// As `create_task`.
    pub fn create_global_task(&self, inputs: Vec<TopicPartition>, state_dir: &Path, config: &StreamsConfig) -> Result<Option<StreamTask>> {
        let groups: Vec<usize> = self
            .topology
            .node_groups()
            .into_iter()
            .filter(|(_, global)| *global)
            .flat_map(|(g, _)| g)
            .collect();
        if groups.is_empty() {
            return Ok(None);
        }
        let resources = TaskResources { cache: None, rocksdb: Some(self.rocksdb_env()?), global_stores: self.global_stores.clone() };
        let root = state_dir.parent().unwrap_or_else(|| Path::new(""));
        StreamTask::build(&self.topology, AnyTaskId::Global, &groups, &inputs, root, config, resources, &self.application_id).map(Some)
    }

    fn rocksdb_env(&self) -> Result<RocksDbEnv> {
        let mut env = self.rocksdb.lock();
        Ok(match &*env {
            Some(e) => e.clone(),
            None => env.insert(RocksDbEnv::new(RocksDbConfig::default())?).clone(),
        })
    }

    /// Makes every later task use `env` for its RocksDB stores (default: one environment with
    /// [`RocksDbConfig::default`], shared by all tasks of this factory).
    pub fn set_rocksdb_env(&self, env: RocksDbEnv) {
        *self.rocksdb.lock() = Some(env);
    }

    /// Makes tasks created on the calling thread use `cache`.
    pub fn set_thread_cache(&self, cache: ThreadCache) {
        self.caches.lock().insert(std::thread::current().id(), cache);
    }

    /// The cache of the calling thread.
    pub fn thread_cache(&self) -> ThreadCache {
        self.caches.lock().entry(std::thread::current().id()).or_insert_with(|| ThreadCache::new(self.cache_bytes)).clone()
    }
}

impl TaskFactory for TopologyTaskFactory {
    fn subtopologies(&self) -> Vec<SubtopologyInfo> {
        let t = &self.topology;
        let app = &self.application_id;
        let mut out = Vec::new();
        for (id, (group, global)) in t.node_groups().into_iter().enumerate() {
            if global {
                continue;
            }
            let mut info = SubtopologyInfo {
                id: id as u32,
                source_topics: Vec::new(),
                repartition_source_topics: Vec::new(),
                repartition_sink_topics: Vec::new(),
                repartition_partition_counts: BTreeMap::new(),
                changelog_topics: Vec::new(),
                copartition_groups: Vec::new(),
            };
            let mut stores: Vec<&String> = Vec::new();
            for &i in &group {
                let n = &t.nodes[i];
                match &n.kind {
                    NodeKind::Source { topics, .. } => {
                        for topic in topics {
                            if t.internal_topics.contains(topic) {
                                info.repartition_source_topics.push(t.resolve_topic(app, topic));
                            } else {
                                info.source_topics.push(topic.clone());
                            }
                        }
                    }
                    NodeKind::Sink { topic: Some(topic), .. } if t.internal_topics.contains(topic) => {
                        let full = t.resolve_topic(app, topic);
                        if let Some(n) = t.internal_topic_partitions(topic) {
                            info.repartition_partition_counts.insert(full.clone(), n);
                        }
                        info.repartition_sink_topics.push(full);
                    }
                    _ => {}
                }
                for s in &n.stores {
                    if !stores.contains(&s) {
                        stores.push(s);
                    }
                }
            }
            for group_sources in &t.copartition {
                let mut topics = Vec::new();
                for name in group_sources {
                    if let Some(i) = group.iter().copied().find(|&i| &t.nodes[i].name == name) {
                        if let NodeKind::Source { topics: ts, .. } = &t.nodes[i].kind {
                            topics.extend(ts.iter().map(|topic| t.resolve_topic(app, topic)));
                        }
                    }
                }
                if topics.len() > 1 {
                    info.copartition_groups.push(topics);
                }
            }
            for s in stores {
                let def = &t.stores[s];
                if let (false, Some(config)) = (def.global, def.factory.changelog_config()) {
                    info.changelog_topics.push((brook_state_store::changelog_topic(app, s), config));
                }
            }
            out.push(info);
        }
        out
    }

    fn create_task(&self, id: TaskId, inputs: Vec<TopicPartition>, state_dir: &Path, config: &StreamsConfig) -> Result<Box<dyn TaskEngine>> {
        let cache = (config.cache_max_bytes > 0).then(|| self.thread_cache());
        let rocksdb = self.rocksdb_env()?;
        let resources = TaskResources { cache, rocksdb: Some(rocksdb), global_stores: self.global_stores.clone() };
        // The runtime passes the application's directory, `state.dir/<application.id>`.
        if state_dir.file_name().and_then(|n| n.to_str()) != Some(config.application_id.as_str()) {
            tracing::warn!(dir = %state_dir.display(), app = %config.application_id, "create_task expects state.dir/<application.id>");
        }
        let root = state_dir.parent().unwrap_or_else(|| Path::new(""));
        Ok(Box::new(StreamTask::new(&self.topology, id, &inputs, root, config, resources)?))
    }

    fn offset_resets(&self) -> BTreeMap<String, crate::OffsetReset> {
        self.topology.offset_resets()
    }

    fn source_patterns(&self) -> Vec<(u32, String)> {
        let t = &self.topology;
        let mut out = Vec::new();
        for (id, (group, global)) in t.node_groups().into_iter().enumerate() {
            if global {
                continue;
            }
            for &i in &group {
                if let NodeKind::Source { pattern: Some(p), .. } = &t.nodes[i].kind {
                    out.push((id as u32, p.as_str().to_owned()));
                }
            }
        }
        out
    }

    fn global_source_topics(&self) -> Vec<String> {
        let t = &self.topology;
        let mut out = Vec::new();
        for (group, global) in t.node_groups() {
            if !global {
                continue;
            }
            for &i in &group {
                if let NodeKind::Source { topics, .. } = &t.nodes[i].kind {
                    out.extend(topics.iter().map(|topic| t.resolve_topic(&self.application_id, topic)));
                }
            }
        }
        out
    }

    fn create_global_engine(&self, inputs: Vec<TopicPartition>, state_dir: &Path, config: &StreamsConfig) -> Result<Option<Box<dyn TaskEngine>>> {
        Ok(self.create_global_task(inputs, state_dir, config)?.map(|t| Box::new(t) as Box<dyn TaskEngine>))
    }

    fn store_names(&self) -> Vec<String> {
        self.topology.stores.keys().cloned().collect()
    }
}
