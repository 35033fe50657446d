//! Integration tests: every store scenario is written once, generic over the backend, and run
//! on RocksDB and in memory by `both_backends!`.

mod cache;
mod changelog;
mod keyvalue;
mod model;
mod recovery;
mod session;
mod versioned;
mod window;

use brook_state_store::{
    CollectingChangelogSink, KeyValueStore, Result, SessionStore, StoreContext, Stores, ThreadCache,
    VersionedKeyValueStore, WindowStore,
};
use bytes::Bytes;
use tempfile::TempDir;

/// Which backend a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    RocksDb,
    InMemory,
}

/// Runs `scenario(Kind)` once per backend, as `<scenario>::rocksdb` and `<scenario>::in_memory`.
macro_rules! both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn rocksdb() {
                super::$scenario($crate::Kind::RocksDb);
            }
            #[test]
            fn in_memory() {
                super::$scenario($crate::Kind::InMemory);
            }
        }
    )*};
}
pub(crate) use both_backends;

/// A task's state directory, changelog sink and thread cache.
pub(crate) struct Fixture {
    _dir: TempDir,
    pub(crate) sink: CollectingChangelogSink,
    pub(crate) ctx: StoreContext,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Self::with_cache(1 << 20)
    }

    pub(crate) fn with_cache(cache_bytes: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sink = CollectingChangelogSink::new();
        let ctx = StoreContext::new(dir.path(), "app", "0_1", 1)
            .with_thread_cache(ThreadCache::new(cache_bytes))
            .with_changelog_sink(sink.shared());
        Fixture { _dir: dir, sink, ctx }
    }

    pub(crate) fn kv(&self, kind: Kind, name: &str, caching: bool) -> Box<dyn KeyValueStore> {
        let b = match kind {
            Kind::RocksDb => Stores::persistent_key_value_store(name),
            Kind::InMemory => Stores::in_memory_key_value_store(name),
        };
        let b = if caching { b.with_caching_enabled() } else { b };
        b.build(&self.ctx).unwrap()
    }

    pub(crate) fn window(&self, kind: Kind, name: &str, retention: i64, size: i64, dups: bool, caching: bool) -> Box<dyn WindowStore> {
        let b = match kind {
            Kind::RocksDb => Stores::persistent_window_store(name, retention, size, dups),
            Kind::InMemory => Stores::in_memory_window_store(name, retention, size, dups),
        };
        let b = if caching { b.with_caching_enabled() } else { b };
        b.build(&self.ctx).unwrap()
    }

    pub(crate) fn session(&self, kind: Kind, name: &str, retention: i64, caching: bool) -> Box<dyn SessionStore> {
        let b = match kind {
            Kind::RocksDb => Stores::persistent_session_store(name, retention),
            Kind::InMemory => Stores::in_memory_session_store(name, retention),
        };
        let b = if caching { b.with_caching_enabled() } else { b };
        b.build(&self.ctx).unwrap()
    }

    pub(crate) fn versioned(&self, kind: Kind, name: &str, history: i64) -> Box<dyn VersionedKeyValueStore> {
        match kind {
            Kind::RocksDb => Stores::persistent_versioned_key_value_store(name, history),
            Kind::InMemory => Stores::in_memory_versioned_key_value_store(name, history),
        }
        .build(&self.ctx)
        .unwrap()
    }
}

pub(crate) fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

pub(crate) fn s(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// `(key, value)` pairs as strings.
pub(crate) fn pairs(it: impl Iterator<Item = Result<(Bytes, Bytes)>>) -> Vec<(String, String)> {
    it.map(|r| r.unwrap()).map(|(k, v)| (s(&k), s(&v))).collect()
}
