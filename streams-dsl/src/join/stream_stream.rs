//! Stream-stream joins (Kafka's `KStreamImplJoin`, `KStreamKStreamJoin`).
//!
//! Each side is written to its window store by `KSTREAM-WINDOWED-<n>` and probes the other
//! side's store in `KSTREAM-JOINTHIS-<n>` / `KSTREAM-JOINOTHER-<n>` (`OUTERTHIS`/`OUTEROTHER`
//! for outer sides); results merge in `KSTREAM-MERGE-<n>`. Left and outer joins keep unmatched
//! records in a shared store (`KSTREAM-OUTERSHARED-<n>-store`, `<n>` the index of the
//! this-side join; a key-value store ordered by time here, a time-ordered window store in
//! Kafka) and emit them with a null partner only when their window has
//! closed (Kafka 3.x, no spurious results), or at once when the record arrives after its
//! window's end; with [`JoinWindows::of`] (no spurious-result fix) they join `None` at once.
//! Kafka throttles that emission to once per
//! `emit.interval.ms.kstreams.outer.join.spurious.results.fix` (1 s of wall-clock time);
//! here it runs on every in-order record. Both sides read the task's stream time where
//! Kafka shares a per-task time tracker between the two join processors.

use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::{KeyValueStore, Serde, SerdeContext, Stores, WindowStore};
use bytes::Bytes;

use super::JoinWindows;
use crate::internals::processors::{add_fn, StateProcessor};
use crate::internals::{resolve_serde, ChangelogTopic, DslMetrics, StoreSerdes};
use crate::kstream::{KStream, StreamRecord};
use crate::options::{StoreType, StreamJoined};
use crate::Data;

type Joiner<A, B, R> = Arc<dyn Fn(Option<&A>, Option<&B>) -> R + Send + Sync>;

/// One side's join processor, oriented: `A` is this side's value, `B` the other's.
struct SideJoin<K, A, B, R> {
    left: bool,
    outer: bool,
    other_store: String,
    shared: Option<String>,
    /// The changelog topics of the two stores, which their serdes are called with.
    other_topic: ChangelogTopic,
    shared_topic: Option<ChangelogTopic>,
    keys: Arc<dyn Serde<K>>,
    this_values: Arc<dyn Serde<A>>,
    other_values: Arc<dyn Serde<B>>,
    joiner: Joiner<A, B, R>,
    /// Window bounds seen from this side.
    before: i64,
    after: i64,
    grace: i64,
    /// How long each side's unmatched records wait: the left side's `after`, the right's `before`.
    lookback_left: i64,
    lookback_right: i64,
    metrics: DslMetrics,
    stream_time: i64,
}

fn shared_key(ts: i64, left: bool, key: &[u8]) -> Bytes {
    let mut b = Vec::with_capacity(9 + key.len());
    b.extend_from_slice(&((ts as u64) ^ (1 << 63)).to_be_bytes());
    b.push(u8::from(!left));
    b.extend_from_slice(key);
    Bytes::from(b)
}

fn parse_shared(b: &[u8]) -> Option<(i64, bool, &[u8])> {
    let ts = (u64::from_be_bytes(b.get(..8)?.try_into().ok()?) ^ (1 << 63)) as i64;
    Some((ts, *b.get(8)? == 0, b.get(9..)?))
}

impl<K: Data, A: Data, B: Data, R: Data> SideJoin<K, A, B, R> {
    fn emit_expired(&mut self, ctx: &mut ProcessorContext<'_, Option<K>, Option<R>>) -> PResult<()> {
        let Some(shared) = self.shared.clone() else { return Ok(()) };
        let store: &mut dyn KeyValueStore = ctx.get_key_value_store(&shared)?;
        let mut expired = Vec::new();
        for kv in store.all()? {
            let (k, v) = kv?;
            let Some((ts, left, _)) = parse_shared(&k) else { continue };
            // Entries are ordered by timestamp: past this one nothing can have expired.
            if ts + self.lookback_left.min(self.lookback_right) + self.grace >= self.stream_time {
                break;
            }
            let lookback = if left { self.lookback_left } else { self.lookback_right };
            if ts + lookback + self.grace >= self.stream_time {
                continue;
            }
            expired.push((k, v));
        }
        for (k, _) in &expired {
            store.delete(k)?;
        }
        let topic = self.shared_topic.as_ref().map_or("", |t| t.get(ctx.application_id()));
        let (key_ctx, value_ctx) = (SerdeContext::key(topic), SerdeContext::value(topic));
        for (k, v) in expired {
            let Some((ts, left, kb)) = parse_shared(&k) else { continue };
            let key = self.keys.deserialize_with(&key_ctx, kb)?;
            let value = if left == self.left {
                (self.joiner)(Some(&self.this_values.deserialize_with(&value_ctx, &v)?), None)
            } else {
                (self.joiner)(None, Some(&self.other_values.deserialize_with(&value_ctx, &v)?))
            };
            ctx.forward(Record::new(Some(key), Some(value), ts))?;
        }
        Ok(())
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<K>, Option<R>>, r: StreamRecord<K, A>) -> PResult<()> {
        let (k, v, t, h) = r.into_parts();
        self.stream_time = self.stream_time.max(ctx.current_stream_time_ms()).max(t);
        let (k, v) = match (k, v) {
            (Some(k), Some(v)) => (k, v),
            // Kafka: an outer side joins a null-key record with null at once; else skip it.
            (None, Some(v)) if self.outer => {
                return ctx.forward(Record::with_all(None, Some((self.joiner)(Some(&v), None)), t, h));
            }
            _ => {
                self.metrics.drop_record();
                return Ok(());
            }
        };
        // Records older than the stores' retention find nothing: left/outer sides then emit
        // their null join at once (below), as Kafka does; nothing is dropped here.
        if t == self.stream_time {
            self.emit_expired(ctx)?;
        }
        let other_topic = self.other_topic.get(ctx.application_id());
        let kb = self.keys.serialize_with(&SerdeContext::key(other_topic), &k)?;
        let (from, to) = ((t - self.before).max(0), (t + self.after).max(0));
        let matches: Vec<(i64, Bytes)> = {
            let store: &mut dyn WindowStore = ctx.get_window_store(&self.other_store)?;
            store.fetch(&kb, from, to)?.collect::<Result<_, _>>()?
        };
        for (ot, ob) in &matches {
            let other = self.other_values.deserialize_with(&SerdeContext::value(other_topic), ob)?;
            let out = (self.joiner)(Some(&v), Some(&other));
            ctx.forward(Record::with_all(Some(k.clone()), Some(out), t.max(*ot), h.clone()))?;
            if let (Some(shared), Some(topic)) = (&self.shared, &self.shared_topic) {
                let skb = self.keys.serialize_with(&SerdeContext::key(topic.get(ctx.application_id())), &k)?;
                ctx.get_key_value_store(shared)?.delete(&shared_key(*ot, !self.left, &skb))?;
            }
        }
        if matches.is_empty() && self.outer {
            match (&self.shared, &self.shared_topic) {
                (Some(shared), Some(topic)) if to >= self.stream_time => {
                    let topic = topic.get(ctx.application_id());
                    let skb = self.keys.serialize_with(&SerdeContext::key(topic), &k)?;
                    let vb = Bytes::from(self.this_values.serialize_with(&SerdeContext::value(topic), &v)?);
                    ctx.get_key_value_store(shared)?.put(shared_key(t, self.left, &skb), Some(vb))?;
                }
                _ => ctx.forward(Record::with_all(Some(k), Some((self.joiner)(Some(&v), None)), t, h))?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Inner,
    Left,
    Outer,
}

impl<K: Data, V: Data> KStream<K, V> {
    /// Inner windowed join with `other`.
    pub fn join<VO: Data, VR: Data>(
        &self,
        other: &KStream<K, VO>,
        joiner: impl Fn(&V, &VO) -> VR + Send + Sync + 'static,
        windows: JoinWindows,
        options: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        let j = Arc::new(joiner);
        self.stream_join(other, Arc::new(move |a: Option<&V>, b: Option<&VO>| j(a.expect("left value"), b.expect("right value"))), windows, options, Kind::Inner)
    }

    /// Left windowed join: unmatched records of this stream join `None` once their window closes.
    pub fn left_join<VO: Data, VR: Data>(
        &self,
        other: &KStream<K, VO>,
        joiner: impl Fn(&V, Option<&VO>) -> VR + Send + Sync + 'static,
        windows: JoinWindows,
        options: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        let j = Arc::new(joiner);
        self.stream_join(other, Arc::new(move |a: Option<&V>, b: Option<&VO>| j(a.expect("left value"), b)), windows, options, Kind::Left)
    }

    /// Outer windowed join: unmatched records of either side join `None` once their window closes.
    pub fn outer_join<VO: Data, VR: Data>(
        &self,
        other: &KStream<K, VO>,
        joiner: impl Fn(Option<&V>, Option<&VO>) -> VR + Send + Sync + 'static,
        windows: JoinWindows,
        options: StreamJoined<K, V, VO>,
    ) -> KStream<K, VR> {
        self.stream_join(other, Arc::new(joiner), windows, options, Kind::Outer)
    }

    fn stream_join<VO: Data, VR: Data>(
        &self,
        other: &KStream<K, VO>,
        joiner: Joiner<V, VO, VR>,
        w: JoinWindows,
        o: StreamJoined<K, V, VO>,
        kind: Kind,
    ) -> KStream<K, VR> {
        let inner = self.inner.clone();
        let named = o.name.clone();
        let this = self.repartitioned_if_required(&named.as_ref().map_or_else(|| self.node.clone(), |n| format!("{n}-left")), &o.keys, &o.values);
        let that = other.repartitioned_if_required(&named.as_ref().map_or_else(|| other.node.clone(), |n| format!("{n}-right")), &o.keys, &o.other_values);
        let (this_windowed, other_windowed, this_gen, other_gen, merge) = {
            let mut i = inner.borrow_mut();
            let mut suffix = |s: &str, prefix: &str| named.as_ref().map_or_else(|| i.name(prefix), |n| format!("{n}{s}"));
            let tw = suffix("-this-windowed", "KSTREAM-WINDOWED-");
            let ow = suffix("-other-windowed", "KSTREAM-WINDOWED-");
            let tg = i.name(if kind == Kind::Outer { "KSTREAM-OUTERTHIS-" } else { "KSTREAM-JOINTHIS-" });
            let og = i.name(if kind == Kind::Inner { "KSTREAM-JOINOTHER-" } else { "KSTREAM-OUTEROTHER-" });
            let mut suffix = |s: &str, prefix: &str| named.as_ref().map_or_else(|| i.name(prefix), |n| format!("{n}{s}"));
            let m = suffix("-merge", "KSTREAM-MERGE-");
            (tw, ow, tg, og, m)
        };
        // Kafka's KStreamImplJoin naming: suffixes depend on which sides are outer.
        let this_suffix = if kind == Kind::Outer { "-outer-this-join" } else { "-this-join" };
        let other_suffix = if kind == Kind::Inner { "-other-join" } else { "-outer-other-join" };
        let this_join = named.as_ref().map_or_else(|| this_gen.clone(), |n| format!("{n}{this_suffix}"));
        let other_join = named.as_ref().map_or_else(|| other_gen.clone(), |n| format!("{n}{other_suffix}"));
        let (this_store, other_store) = match &o.store_name {
            Some(s) => (format!("{s}{this_suffix}-store"), format!("{s}{other_suffix}-store")),
            None => (format!("{this_gen}-store"), format!("{other_gen}-store")),
        };
        // Without the spurious-result fix there is no shared store: non-matches join at once.
        let shared = (kind != Kind::Inner && w.spurious_result_fix).then(|| match &o.store_name {
            Some(s) => format!("{s}{}-store", if kind == Kind::Outer { "-outer-shared-join" } else { "-left-shared-join" }),
            None => {
                let index = &this_gen[this_gen.len() - 10..];
                format!("KSTREAM-OUTERSHARED-{index}-store")
            }
        });
        let keys = resolve_serde(&inner, "key", &[&o.keys, &this.keys, &that.keys]);
        let values = resolve_serde(&inner, "value", &[&o.values, &this.values]);
        let other_values = resolve_serde(&inner, "value", &[&o.other_values, &that.values]);
        let metrics = inner.borrow().metrics.clone();

        windowed_node(&this, &this_windowed, &this_store, keys.clone(), values.clone());
        windowed_node(&that, &other_windowed, &other_store, keys.clone(), other_values.clone());
        let side = |left: bool| -> (bool, i64, i64) {
            let outer = match kind {
                Kind::Inner => false,
                Kind::Left => left,
                Kind::Outer => true,
            };
            if left { (outer, w.before, w.after) } else { (outer, w.after, w.before) }
        };
        let (outer, before, after) = side(true);
        let sj = SideJoin {
            left: true,
            outer,
            other_store: other_store.clone(),
            shared: shared.clone(),
            other_topic: ChangelogTopic::new(&other_store),
            shared_topic: shared.as_deref().map(ChangelogTopic::new),
            keys: keys.clone(),
            this_values: values.clone(),
            other_values: other_values.clone(),
            joiner: joiner.clone(),
            before,
            after,
            grace: w.grace,
            lookback_left: w.after,
            lookback_right: w.before,
            metrics: metrics.clone(),
            stream_time: -1,
        };
        add_side(&inner, &this_join, &this_windowed, sj);
        let (outer, before, after) = side(false);
        let flipped: Joiner<VO, V, VR> = Arc::new(move |b, a| joiner(a, b));
        let sj = SideJoin {
            left: false,
            outer,
            other_store: this_store.clone(),
            shared: shared.clone(),
            other_topic: ChangelogTopic::new(&this_store),
            shared_topic: shared.as_deref().map(ChangelogTopic::new),
            keys: keys.clone(),
            this_values: other_values.clone(),
            other_values: values.clone(),
            joiner: flipped,
            before,
            after,
            grace: w.grace,
            lookback_left: w.after,
            lookback_right: w.before,
            metrics,
            stream_time: -1,
        };
        add_side(&inner, &other_join, &other_windowed, sj);
        add_fn(&inner, &merge, &[&this_join, &other_join], |ctx, r: StreamRecord<K, VR>| ctx.forward(r));

        let retention = w.size() + w.grace;
        let window_store = |name: &str| {
            let b = match o.store_type {
                StoreType::RocksDb => Stores::persistent_window_store(name, retention, w.size(), true),
                StoreType::InMemory => Stores::in_memory_window_store(name, retention, w.size(), true),
            }
            .with_caching_disabled();
            let b = if o.segment_expiry { b.with_segment_granular_expiry() } else { b };
            if o.logging { b } else { b.with_logging_disabled() }
        };
        {
            let mut i = inner.borrow_mut();
            i.add_store(window_store(&this_store), &[&this_windowed]);
            i.add_store(window_store(&other_store), &[&other_windowed]);
            i.connect(&this_join, &[&other_store]);
            i.connect(&other_join, &[&this_store]);
            if let Some(s) = &shared {
                let b = match o.store_type {
                    StoreType::RocksDb => Stores::persistent_key_value_store(s),
                    StoreType::InMemory => Stores::in_memory_key_value_store(s),
                }
                .with_caching_disabled();
                let b = if o.logging { b } else { b.with_logging_disabled() };
                i.add_store(b, &[&this_join, &other_join]);
            }
            let sources: Vec<&str> = this.sources.iter().chain(&that.sources).map(String::as_str).collect();
            i.with_topology(|t| t.copartition_sources(&sources));
        }
        let mut out = KStream::new(&inner, merge, Some(keys), None, false, this.sources.clone());
        out.sources.extend(that.sources.iter().cloned());
        out
    }
}

fn windowed_node<K: Data, V: Data>(s: &KStream<K, V>, name: &str, store: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) {
    let serdes = StoreSerdes::new(store, keys, values);
    add_fn(&s.inner, name, &[&s.node], move |ctx: &mut ProcessorContext<'_, Option<K>, Option<V>>, r: StreamRecord<K, V>| {
        // Records with a null key are not stored (they never join) but still go on: an
        // outer side joins them with null.
        if let (Some(k), Some(v)) = (r.key(), r.value()) {
            let bound = serdes.bind(ctx.application_id());
            let (kb, vb) = (bound.raw_key(k)?, bound.raw_value(v)?);
            ctx.get_window_store(&serdes.store)?.put(kb, Some(vb), r.timestamp())?;
        }
        ctx.forward(r)
    });
}

fn add_side<K: Data, A: Data, B: Data, R: Data>(inner: &crate::internals::Shared, name: &str, parent: &str, sj: SideJoin<K, A, B, R>) {
    let make = side_factory(sj);
    inner.borrow_mut().with_topology(|t| {
        t.add_processor(
            name,
            move || StateProcessor { state: make(), init: |_, _| Ok(()), process: |s: &mut SideJoin<K, A, B, R>, ctx, r| s.process(ctx, r) },
            &[parent],
        )
    });
}

/// Fresh copies of a side processor (one per task).
fn side_factory<K: Data, A: Data, B: Data, R: Data>(s: SideJoin<K, A, B, R>) -> impl Fn() -> SideJoin<K, A, B, R> + Send + Sync {
    move || SideJoin {
        left: s.left,
        outer: s.outer,
        other_store: s.other_store.clone(),
        shared: s.shared.clone(),
        other_topic: ChangelogTopic::new(&s.other_store),
        shared_topic: s.shared.as_deref().map(ChangelogTopic::new),
        keys: s.keys.clone(),
        this_values: s.this_values.clone(),
        other_values: s.other_values.clone(),
        joiner: s.joiner.clone(),
        before: s.before,
        after: s.after,
        grace: s.grace,
        lookback_left: s.lookback_left,
        lookback_right: s.lookback_right,
        metrics: s.metrics.clone(),
        stream_time: -1,
    }
}
