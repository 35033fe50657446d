//! [`KGroupedStream`]: `count`, `reduce`, `aggregate`, `windowed_by` and `cogroup` of a
//! grouped stream (Kafka's `KGroupedStream`, `KStreamAggregate`, `KStreamReduce`,
//! `CogroupedKStream`).

use std::fmt;
use std::sync::Arc;

use brook_processor_api::ProcessorContext;
use brook_state_store::Serde;

use super::{KStream, StreamRecord};
use crate::internals::processors::StateProcessor;
use crate::internals::store::TableStore;
use crate::internals::{resolve_serde, store_getter, AggFn, Change, DslMetrics};
use crate::ktable::{KTable, TableGetter};
use crate::options::{Grouped, Materialized};
use crate::Data;

/// A stream grouped by key, ready to aggregate.
pub struct KGroupedStream<K, V> {
    pub(crate) stream: KStream<K, V>,
    pub(crate) grouped: Grouped<K, V>,
}

impl<K, V> fmt::Debug for KGroupedStream<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KGroupedStream").field("stream", &self.stream).finish_non_exhaustive()
    }
}

impl<K: Data, V: Data> KGroupedStream<K, V> {
    pub(crate) fn new(stream: KStream<K, V>, grouped: Grouped<K, V>) -> Self {
        KGroupedStream { stream, grouped }
    }

    /// Names the store (`<prefix>STATE-STORE-<n>` unless named) and the processor, then
    /// repartitions if needed (the topic is named after the `Grouped` name or the store).
    pub(crate) fn prepare(&self, store: Option<String>, prefix: &str) -> (String, String, KStream<K, V>) {
        let store = store.unwrap_or_else(|| self.stream.inner.borrow_mut().store_name(prefix));
        let name = self.stream.inner.borrow_mut().name(prefix);
        let topic = self.grouped.name.clone().unwrap_or_else(|| store.clone());
        let stream = self.stream.repartitioned_if_required(&topic, &self.grouped.keys, &self.grouped.values);
        (store, name, stream)
    }

    pub(crate) fn key_serde(&self, m: &Option<Arc<dyn Serde<K>>>) -> Arc<dyn Serde<K>> {
        resolve_serde(&self.stream.inner, "key", &[m, &self.grouped.keys, &self.stream.keys])
    }

    fn aggregate_with<VA: Data>(&self, prefix: &str, materialized: Materialized<K, VA>, values: Arc<dyn Serde<VA>>, f: AggFn<K, V, VA>) -> KTable<K, VA> {
        let (store, name, stream) = self.prepare(materialized.name.clone(), prefix);
        let keys = self.key_serde(&materialized.keys);
        let ts = TableStore::new(&store, keys.clone(), values.clone());
        let metrics = stream.inner.borrow().metrics.clone();
        let supplier = move || StateProcessor {
            state: (ts.clone(), f.clone(), metrics.clone()),
            init: |(s, _, _), ctx| s.init(ctx),
            process: aggregate_step::<K, V, VA>,
        };
        let b = materialized.kv_store(&store);
        {
            let mut i = stream.inner.borrow_mut();
            i.with_topology(|t| t.add_processor(&name, supplier, &[&stream.node]));
            i.add_store(b, &[&name]);
        }
        let getter = store_getter(&store, keys.clone(), values.clone());
        KTable::new(&stream.inner, name, Some(keys), Some(values), stream.sources.clone())
            .with_getter(TableGetter::new(move || getter.clone()))
    }

    /// Counts records per key (`KSTREAM-AGGREGATE-<n>`, store
    /// `KSTREAM-AGGREGATE-STATE-STORE-<n>`); null keys and values are dropped.
    pub fn count(&self, materialized: Materialized<K, i64>) -> KTable<K, i64> {
        let values = resolve_serde(&self.stream.inner, "value", &[&materialized.values]);
        self.aggregate_with("KSTREAM-AGGREGATE-", materialized, values, Arc::new(|_, _, agg: Option<i64>| agg.unwrap_or(0) + 1))
    }

    /// Combines the values of each key (`KSTREAM-REDUCE-<n>`).
    pub fn reduce(&self, reducer: impl Fn(&V, &V) -> V + Send + Sync + 'static, materialized: Materialized<K, V>) -> KTable<K, V> {
        let values = resolve_serde(&self.stream.inner, "value", &[&materialized.values, &self.grouped.values, &self.stream.values]);
        self.aggregate_with(
            "KSTREAM-REDUCE-",
            materialized,
            values,
            Arc::new(move |_, v: &V, agg: Option<V>| match agg {
                None => v.clone(),
                Some(a) => reducer(&a, v),
            }),
        )
    }

    /// Folds the values of each key from `initializer()` (`KSTREAM-AGGREGATE-<n>`).
    pub fn aggregate<VA: Data>(
        &self,
        initializer: impl Fn() -> VA + Send + Sync + 'static,
        adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static,
        materialized: Materialized<K, VA>,
    ) -> KTable<K, VA> {
        let values = resolve_serde(&self.stream.inner, "value", &[&materialized.values]);
        self.aggregate_with(
            "KSTREAM-AGGREGATE-",
            materialized,
            values,
            Arc::new(move |k, v, agg: Option<VA>| adder(k, v, agg.unwrap_or_else(&initializer))),
        )
    }

    pub(crate) fn clone_grouped(&self) -> KGroupedStream<K, V> {
        KGroupedStream {
            stream: self.stream.clone(),
            grouped: Grouped { name: self.grouped.name.clone(), keys: self.grouped.keys.clone(), values: self.grouped.values.clone() },
        }
    }
}

type AggState<K, V, VA> = (TableStore<K, VA>, AggFn<K, V, VA>, DslMetrics);

fn aggregate_step<K: Data, V: Data, VA: Data>(
    (store, f, metrics): &mut AggState<K, V, VA>,
    ctx: &mut ProcessorContext<'_, K, Change<VA>>,
    r: StreamRecord<K, V>,
) -> brook_processor_api::Result<()> {
    let (k, v, ts, _) = r.into_parts();
    let (Some(k), Some(v)) = (k, v) else {
        metrics.drop_record();
        return Ok(());
    };
    let old = store.get(ctx, &k)?;
    let (old_value, old_ts) = match old {
        Some((a, t)) => (Some(a), t),
        None => (None, i64::MIN),
    };
    let new = f(&k, &v, old_value.clone());
    store.put_and_forward(ctx, k, Some(new), old_value, ts.max(old_ts))
}
