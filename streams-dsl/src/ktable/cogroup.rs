//! [`CogroupedKStream`]: several grouped streams aggregated into one table (Kafka's
//! `CogroupedKStream`): one `COGROUPKSTREAM-AGGREGATE-<n>` processor per stream sharing the
//! store `COGROUPKSTREAM-AGGREGATE-STATE-STORE-<n>`, merged by `COGROUPKSTREAM-MERGE-<n>`.
//! The shared store is not cached here (every update is forwarded). `windowed_by` makes the
//! aggregators windowed (Kafka's `TimeWindowedCogroupedKStream`).

use std::fmt;
use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record};

use brook_state_store::{Serde, TimeWindowedSerde, Windowed};

use super::{KTable, TableGetter, WindowInfo};
use crate::internals::processors::{add_fn, StateProcessor};
use crate::internals::store::TableStore;
use crate::internals::{resolve_serde, store_getter, AggFn, Change, Shared};
use crate::kstream::KGroupedStream;
use crate::options::Materialized;
use crate::window::{window_aggregate_supplier, EmitStrategy, TimeWindows};
use crate::Data;

const PREFIX: &str = "COGROUPKSTREAM-AGGREGATE-";

/// Where the per-stream aggregators of a co-group write.
pub(crate) enum Target<K, VA> {
    Table(TableStore<K, VA>),
    Windowed { store: String, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<VA>>, windows: TimeWindows },
}

type Step<K, VA> = Box<dyn FnOnce(&Shared, Target<K, VA>, Arc<dyn Fn() -> VA + Send + Sync>, String) -> (String, Vec<String>)>;

/// Grouped streams with their adders, aggregated together.
pub struct CogroupedKStream<K, VA> {
    inner: Shared,
    steps: Vec<(Step<K, VA>, Option<String>)>,
}

impl<K, VA> fmt::Debug for CogroupedKStream<K, VA> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CogroupedKStream").field("streams", &self.steps.len()).finish()
    }
}

/// `KGroupedStream::cogroup` lives here, with what it builds, so that grouped streams need
/// not know co-grouping.
impl<K: Data, V: Data> KGroupedStream<K, V> {
    /// Starts a co-grouped aggregation with this stream and its adder.
    pub fn cogroup<VA: Data>(&self, adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static) -> CogroupedKStream<K, VA> {
        CogroupedKStream::new(self, adder)
    }
}

impl<K: Data, VA: Data> CogroupedKStream<K, VA> {
    pub(crate) fn new<V: Data>(grouped: &KGroupedStream<K, V>, adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static) -> Self {
        let mut c = CogroupedKStream { inner: grouped.stream.inner.clone(), steps: Vec::new() };
        c = c.cogroup(grouped, adder);
        c
    }

    /// Adds another grouped stream with its adder.
    #[must_use]
    pub fn cogroup<V: Data>(mut self, grouped: &KGroupedStream<K, V>, adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static) -> Self {
        let g = grouped.clone_grouped();
        let adder = Arc::new(adder);
        let step: Step<K, VA> = Box::new(move |inner, target, init, topic| {
            let stream = g.stream.repartitioned_if_required(&topic, &g.grouped.keys, &g.grouped.values);
            let name = inner.borrow_mut().name(PREFIX);
            let metrics = inner.borrow().metrics.clone();
            let ts = match target {
                Target::Table(ts) => ts,
                Target::Windowed { store, keys, values, windows } => {
                    let f: AggFn<K, V, VA> = Arc::new(move |k, v, agg: Option<VA>| adder(k, v, agg.unwrap_or_else(|| init())));
                    let supplier = window_aggregate_supplier(&store, keys, values, windows, f, metrics, EmitStrategy::OnWindowUpdate);
                    inner.borrow_mut().with_topology(|t| t.add_processor(&name, supplier, &[&stream.node]));
                    return (name, stream.sources.clone());
                }
            };
            let supplier = move || StateProcessor {
                state: (ts.clone(), adder.clone(), init.clone(), metrics.clone()),
                init: |_, _| Ok(()),
                process: |(s, add, init, m), ctx: &mut ProcessorContext<'_, K, Change<VA>>, r: Record<Option<K>, Option<V>>| {
                    let (k, v, t, _) = r.into_parts();
                    let (Some(k), Some(v)) = (k, v) else {
                        m.drop_record();
                        return Ok(());
                    };
                    let (old, old_ts) = match s.get(ctx, &k)? {
                        Some((a, t)) => (Some(a), t),
                        None => (None, i64::MIN),
                    };
                    let new = add(&k, &v, old.clone().unwrap_or_else(|| init()));
                    s.put_and_forward(ctx, k, Some(new), old, t.max(old_ts))
                },
            };
            inner.borrow_mut().with_topology(|t| t.add_processor(&name, supplier, &[&stream.node]));
            (name, stream.sources.clone())
        });
        self.steps.push((step, grouped.grouped.name.clone()));
        self
    }

    /// Aggregates all streams from `initializer()`.
    pub fn aggregate(self, initializer: impl Fn() -> VA + Send + Sync + 'static, materialized: Materialized<K, VA>) -> KTable<K, VA> {
        let inner = self.inner.clone();
        let store = materialized.name.clone().unwrap_or_else(|| inner.borrow_mut().store_name(PREFIX));
        let keys = resolve_serde(&inner, "key", &[&materialized.keys]);
        let values = resolve_serde(&inner, "value", &[&materialized.values]);
        let ts = TableStore::new(&store, keys.clone(), values.clone());
        let (merge, sources) = self.lower::<K>(&store, |_| Target::Table(ts.clone()), Arc::new(initializer), |i, names| {
            i.add_store(materialized.with_caching_disabled().kv_store(&store), names);
        });
        let getter = store_getter(&store, keys.clone(), values.clone());
        KTable::new(&inner, merge, Some(keys), Some(values), sources).with_getter(TableGetter::new(move || getter.clone()))
    }

    /// Aggregates per time window (emitting on every update).
    pub fn windowed_by(self, windows: TimeWindows) -> TimeWindowedCogroupedKStream<K, VA> {
        TimeWindowedCogroupedKStream { cogrouped: self, windows }
    }

    /// Adds the per-stream aggregators and the merge; returns the merge and the sources.
    fn lower<KM: Data>(
        self,
        store: &str,
        target: impl Fn(usize) -> Target<K, VA>,
        init: Arc<dyn Fn() -> VA + Send + Sync>,
        add_store: impl FnOnce(&mut crate::internals::BuilderState, &[&str]),
    ) -> (String, Vec<String>) {
        let inner = self.inner.clone();
        let many = self.steps.len() > 1;
        let mut names = Vec::new();
        let mut sources = Vec::new();
        for (i, (step, grouped_name)) in self.steps.into_iter().enumerate() {
            let topic = grouped_name.unwrap_or_else(|| if many { format!("{store}-{i}") } else { store.to_owned() });
            let (n, s) = step(&inner, target(i), init.clone(), topic);
            names.push(n);
            sources.extend(s);
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        add_store(&mut inner.borrow_mut(), &refs);
        let merge = inner.borrow_mut().name("COGROUPKSTREAM-MERGE-");
        add_fn(&inner, &merge, &refs, |ctx: &mut ProcessorContext<'_, KM, Change<VA>>, r: Record<KM, Change<VA>>| ctx.forward(r));
        (merge, sources)
    }
}

/// Co-grouped streams windowed by time.
pub struct TimeWindowedCogroupedKStream<K, VA> {
    cogrouped: CogroupedKStream<K, VA>,
    windows: TimeWindows,
}

impl<K, VA> fmt::Debug for TimeWindowedCogroupedKStream<K, VA> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeWindowedCogroupedKStream").field("windows", &self.windows).finish_non_exhaustive()
    }
}

impl<K: Data, VA: Data> TimeWindowedCogroupedKStream<K, VA> {
    /// Aggregates all streams per key and window from `initializer()`.
    pub fn aggregate(self, initializer: impl Fn() -> VA + Send + Sync + 'static, materialized: Materialized<K, VA>) -> KTable<Windowed<K>, VA> {
        let inner = self.cogrouped.inner.clone();
        let w = self.windows;
        let store = materialized.name.clone().unwrap_or_else(|| inner.borrow_mut().store_name(PREFIX));
        let keys = resolve_serde(&inner, "key", &[&materialized.keys]);
        let values = resolve_serde(&inner, "value", &[&materialized.values]);
        let (k2, v2, st) = (keys.clone(), values.clone(), store.clone());
        let target = move |_| Target::Windowed { store: st.clone(), keys: k2.clone(), values: v2.clone(), windows: w };
        let (merge, sources) = self.cogrouped.lower::<Windowed<K>>(&store, target, Arc::new(initializer), |i, names| {
            i.add_store(materialized.with_caching_disabled().window_store(&store, w.size + w.grace, w.size, false), names);
        });
        let wkeys: Arc<dyn Serde<Windowed<K>>> = Arc::new(TimeWindowedSerde::new(keys, w.size));
        let mut t = KTable::new(&inner, merge, Some(wkeys), Some(values), sources);
        t.window = Some(WindowInfo { end: Arc::new(|k: &Windowed<K>| k.window.end), grace: w.grace });
        t
    }
}
