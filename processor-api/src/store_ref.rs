//! [`StoreRef`]: a borrowed store, and [`GlobalStores`]: the global stores an instance shares
//! between the task that updates them and every task that reads them.

use std::cell::RefMut;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use brook_state_store::{AnyStore, KeyValueStore, SessionStore, VersionedKeyValueStore, WindowStore};
use parking_lot::{MappedMutexGuard, Mutex};

/// A store borrowed from a [`crate::ProcessorContext`] or a [`crate::TopologyTestDriver`]:
/// dereferences to the store. Global stores stay locked while it lives, so keep it short.
pub struct StoreRef<'a, S: ?Sized> {
    inner: Held<'a, S>,
}

/// How a [`StoreRef`] holds its store: a task's own, a locked global one, or the test driver's.
enum Held<'a, S: ?Sized> {
    Local(&'a mut S),
    Global(MappedMutexGuard<'a, S>),
    Cell(RefMut<'a, S>),
}

impl<'a, S: ?Sized> StoreRef<'a, S> {
    pub(crate) fn local(s: &'a mut S) -> Self {
        StoreRef { inner: Held::Local(s) }
    }
    pub(crate) fn global(s: MappedMutexGuard<'a, S>) -> Self {
        StoreRef { inner: Held::Global(s) }
    }
    pub(crate) fn cell(s: RefMut<'a, S>) -> Self {
        StoreRef { inner: Held::Cell(s) }
    }
}

impl<S: ?Sized> Deref for StoreRef<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        match &self.inner {
            Held::Local(s) => s,
            Held::Global(s) => s,
            Held::Cell(s) => s,
        }
    }
}

impl<S: ?Sized> DerefMut for StoreRef<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        match &mut self.inner {
            Held::Local(s) => s,
            Held::Global(s) => s,
            Held::Cell(s) => s,
        }
    }
}

impl<S: ?Sized> fmt::Debug for StoreRef<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreRef")
    }
}

/// A global store, shared.
pub(crate) type SharedStore = Arc<Mutex<AnyStore>>;

/// The global stores of one instance, by name. Cloning shares them: hand the same value to
/// every task (see [`crate::TaskResources`]).
#[derive(Clone, Default)]
pub struct GlobalStores(Arc<Mutex<BTreeMap<String, SharedStore>>>);

impl fmt::Debug for GlobalStores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GlobalStores").field(&self.names()).finish()
    }
}

impl GlobalStores {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names of the registered stores.
    pub fn names(&self) -> Vec<String> {
        self.0.lock().keys().cloned().collect()
    }

    pub(crate) fn get(&self, name: &str) -> Option<SharedStore> {
        self.0.lock().get(name).cloned()
    }

    pub(crate) fn insert(&self, name: &str, store: AnyStore) -> SharedStore {
        let shared = Arc::new(Mutex::new(store));
        self.0.lock().insert(name.to_owned(), shared.clone());
        shared
    }
}

/// Shape selectors that keep the stores' `'static` object lifetime.
pub(crate) fn any(s: &mut AnyStore) -> Option<&mut AnyStore> {
    Some(s)
}
pub(crate) fn key_value(s: &mut AnyStore) -> Option<&mut (dyn KeyValueStore + 'static)> {
    match s {
        AnyStore::KeyValue(s) => Some(&mut **s),
        _ => None,
    }
}
pub(crate) fn window(s: &mut AnyStore) -> Option<&mut (dyn WindowStore + 'static)> {
    match s {
        AnyStore::Window(s) => Some(&mut **s),
        _ => None,
    }
}
pub(crate) fn session(s: &mut AnyStore) -> Option<&mut (dyn SessionStore + 'static)> {
    match s {
        AnyStore::Session(s) => Some(&mut **s),
        _ => None,
    }
}
pub(crate) fn versioned(s: &mut AnyStore) -> Option<&mut (dyn VersionedKeyValueStore + 'static)> {
    match s {
        AnyStore::Versioned(s) => Some(&mut **s),
        _ => None,
    }
}
