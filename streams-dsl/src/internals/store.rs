//! A typed view of a timestamped key-value store that forwards table updates downstream: at
//! once without a cache, or when the cache flushes (Kafka's `TimestampedCacheFlushListener`).

use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::Serde;
use bytes::Bytes;

use super::{timestamped, untimestamped, Change};

/// Store name and serdes of a materialized table or aggregation.
pub(crate) struct TableStore<K, V> {
    pub(crate) name: String,
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
    /// Whether the store has a cache (set in `init`): then updates are forwarded on flush.
    pub(crate) cached: bool,
}

impl<K, V> Clone for TableStore<K, V> {
    fn clone(&self) -> Self {
        TableStore { name: self.name.clone(), keys: self.keys.clone(), values: self.values.clone(), cached: false }
    }
}

impl<K, V> TableStore<K, V>
where
    K: Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub(crate) fn new(name: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        TableStore { name: name.to_owned(), keys, values, cached: false }
    }

    /// Registers the flush listener that forwards `Record<K, Change<V>>` on cache flushes.
    pub(crate) fn init(&mut self, ctx: &mut ProcessorContext<'_, K, Change<V>>) -> PResult<()> {
        let (keys, values, name) = (self.keys.clone(), self.values.clone(), self.name.clone());
        self.cached = ctx.on_cache_flush(&self.name, move |ctx, r| {
            let key = keys.deserialize(&name, &r.key)?;
            let new = r.new_value.as_ref().map(|b| untimestamped(values.as_ref(), &name, b)).transpose()?;
            let old = r.old_value.as_ref().map(|b| untimestamped(values.as_ref(), &name, b)).transpose()?;
            if new.is_none() && old.is_none() {
                return Ok(());
            }
            ctx.forward(Record::new(key, Change::new(new.map(|v| v.0), old.map(|v| v.0)), r.timestamp))
        })?;
        Ok(())
    }

    /// The current value and timestamp of `key`.
    pub(crate) fn get<KO, VO>(&self, ctx: &mut ProcessorContext<'_, KO, VO>, key: &K) -> PResult<Option<(V, i64)>> {
        let kb = self.keys.serialize(&self.name, key)?;
        match ctx.get_key_value_store(&self.name)?.get(&kb)? {
            None => Ok(None),
            Some(b) => Ok(Some(untimestamped(self.values.as_ref(), &self.name, &b)?)),
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
        let kb = Bytes::from(self.keys.serialize(&self.name, &key)?);
        let vb = new.as_ref().map(|v| self.values.serialize(&self.name, v).map(|b| timestamped(b, ts))).transpose()?;
        ctx.get_key_value_store(&self.name)?.put(kb, vb)?;
        if self.cached {
            return Ok(());
        }
        ctx.forward(Record::new(key, Change::new(new, old), ts))
    }
}
