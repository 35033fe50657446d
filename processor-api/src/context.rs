//! [`ProcessorContext`]: what a processor can do besides computing (Kafka's
//! `api.ProcessorContext`): forward, schedule punctuators, reach its stores, read metadata.

use std::marker::PhantomData;
use std::time::Duration;

use brook_state_store::{
    AnyStore, FlushedRecord, KeyValueStore, SessionStore, VersionedKeyValueStore, WindowStore,
};

use crate::engine::AnyTaskId;
use crate::error::{Error, Result};
use crate::punctuation::{Cancellable, PunctuationType};
use crate::task::erased::with_erased;
use crate::record::{Record, RecordMetadata};
use crate::store_ref::{self, StoreRef};
use brook_state_store::{Serde, StateSerdes, TypedKeyValueStore};
use std::sync::Arc;
use parking_lot::MutexGuard;
use crate::task::core::{FlushHandler, NodeCx};

/// The context of one processor node of one task, typed by what the node forwards.
///
/// It is handed to [`crate::Processor::init`], [`crate::Processor::process`], punctuators and
/// cache-flush callbacks; it cannot be kept between calls.
pub struct ProcessorContext<'a, KOut, VOut> {
    cx: NodeCx<'a>,
    _types: PhantomData<fn(KOut, VOut)>,
}

impl<KOut, VOut> std::fmt::Debug for ProcessorContext<'_, KOut, VOut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorContext")
            .field("processor", &self.cx.name())
            .field("task", &self.cx.core.task_id)
            .finish_non_exhaustive()
    }
}

impl<'a, KOut, VOut> ProcessorContext<'a, KOut, VOut> {
    pub(crate) fn new(cx: NodeCx<'a>) -> Self {
        ProcessorContext { cx, _types: PhantomData }
    }

    /// The name of this processor node.
    pub fn processor_name(&self) -> String {
        self.cx.name().to_string()
    }

    /// The task this node runs in (the global-store task for a global store's processor).
    pub fn task_id(&self) -> AnyTaskId {
        self.cx.core.task_id
    }

    /// `application.id`.
    pub fn application_id(&self) -> &str {
        &self.cx.core.application_id
    }

    /// Topic, partition and offset of the input record being processed; `None` in punctuators.
    pub fn record_metadata(&self) -> Option<&RecordMetadata> {
        self.cx.core.record_metadata()
    }

    /// The task's stream time: the largest record timestamp it has processed (-1 before any).
    pub fn current_stream_time_ms(&self) -> i64 {
        self.cx.core.stream_time
    }

    /// The wall-clock time the task was last driven with (the test driver's mock time).
    pub fn current_system_time_ms(&self) -> i64 {
        self.cx.core.wall_clock
    }

    /// Asks the runtime to commit soon.
    pub fn commit(&mut self) {
        self.cx.core.commit_requested = true;
    }

    fn store<S: ?Sized + 'static>(
        &mut self,
        name: &str,
        shape: &str,
        select: for<'x> fn(&'x mut AnyStore) -> Option<&'x mut S>,
    ) -> Result<&mut S> {
        // Called per record by stateful processors: the node's stores were resolved to their
        // positions when the task was built; one comparison of names on success, no clones.
        let NodeCx { core, nodes, node } = &mut self.cx;
        let node = &nodes[*node];
        if let Some((_, Some(at))) = node.stores.iter().find(|(s, _)| s == name) {
            if let Some(s) = core.stores.get_mut_at(*at) {
                return select(s).ok_or_else(|| Error::Processing {
                    processor: node.name.to_string(),
                    message: format!("store \"{name}\" is not a {shape} store"),
                });
            }
        }
        let hint = if core.globals.get(name).is_some() { " (global stores: use get_global_store)" } else { "" };
        Err(Error::Processing {
            processor: node.name.to_string(),
            message: format!("store \"{name}\" is not connected to this processor{hint}"),
        })
    }

    /// A store connected to this processor, of any shape.
    ///
    /// # Errors
    /// [`Error::Processing`] when the store is not connected to this processor.
    pub fn get_state_store(&mut self, name: &str) -> Result<&mut AnyStore> {
        self.store(name, "state", store_ref::any)
    }

    /// A key-value store connected to this processor.
    ///
    /// # Errors
    /// As [`ProcessorContext::get_state_store`], or a store of another shape.
    pub fn get_key_value_store(&mut self, name: &str) -> Result<&mut (dyn KeyValueStore + 'static)> {
        self.store(name, "key-value", store_ref::key_value)
    }

    /// A window store connected to this processor.
    ///
    /// # Errors
    /// As [`ProcessorContext::get_state_store`], or a store of another shape.
    pub fn get_window_store(&mut self, name: &str) -> Result<&mut (dyn WindowStore + 'static)> {
        self.store(name, "window", store_ref::window)
    }

    /// A session store connected to this processor.
    ///
    /// # Errors
    /// As [`ProcessorContext::get_state_store`], or a store of another shape.
    pub fn get_session_store(&mut self, name: &str) -> Result<&mut (dyn SessionStore + 'static)> {
        self.store(name, "session", store_ref::session)
    }

    /// A versioned key-value store connected to this processor.
    ///
    /// # Errors
    /// As [`ProcessorContext::get_state_store`], or a store of another shape.
    pub fn get_versioned_store(&mut self, name: &str) -> Result<&mut (dyn VersionedKeyValueStore + 'static)> {
        self.store(name, "versioned", store_ref::versioned)
    }

    /// A key-value store connected to this processor, typed through serdes that are called with
    /// the store's changelog topic (as Kafka's metered stores do).
    ///
    /// # Errors
    /// As [`ProcessorContext::get_key_value_store`].
    pub fn get_typed_key_value_store<K, V>(
        &mut self,
        name: &str,
        keys: Arc<dyn Serde<K>>,
        values: Arc<dyn Serde<V>>,
    ) -> Result<TypedKeyValueStore<&mut (dyn KeyValueStore + 'static), K, V>> {
        let serdes = StateSerdes::for_store(&self.cx.core.application_id, name, keys, values);
        Ok(TypedKeyValueStore::new(self.get_key_value_store(name)?, serdes))
    }

    fn global<S: ?Sized + 'static>(
        &mut self,
        name: &str,
        shape: &str,
        select: for<'x> fn(&'x mut AnyStore) -> Option<&'x mut S>,
    ) -> Result<StoreRef<'_, S>> {
        let processor = self.cx.name();
        let Some(shared) = self.cx.core.global_store(name) else {
            return Err(Error::Processing { processor: processor.to_string(), message: format!("no global store \"{name}\"") });
        };
        MutexGuard::try_map(shared.lock(), select).map(StoreRef::global).map_err(|_| Error::Processing {
            processor: processor.to_string(),
            message: format!("global store \"{name}\" is not a {shape} store"),
        })
    }

    /// A global store (any processor may read one; its global-store processor writes it). It
    /// stays locked while the returned reference lives: keep it short.
    ///
    /// # Errors
    /// [`Error::Processing`] when there is no such global store.
    pub fn get_global_store(&mut self, name: &str) -> Result<StoreRef<'_, AnyStore>> {
        self.global(name, "state", store_ref::any)
    }

    /// A global key-value store (the `GlobalKTable` case).
    ///
    /// # Errors
    /// As [`ProcessorContext::get_global_store`], or a store of another shape.
    pub fn get_global_key_value_store(&mut self, name: &str) -> Result<StoreRef<'_, dyn KeyValueStore>> {
        self.global(name, "key-value", store_ref::key_value)
    }
}

impl<'a, KOut: 'static, VOut: 'static> ProcessorContext<'a, KOut, VOut> {
    /// Schedules `punctuator` every `interval`; it is called with this node's context and the
    /// current stream time or wall-clock time. Stream-time schedules are aligned to 0 and fire
    /// at most once per advance of stream time (missed intervals are skipped, as in Kafka);
    /// wall-clock ones first fire one interval from now.
    ///
    /// # Errors
    /// [`Error::Processing`] for a zero interval.
    pub fn schedule<F>(&mut self, interval: Duration, ty: PunctuationType, mut punctuator: F) -> Result<Cancellable>
    where
        F: FnMut(&mut ProcessorContext<'_, KOut, VOut>, i64) -> Result<()> + Send + 'static,
    {
        let ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        if ms < 1 {
            return Err(Error::Processing {
                processor: self.cx.name().to_string(),
                message: "the punctuation interval must be at least 1 ms".to_owned(),
            });
        }
        let f = Box::new(move |cx: NodeCx<'_>, ts: i64| punctuator(&mut ProcessorContext::new(cx), ts));
        Ok(Cancellable(self.cx.schedule(ms, ty, f)))
    }

    /// Calls `callback` with this node's context for every record the cache of `store`
    /// flushes or evicts (the compacted updates Kafka's DSL forwards downstream on commit).
    /// Without a cache (caching disabled, or `statestore.cache.max.bytes` = 0) it is never
    /// called.
    ///
    /// # Errors
    /// As [`ProcessorContext::get_state_store`].
    pub fn on_cache_flush<F>(&mut self, store: &str, mut callback: F) -> Result<bool>
    where
        F: FnMut(&mut ProcessorContext<'_, KOut, VOut>, FlushedRecord) -> Result<()> + Send + 'static,
    {
        let handlers = &mut self.cx.core.flush_handlers;
        let handler = handlers.iter().position(|h| h.store == store).unwrap_or_else(|| {
            handlers.push(FlushHandler { store: store.to_owned(), node: 0, f: None });
            handlers.len() - 1
        });
        let queue = self.cx.core.flushed.clone();
        let has_cache = self
            .get_state_store(store)?
            .state_store_mut()
            .set_flush_listener(Box::new(move |r| queue.push((handler, r))));
        let f = Box::new(move |cx: NodeCx<'_>, r: FlushedRecord| callback(&mut ProcessorContext::new(cx), r));
        let node = self.cx.node;
        self.cx.core.flush_handlers[handler] = FlushHandler { store: store.to_owned(), node, f: Some(f) };
        Ok(has_cache)
    }
}

impl<'a, KOut, VOut> ProcessorContext<'a, KOut, VOut>
where
    KOut: Clone + Send + 'static,
    VOut: Clone + Send + 'static,
{
    /// Forwards `record` to every child, in the order they were added.
    ///
    /// # Errors
    /// The first error of a downstream node.
    pub fn forward(&mut self, record: Record<KOut, VOut>) -> Result<()> {
        let node = self.cx.node;
        let n = self.cx.nodes[node].children.len();
        if n == 1 {
            let child = self.cx.nodes[node].children[0];
            return with_erased(record, |r| self.cx.dispatch(child, r)).map_err(|e| *e);
        }
        let targets = self.cx.targets(None)?;
        self.forward_to_targets(&targets, record)
    }

    /// Forwards `record` to the child named `child` only.
    ///
    /// # Errors
    /// [`Error::Processing`] for an unknown child, or the child's error.
    pub fn forward_to(&mut self, child: &str, record: Record<KOut, VOut>) -> Result<()> {
        let targets = self.cx.targets(Some(child))?;
        self.forward_to_targets(&targets, record)
    }

    fn forward_to_targets(&mut self, targets: &[usize], record: Record<KOut, VOut>) -> Result<()> {
        let Some((&last, rest)) = targets.split_last() else { return Ok(()) };
        for &t in rest {
            with_erased(record.clone(), |r| self.cx.dispatch(t, r)).map_err(|e| *e)?;
        }
        with_erased(record, |r| self.cx.dispatch(last, r)).map_err(|e| *e)
    }
}


