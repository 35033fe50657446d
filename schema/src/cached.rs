//! A caching wrapper around any client (Confluent's `CachedSchemaRegistryClient`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::client::{RegisteredSchema, Schema, SchemaRegistryClient};
use crate::error::Result;

/// Caches what never changes in a registry: schemas by id, the id of a schema registered under
/// a subject, numbered versions. `latest` is cached only for the TTL given to
/// [`with_latest_ttl`](Self::with_latest_ttl) (Confluent's `latest.cache.ttl.sec`); by default
/// each call asks the registry.
#[derive(Debug)]
pub struct CachedClient<C> {
    inner: C,
    latest_ttl: Option<Duration>,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    by_id: HashMap<i32, Schema>,
    registered: HashMap<(String, Schema), RegisteredSchema>,
    ids: HashMap<(String, Schema), i32>,
    versions: HashMap<(String, i32), RegisteredSchema>,
    latest: HashMap<String, (Instant, RegisteredSchema)>,
}

impl<C: SchemaRegistryClient> CachedClient<C> {
    /// Wraps `inner`.
    #[must_use]
    pub fn new(inner: C) -> Self {
        Self { inner, latest_ttl: None, cache: Mutex::new(Cache::default()) }
    }

    /// Caches `latest` answers for `ttl`.
    #[must_use]
    pub fn with_latest_ttl(mut self, ttl: Duration) -> Self {
        self.latest_ttl = Some(ttl);
        self
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    fn remember(&self, registered: &RegisteredSchema) {
        let mut cache = self.cache.lock();
        let key = (registered.subject.clone(), registered.schema.clone());
        cache.by_id.insert(registered.id, registered.schema.clone());
        cache.ids.insert(key.clone(), registered.id);
        cache.registered.insert(key, registered.clone());
        cache.versions.insert((registered.subject.clone(), registered.version), registered.clone());
    }
}

impl<C: SchemaRegistryClient> SchemaRegistryClient for CachedClient<C> {
    fn register(&self, subject: &str, schema: &Schema, normalize: bool) -> Result<i32> {
        let key = (subject.to_owned(), schema.clone());
        if let Some(id) = self.cache.lock().ids.get(&key) {
            return Ok(*id);
        }
        let id = self.inner.register(subject, schema, normalize)?;
        let mut cache = self.cache.lock();
        cache.by_id.entry(id).or_insert_with(|| schema.clone());
        cache.ids.insert(key, id);
        Ok(id)
    }

    fn schema_by_id(&self, id: i32) -> Result<Schema> {
        if let Some(schema) = self.cache.lock().by_id.get(&id) {
            return Ok(schema.clone());
        }
        let schema = self.inner.schema_by_id(id)?;
        self.cache.lock().by_id.insert(id, schema.clone());
        Ok(schema)
    }

    fn latest(&self, subject: &str) -> Result<RegisteredSchema> {
        if let Some(ttl) = self.latest_ttl {
            if let Some((at, registered)) = self.cache.lock().latest.get(subject) {
                if at.elapsed() < ttl {
                    return Ok(registered.clone());
                }
            }
        }
        let registered = self.inner.latest(subject)?;
        self.remember(&registered);
        if self.latest_ttl.is_some() {
            self.cache.lock().latest.insert(subject.to_owned(), (Instant::now(), registered.clone()));
        }
        Ok(registered)
    }

    fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema> {
        if let Some(registered) = self.cache.lock().versions.get(&(subject.to_owned(), version)) {
            return Ok(registered.clone());
        }
        let registered = self.inner.version(subject, version)?;
        self.remember(&registered);
        Ok(registered)
    }

    fn lookup(&self, subject: &str, schema: &Schema) -> Result<RegisteredSchema> {
        if let Some(registered) = self.cache.lock().registered.get(&(subject.to_owned(), schema.clone())) {
            return Ok(registered.clone());
        }
        let registered = self.inner.lookup(subject, schema)?;
        // The registry answers with its own (possibly normalized) text: cache under the caller's.
        let mut cache = self.cache.lock();
        cache.by_id.insert(registered.id, registered.schema.clone());
        cache.ids.insert((subject.to_owned(), schema.clone()), registered.id);
        cache.registered.insert((subject.to_owned(), schema.clone()), registered.clone());
        Ok(registered)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::MemoryClient;

    /// Counts the calls that reach the registry.
    #[derive(Debug, Default)]
    struct Counting {
        registry: MemoryClient,
        calls: AtomicUsize,
    }

    impl SchemaRegistryClient for Counting {
        fn register(&self, subject: &str, schema: &Schema, normalize: bool) -> Result<i32> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.registry.register(subject, schema, normalize)
        }
        fn schema_by_id(&self, id: i32) -> Result<Schema> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.registry.schema_by_id(id)
        }
        fn latest(&self, subject: &str) -> Result<RegisteredSchema> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.registry.latest(subject)
        }
        fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.registry.version(subject, version)
        }
        fn lookup(&self, subject: &str, schema: &Schema) -> Result<RegisteredSchema> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.registry.lookup(subject, schema)
        }
    }

    #[test]
    fn repeated_calls_reach_the_registry_once() {
        let client = CachedClient::new(Counting::default());
        let schema = Schema::avro(r#""int""#);
        for _ in 0..3 {
            assert_eq!(client.register("s", &schema, false).unwrap(), 1);
            assert_eq!(client.schema_by_id(1).unwrap(), schema);
            assert_eq!(client.lookup("s", &schema).unwrap().version, 1);
            assert_eq!(client.version("s", 1).unwrap().id, 1);
        }
        // register, lookup and version once each; schema_by_id is answered from register's entry.
        assert_eq!(client.inner().calls.load(Ordering::SeqCst), 3);
        client.latest("s").unwrap();
        client.latest("s").unwrap();
        assert_eq!(client.inner().calls.load(Ordering::SeqCst), 5, "latest is not cached without a TTL");
        assert!(client.schema_by_id(9).is_err());
    }

    #[test]
    fn latest_is_cached_for_its_ttl() {
        let client = CachedClient::new(Counting::default()).with_latest_ttl(Duration::from_secs(3600));
        client.register("s", &Schema::avro(r#""int""#), false).unwrap();
        client.latest("s").unwrap();
        client.latest("s").unwrap();
        assert_eq!(client.inner().calls.load(Ordering::SeqCst), 2);
    }
}
