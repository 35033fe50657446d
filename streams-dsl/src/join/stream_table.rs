//! Stream-table joins (`KSTREAM-JOIN-<n>` / `KSTREAM-LEFTJOIN-<n>`, Kafka's
//! `KStreamKTableJoin`): each stream record looks up the table's current value by key; the
//! table side does not trigger output. Stream-global-table joins look up a key the stream
//! record maps to, in the global store.

use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record};

use crate::builder::GlobalKTable;
use crate::internals::processors::add_fn;
use crate::kstream::{KStream, StreamRecord};
use crate::ktable::KTable;
use crate::options::Joined;
use crate::Data;

type Joiner<V, VO, VR> = Arc<dyn Fn(&V, Option<&VO>) -> Option<VR> + Send + Sync>;

impl<K: Data, V: Data> KStream<K, V> {
    /// Inner join with a table: records whose key has no row are dropped.
    pub fn join_table<VO: Data, VR: Data>(
        &self,
        table: &KTable<K, VO>,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
        joined: Joined<K, V>,
    ) -> KStream<K, VR> {
        self.table_join(table, Arc::new(move |v, vo| vo.map(|vo| joiner(v, vo))), joined, "KSTREAM-JOIN-")
    }

    /// Left join with a table: records whose key has no row join `None`.
    pub fn left_join_table<VO: Data, VR: Data>(
        &self,
        table: &KTable<K, VO>,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
        joined: Joined<K, V>,
    ) -> KStream<K, VR> {
        self.table_join(table, Arc::new(move |v, vo| Some(joiner(v, vo))), joined, "KSTREAM-LEFTJOIN-")
    }

    fn table_join<VO: Data, VR: Data>(&self, table: &KTable<K, VO>, joiner: Joiner<V, VO, VR>, joined: Joined<K, V>, prefix: &str) -> KStream<K, VR> {
        let prefix_name = joined.name.clone().unwrap_or_else(|| self.node.clone());
        let stream = self.repartitioned_if_required(&prefix_name, &joined.keys, &joined.values);
        let name = stream.name(joined.name.clone(), prefix);
        let Some(getter) = table.value_getter() else { return stream.derive_join(name) };
        let get = getter.get.clone();
        let metrics = self.inner.borrow().metrics.clone();
        add_fn(&self.inner, &name, &[&stream.node], move |ctx: &mut ProcessorContext<'_, Option<K>, Option<VR>>, r: StreamRecord<K, V>| {
            let (Some(k), Some(v)) = (r.key(), r.value()) else {
                metrics.drop_record();
                return Ok(());
            };
            let other = get(ctx, k)?.map(|(vo, _)| vo);
            match joiner(v, other.as_ref()) {
                Some(out) => {
                    let (k, _, ts, h) = r.into_parts();
                    ctx.forward(Record::with_all(k, Some(out), ts, h))
                }
                None => Ok(()),
            }
        });
        let stores: Vec<&str> = getter.stores.iter().map(String::as_str).collect();
        let mut i = self.inner.borrow_mut();
        i.connect(&name, &stores);
        let sources: Vec<&str> = stream.sources.iter().chain(&table.sources).map(String::as_str).collect();
        i.with_topology(|t| t.copartition_sources(&sources));
        drop(i);
        stream.derive_join(name)
    }

    fn derive_join<VR: Data>(&self, name: String) -> KStream<K, VR> {
        KStream::new(&self.inner, name, self.keys.clone(), None, false, self.sources.clone())
    }

    /// Inner join with a global table through `key_mapper` (`KSTREAM-JOIN-<n>`).
    pub fn join_global<KG: Data, VG: Data, VR: Data>(
        &self,
        table: &GlobalKTable<KG, VG>,
        key_mapper: impl Fn(Option<&K>, &V) -> KG + Send + Sync + 'static,
        joiner: impl Fn(&V, &VG) -> VR + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        self.global_join(table, Arc::new(key_mapper), Arc::new(move |v, vg| vg.map(|vg| joiner(v, vg))), "KSTREAM-JOIN-")
    }

    /// Left join with a global table through `key_mapper` (`KSTREAM-LEFTJOIN-<n>`).
    pub fn left_join_global<KG: Data, VG: Data, VR: Data>(
        &self,
        table: &GlobalKTable<KG, VG>,
        key_mapper: impl Fn(Option<&K>, &V) -> KG + Send + Sync + 'static,
        joiner: impl Fn(&V, Option<&VG>) -> VR + Send + Sync + 'static,
    ) -> KStream<K, VR> {
        self.global_join(table, Arc::new(key_mapper), Arc::new(move |v, vg| Some(joiner(v, vg))), "KSTREAM-LEFTJOIN-")
    }

    fn global_join<KG: Data, VG: Data, VR: Data>(
        &self,
        table: &GlobalKTable<KG, VG>,
        key_mapper: Arc<dyn Fn(Option<&K>, &V) -> KG + Send + Sync>,
        joiner: Joiner<V, VG, VR>,
        prefix: &str,
    ) -> KStream<K, VR> {
        let name = self.name(None, prefix);
        let table = GlobalKTable { store: table.store.clone(), serdes: table.serdes.clone() };
        add_fn(&self.inner, &name, &[&self.node], move |ctx: &mut ProcessorContext<'_, Option<K>, Option<VR>>, r: StreamRecord<K, V>| {
            let Some(v) = r.value() else { return Ok(()) };
            let kg = key_mapper(r.key().as_ref(), v);
            let other = table.lookup(ctx, &kg)?;
            match joiner(v, other.as_ref()) {
                Some(out) => ctx.forward(r.with_value(Some(out))),
                None => Ok(()),
            }
        });
        KStream { inner: self.inner.clone(), node: name, keys: self.keys.clone(), values: None, repartition_required: self.repartition_required, sources: self.sources.clone() }
    }
}
