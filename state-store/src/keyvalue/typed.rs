//! Typed key-value access, as Kafka's `MeteredKeyValueStore` does it: [`StateSerdes`] (a
//! store's serdes bound to its changelog topic) and [`TypedKeyValueStore`], the one typed
//! wrapper, over an owned store, a borrowed one, or any [`KeyValueReader`] (the runtime's
//! interactive-query views).

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bytes::Bytes;

use super::{KeyValueStore, ReadOnlyKeyValueStore};
use crate::error::{Error, Result};
use crate::serde::{timestamped_bytes, Serde, SerdeContext, ValueAndTimestamp, ValueAndTimestampSerde};

/// The serdes of one store, called with the store's changelog topic
/// (`<application.id>-<store>-changelog`), `is_key` set for keys and no headers, as Kafka's
/// `StateSerdes`. Cloning shares them.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_state_store::{I64Serde, StateSerdes, StringSerde};
/// let serdes = StateSerdes::for_store("app", "counts", Arc::new(StringSerde), Arc::new(I64Serde));
/// assert_eq!(serdes.topic(), "app-counts-changelog");
/// assert_eq!(&serdes.raw_value(&1).unwrap()[..], &1i64.to_be_bytes());
/// assert_eq!(serdes.key_from(b"alice").unwrap(), "alice");
/// ```
pub struct StateSerdes<K, V>(Arc<SerdesInner<K, V>>);

struct SerdesInner<K, V> {
    topic: String,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
}

impl<K, V> Clone for StateSerdes<K, V> {
    fn clone(&self) -> Self {
        StateSerdes(self.0.clone())
    }
}

impl<K, V> fmt::Debug for StateSerdes<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSerdes").field("topic", &self.0.topic).finish_non_exhaustive()
    }
}

impl<K, V> StateSerdes<K, V> {
    /// Serdes called with `changelog_topic`.
    pub fn new(changelog_topic: impl Into<String>, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        StateSerdes(Arc::new(SerdesInner { topic: changelog_topic.into(), keys, values }))
    }

    /// Serdes of store `store` of application `application_id`, called with its changelog topic.
    pub fn for_store(application_id: &str, store: &str, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        Self::new(crate::changelog::changelog_topic(application_id, store), keys, values)
    }

    /// The topic the serdes are called with.
    #[must_use]
    pub fn topic(&self) -> &str {
        &self.0.topic
    }

    /// The key serde.
    #[must_use]
    pub fn key_serde(&self) -> &Arc<dyn Serde<K>> {
        &self.0.keys
    }

    /// The value serde.
    #[must_use]
    pub fn value_serde(&self) -> &Arc<dyn Serde<V>> {
        &self.0.values
    }

    fn key_ctx(&self) -> SerdeContext<'_> {
        SerdeContext::key(&self.0.topic)
    }

    fn value_ctx(&self) -> SerdeContext<'_> {
        SerdeContext::value(&self.0.topic)
    }

    /// Encodes a key.
    ///
    /// # Errors
    /// The key serde's errors.
    pub fn raw_key(&self, key: &K) -> Result<Bytes> {
        self.0.keys.serialize_bytes(&self.key_ctx(), key)
    }

    /// As [`StateSerdes::raw_key`], appended to `out` (a buffer the caller reuses).
    ///
    /// # Errors
    /// The key serde's errors.
    pub fn raw_key_into(&self, key: &K, out: &mut Vec<u8>) -> Result<()> {
        self.0.keys.serialize_into(&self.key_ctx(), key, out)
    }

    /// Encodes a value.
    ///
    /// # Errors
    /// The value serde's errors.
    pub fn raw_value(&self, value: &V) -> Result<Bytes> {
        self.0.values.serialize_bytes(&self.value_ctx(), value)
    }

    /// Decodes a key.
    ///
    /// # Errors
    /// The key serde's errors.
    pub fn key_from(&self, raw: &[u8]) -> Result<K> {
        self.0.keys.deserialize_with(&self.key_ctx(), raw)
    }

    /// Decodes a value.
    ///
    /// # Errors
    /// The value serde's errors.
    pub fn value_from(&self, raw: &[u8]) -> Result<V> {
        self.0.values.deserialize_with(&self.value_ctx(), raw)
    }

    /// Encodes `value` stamped with `timestamp` in Kafka's `ValueAndTimestamp` layout (8-byte
    /// big-endian timestamp, then the value), as Kafka's
    /// `ValueAndTimestampSerializer.serialize(topic, value, timestamp)`.
    ///
    /// # Errors
    /// The value serde's errors.
    pub fn raw_timestamped(&self, value: &V, timestamp: i64) -> Result<Bytes> {
        timestamped_bytes(&*self.0.values, &self.value_ctx(), value, timestamp).map(Bytes::from)
    }

    /// As [`StateSerdes::raw_timestamped`], appended to `out` (a buffer the caller reuses).
    ///
    /// # Errors
    /// The value serde's errors.
    pub fn raw_timestamped_into(&self, value: &V, timestamp: i64, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(&timestamp.to_be_bytes());
        self.0.values.serialize_into(&self.value_ctx(), value, out)
    }

    /// Decodes Kafka's `ValueAndTimestamp` layout.
    ///
    /// # Errors
    /// [`Error::Decode`] when shorter than 8 bytes; the value serde's errors.
    pub fn timestamped_from(&self, raw: &[u8]) -> Result<ValueAndTimestamp<V>> {
        let (timestamp, value) = ValueAndTimestamp::split(raw)?;
        Ok(ValueAndTimestamp { value: self.value_from(value)?, timestamp })
    }
}

impl<K: 'static, V: 'static> StateSerdes<K, ValueAndTimestamp<V>> {
    /// Serdes of a timestamped store (Kafka's `TimestampedKeyValueStore`): values are
    /// [`ValueAndTimestamp`]s in Kafka's layout, the inner value encoded by `values`.
    pub fn timestamped(changelog_topic: impl Into<String>, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        Self::new(changelog_topic, keys, Arc::new(ValueAndTimestampSerde(values)))
    }
}

/// Raw entries read through a [`KeyValueReader`].
pub type ReaderIter<'a, E> = Box<dyn Iterator<Item = Result<(Bytes, Bytes), E>> + 'a>;

/// What [`TypedKeyValueStore`] reads from: anything that dereferences to a key-value store
/// (`Box<dyn KeyValueStore>`, `&mut dyn KeyValueStore`, the runtime's `StoreRef`), or a view
/// that gathers several (the runtime's interactive-query views, with their own error type).
pub trait KeyValueReader {
    /// The error reads fail with.
    type Error: From<Error>;
    /// The raw value of `key`.
    ///
    /// # Errors
    /// Store errors.
    fn read(&self, key: &[u8]) -> Result<Option<Bytes>, Self::Error>;
    /// Raw entries with `from <= key <= to`.
    ///
    /// # Errors
    /// Store errors.
    fn read_range(&self, from: &[u8], to: &[u8]) -> Result<ReaderIter<'_, Self::Error>, Self::Error>;
    /// Every raw entry.
    ///
    /// # Errors
    /// Store errors.
    fn read_all(&self) -> Result<ReaderIter<'_, Self::Error>, Self::Error>;
    /// An estimate of the number of entries.
    ///
    /// # Errors
    /// Store errors.
    fn read_num_entries(&self) -> Result<u64, Self::Error>;
}

impl<P> KeyValueReader for P
where
    P: Deref,
    P::Target: ReadOnlyKeyValueStore,
{
    type Error = Error;
    fn read(&self, key: &[u8]) -> Result<Option<Bytes>> {
        (**self).get(key)
    }
    fn read_range(&self, from: &[u8], to: &[u8]) -> Result<ReaderIter<'_, Error>> {
        (**self).range(from, to)
    }
    fn read_all(&self) -> Result<ReaderIter<'_, Error>> {
        (**self).all()
    }
    fn read_num_entries(&self) -> Result<u64> {
        (**self).approximate_num_entries()
    }
}

/// A key-value store of `K -> V` through [`StateSerdes`]: the one typed key-value wrapper.
/// `S` is the store: owned (`Box<dyn KeyValueStore>`), borrowed (`&mut dyn KeyValueStore`, from
/// a processor context), or a read-only [`KeyValueReader`] (an interactive-query view); the
/// write methods need a store that dereferences mutably to a [`KeyValueStore`]. `D` holds the
/// serdes: owned (the default), or borrowed (`&StateSerdes`) by a processor that keeps its
/// serdes and reaches its store through the context on each record, as the DSL's tables and
/// aggregations do, so that a record costs no reference count.
/// `TypedKeyValueStore<S, K, ValueAndTimestamp<V>>` with [`StateSerdes::timestamped`] is
/// Kafka's `TimestampedKeyValueStore`.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_state_store::{I64Serde, StateSerdes, StoreContext, Stores, StringSerde, TypedKeyValueStore};
/// let ctx = StoreContext::new("/unused", "app", "0_0", 0);
/// let inner = Stores::in_memory_key_value_store("counts").build(&ctx).unwrap();
/// let serdes = StateSerdes::for_store("app", "counts", Arc::new(StringSerde), Arc::new(I64Serde));
/// let mut counts = TypedKeyValueStore::new(inner, serdes);
/// counts.put(&"alice".to_owned(), Some(&3)).unwrap();
/// assert_eq!(counts.get(&"alice".to_owned()).unwrap(), Some(3));
/// ```
pub struct TypedKeyValueStore<S, K, V, D = StateSerdes<K, V>> {
    store: S,
    serdes: D,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<S: fmt::Debug, K, V, D: fmt::Debug> fmt::Debug for TypedKeyValueStore<S, K, V, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedKeyValueStore").field("store", &self.store).field("serdes", &self.serdes).finish()
    }
}

/// Typed entries of a [`TypedKeyValueStore`].
pub type TypedIter<'a, K, V, E = Error> = Box<dyn Iterator<Item = Result<(K, V), E>> + 'a>;

impl<S, K, V, D: Borrow<StateSerdes<K, V>>> TypedKeyValueStore<S, K, V, D> {
    /// `store` through `serdes` (a [`StateSerdes`] or a reference to one).
    #[inline]
    pub fn new(store: S, serdes: D) -> Self {
        TypedKeyValueStore { store, serdes, _types: PhantomData }
    }

    /// The serdes.
    #[must_use]
    #[inline]
    pub fn serdes(&self) -> &StateSerdes<K, V> {
        self.serdes.borrow()
    }

    /// The underlying store.
    pub fn inner(&self) -> &S {
        &self.store
    }

    /// The underlying store (flush, commit, close, flush listener).
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The underlying store, unwrapped.
    pub fn into_inner(self) -> S {
        self.store
    }
}

impl<S: KeyValueReader, K: 'static, V: 'static, D: Borrow<StateSerdes<K, V>>> TypedKeyValueStore<S, K, V, D> {
    /// The value of `key`.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    #[inline]
    pub fn get(&self, key: &K) -> Result<Option<V>, S::Error> {
        let k = self.serdes().raw_key(key)?;
        match self.store.read(&k)? {
            None => Ok(None),
            Some(v) => Ok(Some(self.serdes().value_from(&v)?)),
        }
    }

    /// Entries with serialized keys in `[from, to]`, in byte order of the serialized keys.
    ///
    /// # Errors
    /// Store errors, or serde errors; items fail on undecodable entries.
    pub fn range(&self, from: &K, to: &K) -> Result<TypedIter<'_, K, V, S::Error>, S::Error> {
        let (f, t) = (self.serdes().raw_key(from)?, self.serdes().raw_key(to)?);
        Ok(self.decode(self.store.read_range(&f, &t)?))
    }

    /// Every entry, in byte order of the serialized keys.
    ///
    /// # Errors
    /// As [`TypedKeyValueStore::range`].
    pub fn all(&self) -> Result<TypedIter<'_, K, V, S::Error>, S::Error> {
        Ok(self.decode(self.store.read_all()?))
    }

    /// An estimate of the number of entries (exact in memory).
    ///
    /// # Errors
    /// Store errors.
    pub fn approximate_num_entries(&self) -> Result<u64, S::Error> {
        self.store.read_num_entries()
    }

    fn decode<'a>(&'a self, it: ReaderIter<'a, S::Error>) -> TypedIter<'a, K, V, S::Error> {
        Box::new(it.map(move |r| {
            let (k, v) = r?;
            Ok((self.serdes().key_from(&k)?, self.serdes().value_from(&v)?))
        }))
    }
}

impl<S, K: 'static, V: 'static, D: Borrow<StateSerdes<K, V>>> TypedKeyValueStore<S, K, V, D>
where
    S: DerefMut,
    S::Target: KeyValueStore,
{
    /// Writes (or with `None` deletes) `key`.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    #[inline]
    pub fn put(&mut self, key: &K, value: Option<&V>) -> Result<()> {
        let k = self.serdes().raw_key(key)?;
        let v = value.map(|v| self.serdes().raw_value(v)).transpose()?;
        self.store.put(k, v)
    }

    /// Writes `value` unless `key` has one; returns the existing value.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    pub fn put_if_absent(&mut self, key: &K, value: &V) -> Result<Option<V>> {
        let k = self.serdes().raw_key(key)?;
        let v = self.serdes().raw_value(value)?;
        self.store.put_if_absent(k, v)?.map(|v| self.serdes().value_from(&v)).transpose()
    }

    /// Deletes `key`; returns its old value.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    pub fn delete(&mut self, key: &K) -> Result<Option<V>> {
        let k = self.serdes().raw_key(key)?;
        self.store.delete(&k)?.map(|v| self.serdes().value_from(&v)).transpose()
    }
}
