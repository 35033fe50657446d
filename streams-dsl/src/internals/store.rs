//! How a materialized table or aggregation writes its timestamped key-value store and forwards
//! its updates downstream: at once without a cache, or when the cache flushes (Kafka's
//! `TimestampedTupleForwarder` / `TimestampedCacheFlushListener`). Reads and writes go through
//! state-store's [`TypedKeyValueStore`] with [`ValueAndTimestamp`] values (Kafka's
//! `TimestampedKeyValueStore`), its serdes called with the changelog topic; what this adds is
//! the forwarding, which the typed store does not know.

use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::{KeyValueStore, Serde, StateSerdes, TypedKeyValueStore, ValueAndTimestamp, ValueAndTimestampSerde};

use super::{Change, StoreLookup, StoreSerdes, ValueGetter};

/// Store and serdes of a materialized table or aggregation.
pub(crate) struct TableStore<K, V> {
    serdes: StoreSerdes<K, ValueAndTimestamp<V>>,
    /// Whether the store has a cache (set in `init`): then updates are forwarded on flush.
    cached: bool,
}

impl<K, V> Clone for TableStore<K, V> {
    fn clone(&self) -> Self {
        TableStore { serdes: self.serdes.clone(), cached: false }
    }
}

/// The typed store of one record's access: the store reached through the context, the serdes
/// borrowed from the processor.
type Typed<'a, K, V> = TypedKeyValueStore<&'a mut (dyn KeyValueStore + 'static), K, ValueAndTimestamp<V>, &'a StateSerdes<K, ValueAndTimestamp<V>>>;

impl<K, V> TableStore<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(name: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        TableStore { serdes: StoreSerdes::new(name, keys, Arc::new(ValueAndTimestampSerde(values))), cached: false }
    }

    /// The store, typed, in the processor (or value getter) that `cx` is the context of.
    #[inline]
    fn typed<'a, C: StoreLookup + ?Sized>(&'a self, cx: &'a mut C) -> PResult<Typed<'a, K, V>> {
        let serdes = self.serdes.bind(cx.application_id());
        Ok(TypedKeyValueStore::new(cx.kv(&self.serdes.store)?, serdes))
    }

    /// Registers the flush listener that forwards `Record<K, Change<V>>` on cache flushes.
    pub(crate) fn init(&mut self, ctx: &mut ProcessorContext<'_, K, Change<V>>) -> PResult<()> {
        let serdes = self.serdes.bind(ctx.application_id()).clone();
        self.cached = ctx.on_cache_flush(&self.serdes.store, move |ctx, r| {
            let key = serdes.key_from(&r.key)?;
            let new = r.new_value.as_ref().map(|b| serdes.value_from(b)).transpose()?;
            let old = r.old_value.as_ref().map(|b| serdes.value_from(b)).transpose()?;
            if new.is_none() && old.is_none() {
                return Ok(());
            }
            ctx.forward(Record::new(key, Change::new(new.map(|v| v.value), old.map(|v| v.value)), r.timestamp))
        })?;
        Ok(())
    }

    /// The current value and timestamp of `key`, from a processor's context or a value
    /// getter's store lookup.
    pub(crate) fn get<C: StoreLookup + ?Sized>(&self, cx: &mut C, key: &K) -> PResult<Option<(V, i64)>> {
        Ok(self.typed(cx)?.get(key)?.map(|vt| (vt.value, vt.timestamp)))
    }

    /// Writes `new` (a delete for `None`) at `ts` and forwards the change unless cached.
    pub(crate) fn put_and_forward(
        &self,
        ctx: &mut ProcessorContext<'_, K, Change<V>>,
        key: K,
        new: Option<V>,
        old: Option<V>,
        ts: i64,
    ) -> PResult<()> {
        let new = new.map(|value| ValueAndTimestamp { value, timestamp: ts });
        self.typed(ctx)?.put(&key, new.as_ref())?;
        if self.cached {
            return Ok(());
        }
        ctx.forward(Record::new(key, Change::new(new.map(|vt| vt.value), old), ts))
    }
}

/// A getter over a table's or aggregation's store (written by its [`TableStore`]).
pub(crate) fn store_getter<K: Send + Sync + Clone + 'static, V: Send + Sync + Clone + 'static>(
    store: &str,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
) -> ValueGetter<K, V> {
    let table = TableStore::new(store, keys, values);
    ValueGetter { stores: vec![store.to_owned()], get: Arc::new(move |cx, k| table.get(cx, k)) }
}
