//! [`StreamsBuilder`]: the entry point of the DSL (Kafka's `StreamsBuilder`).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use brook_processor_api::{Record, SourceOptions, StoreFactory, Topology};
use brook_state_store::{Serde, StateSerdes};
use bytes::Bytes;

use crate::error::Result;
use crate::internals::store::TableStore;
use crate::internals::{resolve_serde, store_getter, Change, DslMetrics, BuilderState, Shared};
use crate::kstream::KStream;
use crate::ktable::{KTable, TableGetter};
use crate::options::{Consumed, Materialized};
use crate::Data;

/// Builds a [`Topology`] from DSL operations.
///
/// Streams and tables created from one builder share its name counter: every operation takes
/// the next index, as Kafka's `InternalStreamsBuilder` does, so generated names match Kafka's.
/// Lowering errors (a missing serde, an invalid topic name) are reported by
/// [`StreamsBuilder::build`].
pub struct StreamsBuilder {
    pub(crate) inner: Shared,
}

impl fmt::Debug for StreamsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamsBuilder").field("topology", &self.inner.borrow().topology).finish()
    }
}

impl Default for StreamsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn source_options<K: Data, V: Data>(
    inner: &Shared,
    options: SourceOptions<Bytes, Bytes>,
    consumed: &Consumed<K, V>,
) -> (SourceOptions<K, V>, Arc<dyn Serde<K>>, Arc<dyn Serde<V>>) {
    let keys = resolve_serde(inner, "key", &[&consumed.keys]);
    let values = resolve_serde(inner, "value", &[&consumed.values]);
    let mut o = options.with_serdes(keys.clone(), values.clone());
    if let Some(x) = &consumed.extractor {
        o = o.with_timestamp_extractor(x.clone());
    }
    if let Some(r) = consumed.reset {
        o = o.with_offset_reset(r);
    }
    (o, keys, values)
}

impl StreamsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        StreamsBuilder { inner: BuilderState::new() }
    }

    /// Uses `serde` for every key or value of type `T` that an operation gives no serde for
    /// (the typed form of Kafka's `default.key.serde` / `default.value.serde`; `String`,
    /// `i64`, `i32`, `f64`, `Bytes` and `Vec<u8>` have built-in defaults).
    #[must_use]
    pub fn with_default_serde<T: 'static>(self, serde: Arc<dyn Serde<T>>) -> Self {
        self.inner.borrow_mut().serdes.insert(std::any::TypeId::of::<T>(), Box::new(serde));
        self
    }

    /// Counters the DSL's processors update (dropped records).
    pub fn metrics(&self) -> DslMetrics {
        self.inner.borrow().metrics.clone()
    }

    /// A stream of `topics` (`KSTREAM-SOURCE-<n>`, or the `Consumed` name).
    pub fn stream<K: Data, V: Data>(&self, topics: &[&str], consumed: Consumed<K, V>) -> KStream<K, V> {
        self.stream_from(SourceOptions::topics(topics.iter().copied()), consumed)
    }

    /// A stream of every topic whose name matches `regex`.
    pub fn stream_pattern<K: Data, V: Data>(&self, regex: &str, consumed: Consumed<K, V>) -> KStream<K, V> {
        self.stream_from(SourceOptions::pattern(regex), consumed)
    }

    fn stream_from<K: Data, V: Data>(&self, options: SourceOptions<Bytes, Bytes>, consumed: Consumed<K, V>) -> KStream<K, V> {
        let name = consumed.name.clone().unwrap_or_else(|| self.inner.borrow_mut().name("KSTREAM-SOURCE-"));
        let (o, keys, values) = source_options(&self.inner, options, &consumed);
        self.inner.borrow_mut().with_topology(|t| t.add_source(&name, o));
        KStream::new(&self.inner, name, Some(keys), Some(values), false, vec![])
    }

    /// A table of `topic`: each record upserts its key, a null value deletes it. The store is
    /// `materialized`'s name, else `<topic>-STATE-STORE-<n>`, and is only created when the
    /// table is named or something downstream (a join) reads it, as in Kafka.
    pub fn table<K: Data, V: Data>(&self, topic: &str, consumed: Consumed<K, V>, materialized: Materialized<K, V>) -> KTable<K, V> {
        let queryable = materialized.name.is_some();
        let store = materialized.name.clone().unwrap_or_else(|| self.inner.borrow_mut().store_name(&format!("{topic}-")));
        let (source, table_source) = match &consumed.name {
            Some(n) => (n.clone(), format!("{n}-table-source")),
            None => {
                let mut i = self.inner.borrow_mut();
                (i.name("KSTREAM-SOURCE-"), i.name("KTABLE-SOURCE-"))
            }
        };
        let (o, keys, values) = source_options(&self.inner, SourceOptions::topics([topic]), &consumed);
        let keys = materialized.keys.clone().unwrap_or(keys);
        let values = materialized.values.clone().unwrap_or(values);
        self.inner.borrow_mut().with_topology(|t| t.add_source(&source, o));
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let ts = TableStore::new(&store, keys.clone(), values.clone());
        self.inner.borrow_mut().with_topology(|t| {
            t.add_processor(
                &table_source,
                move || table_source_processor(ts.clone(), f.load(Ordering::Relaxed)),
                &[&source],
            )
        });
        let table = KTable::new(&self.inner, table_source.clone(), Some(keys.clone()), Some(values.clone()), vec![source]);
        let getter = materializer(&self.inner, &table_source, &store, keys, values, materialized.kv_store(&store), flag);
        if queryable {
            getter.get();
        }
        table.with_getter(getter)
    }

    /// A table replicated in full on every instance (`<topic>-STATE-STORE-<n>` or the
    /// `Materialized` name; no changelog: the topic is its changelog).
    pub fn global_table<K: Data, V: Data>(&self, topic: &str, consumed: Consumed<K, V>, materialized: Materialized<K, V>) -> GlobalKTable<K, V> {
        let store = materialized.name.clone().unwrap_or_else(|| self.inner.borrow_mut().store_name(&format!("{topic}-")));
        let (source, processor) = {
            let mut i = self.inner.borrow_mut();
            (consumed.name.clone().unwrap_or_else(|| i.name("KSTREAM-SOURCE-")), i.name("KTABLE-SOURCE-"))
        };
        let (o, keys, values) = source_options(&self.inner, SourceOptions::topics([topic]), &consumed);
        let keys = materialized.keys.clone().unwrap_or(keys);
        let values = materialized.values.clone().unwrap_or(values);
        let builder = materialized.with_logging_disabled().with_caching_disabled().kv_store(&store);
        // The source topic is the store's changelog: its serdes are called with it, as Kafka's.
        let serdes = StateSerdes::new(topic, keys, values);
        let (s2, store_name) = (serdes.clone(), store.clone());
        let supplier = move || crate::internals::processors::StateProcessor {
            state: (s2.clone(), store_name.clone()),
            init: |_, _| Ok(()),
            process: |(serdes, store): &mut (StateSerdes<K, V>, String),
                      ctx: &mut brook_processor_api::ProcessorContext<'_, (), ()>,
                      r: Record<Option<K>, Option<V>>| {
                let Some(key) = r.key() else { return Ok(()) };
                let kb = serdes.raw_key(key)?;
                let vb = r.value().as_ref().map(|x| serdes.raw_timestamped(x, r.timestamp())).transpose()?;
                ctx.get_global_key_value_store(store)?.put(kb, vb)?;
                Ok(())
            },
        };
        self.inner.borrow_mut().with_topology(|t| t.add_global_store(builder, &source, o, &processor, supplier));
        GlobalKTable { store, serdes }
    }

    /// Adds a store that `process` steps can name.
    pub fn add_state_store<F: StoreFactory + 'static>(&self, store: F) -> &Self {
        self.inner.borrow_mut().add_store(store, &[]);
        self
    }

    /// The topology built so far.
    ///
    /// # Errors
    /// The first error recorded while lowering: a [`crate::Error::Topology`] the processor-api
    /// topology raised, or one of the DSL's own.
    pub fn build(&self) -> Result<Topology> {
        self.inner.borrow().build()
    }
}

/// The processor of a source table: upserts into the store when materialized, and forwards
/// `Change`s (null keys are dropped).
fn table_source_processor<K: Data, V: Data>(
    store: TableStore<K, V>,
    materialized: bool,
) -> crate::internals::processors::StateProcessor<(TableStore<K, V>, bool), Option<K>, Option<V>, K, Change<V>> {
    crate::internals::processors::StateProcessor {
        state: (store, materialized),
        init: |(s, m), ctx| if *m { s.init(ctx) } else { Ok(()) },
        process: |(s, m), ctx, r| {
            let (k, v, ts, _) = r.into_parts();
            let Some(k) = k else { return Ok(()) };
            if !*m {
                return ctx.forward(Record::new(k, Change::new(v, None), ts));
            }
            let old = s.get(ctx, &k)?.map(|o| o.0);
            if v.is_none() && old.is_none() {
                return Ok(());
            }
            s.put_and_forward(ctx, k, v, old, ts)
        },
    }
}

/// A getter that materializes the source table `node` into `store` on first use.
fn materializer<K: Data, V: Data, F: StoreFactory + 'static>(
    inner: &Shared,
    node: &str,
    store: &str,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
    factory: F,
    flag: Arc<AtomicBool>,
) -> TableGetter<K, V> {
    let (inner, node, store) = (inner.clone(), node.to_owned(), store.to_owned());
    let factory = std::cell::RefCell::new(Some(factory));
    TableGetter::new(move || {
        if let Some(f) = factory.borrow_mut().take() {
            inner.borrow_mut().add_store(f, &[&node]);
            flag.store(true, Ordering::Relaxed);
        }
        store_getter(&store, keys.clone(), values.clone())
    })
}

/// A table replicated to every instance (Kafka's `GlobalKTable`), joined from streams by a
/// key mapper.
pub struct GlobalKTable<K, V> {
    pub(crate) store: String,
    pub(crate) serdes: StateSerdes<K, V>,
}

impl<K, V> fmt::Debug for GlobalKTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalKTable").field("store", &self.store).finish_non_exhaustive()
    }
}

impl<K, V> GlobalKTable<K, V> {
    /// The name of the global store.
    pub fn queryable_store_name(&self) -> &str {
        &self.store
    }

    pub(crate) fn lookup(&self, cx: &mut dyn crate::internals::StoreLookup, key: &K) -> brook_processor_api::Result<Option<V>> {
        let kb = self.serdes.raw_key(key)?;
        match cx.global_get(&self.store, &kb)? {
            None => Ok(None),
            Some(b) => Ok(Some(self.serdes.timestamped_from(&b)?.value)),
        }
    }
}
