//! [`KStream`]: a record stream (Kafka's `KStream`) and its stateless operations; grouping in
//! [`grouped`], splitting in [`branch`], joins in [`crate::join`].
//!
//! Inside the topology a stream's records are `Record<Option<K>, Option<V>>` (null keys and
//! values are Kafka's nulls). User functions see keys as `Option<&K>` and values as `&V`;
//! records with a null value (tombstones) skip value functions: `filter`, `filter_not`,
//! `map_values` and `flat_map_values` forward them unchanged (`flat_map_values` as one null),
//! key-changing operations drop them.

pub mod branch;
pub mod grouped;

use std::fmt::{self, Display};
use std::sync::Arc;

use brook_processor_api::{ProcessorContext, ProcessorSupplier, Record, SinkOptions, TopicNameExtractor};
use brook_state_store::Serde;

pub use self::branch::BranchedKStream;
pub use self::grouped::KGroupedStream;
use crate::internals::processors::add_fn;
use crate::internals::repartition::repartition;
use crate::internals::{resolve_serde, Shared};
use crate::options::{Grouped, Named, Printed, Produced, Repartitioned};
use crate::Data;

/// The in-graph record of a stream.
pub(crate) type StreamRecord<K, V> = Record<Option<K>, Option<V>>;

/// A record stream.
pub struct KStream<K, V> {
    pub(crate) inner: Shared,
    pub(crate) node: String,
    pub(crate) keys: Option<Arc<dyn Serde<K>>>,
    pub(crate) values: Option<Arc<dyn Serde<V>>>,
    /// Whether a key-changing operation happened since the last (re)partitioning.
    pub(crate) repartition_required: bool,
    /// The source nodes this stream reads (for co-partitioning).
    pub(crate) sources: Vec<String>,
}

impl<K, V> Clone for KStream<K, V> {
    fn clone(&self) -> Self {
        KStream {
            inner: self.inner.clone(),
            node: self.node.clone(),
            keys: self.keys.clone(),
            values: self.values.clone(),
            repartition_required: self.repartition_required,
            sources: self.sources.clone(),
        }
    }
}

impl<K, V> fmt::Debug for KStream<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KStream").field("node", &self.node).field("repartition_required", &self.repartition_required).finish()
    }
}

impl<K: Data, V: Data> KStream<K, V> {
    pub(crate) fn new(
        inner: &Shared,
        node: String,
        keys: Option<Arc<dyn Serde<K>>>,
        values: Option<Arc<dyn Serde<V>>>,
        repartition_required: bool,
        mut sources: Vec<String>,
    ) -> Self {
        if sources.is_empty() {
            sources.push(node.clone());
        }
        KStream { inner: inner.clone(), node, keys, values, repartition_required, sources }
    }

    /// The name of the node this stream is the output of.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    pub(crate) fn name(&self, named: Option<String>, prefix: &str) -> String {
        named.unwrap_or_else(|| self.inner.borrow_mut().name(prefix))
    }

    /// A stream of the same types after a new node (same serdes and partitioning).
    fn derive<K2: Data, V2: Data>(
        &self,
        node: String,
        keys: Option<Arc<dyn Serde<K2>>>,
        values: Option<Arc<dyn Serde<V2>>>,
        key_changed: bool,
    ) -> KStream<K2, V2> {
        KStream {
            inner: self.inner.clone(),
            node,
            keys,
            values,
            repartition_required: self.repartition_required || key_changed,
            sources: self.sources.clone(),
        }
    }

    fn add<K2: Data, V2: Data>(
        &self,
        node: &str,
        f: impl Fn(&mut ProcessorContext<'_, Option<K2>, Option<V2>>, StreamRecord<K, V>) -> brook_processor_api::Result<()>
            + Send
            + Sync
            + 'static,
    ) {
        add_fn(&self.inner, node, &[&self.node], f);
    }

    /// Keeps records matching `predicate` (`KSTREAM-FILTER-<n>`).
    pub fn filter(&self, predicate: impl Fn(Option<&K>, &V) -> bool + Send + Sync + 'static) -> KStream<K, V> {
        self.filter_named(predicate, Named::default())
    }

    /// As [`KStream::filter`], with a processor name.
    pub fn filter_named(&self, predicate: impl Fn(Option<&K>, &V) -> bool + Send + Sync + 'static, named: Named) -> KStream<K, V> {
        let name = self.name(named.0, "KSTREAM-FILTER-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| match r.value() {
            Some(v) if !predicate(r.key().as_ref(), v) => Ok(()),
            _ => ctx.forward(r),
        });
        self.derive(name, self.keys.clone(), self.values.clone(), false)
    }

    /// Drops records matching `predicate` (`KSTREAM-FILTER-<n>`, as Kafka names it).
    pub fn filter_not(&self, predicate: impl Fn(Option<&K>, &V) -> bool + Send + Sync + 'static) -> KStream<K, V> {
        self.filter(move |k, v| !predicate(k, v))
    }

    /// Replaces key and value (`KSTREAM-MAP-<n>`); marks the stream for repartitioning.
    pub fn map<KR: Data, VR: Data>(&self, f: impl Fn(Option<&K>, &V) -> (KR, VR) + Send + Sync + 'static) -> KStream<KR, VR> {
        let name = self.name(None, "KSTREAM-MAP-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            let Some(v) = r.value() else { return Ok(()) };
            let (k2, v2) = f(r.key().as_ref(), v);
            ctx.forward(r.with_key(Some(k2)).with_value(Some(v2)))
        });
        self.derive(name, None, None, true)
    }

    /// Replaces the value (`KSTREAM-MAPVALUES-<n>`).
    pub fn map_values<VR: Data>(&self, f: impl Fn(&V) -> VR + Send + Sync + 'static) -> KStream<K, VR> {
        self.map_values_with_key(move |_, v| f(v))
    }

    /// Replaces the value, seeing the key (`KSTREAM-MAPVALUES-<n>`).
    pub fn map_values_with_key<VR: Data>(&self, f: impl Fn(Option<&K>, &V) -> VR + Send + Sync + 'static) -> KStream<K, VR> {
        let name = self.name(None, "KSTREAM-MAPVALUES-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            let v2 = r.value().as_ref().map(|v| f(r.key().as_ref(), v));
            ctx.forward(r.with_value(v2))
        });
        self.derive(name, self.keys.clone(), None, false)
    }

    /// Zero or more records per record (`KSTREAM-FLATMAP-<n>`); marks for repartitioning.
    pub fn flat_map<KR: Data, VR: Data, I>(&self, f: impl Fn(Option<&K>, &V) -> I + Send + Sync + 'static) -> KStream<KR, VR>
    where
        I: IntoIterator<Item = (KR, VR)>,
    {
        let name = self.name(None, "KSTREAM-FLATMAP-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            let Some(v) = r.value() else { return Ok(()) };
            for (k2, v2) in f(r.key().as_ref(), v) {
                ctx.forward(Record::with_all(Some(k2), Some(v2), r.timestamp(), r.headers().to_vec()))?;
            }
            Ok(())
        });
        self.derive(name, None, None, true)
    }

    /// Zero or more values per record, same key (`KSTREAM-FLATMAPVALUES-<n>`).
    pub fn flat_map_values<VR: Data, I>(&self, f: impl Fn(&V) -> I + Send + Sync + 'static) -> KStream<K, VR>
    where
        I: IntoIterator<Item = VR>,
    {
        let name = self.name(None, "KSTREAM-FLATMAPVALUES-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            let Some(v) = r.value() else { return ctx.forward(r.with_value(None)) };
            for v2 in f(v) {
                ctx.forward(Record::with_all(r.key().clone(), Some(v2), r.timestamp(), r.headers().to_vec()))?;
            }
            Ok(())
        });
        self.derive(name, self.keys.clone(), None, false)
    }

    /// Sets a new key (`KSTREAM-KEY-SELECT-<n>`); marks for repartitioning.
    pub fn select_key<KR: Data>(&self, f: impl Fn(Option<&K>, &V) -> KR + Send + Sync + 'static) -> KStream<KR, V> {
        self.select_key_named(f, None)
    }

    pub(crate) fn select_key_named<KR: Data>(&self, f: impl Fn(Option<&K>, &V) -> KR + Send + Sync + 'static, named: Option<String>) -> KStream<KR, V> {
        let name = self.name(named, "KSTREAM-KEY-SELECT-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            let Some(v) = r.value() else { return Ok(()) };
            let k2 = f(r.key().as_ref(), v);
            ctx.forward(r.with_key(Some(k2)))
        });
        self.derive(name, None, self.values.clone(), true)
    }

    /// As [`KStream::select_key`], also for records without a value, which `f` sees as `None`
    /// (Kafka calls the key selector with a `null` value; `select_key` drops such records).
    pub fn select_key_with_nulls<KR: Data>(&self, f: impl Fn(Option<&K>, Option<&V>) -> KR + Send + Sync + 'static) -> KStream<KR, V> {
        let name = self.name(None, "KSTREAM-KEY-SELECT-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            let k2 = f(r.key().as_ref(), r.value().as_ref());
            ctx.forward(r.with_key(Some(k2)))
        });
        self.derive(name, None, self.values.clone(), true)
    }

    /// Calls `action` per record and forwards it unchanged (`KSTREAM-PEEK-<n>`).
    pub fn peek(&self, action: impl Fn(Option<&K>, Option<&V>) + Send + Sync + 'static) -> KStream<K, V> {
        let name = self.name(None, "KSTREAM-PEEK-");
        self.add(&name, move |ctx, r: StreamRecord<K, V>| {
            action(r.key().as_ref(), r.value().as_ref());
            ctx.forward(r)
        });
        self.derive(name, self.keys.clone(), self.values.clone(), false)
    }

    /// Calls `action` per record; terminal (`KSTREAM-FOREACH-<n>`).
    pub fn foreach(&self, action: impl Fn(Option<&K>, Option<&V>) + Send + Sync + 'static) {
        let name = self.name(None, "KSTREAM-FOREACH-");
        add_fn(&self.inner, &name, &[&self.node], move |_: &mut ProcessorContext<'_, (), ()>, r: StreamRecord<K, V>| {
            action(r.key().as_ref(), r.value().as_ref());
            Ok(())
        });
    }

    /// Prints `[label]: key, value` per record (`KSTREAM-PRINTER-<n>`); nulls print `null`.
    pub fn print(&self, printed: Printed)
    where
        K: Display,
        V: Display,
    {
        let name = self.name(printed.name.clone(), "KSTREAM-PRINTER-");
        let label = printed.label.clone().unwrap_or_else(|| self.node.clone());
        let sink = printed.sink.clone();
        add_fn(&self.inner, &name, &[&self.node], move |_: &mut ProcessorContext<'_, (), ()>, r: StreamRecord<K, V>| {
            let k = r.key().as_ref().map_or_else(|| "null".to_owned(), ToString::to_string);
            let v = r.value().as_ref().map_or_else(|| "null".to_owned(), ToString::to_string);
            let line = format!("[{label}]: {k}, {v}");
            match &sink {
                Some(lines) => lines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line),
                None => println!("{line}"),
            }
            Ok(())
        });
    }

    /// Splits the stream by predicates (`KSTREAM-BRANCH-<n>`); see [`BranchedKStream`].
    pub fn split(&self, named: Named) -> BranchedKStream<K, V> {
        BranchedKStream::new(self.clone(), named)
    }

    /// Both streams as one (`KSTREAM-MERGE-<n>`).
    pub fn merge(&self, other: &KStream<K, V>) -> KStream<K, V> {
        self.merge_named(other, Named::default())
    }

    /// As [`KStream::merge`], with a processor name.
    pub fn merge_named(&self, other: &KStream<K, V>, named: Named) -> KStream<K, V> {
        let name = self.name(named.0, "KSTREAM-MERGE-");
        add_fn(&self.inner, &name, &[&self.node, &other.node], |ctx, r: StreamRecord<K, V>| ctx.forward(r));
        let mut s = self.derive(name, self.keys.clone(), self.values.clone(), other.repartition_required);
        s.sources.extend(other.sources.iter().cloned());
        s
    }

    /// Repartitions through `<application.id>-<name>-repartition`
    /// (`KSTREAM-REPARTITION-<n>` when unnamed).
    pub fn repartition(&self, options: Repartitioned<K, V>) -> KStream<K, V> {
        let prefix = self.name(options.name.clone(), "KSTREAM-REPARTITION-");
        let keys = resolve_serde(&self.inner, "key", &[&options.keys, &self.keys]);
        let values = resolve_serde(&self.inner, "value", &[&options.values, &self.values]);
        let source = repartition(&self.inner, &prefix, &self.node, keys.clone(), values.clone(), options.partitioner, options.partitions);
        KStream::new(&self.inner, source.clone(), Some(keys), Some(values), false, vec![source])
    }

    /// Repartitions when a key-changing operation came before (for groupings and joins).
    pub(crate) fn repartitioned_if_required(&self, prefix: &str, keys: &Option<Arc<dyn Serde<K>>>, values: &Option<Arc<dyn Serde<V>>>) -> KStream<K, V> {
        if !self.repartition_required {
            return self.clone();
        }
        let keys = resolve_serde(&self.inner, "key", &[keys, &self.keys]);
        let values = resolve_serde(&self.inner, "value", &[values, &self.values]);
        let source = repartition(&self.inner, prefix, &self.node, keys.clone(), values.clone(), None, None);
        KStream::new(&self.inner, source.clone(), Some(keys), Some(values), false, vec![source])
    }

    /// Writes to `topic` (`KSTREAM-SINK-<n>`).
    pub fn to(&self, topic: &str, produced: Produced<K, V>) {
        let name = self.name(produced.name.clone(), "KSTREAM-SINK-");
        let keys = resolve_serde(&self.inner, "key", &[&produced.keys, &self.keys]);
        let values = resolve_serde(&self.inner, "value", &[&produced.values, &self.values]);
        let mut o = SinkOptions::topic(topic, keys, values);
        if let Some(p) = produced.partitioner {
            o = o.with_partitioner(p);
        }
        self.inner.borrow_mut().with_topology(|t| t.add_sink(&name, o, &[&self.node]));
    }

    /// Writes each record to the topic `extractor` picks (`KSTREAM-SINK-<n>`; `describe()`
    /// prints `extractor class: <description>`).
    pub fn to_extractor(&self, extractor: TopicNameExtractor<K, V>, description: &str, produced: Produced<K, V>) {
        let name = self.name(produced.name.clone(), "KSTREAM-SINK-");
        let keys = resolve_serde(&self.inner, "key", &[&produced.keys, &self.keys]);
        let values = resolve_serde(&self.inner, "value", &[&produced.values, &self.values]);
        let mut o = SinkOptions::extractor(extractor, description, keys, values);
        if let Some(p) = produced.partitioner {
            o = o.with_partitioner(p);
        }
        self.inner.borrow_mut().with_topology(|t| t.add_sink(&name, o, &[&self.node]));
    }

    /// Groups by the current key (repartitioning first if a key-changing operation came
    /// before).
    pub fn group_by_key(&self, grouped: Grouped<K, V>) -> KGroupedStream<K, V> {
        KGroupedStream::new(self.clone(), grouped)
    }

    /// Groups by a new key (`KSTREAM-KEY-SELECT-<n>`, then a repartition topic).
    pub fn group_by<KR: Data>(&self, f: impl Fn(Option<&K>, &V) -> KR + Send + Sync + 'static, grouped: Grouped<KR, V>) -> KGroupedStream<KR, V> {
        // Kafka names the key selector after the `Grouped` name too.
        let selected = self.select_key_named(f, grouped.name.clone());
        KGroupedStream::new(selected, grouped)
    }

    /// A Processor API step (`KSTREAM-PROCESSOR-<n>`) with access to `stores` (added with
    /// [`crate::StreamsBuilder::add_state_store`]); marks for repartitioning.
    pub fn process<KR: Data, VR: Data, S>(&self, supplier: S, stores: &[&str]) -> KStream<KR, VR>
    where
        S: ProcessorSupplier<Option<K>, Option<V>, Option<KR>, Option<VR>>,
    {
        let name = self.name(None, "KSTREAM-PROCESSOR-");
        self.inner.borrow_mut().with_topology(|t| t.add_processor(&name, supplier, &[&self.node]));
        if !stores.is_empty() {
            self.inner.borrow_mut().connect(&name, stores);
        }
        self.derive(name, None, None, true)
    }

    /// A Processor API step that keeps keys (`KSTREAM-PROCESSVALUES-<n>`).
    pub fn process_values<VR: Data, S>(&self, supplier: S, stores: &[&str]) -> KStream<K, VR>
    where
        S: ProcessorSupplier<Option<K>, Option<V>, Option<K>, Option<VR>>,
    {
        let name = self.name(None, "KSTREAM-PROCESSVALUES-");
        self.inner.borrow_mut().with_topology(|t| t.add_processor(&name, supplier, &[&self.node]));
        if !stores.is_empty() {
            self.inner.borrow_mut().connect(&name, stores);
        }
        self.derive(name, self.keys.clone(), None, false)
    }
}
