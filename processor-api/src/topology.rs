//! [`Topology`]: the processor graph built with the Processor API (Kafka's `Topology`), its
//! validation, sub-topologies and [`Topology::describe`].
//!
//! A topology is a description: nodes (names, kinds, parents, stores), store builders and
//! internal topics, and per node its spec (`spec.rs`: serdes, sink options, the user's
//! processor supplier). It builds no runtime node: the task factory does, per task
//! (`task/build.rs`).

mod describe;
pub(crate) mod options;
pub(crate) mod pattern;
pub(crate) mod spec;
mod store;

use std::any::{type_name, TypeId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

pub use self::describe::TopologyDescription;
pub use self::options::{Partitioner, SinkOptions, SourceOptions, TopicNameExtractor};
pub use self::store::StoreFactory;
use self::pattern::TopicPattern;
use crate::error::{Result, TopologyError};
use crate::processor::{OffsetReset, ProcessorSupplier, TimestampExtractor};
use self::spec::{ProcessorSpec, SinkSpec, SourceSpec};
use crate::task::build::NodeSpec;

#[derive(Clone)]
pub(crate) enum NodeKind {
    Source {
        topics: Vec<String>,
        pattern: Option<TopicPattern>,
        extractor: Option<Arc<dyn TimestampExtractor>>,
        reset: Option<OffsetReset>,
        global: bool,
    },
    Processor,
    Sink {
        topic: Option<String>,
        extractor: Option<String>,
    },
}

/// The key and value types a node forwards or accepts, checked when nodes are connected.
#[derive(Clone, Copy)]
pub(crate) struct Types {
    key: TypeId,
    value: TypeId,
    key_name: &'static str,
    value_name: &'static str,
}

impl Types {
    fn of<K: 'static, V: 'static>() -> Self {
        Types { key: TypeId::of::<K>(), value: TypeId::of::<V>(), key_name: type_name::<K>(), value_name: type_name::<V>() }
    }
}

/// What a node accepts: exactly its input types, or (sinks) `K`/`Option<K>` and `V`/`Option<V>`.
#[derive(Clone, Copy)]
pub(crate) struct Accepts {
    exact: Types,
    nullable: Option<Types>,
}

impl Accepts {
    fn accepts(&self, out: &Types) -> (bool, bool) {
        let key = out.key == self.exact.key || self.nullable.is_some_and(|n| n.key == out.key);
        let value = out.value == self.exact.value || self.nullable.is_some_and(|n| n.value == out.value);
        (key, value)
    }
}

#[derive(Clone)]
pub(crate) struct NodeDef {
    pub(crate) name: String,
    pub(crate) output: Option<Types>,
    pub(crate) parents: Vec<String>,
    pub(crate) kind: NodeKind,
    /// Connected stores, in connection order.
    pub(crate) stores: Vec<String>,
    /// What the task factory builds the node from.
    pub(crate) spec: Arc<dyn NodeSpec>,
}

#[derive(Clone)]
pub(crate) struct StoreDef {
    pub(crate) factory: Arc<dyn StoreFactory>,
    pub(crate) global: bool,
}

/// A processor graph: sources, processors, sinks and state stores.
///
/// Every `add_*` validates at once and returns [`TopologyError`] for an unknown parent, a
/// duplicate name, a topic read by two sources, ...; [`Topology::validate`] also rejects stores
/// no processor uses.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_processor_api::{Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology};
/// use brook_state_store::StringSerde;
///
/// struct Upper;
/// impl Processor<Option<String>, Option<String>> for Upper {
///     fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<String>, Option<String>>, r: Record<Option<String>, Option<String>>) -> Result<()> {
///         let v = r.value().as_ref().map(|v| v.to_uppercase());
///         ctx.forward(r.with_value(v))
///     }
/// }
///
/// let s = Arc::new(StringSerde);
/// let mut t = Topology::new();
/// t.add_source("src", SourceOptions::topics(["in"]).with_serdes(s.clone(), s.clone())).unwrap()
///     .add_processor("upper", || Upper, &["src"]).unwrap()
///     .add_sink("out", SinkOptions::topic("out", s.clone(), s), &["upper"]).unwrap();
/// assert!(t.describe().to_string().starts_with("Topologies:\n   Sub-topology: 0\n    Source: src (topics: [in])\n"));
/// ```
#[derive(Clone, Default)]
pub struct Topology {
    pub(crate) nodes: Vec<NodeDef>,
    pub(crate) stores: BTreeMap<String, StoreDef>,
    pub(crate) internal_topics: BTreeSet<String>,
    /// Internal topics created with a fixed partition count (`Repartitioned::with_number_of_partitions`).
    pub(crate) internal_topic_partitions: BTreeMap<String, i32>,
    pub(crate) copartition: Vec<Vec<String>>,
}

impl fmt::Debug for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topology")
            .field("nodes", &self.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>())
            .field("stores", &self.stores.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn invalid_parent(node: &str, parent: &str, parent_kind: &'static str) -> TopologyError {
    TopologyError::InvalidParent { node: node.to_owned(), parent: parent.to_owned(), parent_kind }
}

fn type_mismatch(node: &str, parent: &str, part: &'static str, expected: &'static str, actual: &'static str) -> TopologyError {
    TopologyError::TypeMismatch { node: node.to_owned(), parent: parent.to_owned(), part, expected, actual }
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn node(&self, name: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|n| n.name == name)
    }

    fn check_new_name(&self, name: &str) -> Result<(), TopologyError> {
        if name.is_empty() {
            return Err(TopologyError::EmptyName);
        }
        if self.node(name).is_some() {
            return Err(TopologyError::DuplicateNode(name.to_owned()));
        }
        Ok(())
    }

    fn check_parents(&self, name: &str, parents: &[&str], accepts: Accepts) -> Result<Vec<String>, TopologyError> {
        if parents.is_empty() {
            return Err(TopologyError::NoParent(name.to_owned()));
        }
        for p in parents {
            if *p == name {
                return Err(TopologyError::SelfParent(name.to_owned()));
            }
            match self.node(p) {
                None => return Err(TopologyError::UnknownParent { node: name.to_owned(), parent: (*p).to_owned() }),
                Some(NodeDef { kind: NodeKind::Sink { .. }, .. }) => {
                    return Err(invalid_parent(name, p, "sink"))
                }
                Some(NodeDef { kind: NodeKind::Source { global: true, .. }, .. }) => {
                    return Err(invalid_parent(name, p, "global source"))
                }
                Some(parent) => {
                    if let Some(out) = &parent.output {
                        let (key_ok, value_ok) = accepts.accepts(out);
                        if !key_ok {
                            return Err(type_mismatch(name, p, "keys", accepts.exact.key_name, out.key_name));
                        }
                        if !value_ok {
                            return Err(type_mismatch(name, p, "values", accepts.exact.value_name, out.value_name));
                        }
                    }
                }
            }
        }
        Ok(parents.iter().map(|p| (*p).to_owned()).collect())
    }

    fn check_source_topics(&self, name: &str, topics: &[String], pattern: Option<&TopicPattern>) -> Result<(), TopologyError> {
        if topics.is_empty() && pattern.is_none() {
            return Err(TopologyError::SourceWithoutTopic(name.to_owned()));
        }
        for t in topics {
            crate::topology::validate_topic_name(t)?;
            for n in &self.nodes {
                if let NodeKind::Source { topics: other, pattern: p, .. } = &n.kind {
                    if other.contains(t) {
                        return Err(TopologyError::TopicAlreadyRead(t.clone()));
                    }
                    if p.as_ref().is_some_and(|p| p.matches(t)) {
                        return Err(TopologyError::TopicMatchesPattern { topic: t.clone(), pattern_source: n.name.clone() });
                    }
                }
            }
        }
        if let Some(p) = pattern {
            for n in &self.nodes {
                if let NodeKind::Source { topics: other, .. } = &n.kind {
                    if let Some(t) = other.iter().find(|t| p.matches(t)) {
                        return Err(TopologyError::PatternMatchesTopic { pattern: p.as_str().to_owned(), topic: t.clone(), topic_source: n.name.clone() });
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds a source reading `options`' topics (or pattern), forwarding
    /// `Record<Option<K>, Option<V>>`.
    ///
    /// # Errors
    /// [`TopologyError`]: duplicate name, no topic, a topic another source reads, a bad
    /// pattern.
    pub fn add_source<K, V>(&mut self, name: &str, options: SourceOptions<K, V>) -> Result<&mut Self, TopologyError>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        self.add_source_inner(name, options, false)
    }

    fn add_source_inner<K, V>(&mut self, name: &str, options: SourceOptions<K, V>, global: bool) -> Result<&mut Self, TopologyError>
    where
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
    {
        self.check_new_name(name)?;
        let pattern = options.pattern.as_deref().map(TopicPattern::compile).transpose()?;
        self.check_source_topics(name, &options.topics, pattern.as_ref())?;
        self.nodes.push(NodeDef {
            name: name.to_owned(),
            output: Some(Types::of::<Option<K>, Option<V>>()),
            parents: Vec::new(),
            kind: NodeKind::Source { topics: options.topics, pattern, extractor: options.extractor, reset: options.reset, global },
            stores: Vec::new(),
            spec: Arc::new(SourceSpec { keys: options.keys, values: options.values }),
        });
        Ok(self)
    }

    /// Adds a processor receiving the records its parents forward.
    ///
    /// # Errors
    /// [`TopologyError`]: duplicate name, no parent, an unknown parent, a sink as parent.
    pub fn add_processor<KIn, VIn, KOut, VOut, S>(&mut self, name: &str, supplier: S, parents: &[&str]) -> Result<&mut Self, TopologyError>
    where
        S: ProcessorSupplier<KIn, VIn, KOut, VOut>,
        KIn: Send + 'static,
        VIn: Send + 'static,
        KOut: 'static,
        VOut: 'static,
    {
        self.check_new_name(name)?;
        let parents = self.check_parents(name, parents, Accepts { exact: Types::of::<KIn, VIn>(), nullable: None })?;
        self.nodes.push(NodeDef {
            name: name.to_owned(),
            output: Some(Types::of::<KOut, VOut>()),
            parents,
            kind: NodeKind::Processor,
            stores: Vec::new(),
            spec: Arc::new(ProcessorSpec::new(supplier)),
        });
        Ok(self)
    }

    /// Adds a sink writing what its parents forward (`K`/`V` or `Option<K>`/`Option<V>`).
    ///
    /// # Errors
    /// [`TopologyError`]: duplicate name, no parent, an unknown parent, a bad topic name.
    pub fn add_sink<K: 'static, V: 'static>(&mut self, name: &str, options: SinkOptions<K, V>, parents: &[&str]) -> Result<&mut Self, TopologyError> {
        self.check_new_name(name)?;
        let accepts = Accepts { exact: Types::of::<K, V>(), nullable: Some(Types::of::<Option<K>, Option<V>>()) };
        let parents = self.check_parents(name, parents, accepts)?;
        if let Some(t) = &options.topic {
            validate_topic_name(t)?;
        }
        let description = options.extractor.as_ref().map(|(_, d)| d.clone());
        let SinkOptions { topic, extractor, keys, values, partitioner } = options;
        let extractor = extractor.map(|(x, _)| x);
        self.nodes.push(NodeDef {
            name: name.to_owned(),
            output: None,
            parents,
            kind: NodeKind::Sink { topic, extractor: description },
            stores: Vec::new(),
            spec: Arc::new(SinkSpec { extractor, keys, values, partitioner }),
        });
        Ok(self)
    }

    /// Declares `topic` an internal (repartition) topic: sources and sinks name it without the
    /// prefix; tasks read and write `<application.id>-<topic>`, and the runtime creates it.
    ///
    /// # Errors
    /// [`TopologyError`] for an invalid name.
    pub fn add_internal_topic(&mut self, topic: &str) -> Result<&mut Self, TopologyError> {
        validate_topic_name(topic)?;
        self.internal_topics.insert(topic.to_owned());
        Ok(self)
    }

    /// Declares `topic` an internal (repartition) topic created with exactly `partitions`
    /// partitions (Kafka's `Repartitioned.withNumberOfPartitions`), instead of the partition
    /// count of the sub-topology writing it. The sub-topology reading it gets that many tasks.
    ///
    /// # Errors
    /// [`TopologyError`] for an invalid name or a count below 1.
    pub fn add_internal_topic_with_partitions(&mut self, topic: &str, partitions: i32) -> Result<&mut Self, TopologyError> {
        if partitions < 1 {
            return Err(TopologyError::InvalidPartitionCount { topic: topic.to_owned(), partitions });
        }
        self.add_internal_topic(topic)?;
        self.internal_topic_partitions.insert(topic.to_owned(), partitions);
        Ok(self)
    }

    /// The fixed partition count of an internal topic (named without the application id
    /// prefix), if it was declared with one.
    pub fn internal_topic_partitions(&self, topic: &str) -> Option<i32> {
        self.internal_topic_partitions.get(topic).copied()
    }

    /// Requires the topics of these sources to be co-partitioned (same partition count), as a
    /// join of their streams needs; the runtime checks it before creating tasks.
    ///
    /// # Errors
    /// [`TopologyError`] for a name that is not a source.
    pub fn copartition_sources(&mut self, sources: &[&str]) -> Result<&mut Self, TopologyError> {
        for s in sources {
            if !matches!(self.node(s), Some(NodeDef { kind: NodeKind::Source { global: false, .. }, .. })) {
                return Err(TopologyError::NotASource((*s).to_owned()));
            }
        }
        self.copartition.push(sources.iter().map(|s| (*s).to_owned()).collect());
        Ok(self)
    }

    /// Adds a state store and connects it to `processors` (which may be empty: connect later
    /// with [`Topology::connect_processor_and_state_stores`]).
    ///
    /// # Errors
    /// [`TopologyError`]: a store of that name exists, or a processor is unknown.
    pub fn add_state_store<F: StoreFactory + 'static>(&mut self, builder: F, processors: &[&str]) -> Result<&mut Self, TopologyError> {
        let name = builder.name().to_owned();
        if self.stores.contains_key(&name) {
            return Err(TopologyError::DuplicateStore(name));
        }
        self.stores.insert(name.clone(), StoreDef { factory: Arc::new(builder), global: false });
        for p in processors {
            self.connect_processor_and_state_stores(p, &[&name])?;
        }
        Ok(self)
    }

    /// Gives `processor` access to `stores`.
    ///
    /// # Errors
    /// [`TopologyError`]: unknown processor or store, a source or sink, a global store.
    pub fn connect_processor_and_state_stores(&mut self, processor: &str, stores: &[&str]) -> Result<&mut Self, TopologyError> {
        for s in stores {
            match self.stores.get(*s) {
                None => return Err(TopologyError::UnknownStore((*s).to_owned())),
                Some(d) if d.global => {
                    return Err(TopologyError::GlobalStoreConnected((*s).to_owned()))
                }
                Some(_) => {}
            }
        }
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.name == processor)
            .ok_or_else(|| TopologyError::UnknownProcessor(processor.to_owned()))?;
        if !matches!(node.kind, NodeKind::Processor) {
            return Err(TopologyError::NotAProcessor(processor.to_owned()));
        }
        for s in stores {
            if !node.stores.iter().any(|x| x == s) {
                node.stores.push((*s).to_owned());
            }
        }
        Ok(self)
    }

    /// Adds a global store: every instance reads all partitions of `source`'s single topic
    /// through `processor` (which writes the store), and no tasks are generated for it. Its
    /// topic is its changelog, so `builder` must have logging disabled.
    ///
    /// # Errors
    /// [`TopologyError`]: duplicate names, logging enabled, not exactly one topic.
    pub fn add_global_store<K, V, KOut, VOut, F, S>(
        &mut self,
        builder: F,
        source_name: &str,
        source: SourceOptions<K, V>,
        processor_name: &str,
        supplier: S,
    ) -> Result<&mut Self, TopologyError>
    where
        F: StoreFactory + 'static,
        S: ProcessorSupplier<Option<K>, Option<V>, KOut, VOut>,
        K: Clone + Send + 'static,
        V: Clone + Send + 'static,
        KOut: 'static,
        VOut: 'static,
    {
        let store = builder.name().to_owned();
        if builder.logging_enabled() {
            return Err(TopologyError::GlobalStoreLogged(store));
        }
        if source.topics.len() != 1 || source.pattern.is_some() {
            return Err(TopologyError::GlobalSourceTopics(source_name.to_owned()));
        }
        if self.stores.contains_key(&store) {
            return Err(TopologyError::DuplicateStore(store));
        }
        self.check_new_name(processor_name)?;
        if source_name == processor_name {
            return Err(TopologyError::DuplicateNode(processor_name.to_owned()));
        }
        self.add_source_inner(source_name, source, true)?;
        self.nodes.push(NodeDef {
            name: processor_name.to_owned(),
            output: Some(Types::of::<KOut, VOut>()),
            parents: vec![source_name.to_owned()],
            kind: NodeKind::Processor,
            stores: vec![store.clone()],
            spec: Arc::new(ProcessorSpec::new(supplier)),
        });
        self.stores.insert(store, StoreDef { factory: Arc::new(builder), global: true });
        Ok(self)
    }

    /// Checks what the `add_*` calls cannot check one at a time: every store is used by a
    /// processor, and sources/sinks reading or writing internal topics are consistent.
    ///
    /// # Errors
    /// [`TopologyError`].
    pub fn validate(&self) -> Result<(), TopologyError> {
        for name in self.stores.keys() {
            if !self.nodes.iter().any(|n| n.stores.contains(name)) {
                return Err(TopologyError::UnconnectedStore(name.clone()));
            }
        }
        Ok(())
    }

    /// Groups of connected nodes (through parents and shared stores), numbered in the order of
    /// their first node; each with whether it is a global-store group.
    pub(crate) fn node_groups(&self) -> Vec<(Vec<usize>, bool)> {
        let n = self.nodes.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let index: BTreeMap<&str, usize> = self.nodes.iter().enumerate().map(|(i, d)| (d.name.as_str(), i)).collect();
        let mut store_user: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, d) in self.nodes.iter().enumerate() {
            for p in &d.parents {
                let (a, b) = (root(&mut parent, i), root(&mut parent, index[p.as_str()]));
                parent[a] = b;
            }
            for s in &d.stores {
                if let Some(&j) = store_user.get(s.as_str()) {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a] = b;
                } else {
                    store_user.insert(s, i);
                }
            }
        }
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for i in 0..n {
            let r = root(&mut parent, i);
            match groups.iter_mut().find(|(gr, _)| *gr == r) {
                Some((_, g)) => g.push(i),
                None => groups.push((r, vec![i])),
            }
        }
        groups
            .into_iter()
            .map(|(_, g)| {
                let global = g.iter().any(|&i| matches!(self.nodes[i].kind, NodeKind::Source { global: true, .. }));
                (g, global)
            })
            .collect()
    }

    /// Pattern subscriptions, per sub-topology id: the runtime resolves them against the
    /// cluster's topics and passes the matching partitions to `create_task`.
    pub fn source_patterns(&self) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        for (id, (group, _)) in self.node_groups().into_iter().enumerate() {
            for &i in &group {
                if let NodeKind::Source { pattern: Some(p), .. } = &self.nodes[i].kind {
                    out.push((id as u32, p.as_str().to_owned()));
                }
            }
        }
        out
    }

    /// The `auto.offset.reset` override of each source topic (or pattern) that has one.
    pub fn offset_resets(&self) -> BTreeMap<String, OffsetReset> {
        let mut out = BTreeMap::new();
        for n in &self.nodes {
            if let NodeKind::Source { topics, pattern, reset: Some(r), .. } = &n.kind {
                for t in topics {
                    out.insert(t.clone(), *r);
                }
                if let Some(p) = pattern {
                    out.insert(p.as_str().to_owned(), *r);
                }
            }
        }
        out
    }

    /// Global stores: `(store, topic)`. Each instance reads every partition of the topic
    /// into the store before processing (not through tasks); the test driver runs them.
    pub fn global_stores(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for n in &self.nodes {
            if let NodeKind::Source { topics, global: true, .. } = &n.kind {
                let processor = self.nodes.iter().find(|p| p.parents.contains(&n.name));
                if let (Some(p), Some(t)) = (processor, topics.first()) {
                    out.push((p.stores.first().cloned().unwrap_or_default(), t.clone()));
                }
            }
        }
        out
    }

    /// The topic a task reads or writes for `topic` (internal topics get the prefix).
    pub(crate) fn resolve_topic(&self, application_id: &str, topic: &str) -> String {
        if self.internal_topics.contains(topic) {
            brook_common::topics::internal_topic(application_id, topic)
        } else {
            topic.to_owned()
        }
    }
}

/// Kafka's `Topic.validate`: 1..249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub(crate) fn validate_topic_name(topic: &str) -> Result<(), TopologyError> {
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TopologyError::InvalidTopicName(topic.to_owned()))
    }
}
