//! [`KTable`]: a changelog stream (Kafka's `KTable`). Between table processors records are
//! `Record<K, Change<V>>`: the new value and, where known, the old one; `None` is a
//! tombstone. Grouping in [`grouped`], co-grouping in [`cogroup`], joins in [`crate::join`],
//! suppression in [`crate::window`].

pub mod cogroup;
pub mod grouped;

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record};
use brook_state_store::Serde;

pub use self::grouped::KGroupedTable;
use crate::internals::processors::{add_fn, StateProcessor};
use crate::internals::store::TableStore;
use crate::internals::{resolve_serde, store_getter, Change, Shared, ValueGetter};
use crate::kstream::{KStream, StreamRecord};
use crate::options::{Grouped, Materialized, Named};
use crate::Data;

/// Lazily produces a table's value getter; the first call may materialize a source table.
pub(crate) struct TableGetter<K, V>(Rc<dyn Fn() -> ValueGetter<K, V>>);

impl<K, V> Clone for TableGetter<K, V> {
    fn clone(&self) -> Self {
        TableGetter(self.0.clone())
    }
}

impl<K, V> TableGetter<K, V> {
    pub(crate) fn new(f: impl Fn() -> ValueGetter<K, V> + 'static) -> Self {
        TableGetter(Rc::new(f))
    }
    pub(crate) fn get(&self) -> ValueGetter<K, V> {
        (self.0)()
    }
}

/// How a windowed table's keys map to window ends, and the windows' grace (for
/// `suppress(until_window_closes)`).
pub(crate) struct WindowInfo<K> {
    pub(crate) end: Arc<dyn Fn(&K) -> i64 + Send + Sync>,
    pub(crate) grace: i64,
}

impl<K> Clone for WindowInfo<K> {
    fn clone(&self) -> Self {
        WindowInfo { end: self.end.clone(), grace: self.grace }
    }
}

/// A table: the latest value per key.
pub struct KTable<K, V> {
    pub(crate) inner: Shared,
    pub(crate) node: String,
    pub(crate) keys: Option<Arc<dyn Serde<K>>>,
    pub(crate) values: Option<Arc<dyn Serde<V>>>,
    pub(crate) sources: Vec<String>,
    pub(crate) getter: Option<TableGetter<K, V>>,
    pub(crate) window: Option<WindowInfo<K>>,
}

impl<K, V> Clone for KTable<K, V> {
    fn clone(&self) -> Self {
        KTable {
            inner: self.inner.clone(),
            node: self.node.clone(),
            keys: self.keys.clone(),
            values: self.values.clone(),
            sources: self.sources.clone(),
            getter: self.getter.clone(),
            window: self.window.clone(),
        }
    }
}

impl<K, V> fmt::Debug for KTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KTable").field("node", &self.node).finish_non_exhaustive()
    }
}

pub(crate) type TableRecord<K, V> = Record<K, Change<V>>;

/// `KStream::to_table` lives here, with the table it builds, so that streams need not know
/// tables (`kstream` does not import `ktable`; `ktable` imports `kstream` for `to_stream`).
impl<K: Data, V: Data> KStream<K, V> {
    /// The stream as a table: each record upserts its key (`KSTREAM-TOTABLE-<n>`); the store
    /// is created only when named or read downstream.
    pub fn to_table(&self, named: Named, materialized: Materialized<K, V>) -> KTable<K, V> {
        let name = self.name(named.0, "KSTREAM-TOTABLE-");
        let store = materialized.name.clone().unwrap_or_else(|| self.inner.borrow_mut().store_name("KSTREAM-TOTABLE-"));
        let stream = self.repartitioned_if_required(&name, &materialized.keys, &materialized.values);
        let keys = resolve_serde(&self.inner, "key", &[&materialized.keys, &stream.keys]);
        let values = resolve_serde(&self.inner, "value", &[&materialized.values, &stream.values]);
        let ts = TableStore::new(&store, keys.clone(), values.clone());
        let b = materialized.kv_store(&store);
        add_fn(&self.inner, &name, &[&stream.node], move |ctx: &mut ProcessorContext<'_, K, Change<V>>, r: StreamRecord<K, V>| {
            let (k, v, t, _) = r.into_parts();
            let Some(k) = k else { return Ok(()) };
            let old = ts.get(ctx, &k)?.map(|o| o.0);
            if v.is_none() && old.is_none() {
                return Ok(());
            }
            ts.put_and_forward(ctx, k, v, old, t)
        });
        self.inner.borrow_mut().add_store(b, &[&name]);
        let getter = store_getter(&store, keys.clone(), values.clone());
        KTable::new(&self.inner, name, Some(keys), Some(values), stream.sources.clone())
            .with_getter(TableGetter::new(move || getter.clone()))
    }
}

impl<K: Data, V: Data> KTable<K, V> {
    pub(crate) fn new(
        inner: &Shared,
        node: String,
        keys: Option<Arc<dyn Serde<K>>>,
        values: Option<Arc<dyn Serde<V>>>,
        sources: Vec<String>,
    ) -> Self {
        KTable { inner: inner.clone(), node, keys, values, sources, getter: None, window: None }
    }

    pub(crate) fn with_getter(mut self, getter: TableGetter<K, V>) -> Self {
        self.getter = Some(getter);
        self
    }

    /// The name of the node this table is the output of.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    pub(crate) fn name(&self, named: Option<String>, prefix: &str) -> String {
        named.unwrap_or_else(|| self.inner.borrow_mut().name(prefix))
    }

    /// The value getter (materializing a source table on first use); records a build error
    /// for tables that cannot be read by key.
    pub(crate) fn value_getter(&self) -> Option<ValueGetter<K, V>> {
        match &self.getter {
            Some(g) => Some(g.get()),
            None => {
                self.inner.borrow_mut().fail(crate::Error::NotLookupable(self.node.clone()));
                None
            }
        }
    }

    fn derive<V2: Data>(&self, node: String, values: Option<Arc<dyn Serde<V2>>>, getter: Option<TableGetter<K, V2>>) -> KTable<K, V2> {
        KTable {
            inner: self.inner.clone(),
            node,
            keys: self.keys.clone(),
            values,
            sources: self.sources.clone(),
            getter,
            window: self.window.clone(),
        }
    }

    /// Adds a table processor computing each output change with `f` (`None`: nothing to
    /// forward); when `store` is given, the result is materialized there (updates forwarded
    /// on cache flush, old values read from the store) and the store serves lookups.
    fn table_op<V2: Data>(
        &self,
        name: &str,
        store: Option<(String, Materialized<K, V2>)>,
        f: Arc<dyn Fn(&K, &Change<V>) -> Option<Change<V2>> + Send + Sync>,
        getter: Option<TableGetter<K, V2>>,
    ) -> KTable<K, V2> {
        let Some((store, m)) = store else {
            add_fn(&self.inner, name, &[&self.node], move |ctx: &mut ProcessorContext<'_, K, Change<V2>>, r: TableRecord<K, V>| {
                match f(r.key(), r.value()) {
                    Some(c) => ctx.forward(r.with_value(c)),
                    None => Ok(()),
                }
            });
            return self.derive(name.to_owned(), None, getter);
        };
        let keys = resolve_serde(&self.inner, "key", &[&m.keys, &self.keys]);
        let values = resolve_serde(&self.inner, "value", &[&m.values]);
        let ts = TableStore::new(&store, keys.clone(), values.clone());
        let supplier = move || StateProcessor {
            state: (ts.clone(), f.clone()),
            init: |(s, _), ctx| s.init(ctx),
            process: |(s, f), ctx, r: TableRecord<K, V>| {
                let Some(c) = f(r.key(), r.value()) else { return Ok(()) };
                let (k, _, t, _) = r.into_parts();
                let old = s.get(ctx, &k)?.map(|o| o.0);
                if c.new.is_none() && old.is_none() {
                    return Ok(());
                }
                s.put_and_forward(ctx, k, c.new, old, t)
            },
        };
        let b = m.kv_store(&store);
        {
            let mut i = self.inner.borrow_mut();
            i.with_topology(|t| t.add_processor(name, supplier, &[&self.node]));
            i.add_store(b, &[name]);
        }
        let g = store_getter(&store, keys, values.clone());
        self.derive(name.to_owned(), Some(values), Some(TableGetter::new(move || g.clone())))
    }

    /// Keeps rows matching `predicate`; a row that stops matching becomes a tombstone
    /// (`KTABLE-FILTER-<n>`).
    pub fn filter(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> KTable<K, V> {
        self.filter_with(predicate, Named::default(), None, false)
    }

    /// As [`KTable::filter`], with a processor name.
    pub fn filter_named(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static, named: Named) -> KTable<K, V> {
        self.filter_with(predicate, named, None, false)
    }

    /// As [`KTable::filter_named`] where the parent sends its old values (Kafka Streams'
    /// `enableSendingOldValues`, as on an aggregation): a change that passes neither before nor
    /// after is not forwarded, so a key that never passed gets no tombstone.
    pub fn filter_named_with_old_values(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static, named: Named) -> KTable<K, V> {
        self.filter_with(predicate, named, None, true)
    }

    /// As [`KTable::filter`], materializing the result (store `KTABLE-FILTER-STATE-STORE-<n>`
    /// unless named).
    pub fn filter_materialized(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static, materialized: Materialized<K, V>) -> KTable<K, V> {
        self.filter_with(predicate, Named::default(), Some(materialized), false)
    }

    fn filter_with(
        &self,
        predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static,
        named: Named,
        m: Option<Materialized<K, V>>,
        old_values: bool,
    ) -> KTable<K, V> {
        let store = m.map(|mut m| {
            let s = m.name.clone().unwrap_or_else(|| self.inner.borrow_mut().store_name("KTABLE-FILTER-"));
            if m.values.is_none() {
                m.values = self.values.clone();
            }
            (s, m)
        });
        let name = self.name(named.0, "KTABLE-FILTER-");
        let predicate = Arc::new(predicate);
        let p = predicate.clone();
        let f = Arc::new(move |k: &K, c: &Change<V>| {
            let keep = |v: &Option<V>| v.clone().filter(|v| p(k, v));
            let (new, old) = (keep(&c.new), keep(&c.old));
            if new.is_none() && old.is_none() && (old_values || c.old.is_some()) {
                return None;
            }
            Some(Change::new(new, old))
        });
        let getter = self.getter.clone().map(|g| {
            TableGetter::new(move || {
                let parent = g.get();
                let p = predicate.clone();
                let get = parent.get.clone();
                ValueGetter {
                    stores: parent.stores,
                    get: Arc::new(move |cx, k| Ok(get(cx, k)?.filter(|(v, _)| p(k, v)))),
                }
            })
        });
        let mut t = self.table_op(&name, store, f, getter);
        t.values = self.values.clone().or(t.values);
        t
    }

    /// Drops rows matching `predicate` (`KTABLE-FILTER-<n>`).
    pub fn filter_not(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) -> KTable<K, V> {
        self.filter(move |k, v| !predicate(k, v))
    }

    /// Maps every value (`KTABLE-MAPVALUES-<n>`).
    pub fn map_values<VR: Data>(&self, f: impl Fn(&V) -> VR + Send + Sync + 'static) -> KTable<K, VR> {
        self.map_values_with(f, None)
    }

    /// As [`KTable::map_values`], materializing the result (store
    /// `KTABLE-MAPVALUES-STATE-STORE-<n>` unless named).
    pub fn map_values_materialized<VR: Data>(&self, f: impl Fn(&V) -> VR + Send + Sync + 'static, materialized: Materialized<K, VR>) -> KTable<K, VR> {
        self.map_values_with(f, Some(materialized))
    }

    fn map_values_with<VR: Data>(&self, f: impl Fn(&V) -> VR + Send + Sync + 'static, m: Option<Materialized<K, VR>>) -> KTable<K, VR> {
        let store = m.map(|m| (m.name.clone().unwrap_or_else(|| self.inner.borrow_mut().store_name("KTABLE-MAPVALUES-")), m));
        let name = self.name(None, "KTABLE-MAPVALUES-");
        let f = Arc::new(f);
        let m = f.clone();
        let op = Arc::new(move |_: &K, c: &Change<V>| Some(Change::new(c.new.as_ref().map(|v| m(v)), c.old.as_ref().map(|v| m(v)))));
        let getter = self.getter.clone().map(|g| {
            TableGetter::new(move || {
                let parent = g.get();
                let m = f.clone();
                let get = parent.get.clone();
                ValueGetter { stores: parent.stores, get: Arc::new(move |cx, k| Ok(get(cx, k)?.map(|(v, t)| (m(&v), t)))) }
            })
        });
        self.table_op(&name, store, op, getter)
    }

    /// The table's changelog as a stream of new values (`KTABLE-TOSTREAM-<n>`); deletes are
    /// records with a null value.
    pub fn to_stream(&self) -> KStream<K, V> {
        let name = self.name(None, "KTABLE-TOSTREAM-");
        add_fn(&self.inner, &name, &[&self.node], |ctx: &mut ProcessorContext<'_, Option<K>, Option<V>>, r: TableRecord<K, V>| {
            let (k, c, ts, h) = r.into_parts();
            ctx.forward(Record::with_all(Some(k), c.new, ts, h))
        });
        KStream::new(&self.inner, name, self.keys.clone(), self.values.clone(), false, self.sources.clone())
    }

    /// Re-keys rows for an aggregation (`KTABLE-SELECT-<n>`): each update subtracts the old
    /// row from its group and adds the new one to its group.
    pub fn group_by<KR: Data + PartialEq, VR: Data>(
        &self,
        selector: impl Fn(&K, &V) -> (KR, VR) + Send + Sync + 'static,
        grouped: Grouped<KR, VR>,
    ) -> KGroupedTable<KR, VR> {
        // Subtracting needs old values: materialize the source (Kafka's enableSendingOldValues).
        if let Some(g) = &self.getter {
            g.get();
        }
        let name = self.name(grouped.name.clone(), "KTABLE-SELECT-");
        add_fn(&self.inner, &name, &[&self.node], move |ctx: &mut ProcessorContext<'_, KR, Change<VR>>, r: TableRecord<K, V>| {
            let k = r.key().clone();
            let c = r.value();
            let old = c.old.as_ref().map(|v| selector(&k, v));
            let new = c.new.as_ref().map(|v| selector(&k, v));
            let ts = r.timestamp();
            match (old, new) {
                (Some((ko, vo)), Some((kn, vn))) if ko == kn => ctx.forward(Record::new(kn, Change::new(Some(vn), Some(vo)), ts)),
                (old, new) => {
                    if let Some((ko, vo)) = old {
                        ctx.forward(Record::new(ko, Change::new(None, Some(vo)), ts))?;
                    }
                    if let Some((kn, vn)) = new {
                        ctx.forward(Record::new(kn, Change::new(Some(vn), None), ts))?;
                    }
                    Ok(())
                }
            }
        });
        KGroupedTable::new(&self.inner, name, grouped, self.sources.clone())
    }
}
