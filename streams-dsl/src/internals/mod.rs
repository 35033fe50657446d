//! What the DSL types share: the builder state (topology under construction, Kafka's shared
//! name index), default serdes, [`Change`], closure processors and table value getters.

pub(crate) mod processors;
pub(crate) mod repartition;
pub(crate) mod store;

pub(crate) use store::store_getter;

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use brook_processor_api::{ProcessorContext, Result as PResult, StoreFactory, Topology, TopologyError};
use brook_state_store::{
    BytesSerde, Error as StoreError, F64Serde, I32Serde, I64Serde, KeyValueStore, Serde, SerdeContext, StateSerdes,
    StringSerde,
};
use bytes::Bytes;

use crate::error::Error;

/// The builder state every stream and table of one [`crate::StreamsBuilder`] shares.
pub(crate) struct BuilderState {
    pub(crate) topology: Topology,
    index: usize,
    pub(crate) errors: Vec<Error>,
    pub(crate) metrics: DslMetrics,
    /// Serdes registered per type (the typed form of `default.key.serde`/`default.value.serde`).
    pub(crate) serdes: std::collections::HashMap<TypeId, Box<dyn Any>>,
}

pub(crate) type Shared = Rc<RefCell<BuilderState>>;

impl BuilderState {
    pub(crate) fn new() -> Shared {
        Rc::new(RefCell::new(BuilderState {
            topology: Topology::new(),
            index: 0,
            errors: Vec::new(),
            metrics: DslMetrics::default(),
            serdes: std::collections::HashMap::new(),
        }))
    }

    /// Kafka's `newProcessorName`: `prefix` + the next index, ten digits.
    pub(crate) fn name(&mut self, prefix: &str) -> String {
        let n = format!("{prefix}{:010}", self.index);
        self.index += 1;
        n
    }

    /// Kafka's `newStoreName`: `prefix` + `STATE-STORE-` + the next index.
    pub(crate) fn store_name(&mut self, prefix: &str) -> String {
        let n = format!("{prefix}STATE-STORE-{:010}", self.index);
        self.index += 1;
        n
    }

    /// Records a lowering error, reported by `build()`.
    pub(crate) fn fail(&mut self, e: Error) {
        self.errors.push(e);
    }

    /// Runs a topology mutation, recording its error.
    pub(crate) fn with_topology(&mut self, f: impl FnOnce(&mut Topology) -> Result<&mut Topology, TopologyError>) {
        if let Err(e) = f(&mut self.topology) {
            self.errors.push(e.into());
        }
    }

    pub(crate) fn add_store<F: StoreFactory + 'static>(&mut self, store: F, processors: &[&str]) {
        self.with_topology(|t| t.add_state_store(store, processors));
    }

    pub(crate) fn connect(&mut self, processor: &str, stores: &[&str]) {
        self.with_topology(|t| t.connect_processor_and_state_stores(processor, stores));
    }

    pub(crate) fn build(&self) -> Result<Topology, Error> {
        match self.errors.first() {
            Some(e) => Err(e.clone()),
            None => Ok(self.topology.clone()),
        }
    }
}

/// Counters of the DSL's processors that tests and applications can read (Kafka's
/// `dropped-records` task metric).
#[derive(Debug, Clone, Default)]
pub struct DslMetrics {
    dropped: Arc<AtomicU64>,
}

impl DslMetrics {
    /// Records dropped: later than the grace period of their window, or with a null key where
    /// a key is needed.
    pub fn dropped_records(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn drop_record(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// A table update as it flows between table processors (Kafka's `Change<V>`): the new value
/// and, where known, the old one. `None` is a tombstone (or an unknown old value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change<V> {
    /// The new value.
    pub new: Option<V>,
    /// The value before the update.
    pub old: Option<V>,
}

impl<V> Change<V> {
    pub(crate) fn new(new: Option<V>, old: Option<V>) -> Self {
        Change { new, old }
    }
}

/// Encodes a [`Change`] for a repartition topic: a flags byte (bit 0: new present, bit 1: old
/// present), then the new value length-prefixed (4 bytes, big-endian), then the old value.
pub(crate) struct ChangeSerde<V>(pub(crate) Arc<dyn Serde<V>>);

/// A value: the topic-only methods tell the inner serde `!is_key`; the `_with` methods pass the
/// caller's context through.
impl<V> Serde<Change<V>> for ChangeSerde<V> {
    fn serialize(&self, topic: &str, c: &Change<V>) -> brook_state_store::Result<Vec<u8>> {
        self.serialize_with(&SerdeContext::value(topic), c)
    }

    fn deserialize(&self, topic: &str, b: &[u8]) -> brook_state_store::Result<Change<V>> {
        self.deserialize_with(&SerdeContext::value(topic), b)
    }

    fn serialize_with(&self, ctx: &SerdeContext<'_>, c: &Change<V>) -> brook_state_store::Result<Vec<u8>> {
        let new = c.new.as_ref().map(|v| self.0.serialize_with(ctx, v)).transpose()?;
        let old = c.old.as_ref().map(|v| self.0.serialize_with(ctx, v)).transpose()?;
        let mut out = vec![u8::from(new.is_some()) | (u8::from(old.is_some()) << 1)];
        let n = new.unwrap_or_default();
        out.extend_from_slice(&(n.len() as u32).to_be_bytes());
        out.extend_from_slice(&n);
        out.extend_from_slice(&old.unwrap_or_default());
        Ok(out)
    }

    fn deserialize_with(&self, ctx: &SerdeContext<'_>, b: &[u8]) -> brook_state_store::Result<Change<V>> {
        let short = || StoreError::Decode { what: "change", reason: format!("{} bytes is too short", b.len()) };
        let flags = *b.first().ok_or_else(short)?;
        let len = b.get(1..5).ok_or_else(short)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| short())?) as usize;
        let new = b.get(5..5 + len).ok_or_else(short)?;
        let old = &b[5 + len..];
        Ok(Change {
            new: if flags & 1 != 0 { Some(self.0.deserialize_with(ctx, new)?) } else { None },
            old: if flags & 2 != 0 { Some(self.0.deserialize_with(ctx, old)?) } else { None },
        })
    }
}

/// A serde that always fails; stands in where none was given and none is known for the type
/// (the lowering error is reported by `build()` first).
struct MissingSerde(&'static str);

impl<T> Serde<T> for MissingSerde {
    fn serialize(&self, _: &str, _: &T) -> brook_state_store::Result<Vec<u8>> {
        Err(StoreError::Encode { what: "value", reason: format!("no serde for {}", self.0) })
    }
    fn deserialize(&self, _: &str, _: &[u8]) -> brook_state_store::Result<T> {
        Err(StoreError::Encode { what: "value", reason: format!("no serde for {}", self.0) })
    }
}

/// The built-in serde of `T` (Kafka's `Serdes` for String, Long, Integer, Double, bytes): the
/// defaults for `default.key.serde` / `default.value.serde` when an operation names none.
pub fn default_serde<T: 'static>() -> Option<Arc<dyn Serde<T>>> {
    let t = TypeId::of::<T>();
    let any: Box<dyn Any> = if t == TypeId::of::<String>() {
        Box::new(Arc::new(StringSerde) as Arc<dyn Serde<String>>)
    } else if t == TypeId::of::<i64>() {
        Box::new(Arc::new(I64Serde) as Arc<dyn Serde<i64>>)
    } else if t == TypeId::of::<i32>() {
        Box::new(Arc::new(I32Serde) as Arc<dyn Serde<i32>>)
    } else if t == TypeId::of::<f64>() {
        Box::new(Arc::new(F64Serde) as Arc<dyn Serde<f64>>)
    } else if t == TypeId::of::<Bytes>() {
        Box::new(Arc::new(BytesSerde) as Arc<dyn Serde<Bytes>>)
    } else if t == TypeId::of::<Vec<u8>>() {
        Box::new(Arc::new(BytesSerde) as Arc<dyn Serde<Vec<u8>>>)
    } else {
        return None;
    };
    any.downcast::<Arc<dyn Serde<T>>>().ok().map(|b| *b)
}

/// Picks the first serde given, else the type's default; records an error when there is none.
pub(crate) fn resolve_serde<T: 'static>(
    inner: &Shared,
    what: &'static str,
    choices: &[&Option<Arc<dyn Serde<T>>>],
) -> Arc<dyn Serde<T>> {
    if let Some(s) = choices.iter().find_map(|c| (*c).clone()) {
        return s;
    }
    let registered = inner.borrow().serdes.get(&TypeId::of::<T>()).and_then(|b| b.downcast_ref::<Arc<dyn Serde<T>>>().cloned());
    if let Some(s) = registered {
        return s;
    }
    default_serde::<T>().unwrap_or_else(|| {
        inner.borrow_mut().fail(Error::MissingSerde { what, type_name: std::any::type_name::<T>() });
        Arc::new(MissingSerde(std::any::type_name::<T>()))
    })
}

/// What table value getters and stateful processors need from any `ProcessorContext`.
pub(crate) trait StoreLookup {
    fn application_id(&self) -> &str;
    fn kv(&mut self, name: &str) -> PResult<&mut (dyn KeyValueStore + 'static)>;
    fn global_get(&mut self, name: &str, key: &[u8]) -> PResult<Option<Bytes>>;
}

impl<K, V> StoreLookup for ProcessorContext<'_, K, V> {
    fn application_id(&self) -> &str {
        ProcessorContext::application_id(self)
    }
    fn kv(&mut self, name: &str) -> PResult<&mut (dyn KeyValueStore + 'static)> {
        self.get_key_value_store(name)
    }
    fn global_get(&mut self, name: &str, key: &[u8]) -> PResult<Option<Bytes>> {
        let store = self.get_global_key_value_store(name)?;
        Ok(store.get(key)?)
    }
}

/// The serdes of one DSL store, bound to the store's changelog topic
/// (`<application.id>-<store>-changelog`) the first time a processor uses them: the
/// application id is known only at runtime. Each clone binds again (processors are built per
/// task, all with the same application id).
pub(crate) struct StoreSerdes<K, V> {
    pub(crate) store: String,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
    bound: OnceLock<StateSerdes<K, V>>,
}

impl<K, V> Clone for StoreSerdes<K, V> {
    fn clone(&self) -> Self {
        StoreSerdes { store: self.store.clone(), keys: self.keys.clone(), values: self.values.clone(), bound: OnceLock::new() }
    }
}

impl<K, V> StoreSerdes<K, V> {
    pub(crate) fn new(store: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        StoreSerdes { store: store.to_owned(), keys, values, bound: OnceLock::new() }
    }

    /// The serdes, called with the changelog topic of the store in application `application_id`.
    pub(crate) fn bind(&self, application_id: &str) -> &StateSerdes<K, V> {
        self.bound.get_or_init(|| StateSerdes::for_store(application_id, &self.store, self.keys.clone(), self.values.clone()))
    }
}

/// `(key, value, aggregate so far or None) -> new aggregate`.
pub(crate) type AggFn<K, V, VA> = Arc<dyn Fn(&K, &V, Option<VA>) -> VA + Send + Sync>;

/// The changelog topic of a DSL store, computed the first time a processor asks (the
/// application id is known only at runtime); for serdes of stores whose keys are built from
/// several encoded parts (the foreign-key join's subscription store).
pub(crate) struct ChangelogTopic {
    store: String,
    topic: OnceLock<String>,
}

impl ChangelogTopic {
    pub(crate) fn new(store: &str) -> Self {
        ChangelogTopic { store: store.to_owned(), topic: OnceLock::new() }
    }

    pub(crate) fn get(&self, application_id: &str) -> &str {
        self.topic.get_or_init(|| brook_state_store::changelog_topic(application_id, &self.store))
    }
}

/// Reads a table's current value by key (Kafka's `KTableValueGetter`): from the table's store,
/// or through the stores of the tables it derives from.
pub(crate) type GetFn<K, V> = Arc<dyn Fn(&mut dyn StoreLookup, &K) -> PResult<Option<(V, i64)>> + Send + Sync>;

/// A value getter and the stores it reads (connected to every processor that uses it).
pub(crate) struct ValueGetter<K, V> {
    pub(crate) stores: Vec<String>,
    pub(crate) get: GetFn<K, V>,
}

impl<K, V> Clone for ValueGetter<K, V> {
    fn clone(&self) -> Self {
        ValueGetter { stores: self.stores.clone(), get: self.get.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_serde_round_trips_and_rejects_short_input() {
        let serde = ChangeSerde(Arc::new(StringSerde) as Arc<dyn Serde<String>>);
        for c in [Change::new(Some("new".to_owned()), Some("old".to_owned())), Change::new(None, Some("o".into())), Change::new(Some(String::new()), None)] {
            let b = serde.serialize("t", &c).unwrap();
            assert_eq!(serde.deserialize("t", &b).unwrap(), c);
        }
        assert!(serde.deserialize("t", &[1, 0, 0]).is_err());
        assert!(serde.deserialize("t", &[1, 0, 0, 0, 9, b'x']).is_err());
    }

    #[test]
    fn default_serdes_cover_kafkas_built_in_types() {
        assert!(default_serde::<String>().is_some());
        assert_eq!(default_serde::<i64>().unwrap().serialize("t", &1).unwrap(), 1i64.to_be_bytes());
        assert!(default_serde::<Bytes>().is_some());
        assert!(default_serde::<(u8, u8)>().is_none());
    }

    #[test]
    fn names_share_one_counter_with_stores() {
        let inner = BuilderState::new();
        let mut i = inner.borrow_mut();
        assert_eq!(i.name("KSTREAM-SOURCE-"), "KSTREAM-SOURCE-0000000000");
        assert_eq!(i.store_name("KSTREAM-AGGREGATE-"), "KSTREAM-AGGREGATE-STATE-STORE-0000000001");
        assert_eq!(i.name("KSTREAM-AGGREGATE-"), "KSTREAM-AGGREGATE-0000000002");
    }
}
