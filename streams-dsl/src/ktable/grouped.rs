//! [`KGroupedTable`]: `count`, `reduce(adder, subtractor)` and
//! `aggregate(initializer, adder, subtractor)` of a re-keyed table (Kafka's `KGroupedTable`,
//! `KTableAggregate`, `KTableReduce`). Updates always go through a repartition topic
//! carrying old and new values.

use std::fmt;
use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record, SinkOptions, SourceOptions};
use brook_state_store::Serde;

use super::{KTable, TableGetter};
use crate::internals::processors::StateProcessor;
use crate::internals::store::TableStore;
use crate::internals::{resolve_serde, store_getter, Change, ChangeSerde, DslMetrics, Shared};
use crate::options::{Grouped, Materialized};
use crate::Data;

/// `(key, new value, old value, aggregate so far) -> new aggregate`.
type TableAggFn<K, V, VA> = Arc<dyn Fn(&K, Option<&V>, Option<&V>, Option<VA>) -> Option<VA> + Send + Sync>;

/// A table re-keyed by `KTable::group_by`, ready to aggregate.
pub struct KGroupedTable<K, V> {
    inner: Shared,
    node: String,
    grouped: Grouped<K, V>,
    sources: Vec<String>,
}

impl<K, V> fmt::Debug for KGroupedTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KGroupedTable").field("node", &self.node).finish_non_exhaustive()
    }
}

impl<K: Data, V: Data> KGroupedTable<K, V> {
    pub(crate) fn new(inner: &Shared, node: String, grouped: Grouped<K, V>, sources: Vec<String>) -> Self {
        KGroupedTable { inner: inner.clone(), node, grouped, sources }
    }

    fn aggregate_with<VA: Data>(&self, prefix: &str, materialized: Materialized<K, VA>, values: Arc<dyn Serde<VA>>, f: TableAggFn<K, V, VA>) -> KTable<K, VA> {
        let inner = &self.inner;
        let store = materialized.name.clone().unwrap_or_else(|| inner.borrow_mut().store_name(prefix));
        let (sink, source, name) = {
            let mut i = inner.borrow_mut();
            (i.name("KSTREAM-SINK-"), i.name("KSTREAM-SOURCE-"), i.name(prefix))
        };
        let topic = format!("{}-repartition", self.grouped.name.clone().unwrap_or_else(|| store.clone()));
        let keys = resolve_serde(inner, "key", &[&materialized.keys, &self.grouped.keys]);
        let group_values = resolve_serde(inner, "value", &[&self.grouped.values]);
        let changes: Arc<dyn Serde<Change<V>>> = Arc::new(ChangeSerde(group_values));
        let ts = TableStore::new(&store, keys.clone(), values.clone());
        let metrics = inner.borrow().metrics.clone();
        let supplier = move || StateProcessor {
            state: (ts.clone(), f.clone(), metrics.clone()),
            init: |(s, _, _), ctx| s.init(ctx),
            process: table_aggregate_step::<K, V, VA>,
        };
        let b = materialized.kv_store(&store);
        {
            let mut i = inner.borrow_mut();
            let node = self.node.clone();
            let (k2, c2) = (keys.clone(), changes.clone());
            i.with_topology(|t| {
                t.add_internal_topic(&topic)?
                    .add_sink(&sink, SinkOptions::topic(topic.clone(), keys.clone(), changes), &[&node])?
                    .add_source(&source, SourceOptions::topics([topic.clone()]).with_serdes(k2, c2))?
                    .add_processor(&name, supplier, &[&source])
            });
            i.add_store(b, &[&name]);
        }
        let getter = store_getter(&store, keys.clone(), values.clone());
        let _ = &self.sources;
        KTable::new(inner, name, Some(keys), Some(values), vec![source]).with_getter(TableGetter::new(move || getter.clone()))
    }

    /// Counts rows per group (`KTABLE-AGGREGATE-<n>`).
    pub fn count(&self, materialized: Materialized<K, i64>) -> KTable<K, i64> {
        let values = resolve_serde(&self.inner, "value", &[&materialized.values]);
        self.aggregate_with(
            "KTABLE-AGGREGATE-",
            materialized,
            values,
            Arc::new(|_, new: Option<&V>, old: Option<&V>, agg: Option<i64>| {
                let mut n = agg.unwrap_or(0);
                if old.is_some() && agg.is_some() {
                    n -= 1;
                }
                if new.is_some() {
                    n += 1;
                }
                Some(n)
            }),
        )
    }

    /// Combines rows per group: `adder` for new rows, `subtractor` for replaced or deleted
    /// ones (`KTABLE-REDUCE-<n>`).
    pub fn reduce(
        &self,
        adder: impl Fn(&V, &V) -> V + Send + Sync + 'static,
        subtractor: impl Fn(&V, &V) -> V + Send + Sync + 'static,
        materialized: Materialized<K, V>,
    ) -> KTable<K, V> {
        let values = resolve_serde(&self.inner, "value", &[&materialized.values, &self.grouped.values]);
        self.aggregate_with(
            "KTABLE-REDUCE-",
            materialized,
            values,
            Arc::new(move |_, new: Option<&V>, old: Option<&V>, agg: Option<V>| {
                let mid = match (old, agg) {
                    (Some(o), Some(a)) => Some(subtractor(&a, o)),
                    (_, a) => a,
                };
                match (new, mid) {
                    (Some(n), None) => Some(n.clone()),
                    (Some(n), Some(m)) => Some(adder(&m, n)),
                    (None, m) => m,
                }
            }),
        )
    }

    /// Folds rows per group from `initializer()` (`KTABLE-AGGREGATE-<n>`).
    pub fn aggregate<VA: Data>(
        &self,
        initializer: impl Fn() -> VA + Send + Sync + 'static,
        adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static,
        subtractor: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static,
        materialized: Materialized<K, VA>,
    ) -> KTable<K, VA> {
        let values = resolve_serde(&self.inner, "value", &[&materialized.values]);
        self.aggregate_with(
            "KTABLE-AGGREGATE-",
            materialized,
            values,
            Arc::new(move |k, new: Option<&V>, old: Option<&V>, agg: Option<VA>| {
                let mid = match (old, agg) {
                    (Some(o), Some(a)) => Some(subtractor(k, o, a)),
                    (_, a) => a,
                };
                match new {
                    Some(n) => Some(adder(k, n, mid.unwrap_or_else(&initializer))),
                    None => mid,
                }
            }),
        )
    }
}

type TableAggState<K, V, VA> = (TableStore<K, VA>, TableAggFn<K, V, VA>, DslMetrics);

fn table_aggregate_step<K: Data, V: Data, VA: Data>(
    (store, f, metrics): &mut TableAggState<K, V, VA>,
    ctx: &mut ProcessorContext<'_, K, Change<VA>>,
    r: Record<Option<K>, Option<Change<V>>>,
) -> brook_processor_api::Result<()> {
    let (k, c, ts, _) = r.into_parts();
    let (Some(k), Some(c)) = (k, c) else {
        metrics.drop_record();
        return Ok(());
    };
    let old = store.get(ctx, &k)?;
    let (old_agg, old_ts) = match old {
        Some((a, t)) => (Some(a), t),
        None => (None, i64::MIN),
    };
    let new = f(&k, c.new.as_ref(), c.old.as_ref(), old_agg.clone());
    if new.is_none() && old_agg.is_none() {
        return Ok(());
    }
    store.put_and_forward(ctx, k, new, old_agg, ts.max(old_ts))
}
