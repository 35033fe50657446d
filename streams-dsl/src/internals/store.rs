//! How a materialized table or aggregation writes its timestamped key-value store and forwards
//! its updates downstream: at once without a cache, or when the cache flushes (Kafka's
//! `TimestampedTupleForwarder` / `TimestampedCacheFlushListener`). Encoding is state-store's
//! (`StateSerdes` with Kafka's `ValueAndTimestamp` layout, called with the changelog topic).

use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::Serde;

use super::{Change, StoreSerdes};

/// Store and serdes of a materialized table or aggregation.
pub(crate) struct TableStore<K, V> {
    pub(crate) serdes: StoreSerdes<K, V>,
    /// Whether the store has a cache (set in `init`): then updates are forwarded on flush.
    pub(crate) cached: bool,
}

impl<K, V> Clone for TableStore<K, V> {
    fn clone(&self) -> Self {
        TableStore { serdes: self.serdes.clone(), cached: false }
    }
}

impl<K, V> TableStore<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(name: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        TableStore { serdes: StoreSerdes::new(name, keys, values), cached: false }
    }

    /// Registers the flush listener that forwards `Record<K, Change<V>>` on cache flushes.
    pub(crate) fn init(&mut self, ctx: &mut ProcessorContext<'_, K, Change<V>>) -> PResult<()> {
        let serdes = self.serdes.bind(ctx.application_id()).clone();
        self.cached = ctx.on_cache_flush(&self.serdes.store, move |ctx, r| {
            let key = serdes.key_from(&r.key)?;
            let new = r.new_value.as_ref().map(|b| serdes.timestamped_from(b)).transpose()?;
            let old = r.old_value.as_ref().map(|b| serdes.timestamped_from(b)).transpose()?;
            if new.is_none() && old.is_none() {
                return Ok(());
            }
            ctx.forward(Record::new(key, Change::new(new.map(|v| v.value), old.map(|v| v.value)), r.timestamp))
        })?;
        Ok(())
    }

    /// The current value and timestamp of `key`.
    pub(crate) fn get<KO, VO>(&self, ctx: &mut ProcessorContext<'_, KO, VO>, key: &K) -> PResult<Option<(V, i64)>> {
        let serdes = self.serdes.bind(ctx.application_id());
        let kb = serdes.raw_key(key)?;
        match ctx.get_key_value_store(&self.serdes.store)?.get(&kb)? {
            None => Ok(None),
            Some(b) => {
                let vt = serdes.timestamped_from(&b)?;
                Ok(Some((vt.value, vt.timestamp)))
            }
        }
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
        let serdes = self.serdes.bind(ctx.application_id());
        let kb = serdes.raw_key(&key)?;
        let vb = new.as_ref().map(|v| serdes.raw_timestamped(v, ts)).transpose()?;
        ctx.get_key_value_store(&self.serdes.store)?.put(kb, vb)?;
        if self.cached {
            return Ok(());
        }
        ctx.forward(Record::new(key, Change::new(new, old), ts))
    }
}
