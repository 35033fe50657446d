//! Table-table joins.
//!
//! - On the primary key (Kafka's `KTableKTableJoin`): `KTABLE-JOINTHIS-<n>` and
//!   `KTABLE-JOINOTHER-<n>` look up the other table on every update of their side and forward
//!   the joined `Change`; `KTABLE-MERGE-<n>` merges them.
//! - By foreign key: Kafka routes subscriptions and responses through two internal topics so
//!   the tables may be partitioned differently. Here both tables must be co-partitioned and
//!   the join runs in one task: `KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-<n>` (left updates)
//!   records `(foreign key, primary key)` in `KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-<n>`
//!   and looks up the right table; `KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-<n>` (right
//!   updates) scans the subscriptions of the foreign key and re-joins each left row.

use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record};
use brook_state_store::{Serde, SerdeContext, Stores};
use bytes::Bytes;

use crate::internals::processors::add_fn;
use crate::internals::{resolve_serde, Change, ChangelogTopic, ValueGetter};
use crate::ktable::{KTable, TableGetter, TableRecord};
use crate::options::Named;
use crate::Data;

type Full<V, VO, VR> = Arc<dyn Fn(Option<&V>, Option<&VO>) -> Option<VR> + Send + Sync>;

impl<K: Data, V: Data> KTable<K, V> {
    /// Inner join on the key.
    pub fn join<VO: Data, VR: Data>(&self, other: &KTable<K, VO>, joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static) -> KTable<K, VR> {
        self.pk_join(other, Arc::new(move |a, b| Some(joiner(a?, b?))), Named::default())
    }

    /// Left join on the key: rows of this table without a partner join `None`.
    pub fn left_join<VO: Data, VR: Data>(&self, other: &KTable<K, VO>, joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static) -> KTable<K, VR> {
        self.pk_join(other, Arc::new(move |a, b| Some(joiner(a?, b))), Named::default())
    }

    /// Outer join on the key: rows of either table without a partner join `None`.
    pub fn outer_join<VO: Data, VR: Data>(
        &self,
        other: &KTable<K, VO>,
        joiner: impl Fn(Option<&V>, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> KTable<K, VR> {
        self.pk_join(other, Arc::new(move |a, b| if a.is_none() && b.is_none() { None } else { Some(joiner(a, b)) }), Named::default())
    }

    fn pk_join<VO: Data, VR: Data>(&self, other: &KTable<K, VO>, full: Full<V, VO, VR>, named: Named) -> KTable<K, VR> {
        let inner = self.inner.clone();
        let (merge, this_name, other_name) = {
            let mut i = inner.borrow_mut();
            match &named.0 {
                Some(n) => (n.clone(), format!("{n}-join-this"), format!("{n}-join-other")),
                None => (i.name("KTABLE-MERGE-"), i.name("KTABLE-JOINTHIS-"), i.name("KTABLE-JOINOTHER-")),
            }
        };
        let (Some(this_getter), Some(other_getter)) = (self.value_getter(), other.value_getter()) else {
            return KTable::new(&inner, merge, self.keys.clone(), None, self.sources.clone());
        };
        let (og, f) = (other_getter.get.clone(), full.clone());
        add_fn(&inner, &this_name, &[&self.node], move |ctx: &mut ProcessorContext<'_, K, Change<VR>>, r: TableRecord<K, V>| {
            let partner = og(ctx, r.key())?;
            let (vo, ots) = match partner {
                Some((v, t)) => (Some(v), t),
                None => (None, i64::MIN),
            };
            let c = r.value();
            let new = f(c.new.as_ref(), vo.as_ref());
            let old = f(c.old.as_ref(), vo.as_ref());
            if new.is_none() && old.is_none() {
                return Ok(());
            }
            let ts = r.timestamp().max(ots);
            ctx.forward(r.with_value(Change::new(new, old)).with_timestamp(ts))
        });
        let (tg, f) = (this_getter.get.clone(), full.clone());
        add_fn(&inner, &other_name, &[&other.node], move |ctx: &mut ProcessorContext<'_, K, Change<VR>>, r: TableRecord<K, VO>| {
            let partner = tg(ctx, r.key())?;
            let (v, vts) = match partner {
                Some((v, t)) => (Some(v), t),
                None => (None, i64::MIN),
            };
            let c = r.value();
            let new = f(v.as_ref(), c.new.as_ref());
            let old = f(v.as_ref(), c.old.as_ref());
            if new.is_none() && old.is_none() {
                return Ok(());
            }
            let ts = r.timestamp().max(vts);
            ctx.forward(r.with_value(Change::new(new, old)).with_timestamp(ts))
        });
        add_fn(&inner, &merge, &[&this_name, &other_name], |ctx: &mut ProcessorContext<'_, K, Change<VR>>, r: TableRecord<K, VR>| ctx.forward(r));
        {
            let mut i = inner.borrow_mut();
            let os: Vec<&str> = other_getter.stores.iter().map(String::as_str).collect();
            i.connect(&this_name, &os);
            let ts: Vec<&str> = this_getter.stores.iter().map(String::as_str).collect();
            i.connect(&other_name, &ts);
            let sources: Vec<&str> = self.sources.iter().chain(&other.sources).map(String::as_str).collect();
            i.with_topology(|t| t.copartition_sources(&sources));
        }
        let (tg, og) = (this_getter, other_getter);
        let getter = TableGetter::new(move || {
            let (a, b, f) = (tg.get.clone(), og.get.clone(), full.clone());
            ValueGetter {
                stores: tg.stores.iter().chain(&og.stores).cloned().collect(),
                get: Arc::new(move |cx, k| {
                    let x = a(cx, k)?;
                    let y = b(cx, k)?;
                    let ts = x.as_ref().map_or(i64::MIN, |x| x.1).max(y.as_ref().map_or(i64::MIN, |y| y.1));
                    Ok(f(x.as_ref().map(|x| &x.0), y.as_ref().map(|y| &y.0)).map(|v| (v, ts)))
                }),
            }
        });
        let mut sources = self.sources.clone();
        sources.extend(other.sources.iter().cloned());
        KTable::new(&inner, merge, self.keys.clone(), None, sources).with_getter(getter)
    }

    /// Inner foreign-key join: each row joins the row of `other` whose key `foreign_key`
    /// extracts (single-task design, see the module docs).
    pub fn join_foreign_key<KO: Data, VO: Data, VR: Data>(
        &self,
        other: &KTable<KO, VO>,
        foreign_key: impl Fn(&V) -> KO + Send + Sync + 'static,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
    ) -> KTable<K, VR> {
        self.fk_join(other, Arc::new(foreign_key), Arc::new(move |a, b| Some(joiner(a, b?))))
    }

    /// Left foreign-key join: rows without a partner join `None`.
    pub fn left_join_foreign_key<KO: Data, VO: Data, VR: Data>(
        &self,
        other: &KTable<KO, VO>,
        foreign_key: impl Fn(&V) -> KO + Send + Sync + 'static,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
    ) -> KTable<K, VR> {
        self.fk_join(other, Arc::new(foreign_key), Arc::new(move |a, b| Some(joiner(a, b))))
    }

    fn fk_join<KO: Data, VO: Data, VR: Data>(
        &self,
        other: &KTable<KO, VO>,
        fk: Arc<dyn Fn(&V) -> KO + Send + Sync>,
        joiner: Arc<dyn Fn(&V, Option<&VO>) -> Option<VR> + Send + Sync>,
    ) -> KTable<K, VR> {
        let inner = self.inner.clone();
        let (reg, store, resp, merge) = {
            let mut i = inner.borrow_mut();
            (
                i.name("KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-"),
                i.store_name("KTABLE-FK-JOIN-SUBSCRIPTION-"),
                i.name("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-"),
                i.name("KTABLE-MERGE-"),
            )
        };
        let keys = resolve_serde(&inner, "key", &[&self.keys]);
        let fkeys = resolve_serde(&inner, "foreign key", &[&other.keys]);
        let (Some(this_getter), Some(other_getter)) = (self.value_getter(), other.value_getter()) else {
            return KTable::new(&inner, merge, self.keys.clone(), None, self.sources.clone());
        };
        // Subscription keys: 4-byte length of the foreign key, the foreign key, the primary key.
        let sub_key = |f: &[u8], p: &[u8]| {
            let mut b = (f.len() as u32).to_be_bytes().to_vec();
            b.extend_from_slice(f);
            b.extend_from_slice(p);
            Bytes::from(b)
        };
        let (og, j, fk2, k2, f2, st) = (other_getter.get.clone(), joiner.clone(), fk.clone(), keys.clone(), fkeys.clone(), store.clone());
        let topic = ChangelogTopic::new(&store);
        add_fn(&inner, &reg, &[&self.node], move |ctx: &mut ProcessorContext<'_, K, Change<VR>>, r: TableRecord<K, V>| {
            // Both parts of the subscription key are keys of the store's changelog topic.
            let key_ctx = SerdeContext::key(topic.get(ctx.application_id()));
            let pk = k2.serialize_with(&key_ctx, r.key())?;
            let c = r.value().clone();
            let old_fk = c.old.as_ref().map(|v| fk2(v));
            let new_fk = c.new.as_ref().map(|v| fk2(v));
            if let Some(o) = &old_fk {
                let ob = f2.serialize_with(&key_ctx, o)?;
                ctx.get_key_value_store(&st)?.delete(&sub_key(&ob, &pk))?;
            }
            let new = match (&c.new, &new_fk) {
                (Some(v), Some(f)) => {
                    let fb = f2.serialize_with(&key_ctx, f)?;
                    ctx.get_key_value_store(&st)?.put(sub_key(&fb, &pk), Some(Bytes::new()))?;
                    let partner = og(ctx, f)?.map(|p| p.0);
                    j(v, partner.as_ref())
                }
                _ => None,
            };
            ctx.forward(r.with_value(Change::new(new, None)))
        });
        let (tg, j, k3, f3, st) = (this_getter.get.clone(), joiner, keys.clone(), fkeys.clone(), store.clone());
        let topic = ChangelogTopic::new(&store);
        add_fn(&inner, &resp, &[&other.node], move |ctx: &mut ProcessorContext<'_, K, Change<VR>>, r: TableRecord<KO, VO>| {
            let key_ctx = SerdeContext::key(topic.get(ctx.application_id()));
            let fb = f3.serialize_with(&key_ctx, r.key())?;
            let mut prefix = (fb.len() as u32).to_be_bytes().to_vec();
            prefix.extend_from_slice(&fb);
            let subscribers: Vec<Bytes> = {
                let s = ctx.get_key_value_store(&st)?;
                s.prefix_scan(&prefix)?.map(|kv| kv.map(|(k, _)| k.slice(prefix.len()..))).collect::<Result<_, _>>()?
            };
            for pkb in subscribers {
                let pk = k3.deserialize_with(&key_ctx, &pkb)?;
                let Some((v, _)) = tg(ctx, &pk)? else { continue };
                let new = j(&v, r.value().new.as_ref());
                ctx.forward(Record::new(pk, Change::new(new, None), r.timestamp()))?;
            }
            Ok(())
        });
        add_fn(&inner, &merge, &[&reg, &resp], |ctx: &mut ProcessorContext<'_, K, Change<VR>>, r: TableRecord<K, VR>| ctx.forward(r));
        {
            let mut i = inner.borrow_mut();
            i.add_store(Stores::persistent_key_value_store(&store).with_caching_disabled(), &[&reg, &resp]);
            let os: Vec<&str> = other_getter.stores.iter().map(String::as_str).collect();
            i.connect(&reg, &os);
            let ts: Vec<&str> = this_getter.stores.iter().map(String::as_str).collect();
            i.connect(&resp, &ts);
            let sources: Vec<&str> = self.sources.iter().chain(&other.sources).map(String::as_str).collect();
            i.with_topology(|t| t.copartition_sources(&sources));
        }
        let _: Option<Arc<dyn Serde<VR>>> = None;
        KTable::new(&inner, merge, self.keys.clone(), None, self.sources.clone())
    }
}
