//! A typed facade over a byte key-value store: keys and values go through [`Serde`]s, as in
//! Kafka's `MeteredKeyValueStore`.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::KeyValueStore;
use crate::error::Result;
use crate::serde::Serde;

/// A key-value store of `K -> V`, encoding with serdes for the store's changelog topic.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use brook_state_store::{I64Serde, StoreContext, Stores, StringSerde, TypedKeyValueStore};
/// let ctx = StoreContext::new("/unused", "app", "0_0", 0);
/// let inner = Stores::in_memory_key_value_store("counts").build(&ctx).unwrap();
/// let mut counts = TypedKeyValueStore::new(inner, "app-counts-changelog", Arc::new(StringSerde), Arc::new(I64Serde));
/// counts.put(&"alice".to_owned(), Some(&3)).unwrap();
/// assert_eq!(counts.get(&"alice".to_owned()).unwrap(), Some(3));
/// ```
pub struct TypedKeyValueStore<K, V> {
    inner: Box<dyn KeyValueStore>,
    topic: String,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<V>>,
}

impl<K, V> fmt::Debug for TypedKeyValueStore<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedKeyValueStore").field("inner", &self.inner).field("topic", &self.topic).finish()
    }
}

type TypedIter<'a, K, V> = Box<dyn Iterator<Item = Result<(K, V)>> + 'a>;

impl<K: 'static, V: 'static> TypedKeyValueStore<K, V> {
    /// Wraps `inner`; serdes are called with `topic` (the changelog topic, as Kafka does).
    pub fn new(inner: Box<dyn KeyValueStore>, topic: impl Into<String>, keys: Arc<dyn Serde<K>>, values: Arc<dyn Serde<V>>) -> Self {
        TypedKeyValueStore { inner, topic: topic.into(), keys, values }
    }

    /// The value of `key`.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        let k = self.keys.serialize(&self.topic, key)?;
        self.inner.get(&k)?.map(|v| self.values.deserialize(&self.topic, &v)).transpose()
    }

    /// Writes (or with `None` deletes) `key`.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    pub fn put(&mut self, key: &K, value: Option<&V>) -> Result<()> {
        let k = Bytes::from(self.keys.serialize(&self.topic, key)?);
        let v = value.map(|v| self.values.serialize(&self.topic, v)).transpose()?.map(Bytes::from);
        self.inner.put(k, v)
    }

    /// Deletes `key`; returns its old value.
    ///
    /// # Errors
    /// Store errors, or serde errors.
    pub fn delete(&mut self, key: &K) -> Result<Option<V>> {
        let k = self.keys.serialize(&self.topic, key)?;
        self.inner.delete(&k)?.map(|v| self.values.deserialize(&self.topic, &v)).transpose()
    }

    /// Entries with serialized keys in `[from, to]`, in byte order of the serialized keys.
    ///
    /// # Errors
    /// Store errors, or serde errors; items fail on undecodable entries.
    pub fn range(&self, from: &K, to: &K) -> Result<TypedIter<'_, K, V>> {
        let (f, t) = (self.keys.serialize(&self.topic, from)?, self.keys.serialize(&self.topic, to)?);
        Ok(self.decode(self.inner.range(&f, &t)?))
    }

    /// Every entry, in byte order of the serialized keys.
    ///
    /// # Errors
    /// As [`TypedKeyValueStore::range`].
    pub fn all(&self) -> Result<TypedIter<'_, K, V>> {
        Ok(self.decode(self.inner.all()?))
    }

    fn decode<'a>(&'a self, it: super::KeyValueIter<'a>) -> TypedIter<'a, K, V> {
        Box::new(it.map(move |r| {
            let (k, v) = r?;
            Ok((self.keys.deserialize(&self.topic, &k)?, self.values.deserialize(&self.topic, &v)?))
        }))
    }

    /// The underlying byte store (flush, commit, close, flush listener).
    pub fn inner_mut(&mut self) -> &mut dyn KeyValueStore {
        &mut *self.inner
    }
}
