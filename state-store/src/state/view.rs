//! Read-only views for interactive queries.

use std::fmt;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

/// A read-only handle on a store shared with the stream thread that writes it: readers get
/// `&S` only, so only the `ReadOnly*` trait methods (`get`, `range`, `fetch`, `find_sessions`,
/// `get_as_of`, ...) are callable through it. The store sits behind a `Mutex` (stores are
/// `Send`, not `Sync`), so the view can move to any thread (an interactive-query server).
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use parking_lot::Mutex;
/// use brook_state_store::{KeyValueStore, ReadOnlyKeyValueStore, ReadOnlyView, StoreContext, Stores};
/// use bytes::Bytes;
/// let ctx = StoreContext::new("/unused", "app", "0_0", 0);
/// let store: Arc<Mutex<Box<dyn KeyValueStore>>> =
///     Arc::new(Mutex::new(Stores::in_memory_key_value_store("s").build(&ctx).unwrap()));
/// let view = ReadOnlyView::new(store.clone());
/// store.lock().put(Bytes::from_static(b"k"), Some(Bytes::from_static(b"v"))).unwrap();
/// assert_eq!(view.read().get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
/// ```
pub struct ReadOnlyView<S: ?Sized>(Arc<Mutex<Box<S>>>);

impl<S: ?Sized> Clone for ReadOnlyView<S> {
    fn clone(&self) -> Self {
        ReadOnlyView(self.0.clone())
    }
}

impl<S: ?Sized> fmt::Debug for ReadOnlyView<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadOnlyView")
    }
}

impl<S: ?Sized> ReadOnlyView<S> {
    /// A view of `store`.
    #[must_use]
    pub fn new(store: Arc<Mutex<Box<S>>>) -> Self {
        ReadOnlyView(store)
    }

    /// Read access to the store; the stream thread waits while the guard lives, so keep it
    /// short (collect what you need, then drop it).
    pub fn read(&self) -> ReadOnlyGuard<'_, S> {
        ReadOnlyGuard(self.0.lock())
    }
}

/// Shared access to a store through a [`ReadOnlyView`].
pub struct ReadOnlyGuard<'a, S: ?Sized>(MutexGuard<'a, Box<S>>);

impl<S: ?Sized> std::ops::Deref for ReadOnlyGuard<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S: ?Sized> fmt::Debug for ReadOnlyGuard<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadOnlyGuard")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyValueStore, SessionStore, VersionedKeyValueStore, WindowStore};

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn views_can_cross_threads() {
        send_sync::<ReadOnlyView<dyn KeyValueStore>>();
        send_sync::<ReadOnlyView<dyn WindowStore>>();
        send_sync::<ReadOnlyView<dyn SessionStore>>();
        send_sync::<ReadOnlyView<dyn VersionedKeyValueStore>>();
    }
}
